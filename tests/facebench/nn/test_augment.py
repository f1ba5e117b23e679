import numpy as np
import pytest
import torch

from facebench.core.errors import FacebenchError
from facebench.nn.augment import apply_lut, random_colour_lut
from facebench.nn.dataset import LandmarkDataset


def test_colour_lut_is_a_monotone_table_drawn_from_torchs_rng():
    a = random_colour_lut(torch.Generator().manual_seed(5))
    b = random_colour_lut(torch.Generator().manual_seed(5))
    c = random_colour_lut(torch.Generator().manual_seed(6))
    assert a.shape == (256, 1, 3) and a.dtype == np.uint8
    assert np.array_equal(a, b) and not np.array_equal(a, c)
    assert (np.diff(a[:, 0, :].astype(int), axis=0) >= 0).all()   # order of grey levels kept
    image = np.random.default_rng(0).integers(0, 256, (8, 8, 3), dtype=np.uint8)
    out = apply_lut(image, a)
    for ch in range(3):
        assert np.array_equal(out[..., ch], a[image[..., ch], 0, ch])


def test_augmented_item_gets_one_transform_for_image_and_proxy_and_keeps_landmarks(tiny_prepared):
    plain = LandmarkDataset(tiny_prepared, "train", 256, proxy_res=128)
    aug = LandmarkDataset(tiny_prepared, "train", 256, proxy_res=128, augment="colour")
    torch.manual_seed(11)
    item = aug[0]
    torch.manual_seed(11)
    lut = random_colour_lut()
    ref = plain[0]
    expected = apply_lut(np.ascontiguousarray(ref["proxy"].numpy().transpose(1, 2, 0)), lut)
    assert np.array_equal(item["proxy"].numpy().transpose(1, 2, 0), expected)
    # the R image (read lazily, R > P) gets the same table on every pixel read from it
    plain_image = ref["image"].read(0, None, 0, None)
    assert np.array_equal(item["image"].read(0, None, 0, None), apply_lut(plain_image, lut))
    assert not np.array_equal(item["image"].read(0, None, 0, None), plain_image)
    assert torch.equal(item["landmarks"], ref["landmarks"])
    assert torch.equal(item["proxy_landmarks"], ref["proxy_landmarks"])


def test_unknown_augment_is_refused(tiny_prepared):
    from adc_model.method import ADC
    from facebench.core.presets import get_preset

    with pytest.raises(FacebenchError, match="augment must be one of"):
        LandmarkDataset(tiny_prepared, "train", 256, augment="flip")
    with pytest.raises(FacebenchError, match="augment must be one of"):
        ADC.config_for(get_preset("smoke"), 256, "studio89", options={"augment": "hue"})
    assert ADC.config_for(get_preset("smoke"), 256, "studio89", options={"augment": "colour"}).augment == "colour"
    assert ADC.config_for(get_preset("smoke"), 256, "studio89").augment == "standard"   # the recipe is on by default
