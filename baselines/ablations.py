"""The holistic ablation methods of the paper's Figure 7, ``cpm6`` and ``cnn67``: six-stage trunks
from :mod:`facebench.nn.cpm` and :mod:`facebench.nn.cnn67` behind the holistic heatmap machinery of
:mod:`baselines.holistic` (the same trunks, one stage each, are ADC's ``adc-cpm`` and ``adc-cnn67``)."""

from __future__ import annotations

from typing import ClassVar

from torch import nn

from baselines.holistic import HolisticConfig, HolisticHeatmapMethod
from facebench.nn.cnn67 import CNN67Trunk
from facebench.nn.cpm import CPMTrunk


class CPM6(HolisticHeatmapMethod):
    """Holistic 6-stage convolutional pose machine (the ablation of the paper's Figure 7)."""

    name: ClassVar[str] = "cpm6"
    stages: ClassVar[int] = 6

    @classmethod
    def build_trunk(cls, cfg: HolisticConfig) -> nn.Module:
        return CPMTrunk(cfg.num_points, cfg.width, cfg.depth, stages=cfg.stages)

    @classmethod
    def heads(cls, trunk: nn.Module) -> list[nn.Conv2d]:
        return [stage.head for stage in trunk.stages]


class CNN67(HolisticHeatmapMethod):
    """Holistic 6-stage fully convolutional CNN-6/7 (the ablation of the paper's Figure 7)."""

    name: ClassVar[str] = "cnn67"
    stages: ClassVar[int] = 6

    @classmethod
    def build_trunk(cls, cfg: HolisticConfig) -> nn.Module:
        return CNN67Trunk(cfg.num_points, cfg.width, cfg.depth, stages=cfg.stages)

    @classmethod
    def heads(cls, trunk: nn.Module) -> list[nn.Conv2d]:
        return [stage.head for stage in trunk.stages]
