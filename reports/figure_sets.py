"""The paper's figures from run folders: which runs each figure uses, the numbers it needs, and the
layout of its panels (the drawing itself is in :mod:`reports.figures`).

Every builder returns a :class:`FigureOut`; one that cannot be drawn from the runs at hand has
``figure = None`` and a ``note`` saying why, so the report can show the gap.

Figure 6 and 8 PCK curves count landmarks whose pixel error at the evaluation resolution is at
most ``t``, for ``t`` from 0 to ``E``: ``E`` is a tenth of the median inter-ocular distance of the
panel's ground truth at that resolution, rounded up to a round number (:data:`NICE` x 10^k px). The legend's AUC
is the area under that curve divided by ``E`` (``facebench.eval.metrics.auc`` on 1000 steps).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from matplotlib.cm import ScalarMappable
from matplotlib.colors import Normalize
from matplotlib.figure import Figure

from facebench.core import geometry
from facebench.core.errors import FacebenchError
from facebench.core.prepared import PreparedDataset
from facebench.eval import metrics as M
from reports import figures as F
from reports import runs as R
from reports import spread as S

PCK_FRACTION = 0.1          # PCK range: this fraction of the median inter-ocular distance
PCK_STEPS = 1000
DISPLAY_SIDE = 640          # Figure 9 shows images downscaled to at most this side
MAX_PANELS = 6


@dataclass
class FigureOut:
    key: str                     # file stem
    title: str
    caption: str
    figure: Figure | None = None
    note: str = ""


NICE = (1.0, 1.2, 1.5, 2.0, 2.5, 3.0, 4.0, 5.0, 6.0, 8.0, 10.0)


def _nice_ceil(x: float) -> float:
    """The smallest ``m x 10^k`` with ``m`` in :data:`NICE` that is >= x (x > 0)."""
    k = math.floor(math.log10(x))
    return next(m * 10.0 ** k for m in NICE if m * 10.0 ** k >= x * (1 - 1e-12))


def _pck(errors: np.ndarray, max_px: float) -> tuple[np.ndarray, np.ndarray, float]:
    """(thresholds, PCK, AUC) of pixel errors up to ``max_px``."""
    step = max_px / PCK_STEPS
    grid, frac = M.ced(errors, max_px, step)
    return grid, frac, M.auc(errors, max_px, step)


def _absent(run: R.Run) -> str:
    return f"{run.label}: {run.status_text()}"


def _pixel_errors(runs: list[R.Run], res: int) -> tuple[dict[str, np.ndarray], float | None, list[str]]:
    """Per-landmark px errors (B, N) at ``res`` of each run (keyed by folder), the panel's PCK range,
    and notes."""
    errors, norms, notes = {}, [], []
    for r in runs:
        try:
            _, pred, gt = r.predictions(res)
        except FacebenchError as err:
            notes.append(str(err))
            continue
        if len(pred) == 0 or r.scheme is None:
            notes.append(f"{r.name}: no predictions at {R.res_label(res)}")
            continue
        errors[r.rel] = M.per_landmark_error(pred, gt)
        norms.append(M.normaliser(gt, r.scheme, "inter-ocular"))
    max_px = _nice_ceil(PCK_FRACTION * float(np.median(np.concatenate(norms)))) if norms else None
    return errors, max_px, notes


def figure6_pck(runs: list[R.Run]) -> FigureOut:
    """PCK against pixel error, one panel per evaluation resolution (studio runs at their primary
    resolution, and methods trained at 256 at every resolution they were upscaled to)."""
    out = FigureOut("fig6_pck", "Figure 6: PCK against pixel error",
                    "Percentage of landmarks within a pixel error at each resolution (each run at its "
                    "primary resolution; methods trained at 256 also at each resolution their "
                    "predictions were upscaled to); AUC in the legend, up to the panel's x range.")
    studio = [r for r in runs if r.kind == "studio"]
    cells, _ = R.grid(studio)
    by_res: dict[int, list[R.Run]] = {}
    for (_, res), run in {**cells, **R.upscaled_cells(cells)}.items():
        by_res.setdefault(res, []).append(run)
    if not by_res:
        out.note = "no studio runs"
        return out
    order = sorted(by_res)
    ncols = min(3, len(order))
    nrows = math.ceil(len(order) / ncols)
    fig = Figure(figsize=(4.6 * ncols, 3.9 * nrows), layout="constrained")
    notes = []
    for i, res in enumerate(order):
        panel = sorted(by_res[res], key=lambda r: (R.method_rank(r.method), r.label))
        ok = [r for r in panel if r.ok]
        errors, max_px, why = _pixel_errors(ok, res)
        notes += why
        curves = [F.Curve(r.label, *_pck(errors[r.rel], max_px), F.colour(r.method, j),
                          r.method not in F.METHOD_COLOURS, S.pck_band(r, res, max_px, PCK_STEPS))
                  for j, r in enumerate(ok) if r.rel in errors]
        absent = [_absent(r) for r in panel if not r.ok]
        where = "source images" if res == R.SOURCE_RES else f"{res} x {res}"
        F.plot_pck(fig.add_subplot(nrows, ncols, i + 1), curves, where, "pixel error", absent)
    out.figure, out.note = fig, "; ".join(notes)
    return out


def figure7_ablation(runs: list[R.Run]) -> FigureOut:
    """AUC@0.08 of the ablation methods: extra regional stage (left), other backbones (right)."""
    out = FigureOut("fig7_ablation", "Figure 7: ablation", "")
    res, chosen = R.ablation_runs(runs)
    if res is None:
        out.note = "no ablation runs (adc-stack2, cpm6, cnn67, adc-cpm, adc-cnn67)"
        return out
    cells, _ = R.grid(chosen)
    by_method: dict[str, R.Run] = {}
    for run in cells.values():
        by_method.setdefault(run.method, run)
    out.caption = (f"AUC@0.08 (%) of the NME CED at {R.res_label(res)} px. Left: a second regional stage. "
                   "Right: holistic multi-stage CPM / CNN 6/7 against the same blocks inside ADC.")
    fig = Figure(figsize=(9.5, 3.8), layout="constrained")
    panels = ((("adc", "adc-stack2"), f"extra regional stage, {R.res_label(res)} px"),
              (("cpm6", "adc-cpm", "cnn67", "adc-cnn67", "adc"), f"backbone, {R.res_label(res)} px"))
    axes = fig.subplots(1, 2, gridspec_kw={"width_ratios": [2, 5]})
    for ax, (methods, title) in zip(axes, panels):
        values = []
        for m in methods:
            run = by_method.get(m)
            values.append(None if run is None else run.status_text() if not run.ok
                          else 100.0 * run.summary["auc@0.08"])
        F.plot_bars(ax, [R.METHOD_LABELS[m] for m in methods], values,
                    [F.colour(m) for m in methods], title, "AUC@0.08 (%)")
    out.figure = fig
    return out



def _errors(pred_gt: tuple[np.ndarray, np.ndarray]) -> np.ndarray:
    """(N,) pixel errors of one image's (pred (N, 2), gt (N, 2))."""
    return M.per_landmark_error(pred_gt[0][None], pred_gt[1][None])[0]


