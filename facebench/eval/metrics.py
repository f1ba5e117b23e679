"""Landmark accuracy metrics: pure functions on (B, N, 2) arrays, and the one aggregation everyone
calls (:func:`summarize`: the runner, ``facebench score`` and ``reports/``).

Definitions (docs/report.md says the same in prose):

- **Per-landmark error** ``e[b, n] = ||pred[b, n] - gt[b, n]||_2`` in the evaluation resolution's
  pixels.
- **NME** of an image: ``mean_n e[b, n] / d[b]`` with the per-image normaliser ``d[b]`` computed
  from the *ground truth*:

  - ``inter-ocular`` (default): distance between the outer eye corners (``scheme.ocular_pair``,
    iBUG points 36 and 45). Published 300-W / 300-VW numbers, and the paper's, use this one.
  - ``inter-pupil``: distance between the two eye centres, each the mean of that eye's six
    contour points (``scheme.eye_points``).
  - ``bbox``: ``sqrt(w * h)`` of the tight box around the ground-truth points.
  - ``bbox-diag``: ``sqrt(w**2 + h**2)`` of that box.

  A normaliser that is zero (or not finite) is an error naming the sample, never ``inf``.
- **PCK / CED** at threshold ``t``: the fraction of errors ``<= t`` (errors of landmarks in pixels
  for the paper's Figure 6, or per-image NMEs for the cumulative error distribution).
- **AUC@T**: the CED sampled at ``t_k = k * T / K`` for ``k = 0 .. K``, ``K = round(T / step)``
  (``step = 1e-4`` by default, so ``t_k`` is a multiple of 1e-4 for T = 0.08 and 0.1), integrated with
  the trapezoidal rule and divided by ``T``, so it lies in [0, 1]. Against the exact area under the
  step-shaped empirical CED, ``mean(max(0, T - e) / T)``, each image whose error falls in
  ``(t_(k-1), t_k]`` is counted as if its error were the midpoint ``t_k - step / 2``, so the two differ
  by at most ``step / (2 T)`` (0.000625 at T = 0.08), and not at all for errors at midpoints.
- **FR@T** (failure rate): the fraction of images whose NME is ``> T`` (strictly), so that
  ``FR@T = 1 - CED(T)``.

All values are fractions (not percent). Nothing here modifies its inputs.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

from facebench.core import geometry
from facebench.core.errors import FacebenchError
from facebench.core.schemes import Scheme

NORMS: tuple[str, ...] = ("inter-ocular", "inter-pupil", "bbox", "bbox-diag")
THRESHOLDS: tuple[float, ...] = (0.08, 0.1)
AUC_STEP = 1e-4
# 300-W's "full" set is the image-weighted union of these two test subsets.
FULL_PARTS: tuple[str, str] = ("common", "challenging")
SUMMARY_KEYS: tuple[str, ...] = ("n", "norm", "nme", "nme_regional", "nme_global")


def per_landmark_error(pred: np.ndarray, gt: np.ndarray) -> np.ndarray:
    """pred, gt: (B, N, 2) px -> (B, N) Euclidean error of every landmark, px."""
    pred, gt = _check_pair(pred, gt)
    return np.linalg.norm(pred - gt, axis=-1)


def normaliser(gt: np.ndarray, scheme: Scheme, norm: str = "inter-ocular",
               ids: Sequence[str] | None = None) -> np.ndarray:
    """gt: (B, N, 2) px -> (B,) per-image normalising distance, px (see the module docstring).

    Raises :class:`FacebenchError` naming the first sample (``ids[b]``, else its index) whose
    normaliser is zero or not finite.
    """
    gt = np.asarray(gt, dtype=np.float64)
    if gt.ndim != 3 or gt.shape[-1] != 2 or gt.shape[1] != scheme.num_points:
        raise ValueError(f"gt must be (B, {scheme.num_points}, 2) for {scheme.name}, got {gt.shape}")
    if norm == "inter-ocular":
        d = geometry.inter_point_distance(gt, scheme.ocular_pair)
    elif norm == "inter-pupil":
        left = gt[:, list(scheme.eye_points[0])].mean(axis=1)     # (B, 2) eye centres
        right = gt[:, list(scheme.eye_points[1])].mean(axis=1)
        d = np.linalg.norm(left - right, axis=-1)
    elif norm in ("bbox", "bbox-diag"):
        box = geometry.points_box(gt)                              # (B, 4)
        w, h = box[:, 2] - box[:, 0], box[:, 3] - box[:, 1]
        d = np.sqrt(w * h) if norm == "bbox" else np.sqrt(w * w + h * h)
    else:
        raise FacebenchError(f"unknown normalisation {norm!r} (known: {', '.join(NORMS)})")
    bad = np.flatnonzero(~(np.isfinite(d) & (d > 0)))
    if bad.size:
        b = int(bad[0])
        name = ids[b] if ids is not None else f"#{b}"
        more = f" (and {bad.size - 1} more samples)" if bad.size > 1 else ""
        raise FacebenchError(f"sample {name}: the {norm} normaliser of its ground truth is {d[b]:g}; "
                             f"NME is undefined{more}")
    return d


def nme(pred: np.ndarray, gt: np.ndarray, norm: np.ndarray,
        points: Sequence[int] | None = None) -> np.ndarray:
    """pred, gt: (B, N, 2) px; norm: (B,) px -> (B,) per-image normalised mean error.

    ``points`` restricts the mean to those landmark ids (the normaliser is unchanged).
    """
    err = per_landmark_error(pred, gt)                             # (B, N)
    if points is not None:
        err = err[:, list(points)]
    return err.mean(axis=-1) / np.asarray(norm, dtype=np.float64)


def pck_curve(errors: np.ndarray, thresholds: np.ndarray | Sequence[float]) -> np.ndarray:
    """errors: any shape (px or NME) -> (T,) fraction of errors ``<= thresholds[t]``."""
    e = np.sort(np.asarray(errors, dtype=np.float64).reshape(-1))
    if e.size == 0:
        raise ValueError("no errors to make a curve of")
    return np.searchsorted(e, np.asarray(thresholds, dtype=np.float64), side="right") / e.size


def ced(errors: np.ndarray, max_error: float, step: float = AUC_STEP) -> tuple[np.ndarray, np.ndarray]:
    """Cumulative error distribution: ``(thresholds (K+1,), fraction <= threshold (K+1,))`` on the
    grid ``0, T/K, ..., T`` with ``K = round(max_error / step)``."""
    if not max_error > 0 or not step > 0:
        raise ValueError(f"max_error and step must be positive, got {max_error}, {step}")
    k = max(1, int(round(max_error / step)))
    grid = np.linspace(0.0, max_error, k + 1)
    return grid, pck_curve(errors, grid)


def auc(errors: np.ndarray, threshold: float, step: float = AUC_STEP) -> float:
    """Area under the CED of ``errors`` from 0 to ``threshold`` divided by ``threshold`` (trapezoidal
    rule on the grid of :func:`ced`), in [0, 1]."""
    grid, frac = ced(errors, threshold, step)
    area = float(np.sum((frac[1:] + frac[:-1]) * np.diff(grid)) * 0.5)
    return area / threshold


def failure_rate(errors: np.ndarray, threshold: float) -> float:
    """Fraction of ``errors`` strictly above ``threshold``."""
    e = np.asarray(errors, dtype=np.float64).reshape(-1)
    if e.size == 0:
        raise ValueError("no errors to count failures in")
    return float(np.count_nonzero(e > threshold)) / e.size


def threshold_key(kind: str, t: float) -> str:
    """Summary key of a threshold metric: ``auc@0.08``, ``fr@0.1``."""
    return f"{kind}@{t:g}"


def image_nmes(pred: np.ndarray, gt: np.ndarray, scheme: Scheme, *, norm: str = "inter-ocular",
               ids: Sequence[str] | None = None) -> dict[str, np.ndarray]:
    """(B,) per-image NME over all landmarks (``all``), ``scheme.regional`` (``regional``) and
    ``scheme.global_only`` (``global``), all with the same per-image normaliser."""
    pred, gt = _check_pair(pred, gt, scheme, ids)
    d = normaliser(gt, scheme, norm, ids)
    out = {"all": nme(pred, gt, d), "regional": nme(pred, gt, d, scheme.regional)}
    out["global"] = nme(pred, gt, d, scheme.global_only) if scheme.global_only else np.full(len(d), np.nan)
    return out


def summarize(pred: np.ndarray, gt: np.ndarray, scheme: Scheme, *, norm: str = "inter-ocular",
              subsets: Sequence[str] | None = None, ids: Sequence[str] | None = None,
              thresholds: Sequence[float] = THRESHOLDS) -> dict:
    """pred, gt: (B, N, 2) px -> the JSON-able summary every table and run folder holds.

    ``{"n", "norm", "nme", "nme_regional", "nme_global", "auc@T", "fr@T" (each threshold),
    "by_subset": {name: the same keys}}``. NMEs are means of per-image NMEs; ``by_subset`` holds
    every non-empty subset name present, plus ``full`` (the image-weighted union of ``common`` and
    ``challenging``) when both are present. Values are fractions.
    """
    per = image_nmes(pred, gt, scheme, norm=norm, ids=ids)
    out = _group_summary(per, np.ones(len(per["all"]), dtype=bool), norm, thresholds)
    out["by_subset"] = {}
    if subsets is not None:
        names = np.asarray([str(s) for s in subsets], dtype=object)
        if len(names) != len(per["all"]):
            raise ValueError(f"{len(names)} subset names for {len(per['all'])} images")
        for name in dict.fromkeys(names):          # first-appearance order
            if name:
                out["by_subset"][name] = _group_summary(per, names == name, norm, thresholds)
        if all(p in out["by_subset"] for p in FULL_PARTS):
            mask = np.isin(names, FULL_PARTS)
            out["by_subset"]["full"] = _group_summary(per, mask, norm, thresholds)
    return out


def _group_summary(per: dict[str, np.ndarray], mask: np.ndarray, norm: str,
                   thresholds: Sequence[float]) -> dict:
    """Summary keys for the images selected by ``mask`` (B,)."""
    e = per["all"][mask]
    out: dict = {"n": int(mask.sum()), "norm": norm, "nme": float(e.mean()),
                 "nme_regional": float(per["regional"][mask].mean())}
    g = per["global"][mask]
    out["nme_global"] = None if np.isnan(g).any() else float(g.mean())
    for t in thresholds:
        out[threshold_key("auc", t)] = auc(e, t)
        out[threshold_key("fr", t)] = failure_rate(e, t)
    return out


def _check_pair(pred: np.ndarray, gt: np.ndarray, scheme: Scheme | None = None,
                ids: Sequence[str] | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Both as float64 (B, N, 2) of equal shape; non-finite values are an error naming the sample."""
    pred = np.asarray(pred, dtype=np.float64)
    gt = np.asarray(gt, dtype=np.float64)
    if pred.shape != gt.shape or pred.ndim != 3 or pred.shape[-1] != 2:
        raise ValueError(f"pred and gt must both be (B, N, 2), got {pred.shape} and {gt.shape}")
    if pred.shape[0] == 0:
        raise ValueError("no images to score")
    if scheme is not None and pred.shape[1] != scheme.num_points:
        raise FacebenchError(f"{pred.shape[1]} landmarks per image, but scheme {scheme.name} has "
                             f"{scheme.num_points}")
    for what, arr in (("prediction", pred), ("ground truth", gt)):
        bad = np.flatnonzero(~np.isfinite(arr).all(axis=(1, 2)))
        if bad.size:
            b = int(bad[0])
            name = ids[b] if ids is not None else f"#{b}"
            raise FacebenchError(f"sample {name}: the {what} holds NaN or infinite coordinates")
    return pred, gt
