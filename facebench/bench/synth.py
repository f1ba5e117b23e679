"""Throughput of ``facebench synth`` against a bare OpenCV loop that writes the same images, in one run.

The synthesizer renders a capture (``subjects x expressions x cameras`` images of ``size`` px) in
this process with one OpenCV thread (one worker's conditions). The bare loop then writes the very
images it rendered, already decoded in memory, with ``cv2.imwrite`` in the same format: the floor
any generator of such files pays (the encode and the disk). The ratio synth / bare is taken on the
CPU time of this process (``time.process_time``, every thread counted), which other jobs on a
shared machine disturb far less than wall time; wall times are reported beside it.

``synth_cpu_s_per_image`` is the figure of issue 2's goal (<= 3 s per 4096 px image per core). It
includes each subject's set-up (face model, textures) and each pose's set-up, amortised over the
images of this run: a whole capture (24 expressions x 8 cameras per subject) amortises them more.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

from facebench.bench.prepare import timed
from facebench.data.synth.config import SynthConfig
from facebench.data.synth.generate import encode_params, generate


def bench_synth(subjects: int = 1, expressions: int = 2, cameras: int = 4, size: int = 4096,
                image_format: str = "png", seed: int = 0, work_dir: str | Path | None = None,
                look: str = "studio") -> dict:
    """Render the capture once, write its images once more with a bare ``cv2.imwrite`` loop.

    Returns ``{"images", "size", "format", "look", "synth_cpu_s", "synth_wall_s", "synth_cpu_s_per_image",
    "bare_cpu_s", "bare_wall_s", "bare_cpu_s_per_image", "ratio", "ratio_wall"}``.
    """
    import cv2

    cfg = SynthConfig(subjects=subjects, expressions=expressions, cameras=cameras, size=size,
                      seed=seed, image_format=image_format, look=look)
    tmp = Path(tempfile.mkdtemp(prefix="facebench-bench-synth-", dir=work_dir))
    threads = cv2.getNumThreads()
    try:
        cv2.setNumThreads(1)
        synth_cpu, synth_wall = timed(generate, tmp / "capture", cfg, workers=1, progress=False)

        paths = sorted((tmp / "capture").rglob(f"*.{image_format}"))
        images = [cv2.imread(str(p), cv2.IMREAD_UNCHANGED) for p in paths]
        params = encode_params(image_format)
        (tmp / "bare").mkdir()
        bare_cpu, bare_wall = timed(_write_all, images, tmp / "bare", image_format, params)
    finally:
        cv2.setNumThreads(threads)
        shutil.rmtree(tmp, ignore_errors=True)
    n = len(paths)
    return {"images": n, "size": size, "format": image_format, "look": look,
            "synth_cpu_s": synth_cpu, "synth_wall_s": synth_wall, "synth_cpu_s_per_image": synth_cpu / n,
            "bare_cpu_s": bare_cpu, "bare_wall_s": bare_wall, "bare_cpu_s_per_image": bare_cpu / n,
            "ratio": synth_cpu / bare_cpu, "ratio_wall": synth_wall / bare_wall}


def _write_all(images: list, folder: Path, image_format: str, params: list[int]) -> None:
    """The bare loop: ``cv2.imwrite`` of each image, nothing else."""
    import cv2

    for i, image in enumerate(images):
        cv2.imwrite(str(folder / f"{i}.{image_format}"), image, params)
