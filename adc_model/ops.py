"""Differentiable operations of the attention-driven network: spatial softmax, soft-argmax
(Iqbal et al.'s integral regression, the paper's [19]) and the RoI crop (RoIAlign, He et al., the
paper's [17]) that lets gradients reach the crop boxes.

Coordinates follow facebench's convention (``facebench/core/geometry.py``): (x, y), pixel centres at
integer coordinates. A heatmap of h x w pixels has its pixel centres at x = 0 .. w-1, y = 0 .. h-1.
"""

from __future__ import annotations

import math
from typing import NamedTuple, Sequence

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

from facebench.core import geometry
from facebench.core.tiled import ImageSource, PyramidImage


def spatial_softmax2d(logits: Tensor) -> Tensor:
    """Channel-wise softmax over the spatial positions: (B, N, H, W) -> (B, N, H, W), each
    channel summing to 1 (a probability distribution over the landmark's pixel)."""
    b, n, h, w = logits.shape
    return torch.softmax(logits.reshape(b, n, h * w), dim=-1).reshape(b, n, h, w)


def soft_argmax2d(heatmaps: Tensor) -> Tensor:
    """Expected pixel-centre position under each heatmap: (B, N, H, W) probabilities -> (B, N, 2)
    as (x, y) in heatmap pixels (pixel centres at integers, so a one-hot heatmap gives its peak)."""
    _, _, h, w = heatmaps.shape
    xs = torch.arange(w, dtype=heatmaps.dtype, device=heatmaps.device)
    ys = torch.arange(h, dtype=heatmaps.dtype, device=heatmaps.device)
    x = (heatmaps.sum(dim=-2) * xs).sum(dim=-1)  # marginal over rows, then E[x]
    y = (heatmaps.sum(dim=-1) * ys).sum(dim=-1)
    return torch.stack([x, y], dim=-1)


# A box read from a pyramid is read at the coarsest level where it still spans this many level
# pixels per crop pixel; RoIAlign then takes k = ceil(side / size) >= 1 samples per crop pixel and
# axis there, and the level's pixels are themselves area averages of the R image. Measured on a
# prepared 4096 face (eye boxes of 450-1400 px cropped to 128): mean difference from the exact area
# average of the 4096 pixels 0.41-0.79 grey levels at 1, 0.18-0.41 at 1.5, 0.13-0.26 at 2 (reading
# the 4096 level itself: 0.001-0.024); 1 decodes and samples 2-4x less than 1.5-2 (ADC training at
# 4096 with 128 px crops: 0.81-0.85x the samples/s at 256, against 0.59-0.68x at 1.5; BENCHMARKS.md).
LEVEL_DETAIL = 1.0


def subsamples_for(side: float, size: int, max_subsamples: int = 0) -> int:
    """Samples per output pixel and axis, ``k = ceil(side / size)`` (at least 1): enough that every
    source pixel under a shrinking crop contributes (no aliasing). ``max_subsamples`` > 0 caps k
    (models saved before the cap was lifted keep their 8); 0, the default, lets k grow with the
    box. The cost stays bounded by the box: ``(k * size)^2 < (side + size)^2`` samples, i.e. about
    one bilinear sample per source pixel under the box, never more than the image has."""
    k = max(1, math.ceil(side / size - 1e-9))
    return int(min(k, max_subsamples) if max_subsamples > 0 else k)


def _window(box: Tensor, height: int, width: int) -> tuple[int, int, int, int]:
    """Integer rows/cols [r0, r1) x [c0, c1) that bilinear sampling inside ``box`` (4,) can touch:
    for x in [x1, x2] it reads columns floor(x) and floor(x) + 1. Clipped to the image."""
    x1, y1, x2, y2 = (float(v) for v in box)
    c0 = min(max(0, math.floor(x1)), width - 1)
    r0 = min(max(0, math.floor(y1)), height - 1)
    c1 = max(min(width, math.floor(x2) + 2), c0 + 1)
    r1 = max(min(height, math.floor(y2) + 2), r0 + 1)
    return r0, r1, c0, c1


def image_size(image: Tensor | ImageSource) -> tuple[int, int]:
    """(height, width) of an image tensor (C, H, W) or an image source (facebench/core/tiled.py)."""
    if isinstance(image, Tensor):
        return int(image.shape[-2]), int(image.shape[-1])
    return image.height, image.width


def batch_side(images: Tensor | Sequence[ImageSource]) -> int:
    """The side R of a batch of square images: a tensor (B, C, R, R) or B image sources."""
    return int(images.shape[-1]) if isinstance(images, Tensor) else image_size(images[0])[1]


