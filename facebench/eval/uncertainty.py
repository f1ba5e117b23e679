"""Per-landmark uncertainty in run folders and ``facebench predict`` (methods that have it: the ADC
family, :func:`adc_model.uncertainty.predict_with_spread` through ``Method.predict_spread``).

A point's covariance C (2 x 2, image px) comes from the stage that placed it: the regional stage's
for the points a region refines, the global stage's otherwise; its *spread* is sqrt(trace C), the
RMS distance from the mean under that distribution. ``predictions.parquet`` stores both stages'
covariances per row as flat lists ``[xx0, xy0, yy0, xx1, ...]`` (``cov_global``, ``cov_regional``;
NaN for points no region refines); files written before these columns existed simply lack them.

``uncertainty_rank_corr`` (metrics.json) is Spearman's rank correlation between the spread and the
actual error of every (image, point) of the test split; ``uncertainty_rank_corr_image`` the same
between an image's mean spread and its mean error. A spread is calibrated when the RMS error of the
points of a given spread equals that spread (E||e||^2 = trace C for e ~ N(0, C)): the report's
reliability diagram plots one against the other in quantile bins of the spread.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

from facebench.core.io import atomic_write_bytes

COLUMNS = ("cov_global", "cov_regional")


def final_covariance(cov_global: np.ndarray, cov_regional: np.ndarray) -> np.ndarray:
    """(..., N, 2, 2): the regional stage's covariance where it exists, the global one elsewhere."""
    regional = ~np.isnan(cov_regional[..., 0, 0])
    return np.where(regional[..., None, None], cov_regional, cov_global)


def spread(cov: np.ndarray) -> np.ndarray:
    """sqrt(trace) of covariances (..., 2, 2) -> (...)."""
    return np.sqrt(np.maximum(cov[..., 0, 0] + cov[..., 1, 1], 0.0))


def rank_corr(a: np.ndarray, b: np.ndarray) -> float | None:
    """Spearman's rank correlation (average ranks for ties); None with fewer than 3 finite pairs."""
    a, b = np.ravel(a), np.ravel(b)
    ok = np.isfinite(a) & np.isfinite(b)
    if ok.sum() < 3:
        return None
    ra, rb = pd.Series(a[ok]).rank().to_numpy(), pd.Series(b[ok]).rank().to_numpy()
    if ra.std() == 0 or rb.std() == 0:
        return None
    return float(np.corrcoef(ra, rb)[0, 1])


def uncertainty_metrics(pred: np.ndarray, gt: np.ndarray, cov_global: np.ndarray, cov_regional: np.ndarray) -> dict:
    """``uncertainty_rank_corr`` (per point) and ``uncertainty_rank_corr_image`` (per image)."""
    n = cov_global.shape[1]
    err = np.linalg.norm(pred[:, :n] - gt[:, :n], axis=-1)      # (B, N)
    s = spread(final_covariance(cov_global, cov_regional))        # (B, N)
    return {"uncertainty_rank_corr": rank_corr(s, err),
            "uncertainty_rank_corr_image": rank_corr(s.mean(1), err.mean(1))}


def to_columns(cov: np.ndarray) -> list[list[float]]:
    """(B, N, 2, 2) -> per row the flat list [xx0, xy0, yy0, xx1, ...]."""
    flat = np.stack([cov[..., 0, 0], cov[..., 0, 1], cov[..., 1, 1]], axis=-1)   # (B, N, 3)
    return [row.reshape(-1).tolist() for row in flat]


def from_column(values) -> np.ndarray:
    """A ``cov_*`` column (rows of flat lists) -> (B, N, 2, 2); NaN rows where a row has none."""
    rows = [np.asarray(v, dtype=np.float64).reshape(-1, 3) if hasattr(v, "__len__") else None for v in values]
    n = next((r.shape[0] for r in rows if r is not None), 0)
    out = np.full((len(rows), n, 2, 2), np.nan)
    for i, r in enumerate(rows):
        if r is not None and r.shape[0] == n:
            out[i, :, 0, 0], out[i, :, 0, 1], out[i, :, 1, 0], out[i, :, 1, 1] = r[:, 0], r[:, 1], r[:, 1], r[:, 2]
    return out


def add_columns(frame: pd.DataFrame, cov_global: np.ndarray, cov_regional: np.ndarray) -> pd.DataFrame:
    """``frame`` (a predictions frame, one row per image in order) with the two covariance columns."""
    frame = frame.copy()
    frame["cov_global"] = to_columns(cov_global)
    frame["cov_regional"] = to_columns(cov_regional)
    return frame


def covariances_of(frame: pd.DataFrame) -> tuple[np.ndarray, np.ndarray] | None:
    """(global, regional) (B, N, 2, 2) from a predictions frame, or None when it has no covariances."""
    if not all(c in frame.columns for c in COLUMNS) or len(frame) == 0:
        return None
    cov_global, cov_regional = from_column(frame["cov_global"]), from_column(frame["cov_regional"])
    return None if cov_global.size == 0 or np.isnan(cov_global).all() else (cov_global, cov_regional)


def write_sidecar(path: Path, points: np.ndarray, cov_global: np.ndarray, cov_regional: np.ndarray) -> None:
    """``<stem>.uncertainty.json`` of ``facebench predict``: per point its (x, y), both stages'
    covariances (photo px; null where a stage has none) and the spread of the stage that placed it."""
    final = final_covariance(cov_global, cov_regional)

    def cov(c):
        return None if np.isnan(c).any() else [[float(c[0, 0]), float(c[0, 1])], [float(c[1, 0]), float(c[1, 1])]]

    points_json = [{"x": float(p[0]), "y": float(p[1]), "cov_global": cov(g), "cov_regional": cov(r),
                    "spread": float(spread(f))} for p, g, r, f in zip(points, cov_global, cov_regional, final)]
    body = {"units": "photo pixels, 0-based (facebench convention)",
            "spread": "sqrt(trace) of the covariance of the stage that placed the point (regional if any)",
            "points": points_json}
    atomic_write_bytes(path, (json.dumps(body, indent=1) + "\n").encode("utf-8"))


def draw_ellipses(canvas: np.ndarray, points: np.ndarray, cov: np.ndarray, thickness: int) -> None:
    """Draw each point's 1-sigma covariance ellipse (axes along the eigenvectors) on ``canvas`` in place."""
    import cv2

    for (x, y), c in zip(points, cov):
        if not np.isfinite(c).all():
            continue
        values, vectors = np.linalg.eigh(c)
        axes = np.sqrt(np.maximum(values, 0.0))
        angle = float(np.degrees(np.arctan2(vectors[1, 1], vectors[0, 1])))
        centre = (int(round(x * 16)), int(round(y * 16)))
        size = (max(1, int(round(axes[1] * 16))), max(1, int(round(axes[0] * 16))))
        cv2.ellipse(canvas, centre, size, angle, 0, 360, (255, 80, 80), thickness, cv2.LINE_AA, 4)
