"""Studio capture layout -> sample records.

``ROOT/<subject>/<expression>/<camera>.<png|jpg|jpeg|tif|tiff|bmp>`` with a sibling
``<camera>.pts``; optional ``ROOT/capture.json`` (``facebench synth`` writes this layout).

- Scheme: ``capture.json``'s ``"scheme"`` if it names one, else the point count of the first
  landmark file (68 -> ibug68, 89 -> studio89). Every file must then have that count; a file with
  the other scheme's count is refused as "two landmark schemes mixed in one capture".
- Base: files with facebench's 0-based tag are 0-based; untagged files are taken as 1-based iBUG
  files unless ``capture.json`` has ``"pts_base": 0``.
- Ids are ``<subject>_<expression>_<camera>`` (characters outside ``[A-Za-z0-9._-]`` become
  ``-``); ``subject`` is the split unit, ``sequence`` the expression, ``view`` the camera.
- Images without a landmark file are not samples: they are counted in a note, not an error.
"""

from __future__ import annotations

import json
from pathlib import Path

from facebench.core.errors import FacebenchError
from facebench.core.pts import read_pts
from facebench.core.schemes import Scheme, get_scheme, scheme_for_count
from facebench.data.ingest.records import (
    IMAGE_EXTS,
    Ingested,
    SampleRecord,
    check_inside,
    find_image,
    image_size,
    safe_id,
    scheme_mismatch,
)
from facebench.data.ingest.subjects import check_not_prediction, check_subject_folders

CAPTURE_JSON = "capture.json"


def read_capture_json(root: Path) -> dict:
    """``ROOT/capture.json`` as a dict ({} when absent); checks the keys ingestion uses."""
    path = root / CAPTURE_JSON
    if not path.exists():
        return {}
    try:
        config = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        raise FacebenchError(f"not valid JSON ({err.__class__.__name__}: {err})", path) from None
    if not isinstance(config, dict):
        raise FacebenchError("expected a JSON object", path)
    if "scheme" in config:
        try:
            get_scheme(str(config["scheme"]))
        except FacebenchError as err:
            raise FacebenchError(err.message, path) from None
    if config.get("pts_base", 1) not in (0, 1):
        raise FacebenchError(f"pts_base must be 0 or 1, got {config['pts_base']!r}", path)
    return config


def ingest_studio(root: str | Path) -> Ingested:
    """Read every annotated image of a studio capture folder -> :class:`Ingested` (split unset)."""
    root = Path(root).resolve()
    if not root.is_dir():
        raise FacebenchError("capture folder not found" if not root.exists() else "not a folder", root)
    config = read_capture_json(root)
    scheme: Scheme | None = get_scheme(config["scheme"]) if "scheme" in config else None
    reference = f"{CAPTURE_JSON} (\"scheme\")"
    base = int(config.get("pts_base", 1))

    pts_files = sorted(p for p in root.glob("*/*/*.pts") if not _hidden(p, root))
    stray = next((p for p in root.rglob("*.pts")
                  if len(p.relative_to(root).parts) != 3 and not _hidden(p, root)), None)
    if stray is not None:
        raise FacebenchError("landmark file outside the <subject>/<expression>/<camera>.pts layout", stray)
    if not pts_files:
        raise FacebenchError("no <subject>/<expression>/<camera>.pts landmark files in this capture "
                             "folder (empty, or not a studio capture)", root)

    check_subject_folders(root, pts_files)
    records: list[SampleRecord] = []
    for pts in pts_files:
        points = read_pts(pts, base=base)
        check_not_prediction(pts)
        if scheme is None:
            try:
                scheme = scheme_for_count(len(points))
            except FacebenchError as err:
                raise FacebenchError(err.message, pts) from None
            reference = str(pts.relative_to(root))
        elif len(points) != scheme.num_points:
            raise scheme_mismatch(scheme, len(points), reference, pts)
        image = find_image(pts)
        width, height = image_size(image)
        check_inside(points, width, height, pts)
        subject, expression, camera = pts.relative_to(root).with_suffix("").parts
        records.append(SampleRecord(
            id=safe_id(subject, expression, camera), source="studio", subject=subject,
            sequence=expression, view=camera, split="", subset="", scheme=scheme.name,
            rel_path=f"{subject}/{expression}/{camera}", src_path=str(image), frame=-1,
            orig_w=width, orig_h=height, landmarks=points, pts_path=str(pts)))

    notes = []
    annotated = {Path(r.src_path) for r in records}
    loose = [p for p in root.glob("*/*/*") if p.suffix.lower() in IMAGE_EXTS
             and p not in annotated and not _hidden(p, root)]
    if loose:
        notes.append(f"{root}: {len(loose)} image(s) without a .pts file were left out, "
                     f"e.g. {loose[0].relative_to(root)}")
    return Ingested(kind="studio", root=root, scheme=scheme, records=records, notes=notes)


def _hidden(path: Path, root: Path) -> bool:
    """Whether any part of ``path`` below ``root`` is hidden (starts with a dot)."""
    return any(part.startswith(".") for part in path.relative_to(root).parts)
