import torch
from torch import nn

from facebench.nn.blocks import ResidualBlock, conv3x3, count_parameters, glorot_init_


def test_residual_block_shapes_and_skip():
    x = torch.randn(2, 8, 12, 12)
    same = ResidualBlock(8, 8)
    assert isinstance(same.skip, nn.Identity) and same(x).shape == (2, 8, 12, 12)
    wider = ResidualBlock(8, 16)
    assert isinstance(wider.skip, nn.Conv2d) and wider(x).shape == (2, 16, 12, 12)


def test_light_block_uses_depthwise_separable_3x3_and_has_fewer_weights():
    light = conv3x3(16, 16, light=True)
    depthwise, pointwise = light[0], light[1]
    assert depthwise.groups == 16 and depthwise.kernel_size == (3, 3) and pointwise.kernel_size == (1, 1)
    # 3x3 on 16 -> 16: 16*16*9 + 16 weights; depthwise-separable: 16*9 + 16 + 16*16 + 16.
    assert count_parameters(conv3x3(16, 16)) == 2320
    assert count_parameters(light) == 432
    assert count_parameters(ResidualBlock(64, 64, light=True)) < count_parameters(ResidualBlock(64, 64)) / 2


def test_block_does_not_modify_its_input():
    x = torch.randn(1, 4, 6, 6)
    before = x.clone()
    ResidualBlock(4, 4)(x)
    assert torch.equal(x, before)


def test_glorot_init_zero_biases_and_variance():
    torch.manual_seed(0)
    conv = nn.Conv2d(64, 64, 3)
    glorot_init_(conv)
    assert torch.count_nonzero(conv.bias) == 0
    fan_in = fan_out = 64 * 9
    # Xavier-uniform bound is sqrt(6 / (fan_in + fan_out)); the weights fill that interval.
    bound = (6 / (fan_in + fan_out)) ** 0.5
    assert conv.weight.abs().max() <= bound and conv.weight.abs().max() > 0.95 * bound
