import json

import cv2
import numpy as np
import pytest
from click.testing import CliRunner

from adc_model.method import ADC
from facebench.cli import cli
from facebench.core import geometry
from facebench.core.errors import FacebenchError
from facebench.core.prepared import PreparedDataset
from facebench.core.presets import get_preset
from facebench.core.pts import ZERO_BASED_TAG, read_pts
from facebench.eval.predict import (
    DetectorCalibration,
    crop_face,
    detect_face,
    face_crop_box,
    landmark_box,
    parse_box,
    predict_images,
    read_rgb,
)
from facebench.method import TrainContext
from tests.conftest import face_points, render_face

pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.fixture(scope="module")
def run(tiny_prepared, tmp_path_factory):
    """A run folder with an adc model trained for one smoke epoch at 128 on the tiny dataset."""
    run_dir = tmp_path_factory.mktemp("runs") / "adc-128"
    method = ADC.train(TrainContext(data_root=tiny_prepared, res=128, preset=get_preset("smoke"), run_dir=run_dir,
                                    device="cpu", progress=False))
    method.save(run_dir / "model.pt")
    (run_dir / "config.json").write_text(json.dumps({"method": "adc", "name": "adc-128", "res": 128, "train_res": 128,
                                                     "preset": "smoke", "data": str(tiny_prepared)}))
    return run_dir


def _photo(tmp_path, size=(480, 400), seed=3, name="photo.png"):
    rng = np.random.default_rng(seed)
    pts = face_points(rng, *size)
    path = tmp_path / name
    cv2.imwrite(str(path), render_face(rng, *size, pts))
    return path, pts


def test_the_crop_is_the_one_prepare_made(tiny_prepared):
    data = PreparedDataset(tiny_prepared)
    margin = json.loads((tiny_prepared / "dataset.json").read_text())["options"]["margin"]
    for _, row in data.manifest.head(3).iterrows():
        points = np.asarray(row["landmarks"]).reshape(-1, 2)
        box = face_crop_box(geometry.points_box(points), margin)
        np.testing.assert_array_equal(box, np.asarray(row["box"]))
        np.testing.assert_array_equal(crop_face(read_rgb(row["src_path"]), box, 128), data.load_image(row["id"], 128))


def test_landmark_box_applies_the_calibration():
    cal = DetectorCalibration(offset=(0.1, -0.2), scale=1.5)
    # Rectangle side 100 centred at (50, 50): centre -> (60, 30), side 150.
    np.testing.assert_allclose(landmark_box(np.array([0.0, 0.0, 100.0, 100.0]), cal), [-15.0, -45.0, 135.0, 105.0])


@pytest.mark.slow
def test_detector_finds_a_drawn_face_at_any_size(tmp_path):
    rng = np.random.default_rng(0)
    pts = face_points(rng, 352, 352)
    image = render_face(rng, 352, 352, pts)[:, :, ::-1].copy()
    small = detect_face(image)
    big = detect_face(cv2.resize(image, (1408, 1408), interpolation=cv2.INTER_LINEAR))  # shrunk for the detector
    assert small is not None and big is not None
    # dlib's rectangle comes from a discrete scale pyramid: same face, similar (not equal) boxes.
    face = geometry.points_box(pts[:68])
    for found, scale in ((small, 1), (big, 4)):
        box = geometry.rescale_boxes(found, scale * 352, 352)
        centre = (box[:2] + box[2:]) / 2
        assert face[0] < centre[0] < face[2] and face[1] < centre[1] < face[3]
        assert 0.5 < (box[2] - box[0]) / (face[2] - face[0]) < 1.5
    assert detect_face(np.full((300, 300, 3), 128, np.uint8)) is None