def _viridis(x: float) -> tuple:
    from matplotlib import colormaps

    return colormaps["viridis"](0.1 + 0.8 * x)


def figure9_error_image(runs: list[R.Run]) -> FigureOut:
    """One test image at the highest resolution with runs, each landmark coloured by its pixel error,
    one panel per method (the image comes from the prepared dataset named in config.json)."""
    out = FigureOut("fig9_error_image", "Figure 9: pixel error per landmark", "")
    cells, _ = R.grid([r for r in runs if r.kind == "studio" and r.ok and r.res != R.SOURCE_RES])
    if not cells:
        out.note = "no finished studio runs"
        return out
    res = max(x for _, x in cells)
    chosen = sorted((r for (_, x), r in cells.items() if x == res),
                    key=lambda r: (R.method_rank(r.method), r.label))[-MAX_PANELS:]
    preds = {}
    for r in chosen:
        try:
            frame, pred, gt = r.predictions(res)
        except FacebenchError:
            continue
        preds[r.rel] = dict(zip(frame["id"], zip(pred, gt)))
    chosen = [r for r in chosen if r.rel in preds]
    common = sorted(set.intersection(*(set(p) for p in preds.values()))) if preds else []
    if not common:
        out.note = f"no test image predicted by every run at {res}"
        return out
    # The image whose error, averaged over the methods, is the median one: typical, not cherry-picked.
    mean_err = [np.mean([_errors(preds[r.rel][i]).mean() for r in chosen]) for i in common]
    sample = common[int(np.argsort(mean_err)[len(mean_err) // 2])]
    try:
        image = PreparedDataset(chosen[0].data).load_image(sample, res)
    except (FacebenchError, OSError, ImportError, KeyError, ValueError) as err:
        out.note = f"skipped: the test image {sample} at {res} px is unavailable ({err})"
        return out
    import cv2

    side = min(res, DISPLAY_SIDE)
    shown = cv2.resize(image, (side, side), interpolation=cv2.INTER_AREA) if side != res else image
    errs = {r.rel: _errors(preds[r.rel][sample]) for r in chosen}
    vmax = _nice_ceil(max(float(np.percentile(e, 98)) for e in errs.values()) or 1.0)
    norm = Normalize(0.0, vmax)
    ncols = min(3, len(chosen))
    nrows = math.ceil(len(chosen) / ncols)
    fig = Figure(figsize=(3.4 * ncols + 0.9, 3.7 * nrows), layout="constrained")
    axes = [fig.add_subplot(nrows, ncols, i + 1) for i in range(len(chosen))]
    for ax, r in zip(axes, chosen):
        points = geometry.rescale_points(preds[r.rel][sample][0], res, side)
        F.plot_error_image(ax, shown, points, errs[r.rel], norm,
                           f"{r.label}\nmean error {errs[r.rel].mean():.2f} px")
    fig.colorbar(ScalarMappable(norm, "turbo"), ax=axes, shrink=0.8, label=f"pixel error at {res} px")
    out.caption = (f"Test image {sample} at {res} x {res} (shown at {side} px); each predicted landmark is "
                   f"coloured by its pixel error at {res} px.")
    out.figure = fig
    return out
