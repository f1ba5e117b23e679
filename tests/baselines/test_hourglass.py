"""FAN's block and the holistic hourglass trunks."""

import pytest
import torch

from baselines.holistic import HolisticConfig
from baselines.hourglass import FAN4, HG2, FANBlock
from facebench.nn.blocks import count_parameters


def test_fan_block_parameter_count_by_hand():
    # BN(8) 16 + conv 8->4 (288+4) + BN(4) 8 + conv 4->2 (72+2) + BN(2) 4 + conv 2->2 (36+2); identity skip
    assert count_parameters(FANBlock(8, 8)) == 16 + 292 + 8 + 74 + 4 + 38


def test_fan_block_concatenates_branches_and_adds_identity_skip():
    torch.manual_seed(0)
    block = FANBlock(8, 8).eval()
    for branch in (block.branch1, block.branch2, block.branch3):
        conv = branch[2]
        torch.nn.init.zeros_(conv.weight)
        torch.nn.init.zeros_(conv.bias)
    x = torch.randn(2, 8, 16, 16)
    assert torch.equal(block(x), x)  # all branches zero: the block is its skip, the identity
    with torch.no_grad():
        block.branch3[2].bias.fill_(1.0)  # the third branch owns the last out/4 = 2 channels
    diff = block(x) - x
    assert torch.allclose(diff[:, :6], torch.zeros(2, 6, 16, 16), atol=1e-5)
    assert torch.allclose(diff[:, 6:], torch.ones(2, 2, 16, 16), atol=1e-5)


def test_fan_block_odd_widths_and_projection():
    block = FANBlock(6, 10)  # 5 + 2 + 3 channels, 1x1 projection on the skip
    assert block(torch.randn(1, 6, 8, 8)).shape == (1, 10, 8, 8)
    with pytest.raises(ValueError):
        FANBlock(4, 3)


@pytest.mark.parametrize("cls, stacks", [(HG2, 2), (FAN4, 4)])
def test_trunks_give_one_heatmap_per_stack(cls, stacks):
    torch.manual_seed(0)
    cfg = HolisticConfig(cls.name, "ibug68", 68, width=8, depth=2, stages=cls.stages, input_size=128)
    trunk = cls.build_trunk(cfg)
    out = trunk(torch.rand(2, 3, 128, 128) - 0.5)
    assert len(out) == stacks
    assert all(o.shape == (2, 68, 32, 32) for o in out)
