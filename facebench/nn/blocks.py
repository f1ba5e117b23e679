"""Residual building blocks of the hourglass networks, regular and depthwise-separable ("light").

The block is Newell et al.'s pre-activation bottleneck ("Stacked Hourglass Networks for Human Pose
Estimation", ECCV 2016): BN-ReLU-conv1x1 (out/2), BN-ReLU-conv3x3 (out/2), BN-ReLU-conv1x1 (out),
plus the input (through a 1x1 convolution when the channel counts differ). The light variant of
Chandran et al. (CVPR 2020, section 3.4) makes the 3x3 convolution depthwise-separable: a
depthwise 3x3 followed by a pointwise 1x1.
"""

from __future__ import annotations

from typing import Callable

from torch import Tensor, nn

BlockFactory = Callable[[int, int], nn.Module]  # (in_ch, out_ch) -> module, same spatial size


def conv3x3(in_ch: int, out_ch: int, light: bool = False) -> nn.Module:
    """A 3x3 'same' convolution; ``light`` makes it depthwise (3x3 per channel) + pointwise (1x1)."""
    if not light:
        return nn.Conv2d(in_ch, out_ch, 3, padding=1)
    return nn.Sequential(
        nn.Conv2d(in_ch, in_ch, 3, padding=1, groups=in_ch),  # depthwise
        nn.Conv2d(in_ch, out_ch, 1),                          # pointwise
    )


class ResidualBlock(nn.Module):
    """Pre-activation bottleneck residual block: (B, in_ch, H, W) -> (B, out_ch, H, W)."""

    def __init__(self, in_ch: int, out_ch: int, light: bool = False) -> None:
        super().__init__()
        mid = max(1, out_ch // 2)
        self.body = nn.Sequential(
            nn.BatchNorm2d(in_ch), nn.ReLU(inplace=True), nn.Conv2d(in_ch, mid, 1),
            nn.BatchNorm2d(mid), nn.ReLU(inplace=True), conv3x3(mid, mid, light),
            nn.BatchNorm2d(mid), nn.ReLU(inplace=True), nn.Conv2d(mid, out_ch, 1),
        )
        self.skip = nn.Identity() if in_ch == out_ch else nn.Conv2d(in_ch, out_ch, 1)

    def forward(self, x: Tensor) -> Tensor:
        # The body's first ReLU is in place on a BN output, never on x itself, so x stays intact.
        return self.body(x) + self.skip(x)


def glorot_init_(module: nn.Module) -> nn.Module:
    """Glorot / Xavier-uniform initialisation (the paper's [16]) of every convolution, zero biases;
    BatchNorm layers to the identity. Returns ``module`` (modified in place)."""
    for m in module.modules():
        if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear)):
            nn.init.xavier_uniform_(m.weight)
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, nn.BatchNorm2d):
            nn.init.ones_(m.weight)
            nn.init.zeros_(m.bias)
    return module


def count_parameters(module: nn.Module) -> int:
    """Number of trainable parameters."""
    return sum(p.numel() for p in module.parameters() if p.requires_grad)
