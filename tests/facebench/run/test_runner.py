"""The runner (facebench/run/runner.py) around a method: model files of another landmark scheme, the
method's run facts in metrics.json, and a trained model reused by `--checkpoint`.

dlib-ert is the method here because it trains in about a second on the tiny data.
"""

from pathlib import Path

import numpy as np
import pytest

from facebench.core.errors import FacebenchError
from facebench.core.io import read_json
from facebench.data.prepare import PrepareOptions, prepare
from facebench.run import folder as runfolder
from facebench.run.runner import RunConfig, run


@pytest.fixture(scope="module")
def w300_prepared(tmp_path_factory) -> Path:
    """A 68-point (ibug68) prepared dataset from a tiny 300-W layout, at 256."""
    from tests.conftest import make_300w

    root = tmp_path_factory.mktemp("w300")
    make_300w(root / "300w", per_folder=3, size=(256, 224))
    out = root / "data"
    prepare(out, w300=root / "300w", options=PrepareOptions(resolutions=(256,)), workers=1, progress=False)
    return out


def _dlib(data: Path, out: Path, **kw) -> dict:
    return run(RunConfig(method="dlib-ert", res=256, data=data, preset="smoke", out=out, device="cpu",
                         progress=False, **kw))


def test_metrics_record_the_methods_run_facts(tiny_prepared: Path, tmp_path: Path) -> None:
    metrics = _dlib(tiny_prepared, tmp_path)
    assert metrics["status"] == "ok" and np.isfinite(metrics["nme"])
    on_disk = read_json(tmp_path / "dlib-ert-256" / runfolder.METRICS)
    assert on_disk["run_info"]["box"] == "margin"
    assert on_disk["run_info"]["margin"] == pytest.approx(PrepareOptions().margin)


def test_a_68_point_model_is_scored_on_the_first_68_of_89_point_data(
        w300_prepared: Path, tiny_prepared: Path, tmp_path: Path) -> None:
    _dlib(w300_prepared, tmp_path / "train68")
    model_file = tmp_path / "train68" / "dlib-ert-256" / "model.dat"
    assert model_file.is_file()
    metrics = _dlib(tiny_prepared, tmp_path / "eval", checkpoint=model_file, name="ibug-on-studio")
    assert metrics["status"] == "ok" and np.isfinite(metrics["nme"])
    _, pred, gt = runfolder.read_predictions(tmp_path / "eval" / "ibug-on-studio")
    assert pred.shape[1:] == gt.shape[1:] == (68, 2)


def test_an_89_point_model_on_68_point_data_is_refused_naming_the_file(
        w300_prepared: Path, tiny_prepared: Path, tmp_path: Path) -> None:
    _dlib(tiny_prepared, tmp_path / "train89")
    model_file = tmp_path / "train89" / "dlib-ert-256" / "model.dat"
    with pytest.raises(FacebenchError) as err:
        _dlib(w300_prepared, tmp_path / "eval", checkpoint=model_file, name="studio-on-ibug")
    assert "89 points (studio89)" in str(err.value) and "68 (ibug68)" in str(err.value)
    assert str(model_file) in str(err.value)
    assert not (tmp_path / "eval" / "studio-on-ibug" / runfolder.METRICS).exists()


def test_gpu_only_training_options_are_refused_on_the_cpu(tiny_prepared: Path, tmp_path: Path) -> None:
    from facebench.core.errors import FacebenchError

    for flag in ({"amp": True}, {"channels_last": True}):
        with pytest.raises(FacebenchError, match="are for CUDA devices"):
            run(RunConfig(method="adc", res=256, data=tiny_prepared, preset="smoke", out=tmp_path, device="cpu",
                          progress=False, **flag))
    assert not any(tmp_path.iterdir())      # refused before any run folder exists
