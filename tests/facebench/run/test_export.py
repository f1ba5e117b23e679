"""``facebench export --onnx`` and ``facebench predict --onnx``: onnxruntime's landmarks match
PyTorch's within 1e-3 px at 256 and at 4096, and predict runs the file without the torch model."""

import copy
import json

import cv2
import numpy as np
import pytest
import torch
from click.testing import CliRunner

from adc_model.export_graph import PortableADC
from adc_model.method import ADC
from adc_model.model import ADCNet, make_proxy, normalise_image
from facebench.cli import cli
from facebench.core import geometry
from facebench.core.prepared import PreparedDataset
from facebench.core.presets import get_preset
from facebench.core.pts import read_pts
from facebench.eval.onnx_model import OnnxLandmarker
from facebench.method import TrainContext
from tests.conftest import face_points, render_face

pytest.importorskip("onnx")
pytest.importorskip("onnxruntime")


pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.fixture(scope="module")
def run(tiny_prepared, tmp_path_factory):
    """An adc run trained for one smoke epoch at 256. min_side 0.1: with the smoke preset's default
    (0.125 * 256 = 32 = the crop side) an untrained model's collapsed boxes sit exactly on RoIAlign's
    subsample-count step (k = ceil(side / crop)), where PyTorch itself flips with one float ulp."""
    run_dir = tmp_path_factory.mktemp("runs") / "adc-256"
    method = ADC.train(TrainContext(data_root=tiny_prepared, res=256, preset=get_preset("smoke"), run_dir=run_dir,
                                    device="cpu", progress=False, options={"min_side": 0.1}))
    method.save(run_dir / "model.pt")
    (run_dir / "config.json").write_text(json.dumps({"method": "adc", "name": "adc-256", "res": 256, "train_res": 256,
                                                     "preset": "smoke", "data": str(tiny_prepared)}))
    return run_dir


def _export(run, path, *extra):
    result = CliRunner().invoke(cli, ["export", str(run), "--onnx", str(path), *extra])
    assert result.exit_code == 0, result.output
    return path


def test_onnx_matches_pytorch_at_256(run, tiny_prepared, tmp_path):
    onnx_file = _export(run, tmp_path / "adc.onnx")
    portable = OnnxLandmarker(onnx_file)
    assert portable.res == 256 and portable.margin == 0.25 and portable.meta["scheme"] == "studio89"
    data = PreparedDataset(tiny_prepared)
    images = np.stack([data.load_image(s, 256) for s in data.split("test")["id"][:4]])
    expected = ADC.load(run / "model.pt", device="cpu").predict(images)
    got = portable.predict(images)
    assert got.shape == expected.shape == (4, 89, 2)
    assert np.abs(got - expected).max() < 1e-3


def test_onnx_matches_pytorch_at_4096(run, tiny_prepared, tmp_path):
    onnx_file = _export(run, tmp_path / "adc4k.onnx", "--res", "4096")
    data = PreparedDataset(tiny_prepared)
    face = data.load_image(data.split("test")["id"].iloc[0], 256)
    image = cv2.resize(face, (4096, 4096), interpolation=cv2.INTER_LINEAR)
    method = ADC.load(run / "model.pt", device="cpu")
    got = OnnxLandmarker(onnx_file).predict(image[None])
    assert np.abs(got - method.predict(image[None])).max() < 1e-3
    # ... and a float64 evaluation of the same network (PyTorch's float32 result is itself ~1e-3 from it).
    x = torch.from_numpy(image[None]).permute(0, 3, 1, 2)
    with torch.no_grad():
        exact = copy.deepcopy(method.net).double()(normalise_image(make_proxy(x, 256)).double(), x).refined.numpy()
    assert np.abs(got - exact).max() < 1e-3


def test_predict_onnx_runs_without_the_torch_model(run, tmp_path, monkeypatch):
    rng = np.random.default_rng(3)
    pts = face_points(rng, 480, 400)
    photo = tmp_path / "photo.png"
    cv2.imwrite(str(photo), render_face(rng, 480, 400, pts))
    box = ",".join(f"{v:.3f}" for v in geometry.points_box(pts))
    onnx_file = _export(run, tmp_path / "adc.onnx")
    by_torch = CliRunner().invoke(cli, ["predict", str(photo), "--run", str(run), "--box", box,
                                        "--out", str(tmp_path / "t")])
    assert by_torch.exit_code == 0, by_torch.output

    def refuse(*args, **kwargs):
        raise AssertionError("the torch model ran")

    monkeypatch.setattr(ADCNet, "forward", refuse)
    monkeypatch.setattr(PortableADC, "forward", refuse)
    monkeypatch.setattr(ADC, "load", refuse)
    by_onnx = CliRunner().invoke(cli, ["predict", str(photo), "--onnx", str(onnx_file), "--box", box,
                                       "--out", str(tmp_path / "o")])
    assert by_onnx.exit_code == 0, by_onnx.output
    np.testing.assert_allclose(read_pts(tmp_path / "o" / "photo.pts"), read_pts(tmp_path / "t" / "photo.pts"),
                               atol=1e-3)
    by_onnx, by_torch = ([p["spread"] for p in json.loads((tmp_path / d / "photo.uncertainty.json").read_text())[
        "points"]] for d in ("o", "t"))
    np.testing.assert_allclose(by_onnx, by_torch, rtol=1e-3)
    assert (tmp_path / "o" / "photo.landmarks.png").is_file()


def test_bad_inputs_are_one_line(run, tmp_path):
    photo = tmp_path / "x.png"
    cv2.imwrite(str(photo), np.zeros((64, 64, 3), np.uint8))
    cases = [
        (["export", str(run), "--onnx", str(tmp_path / "a.onnx"), "--res", "300"], "256 * 2**j"),
        (["export", str(tmp_path), "--onnx", str(tmp_path / "a.onnx")], "not a run folder"),
        (["predict", str(photo), "--onnx", str(tmp_path / "missing.onnx"), "--box", "1,1,50,50"], "not found"),
        (["predict", str(photo), "--box", "1,1,50,50"], "exactly one of --run RUN and --onnx FILE"),
    ]
    (tmp_path / "junk.onnx").write_bytes(b"not a model")
    cases.append((["predict", str(photo), "--onnx", str(tmp_path / "junk.onnx"), "--box", "1,1,50,50"], "cannot load"))
    for args, message in cases:
        result = CliRunner().invoke(cli, args)
        assert result.exit_code == 2, (args, result.output)
        assert message in result.output and len(result.output.strip().splitlines()) == 1, result.output
    assert not (tmp_path / "a.onnx").exists()
