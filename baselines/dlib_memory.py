"""Whether dlib's shape-predictor training fits in memory, checked before it starts.

``dlib.train_shape_predictor`` holds every training image at once: the caller's RGB arrays (3 bytes
per pixel) and dlib's own 8-bit grey copy it converts them to (1 byte per pixel), so a training set
of B images of R x R px needs about ``4 B R^2`` bytes (96 crops at 4096: 6.4 GB) besides the trees.
`reproduce` trains dlib-ert at every resolution of the grid; a resolution whose images would take
more than ``budget`` of the memory available now is refused with a MemoryError before dlib starts,
which the runner records as ``oom`` (the report's cell says OOM) instead of letting the machine swap.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

BYTES_PER_PIXEL = 4          # RGB input (3) + dlib's grey copy (1)
DEFAULT_BUDGET = 0.5         # fraction of MemAvailable the images may take


def training_bytes(images: Sequence[np.ndarray]) -> int:
    """Estimated peak bytes of the images during dlib's training."""
    return int(sum(int(im.shape[0]) * int(im.shape[1]) for im in images) * BYTES_PER_PIXEL)


def available_bytes() -> int | None:
    """MemAvailable from /proc/meminfo (None where there is no such file)."""
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        return None
    return None


def check_fits(images: Sequence[np.ndarray], budget: float = DEFAULT_BUDGET, available: int | None = None) -> None:
    """Raise MemoryError ("out of memory: ...") when the images need more than ``budget`` of the
    available memory."""
    available = available_bytes() if available is None else available
    need = training_bytes(images)
    if available is not None and need > budget * available:
        side = int(images[0].shape[0]) if len(images) else 0
        raise MemoryError(f"out of memory: dlib-ert would hold {len(images)} images of {side} px "
                          f"(~{need / 2**30:.1f} GiB) with {available / 2**30:.1f} GiB available "
                          f"(limit {budget:.0%} of it)")
