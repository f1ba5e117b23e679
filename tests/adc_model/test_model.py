import pytest
import torch

from adc_model.loss import adc_loss
from adc_model.model import ADCConfig, ADCNet, make_proxy, normalise_image
from facebench.core import geometry
from facebench.core.schemes import IBUG68
from facebench.nn.blocks import count_parameters
from tests.adc_model.synthetic import synthetic_samples


def _net(**kw) -> ADCNet:
    torch.manual_seed(0)
    return ADCNet(ADCConfig(scheme="ibug68", width=8, depth=1, crop=16, proxy=64, **kw))


def _batch(res=128):
    items = synthetic_samples(2, res, seed=1, proxy=64)
    return {k: torch.stack([it[k] for it in items]) for k in ("image", "landmarks", "proxy", "proxy_landmarks")}


def test_forward_shapes_and_refined_replaces_only_regional_points():
    net, b = _net().eval(), _batch()
    with torch.no_grad():
        out = net(normalise_image(b["proxy"]), b["image"])
    assert out.global_heatmaps.shape == (2, 68, 16, 16)
    assert out.global_heatmaps.dtype == torch.float64   # the heads run in float64 (ADCNet's docstring)
    assert torch.allclose(out.global_heatmaps.sum(dim=(-2, -1)), torch.ones(2, 68, dtype=torch.float64))
    assert out.coarse.shape == out.refined.shape == (2, 68, 2) and out.boxes.shape == (2, 4, 4)
    assert [c.shape for c in out.crops] == [(2, 3, 16, 16)] * 4
    regions = ("eye_left", "eye_right", "nose", "mouth")
    assert [h.shape[1] for h in out.regional_heatmaps] == [len(IBUG68.regions[r]) for r in regions]
    jaw = list(IBUG68.global_only)
    assert torch.equal(out.refined[:, jaw], out.coarse[:, jaw])
    assert not torch.allclose(out.refined[:, list(IBUG68.regional)], out.coarse[:, list(IBUG68.regional)])
    assert (out.boxes[..., :2] >= -0.5).all() and (out.boxes[..., 2:] <= 127.5 + 1e-4).all()
    # Regional points lie inside their boxes: they are soft-argmaxes over the crop.
    for r, ids in enumerate(net.regions):
        p = out.refined[:, list(ids)]
        assert (p >= out.boxes[:, r, None, :2]).all() and (p <= out.boxes[:, r, None, 2:]).all()


def test_regional_loss_reaches_the_global_trunk_through_the_boxes():
    net, b = _net().train(), _batch()
    out = net(normalise_image(b["proxy"]), b["image"])
    ids = list(IBUG68.regional)
    ((out.refined[:, ids] - b["landmarks"][:, ids]) ** 2).sum().backward()
    head = net.global_trunk.heads[0].weight.grad
    assert head is not None and head.abs().sum() > 0
    assert net.regional["mouth"].heads[0].weight.grad.abs().sum() > 0


def test_training_noise_only_in_train_mode():
    net, b = _net(), _batch()
    proxy = normalise_image(b["proxy"])
    net.eval()
    with torch.no_grad():
        a, c = net(proxy, b["image"]).boxes, net(proxy, b["image"]).boxes
    assert torch.equal(a, c)
    net.train()
    with torch.no_grad():
        torch.manual_seed(1)
        d = net(proxy, b["image"]).boxes
    assert not torch.allclose(a, d)


def test_stack2_has_two_supervised_regional_stages_and_the_full_image_stays_uint8():
    net, b = _net(regional_stages=2).eval(), _batch()
    image = b["image"]
    with torch.no_grad():
        out = net(normalise_image(b["proxy"]), image)
    assert len(out.refined_stages) == 2 and torch.equal(out.refined_stages[-1], out.refined)
    assert image.dtype == torch.uint8
    loss, terms = adc_loss(out, b["proxy_landmarks"], b["landmarks"], 128, net.regional_ids, proxy=64)
    assert torch.isfinite(loss) and set(terms) == {"global", "regional"}


def test_light_variant_has_fewer_weights_and_config_is_checked():
    regular = ADCNet(ADCConfig(scheme="studio89", width=64, depth=2, crop=64))
    light = ADCNet(ADCConfig(scheme="studio89", width=64, depth=2, crop=64, light=True))
    assert count_parameters(light) < 0.6 * count_parameters(regular)
    with pytest.raises(ValueError):
        ADCConfig(scheme="ibug68", width=8, depth=1, crop=30)
    with pytest.raises(ValueError):
        ADCConfig(scheme="ibug68", width=8, depth=1, crop=32, trunk="resnet")


def test_make_proxy_is_area_averaging():
    image = torch.zeros(1, 3, 8, 8, dtype=torch.uint8)
    image[..., :4, :4] = 255
    proxy = make_proxy(image, 2)
    assert proxy.dtype == torch.uint8 and torch.equal(proxy[0, 0], torch.tensor([[255, 0], [0, 0]], dtype=torch.uint8))
    assert make_proxy(image, 8) is image
    assert torch.allclose(normalise_image(torch.tensor([0, 255], dtype=torch.uint8)), torch.tensor([-0.5, 0.5]))


