"""The fully convolutional multi-stage CNN-6/7 trunk."""

import pytest
import torch

from facebench.nn.blocks import count_parameters
from facebench.nn.cnn67 import CNN67Trunk


@pytest.mark.parametrize("stages, size, depth", [(1, 64, 2), (6, 128, 3), (2, 72, 3)])
def test_output_per_stage_at_quarter_size(stages, size, depth):
    torch.manual_seed(0)
    out = CNN67Trunk(num_points=5, width=8, depth=depth, stages=stages)(torch.rand(2, 3, size, size) - 0.5)
    assert isinstance(out, tuple) and len(out) == stages
    assert all(o.shape == (2, 5, size // 4, size // 4) for o in out)


def test_channels_double_per_pooling_up_to_twice_the_width():
    trunk = CNN67Trunk(num_points=5, width=8, depth=4, stages=1)
    convs = [m[0].out_channels for m in trunk.stages[0].encoder if isinstance(m, torch.nn.Sequential)]
    assert convs == [8, 16, 16, 16]


def test_later_stages_see_the_previous_heatmaps():
    torch.manual_seed(0)
    trunk = CNN67Trunk(num_points=3, width=8, depth=2, stages=2).eval()
    x = torch.rand(1, 3, 64, 64) - 0.5
    before = trunk(x)
    with torch.no_grad():
        trunk.stages[0].head.bias.add_(1.0)
    after = trunk(x)
    assert torch.allclose(before[0] + 1.0, after[0], atol=1e-5)
    assert not torch.allclose(before[1], after[1])


def test_light_variant_is_smaller():
    assert count_parameters(CNN67Trunk(10, 32, 3, 2, light=True)) < count_parameters(CNN67Trunk(10, 32, 3, 2)) / 2
