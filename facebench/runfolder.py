"""The run folder: what one method at one resolution produced (DESIGN.md, "Run folder").

``runs/<name>/``
  ``config.json``          everything needed to repeat the run (method, res, preset, data, seed, ...)
  ``model.pt`` / ``model.dat``  the trained model (written by the method)
  ``train_log.csv``        one row per epoch (written by the trainer)
  ``predictions.parquet``  one row per (sample, evaluation resolution): ``id``, ``res``, ``subset``,
                           ``pred`` and ``gt`` as flat lists ``[x0, y0, x1, y1, ...]`` in that
                           resolution's pixels (0-based), ``norm`` the per-image normaliser in px
  ``metrics.json``         ``status`` (``ok`` / ``failed`` / ``oom``), the primary resolution's
                           metrics at top level (``nme`` ... as fractions), and ``by_res`` keyed by
                           evaluation resolution
  ``examples.npz``         (ADC only) heatmaps, boxes, coarse and refined points of a few test images

Every file is written to a temporary name and renamed, so an interrupted run never leaves a
half-written file that looks finished. ``reports/`` reads these files and nothing else.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, Mapping

import numpy as np
import pandas as pd

CONFIG = "config.json"
METRICS = "metrics.json"
PREDICTIONS = "predictions.parquet"
TRAIN_LOG = "train_log.csv"
EXAMPLES = "examples.npz"


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` through a temporary sibling and an atomic rename."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp{os.getpid()}")
    tmp.write_bytes(data)
    os.replace(tmp, path)


def write_json(path: Path, obj: Mapping[str, Any]) -> None:
    """Atomically write a JSON file (sorted keys, indented, NaN refused)."""
    atomic_write_bytes(Path(path), (json.dumps(obj, indent=2, sort_keys=True, allow_nan=False) + "\n").encode())


def read_json(path: Path) -> dict[str, Any]:
    return json.loads(Path(path).read_text())


def write_parquet(path: Path, frame: pd.DataFrame) -> None:
    """Atomically write a parquet file."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp{os.getpid()}")
    frame.to_parquet(tmp, index=False)
    os.replace(tmp, path)


def predictions_frame(ids: list[str], res: int, pred: np.ndarray, gt: np.ndarray,
                      subsets: list[str] | None = None, norm: np.ndarray | None = None) -> pd.DataFrame:
    """Rows for ``predictions.parquet`` from (B, N, 2) predictions and ground truth at ``res``."""
    b = len(ids)
    return pd.DataFrame({
        "id": list(ids),
        "res": np.full(b, int(res), dtype=np.int64),
        "subset": list(subsets) if subsets is not None else [""] * b,
        "pred": [row.reshape(-1).astype(np.float64) for row in np.asarray(pred)],
        "gt": [row.reshape(-1).astype(np.float64) for row in np.asarray(gt)],
        "norm": np.asarray(norm, dtype=np.float64) if norm is not None else np.full(b, np.nan),
    })


def read_predictions(run_dir: Path, res: int | None = None) -> tuple[pd.DataFrame, np.ndarray, np.ndarray]:
    """(rows, pred (B, N, 2), gt (B, N, 2)) of a run, optionally only at evaluation resolution ``res``."""
    try:
        frame = pd.read_parquet(Path(run_dir) / PREDICTIONS)
    except Exception as err:  # noqa: BLE001 - any damage: one line naming the file
        from facebench.errors import FacebenchError

        raise FacebenchError(f"unreadable ({err.__class__.__name__}); run it again or delete the run folder",
                             Path(run_dir) / PREDICTIONS) from None
    if res is not None:
        frame = frame[frame["res"] == int(res)].reset_index(drop=True)
    pred = np.stack([np.asarray(v, dtype=np.float64).reshape(-1, 2) for v in frame["pred"]]) if len(frame) else np.zeros((0, 0, 2))
    gt = np.stack([np.asarray(v, dtype=np.float64).reshape(-1, 2) for v in frame["gt"]]) if len(frame) else np.zeros((0, 0, 2))
    return frame, pred, gt


def merge_predictions(run_dir: Path, new: pd.DataFrame) -> None:
    """Add ``new`` rows to a run's predictions, replacing earlier rows at the same resolutions."""
    path = Path(run_dir) / PREDICTIONS
    if path.exists():
        old = pd.read_parquet(path)
        old = old[~old["res"].isin(new["res"].unique())]
        new = pd.concat([old, new], ignore_index=True)
    write_parquet(path, new)
