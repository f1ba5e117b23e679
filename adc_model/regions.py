"""Attention regions: per-region crop boxes from (coarse) landmarks, their training noise, and the
maps between region crops and the image (paper section 3.2).

A region's box is the square box around its points, grown by ``margin`` of the points' extent on
each edge, at least ``min_side`` pixels, and shifted (not shrunk) into the image. During training
the box's width and height are each scaled by an independent random factor around 1 (the paper
adds normal noise to width and height), so the regional network sees its region at varying
scales and places; the factor is bounded below so that a box built around correct points keeps
them inside. All coordinate arithmetic is ``facebench.core.geometry``'s.
"""

from __future__ import annotations

from typing import Sequence

import torch
from torch import Tensor

from facebench.core import geometry
from facebench.core.schemes import REGION_NAMES, Scheme


def region_indices(scheme: Scheme) -> tuple[tuple[int, ...], ...]:
    """The point ids of each region, in ``REGION_NAMES`` order."""
    return tuple(tuple(scheme.regions[name]) for name in REGION_NAMES)


MAX_JAW_REGIONS = 5   # 17 contour points: at least 3 per part, so each part's box has an extent


def attention_regions(scheme: Scheme, jaw_regions: int = 0) -> tuple[tuple[str, ...], tuple[tuple[int, ...], ...]]:
    """(names, point ids) of the regions a model refines: the paper's four (``REGION_NAMES``) and,
    with ``jaw_regions`` = k > 0, the face contour (the scheme's ``jaw`` group) cut into k runs of
    consecutive points, ``jaw1`` ... ``jawk`` from the first contour point (facebench's extension;
    docs/RESULTS.md)."""
    if not 0 <= jaw_regions <= MAX_JAW_REGIONS:
        raise ValueError(f"jaw_regions must be 0..{MAX_JAW_REGIONS}, got {jaw_regions}")
    names, ids = list(REGION_NAMES), list(region_indices(scheme))
    if jaw_regions:
        jaw = tuple(scheme.groups["jaw"])
        bounds = [round(k * len(jaw) / jaw_regions) for k in range(jaw_regions + 1)]
        names += [f"jaw{k + 1}" for k in range(jaw_regions)]
        ids += [jaw[bounds[k]:bounds[k + 1]] for k in range(jaw_regions)]
    return tuple(names), tuple(ids)


def region_boxes(points: Tensor, regions: Sequence[Sequence[int]], image_size: int, margin: float = 0.25,
                 min_side: float = 0.0, noise: float = 0.0, generator: torch.Generator | None = None,
                 shift: float = 0.0) -> Tensor:
    """Boxes (B, K, 4) in image px around each region's points.

    points: (B, N, 2) image px (differentiable: the boxes carry gradients back to the points).
    regions: K sequences of point ids. image_size: side of the square image the boxes are clipped
    into. margin: fraction of the points' extent added on each edge. min_side: smallest box side
    in px. noise: standard deviation of the relative width / height noise (0 = none, e.g. at test
    time); the scale factor ``1 + noise * eps`` is clamped to ``[1 / (1 + 2 margin), 1 + 4 noise]``
    so the region's own extent always fits in the noisy box. shift: standard deviation of the
    box centre's random move, fraction of the box side per axis (clamped to +-2 shift; the lower
    bound of the scale factor grows by 4 shift so the region still fits).
    """
    boxes = []
    for ids in regions:
        tight = geometry.points_box(points[:, list(ids)])               # (B, 4)
        box = geometry.square_box(tight, margin=margin, min_side=min_side)
        if noise > 0 or shift > 0:
            box = jitter_box(box, noise, min_scale=1.0 / (1.0 + 2.0 * margin) + 4.0 * shift, generator=generator,
                             shift=shift)
        boxes.append(geometry.clip_box(box, image_size, image_size))
    return torch.stack(boxes, dim=1)


def jitter_box(boxes: Tensor, noise: float, min_scale: float, generator: torch.Generator | None = None,
               shift: float = 0.0) -> Tensor:
    """Scale each box's width and height (..., 4) about its centre by independent factors
    ``1 + noise * N(0, 1)``, clamped to ``[min_scale, 1 + 4 noise]``. The factors are constants for
    autograd; gradients still flow to the box. ``shift`` > 0 also moves the centre by
    ``shift * side * N(0, 1)`` per axis, clamped to +-2 shift sides."""
    eps = torch.randn(boxes.shape[:-1] + (2,), generator=generator, dtype=boxes.dtype).to(boxes.device)
    scale = (1.0 + noise * eps).clamp(min=min_scale, max=max(1.0 + 4.0 * noise, min_scale))   # (..., 2) for w, h
    centre = (boxes[..., 0:2] + boxes[..., 2:4]) * 0.5
    if shift > 0:
        move = torch.randn(boxes.shape[:-1] + (2,), generator=generator, dtype=boxes.dtype).to(boxes.device)
        centre = centre + (shift * move).clamp(-2.0 * shift, 2.0 * shift) * (boxes[..., 2:4] - boxes[..., 0:2])
    half = (boxes[..., 2:4] - boxes[..., 0:2]) * 0.5 * scale
    return torch.cat([centre - half, centre + half], dim=-1)


def to_region(points: Tensor, boxes: Tensor, crop: int) -> Tensor:
    """Image px (B, n, 2) -> pixels of the ``crop x crop`` resampling of boxes (B, 4)."""
    return geometry.to_crop(points, boxes, crop)


def from_region(points: Tensor, boxes: Tensor, crop: int) -> Tensor:
    """Inverse of :func:`to_region`: crop px (B, n, 2) -> image px."""
    return geometry.from_crop(points, boxes, crop)


def boxes_contain(points: Tensor, boxes: Tensor) -> Tensor:
    """(B,) bool: whether every point (B, n, 2) lies inside its box (B, 4)."""
    inside = (points >= boxes[:, None, 0:2]) & (points <= boxes[:, None, 2:4])
    return inside.all(dim=-1).all(dim=-1)