def read_window(image: Tensor | ImageSource, r0: int, r1: int, c0: int, c1: int) -> Tensor:
    """Rows [r0, r1) x columns [c0, c1) of an image tensor (a view) or an image source (only the
    tiles under the window are decoded) -> (C, h, w), uint8 for sources."""
    if isinstance(image, Tensor):
        return image[:, r0:r1, c0:c1]
    return torch.from_numpy(np.ascontiguousarray(image.read(r0, r1, c0, c1))).permute(2, 0, 1)


def roi_crop(image: Tensor | ImageSource, boxes: Tensor, size: int, max_subsamples: int = 0,
             affine: Tensor | None = None) -> Tensor:
    """Crop boxes out of one image and resample each to ``size x size``, differentiably w.r.t. the
    boxes (and a float image).

    image: (C, H, W), uint8 or float, left where it is (typically the host: a 4K image is never
    converted to float as a whole), or an image source (:mod:`facebench.core.tiled`: a tiled file
    of which only the tiles under the boxes are decoded). boxes: (K, 4) (x1, y1, x2, y2) image px,
    any device, may require grad. Returns (K, C, size, size) in ``boxes.dtype`` on ``boxes.device``,
    values in the image's range (0 .. 255 for uint8).

    Output pixel (i, j) is the mean of k x k bilinear samples spread uniformly over the part of
    the box it covers (RoIAlign), with ``k = subsamples_for(box side, size)``: the k*size sample
    positions are the pixel centres of the box resampled to ``k*size``, i.e. ``geometry.from_crop``
    of that grid. Samples outside the image replicate its border (as ``facebench prepare`` pads).
    An axis-aligned box is separable: each output pixel is a weighted sum over at most 2k rows and
    2k columns of the window, computed as two gathers (:func:`_separable_crop`), about 2k * size
    multiplications per window column instead of the (k * size)^2 bilinear samples of a 2-D grid.
    Only the integer pixel window under each box is read and converted to float, one box at a time.

    ``affine`` (2, 3), optional: the boxes are in an augmented frame and this matrix maps its px to
    the image's px (the training recipe's similarity transform, facebench/nn/augment_recipe.py). It is
    composed into the sampling, so the image itself is never warped. A rotated box is not
    separable: it is cropped in two resamplings (:func:`_rotated_crop`), the axis-aligned bounding
    box of the mapped box by the exact separable RoIAlign at the box's own pixel size, then the
    rotation by one bilinear sample per output pixel from that small crop (a kernel about a quarter
    of an output pixel wider than RoIAlign's; the training recipe blurs the crops by 0.4-1.5 output
    px besides: docs/design.md, "The RoI crop"). Its cost is that of the crop, as for an
    axis-aligned box, not that of a grid over the source window.

    A :class:`~facebench.core.tiled.PyramidImage` (a prepared sample with its lower levels) is read
    at the coarsest level where the box still spans ``LEVEL_DETAIL`` pixels per output pixel: the same area
    average, computed by ``prepare`` already, so the pixels decoded and sampled per box are bounded
    by the crop size at any R.
    """
    if boxes.dim() != 2 or boxes.shape[-1] != 4 or (isinstance(image, Tensor) and image.dim() != 3):
        shape = tuple(image.shape) if isinstance(image, Tensor) else type(image).__name__
        raise ValueError(f"expected image (C, H, W) and boxes (K, 4), got {shape}, {tuple(boxes.shape)}")
    dtype = boxes.dtype if boxes.is_floating_point() else torch.float32
    host = image.device if isinstance(image, Tensor) else torch.device("cpu")
    host_boxes = boxes.to(host, dtype)  # differentiable transfer
    host_affine = None if affine is None else affine.to(host, dtype)
    plans = [_plan(image, box, size, max_subsamples, host_affine) for box in host_boxes]
    for source in {id(p.source): p.source for p in plans if not isinstance(p.source, Tensor)}.values():
        source.prefetch([p.window for p in plans if p.source is source])   # every tile the boxes need, at once
    crops = []
    for p in plans:
        window = read_window(p.source, *p.window)
        if p.affine is None:
            crops.append(_separable_crop(window, p.box, p.window[0], p.window[2], *image_size(p.source), size, p.k))
        else:
            crops.append(_rotated_crop(window, p.box, p.window[0], p.window[2], *image_size(p.source), size,
                                       p.affine, max_subsamples))
    return torch.cat(crops).to(boxes.device)


class _CropPlan(NamedTuple):
    source: Tensor | ImageSource          # what the window is read from (a pyramid's level)
    box: Tensor                           # (4,), in the source's px unless ``affine`` maps it there
    affine: Tensor | None                 # (2, 3) box frame -> source px (None: axis-aligned, box in source px)
    k: int                                # samples per output pixel and axis
    window: tuple[int, int, int, int]     # rows [r0, r1) x cols [c0, c1) of the source the samples read