@pytest.mark.parametrize("trunk, module", [("cpm", "CPMTrunk"), ("cnn67", "CNN67Trunk")])
def test_ablation_trunks_replace_every_hourglass(trunk, module):
    net, b = _net(trunk=trunk).eval(), _batch()
    assert type(net.global_trunk).__name__ == module
    assert all(type(t).__name__ == module for t in net.regional.values())
    with torch.no_grad():
        out = net(normalise_image(b["proxy"]), b["image"])
    assert out.global_heatmaps.shape == (2, 68, 16, 16) and out.refined.shape == (2, 68, 2)
    assert out.regional_heatmaps[3].shape == (2, 20, 4, 4)


def test_checkpointed_trunks_give_the_same_gradients_and_batchnorm_statistics():
    plain = _net(noise=0.0)
    saving = _net(noise=0.0, checkpoint=True)
    b = _batch()
    for net in (plain, saving):
        net.train()
        out = net(normalise_image(b["proxy"]), b["image"])
        loss, _ = adc_loss(out, b["proxy_landmarks"], b["landmarks"], 128, list(IBUG68.regional), proxy=64)
        loss.backward()
    for (name, p), q in zip(plain.named_parameters(), saving.parameters()):
        assert torch.allclose(p.grad, q.grad, atol=1e-6), name
    for (name, x), y in zip(plain.named_buffers(), saving.buffers()):
        assert torch.equal(x, y), name   # the recomputation did not count the batch twice


def test_global_width_widens_only_the_global_trunk():
    narrow, wide = _net(), _net(global_width=16)
    assert count_parameters(wide.global_trunk) > count_parameters(narrow.global_trunk)
    assert count_parameters(wide.regional) == count_parameters(narrow.regional)
    with torch.no_grad():
        out = wide.eval()(normalise_image(_batch()["proxy"]), _batch()["image"])
    assert out.refined.shape == (2, 68, 2)


def test_beta_sharpens_the_latent_heatmaps_of_the_same_weights():
    soft, sharp = _net().eval(), _net(beta=4.0).eval()
    sharp.load_state_dict(soft.state_dict())
    b = _batch()
    with torch.no_grad():
        outs = [net(normalise_image(b["proxy"]), b["image"]) for net in (soft, sharp)]
    peaks = [o.global_heatmaps.flatten(2).max(dim=-1).values for o in outs]
    assert (peaks[1] > peaks[0]).all()                      # softmax(4 z) is more peaked than softmax(z)
    expected = torch.softmax(4.0 * torch.log(outs[0].global_heatmaps.flatten(2)), dim=-1)
    assert torch.allclose(outs[1].global_heatmaps.flatten(2), expected, atol=1e-9)
    with pytest.raises(ValueError, match="beta"):
        _net(beta=0.0)


def test_global_stages_are_each_supervised_and_the_last_is_coarse():
    net, b = _net(global_stages=2), _batch()
    out = net.train()(normalise_image(b["proxy"]), b["image"])
    assert len(out.coarse_stages) == 2 and torch.equal(out.coarse_stages[-1], out.coarse)
    loss, terms = adc_loss(out, b["proxy_landmarks"].double(), b["landmarks"].double(), 128, list(IBUG68.regional),
                           proxy=64)
    first, last = (((geometry.rescale_points(c, 128, 64) - b["proxy_landmarks"]) ** 2).sum(-1).mean()
                   for c in out.coarse_stages)   # eq. 1's global term of each stage, in 64 px proxy px
    assert terms["global"] == pytest.approx(float((first + last) / 2), rel=1e-6)
    loss.backward()
    head0 = net.global_trunk.heads[0].weight.grad
    assert head0 is not None and head0.abs().sum() > 0   # the first stage's head learns from its own term
    with pytest.raises(ValueError, match="global_stages"):
        _net(global_stages=0)


def test_jaw_regions_refine_the_contour_from_their_own_crops():
    net, b = _net(jaw_regions=3), _batch()
    assert net.region_names[4:] == ("jaw1", "jaw2", "jaw3") and set(net.regional) == set(net.region_names)
    out = net.train()(normalise_image(b["proxy"]), b["image"])
    assert out.boxes.shape == (2, 7, 4) and len(out.crops) == len(out.regional_heatmaps) == 7
    assert not torch.allclose(out.refined, out.coarse[:, :]) and sorted(net.regional_ids.tolist()) == list(range(68))
    for r, ids in enumerate(net.regions):   # every point, the contour's too, is a soft-argmax over its box
        p = out.refined[:, list(ids)]
        assert (p >= out.boxes[:, r, None, :2] - 1e-6).all() and (p <= out.boxes[:, r, None, 2:] + 1e-6).all()
    loss, _ = adc_loss(out, b["proxy_landmarks"].double(), b["landmarks"].double(), 128, net.regional_ids.tolist(),
                       proxy=64)
    loss.backward()
    head = net.regional["jaw2"].heads[0].weight.grad
    assert head is not None and head.abs().sum() > 0
    with pytest.raises(ValueError, match="jaw_regions"):
        _net(jaw_regions=6)
