"""Differentiable operations of the attention-driven network: spatial softmax, soft-argmax
(Iqbal et al.'s integral regression, the paper's [19]) and the RoI crop (RoIAlign, He et al., the
paper's [17]) that lets gradients reach the crop boxes.

Coordinates follow facebench's convention (``facebench/core/geometry.py``): (x, y), pixel centres at
integer coordinates. A heatmap of h x w pixels has its pixel centres at x = 0 .. w-1, y = 0 .. h-1.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor
from torch.utils.checkpoint import checkpoint

from facebench.core import geometry


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


def roi_crop(image: Tensor, boxes: Tensor, size: int, max_subsamples: int = 0,
             affine: Tensor | None = None) -> Tensor:
    """Crop boxes out of one image and resample each to ``size x size``, differentiably w.r.t. the
    boxes (and a float image).

    image: (C, H, W), uint8 or float, left where it is (typically the host: a 4K image is never
    converted to float as a whole). boxes: (K, 4) (x1, y1, x2, y2) image px, any device, may
    require grad. Returns (K, C, size, size) in ``boxes.dtype`` on ``boxes.device``, values in the
    image's range (0 .. 255 for uint8).

    Output pixel (i, j) is the mean of k x k bilinear samples spread uniformly over the part of
    the box it covers (RoIAlign), with ``k = subsamples_for(box side, size)``: the k*size sample
    positions are the pixel centres of the box resampled to ``k*size``, i.e. ``geometry.from_crop``
    of that grid. Samples outside the image replicate its border (as ``facebench prepare`` pads).
    Only the integer pixel window under each box is converted to float, one box at a time, and
    when gradients are needed the sampling is recomputed in backward (activation checkpointing)
    instead of keeping the float window and the sample grid alive.

    ``affine`` (2, 3), optional: the boxes are in an augmented frame and this matrix maps its px to
    the image's px (the training recipe's similarity transform, facebench/nn/augment_recipe.py). It is
    composed into the sample grid, so the image itself is never warped.
    """
    if image.dim() != 3 or boxes.dim() != 2 or boxes.shape[-1] != 4:
        raise ValueError(f"expected image (C, H, W) and boxes (K, 4), got {tuple(image.shape)}, {tuple(boxes.shape)}")
    _, height, width = image.shape
    dtype = boxes.dtype if boxes.is_floating_point() else torch.float32
    host_boxes = boxes.to(image.device, dtype)  # differentiable transfer
    crops = []
    host_affine = None if affine is None else affine.to(image.device, dtype)
    for box in host_boxes:
        fixed = box.detach()
        side = float((fixed[2:] - fixed[:2]).max())
        if host_affine is not None:   # the window under the mapped box; the side in image px
            side *= float(host_affine[:, :2].det().abs().sqrt())
            fixed = geometry.points_box(_apply_affine(_corners(fixed), host_affine))
        k = subsamples_for(side, size, max_subsamples)
        r0, r1, c0, c1 = _window(fixed, height, width)
        window = image[:, r0:r1, c0:c1]  # a view: no copy of the pixels yet
        window_box = torch.tensor([c0 - 0.5, r0 - 0.5, c1 - 0.5, r1 - 0.5], dtype=dtype, device=image.device)
        if torch.is_grad_enabled() and (box.requires_grad or window.requires_grad):
            # Recomputed in backward: autograd keeps only the window view and the box, not the float
            # window and the (size * k)^2 sample grid (~50 MB per region of a 4K image).
            crop = checkpoint(_sample_box, window, box, window_box, size, k, host_affine, use_reentrant=False)
        else:
            crop = _sample_box(window, box, window_box, size, k, host_affine)
        crops.append(crop)
    return torch.cat(crops).to(boxes.device)


def _corners(box: Tensor) -> Tensor:
    """The four corners (4, 2) of a box (4,)."""
    x1, y1, x2, y2 = box.unbind(-1)
    return torch.stack([torch.stack([x1, y1]), torch.stack([x2, y1]), torch.stack([x1, y2]), torch.stack([x2, y2])])


def _apply_affine(points: Tensor, affine: Tensor) -> Tensor:
    """Points (..., 2) through a (2, 3) affine matrix."""
    return points @ affine[:, :2].T + affine[:, 2]


def _sample_box(window: Tensor, box: Tensor, window_box: Tensor, size: int, k: int,
                affine: Tensor | None = None) -> Tensor:
    """RoIAlign of one box (4,) from a pixel window (C, h, w) whose outer edges are ``window_box``
    (image px): the mean of k x k bilinear samples per output pixel -> (1, C, size, size). With
    ``affine`` the box is in another frame and the sample points are mapped to the image by it."""
    dtype = box.dtype
    fine = size * k
    centres = torch.arange(fine, dtype=dtype, device=window.device)
    grid = torch.stack(torch.meshgrid(centres, centres, indexing="xy"), dim=-1).reshape(-1, 2)  # (fine², 2) (x, y)
    points = geometry.from_crop(grid, box, fine)                       # (fine², 2) image px
    if affine is not None:
        points = _apply_affine(points, affine)
    norm = geometry.to_grid_sample(points, window_box).reshape(1, fine, fine, 2)
    sampled = F.grid_sample(window.to(dtype)[None], norm, mode="bilinear", padding_mode="border", align_corners=False)
    return F.avg_pool2d(sampled, k) if k > 1 else sampled             # (1, C, size, size)


def roi_crop_batch(images: Tensor, boxes: Tensor, size: int, max_subsamples: int = 0,
                   affine: Tensor | None = None) -> Tensor:
    """:func:`roi_crop` over a batch: images (B, C, H, W) (host, uint8 or float), boxes (B, K, 4),
    optional affine (B, 2, 3) (box frame -> image px) -> (B, K, C, size, size) on ``boxes.device``."""
    b, k = boxes.shape[:2]
    out = torch.stack([roi_crop(images[i], boxes[i], size, max_subsamples, None if affine is None else affine[i])
                       for i in range(b)])
    return out.reshape(b, k, images.shape[1], size, size)
