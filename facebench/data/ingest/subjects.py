"""Checks on what an input folder holds before it is read as ground truth. Subject folders of a
studio capture that must not be counted twice: two names for the same
folder (a symlink, ``ln -s s000 s999``) or two spellings of one name (NFC and NFD Unicode) would
put one person in both splits. Both are refused, naming the two folders."""

from __future__ import annotations

import os
import unicodedata
from pathlib import Path

from facebench.core.errors import FacebenchError
from facebench.core.pts import PREDICTION_TAG


def check_subject_folders(root: Path, pts_files: list[Path]) -> None:
    """Refuse subject folders of ``root`` that are one folder under two names, or whose names are
    equal after Unicode NFC normalisation."""
    subjects = sorted({p.relative_to(root).parts[0] for p in pts_files})
    by_real: dict[str, str] = {}
    by_nfc: dict[str, str] = {}
    for name in subjects:
        real = os.path.realpath(root / name)
        if real in by_real:
            raise FacebenchError(f"subject folders {by_real[real]!r} and {name!r} are the same folder "
                                 "(a link); one person would be counted as two subjects", root / name)
        by_real[real] = name
        key = unicodedata.normalize("NFC", name)
        if key in by_nfc:
            raise FacebenchError(f"subject folders {by_nfc[key]!r} and {name!r} are one name written in two "
                                 "Unicode forms (NFC / NFD); rename one", root / name)
        by_nfc[key] = name


def check_not_prediction(pts: Path) -> None:
    """Refuse a landmark file written by ``facebench predict``: it is a model's output, not an
    annotation, and must not be read as ground truth."""
    with open(pts, "rb") as f:
        head = f.read(512)
    if PREDICTION_TAG.encode() in head:
        raise FacebenchError("was written by `facebench predict` (a model's landmarks, not an annotation); "
                             "move it out of the input folder", pts)
