"""Throughput of prepare's pyramid against a bare OpenCV loop over the same files, in one run.

The sources are ``size x size`` studio images whose landmarks are placed so that prepare's crop
box (landmark box + margin, squared, snapped) is exactly the whole image: both sides then decode
the same file once and write the same R x R PNGs, and the ratio measures prepare's own overhead
(ingestion, validation, cropping, temporary files and renames, manifest). The bare loop is
``cv2.imread`` + for each R ``cv2.resize(INTER_AREA)`` + ``cv2.imwrite``. Both run in this process
with one OpenCV thread (one worker's conditions); each is timed ``repeats`` times, alternating,
and the fastest time of each is kept. The ratio is taken on CPU time (``time.process_time``) of
this process, which other jobs on a shared machine disturb far less than wall time (both are
reported; on an idle machine they agree, as the PNGs go to the page cache).
"""

from __future__ import annotations

import shutil
import tempfile
import time
from pathlib import Path

import numpy as np

from facebench.core import geometry
from facebench.core.pts import write_pts
from facebench.core.tiled import FORMATS, encode_tiff
from facebench.data.prepare import DEFAULT_RESOLUTIONS, PrepareOptions, prepare


def make_bench_sources(folder: Path, n_images: int, size: int, margin: float, seed: int = 0) -> list[Path]:
    """Write ``n_images`` studio images ``b<i>/neutral/cam0.png`` (size x size, photo-like smooth
    content with sensor noise) with 68 landmarks whose prepared crop is the whole image."""
    import cv2

    rng = np.random.default_rng(seed)
    inner = geometry.shrink_square_box(geometry.full_image_box(size), margin)   # landmark box
    paths = []
    for i in range(n_images):
        small = rng.integers(0, 256, size=(size // 64, size // 64, 3), dtype=np.uint8)
        image = cv2.resize(small, (size, size), interpolation=cv2.INTER_CUBIC)
        image = cv2.add(image, rng.integers(0, 6, size=image.shape, dtype=np.uint8))
        points = rng.uniform(inner[:2], inner[2:], size=(68, 2))
        points[0], points[1] = inner[:2], inner[2:]         # the extremes fix the landmark box
        path = folder / f"b{i}" / "neutral" / "cam0.png"
        path.parent.mkdir(parents=True, exist_ok=True)
        cv2.imwrite(str(path), image)
        write_pts(path.with_suffix(".pts"), points)
        paths.append(path)
    return paths


def bare_loop(paths: list[Path], resolutions: tuple[int, ...], out: Path, image_format: str = "png") -> None:
    """``imread`` + per R ``resize(INTER_AREA)`` + write (``cv2.imwrite`` of a PNG, or the tiled
    TIFF's encoder) over ``paths``, nothing else."""
    import cv2

    for res in resolutions:
        (out / str(res)).mkdir(parents=True, exist_ok=True)
    for i, path in enumerate(paths):
        image = cv2.imread(str(path))
        for res in resolutions:
            small = cv2.resize(image, (res, res), interpolation=cv2.INTER_AREA)
            if image_format == "png":
                cv2.imwrite(str(out / str(res) / f"{i}.png"), small)
            else:
                (out / str(res) / f"{i}.tif").write_bytes(encode_tiff(cv2.cvtColor(small, cv2.COLOR_BGR2RGB)))


def timed(fn, *args, **kwargs) -> tuple[float, float]:
    """(CPU seconds of this process, wall seconds) of one call."""
    cpu, wall = time.process_time(), time.perf_counter()
    fn(*args, **kwargs)
    return time.process_time() - cpu, time.perf_counter() - wall


def bench_prepare(n_images: int = 4, size: int = 4096,
                  resolutions: tuple[int, ...] = DEFAULT_RESOLUTIONS, repeats: int = 2,
                  work_dir: str | Path | None = None, margin: float = 0.25, image_format: str = FORMATS[0]) -> dict:
    """Time prepare (1 worker) and the bare loop on the same ``n_images`` sources of ``size`` px,
    both writing ``image_format`` (tiff | png).

    Returns ``{"images", "size", "format", "resolutions", "repeats", "bare_cpu_s", "prepare_cpu_s",
    "ratio", "bare_wall_s", "prepare_wall_s", "ratio_wall", "prepare_s_per_image"}`` (fastest of
    the repeats); ``ratio`` = prepare / bare CPU time (goal <= 1.3).
    """
    import cv2

    tmp = Path(tempfile.mkdtemp(prefix="facebench-bench-", dir=work_dir))
    threads = cv2.getNumThreads()
    try:
        paths = make_bench_sources(tmp / "capture", n_images, size, margin)
        for path in paths:   # both loops then read from the page cache
            path.read_bytes()
        options = PrepareOptions(resolutions=tuple(resolutions), margin=margin, test_fraction=0.5, format=image_format)
        cv2.setNumThreads(1)
        bare, prep = [], []
        for k in range(repeats):
            bare.append(timed(bare_loop, paths, options.all_resolutions, tmp / f"bare{k}", image_format))
            shutil.rmtree(tmp / f"bare{k}")
            prep.append(timed(prepare, tmp / f"prepared{k}", studio=(tmp / "capture",),
                               options=options, workers=1, progress=False))
            shutil.rmtree(tmp / f"prepared{k}")
    finally:
        cv2.setNumThreads(threads)
        shutil.rmtree(tmp, ignore_errors=True)
    (bare_cpu, bare_wall), (prep_cpu, prep_wall) = (tuple(map(min, zip(*t))) for t in (bare, prep))
    return {"images": n_images, "size": size, "format": image_format, "resolutions": list(options.all_resolutions),
            "repeats": repeats, "bare_cpu_s": bare_cpu, "prepare_cpu_s": prep_cpu,
            "ratio": prep_cpu / bare_cpu, "bare_wall_s": bare_wall, "prepare_wall_s": prep_wall,
            "ratio_wall": prep_wall / bare_wall, "prepare_s_per_image": prep_wall / n_images}
