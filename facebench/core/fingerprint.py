"""Fingerprints that tie a run to the exact dataset it trained on (docs/reliability.md).

A prepared dataset records ``dataset.json["fingerprint"]``: sha256 digests of its inputs (every
landmark file's and image's path, size and modification time, and the landmarks read), of the
options that decide what prepare writes, and of the split (sample id -> train/test), plus
``all`` over the three. A run records the ``all`` digest it trained on (``config.json
["data_fingerprint"]``); a finished run, ``--resume``, ``--init auto`` and ``evaluate`` compare it
with the dataset's current one.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pandas as pd

from facebench.core.errors import FacebenchError

KEYS = ("inputs", "options", "split")
WHAT = {"inputs": "input files", "options": "prepare options", "split": "train/test split"}


def _digest(obj) -> str:
    return hashlib.sha256(json.dumps(obj, sort_keys=True, default=str).encode()).hexdigest()[:16]


def _stat(path: str) -> list:
    try:
        st = Path(path).stat()
        return [int(st.st_size), int(st.st_mtime_ns)]
    except OSError:
        return [None, None]


def dataset_fingerprint(plan: pd.DataFrame, options: dict) -> dict[str, str]:
    """``{"inputs", "options", "split", "all"}`` digests of a planned manifest and its options."""
    inputs = hashlib.sha256()
    rows = plan.sort_values("id")
    pts_files = rows["_pts"] if "_pts" in rows else [None] * len(rows)
    for sample_id, src, frame, pts, points in zip(rows["id"], rows["src_path"], rows["frame"], pts_files,
                                                  rows["landmarks"]):
        files = [src, _stat(src)] + ([pts, _stat(pts)] if pts else [])
        inputs.update(json.dumps([str(sample_id), int(frame), files]).encode())
        inputs.update(np.asarray(points, dtype=np.float64).tobytes())
    split = _digest(sorted(zip(map(str, plan["id"]), map(str, plan["split"]))))
    out = {"inputs": inputs.hexdigest()[:16], "options": _digest(options), "split": split}
    out["all"] = _digest([out[k] for k in KEYS])
    return out


def differences(old: dict | None, new: dict) -> list[str]:
    """Which parts differ between two dataset fingerprints, in words."""
    if not old:
        return ["no fingerprint recorded (made by an older facebench)"]
    return [WHAT[k] for k in KEYS if old.get(k) != new.get(k)]


def of_dataset(info: dict) -> str | None:
    """The ``all`` digest recorded in a dataset.json, or None (an older dataset)."""
    fp = info.get("fingerprint")
    return fp.get("all") if isinstance(fp, dict) else None


RUN_KEYS = ("method", "preset", "seed", "epochs", "norm", "options", "data_fingerprint")


def run_differences(recorded: dict, wanted: dict) -> list[str]:
    """The run settings (:data:`RUN_KEYS`) that differ, as ``key recorded -> wanted`` strings;
    keys absent from ``wanted`` are not compared."""
    out = []
    for key in RUN_KEYS:
        if key in wanted and recorded.get(key) != wanted[key]:
            if key == "data_fingerprint":
                out.append("the dataset (prepared again with other inputs, options or split since)")
            else:
                out.append(f"{key} {recorded.get(key)!r} -> {wanted[key]!r}")
    return out


def check_run_matches(run_dir: Path, recorded: dict, wanted: dict, action: str, hint: str) -> None:
    """Refuse to ``action`` (reuse / resume / initialise from / evaluate) a run whose settings or
    dataset differ from ``wanted``, naming what differs."""
    diff = run_differences(recorded, wanted)
    if diff:
        raise FacebenchError(f"cannot {action} this run: it was made with other settings ({'; '.join(diff)}); "
                             f"{hint}", run_dir)


def check_reprepare(dataset_json: Path, new_info: dict, force: bool) -> None:
    """Refuse (unless ``force``) to prepare into a finished dataset whose recorded fingerprint
    differs from the new one, naming the inputs, options or split that differ."""
    try:
        old_info = json.loads(Path(dataset_json).read_text())
    except (OSError, ValueError):
        old_info = {}
    old_fp = old_info.get("fingerprint") if isinstance(old_info, dict) else None
    new_fp = new_info["fingerprint"]
    if force or (isinstance(old_fp, dict) and old_fp.get("all") == new_fp["all"]):
        return
    if not isinstance(old_fp, dict):
        what = "it records no fingerprint (prepared by an older facebench or damaged)"
    else:
        what = ", ".join(differences(old_fp, new_fp))
        old_opts, new_opts = old_info.get("options", {}), new_info.get("options", {})
        changed = [f"{k} {old_opts.get(k)!r} -> {new_opts.get(k)!r}" for k in sorted(set(old_opts) | set(new_opts))
                   if old_opts.get(k) != new_opts.get(k)]
        if changed:
            what += f" ({'; '.join(changed)})"
        if old_opts.get("format", "png") != new_opts.get("format", "png") and len(changed) == 1:
            what += f"; only the image format differs: --format {old_opts.get('format', 'png')} keeps it as it is"
    raise FacebenchError(f"holds a dataset prepared differently: {what}; pass --force to replace it "
                         "(runs trained on it become stale) or choose another --out", Path(dataset_json).parent)
