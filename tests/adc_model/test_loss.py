import pytest
import torch

from adc_model.loss import adc_loss, squared_error
from adc_model.model import ADCOutput
from facebench.core import geometry
from facebench.core.schemes import IBUG68


def _output(coarse, refined_stages):
    b, n = coarse.shape[:2]
    return ADCOutput(torch.zeros(b, n, 4, 4), coarse, torch.zeros(b, 4, 4), (), (), refined_stages[-1],
                     tuple(refined_stages))


def _case():
    g = torch.Generator().manual_seed(0)
    gt = torch.rand(2, 68, 2, generator=g, dtype=torch.float64) * 400 + 50       # R = 512 px
    gt_proxy = geometry.rescale_points(gt, 512, 256)
    coarse = gt + torch.tensor([2.0, 0.0], dtype=torch.float64)                # 2 R px = 1 proxy px off
    refined = coarse.clone()
    ids = list(IBUG68.regional)
    refined[:, ids] = gt[:, ids] + torch.tensor([0.0, 4.0], dtype=torch.float64)  # 4 R px = 2 proxy px off
    return gt, gt_proxy, coarse, refined, ids


def test_eq1_literally_in_image_pixels():
    gt, gt_proxy, coarse, refined, ids = _case()
    loss, terms = adc_loss(_output(coarse, [refined]), gt_proxy, gt, 512, ids, proxy=256, regional_units="image")
    # global: |(1, 0)|^2 = 1 proxy px^2; regional: |(0, 4)|^2 = 16 R px^2.
    assert loss.item() == pytest.approx(17.0) and terms == pytest.approx({"global": 1.0, "regional": 16.0})


def test_regional_term_in_proxy_pixels():
    gt, gt_proxy, coarse, refined, ids = _case()
    loss, terms = adc_loss(_output(coarse, [refined]), gt_proxy, gt, 512, ids, proxy=256, regional_units="proxy")
    assert loss.item() == pytest.approx(1.0 + 4.0) and terms["regional"] == pytest.approx(4.0)


def test_several_regional_stages_are_averaged():
    gt, gt_proxy, coarse, refined, ids = _case()
    worse = refined.clone()
    worse[:, ids] = gt[:, ids] + torch.tensor([8.0, 0.0], dtype=torch.float64)
    loss, _ = adc_loss(_output(coarse, [worse, refined]), gt_proxy, gt, 512, ids, regional_units="image")
    assert loss.item() == pytest.approx(1.0 + (64.0 + 16.0) / 2)


def test_loss_is_zero_at_the_ground_truth_and_units_are_checked():
    gt, gt_proxy, _, _, ids = _case()
    loss, _ = adc_loss(_output(gt, [gt]), gt_proxy, gt, 512, ids)
    assert loss.item() == pytest.approx(0.0, abs=1e-9)
    assert squared_error(torch.zeros(1, 2, 2), torch.tensor([[[3.0, 4.0], [0.0, 1.0]]])).item() == pytest.approx(13.0)
    with pytest.raises(ValueError):
        adc_loss(_output(gt, [gt]), gt_proxy, gt, 512, ids, regional_units="crop")
