"""The run folder: what one method at one resolution produced (docs/design.md, "Run folder").

``runs/<name>/``
  ``config.json``          everything needed to repeat the run (method, res, preset, data, seed, ...)
  ``model.pt`` / ``model.dat``  the trained model (written by the method)
  ``train_log.csv``        one row per epoch (written by the trainer, ``facebench.nn.train.TRAIN_LOG``)
  ``predictions.parquet``  one row per (sample, evaluation resolution): ``id``, ``res``, ``subset``,
                           ``pred`` and ``gt`` as flat lists ``[x0, y0, x1, y1, ...]`` in that
                           resolution's pixels (0-based), ``norm`` the per-image normaliser in px
  ``metrics.json``         ``status`` (``ok`` / ``failed`` / ``oom``), the primary resolution's
                           metrics at top level (``nme`` ... as fractions), and ``by_res`` keyed by
                           evaluation resolution
  ``examples.npz``         (ADC only) heatmaps, boxes, coarse and refined points of a few test images

Every file is written to a temporary name and renamed, so an interrupted run never leaves a
half-written file that looks finished (:mod:`facebench.core.io`). ``reports/`` reads these files and nothing else.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from facebench.core.errors import FacebenchError
from facebench.core.io import write_parquet

CONFIG = "config.json"
METRICS = "metrics.json"
PREDICTIONS = "predictions.parquet"
EXAMPLES = "examples.npz"


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
        raise FacebenchError(f"unreadable ({err.__class__.__name__}); run it again or delete the run folder",
                             Path(run_dir) / PREDICTIONS) from None
    if res is not None:
        frame = frame[frame["res"] == int(res)].reset_index(drop=True)
    pred = (np.stack([np.asarray(v, dtype=np.float64).reshape(-1, 2) for v in frame["pred"]])
            if len(frame) else np.zeros((0, 0, 2)))
    gt = (np.stack([np.asarray(v, dtype=np.float64).reshape(-1, 2) for v in frame["gt"]])
          if len(frame) else np.zeros((0, 0, 2)))
    return frame, pred, gt


def merge_predictions(run_dir: Path, new: pd.DataFrame) -> None:
    """Add ``new`` rows to a run's predictions, replacing earlier rows at the same resolutions."""
    path = Path(run_dir) / PREDICTIONS
    if path.exists():
        old = pd.read_parquet(path)
        old = old[~old["res"].isin(new["res"].unique())]
        new = pd.concat([old, new], ignore_index=True)
    write_parquet(path, new)
