"""Plot functions for the paper-style figures. Each takes a matplotlib ``Axes`` (plus plain arrays)
and returns it; :mod:`reports.figure_sets` decides what goes on which axes. No pyplot state: the
figures are ``matplotlib.figure.Figure`` objects rendered with the Agg canvas.

Images are shown in the pixel frame of ``facebench.core.geometry`` through ``imshow``'s ``extent``
(the whole image is the box ``(-0.5, -0.5, W - 0.5, H - 0.5)``), so points in that frame are
plotted as they are; a lower-resolution rendition of the same image (a 256 proxy of a 4096
image, a latent heatmap) is drawn over the full-resolution extent instead of mapping the points.
"""

from __future__ import annotations

from typing import NamedTuple, Sequence

import numpy as np
from matplotlib.axes import Axes
from matplotlib.colors import Normalize

from facebench.core import geometry

# Fixed colours per method so that a method looks the same in every figure.
METHOD_COLOURS = {
    "dlib-ert": "#7f7f7f", "hg2": "#1f77b4", "fan4": "#17becf", "cpm6": "#9467bd", "cnn67": "#8c564b",
    "adc-cpm": "#e377c2", "adc-cnn67": "#bcbd22", "adc-stack2": "#ff7f0e", "adc-light": "#2ca02c",
    "adc": "#d62728",
}
# Scored predictions (any other "method") get colours no method uses, and dashed lines.
OTHER_COLOURS = ("#000000", "#6a3d9a", "#b15928", "#01665e", "#c51b7d")
GREY = "#9a9a9a"
GREEN = "#1fbf3f"


def colour(method: str, index: int = 0) -> str:
    """A method's colour; scored predictions take :data:`OTHER_COLOURS` in turn (by ``index``)."""
    return METHOD_COLOURS.get(method, OTHER_COLOURS[index % len(OTHER_COLOURS)])


class Curve(NamedTuple):
    """One PCK curve: thresholds (T,), fraction (T,) and its AUC (fractions)."""

    label: str
    x: np.ndarray
    y: np.ndarray
    auc: float
    colour: str
    dashed: bool = False
    band: tuple[np.ndarray, np.ndarray] | None = None   # (low, high) fractions: ± one std over seeds


def image_extent(width: float, height: float) -> tuple[float, float, float, float]:
    """``imshow`` extent (left, right, bottom, top) of a ``width x height`` image in the geometry
    frame, pixel centres at integers."""
    x1, y1, x2, y2 = geometry.full_image_box(width, height)
    return (x1, x2, y2, y1)


def plot_pck(ax: Axes, curves: Sequence[Curve], title: str, xlabel: str = "error (px)",
             absent: Sequence[str] = ()) -> Axes:
    """PCK curves in percent, the legend giving each curve's AUC; ``absent`` lists legend-only
    entries for runs without a curve (``"ADC: OOM"``)."""
    for c in curves:
        ax.plot(c.x, 100.0 * np.asarray(c.y), color=c.colour, lw=1.8, ls="--" if c.dashed else "-",
                label=f"{c.label} (AUC {100 * c.auc:.1f})")
        if c.band is not None:
            ax.fill_between(c.x, 100.0 * np.asarray(c.band[0]), 100.0 * np.asarray(c.band[1]), color=c.colour,
                            alpha=0.2, lw=0)
    for text in absent:
        ax.plot([], [], " ", label=text)
    ax.set_title(title, fontsize=10)
    ax.set_xlabel(xlabel)
    ax.set_ylabel("correct keypoints (%)")
    if curves:
        ax.set_xlim(0.0, float(max(c.x[-1] for c in curves)))
    ax.set_ylim(0.0, 100.0)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7, loc="lower right")
    return ax


def plot_bars(ax: Axes, labels: Sequence[str], values: Sequence[float | str | None],
              colours: Sequence[str], title: str, ylabel: str) -> Axes:
    """One bar per method, its value written above it; a ``str`` value (``OOM``) or None
    (``–``, no run) is written where the bar would be."""
    xs = np.arange(len(labels))
    heights = [v if isinstance(v, float) else 0.0 for v in values]
    errs = [getattr(v, "std", None) or 0.0 for v in values]   # ± one std over seeds (reports/spread.py)
    ax.bar(xs, heights, color=colours, width=0.65, yerr=errs if any(errs) else None, capsize=3)
    top = max([h for h in heights if h > 0] + [1.0])
    for x, v in zip(xs, values):
        text = f"{v:.1f}" if isinstance(v, float) else ("no run" if v is None else str(v))
        ax.text(x, (v if isinstance(v, float) else 0.0) + top * 0.01, text, ha="center", va="bottom", fontsize=8)
    ax.set_xticks(xs, labels, rotation=20, ha="right", fontsize=8)
    ax.set_ylim(0.0, top * 1.15)
    ax.set_ylabel(ylabel)
    ax.set_title(title, fontsize=10)
    ax.grid(axis="y", alpha=0.3)
    return ax


