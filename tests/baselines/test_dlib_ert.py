"""dlib-ert: options, the face-box convention, training, model files, external predictors."""

import json
import shutil

import dlib
import numpy as np
import pytest

from baselines.dlib_ert import PRESET_OPTIONS, DlibERT, ert_options, margin_box
from facebench.core import geometry
from facebench.core.errors import FacebenchError
from facebench.core.prepared import PreparedDataset
from facebench.core.presets import get_preset
from facebench.method import TrainContext


def test_paper_options_are_dlibs_documented_defaults():
    default = dlib.shape_predictor_training_options()
    for name, value in vars(PRESET_OPTIONS["paper"]).items():
        if name not in ("box", "num_threads", "mirror"):
            assert getattr(default, name) == pytest.approx(value), name
    assert PRESET_OPTIONS["paper"].num_threads == 2 and PRESET_OPTIONS["paper"].box == "margin"


def test_options_override_and_validate():
    opts = ert_options("cpu", {"tree_depth": 5, "nu": 0.2, "box": "detector", "oversampling_amount": 3.0})
    assert (opts.tree_depth, opts.nu, opts.box, opts.oversampling_amount) == (5, 0.2, "detector", 3)
    assert opts.num_trees_per_cascade_level == PRESET_OPTIONS["cpu"].num_trees_per_cascade_level
    for bad in ({"treedepth": 3}, {"tree_depth": 2.5}, {"nu": 0.0}, {"nu": "x"}, {"box": "tight"},
                {"feature_pool_size": 1}, {"lambda_param": -1.0}, {"cascade_depth": 0}, {"tree_depth": "x"},
                {"nu": float("nan")}, {"num_threads": True}):
        with pytest.raises(FacebenchError):
            ert_options("cpu", bad)


def test_margin_box_by_hand():
    # 256 crop made with margin 0.25: the landmark box has side 256 / 1.5 = 170.67 around 127.5
    box = margin_box(256, 0.25)
    assert box == pytest.approx([127.5 - 256 / 3, 127.5 - 256 / 3, 127.5 + 256 / 3, 127.5 + 256 / 3])
    assert geometry.dlib_rectangle(box) == (43, 43, 212, 212)
    assert geometry.dlib_rectangle(geometry.full_image_box(256)) == (0, 0, 255, 255)
    assert geometry.box_from_dlib_rectangle(0, 0, 255, 255).tolist() == [-0.5, -0.5, 255.5, 255.5]
    # shrink_square_box undoes square_box's margin: a 100 px square grown by 0.25 -> 150 px -> back
    square = np.array([10.0, 20.0, 110.0, 120.0])
    assert geometry.shrink_square_box(geometry.square_box(square, margin=0.25), 0.25) == pytest.approx(square)


@pytest.fixture(scope="module")
def trained(tiny_prepared, tmp_path_factory):
    """A smoke-preset dlib-ert saved to a run folder, and a few test crops."""
    run = tmp_path_factory.mktemp("dlib_run")
    ctx = TrainContext(data_root=tiny_prepared, res=256, preset=get_preset("smoke"), run_dir=run, seed=0,
                       progress=False, options={"cascade_depth": 4, "num_trees_per_cascade_level": 20})
    model = DlibERT.train(ctx)
    model.save(run / DlibERT.model_file)
    data = PreparedDataset(tiny_prepared)
    rows = data.split("test").iloc[:4]
    images = np.stack([data.load_image(i, 256) for i in rows["id"]])
    # With the margin box every crop has the same box, so dlib's starting shape is the mean training shape.
    mean_shape = data.landmarks(data.split("train"), 256).mean(axis=0)
    return model, run / DlibERT.model_file, images, data.landmarks(rows, 256), mean_shape


