"""The RoI sampler's anti-aliasing grows with the box (issue 13): large boxes at 4096 px shrunk to the
`cpu` preset's 128 px crop equal an area-averaged reference, where the old cap of 8 samples per crop
pixel and axis skipped or unevenly weighted source pixels."""

import cv2
import numpy as np
import pytest
import torch

from adc_model.ops import roi_crop, subsamples_for


@pytest.fixture(scope="module")
def stripes_4096() -> np.ndarray:
    """4096 px grey image with detail at the pixel scale: bright every third column, plus noise."""
    rng = np.random.default_rng(0)
    xs = np.arange(4096)[None, :].repeat(4096, axis=0)
    return np.clip((xs % 3 == 0) * 200.0 + rng.normal(30.0, 20.0, xs.shape), 0, 255).astype(np.uint8)


def _crops(image: np.ndarray, side: int, size: int = 128, x0: int = 600, y0: int = 500):
    box = torch.tensor([[x0 - 0.5, y0 - 0.5, x0 + side - 0.5, y0 + side - 0.5]], dtype=torch.float64)
    reference = cv2.resize(image[y0:y0 + side, x0:x0 + side].astype(np.float64), (size, size),
                           interpolation=cv2.INTER_AREA)
    pixels = torch.from_numpy(image)[None]
    grown = roi_crop(pixels, box, size)[0, 0].numpy()
    capped = roi_crop(pixels, box, size, max_subsamples=8)[0, 0].numpy()
    return reference, grown, capped


@pytest.mark.parametrize("side", [900, 1400, 3072])   # eye, mouth and a whole-face box at 4096
def test_a_large_box_at_4096_sampled_to_128_equals_the_area_average(stripes_4096, side):
    reference, grown, _ = _crops(stripes_4096, side)
    err = np.abs(grown - reference)
    assert err.mean() < 1.0 and err.max() < 3.0          # grey levels of 0..255


@pytest.mark.parametrize("side", [1400, 3072])
def test_the_old_cap_of_8_aliased_there(stripes_4096, side):
    reference, grown, capped = _crops(stripes_4096, side)
    assert subsamples_for(side, 128) > 8
    assert np.abs(capped - reference).mean() > 4.0 > np.abs(grown - reference).mean() * 4