def plot_lines(ax: Axes, series: Sequence[tuple[str, Sequence[float], Sequence[float], str]],
               title: str, xlabel: str, ylabel: str, log2_x: bool = True) -> Axes:
    """Marker lines ``(label, x, y, colour[, linestyle])``, e.g. NME against training resolution."""
    for label, x, y, col, *style in series:
        errs = [getattr(v, "std", None) or 0.0 for v in y]   # ± one std over seeds (reports/spread.py)
        ax.errorbar(x, [float(v) for v in y], yerr=errs if any(errs) else None, fmt="o" + (style[0] if style else "-"),
                    color=col, label=label, capsize=3)
        for xi, yi in zip(x, y):
            ax.annotate(f"{yi:.2f}", (xi, yi), textcoords="offset points", xytext=(0, 6), ha="center", fontsize=7)
    top = max([max(s[2]) for s in series if len(s[2])] + [1e-9])
    ax.set_ylim(0.0, top * 1.2)          # from zero: differences are not exaggerated
    ax.margins(x=0.1)
    if log2_x:
        ax.set_xscale("log", base=2)
        ticks = sorted({float(v) for s in series for v in s[1]})
        ax.set_xticks(ticks, [f"{t:g}" for t in ticks])
    ax.set_title(title, fontsize=10)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    return ax


def plot_error_image(ax: Axes, image: np.ndarray, points: np.ndarray, errors: np.ndarray,
                     norm: Normalize, title: str, cmap: str = "turbo", marker_size: float = 14.0) -> Axes:
    """image (H, W, 3) uint8 with points (N, 2) in its pixels, each coloured by its error (N,)."""
    h, w = image.shape[:2]
    ax.imshow(image, extent=image_extent(w, h), interpolation="bilinear")
    ax.scatter(points[:, 0], points[:, 1], c=errors, cmap=cmap, norm=norm, s=marker_size,
               edgecolors="black", linewidths=0.3)
    ax.set_title(title, fontsize=9)
    ax.set_axis_off()
    return ax


def plot_heatmap_in_box(ax: Axes, heatmap: np.ndarray, res: int, box: np.ndarray, title: str = "") -> Axes:
    """A global latent heatmap (h, w) covering the whole ``res x res`` image, shown cropped to
    ``box`` (4,) in that image's pixels, nearest-neighbour upsampled (as the paper's Figure 3)."""
    ax.imshow(heatmap, extent=image_extent(res, res), cmap="inferno", interpolation="nearest")
    ax.set_xlim(box[0], box[2])
    ax.set_ylim(box[3], box[1])
    ax.set_title(title, fontsize=8)
    ax.set_xticks([])
    ax.set_yticks([])
    return ax


def plot_crop(ax: Axes, crop: np.ndarray, heatmap: np.ndarray | None = None, title: str = "") -> Axes:
    """A regional crop (C, C, 3) uint8, optionally with a regional heatmap (c, c) over the same
    extent (the heatmap covers the whole crop)."""
    c = crop.shape[0]
    extent = image_extent(crop.shape[1], c)
    if heatmap is None:
        ax.imshow(crop, extent=extent)
    else:
        ax.imshow(crop.mean(axis=-1), extent=extent, cmap="gray", vmin=0, vmax=255)
        ax.imshow(heatmap, extent=extent, cmap="inferno", alpha=0.75, interpolation="bilinear")
    ax.set_title(title, fontsize=8)
    ax.set_xticks([])
    ax.set_yticks([])
    return ax


def plot_corrections(ax: Axes, image: np.ndarray, extent: tuple[float, float, float, float],
                     coarse: np.ndarray, refined: np.ndarray, gt: np.ndarray | None = None,
                     title: str = "") -> Axes:
    """The regional correction of each landmark: coarse (N, 2) global estimate in grey, refined
    (N, 2) in green, joined by the correction vector; gt (N, 2) as small white crosses."""
    ax.imshow(image, extent=extent)
    for (x0, y0), (x1, y1) in zip(coarse, refined):
        ax.annotate("", xy=(x1, y1), xytext=(x0, y0),
                    arrowprops={"arrowstyle": "->", "color": GREEN, "lw": 0.9, "shrinkA": 0, "shrinkB": 0})
    ax.scatter(coarse[:, 0], coarse[:, 1], s=10, color=GREY, edgecolors="black", linewidths=0.3,
               label="global (coarse)")
    ax.scatter(refined[:, 0], refined[:, 1], s=10, color=GREEN, edgecolors="black", linewidths=0.3,
               label="regional (refined)")
    if gt is not None:
        ax.scatter(gt[:, 0], gt[:, 1], s=12, marker="x", color="white", linewidths=0.8, label="ground truth")
    ax.set_xlim(extent[0], extent[1])
    ax.set_ylim(extent[2], extent[3])
    ax.set_title(title, fontsize=8)
    ax.set_xticks([])
    ax.set_yticks([])
    return ax
