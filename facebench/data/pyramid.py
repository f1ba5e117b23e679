"""Prepare's worker side: cut each face crop out of its source once and write it at every resolution.

A task is one source file: a still image (one sample) or a 300-VW video (its kept frames, decoded
sequentially with ``grab`` / ``retrieve``, because seeking is slow and unreliable). The crop is the
box's exact pixel window (:func:`facebench.core.geometry.pixel_window` of a pixel-aligned box); pixels
outside the source are filled by border replication (``cv2.BORDER_REPLICATE``: each outside pixel
takes the value of the nearest edge pixel). Each resolution ``R`` is resampled *directly from the
crop*, never from the previous level (successive halving is not area averaging of the source):

- crop side > R: ``cv2.INTER_AREA`` (area averaging);
- crop side == R: the crop itself;
- crop side < R (only written with ``--upsample flag``): ``cv2.INTER_LINEAR``. OpenCV's INTER_AREA
  does *not* become bilinear when enlarging: it replicates pixels (measured: a 2x enlargement of
  ``[0, 100, 0, 100]`` gives ``[0, 0, 100, 100, ...]``), so bilinear is asked for explicitly.

Each image is written in the format its path's suffix names: a tiled TIFF (``.tif``, the default,
:mod:`facebench.core.tiled`) or a PNG (``prepare --format png``). Every file is written to a hidden
temporary name in the same folder and renamed, so a file with its final name is complete; prepare
skips those on a rerun.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from facebench.core.errors import FacebenchError
from facebench.core.io import atomic_write_bytes
from facebench.core.pixels import crop_pixels, resample
from facebench.core.safety import die_with_parent, quiet_stderr
from facebench.core.tiled import TIFF_SUFFIX, encode_tiff, tiff_size

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
TMP_SUFFIX = ".tmp.png"   # PNG temporaries: ".<id>.<pid>.tmp.png" (cv2 picks the codec by extension)
TMP_GLOB = ".*.tmp*"      # every temporary a killed prepare can leave (PNG's and atomic_write_bytes')


@dataclass(frozen=True)
class CropJob:
    """One sample of a source: its pixel-aligned box (4,) and the (R, output path) it needs."""

    box: tuple[float, float, float, float]
    targets: tuple[tuple[int, str], ...]
    frame: int = -1          # 300-VW: 1-based frame index in the video


@dataclass(frozen=True)
class SourceTask:
    """One source file (image, or video when ``video``) and the samples to cut from it."""

    src_path: str
    size: tuple[int, int]    # expected (width, height), from ingestion
    jobs: tuple[CropJob, ...]
    video: bool = False


def init_worker() -> None:
    """Worker-process setup: one OpenCV thread (the parallelism is the processes), no Ctrl-C
    traceback from every worker (the parent handles the interrupt)."""
    import signal

    import cv2

    cv2.setNumThreads(1)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    die_with_parent()   # no orphaned worker after a `kill -9` of prepare


def run_task(task: SourceTask) -> int:
    """Decode ``task``'s source once, write every job's pyramid; returns the number of samples."""
    if task.video:
        _run_video(task)
    else:
        image = read_image(Path(task.src_path), task.size)
        write_pyramid(crop_pixels(image, np.asarray(task.jobs[0].box)), task.jobs[0].targets)
    return len(task.jobs)


def read_image(path: Path, size: tuple[int, int]) -> np.ndarray:
    """Decode a source image -> (H, W, 3) uint8 BGR (as OpenCV holds it); checks the size."""
    import cv2

    with quiet_stderr():   # libpng's own error lines would break the one-line message
        image = cv2.imread(str(path), cv2.IMREAD_COLOR | cv2.IMREAD_IGNORE_ORIENTATION)
    if image is None:
        raise FacebenchError("corrupt image: OpenCV cannot decode it", path)
    if (image.shape[1], image.shape[0]) != tuple(size):
        raise FacebenchError(f"image decodes to {image.shape[1]}x{image.shape[0]} but its header "
                             f"says {size[0]}x{size[1]}", path)
    return image


def _run_video(task: SourceTask) -> None:
    """Decode a video front to back, cutting the jobs' frames (jobs sorted by frame)."""
    import cv2

    cap = cv2.VideoCapture(task.src_path)
    if not cap.isOpened():
        raise FacebenchError("cannot open video", task.src_path)
    try:
        index = 0
        for job in task.jobs:
            while index < job.frame:
                if not cap.grab():
                    raise FacebenchError(f"video ends after {index} frames but annot/ has frame "
                                         f"{job.frame}", task.src_path)
                index += 1
            ok, frame = cap.retrieve()
            if not ok or frame is None:
                raise FacebenchError(f"cannot decode frame {job.frame}", task.src_path)
            if (frame.shape[1], frame.shape[0]) != tuple(task.size):
                raise FacebenchError(f"frame {job.frame} is {frame.shape[1]}x{frame.shape[0]}, "
                                     f"expected {task.size[0]}x{task.size[1]}", task.src_path)
            write_pyramid(crop_pixels(frame, np.asarray(job.box)), job.targets)
    finally:
        cap.release()


def write_pyramid(crop: np.ndarray, targets: tuple[tuple[int, str], ...]) -> None:
    """Write ``crop`` resampled to each (R, path) of ``targets``, each from the crop itself."""
    for res, path in targets:
        write_image(Path(path), resample(crop, res))


def write_image(path: Path, image: np.ndarray) -> None:
    """Write an (H, W, 3) BGR image (as OpenCV holds it) in the format of ``path``'s suffix."""
    if path.suffix == TIFF_SUFFIX:
        try:
            atomic_write_bytes(path, encode_tiff(np.ascontiguousarray(image[..., ::-1])))
        except OSError as err:
            raise FacebenchError(f"cannot write image ({err})", path) from None
    else:
        write_png(path, image)


def write_png(path: Path, image: np.ndarray) -> None:
    """Write an (H, W, 3) BGR image as PNG through a temporary name and an atomic rename."""
    import cv2

    tmp = path.with_name(f".{path.stem}.{os.getpid()}{TMP_SUFFIX}")
    try:
        if not cv2.imwrite(str(tmp), image):
            raise OSError("cv2.imwrite failed")
    except (OSError, cv2.error) as err:
        tmp.unlink(missing_ok=True)
        raise FacebenchError(f"cannot write image ({err})", path) from None
    os.replace(tmp, path)


def image_size(path: Path) -> tuple[int, int] | None:
    """(width, height) of a written prepared image (TIFF or PNG, by suffix), or None when the file
    is missing or unreadable (so prepare writes it again)."""
    return tiff_size(path) if path.suffix == TIFF_SUFFIX else png_size(path)


def png_size(path: Path) -> tuple[int, int] | None:
    """(width, height) from a PNG header, or None when the file is missing or not a PNG."""
    try:
        with open(path, "rb") as f:
            head = f.read(24)
    except OSError:
        return None
    if len(head) < 24 or head[:8] != PNG_SIGNATURE or head[12:16] != b"IHDR":
        return None
    return int.from_bytes(head[16:20], "big"), int.from_bytes(head[20:24], "big")
