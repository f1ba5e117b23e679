"""THE coordinate convention of facebench, and every function that does arithmetic on coordinates.

Points are (x, y) in pixels, 0-based, with pixel centres at integer coordinates: pixel ``i``
covers the interval ``[i - 0.5, i + 0.5]``. Boxes are ``(x1, y1, x2, y2)`` in that same
continuous frame; a box that covers whole pixels ``i0 .. i0 + L - 1`` is ``(i0 - 0.5, .., i0 + L
- 0.5, ..)``. The whole of an ``R x R`` image is the box ``(-0.5, -0.5, R - 0.5, R - 0.5)``.

Resampling a square crop of side ``R1`` to side ``R2`` maps a point as

    x2 = (x1 + 0.5) * R2 / R1 - 0.5

which is the convention OpenCV's ``resize`` (INTER_AREA, INTER_LINEAR) and PyTorch's
``align_corners=False`` follow. Cropping a box and resampling it to ``S x S`` is the same map with
the box's own origin and side.

Every function here works on NumPy arrays and on torch tensors alike (plain arithmetic only, no
in-place writes), so the model's differentiable crop maps use the same code as the data pipeline.
Arrays have shape ``(..., 2)`` for points and ``(..., 4)`` for boxes.
"""

from __future__ import annotations

import math
from typing import Any, Sequence

import numpy as np

Array = Any  # np.ndarray or torch.Tensor


def _stack(parts: Sequence[Array], like: Array) -> Array:
    """Stack along a new last axis, in torch or NumPy as ``like`` is."""
    if isinstance(like, np.ndarray) or np.isscalar(like):
        return np.stack(parts, axis=-1)
    import torch

    return torch.stack(list(parts), dim=-1)


def rescale_points(points: Array, src: float | Array, dst: float | Array) -> Array:
    """Map points (..., 2) from an image of side ``src`` to the same image resampled to ``dst``.

    ``src`` / ``dst`` are scalars (square images) or broadcastable (..., 2) (width, height) sizes.
    """
    return (points + 0.5) * (dst / src) - 0.5


def rescale_boxes(boxes: Array, src: float | Array, dst: float | Array) -> Array:
    """Map boxes (..., 4) from an image of side ``src`` to its resampled version of side ``dst``."""
    corners = boxes.reshape(*boxes.shape[:-1], 2, 2)
    return rescale_points(corners, src, dst).reshape(boxes.shape)


def to_crop(points: Array, box: Array, size: float) -> Array:
    """Image points (..., N, 2) -> pixels of the crop ``box`` (..., 4) resampled to ``size x size``.

    Boxes may be non-square; each axis is scaled on its own.
    """
    origin, extent = _origin_extent(box)
    return (points - origin) * (size / extent) - 0.5


def from_crop(points: Array, box: Array, size: float) -> Array:
    """Inverse of :func:`to_crop`: crop pixels (..., N, 2) -> image pixels."""
    origin, extent = _origin_extent(box)
    return (points + 0.5) * (extent / size) + origin


def _origin_extent(box: Array) -> tuple[Array, Array]:
    """(..., 1, 2) top-left corner and (..., 1, 2) width/height of boxes (..., 4)."""
    origin = box[..., None, 0:2]
    extent = box[..., None, 2:4] - origin
    return origin, extent


def points_box(points: Array) -> Array:
    """Tight box (..., 4) around points (..., N, 2): the extreme point coordinates."""
    if isinstance(points, np.ndarray):
        return np.concatenate([points.min(axis=-2), points.max(axis=-2)], axis=-1)
    import torch

    return torch.cat([points.amin(dim=-2), points.amax(dim=-2)], dim=-1)


