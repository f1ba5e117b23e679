"""The traceable ADC graph (adc_model/export_graph.py) computes what ADC computes: the proxy as
``facebench prepare`` resamples, the RoI crop as ``roi_crop``, the landmarks as ``ADC.predict``."""

import numpy as np
import pytest
import torch

from adc_model.export_graph import PortableADC, area_proxy, gather_crop, proxy_factor
from adc_model.method import ADC, ADCRunConfig
from adc_model.model import ADCConfig, ADCNet
from adc_model.ops import roi_crop
from facebench.core.pixels import resample


@pytest.mark.parametrize("k", [1, 2, 4, 16])
def test_the_proxy_is_opencvs_area_average(k):
    rng = np.random.default_rng(k)
    image = rng.integers(0, 256, (32 * k, 32 * k, 3), dtype=np.uint8)
    ours = area_proxy(torch.from_numpy(image).permute(2, 0, 1)[None].float(), k)[0].permute(1, 2, 0)
    np.testing.assert_array_equal(ours.to(torch.uint8).numpy(), resample(image, 32))


@pytest.mark.parametrize("box", [(100.3, 200.7, 400.1, 500.5), (-50.2, -20.1, 200.3, 230.4),
                                 (900.1, 900.2, 1100.6, 1100.9), (10.5, 10.5, 30.2, 30.2), (0.0, 0.0, 64.0, 64.0)])
def test_the_gathered_crop_is_roi_align(box):
    image = torch.randint(0, 256, (3, 1024, 1024), dtype=torch.uint8, generator=torch.Generator().manual_seed(1))
    b = torch.tensor(box)
    expected = roi_crop(image, b[None], 32)[0]              # k = ceil(side / 32), no cap
    got = gather_crop(image, b, 32, 1024 // 32)             # the graph's bound for a 1024 image
    assert (expected - got).abs().max() < 5e-3   # float32 rounding of roi_crop's window-relative positions


@pytest.mark.parametrize("beta, global_stages, jaw_regions", [(1.0, 1, 0), (4.0, 1, 0), (1.0, 2, 0), (1.0, 1, 3)])
def test_the_graph_predicts_what_adc_predicts(beta, global_stages, jaw_regions):
    torch.manual_seed(0)
    cfg = ADCConfig(scheme="ibug68", width=8, depth=2, crop=32, min_side=0.1, beta=beta, global_stages=global_stages,
                    jaw_regions=jaw_regions)
    net = ADCNet(cfg).eval()
    method = ADC(net, ADCRunConfig(model=cfg, res=256, preset="smoke", epochs=1, batch_size=1, lr=1e-3,
                                   lr_drop_epoch=1, lr_after=1e-4))
    for res in (256, 1024):
        image = torch.randint(0, 256, (1, res, res, 3), dtype=torch.uint8)
        with torch.no_grad():
            ours, _, _, cov_g, cov_r = PortableADC(net, res)(image)
        points, expected_g, expected_r = method.predict_spread(image.numpy())
        assert np.abs(ours.numpy() - points).max() < 2e-4 * beta   # float32 crops; a sharper softmax amplifies
        for got, expected in ((cov_g, expected_g), (cov_r, expected_r)):   # NaN where expected is NaN
            np.testing.assert_allclose(got.numpy(), expected, rtol=1e-3, atol=1e-5 * np.nanmax(np.abs(expected)))


@pytest.mark.parametrize("res", [128, 768, 300])
def test_only_power_of_two_multiples_of_the_proxy(res):
    with pytest.raises(ValueError, match="256 \\* 2\\*\\*j"):
        proxy_factor(res, 256)