def prefetch_crops(image: ImageSource, boxes: Tensor, size: int, affine: Tensor | None = None,
                   grow: float = 1.0) -> None:
    """Decode now the tiles that :func:`roi_crop` of ``boxes`` (K, 4) would read, each box grown by
    ``grow`` about its centre (at the pyramid level the box itself would be read from). A training
    DataLoader worker calls it with the boxes it expects (around the ground-truth regions), so the
    step, which reads the boxes the model predicts, finds their tiles decoded: the decoding runs in
    the workers, beside the accelerator, not in the training process."""
    with torch.no_grad():
        boxes = boxes.detach().double()
        matrix = None if affine is None else affine.detach().double()
        plans = [_plan(image, box, size, 0, matrix, grow) for box in boxes]
    for source in {id(p.source): p.source for p in plans}.values():
        source.prefetch([p.window for p in plans if p.source is source])


def _plan(image: Tensor | ImageSource, box: Tensor, size: int, max_subsamples: int, affine: Tensor | None,
          grow: float = 1.0) -> _CropPlan:
    """Where and how one box (4,) is sampled: the pyramid level (for a :class:`PyramidImage`), the box
    or box-to-level affine map in that level's px, the samples per output pixel and the window
    (of the box grown by ``grow`` about its centre: :func:`prefetch_crops`)."""
    dtype = box.dtype
    matrix = torch.eye(2, 3, dtype=dtype) if affine is None else affine     # box frame -> R px
    fixed = box.detach()
    side = float((fixed[2:] - fixed[:2]).max()) * _linear_scale(matrix)   # in R px
    source: Tensor | ImageSource = image
    if isinstance(image, PyramidImage):   # the coarsest level where the box keeps LEVEL_DETAIL px per output px
        level = image.level_for(side / (LEVEL_DETAIL * size))
        source = image.source(level)
        scale = level / image.res             # R px -> level px: x' = (x + 0.5) * scale - 0.5
        to_level = torch.tensor([[scale, 0.0, 0.5 * scale - 0.5], [0.0, scale, 0.5 * scale - 0.5]], dtype=dtype)
        matrix = torch.cat([to_level[:, :2] @ matrix[:, :2], to_level[:, :2] @ matrix[:, 2:] + to_level[:, 2:]], dim=1)
        side *= scale
    height, width = image_size(source)
    k = subsamples_for(side, size, max_subsamples)
    axis_aligned = bool(matrix[0, 1] == 0 and matrix[1, 0] == 0 and matrix[0, 0] > 0 and matrix[1, 1] > 0)
    if axis_aligned:   # separable: the box itself, mapped (differentiably) into the source's px
        mapped = torch.cat([box[:2] * matrix.diagonal() + matrix[:, 2], box[2:] * matrix.diagonal() + matrix[:, 2]])
        return _CropPlan(source, mapped, None, k, _window(_grown(mapped.detach(), grow), height, width))
    corners = _apply_affine(_corners(_grown(fixed, grow)), matrix)
    return _CropPlan(source, box, matrix, k, _window(geometry.points_box(corners), height, width))


def _linear_scale(matrix: Tensor) -> float:
    """sqrt |det| of a (2, 3) affine map's linear part: its area scale's square root (a 2 x 2
    determinant by hand: torch's ``det`` costs a LAPACK call per box)."""
    (a, b), (c, d) = matrix[:, :2].detach().tolist()
    return abs(a * d - b * c) ** 0.5


def _grown(box: Tensor, grow: float) -> Tensor:
    """A box (4,) scaled by ``grow`` about its centre."""
    if grow == 1.0:
        return box
    centre, half = (box[:2] + box[2:]) * 0.5, (box[2:] - box[:2]) * 0.5 * grow
    return torch.cat([centre - half, centre + half])


def _corners(box: Tensor) -> Tensor:
    """The four corners (4, 2) of a box (4,)."""
    x1, y1, x2, y2 = box.unbind(-1)
    return torch.stack([torch.stack([x1, y1]), torch.stack([x2, y1]), torch.stack([x1, y2]), torch.stack([x2, y2])])


def _apply_affine(points: Tensor, affine: Tensor) -> Tensor:
    """Points (..., 2) through a (2, 3) affine matrix."""
    return points @ affine[:, :2].T + affine[:, 2]