def square_box(box: Array, margin: float = 0.0, min_side: float = 0.0) -> Array:
    """The square box with the same centre as ``box`` whose side is the box's longer side grown by
    ``margin`` of that side on *each* edge, and at least ``min_side``."""
    cx = (box[..., 0] + box[..., 2]) * 0.5
    cy = (box[..., 1] + box[..., 3]) * 0.5
    w = box[..., 2] - box[..., 0]
    h = box[..., 3] - box[..., 1]
    if isinstance(box, np.ndarray):
        side = np.maximum(np.maximum(w, h) * (1.0 + 2.0 * margin), min_side)
    else:
        side = (w.maximum(h) * (1.0 + 2.0 * margin)).clamp(min=min_side)
    half = side * 0.5
    return _stack([cx - half, cy - half, cx + half, cy + half], like=box)


def snap_to_pixels(box: np.ndarray) -> np.ndarray:
    """Move a square box (4,) onto pixel boundaries: a whole number of pixels, same centre (±0.5)."""
    side = max(1, int(round(float(box[2] - box[0]))))
    x1 = math.floor(float(box[0] + box[2]) * 0.5 - side * 0.5 + 0.5) - 0.5
    y1 = math.floor(float(box[1] + box[3]) * 0.5 - side * 0.5 + 0.5) - 0.5
    return np.array([x1, y1, x1 + side, y1 + side], dtype=np.float64)


def pixel_window(box: np.ndarray) -> tuple[int, int, int, int]:
    """Integer pixel window ``(col0, row0, width, height)`` covered by a pixel-aligned box (4,)."""
    c0, r0 = int(round(float(box[0]) + 0.5)), int(round(float(box[1]) + 0.5))
    return c0, r0, int(round(float(box[2] - box[0]))), int(round(float(box[3] - box[1])))


def clip_box(box: Array, width: float, height: float) -> Array:
    """Shift (not shrink) boxes (..., 4) so they lie inside a ``width x height`` image; a box larger
    than the image is centred on it. Keeps the box's size, so a square stays square."""
    w = box[..., 2] - box[..., 0]
    h = box[..., 3] - box[..., 1]
    x1 = _clip_start(box[..., 0], w, width)
    y1 = _clip_start(box[..., 1], h, height)
    return _stack([x1, y1, x1 + w, y1 + h], like=box)


def _clip_start(start: Array, extent: Array, limit: float) -> Array:
    """Start of an interval of ``extent`` moved inside [-0.5, limit - 0.5] (centred if too long)."""
    lo, hi = -0.5, limit - 0.5 - extent
    if isinstance(start, np.ndarray) or np.isscalar(start):
        return np.where(hi < lo, (lo + hi) * 0.5, np.clip(start, lo, np.maximum(hi, lo)))
    import torch

    hi = torch.as_tensor(hi, dtype=start.dtype, device=start.device)
    fitted = torch.minimum(torch.maximum(start, torch.full_like(start, lo)), hi.clamp(min=lo))
    return torch.where(hi < lo, (lo + hi) * 0.5, fitted)


def full_image_box(width: float, height: float | None = None) -> np.ndarray:
    """The box (4,) covering a whole ``width x height`` image."""
    height = width if height is None else height
    return np.array([-0.5, -0.5, width - 0.5, height - 0.5], dtype=np.float64)


def inter_point_distance(points: Array, pair: tuple[int, int]) -> Array:
    """Distance (...,) between two landmarks of points (..., N, 2), e.g. the outer eye corners."""
    d = points[..., pair[0], :] - points[..., pair[1], :]
    return (d[..., 0] ** 2 + d[..., 1] ** 2) ** 0.5


def shrink_square_box(box: Array, margin: float) -> Array:
    """Inverse of :func:`square_box` with ``margin`` for square boxes (..., 4): same centre, side
    divided by ``1 + 2 * margin``. E.g. a prepared crop's whole-image box -> the square landmark
    box it was grown from (up to prepare's snapping to whole pixels, <= 0.5 px per edge)."""
    cx = (box[..., 0] + box[..., 2]) * 0.5
    cy = (box[..., 1] + box[..., 3]) * 0.5
    half_w = (box[..., 2] - box[..., 0]) * (0.5 / (1.0 + 2.0 * margin))
    half_h = (box[..., 3] - box[..., 1]) * (0.5 / (1.0 + 2.0 * margin))
    return _stack([cx - half_w, cy - half_h, cx + half_w, cy + half_h], like=box)


