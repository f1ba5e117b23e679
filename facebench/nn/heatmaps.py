"""Gaussian heatmap targets and argmax decoding for the holistic heatmap-regression baselines.

The holistic networks (``hg2``, ``fan4``, ``cpm6``, ``cnn67``) see a 256 x 256 crop and output one
64 x 64 map per landmark (a quarter of the input side). They are trained to regress Gaussian
"blobs" (Newell et al. 2016; Bulat & Tzimiropoulos 2017) and decoded by argmax:

- **Targets.** ``exp(-d^2 / (2 sigma^2))`` with peak 1, ``d`` the distance from the pixel centre to
  the landmark in heatmap pixels. ``sigma = 1.75`` heatmap pixels (= 7 px of the 256 input): the
  reference implementations (Newell's pose-hg-train ``drawGaussian``, 1adrianb/face-alignment's
  ``draw_gaussian``) call their parameter sigma = 1 but draw ``image.gaussian(6 sigma + 1)``, whose
  standard deviation is 0.25 of the 7-pixel kernel, i.e. 1.75 px; their 7 x 7 truncation and
  rounding of the centre to a pixel are not copied. (facebench used std 1 until issue 13: the
  sparser target left the jaw's heatmaps near zero even on the training set.) Centres are sub-pixel:
  ``geometry.rescale_points(landmarks_256, 256, 64)``, pixel centres at integers.
- **Decoding.** The argmax pixel, moved 0.25 px toward the higher of its two neighbours in x and in
  y (no move on a tie or at the border), then ``geometry.rescale_points(.., 64, 256)``. For a
  clean Gaussian this leaves at most 0.25 heatmap px (1 px at 256) of error per axis.

Everything works on torch tensors with shapes ``(B, N, 2)`` for points (x, y) and
``(B, N, H, W)`` for heatmaps.
"""

from __future__ import annotations

import torch
from torch import Tensor

from facebench.core import geometry

SIGMA = 1.75          # Gaussian standard deviation, heatmap pixels (the reference's 7-px kernel, see above)
QUARTER_SHIFT = 0.25  # sub-pixel step toward the higher neighbour, heatmap pixels


def render_gaussians(centres: Tensor, height: int, width: int, sigma: float = SIGMA) -> Tensor:
    """centres (B, N, 2) (x, y) in heatmap px -> (B, N, height, width) Gaussians with peak 1.

    Pixel (row i, column j) has its centre at (x=j, y=i). A centre outside the map gives a map
    that is zero or shows only the Gaussian's tail, which is the right target for it.
    """
    xs = torch.arange(width, dtype=centres.dtype, device=centres.device)   # (W,)
    ys = torch.arange(height, dtype=centres.dtype, device=centres.device)  # (H,)
    # The Gaussian is separable: exp(-(dx^2 + dy^2) / 2s^2) = gx * gy.
    gx = torch.exp(-((xs - centres[..., 0:1]) ** 2) / (2.0 * sigma**2))  # (B, N, W)
    gy = torch.exp(-((ys - centres[..., 1:2]) ** 2) / (2.0 * sigma**2))  # (B, N, H)
    return gy[..., :, None] * gx[..., None, :]


def heatmap_targets(landmarks: Tensor, image_size: int, heatmap_size: int, sigma: float = SIGMA) -> Tensor:
    """landmarks (B, N, 2) in px of an ``image_size`` square image -> (B, N, h, h) Gaussian
    targets on the ``heatmap_size`` grid (the same crop, resampled)."""
    centres = geometry.rescale_points(landmarks, image_size, heatmap_size)
    return render_gaussians(centres, heatmap_size, heatmap_size, sigma)


def argmax_decode(heatmaps: Tensor) -> Tensor:
    """heatmaps (B, N, H, W) -> (B, N, 2) (x, y) in heatmap px: argmax + quarter-pixel shift
    toward the higher neighbour along each axis."""
    b, n, h, w = heatmaps.shape
    flat = heatmaps.reshape(b, n, h * w)
    idx = flat.argmax(dim=-1)  # (B, N)
    px, py = idx % w, torch.div(idx, w, rounding_mode="floor")

    def value(x: Tensor, y: Tensor) -> Tensor:
        """Heatmap value at integer (x, y) (B, N), clamped inside the map."""
        return flat.gather(-1, (y.clamp(0, h - 1) * w + x.clamp(0, w - 1)).unsqueeze(-1)).squeeze(-1)

    # Neighbour differences; at the border the missing neighbour is replaced by the peak itself,
    # so the difference is not taken there.
    inside_x = (px > 0) & (px < w - 1)
    inside_y = (py > 0) & (py < h - 1)
    dx = torch.where(inside_x, value(px + 1, py) - value(px - 1, py), torch.zeros_like(flat[..., 0]))
    dy = torch.where(inside_y, value(px, py + 1) - value(px, py - 1), torch.zeros_like(flat[..., 0]))
    x = px.to(heatmaps.dtype) + QUARTER_SHIFT * torch.sign(dx)
    y = py.to(heatmaps.dtype) + QUARTER_SHIFT * torch.sign(dy)
    return torch.stack([x, y], dim=-1)


def decode_to_image(heatmaps: Tensor, image_size: int) -> Tensor:
    """heatmaps (B, N, h, h) of an ``image_size`` square input -> (B, N, 2) landmarks in that
    input's px (argmax decoding, then the heatmap -> image resampling map of geometry.py)."""
    return geometry.rescale_points(argmax_decode(heatmaps), heatmaps.shape[-1], image_size)
