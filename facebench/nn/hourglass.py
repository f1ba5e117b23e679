"""Hourglass module and stacked hourglass trunk (Newell et al., "Stacked Hourglass Networks for
Human Pose Estimation", ECCV 2016), the building block of ADC's global and regional networks and
of the holistic hourglass baselines.

A *trunk* maps an image (B, C, S, S) to a tuple of heatmap logits (B, N, S/4, S/4), one per stack
(the last one is the final prediction). ADC turns the logits into latent heatmaps with a spatial
softmax (``adc_model.ops``); the holistic baselines regress Gaussian heatmaps on them.
"""

from __future__ import annotations

from functools import partial

import torch.nn.functional as F
from torch import Tensor, nn

from facebench.nn.blocks import BlockFactory, ResidualBlock


class Hourglass(nn.Module):
    """One recursive hourglass: (B, width, H, W) -> (B, width, H, W), H and W divisible by 2**depth.

    At every level the input goes through a residual block at full size (``skip``) and, in
    parallel, is max-pooled, processed one level deeper and upsampled (nearest) back; the two
    are added.
    """

    def __init__(self, depth: int, width: int, block: BlockFactory) -> None:
        super().__init__()
        if depth < 1:
            raise ValueError(f"hourglass depth must be >= 1, got {depth}")
        self.depth = depth
        self.skip = block(width, width)
        self.down = block(width, width)
        self.inner = Hourglass(depth - 1, width, block) if depth > 1 else block(width, width)
        self.up = block(width, width)

    def forward(self, x: Tensor) -> Tensor:
        low = self.up(self.inner(self.down(F.max_pool2d(x, 2))))  # (B, width, H/2, W/2)
        return self.skip(x) + F.interpolate(low, scale_factor=2.0, mode="nearest")


class StackedHourglass(nn.Module):
    """Stem + ``stacks`` hourglasses with intermediate heads and re-injection.

    ``forward(x: (B, in_channels, S, S) float) -> tuple`` of ``stacks`` heatmap-logit tensors
    (B, num_points, S/4, S/4); S must be divisible by 4 * 2**depth.
    ``block=None`` uses :class:`ResidualBlock` (depthwise-separable 3x3s when ``light``).
    """

    def __init__(self, num_points: int, width: int, depth: int, stacks: int = 1, light: bool = False,
                 block: BlockFactory | None = None, in_channels: int = 3) -> None:
        super().__init__()
        if stacks < 1:
            raise ValueError(f"stacks must be >= 1, got {stacks}")
        block = block if block is not None else partial(ResidualBlock, light=light)
        half = max(1, width // 2)
        self.num_points, self.depth, self.stacks = num_points, depth, stacks
        # Stem: S -> S/2 (strided 7x7) -> S/4 (max-pool), as in Newell et al.
        self.stem = nn.Sequential(
            nn.Conv2d(in_channels, half, 7, stride=2, padding=3), nn.BatchNorm2d(half), nn.ReLU(inplace=True),
            block(half, width), nn.MaxPool2d(2), block(width, width),
        )
        self.hourglasses = nn.ModuleList(Hourglass(depth, width, block) for _ in range(stacks))
        self.features = nn.ModuleList(
            nn.Sequential(block(width, width), nn.Conv2d(width, width, 1), nn.BatchNorm2d(width), nn.ReLU(inplace=True))
            for _ in range(stacks)
        )
        self.heads = nn.ModuleList(nn.Conv2d(width, num_points, 1) for _ in range(stacks))
        # Re-injection of each intermediate stack's features and predictions into the next one.
        self.merge_features = nn.ModuleList(nn.Conv2d(width, width, 1) for _ in range(stacks - 1))
        self.merge_heads = nn.ModuleList(nn.Conv2d(num_points, width, 1) for _ in range(stacks - 1))

    def forward(self, x: Tensor) -> tuple[Tensor, ...]:
        x = self.stem(x)  # (B, width, S/4, S/4)
        outputs = []
        for i in range(self.stacks):
            feat = self.features[i](self.hourglasses[i](x))
            logits = self.heads[i](feat)  # (B, N, S/4, S/4)
            outputs.append(logits)
            if i < self.stacks - 1:
                x = x + self.merge_features[i](feat) + self.merge_heads[i](logits)
        return tuple(outputs)
