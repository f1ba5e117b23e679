"""Figures 3 and 4 from an ADC run's ``examples.npz`` (see the run-folder contract): global against
regional heatmaps, and the coarse -> refined corrections made by the regional stage.

The example run is the finished ADC-family run with ``examples.npz`` of the highest resolution,
plain ``adc`` preferred. Keys read: ``ids``, ``res``, ``region_names``, ``proxy`` (K, 256, 256, 3),
``global_heatmaps`` (K, N, h, w), ``coarse`` / ``refined`` / ``gt`` (K, N, 2) in R px, ``boxes``
(K, 4, 4) in R px, ``crops_<region>`` (K, C, C, 3), ``regional_heatmaps_<region>`` (K, n_r, c, c),
``region_points_<region>`` (n_r,).
"""

from __future__ import annotations

import numpy as np
from matplotlib.figure import Figure

from facebench.core import geometry
from facebench.methods import ADC_FAMILY
from facebench.run import folder as runfolder
from reports import figures as F
from reports import runs as R
from reports.figure_sets import FigureOut

MAX_EXAMPLES = 2


def example_run(runs: list[R.Run]) -> R.Run | None:
    """The run whose examples the figures show (None if no run has them)."""
    pool = [r for r in runs if r.ok and r.method in ADC_FAMILY and r.has_examples]
    if not pool:
        return None
    return max(pool, key=lambda r: (r.method == "adc", r.method == "adc-light", r.res,
                                    str(r.config.get("created", ""))))


def load_examples(run: R.Run) -> dict[str, np.ndarray]:
    """The arrays of ``examples.npz`` (float16 heatmaps as float32); KeyError names a missing key."""
    with np.load(run.path / runfolder.EXAMPLES, allow_pickle=False) as z:
        ex = {k: z[k] for k in z.files}
    need = ["ids", "res", "region_names", "proxy", "global_heatmaps", "coarse", "refined", "gt", "boxes"]
    for region in ex.get("region_names", []):
        need += [f"crops_{region}", f"regional_heatmaps_{region}", f"region_points_{region}"]
    missing = [k for k in need if k not in ex]
    if missing:
        raise KeyError(f"examples.npz lacks {', '.join(missing)}")
    for k, v in ex.items():
        if v.dtype == np.float16:
            ex[k] = v.astype(np.float32)
    return ex


def _load(runs: list[R.Run], out: FigureOut) -> tuple[R.Run, dict] | None:
    run = example_run(runs)
    if run is None:
        out.note = "no finished ADC run with examples.npz"
        return None
    try:
        return run, load_examples(run)
    except (KeyError, ValueError, OSError) as err:
        out.note = f"skipped: {run.path / runfolder.EXAMPLES}: {err}"
        return None


def figure3_heatmaps(runs: list[R.Run]) -> FigureOut:
    """For one example: per region, the global heatmap cropped to the region box (nearest-neighbour
    upsampled), the attention-driven crop, and the regional heatmap over the crop."""
    out = FigureOut("fig3_heatmaps", "Figure 3: global and regional heatmaps", "")
    loaded = _load(runs, out)
    if loaded is None:
        return out
    run, ex = loaded
    res, names, k = int(ex["res"]), [str(n) for n in ex["region_names"]], 0
    fig = Figure(figsize=(7.2, 2.3 * len(names)), layout="constrained")
    for i, region in enumerate(names):
        pts = ex[f"region_points_{region}"].astype(int)
        glob = ex["global_heatmaps"][k, pts].sum(axis=0)                    # (h, w)
        crop = ex[f"crops_{region}"][k]                                     # (C, C, 3)
        local = ex[f"regional_heatmaps_{region}"][k].sum(axis=0)            # (c, c)
        F.plot_heatmap_in_box(fig.add_subplot(len(names), 3, 3 * i + 1), glob, res, ex["boxes"][k, i],
                              f"{region}: global heatmap ({glob.shape[1]}x{glob.shape[0]})")
        F.plot_crop(fig.add_subplot(len(names), 3, 3 * i + 2), crop, title=f"crop ({crop.shape[0]} px)")
        F.plot_crop(fig.add_subplot(len(names), 3, 3 * i + 3), crop, local,
                    f"regional heatmap ({local.shape[1]}x{local.shape[0]})")
    out.figure = fig
    out.caption = (f"{run.label} at {res} px, test image {ex['ids'][k]}: each region's global heatmaps "
                   "(summed over its landmarks) cut to the region box, the crop taken from the full-resolution "
                   "image, and the regional heatmaps over the crop.")
    return out


def figure4_corrections(runs: list[R.Run]) -> FigureOut:
    """Coarse (global, grey) -> refined (regional, green) landmark corrections: the whole face on the
    256 proxy, then each region on its crop."""
    out = FigureOut("fig4_corrections", "Figure 4: regional corrections", "")
    loaded = _load(runs, out)
    if loaded is None:
        return out
    run, ex = loaded
    res, names = int(ex["res"]), [str(n) for n in ex["region_names"]]
    count = min(MAX_EXAMPLES, len(ex["ids"]))
    cols = 1 + len(names)
    fig = Figure(figsize=(2.6 * cols, 2.8 * count), layout="constrained")
    regional = np.concatenate([ex[f"region_points_{n}"].astype(int) for n in names])
    for k in range(count):
        ax = fig.add_subplot(count, cols, k * cols + 1)
        F.plot_corrections(ax, ex["proxy"][k], F.image_extent(res, res), ex["coarse"][k, regional],
                           ex["refined"][k, regional], ex["gt"][k, regional], f"{ex['ids'][k]} (256 proxy)")
        for i, region in enumerate(names):
            pts = ex[f"region_points_{region}"].astype(int)
            crop = ex[f"crops_{region}"][k]
            box, side = ex["boxes"][k, i], crop.shape[0]
            F.plot_corrections(fig.add_subplot(count, cols, k * cols + 2 + i), crop,
                               F.image_extent(crop.shape[1], side),
                               geometry.to_crop(ex["coarse"][k, pts], box, side),
                               geometry.to_crop(ex["refined"][k, pts], box, side),
                               geometry.to_crop(ex["gt"][k, pts], box, side), region)
        if k == 0:
            ax.legend(fontsize=6, loc="lower left")
    out.figure = fig
    out.caption = (f"{run.label} at {res} px: global estimates (grey) moved by the regional networks to "
                   "their refined positions (green arrows); white crosses are the ground truth.")
    return out