def _axis_taps(start: Tensor, extent: Tensor, size: int, k: int, limit: int, offset: int,
               length: int) -> tuple[Tensor, Tensor]:
    """The bilinear taps of one axis of a RoIAlign: for the ``size * k`` sample centres
    ``(t + 0.5) * extent / (size * k) + start`` (image px, clamped to the image: border
    replication), the window indices (size, 2k) of the two pixels each sample reads and their
    weights (size, 2k), each divided by k (the mean over an output pixel's k samples)."""
    t = torch.arange(size * k, dtype=extent.dtype, device=extent.device)
    pos = ((t + 0.5) * (extent / (size * k)) + start).clamp(0.0, limit - 1.0) - offset
    low = pos.detach().floor()
    frac = pos - low
    i0 = low.long().clamp(0, length - 1)
    i1 = (i0 + 1).clamp(max=length - 1)
    index = torch.stack([i0, i1], dim=-1).reshape(size, 2 * k)
    weight = torch.stack([1.0 - frac, frac], dim=-1).reshape(size, 2 * k) / k
    return index, weight


def _separable_crop(window: Tensor, box: Tensor, r0: int, c0: int, height: int, width: int, size: int,
                    k: int) -> Tensor:
    """RoIAlign of an axis-aligned box (4,) from the pixel window (C, h, w) whose top-left pixel is
    image pixel (r0, c0) -> (1, C, size, size): rows first (gather 2k rows per output row, weigh,
    sum), then columns."""
    dtype = box.dtype
    _, h, w = window.shape
    iy, wy = _axis_taps(box[1], box[3] - box[1], size, k, height, r0, h)   # (size, 2k)
    ix, wx = _axis_taps(box[0], box[2] - box[0], size, k, width, c0, w)
    rows = window.index_select(1, iy.reshape(-1)).to(dtype)                  # (C, size * 2k, w)
    rows = (rows.reshape(-1, size, 2 * k, w) * wy[None, :, :, None]).sum(2)  # (C, size, w)
    cols = rows.index_select(2, ix.reshape(-1)).reshape(-1, size, size, 2 * k)
    return (cols * wx[None, None]).sum(-1)[None]                             # (1, C, size, size)


def _rotated_crop(window: Tensor, box: Tensor, r0: int, c0: int, height: int, width: int, size: int,
                  affine: Tensor, max_subsamples: int) -> Tensor:
    """RoIAlign of a box (4,) in the frame ``affine`` maps to the image (rotated, scaled), from the
    pixel window (C, h, w) whose top-left pixel is image pixel (r0, c0) -> (1, C, size, size), in two
    resamplings: the axis-aligned bounding box of the mapped box, cropped by :func:`_separable_crop`
    (exact anti-aliasing) at the resolution the box itself gets (``size`` px across it), then the
    rotation by bilinear sampling of that small crop, one sample per output pixel. Both steps are
    differentiable w.r.t. the box."""
    dtype = box.dtype
    outer = geometry.points_box(_apply_affine(_corners(box), affine))            # (4,) image px
    side = float((box[2:] - box[:2]).detach().max()) * _linear_scale(affine)
    span = float((outer[2:] - outer[:2]).detach().max())
    inner = max(size, math.ceil(size * span / max(side, 1e-6) - 1e-9))           # bounding-crop px
    mid = _separable_crop(window, outer, r0, c0, height, width, inner, subsamples_for(span, inner, max_subsamples))
    centres = torch.arange(size, dtype=dtype, device=window.device)
    grid = torch.stack(torch.meshgrid(centres, centres, indexing="xy"), dim=-1).reshape(-1, 2)  # (size², 2) (x, y)
    # crop px -> box frame (geometry.from_crop) -> image px (affine) -> grid_sample's [-1, 1] over the
    # bounding crop, whose outer pixel edges are ``outer`` (geometry.to_grid_sample), as one 2 x 3 map
    scale = (box[2:] - box[:2]) / size
    to_norm = 2.0 / (outer[2:] - outer[:2])
    linear = to_norm[:, None] * affine[:, :2] * scale[None, :]
    shift = to_norm * (affine[:, :2] @ (0.5 * scale + box[:2]) + affine[:, 2] - outer[:2]) - 1.0
    norm = (grid @ linear.T + shift).reshape(1, size, size, 2)
    return F.grid_sample(mid, norm, mode="bilinear", padding_mode="border", align_corners=False)


def roi_crop_batch(images: Tensor | Sequence[ImageSource], boxes: Tensor, size: int, max_subsamples: int = 0,
                   affine: Tensor | None = None) -> Tensor:
    """:func:`roi_crop` over a batch: images (B, C, H, W) (host, uint8 or float) or B image sources,
    boxes (B, K, 4), optional affine (B, 2, 3) (box frame -> image px) -> (B, K, C, size, size) on
    ``boxes.device``."""
    b, k = boxes.shape[:2]
    out = torch.stack([roi_crop(images[i], boxes[i], size, max_subsamples, None if affine is None else affine[i])
                       for i in range(b)])
    return out.reshape(b, k, out.shape[-3], size, size)
