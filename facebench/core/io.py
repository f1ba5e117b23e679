"""Atomic file writing: every file facebench writes goes to a temporary sibling and is renamed, so an
interrupted command never leaves a half-written file that looks finished."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, Mapping

import pandas as pd


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
