"""Holistic stacked hourglasses: ``hg2`` (Newell et al., "Stacked Hourglass Networks for Human Pose
Estimation", ECCV 2016, 2 stacks) and ``fan4`` (Bulat & Tzimiropoulos, "How far are we from
solving the 2D & 3D face alignment problem?", ICCV 2017: 4 stacks built from their hierarchical,
parallel and multi-scale block of "Binarized convolutional landmark localizers", ICCV 2017).

Both use ``facebench.nn.hourglass.StackedHourglass`` (stem S -> S/4, ``preset.width`` features,
``preset.depth`` levels) and are trained at 256 on 64 x 64 Gaussian heatmaps with intermediate
supervision (``baselines.holistic``).
"""

from __future__ import annotations

from typing import ClassVar

import torch
from torch import Tensor, nn

from baselines.holistic import HolisticConfig, HolisticHeatmapMethod
from facebench.nn.blocks import conv3x3
from facebench.nn.hourglass import StackedHourglass


class FANBlock(nn.Module):
    """Bulat & Tzimiropoulos' hierarchical, parallel and multi-scale block:
    (B, in_ch, H, W) -> (B, out_ch, H, W).

    Three chained pre-activation 3x3 convolutions (BN-ReLU-conv) with out/2, out/4 and out/4
    channels; their outputs, which see 3x3, 5x5 and 7x7 neighbourhoods, are concatenated
    (out channels) and added to the input (through BN-ReLU-conv1x1 when the channel counts
    differ), as in FAN's ``ConvBlock``. ``light`` makes the 3x3s depthwise-separable.
    """

    def __init__(self, in_ch: int, out_ch: int, light: bool = False) -> None:
        super().__init__()
        if out_ch < 4:
            raise ValueError(f"FANBlock needs out_ch >= 4 (out/2 + out/4 + out/4), got {out_ch}")
        c1, c2 = out_ch // 2, out_ch // 4
        c3 = out_ch - c1 - c2  # = out/4 when out is divisible by 4; keeps the sum exact otherwise
        self.branch1 = nn.Sequential(nn.BatchNorm2d(in_ch), nn.ReLU(inplace=True), conv3x3(in_ch, c1, light))
        self.branch2 = nn.Sequential(nn.BatchNorm2d(c1), nn.ReLU(inplace=True), conv3x3(c1, c2, light))
        self.branch3 = nn.Sequential(nn.BatchNorm2d(c2), nn.ReLU(inplace=True), conv3x3(c2, c3, light))
        self.skip: nn.Module = (nn.Identity() if in_ch == out_ch else
                                nn.Sequential(nn.BatchNorm2d(in_ch), nn.ReLU(inplace=True),
                                              nn.Conv2d(in_ch, out_ch, 1)))

    def forward(self, x: Tensor) -> Tensor:
        # The first ReLU is in place on a BN output, never on x itself, so the skip sees x intact.
        o1 = self.branch1(x)   # (B, out/2, H, W)
        o2 = self.branch2(o1)  # (B, out/4, H, W)
        o3 = self.branch3(o2)  # (B, out/4, H, W)
        return torch.cat([o1, o2, o3], dim=1) + self.skip(x)


def fan_block(in_ch: int, out_ch: int) -> nn.Module:
    """``BlockFactory`` for ``StackedHourglass(block=...)``: a regular :class:`FANBlock`."""
    return FANBlock(in_ch, out_ch)


class HG2(HolisticHeatmapMethod):
    """Holistic 2-stack hourglass with Newell's bottleneck residual blocks."""

    name: ClassVar[str] = "hg2"
    stages: ClassVar[int] = 2

    @classmethod
    def build_trunk(cls, cfg: HolisticConfig) -> nn.Module:
        return StackedHourglass(cfg.num_points, cfg.width, cfg.depth, stacks=cfg.stages)

    @classmethod
    def heads(cls, trunk: nn.Module) -> list[nn.Conv2d]:
        return list(trunk.heads)


class FAN4(HolisticHeatmapMethod):
    """Holistic 4-stack hourglass with FAN's hierarchical, parallel, multi-scale blocks."""

    name: ClassVar[str] = "fan4"
    stages: ClassVar[int] = 4

    @classmethod
    def build_trunk(cls, cfg: HolisticConfig) -> nn.Module:
        return StackedHourglass(cfg.num_points, cfg.width, cfg.depth, stacks=cfg.stages, block=fan_block)

    @classmethod
    def heads(cls, trunk: nn.Module) -> list[nn.Conv2d]:
        return list(trunk.heads)
