"""Covariances of ADC's latent heatmaps (adc_model/uncertainty.py), in image pixels."""

import numpy as np
import torch

from adc_model.method import ADC, ADCRunConfig
from adc_model.model import ADCConfig, ADCNet, make_proxy, normalise_image
from adc_model.uncertainty import adc_covariances, heatmap_covariance, predict_with_spread
from facebench.core import geometry


def test_covariance_of_a_known_distribution():
    heat = torch.zeros(1, 1, 5, 6, dtype=torch.float64)
    heat[0, 0, 1, 1] = 0.5      # (x, y) = (1, 1)
    heat[0, 0, 3, 5] = 0.5      # (5, 3): mean (3, 2), dx = +-2, dy = +-1 together
    cov = heatmap_covariance(heat)[0, 0].numpy()
    np.testing.assert_allclose(cov, [[4.0, 2.0], [2.0, 1.0]], atol=1e-12)


def _net():
    torch.manual_seed(0)
    cfg = ADCConfig(scheme="ibug68", width=8, depth=2, crop=32, min_side=0.3)
    return ADCNet(cfg).eval(), cfg


def test_image_pixel_covariance_is_that_of_the_mapped_samples():
    """Sample heatmap pixel centres, map them to image px as the mean is mapped (rescale_points,
    from_crop): their covariance is the one adc_covariances returns, for both stages."""
    net, cfg = _net()
    res = 512
    image = torch.randint(0, 256, (1, 3, res, res), dtype=torch.uint8, generator=torch.Generator().manual_seed(2))
    with torch.no_grad():
        out = net(normalise_image(make_proxy(image, cfg.proxy)), image)
        cov_g, cov_r = adc_covariances(net, out, res)
    rng = np.random.default_rng(0)

    def sampled(heat, to_image):
        h, w = heat.shape
        prob = heat.reshape(-1).double().numpy()
        idx = rng.choice(h * w, size=200_000, p=prob / prob.sum())
        pts = np.stack([idx % w, idx // w], axis=-1).astype(np.float64)
        return np.cov(to_image(pts).T)

    heat = out.global_heatmaps[0, 30]
    expected = sampled(heat, lambda p: geometry.rescale_points(p, heat.shape[-1], res))
    np.testing.assert_allclose(cov_g[0, 30].numpy(), expected, rtol=0.03, atol=0.02 * np.abs(expected).max())
    r, name_ids = 3, net.regions[3]                       # the mouth
    j = 2
    rheat = out.regional_heatmaps[r][0, j]
    box = out.boxes[0, r].double().numpy()
    expected = sampled(rheat, lambda p: geometry.from_crop(geometry.rescale_points(p, rheat.shape[-1], cfg.crop)[None],
                                                           box, cfg.crop)[0])
    got = cov_r[0, name_ids[j]].numpy()
    np.testing.assert_allclose(got, expected, rtol=0.03, atol=0.02 * np.abs(expected).max())
    regional = sorted(i for ids in net.regions for i in ids)
    jaw = sorted(set(range(68)) - set(regional))
    assert torch.isnan(cov_r[0, jaw]).all() and not torch.isnan(cov_r[0, regional]).any()


def test_predict_with_spread_returns_predicts_landmarks():
    net, cfg = _net()
    method = ADC(net, ADCRunConfig(model=cfg, res=256, preset="smoke", epochs=1, batch_size=1, lr=1e-3,
                                   lr_drop_epoch=1, lr_after=1e-4))
    images = np.random.default_rng(1).integers(0, 256, (3, 256, 256, 3), dtype=np.uint8)
    points, cov_g, cov_r = method.predict_spread(images)
    np.testing.assert_array_equal(points, method.predict(images))
    assert cov_g.shape == cov_r.shape == (3, 68, 2, 2)
    np.testing.assert_allclose(cov_g, np.swapaxes(cov_g, -1, -2))
    assert (np.linalg.eigvalsh(cov_g) > 0).all()
    assert predict_with_spread(net, cfg.proxy, images)[1].shape == (3, 68, 2, 2)