def dlib_rectangle(box: np.ndarray) -> tuple[int, int, int, int]:
    """Box (4,) -> dlib's inclusive integer rectangle ``(left, top, right, bottom)``: the pixels
    whose edges lie nearest the box's edges (dlib's pixel centres are integers, as ours)."""
    return (math.floor(float(box[0]) + 1.0), math.floor(float(box[1]) + 1.0),
            math.floor(float(box[2])), math.floor(float(box[3])))


def box_from_dlib_rectangle(left: int, top: int, right: int, bottom: int) -> np.ndarray:
    """Inverse of :func:`dlib_rectangle`: inclusive pixel rectangle -> continuous box (4,)."""
    return np.array([left - 0.5, top - 0.5, right + 0.5, bottom + 0.5], dtype=np.float64)


def to_grid_sample(points: Array, box: Array) -> Array:
    """Image points (..., N, 2) -> the [-1, 1] frame of torch's ``grid_sample(align_corners=False)``
    over the pixel window ``box`` (..., 4) (the box whose outer edges are the sampled tensor's
    outer pixel edges): the window's left / top edge is -1, its right / bottom edge is +1."""
    origin, extent = _origin_extent(box)
    return (points - origin) * (2.0 / extent) - 1.0


def project_points(points: Array, K: Array, R: Array, t: Array) -> Array:
    """Pinhole projection of world points (..., 3) -> image pixels (..., 2) in the facebench frame.

    ``K`` (3, 3) intrinsics whose principal point ``(K[0, 2], K[1, 2])`` is given in this module's
    pixel convention (pixel centres at integers); ``R`` (3, 3), ``t`` (3,) map world to camera
    coordinates (x right, y down, z forward, OpenCV style): ``X_cam = R @ X_world + t``.
    """
    cam = points @ R.T + t
    x = cam[..., 0] / cam[..., 2]
    y = cam[..., 1] / cam[..., 2]
    return _stack([K[0, 0] * x + K[0, 1] * y + K[0, 2], K[1, 1] * y + K[1, 2]], like=x)


def rescale_intrinsics(K: np.ndarray, src: float, dst: float) -> np.ndarray:
    """Intrinsics (3, 3) of the same camera after its ``src``-sided square image is resampled to
    side ``dst``: focal lengths scale by ``dst / src`` and the principal point maps like any point
    (:func:`rescale_points`)."""
    K2 = np.array(K, dtype=np.float64, copy=True)
    s = dst / src
    K2[0, 0] *= s
    K2[0, 1] *= s
    K2[1, 1] *= s
    K2[0:2, 2] = rescale_points(K2[0:2, 2], src, dst)
    return K2


def calibrated_box(box: Array, offset: tuple[float, float], scale: float) -> Array:
    """The square box (..., 4) whose centre is ``box``'s centre moved by ``offset`` (dx, dy) times
    ``box``'s side and whose side is ``scale`` times that side (the side is the longer of width and
    height). E.g. a face detector's rectangle -> the landmark box it was calibrated to predict."""
    cx = (box[..., 0] + box[..., 2]) * 0.5
    cy = (box[..., 1] + box[..., 3]) * 0.5
    w = box[..., 2] - box[..., 0]
    h = box[..., 3] - box[..., 1]
    side = np.maximum(w, h) if isinstance(box, np.ndarray) else w.maximum(h)
    cx, cy, half = cx + offset[0] * side, cy + offset[1] * side, side * (scale * 0.5)
    return _stack([cx - half, cy - half, cx + half, cy + half], like=box)
