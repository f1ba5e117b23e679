"""The method contract, for every method of the table (facebench.methods.METHOD_NAMES): train with
the smoke preset on the tiny prepared dataset, predict a few test crops -> (B, N, 2) finite
landmarks inside the image, and a save / load round trip that predicts identically.

A method whose class does not exist yet fails here (no skip): that is the point of the test.
"""

from pathlib import Path

import numpy as np
import pytest

from facebench.core.prepared import PreparedDataset
from facebench.core.presets import get_preset
from facebench.method import TrainContext
from facebench.methods import METHOD_NAMES, get_method

RES = 256  # tiny_prepared has 128 and 256; every method can be trained and run at 256


@pytest.mark.slow  # trains every method (smoke preset): ~3-30 s each on a shared 2-core CPU
@pytest.mark.parametrize("name", METHOD_NAMES)
def test_method_contract(name: str, tiny_prepared: Path, tmp_path: Path) -> None:
    cls = get_method(name)
    assert cls.name == name
    preset = get_preset("smoke")
    data = PreparedDataset(tiny_prepared)
    model_res = RES if cls.native_res else preset.holistic_res

    ctx = TrainContext(data_root=tiny_prepared, res=model_res, preset=preset, run_dir=tmp_path / "run",
                       device="cpu", seed=0, progress=False)
    model = cls.train(ctx)
    assert model.scheme.name == data.scheme.name

    ids = list(data.split("test")["id"][:3])
    images = np.stack([data.load_image(i, model_res) for i in ids])  # (3, R, R, 3) uint8
    pred = model.predict(images)
    assert isinstance(pred, np.ndarray) and pred.shape == (3, data.scheme.num_points, 2)
    assert np.issubdtype(pred.dtype, np.floating)
    assert np.isfinite(pred).all()
    assert (pred >= -0.5).all() and (pred <= model_res - 0.5).all()  # inside the image (geometry.py frame)
    assert model.num_parameters() >= (0 if name == "dlib-ert" else 1)

    path = tmp_path / cls.model_file
    model.save(path)
    loaded = cls.load(path, device="cpu")
    assert np.array_equal(loaded.predict(images), pred)


def test_every_list_of_the_table_names_its_methods():
    from facebench import methods as T
    from facebench.method import FAMILIES

    assert T.METHOD_NAMES == tuple(T.METHODS) and len(set(T.METHOD_NAMES)) == len(T.METHOD_NAMES)
    assert all(c.family in FAMILIES for c in T.METHODS.values())
    assert set(T.ADC_FAMILY) == {"adc", "adc-light", "adc-cpm", "adc-cnn67", "adc-stack2"}
    assert set(T.HOLISTIC) == {"hg2", "fan4", "cpm6", "cnn67"}
    assert set(T.NEURAL) == set(T.METHOD_NAMES) - {"dlib-ert"}
    grid = T.BASELINES + T.MAIN_ADC + T.ABLATION_NATIVE + T.ABLATION_HOLISTIC
    assert sorted(grid) == sorted(T.METHOD_NAMES)          # the paper's grid runs every method once
    assert set(T.MAIN_ADC + T.ABLATION_NATIVE) <= set(T.ADC_FAMILY)
    assert set(T.SPEED_DEFAULT) <= set(T.METHOD_NAMES)


def test_an_unknown_method_is_one_clear_error():
    from facebench.core.errors import FacebenchError

    with pytest.raises(FacebenchError, match=r"unknown method 'adc2' \(known: adc, adc-light, "):
        get_method("adc2")
