"""The CPM trunk: shapes, stage wiring, light variant."""

import pytest
import torch

from facebench.nn.blocks import count_parameters
from facebench.nn.cpm import CPMTrunk


@pytest.mark.parametrize("stages, size", [(1, 64), (6, 128)])
def test_output_per_stage_at_quarter_size(stages, size):
    torch.manual_seed(0)
    out = CPMTrunk(num_points=5, width=8, depth=3, stages=stages)(torch.rand(2, 3, size, size) - 0.5)
    assert isinstance(out, tuple) and len(out) == stages
    assert all(o.shape == (2, 5, size // 4, size // 4) for o in out)


def test_later_stages_see_the_previous_heatmaps():
    torch.manual_seed(0)
    trunk = CPMTrunk(num_points=3, width=8, depth=0, stages=3).eval()
    x = torch.rand(1, 3, 64, 64) - 0.5
    before = trunk(x)
    with torch.no_grad():
        trunk.stages[0].head.bias.add_(1.0)  # changes stage 1's heatmaps only
    after = trunk(x)
    assert torch.allclose(before[0] + 1.0, after[0], atol=1e-5)
    assert not torch.allclose(before[1], after[1]) and not torch.allclose(before[2], after[2])


def test_light_variant_is_smaller_and_depth_is_not_used():
    regular = count_parameters(CPMTrunk(10, 32, depth=2, stages=2))
    assert count_parameters(CPMTrunk(10, 32, depth=4, stages=2)) == regular
    assert count_parameters(CPMTrunk(10, 32, depth=2, stages=2, light=True)) < regular / 2


def test_gradients_reach_the_shared_features():
    torch.manual_seed(0)
    trunk = CPMTrunk(num_points=3, width=8, depth=0, stages=2)
    trunk(torch.rand(2, 3, 64, 64) - 0.5)[-1].square().mean().backward()
    assert trunk.features[0][0].weight.grad.abs().sum() > 0
