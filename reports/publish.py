"""Moving a finished report into ``--out`` without touching files the user put there.

The report is built in a hidden folder beside ``--out`` and then moved in file by file. A list of
the files reports wrote, each with its sha256, is kept in ``--out/.facebench-report-files``: a later
report replaces or deletes only files on that list whose content is still what the report wrote.
A file the new report would write that exists and is not on the list, or was changed since (the
user's own), stops the report before anything in ``--out`` changes, naming the file.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
from pathlib import Path
from typing import Iterator

from facebench.core.errors import FacebenchError
from facebench.core.io import atomic_write_bytes
from facebench.run import folder as runfolder

OWNED = ".facebench-report-files"


@contextlib.contextmanager
def staging(out_dir: Path) -> Iterator[Path]:
    """A fresh hidden folder beside ``out_dir``, deleted afterwards whatever happens."""
    if out_dir.exists() and not out_dir.is_dir():
        raise FacebenchError("--out exists and is not a folder", out_dir)
    try:
        out_dir.parent.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise FacebenchError(f"cannot create the report folder ({err.strerror})", out_dir) from None
    stage = out_dir.parent / f".{out_dir.name}.report-{os.getpid()}"
    shutil.rmtree(stage, ignore_errors=True)
    stage.mkdir()
    try:
        yield stage
    finally:
        shutil.rmtree(stage, ignore_errors=True)


def owned_files(out_dir: Path) -> set[str]:
    """Relative paths an earlier report wrote into ``out_dir`` and that still hold what it wrote
    (empty when there is no list)."""
    try:
        listed = json.loads((out_dir / OWNED).read_text())
    except (OSError, ValueError):
        return set()
    if not isinstance(listed, dict):
        return set()
    return {str(n) for n, digest in listed.items() if _sha256(out_dir / str(n)) == digest}


def _sha256(path: Path) -> str | None:
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError:
        return None


def publish(stage: Path, out_dir: Path, files: list[Path]) -> list[Path]:
    """Move ``files`` (inside ``stage``) into ``out_dir``; delete files the earlier report wrote
    that this one did not; write the new list. Returns the files' final paths."""
    rel = [Path(f).relative_to(stage).as_posix() for f in files]
    owned = owned_files(out_dir)
    for name in rel:
        target = out_dir / name
        if (target.exists() or target.is_symlink()) and name not in owned:
            raise FacebenchError("exists and was not written by `facebench report`; refusing to replace it "
                                 "(move it away or choose another --out)", target)
        if target.is_dir():
            raise FacebenchError("is a folder where the report writes a file; choose another --out", target)
    for name in rel:
        (out_dir / name).parent.mkdir(parents=True, exist_ok=True)
        os.replace(stage / name, out_dir / name)
    for name in sorted(owned - set(rel)):   # an earlier report's file this one no longer writes
        (out_dir / name).unlink(missing_ok=True)
    listing = json.dumps({name: _sha256(out_dir / name) for name in sorted(rel)}, indent=1) + "\n"
    atomic_write_bytes(out_dir / OWNED, listing.encode())
    return [out_dir / name for name in rel]


def unreadable_predictions(runs) -> list[str]:
    """Notes naming runs whose predictions.parquet cannot be read (their figures leave them out)."""
    import pyarrow.parquet as pq

    notes = []
    for r in runs:
        path = Path(r.path) / runfolder.PREDICTIONS
        if path.exists():
            try:
                pq.read_metadata(path)
            except Exception as err:  # noqa: BLE001 - any damage
                notes.append(f"{path}: unreadable ({err.__class__.__name__}); figures and tables that need "
                             "per-image predictions leave this run out")
    return notes
