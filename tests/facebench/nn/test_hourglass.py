import pytest
import torch

from facebench.nn.blocks import ResidualBlock, count_parameters
from facebench.nn.hourglass import Hourglass, StackedHourglass


def test_hourglass_keeps_spatial_size():
    hg = Hourglass(depth=3, width=8, block=ResidualBlock)
    assert hg(torch.randn(1, 8, 16, 16)).shape == (1, 8, 16, 16)


@pytest.mark.parametrize("stacks", [1, 2])
def test_stacked_hourglass_returns_one_quarter_size_logits_per_stack(stacks):
    net = StackedHourglass(num_points=5, width=8, depth=2, stacks=stacks)
    out = net(torch.randn(2, 3, 64, 64))
    assert isinstance(out, tuple) and len(out) == stacks
    assert all(o.shape == (2, 5, 16, 16) for o in out)


def test_light_and_custom_block_and_input_channels():
    regular = StackedHourglass(num_points=5, width=32, depth=2)
    light = StackedHourglass(num_points=5, width=32, depth=2, light=True)
    assert count_parameters(light) < 0.6 * count_parameters(regular)
    made = []

    def block(i, o):
        made.append((i, o))
        return ResidualBlock(i, o)

    net = StackedHourglass(num_points=5, width=8, depth=1, block=block, in_channels=4)
    assert made and net(torch.randn(1, 4, 32, 32))[0].shape == (1, 5, 8, 8)


def test_stacks_must_be_positive():
    with pytest.raises(ValueError):
        StackedHourglass(5, 8, 2, stacks=0)
