"""The sample record every ingester produces, and the checks they share.

A :class:`SampleRecord` is one annotated face image (a studio photo, a 300-W image or one 300-VW
video frame) with its landmarks in SOURCE image pixels, 0-based (see :mod:`facebench.core.geometry`).
It carries the manifest columns that do not depend on prepare's options; prepare adds the crop box,
the crop side and, for studio captures, the split.

Image files are only *opened* here (size from the header, and a look at the end of PNG / JPEG files
for truncation); they are decoded once, later, by prepare's workers.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from facebench.core.errors import FacebenchError
from facebench.core.safety import check_image_pixels, image_header
from facebench.core.schemes import SCHEMES, Scheme

IMAGE_EXTS: tuple[str, ...] = (".png", ".jpg", ".jpeg", ".tif", ".tiff", ".bmp")
OUTSIDE_TOLERANCE = 0.10   # a landmark may lie this fraction of the image size outside it

_UNSAFE = re.compile(r"[^A-Za-z0-9._-]")


@dataclass(frozen=True)
class SampleRecord:
    """One annotated face image, before prepare adds its crop box and (studio) split."""

    id: str                  # unique, [A-Za-z0-9._-]
    source: str              # studio | 300w | 300vw
    subject: str             # the unit of the train/test split
    sequence: str            # studio: expression; 300-W: sub-folder; 300-VW: video id
    view: str                # studio: camera; 300-W: image stem; 300-VW: frame as %06d
    split: str               # train | test; "" until prepare splits a studio capture
    subset: str              # "" (studio) | common | challenging | train | cat1 | cat2 | cat3
    scheme: str              # ibug68 | studio89
    rel_path: str            # landmark file relative to the input root, no extension
    src_path: str            # absolute path of the image (300-VW: of vid.avi)
    frame: int               # 300-VW frame index (1-based), -1 otherwise
    orig_w: int
    orig_h: int
    landmarks: np.ndarray    # (N, 2) float64, source pixels, 0-based
    pts_path: str            # the landmark file, to name it in errors


@dataclass
class Ingested:
    """What one input folder holds: its records, their scheme, and notes for the user."""

    kind: str                # studio | 300w | 300vw
    root: Path
    scheme: Scheme
    records: list[SampleRecord]
    notes: list[str]


def safe_id(*parts: str) -> str:
    """Join id parts with ``_``, replacing characters outside ``[A-Za-z0-9._-]`` by ``-``; a part
    that had such characters gets ``-`` and 8 hex digits of its NFC form's sha1, so distinct
    non-ASCII names get distinct, stable ids."""
    return "_".join(_safe_part(p) for p in parts)


def _safe_part(part: str) -> str:
    import hashlib
    import unicodedata

    safe = _UNSAFE.sub("-", part)
    if safe == part:
        return part
    part = unicodedata.normalize("NFC", part)
    return f"{_UNSAFE.sub('-', part)}-{hashlib.sha1(part.encode()).hexdigest()[:8]}"


def find_image(pts_path: Path) -> Path:
    """The image beside a landmark file: same stem, one of :data:`IMAGE_EXTS` (any case)."""
    stem = pts_path.stem
    found = [p for p in pts_path.parent.iterdir()
             if p.stem == stem and p.suffix.lower() in IMAGE_EXTS and p.is_file()]
    if not found:
        raise FacebenchError(f"no image beside this landmark file (looked for {stem}"
                             f"{{{','.join(IMAGE_EXTS)}}})", pts_path)
    if len(found) > 1:
        names = ", ".join(sorted(p.name for p in found))
        raise FacebenchError(f"more than one image for this landmark file ({names})", pts_path)
    return found[0]


def image_size(path: Path) -> tuple[int, int]:
    """(width, height) of an image from its header; refuses unreadable and truncated files.

    Truncation (the usual corruption) is caught here, before prepare writes anything, by looking
    for the PNG ``IEND`` chunk / the JPEG end-of-image marker near the end of the file; damage in
    the middle of a file is caught when the worker decodes it.
    """
    from PIL import UnidentifiedImageError

    try:
        width, height, fmt = image_header(path)
    except FileNotFoundError:
        raise FacebenchError("image not found", path) from None
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError) as err:
        raise FacebenchError(f"not a readable image ({err.__class__.__name__})", path) from None
    if width <= 0 or height <= 0:
        raise FacebenchError(f"image has no pixels ({width}x{height})", path)
    check_image_pixels(width, height, path)
    marker = {"PNG": b"IEND", "JPEG": b"\xff\xd9"}.get(fmt or "")
    if marker is not None:
        with open(path, "rb") as f:
            f.seek(max(0, path.stat().st_size - 4096))
            if marker not in f.read():
                raise FacebenchError(f"corrupt image: the {fmt} data is truncated", path)
    return int(width), int(height)


def check_inside(points: np.ndarray, width: int, height: int, path: Path | str) -> None:
    """Refuse landmarks (N, 2) more than :data:`OUTSIDE_TOLERANCE` of the image size outside it."""
    size = np.array([width, height], dtype=np.float64)
    lo = -0.5 - OUTSIDE_TOLERANCE * size
    hi = size - 0.5 + OUTSIDE_TOLERANCE * size
    bad = np.flatnonzero(((points < lo) | (points > hi)).any(axis=1))
    if len(bad):
        i = int(bad[0])
        x, y = points[i]
        raise FacebenchError(
            f"landmark {i} at ({_px(x)}, {_px(y)}) lies far outside the {width}x{height} image "
            f"(more than {OUTSIDE_TOLERANCE:.0%} of its size; {len(bad)} such point(s))", path)


def _px(v: float) -> str:
    """A coordinate for a message: one decimal, or 4 significant digits when huge (1e300)."""
    return f"{v:.1f}" if abs(v) < 1e7 else f"{v:.4g}"


def scheme_mismatch(scheme: Scheme, count: int, reference: str, path: Path) -> FacebenchError:
    """The error for a landmark file with ``count`` points where ``scheme`` was expected;
    ``reference`` says where the expectation came from (``capture.json`` or the first file)."""
    other = next((s for s in SCHEMES.values() if s.num_points == count), None)
    if other is not None:
        return FacebenchError(
            f"two landmark schemes mixed in one capture: this file has {count} points "
            f"({other.name}) but {reference} gives {scheme.num_points} ({scheme.name})", path)
    return FacebenchError(f"expected {scheme.num_points} points ({scheme.name}), found {count}", path)
