"""The reliability diagram of per-landmark uncertainty (facebench/eval/uncertainty.py): for each run
whose predictions carry covariances (the ADC family), the points of its test split at its primary
resolution are put into quantile bins of their predicted spread sqrt(trace C); each bin is drawn
at (RMS spread, RMS actual error). A calibrated spread lies on the diagonal (for e ~ N(0, C),
E||e||^2 = trace C); above it the model is over-confident, below it under-confident."""

from __future__ import annotations

import numpy as np
from matplotlib.figure import Figure

from facebench.core.errors import FacebenchError
from facebench.eval import uncertainty as U
from reports import runs as R
from reports.figure_sets import MAX_PANELS, FigureOut

BINS = 10


def reliability_bins(spread: np.ndarray, error: np.ndarray, bins: int = BINS) -> tuple[np.ndarray, np.ndarray]:
    """(RMS spread, RMS error) per quantile bin of the spread (bins with points only)."""
    spread, error = np.ravel(spread), np.ravel(error)
    ok = np.isfinite(spread) & np.isfinite(error)
    spread, error = spread[ok], error[ok]
    order = np.argsort(spread, kind="stable")
    parts = [p for p in np.array_split(order, min(bins, len(order))) if len(p)]
    return (np.array([np.sqrt(np.mean(spread[p] ** 2)) for p in parts]),
            np.array([np.sqrt(np.mean(error[p] ** 2)) for p in parts]))


def reliability_diagram(runs: list[R.Run]) -> FigureOut:
    out = FigureOut("fig_uncertainty_reliability", "Reliability of the per-landmark uncertainty",
                    "Quantile bins of the predicted spread sqrt(trace C) of each test point against the RMS "
                    "error of the points in the bin (pixels at the run's resolution); the dashed diagonal is "
                    "a calibrated spread. The legend gives Spearman's rank correlation per point "
                    "(metrics.json uncertainty_rank_corr).")
    curves = []
    for run in runs:
        if not run.ok or run.res == R.SOURCE_RES:
            continue
        try:
            frame, pred, gt = run.predictions(run.res)
        except FacebenchError:
            continue
        covs = U.covariances_of(frame)
        if covs is None:
            continue
        final = U.final_covariance(*covs)
        n = final.shape[1]
        error = np.linalg.norm(pred[:, :n] - gt[:, :n], axis=-1)
        xs, ys = reliability_bins(U.spread(final), error)
        corr = (run.summary or {}).get("uncertainty_rank_corr")
        label = f"{run.label} @ {R.res_label(run.res)}" + ("" if corr is None else f" (ρ = {corr:.2f})")
        curves.append((label, xs, ys))
    if not curves:
        out.note = "no run with per-landmark covariances (ADC-family runs made by this version)"
        return out
    fig = Figure(figsize=(5.2, 4.6), layout="constrained")
    ax = fig.add_subplot()
    lo = min(min(xs.min(), ys.min()) for _, xs, ys in curves)
    hi = max(max(xs.max(), ys.max()) for _, xs, ys in curves)
    ax.plot([lo, hi], [lo, hi], "k--", lw=1, label="calibrated")
    for label, xs, ys in curves[-MAX_PANELS:]:
        ax.plot(xs, ys, "o-", ms=4, label=label)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("predicted spread sqrt(trace C) (px, RMS in bin)")
    ax.set_ylabel("actual error (px, RMS in bin)")
    ax.legend(fontsize=7)
    out.figure = fig
    return out
