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
    detect_faces,
    draw_overlay,
    face_crop_box,
    landmark_box,
    overlay_sizes,
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


@pytest.fixture(scope="module")
def two_faces(tmp_path_factory):
    """A 720 x 420 photo holding two renders of facebench's own synthesizer (one subject, neutral,
    one camera, 384 px): pasted at 384 px on the left and shrunk to 240 px on the right. Returns
    (path, [landmark box of the big face, of the small face]) in the photo's pixels."""
    from facebench.data.synth.config import SynthConfig
    from facebench.data.synth.generate import generate

    root = tmp_path_factory.mktemp("two_faces")
    generate(root / "cap", SynthConfig(subjects=1, expressions=1, cameras=1, size=384, seed=0), progress=False)
    [image] = sorted((root / "cap").glob("*/*/*.png"))
    face, pts = cv2.imread(str(image)), read_pts(image.with_suffix(".pts"))[:68]
    canvas = np.empty((420, 720, 3), np.uint8)
    canvas[:] = (110, 100, 90)
    canvas[10:394, 10:394] = face
    canvas[100:340, 440:680] = cv2.resize(face, (240, 240), interpolation=cv2.INTER_AREA)
    cv2.imwrite(str(root / "two.png"), canvas)
    big = geometry.points_box(pts) + [10, 10, 10, 10]
    small = geometry.points_box(geometry.rescale_points(pts, 384, 240)) + [440, 100, 440, 100]
    return root / "two.png", [big, small]


def _inside(point, box) -> bool:
    return bool(box[0] < point[0] < box[2] and box[1] < point[1] < box[3])


def test_every_face_is_found_largest_first(two_faces):
    path, (big, small) = two_faces
    found = detect_faces(read_rgb(path))
    assert len(found) == 2
    assert (found[0][2] - found[0][0]) > (found[1][2] - found[1][0])
    assert _inside((found[0][:2] + found[0][2:]) / 2, big) and _inside((found[1][:2] + found[1][2:]) / 2, small)


def test_predict_writes_one_pts_and_overlay_per_face(run, two_faces, tmp_path):
    path, (big, small) = two_faces
    outcome = predict_images([path], run, out=tmp_path, passes=1, progress=False)
    assert outcome.no_face == []
    first, second = outcome.predictions
    assert (first.face, second.face, first.faces) == (0, 1, 2)
    assert first.pts_path == tmp_path / "two.pts" and second.pts_path == tmp_path / "two.face1.pts"
    assert first.overlay_path == tmp_path / "two.landmarks.png"
    assert second.overlay_path == tmp_path / "two.face1.landmarks.png"
    for r, face in ((first, big), (second, small)):
        assert read_pts(r.pts_path).shape == (89, 2) and r.overlay_path.exists()
        assert _inside((r.crop_box[:2] + r.crop_box[2:]) / 2, face)   # the crop is around its own face
    assert first.crop_box[2] - first.crop_box[0] > second.crop_box[2] - second.crop_box[0]


def test_max_faces_and_box_predict_fewer_faces(run, two_faces, tmp_path):
    path, (big, _) = two_faces
    result = CliRunner().invoke(cli, ["predict", str(path), "--run", str(run), "--max-faces", "1", "--passes", "1",
                                      "--out", str(tmp_path / "one")])
    assert result.exit_code == 0, result.output
    written = sorted(p.name for p in (tmp_path / "one").iterdir())
    assert written == ["two.landmarks.png", "two.pts", "two.uncertainty.json"]
    assert "face 0 of" not in result.output
    box = ",".join(f"{v:.2f}" for v in big)
    result = CliRunner().invoke(cli, ["predict", str(path), "--run", str(run), "--box", box, "--passes", "1",
                                      "--out", str(tmp_path / "box")])
    assert result.exit_code == 0 and not (tmp_path / "box" / "two.face1.pts").exists()
    result = CliRunner().invoke(cli, ["predict", str(path), "--run", str(run), "--passes", "1",
                                      "--out", str(tmp_path / "all")])
    assert result.exit_code == 0 and "face 1 of 2" in result.output and (tmp_path / "all" / "two.face1.pts").exists()


def test_an_image_without_a_face_is_named_and_exits_1(run, two_faces, tmp_path):
    blank = tmp_path / "blank.png"
    cv2.imwrite(str(blank), np.full((300, 300, 3), 90, np.uint8))
    result = CliRunner().invoke(cli, ["predict", str(blank), str(two_faces[0]), "--run", str(run), "--passes", "1",
                                      "--out", str(tmp_path / "o")])
    assert result.exit_code == 1, result.output
    assert f"warning: {blank}: no face found" in result.output
    assert (tmp_path / "o" / "two.pts").exists() and not (tmp_path / "o" / "blank.pts").exists()
    other = tmp_path / "other.png"
    cv2.imwrite(str(other), np.full((300, 300, 3), 40, np.uint8))
    result = CliRunner().invoke(cli, ["predict", str(blank), str(other), "--run", str(run),
                                      "--out", str(tmp_path / "p")])
    assert result.exit_code == 2 and "no face found in any of the 2 images" in result.output
    assert not (tmp_path / "p").exists()


def test_overlay_markers_scale_with_the_image():
    assert overlay_sizes((512, 512, 3), 300) == (1, 1)
    assert overlay_sizes((2160, 3840, 3), 1500) == (8, 8)
    assert overlay_sizes((2160, 3840, 3), 300)[0] == 3      # a small face in a 4K photo: markers do not merge

    def marker_width(side: int) -> int:
        canvas = np.zeros((side, side, 3), np.uint8)
        drawn = draw_overlay(canvas, np.array([[side / 2, side / 2]]), np.array([-0.5, -0.5, side - 0.5, side - 0.5]))
        return int((drawn[side // 2, 20:-20, 1] > 0).sum())   # the marker's pixels across its centre row (box excluded)

    small, large = marker_width(512), marker_width(4096)
    assert 1 <= small <= 6 and large >= 3 * small            # radius 1 -> 8 (anti-aliased edges add ~2 px to both)


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
    [one] = predict_images([photo], run, out=tmp_path / "one", passes=1, progress=False).predictions
    [r] = predict_images([photo], run, progress=False).predictions                    # 2 passes
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
    [r] = predict_images([path], run, out=tmp_path / "o", progress=False).predictions
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
