"""Video stability: the jitter of predicted landmarks between consecutive frames beyond the motion
of the annotations, normalised like the NME (docs/report.md, "Temporal jitter").

For two consecutive frames t, t' of one video (consecutive among the frames the dataset kept:
``facebench prepare --vw-stride S`` keeps every S-th annotated frame, so t' = t + S) and a point i:

    j_i = || (p_t'i - p_ti) - (g_t'i - g_ti) || / d

with p the prediction, g the annotation (the same pixels, any resolution) and d the mean of the two
frames' NME normalisers (inter-ocular by default). A pair's jitter is the mean of j_i over the
points; the metric (``jitter``) is the mean over all pairs, and per category (``by_subset``:
cat1..cat3 for 300-VW). A detector that follows the face's motion exactly has 0 whatever its
constant bias; one whose error changes from frame to frame has a positive jitter. ``jitter_pairs``
counts the pairs. Samples that are not video frames (``frame < 0`` in the manifest) have none.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np
import pandas as pd


def frame_pairs(sequences: Sequence[str], frames: Sequence[int]) -> np.ndarray:
    """(P, 2) row indices (t, t') of consecutive frames of the same sequence (frames >= 0 only)."""
    table = pd.DataFrame({"seq": [str(s) for s in sequences], "frame": np.asarray(frames, dtype=np.int64)})
    table["row"] = np.arange(len(table))
    table = table[table["frame"] >= 0].sort_values(["seq", "frame"], kind="stable")
    same = table["seq"].to_numpy()[1:] == table["seq"].to_numpy()[:-1]
    rows = table["row"].to_numpy()
    return np.stack([rows[:-1][same], rows[1:][same]], axis=1) if len(rows) > 1 else np.zeros((0, 2), np.int64)


def pair_jitter(pred: np.ndarray, gt: np.ndarray, norms: np.ndarray, pairs: np.ndarray) -> np.ndarray:
    """(P,) jitter of each frame pair: pred, gt (B, N, 2) px, norms (B,) px, pairs (P, 2) rows."""
    a, b = pairs[:, 0], pairs[:, 1]
    excess = (pred[b] - pred[a]) - (gt[b] - gt[a])                   # (P, N, 2)
    d = 0.5 * (np.asarray(norms, dtype=np.float64)[a] + np.asarray(norms, dtype=np.float64)[b])
    return np.linalg.norm(excess, axis=-1).mean(axis=-1) / d


def temporal_summary(pred: np.ndarray, gt: np.ndarray, norms: np.ndarray, sequences: Sequence[str],
                     frames: Sequence[int], subsets: Sequence[str] | None = None) -> dict | None:
    """``{"jitter", "jitter_pairs", "by_subset": {name: {"jitter", "jitter_pairs"}}}``, or None
    when there is no pair of consecutive video frames."""
    pairs = frame_pairs(sequences, frames)
    if len(pairs) == 0:
        return None
    values = pair_jitter(np.asarray(pred, np.float64), np.asarray(gt, np.float64), norms, pairs)
    out: dict = {"jitter": float(values.mean()), "jitter_pairs": int(len(values)), "by_subset": {}}
    if subsets is not None:
        names = np.asarray([str(s) for s in subsets], dtype=object)[pairs[:, 0]]
        for name in dict.fromkeys(names):
            if name:
                mask = names == name
                out["by_subset"][name] = {"jitter": float(values[mask].mean()), "jitter_pairs": int(mask.sum())}
    return out


def add_jitter(summary: dict, rows: pd.DataFrame, pred: np.ndarray, gt: np.ndarray, norms: np.ndarray) -> dict:
    """Add the temporal keys to a ``metrics.summarize`` summary of the manifest ``rows`` (in place;
    returned too). Nothing is added when the rows hold no consecutive video frames."""
    if "frame" not in rows or "sequence" not in rows:
        return summary
    sequences = [f"{src}/{seq}" for src, seq in zip(rows.get("source", [""] * len(rows)), rows["sequence"])]
    subsets = list(rows["subset"]) if "subset" in rows else None
    temporal = temporal_summary(pred, gt, norms, sequences, list(rows["frame"]), subsets)
    if temporal is None:
        return summary
    by_subset = temporal.pop("by_subset")
    summary.update(temporal)
    for name, values in by_subset.items():
        summary.setdefault("by_subset", {}).setdefault(name, {}).update(values)
    return summary
