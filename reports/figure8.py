"""Figure 8 of the paper (section 4.5.1): ADC models trained at each resolution R, compared at the
highest resolution (4096).

The paper compares its model trained at 4096 with "up-scaled predictions from other attention driven
models trained at lower resolution": a model trained at R runs at R on the R image and its landmarks
are scaled to 4096 (``geometry.rescale_points``), the protocol of Table 4's holistic rows. That is
the first, primary column here, computed from each run's own predictions at R (no model is run):
pixel errors at 4096 are the errors at R times 4096 / R, and NME, being scale-free, equals the run's
NME at R (ground truth at 4096 is the R ground truth rescaled, ``PreparedDataset.landmarks``).

The second, labelled column is native inference: the R-trained model run on the 4096 image itself
(``facebench evaluate RUN --res 4096``, the run's ``by_res["4096"]``), which asks a different
question — does a model generalise to a resolution it was not trained at.
"""

from __future__ import annotations

import numpy as np
from matplotlib.figure import Figure

from facebench.core.errors import FacebenchError
from facebench.eval import metrics as M
from reports import figures as F
from reports import runs as R
from reports import spread as S
from reports.figure_sets import PCK_FRACTION, PCK_STEPS, FigureOut, _nice_ceil, _pck, _viridis
from reports.tables import Row, Table

UPSCALED = "upscaled (paper)"
NATIVE = "native at {t}"


def selection(runs: list[R.Run]) -> tuple[int | None, list[R.Run]]:
    """(target resolution, finished studio adc / adc-light runs, one per label and training
    resolution, the newer of two). The target is 4096 when any of them was trained or tested there,
    else the highest such resolution."""
    pool = [r for r in runs if r.kind == "studio" and r.method in R.FIGURE8_METHODS and r.ok]
    seen = {x for r in pool for x in (*r.by_res, r.trained_at) if x != R.SOURCE_RES}
    if not seen:
        return None, []
    target = R.FIGURE8_RES if R.FIGURE8_RES in seen else max(seen)
    chosen: dict[tuple[str, int], R.Run] = {}
    for r in sorted(pool, key=lambda r: str(r.config.get("created", ""))):
        if r.trained_at <= target and r.trained_at in r.by_res:
            chosen[(r.label, r.trained_at)] = r
    return target, sorted(chosen.values(), key=lambda r: (R.method_rank(r.method), r.trained_at))


def upscaled_nme(run: R.Run) -> float | None:
    """NME (%) of the run's predictions at its training resolution scaled to any higher one (= its
    NME there: the normalised error does not change with the scale)."""
    value = (run.by_res.get(run.trained_at) or {}).get("nme")
    return None if value is None else S.percent(value)


def native_nme(run: R.Run, target: int) -> float | None:
    value = (run.by_res.get(target) or {}).get("nme")
    return None if value is None else S.percent(value)


def table(runs: list[R.Run]):
    """Rows: training resolution; columns per method: upscaled to the target (the paper's protocol)
    and native inference on the target image."""
    target, chosen = selection(runs)
    if target is None:
        return None
    labels = R.row_labels(chosen)
    trains = sorted({r.trained_at for r in chosen})
    by = {(r.label, r.trained_at): r for r in chosen}
    columns, rows = [], []
    for label in labels:
        columns += [f"{label}: {UPSCALED}", f"{label}: {NATIVE.format(t=target)}"]
    for t in trains:
        cells = []
        for label in labels:
            run = by.get((label, t))
            cells += [None if run is None else upscaled_nme(run), None if run is None else native_nme(run, target)]
        rows.append(Row(f"trained {t}", cells))
    notes = [f"{UPSCALED}: the model runs at its training resolution and its landmarks are scaled to {target} "
             f"(the paper's Figure 8 protocol; NME is scale-free, so this equals the run's NME at its own "
             f"resolution); native: the same model run on the {target} px image (`facebench evaluate RUN "
             f"--res {target}`), '–' where that was not run."]
    return Table("fig8_trained_vs_tested", f"NME (%) at {target} px by training resolution", columns, rows,
                 notes=notes, first_column="Training")


def _errors(run: R.Run, res: int, scale: float) -> np.ndarray:
    _, pred, gt = run.predictions(res)
    return M.per_landmark_error(pred, gt) * scale


def figure(runs: list[R.Run]):
    """Left: PCK at the target resolution of the upscaled predictions (bands: ± one std over seeds).
    Right: NME against training resolution, upscaled (solid) and native (dashed)."""
    out = FigureOut("fig8_trained_vs_tested", "Figure 8: training resolution, compared at the highest", "")
    target, chosen = selection(runs)
    if target is None:
        out.note = "no finished adc / adc-light studio runs"
        return out
    out.caption = (f"ADC runs trained at each resolution R, their predictions at R scaled to {target} px (the "
                   f"paper's protocol). Left: PCK against pixel error at {target}. Right: NME against the "
                   f"training resolution, upscaled (solid) and run natively on the {target} px image (dashed).")
    errors, norms, notes = {}, [], []
    for r in chosen:
        try:
            errors[r.rel] = _errors(r, r.trained_at, target / r.trained_at)
            _, _, gt = r.predictions(r.trained_at)
        except FacebenchError as err:
            notes.append(str(err))
            continue
        if r.scheme is not None:
            norms.append(M.normaliser(gt, r.scheme, "inter-ocular") * target / r.trained_at)
    if not errors or not norms:
        out.note = "no predictions to draw"
        return out
    max_px = _nice_ceil(PCK_FRACTION * float(np.median(np.concatenate(norms))))
    fig = Figure(figsize=(10, 4), layout="constrained")
    trains = sorted({r.trained_at for r in chosen})
    shade = {t: F.colour("adc") if len(trains) == 1 else _viridis(k / (len(trains) - 1)) for k, t in enumerate(trains)}
    curves = []
    for r in chosen:
        if r.rel not in errors:
            continue
        band = S.pck_band(r, r.trained_at, max_px * r.trained_at / target, PCK_STEPS)   # same grid, at R
        curves.append(F.Curve(f"{r.label}, trained {r.trained_at}", *_pck(errors[r.rel], max_px),
                              shade[r.trained_at], r.method == "adc-light", band))
    F.plot_pck(fig.add_subplot(1, 2, 1), curves, f"trained at R, upscaled to {target} x {target}", "pixel error")
    series = []
    for label in R.row_labels(chosen):
        mine = sorted((r for r in chosen if r.label == label), key=lambda r: r.trained_at)
        colour = F.colour(mine[0].method)
        series.append((f"{label}, {UPSCALED}", [r.trained_at for r in mine], [upscaled_nme(r) for r in mine], colour))
        native = [r for r in mine if native_nme(r, target) is not None]
        if native:
            series.append((f"{label}, {NATIVE.format(t=target)}", [r.trained_at for r in native],
                           [native_nme(r, target) for r in native], colour, "--"))
    F.plot_lines(fig.add_subplot(1, 2, 2), series, f"NME at {target}", "training resolution (px)", "NME (%)")
    out.figure, out.note = fig, "; ".join(notes)
    return out