def test_training_learns_and_records_its_box(trained):
    model, path, images, gt, mean_shape = trained
    pred = model.predict(images)
    assert pred.shape == gt.shape and np.array_equal(pred, np.rint(pred))  # dlib's integer grid
    err = np.linalg.norm(pred - gt, axis=-1).mean()
    start = np.linalg.norm(mean_shape - gt, axis=-1).mean()  # ~5 px: the faces' placement jitter
    assert err < 0.7 * start, (err, start)
    meta = json.loads(path.with_name("model.dat.json").read_text())
    assert (meta["box"], meta["margin"], meta["scheme"]) == ("margin", 0.25, "studio89")
    assert meta["options"]["cascade_depth"] == 4 and meta["train_samples"] == 8


def test_same_seed_same_model(trained, tiny_prepared, tmp_path):
    model, _, images, _, _ = trained
    ctx = TrainContext(data_root=tiny_prepared, res=256, preset=get_preset("smoke"), run_dir=tmp_path, seed=0,
                       progress=False, options={"cascade_depth": 4, "num_trees_per_cascade_level": 20})
    assert np.array_equal(DlibERT.train(ctx).predict(images), model.predict(images))


def test_external_dat_uses_the_detector_box_and_counts_fallbacks(trained, tmp_path):
    model, path, faces, _, _ = trained
    external = tmp_path / "shape_predictor.dat"
    shutil.copy(path, external)  # no sidecar: treated like dlib's public model
    loaded = DlibERT.load(external, margin=0.25)
    assert loaded.meta["box"] == "detector" and loaded.scheme.name == "studio89"
    blank = np.full((1, 256, 256, 3), 128, np.uint8)  # the detector finds no face here
    images = np.concatenate([faces, blank])
    detector = dlib.get_frontal_face_detector()
    misses = [len(detector(np.ascontiguousarray(im), 0)) == 0 for im in images]
    assert misses[-1]
    pred = loaded.predict(images)
    assert loaded.detector_fallbacks == sum(misses) >= 1
    for b, missed in enumerate(misses):  # a fallback is predicted from the margin box, as in training
        if missed:
            assert np.array_equal(pred[b], model.predict(images[b:b + 1])[0])
    assert DlibERT.load(external, box="margin", margin=0.25).meta["box"] == "margin"


def test_bad_files_are_one_line_errors(tmp_path, trained):
    with pytest.raises(FacebenchError, match="not found"):
        DlibERT.load(tmp_path / "missing.dat")
    junk = tmp_path / "junk.dat"
    junk.write_bytes(b"not a predictor")
    with pytest.raises(FacebenchError, match="not a dlib shape predictor"):
        DlibERT.load(junk)
    with pytest.raises(FacebenchError, match="expects"):
        trained[0].predict(np.zeros((2, 64, 32, 3), np.uint8))


def test_facebench_run_trains_then_evaluates_a_checkpoint(tiny_prepared, tmp_path):
    from click.testing import CliRunner

    from facebench.cli import cli

    common = ["run", "--method", "dlib-ert", "--res", "256", "--preset", "smoke", "--data", str(tiny_prepared),
              "--out", str(tmp_path / "runs")]
    result = CliRunner().invoke(cli, common + ["--name", "trained"])
    assert result.exit_code == 0, result.output
    model = tmp_path / "runs" / "trained" / "model.dat"
    assert model.is_file() and model.with_name("model.dat.json").is_file()
    external = tmp_path / "external.dat"
    shutil.copy(model, external)  # no sidecar: evaluated like dlib's public model (detector box)
    result = CliRunner().invoke(cli, common + ["--name", "checked", "--checkpoint", str(external)])
    assert result.exit_code == 0, result.output
    metrics = json.loads((tmp_path / "runs" / "checked" / "metrics.json").read_text())
    assert metrics["status"] == "ok" and 0.0 < metrics["nme"] < 1.0
    result = CliRunner().invoke(cli, common + ["--name", "bad", "-o", "tree_depth=deep"])
    assert result.exit_code == 2 and "tree_depth must be a number" in result.output
