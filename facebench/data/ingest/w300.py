"""300-W layout -> sample records, with the official splits.

``ROOT/{afw, helen/trainset, lfpw/trainset, helen/testset, lfpw/testset, ibug}/*.{jpg,png}`` with a
``.pts`` beside each image (68 points, 1-based MATLAB coordinates, shifted by -1 here).

Splits (docs/design.md): train = afw + helen/trainset + lfpw/trainset (3148 images, subset ``train``);
test = helen/testset + lfpw/testset (subset ``common``, 554) + ibug (``challenging``, 135). The
``full`` set (689) is common + challenging, formed by the metrics' aggregation.

300-W gives no identities, so every image is its own subject. The subject is the image's path
below ROOT (``lfpw/testset/image_0001``), not the bare stem: LFPW's trainset and testset both hold
an ``image_0001``, and a bare stem would put one "subject" in both splits. ``view`` keeps the stem.
Ids are ``300w_<folder with / as ->_<stem>``, e.g. ``300w_lfpw-testset_image_0001``.
"""

from __future__ import annotations

from pathlib import Path

from facebench.core.errors import FacebenchError
from facebench.core.pts import read_pts
from facebench.core.schemes import IBUG68
from facebench.data.ingest.records import (
    IMAGE_EXTS,
    Ingested,
    SampleRecord,
    check_inside,
    find_image,
    image_size,
    safe_id,
)
from facebench.data.ingest.subjects import check_not_prediction

# folder -> (split, subset), in the order the official lists give them
FOLDERS: dict[str, tuple[str, str]] = {
    "afw": ("train", "train"),
    "helen/trainset": ("train", "train"),
    "lfpw/trainset": ("train", "train"),
    "helen/testset": ("test", "common"),
    "lfpw/testset": ("test", "common"),
    "ibug": ("test", "challenging"),
}


def ingest_300w(root: str | Path) -> Ingested:
    """Read every annotated image of a 300-W folder -> :class:`Ingested` with official splits."""
    root = Path(root).resolve()
    if not root.is_dir():
        raise FacebenchError("300-W folder not found" if not root.exists() else "not a folder", root)
    present = [f for f in FOLDERS if (root / f).is_dir()]
    if not present:
        raise FacebenchError(f"no 300-W sub-folders here (expected {', '.join(FOLDERS)})", root)

    records: list[SampleRecord] = []
    for folder in present:
        split, subset = FOLDERS[folder]
        pts_files = sorted((root / folder).glob("*.pts"))
        if not pts_files:
            raise FacebenchError("300-W folder holds no .pts landmark files", root / folder)
        for pts in pts_files:
            points = read_pts(pts, base=1, num_points=IBUG68.num_points)
            check_not_prediction(pts)
            image = find_image(pts)
            width, height = image_size(image)
            check_inside(points, width, height, pts)
            stem = pts.stem
            records.append(SampleRecord(
                id=safe_id("300w", folder.replace("/", "-"), stem), source="300w",
                subject=f"{folder}/{stem}", sequence=folder, view=stem, split=split, subset=subset,
                scheme=IBUG68.name, rel_path=f"{folder}/{stem}", src_path=str(image), frame=-1,
                orig_w=width, orig_h=height, landmarks=points, pts_path=str(pts)))

    notes = []
    annotated = {Path(r.src_path) for r in records}
    loose = sorted(p for f in present for p in (root / f).iterdir()
                   if p.suffix.lower() in IMAGE_EXTS and p not in annotated)
    if loose:
        notes.append(f"{root}: {len(loose)} image(s) without a .pts file were left out, "
                     f"e.g. {loose[0].relative_to(root)}")
    missing = [f for f in FOLDERS if f not in present]
    if missing:
        notes.append(f"{root}: 300-W sub-folder(s) not present: {', '.join(missing)}")
    return Ingested(kind="300w", root=root, scheme=IBUG68, records=records, notes=notes)