def test_predict_with_a_box_writes_pts_and_overlay(run, tmp_path):
    photo, pts = _photo(tmp_path)
    face = geometry.points_box(pts)
    out = tmp_path / "out"
    box_text = ",".join(f"{v:.3f}" for v in face)
    result = CliRunner().invoke(cli, ["predict", str(photo), "--run", str(run), "--box", box_text, "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "89 points (--box" in result.output
    pred = read_pts(out / "photo.pts")
    assert pred.shape == (89, 2) and ZERO_BASED_TAG in (out / "photo.pts").read_text()
    first = face_crop_box(face, 0.25)
    assert np.abs(pred.mean(0) - (first[:2] + first[2:]) / 2).max() < 0.5 * (first[2] - first[0])  # photo pixels
    overlay = cv2.imread(str(out / "photo.landmarks.png"))
    assert overlay.shape == (400, 480, 3)


@pytest.mark.slow
def test_predict_detects_the_face_and_maps_back_like_the_model(run, tmp_path):
    photo, _ = _photo(tmp_path, name="face.jpg")
    [one] = predict_images([photo], run, out=tmp_path / "one", passes=1, progress=False)
    [r] = predict_images([photo], run, progress=False)                      # 2 passes
    assert r.detected and r.pts_path == tmp_path / "face.pts" and r.overlay_path.exists()
    # The same numbers by hand: the detector's crop, predict at 128, from_crop ...
    model = ADC.load(run / "model.pt", device="cpu")
    image = read_rgb(photo)
    first = geometry.from_crop(model.predict(crop_face(image, one.crop_box, 128)[None])[0], one.crop_box, 128)
    np.testing.assert_allclose(one.points, first, atol=1e-9)
    np.testing.assert_array_equal(one.crop_box, face_crop_box(landmark_box(detect_face(image)), 0.25))
    # ... then pass 2 on the crop prepare would cut around pass 1's points (when they are plausible).
    again = face_crop_box(geometry.points_box(first), 0.25)
    plausible = 0.5 <= (again[2] - again[0]) / (one.crop_box[2] - one.crop_box[0]) <= 2.0
    np.testing.assert_array_equal(r.crop_box, again if plausible else one.crop_box)
    np.testing.assert_allclose(r.points, geometry.from_crop(model.predict(crop_face(image, r.crop_box, 128)[None])[0],
                                                            r.crop_box, 128), atol=1e-9)
    assert r.crop_box[2] - r.crop_box[0] == r.crop_box[3] - r.crop_box[1]


@pytest.mark.slow
def test_predict_on_a_4k_photo(run, tmp_path):
    rng = np.random.default_rng(5)
    pts = face_points(rng, 512, 384)   # drawn small (the drawing's strokes do not scale), enlarged to 4K
    size = (np.array([512.0, 384.0]), np.array([4096.0, 3072.0]))
    pts = geometry.rescale_points(pts, *size)
    path = tmp_path / "big.jpg"
    face = render_face(rng, 512, 384, geometry.rescale_points(pts, *size[::-1]))
    cv2.imwrite(str(path), cv2.resize(face, (4096, 3072)))
    [r] = predict_images([path], run, out=tmp_path / "o", progress=False)
    assert r.detected and r.crop_box[2] - r.crop_box[0] > 1000
    face = geometry.points_box(pts[:68])
    assert (r.points.mean(0) > face[:2]).all() and (r.points.mean(0) < face[2:]).all()


def test_errors_are_one_line_naming_the_image(run, tmp_path):
    blank = tmp_path / "blank.png"
    cv2.imwrite(str(blank), np.full((200, 200, 3), 90, np.uint8))
    result = CliRunner().invoke(cli, ["predict", str(blank), "--run", str(run)])
    assert result.exit_code == 2 and f"error: {blank}: no face found" in result.output and "--box" in result.output
    broken = tmp_path / "broken.jpg"
    broken.write_bytes(b"not a jpeg")
    result = CliRunner().invoke(cli, ["predict", str(broken), "--run", str(run), "--box", "1,1,50,50"])
    assert result.exit_code == 2 and f"{broken}: cannot decode image" in result.output
    result = CliRunner().invoke(cli, ["predict", str(blank), "--run", str(tmp_path), "--box", "1,1,50,50"])
    assert result.exit_code == 2 and "not a run folder" in result.output
    with pytest.raises(FacebenchError, match="--box"):
        parse_box("10,10,5,20")


def test_an_existing_annotation_is_not_overwritten(run, tmp_path):
    photo, pts = _photo(tmp_path)
    (tmp_path / "photo.pts").write_text("version: 1\nn_points: 1\n{\n1 1\n}\n")
    with pytest.raises(FacebenchError, match="refusing to overwrite"):
        predict_images([photo], run, box=geometry.points_box(pts), progress=False)
    assert (tmp_path / "photo.pts").read_text().startswith("version: 1\nn_points: 1")
