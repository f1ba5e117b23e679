"""Multi-stage fully convolutional CNN-6/7 (Feng et al., "Wing Loss for Robust Facial Landmark
Localisation with Convolutional Neural Networks", CVPR 2018), as in the ablation of Chandran et
al. (section 4.5): the last fully connected layer is discarded to keep the network fully
convolutional, and stages are appended that each take the image features and the previous
stage's heatmaps.

``CNN67Trunk`` has the trunk contract of ``facebench.nn.hourglass``: (B, 3, S, S) float in
[-0.5, 0.5] -> tuple of ``stages`` logit tensors (B, N, S/4, S/4). ``cnn67`` is the holistic
6-stage method; ADC's ``adc-cnn67`` puts ``CNN67Trunk(.., stages=1)`` in place of each hourglass.

Architecture (``w`` = ``width``; every convolution is 3x3 + BN + ReLU, CNN-6/7's unit):

- features (shared): CNN-6/7's first two conv + max-pool layers (w/4, w/2 channels) and a third
  conv (w) -> (B, w, S/4, S/4).
- every stage, on the features (stage 1) or features + previous heatmaps (stages 2..):
  ``depth`` conv + max-pool layers with channels doubling from w (CNN-6/7 doubles 32 -> 512),
  capped at 2w; CNN-6/7's first fully connected layer as a 1x1 convolution (w channels); then,
  in place of the discarded output layer that regressed coordinates, the coarse map is upsampled
  (bilinear) to S/4, concatenated with the stage's input, fused by one conv and mapped to N
  logits by a 1x1 convolution. Without that fusion the heatmaps would be S/(4 * 2**depth)
  coarse maps upsampled, whose argmax cannot land between the coarse grid's nodes.
- ``light=True`` makes every 3x3 convolution depthwise-separable. Glorot initialisation.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from facebench.nn.blocks import glorot_init_
from facebench.nn.cpm import conv_bn_relu


class CNN67Stage(nn.Module):
    """(B, in_ch, h, w) -> (B, N, h, w) logits; h and w need not be divisible by 2**depth."""

    def __init__(self, in_ch: int, width: int, depth: int, num_points: int, light: bool = False) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        ch = in_ch
        for i in range(depth):
            out = min(2 * width, width * 2**i)
            layers += [conv_bn_relu(ch, out, 3, light), nn.MaxPool2d(2)]
            ch = out
        self.encoder = nn.Sequential(*layers)
        self.fc = conv_bn_relu(ch, width, 1)             # CNN-6/7's first FC layer, per location
        self.fuse = conv_bn_relu(width + in_ch, width, 3, light)
        self.head = nn.Conv2d(width, num_points, 1)

    def forward(self, x: Tensor) -> Tensor:
        coarse = self.fc(self.encoder(x))  # (B, w, h / 2**depth, w / 2**depth)
        up = F.interpolate(coarse, size=x.shape[-2:], mode="bilinear", align_corners=False)
        return self.head(self.fuse(torch.cat([up, x], dim=1)))  # (B, N, h, w)


class CNN67Trunk(nn.Module):
    """Multi-stage CNN-6/7: (B, 3, S, S) -> tuple of ``stages`` (B, N, S/4, S/4) heatmap logits."""

    def __init__(self, num_points: int, width: int, depth: int, stages: int = 6, light: bool = False) -> None:
        super().__init__()
        if stages < 1 or width < 4 or depth < 0:
            raise ValueError(f"CNN67Trunk needs stages >= 1, width >= 4, depth >= 0; got {stages}, {width}, {depth}")
        self.features = nn.Sequential(
            conv_bn_relu(3, width // 4, 3, light), nn.MaxPool2d(2),
            conv_bn_relu(width // 4, width // 2, 3, light), nn.MaxPool2d(2),
            conv_bn_relu(width // 2, width, 3, light),
        )
        self.stages = nn.ModuleList(
            CNN67Stage(width if i == 0 else width + num_points, width, depth, num_points, light)
            for i in range(stages))
        glorot_init_(self)

    def forward(self, x: Tensor) -> tuple[Tensor, ...]:
        feats = self.features(x)  # (B, w, S/4, S/4)
        outputs = [self.stages[0](feats)]
        for stage in self.stages[1:]:
            outputs.append(stage(torch.cat([feats, outputs[-1]], dim=1)))  # (B, N, S/4, S/4)
        return tuple(outputs)
