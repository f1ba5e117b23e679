"""iBUG ``.pts`` landmark files: read and write.

Format: ``version: 1``, ``n_points: N``, ``{``, one ``x y`` per line, ``}``; CRLF line ends and
``version: 1.0`` are accepted. The files of 300-W and 300-VW are 1-based (MATLAB): pass
``base=1`` and the points come back 0-based (see :mod:`facebench.core.geometry`). Files facebench
writes are 0-based and carry the header comment :data:`ZERO_BASED_TAG`; a file with that comment
is read as 0-based whatever ``base`` says.
"""

from __future__ import annotations

import math
import os
from pathlib import Path

import numpy as np

from facebench.core.errors import FacebenchError

ZERO_BASED_TAG = "// facebench: 0-based, pixel centres at integer coordinates"
# the comment `facebench predict` writes into its .pts: prepare refuses such a file as an annotation
PREDICTION_TAG = "facebench predict: landmarks predicted by a model, not an annotation"


def read_pts(path: str | Path, base: int = 1, num_points: int | None = None) -> np.ndarray:
    """Read a ``.pts`` file -> (N, 2) float64, 0-based.

    ``base`` is the convention of files without facebench's tag (1 for iBUG data sets).
    ``num_points`` checks the count. Raises :class:`FacebenchError` naming the file for any
    malformed content: missing braces, a count that disagrees, NaN or non-numeric values.
    """
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8-sig", errors="strict")
    except FileNotFoundError:
        raise FacebenchError("landmark file not found", path) from None
    except (OSError, UnicodeDecodeError) as err:
        raise FacebenchError(f"cannot read landmark file ({err.__class__.__name__})", path) from None

    lines = [ln.strip() for ln in text.replace("\r\n", "\n").replace("\r", "\n").split("\n")]
    if ZERO_BASED_TAG in lines:
        base = 0
    lines = [ln for ln in lines if ln and not ln.startswith("//") and not ln.startswith("#")]
    declared = None
    for ln in lines:
        key, _, value = ln.partition(":")
        if key.strip().lower() == "n_points":
            try:
                declared = int(value.strip())
            except ValueError:
                raise FacebenchError(f"n_points is not an integer: {value.strip()!r}", path) from None
    if "{" not in lines or "}" not in lines or lines.index("}") < lines.index("{"):
        raise FacebenchError("not a .pts file (no '{ ... }' block of points)", path)
    body = lines[lines.index("{") + 1: lines.index("}")]
    points = np.empty((len(body), 2), dtype=np.float64)
    for i, ln in enumerate(body):
        fields = ln.split()
        if len(fields) != 2:
            raise FacebenchError(f"point {i + 1}: expected 'x y', got {ln!r}", path)
        try:
            x, y = float(fields[0]), float(fields[1])
        except ValueError:
            raise FacebenchError(f"point {i + 1}: non-numeric coordinate in {ln!r}", path) from None
        if not (math.isfinite(x) and math.isfinite(y)):
            raise FacebenchError(f"point {i + 1}: coordinate is NaN or infinite ({ln!r})", path)
        points[i] = (x, y)
    if declared is not None and declared != len(points):
        raise FacebenchError(f"header says n_points: {declared} but the file holds {len(points)} points", path)
    if num_points is not None and len(points) != num_points:
        raise FacebenchError(f"expected {num_points} points, found {len(points)}", path)
    return points - base


def write_pts(path: str | Path, points: np.ndarray, base: int = 0, comment: str | None = None) -> None:
    """Write (N, 2) 0-based points as a ``.pts`` file, atomically (temporary name, then rename).

    With ``base=0`` (default) the file is 0-based and tagged; ``base=1`` writes the plain 1-based
    iBUG convention (for tools that expect 300-W files) without the tag.
    """
    points = np.asarray(points, dtype=np.float64)
    if points.ndim != 2 or points.shape[1] != 2:
        raise ValueError(f"points must be (N, 2), got {points.shape}")
    if not np.isfinite(points).all():
        raise ValueError("points contain NaN or infinite values")
    out = points + base
    lines = ["version: 1"]
    if base == 0:
        lines.append(ZERO_BASED_TAG)
    if comment is not None:
        lines.append(f"// {comment}")
    lines += [f"n_points: {len(out)}", "{"]
    lines += [f"{float(x)!r} {float(y)!r}" for x, y in out]  # shortest exact round-trip
    lines.append("}")
    path = Path(path)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text("\n".join(lines) + "\n", encoding="utf-8")
    os.replace(tmp, path)
