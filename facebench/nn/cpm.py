"""Convolutional pose machine (Wei et al., "Convolutional Pose Machines", CVPR 2016; in the form of
Cao et al., "Realtime Multi-Person 2D Pose Estimation using Part Affinity Fields", CVPR 2017):
shared image features, then ``stages`` stages that each map the features (and, from stage 2 on,
the previous stage's heatmaps) to heatmaps; every stage is supervised.

``CPMTrunk`` has the trunk contract of ``facebench.nn.hourglass``: (B, 3, S, S) float in
[-0.5, 0.5] -> tuple of ``stages`` logit tensors (B, N, S/4, S/4). ``cpm6`` is the holistic
6-stage method; ADC's ``adc-cpm`` puts ``CPMTrunk(.., stages=1)`` in place of each hourglass.

Architecture (``w`` = ``width``):

- features: a VGG-style stack (Cao et al. use VGG-19's first 10 layers), cut at stride 4 so the
  heatmaps are S/4 like the hourglass's: conv3x3 w/4 x2, max-pool, conv3x3 w/2 x2, max-pool,
  conv3x3 w x4, then conv3x3 to w/2 (Cao's 256 -> 128 "CPM" layers).
- every stage: five 7x7 convolutions (w/2 channels), a 1x1 convolution (w/2) and a 1x1 to N
  logits (Cao et al.'s refinement stage). Stage 1 uses the same 7x7 body rather than Cao's 3x3
  one: our stride-4 features see 56 px and Cao's body would take stage 1 to 80 px; the 7x7 body
  takes it to 176 px, most of a 256 face crop, as Wei et al.'s large-kernel stage 1 does.
- BatchNorm after every convolution but the last: Wei and Cao start from ImageNet weights, we
  train from scratch (Glorot init), where BN keeps the ~40-layer 6-stage stack trainable.
- ``light=True`` makes every 3x3 and 7x7 convolution depthwise-separable.
- ``depth`` is accepted for the trunk signature and not used: a CPM has no levels.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from facebench.nn.blocks import glorot_init_

STAGE_CONVS = 5    # 7x7 convolutions per stage (Cao et al.)
STAGE_KERNEL = 7


def conv_bn_relu(in_ch: int, out_ch: int, kernel: int, light: bool = False) -> nn.Sequential:
    """'same' conv (depthwise k x k + pointwise 1x1 when ``light`` and k > 1) + BN + ReLU."""
    if light and kernel > 1:
        conv: list[nn.Module] = [nn.Conv2d(in_ch, in_ch, kernel, padding=kernel // 2, groups=in_ch),
                                 nn.Conv2d(in_ch, out_ch, 1)]
    else:
        conv = [nn.Conv2d(in_ch, out_ch, kernel, padding=kernel // 2)]
    return nn.Sequential(*conv, nn.BatchNorm2d(out_ch), nn.ReLU(inplace=True))


class CPMStage(nn.Module):
    """(B, in_ch, h, w) -> (B, N, h, w) logits: 5 x conv7x7, conv1x1, conv1x1 to N."""

    def __init__(self, in_ch: int, channels: int, num_points: int, light: bool = False) -> None:
        super().__init__()
        layers = [conv_bn_relu(in_ch if i == 0 else channels, channels, STAGE_KERNEL, light)
                  for i in range(STAGE_CONVS)]
        self.body = nn.Sequential(*layers, conv_bn_relu(channels, channels, 1))
        self.head = nn.Conv2d(channels, num_points, 1)

    def forward(self, x: Tensor) -> Tensor:
        return self.head(self.body(x))


class CPMTrunk(nn.Module):
    """Multi-stage CPM: (B, 3, S, S) -> tuple of ``stages`` (B, N, S/4, S/4) heatmap logits."""

    def __init__(self, num_points: int, width: int, depth: int, stages: int = 6, light: bool = False) -> None:
        super().__init__()
        if stages < 1 or width < 4:
            raise ValueError(f"CPMTrunk needs stages >= 1 and width >= 4, got stages={stages}, width={width}")
        del depth  # no levels in a CPM (see the module docstring)
        q, h = width // 4, width // 2
        self.features = nn.Sequential(
            conv_bn_relu(3, q, 3, light), conv_bn_relu(q, q, 3, light), nn.MaxPool2d(2),
            conv_bn_relu(q, h, 3, light), conv_bn_relu(h, h, 3, light), nn.MaxPool2d(2),
            conv_bn_relu(h, width, 3, light), *(conv_bn_relu(width, width, 3, light) for _ in range(3)),
            conv_bn_relu(width, h, 3, light),
        )
        self.stages = nn.ModuleList(
            CPMStage(h if i == 0 else h + num_points, h, num_points, light) for i in range(stages))
        glorot_init_(self)

    def forward(self, x: Tensor) -> tuple[Tensor, ...]:
        feats = self.features(x)  # (B, w/2, S/4, S/4)
        outputs = [self.stages[0](feats)]
        for stage in self.stages[1:]:
            outputs.append(stage(torch.cat([feats, outputs[-1]], dim=1)))  # (B, N, S/4, S/4)
        return tuple(outputs)
