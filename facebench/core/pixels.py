"""The two pixel operations every stage shares: cutting a pixel-aligned square box out of an image
(border replication outside it) and resampling a crop to R x R, as ``facebench prepare`` writes its
pyramid (:mod:`facebench.data.pyramid`), ``facebench predict`` crops a face and ADC makes its proxy.

Resampling is done *directly from the crop*: crop side > R ``cv2.INTER_AREA`` (area averaging);
crop side == R the crop itself; crop side < R ``cv2.INTER_LINEAR`` (OpenCV's INTER_AREA replicates
pixels when enlarging, so bilinear is asked for explicitly).
"""

from __future__ import annotations

import numpy as np

from facebench.core import geometry


def crop_pixels(image: np.ndarray, box: np.ndarray) -> np.ndarray:
    """The pixels (S, S, C) of a pixel-aligned box (4,) over image (H, W, C); outside the image
    the nearest edge pixel is repeated (border replication)."""
    c0, r0, w, h = geometry.pixel_window(box)
    height, width = image.shape[:2]
    if c0 >= 0 and r0 >= 0 and c0 + w <= width and r0 + h <= height:
        return image[r0:r0 + h, c0:c0 + w]
    rows = np.clip(np.arange(r0, r0 + h), 0, height - 1)
    cols = np.clip(np.arange(c0, c0 + w), 0, width - 1)
    return image[np.ix_(rows, cols)]


def resample(crop: np.ndarray, res: int) -> np.ndarray:
    """A square crop (S, S, C) at ``res x res``: area averaging down, bilinear up (see the module docstring)."""
    import cv2

    side = crop.shape[0]
    if side == res:
        return crop
    interp = cv2.INTER_AREA if side > res else cv2.INTER_LINEAR
    return cv2.resize(crop, (res, res), interpolation=interp)
