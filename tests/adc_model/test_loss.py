import math

import pytest
import torch

from adc_model.loss import adc_loss, gaussian_targets, squared_error
from adc_model.model import ADCOutput
from adc_model.regions import region_indices
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


def test_l1_point_loss_is_the_sum_of_absolute_offsets():
    gt, gt_proxy, coarse, refined, ids = _case()
    off = refined.clone()
    off[:, ids] = gt[:, ids] + torch.tensor([-2.0, 4.0], dtype=torch.float64)     # 1 + 2 proxy px
    loss, terms = adc_loss(_output(coarse, [off]), gt_proxy, gt, 512, ids, regional_units="proxy", point_loss="l1")
    assert terms == pytest.approx({"global": 1.0, "regional": 3.0}) and loss.item() == pytest.approx(4.0)
    with pytest.raises(ValueError, match="point_loss"):
        adc_loss(_output(gt, [gt]), gt_proxy, gt, 512, ids, point_loss="huber")


def _heatmap_output(gt, gt_proxy, regions, crop, perfect: bool):
    """ADC output whose heatmaps are the regulariser's own Gaussians (perfect) or uniform maps."""
    b, n = gt.shape[:2]
    box = torch.tensor([100.0, 120.0, 260.0, 280.0], dtype=torch.float64)
    boxes = box.expand(b, len(regions), 4).clone()
    g, _ = gaussian_targets(geometry.rescale_points(gt_proxy, 256, 64), 64, 64, 1.0)
    global_heat = g if perfect else torch.full_like(g, 1 / 64 ** 2)
    regional = []
    for r, ids in enumerate(regions):
        c = crop // 4
        in_crop = geometry.rescale_points(geometry.to_crop(gt[:, list(ids)], boxes[:, r], crop), crop, c)
        g, _ = gaussian_targets(in_crop, c, c, 1.0)
        regional.append(g if perfect else torch.full_like(g, 1 / c ** 2))
    heat = global_heat.clone().requires_grad_(True)
    out = ADCOutput(heat, gt, boxes, (), tuple(regional), gt, (gt,))
    return out, heat


def test_heatmap_regulariser_is_zero_on_its_gaussians_and_pulls_flat_maps():
    gt, gt_proxy, _, _, ids = _case()
    regions = tuple(region_indices(IBUG68))
    kw = dict(regional_units="proxy", heatmap_reg=2.0, regions=regions, crop=64)
    out, _ = _heatmap_output(gt, gt_proxy, regions, 64, perfect=True)
    loss, terms = adc_loss(out, gt_proxy, gt, 512, ids, **kw)
    assert terms["heatmap_js"] == pytest.approx(0.0, abs=1e-9) and loss.item() == pytest.approx(0.0, abs=1e-9)
    out, heat = _heatmap_output(gt, gt_proxy, regions, 64, perfect=False)
    loss, terms = adc_loss(out, gt_proxy, gt, 512, ids, **kw)
    assert 0.3 < terms["heatmap_js"] < math.log(2) and loss.item() == pytest.approx(2.0 * terms["heatmap_js"])
    loss.backward()
    assert heat.grad is not None and heat.grad.abs().sum() > 0
    with pytest.raises(ValueError, match="regions"):
        adc_loss(out, gt_proxy, gt, 512, ids, heatmap_reg=1.0)
