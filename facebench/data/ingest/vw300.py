"""300-VW layout -> sample records (one per kept annotated frame), with the official splits.

``ROOT/NNN/vid.avi`` + ``ROOT/NNN/annot/%06d.pts`` (frames numbered from 1; 68 points, 1-based
coordinates, shifted by -1 here). Frame ``f`` is the ``f``-th frame OpenCV decodes from ``vid.avi``.

Splits (docs/design.md): category 1 / 2 / 3 test videos (subset ``cat1`` / ``cat2`` / ``cat3``); every
other video is one of the 50 training videos (subset ``train``). The video is the subject.

``stride`` keeps annotated frames ``1, 1 + stride, 1 + 2 stride, ...``. Prepare's default is 5:
neighbouring frames at 25-30 fps are near-duplicates, so every 5th frame keeps the pose and
expression variety of the sequences while making the prepared pyramid 5x smaller and faster; pass
``stride=1`` (``--vw-stride 1``) for the official all-frames evaluation protocol.

Only the video's header is read here (frame size); frames are decoded sequentially by prepare's
workers (seeking is slow and unreliable in many codecs), which also check the video is long enough.
"""

from __future__ import annotations

from pathlib import Path

from facebench.core.errors import FacebenchError
from facebench.core.pts import read_pts
from facebench.core.schemes import IBUG68
from facebench.data.ingest.records import Ingested, SampleRecord, check_inside, safe_id

CATEGORIES: dict[str, tuple[int, ...]] = {
    "cat1": (114, 124, 125, 126, 150, 158, 401, 402, 505, 506, 507, 508, 509, 510, 511, 514, 515,
             518, 519, 520, 521, 522, 524, 525, 537, 538, 540, 541, 546, 547, 548),
    "cat2": (203, 208, 211, 212, 213, 214, 218, 224, 403, 404, 405, 406, 407, 408, 409, 412, 550,
             551, 553),
    "cat3": (410, 411, 516, 517, 526, 528, 529, 530, 531, 533, 557, 558, 559, 562),
}
VIDEO = "vid.avi"


def video_subset(name: str) -> tuple[str, str]:
    """(split, subset) of the video in folder ``name`` (``"114"`` or ``"0114"`` alike)."""
    if name.isdigit():
        for subset, ids in CATEGORIES.items():
            if int(name) in ids:
                return "test", subset
    return "train", "train"


def video_size(path: Path) -> tuple[int, int]:
    """(width, height) of a video from its header; refuses one OpenCV cannot open."""
    import cv2

    cap = cv2.VideoCapture(str(path))
    try:
        if not cap.isOpened():
            raise FacebenchError("cannot open video (corrupt, or a codec OpenCV lacks)", path)
        width = int(cap.get(cv2.CAP_PROP_FRAME_WIDTH))
        height = int(cap.get(cv2.CAP_PROP_FRAME_HEIGHT))
    finally:
        cap.release()
    if width <= 0 or height <= 0:
        raise FacebenchError(f"video reports no frame size ({width}x{height})", path)
    return width, height


def ingest_300vw(root: str | Path, stride: int = 5) -> Ingested:
    """Read the kept annotated frames of every video of a 300-VW folder -> :class:`Ingested`."""
    if stride < 1:
        raise FacebenchError(f"--vw-stride must be >= 1, got {stride}")
    root = Path(root).resolve()
    if not root.is_dir():
        raise FacebenchError("300-VW folder not found" if not root.exists() else "not a folder", root)
    folders = sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))
    folders = [p for p in folders if (p / VIDEO).exists() or (p / "annot").is_dir()]
    if not folders:
        raise FacebenchError(f"no 300-VW video folders here (expected NNN/{VIDEO} + NNN/annot/)", root)

    records: list[SampleRecord] = []
    for folder in folders:
        video, annot = folder / VIDEO, folder / "annot"
        if not video.is_file():
            raise FacebenchError(f"annotated video folder has no {VIDEO}", folder)
        if not annot.is_dir():
            raise FacebenchError("video folder has no annot/ folder of .pts files", folder)
        frames = sorted((_frame_number(p), p) for p in annot.glob("*.pts"))
        if not frames:
            raise FacebenchError("annot/ folder holds no .pts landmark files", annot)
        width, height = video_size(video)
        split, subset = video_subset(folder.name)
        for (frame, pts), (previous, _) in zip(frames, [(0, None)] + frames):
            if frame == previous:
                raise FacebenchError(f"two landmark files for frame {frame}", pts)
            if (frame - 1) % stride:
                continue
            points = read_pts(pts, base=1, num_points=IBUG68.num_points)
            check_inside(points, width, height, pts)
            view = f"{frame:06d}"
            records.append(SampleRecord(
                id=safe_id("300vw", folder.name, view), source="300vw", subject=folder.name,
                sequence=folder.name, view=view, split=split, subset=subset, scheme=IBUG68.name,
                rel_path=f"{folder.name}/annot/{view}", src_path=str(video), frame=frame,
                orig_w=width, orig_h=height, landmarks=points, pts_path=str(pts)))

    notes = [f"{root}: {len(folders)} video(s), every {stride}th annotated frame kept "
             f"({len(records)} frames)"]
    return Ingested(kind="300vw", root=root, scheme=IBUG68, records=records, notes=notes)


def _frame_number(pts: Path) -> int:
    """Frame index from an ``annot/%06d.pts`` name."""
    if not pts.stem.isdigit() or int(pts.stem) < 1:
        raise FacebenchError("300-VW landmark file name is not a frame number (%06d.pts, from 1)", pts)
    return int(pts.stem)
