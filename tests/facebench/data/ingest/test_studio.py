import json

import cv2
import numpy as np
import pytest

from facebench.core.errors import FacebenchError
from facebench.core.pts import read_pts, write_pts
from facebench.data.ingest.studio import ingest_studio


def _one_image_capture(root, points, size=(100, 80), name="s1/neutral/cam0"):
    """A capture with one black image and the given landmark-file text or points."""
    img = root / f"{name}.png"
    img.parent.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(img), np.zeros((size[1], size[0], 3), np.uint8))
    if isinstance(points, str):
        img.with_suffix(".pts").write_text(points)
    else:
        write_pts(img.with_suffix(".pts"), points)
    return img


def _pts_text(points, n=None):
    lines = [f"{x} {y}" for x, y in points]
    return f"version: 1\nn_points: {n or len(lines)}\n{{\n" + "\n".join(lines) + "\n}\n"


def test_tiny_capture_records(tiny_capture):
    got = ingest_studio(tiny_capture)
    assert got.kind == "studio" and got.scheme.name == "studio89" and len(got.records) == 16
    r = got.records[0]
    assert (r.id, r.subject, r.sequence, r.view, r.rel_path) == ("s00_e0_cam0", "s00", "e0", "cam0", "s00/e0/cam0")
    assert (r.source, r.split, r.subset, r.frame, r.orig_w, r.orig_h) == ("studio", "", "", -1, 352, 352)
    assert r.src_path.endswith("s00/e0/cam0.png") and r.landmarks.shape == (89, 2)
    np.testing.assert_array_equal(r.landmarks, read_pts(tiny_capture / "s00/e0/cam0.pts"))
    assert len({x.id for x in got.records}) == 16 and got.notes == []


def test_untagged_pts_are_one_based_unless_capture_json_says_zero(tmp_path):
    pts = [(1, 1), (11, 21)] + [(5, 5)] * 66
    _one_image_capture(tmp_path / "a", _pts_text(pts))
    lm = ingest_studio(tmp_path / "a").records[0].landmarks
    np.testing.assert_array_equal(lm[:2], [[0, 0], [10, 20]])   # shifted by -1
    _one_image_capture(tmp_path / "b", _pts_text(pts))
    (tmp_path / "b" / "capture.json").write_text(json.dumps({"pts_base": 0}))
    np.testing.assert_array_equal(ingest_studio(tmp_path / "b").records[0].landmarks[:2], [[1, 1], [11, 21]])


def test_scheme_from_point_count_without_capture_json(tmp_path):
    _one_image_capture(tmp_path, np.full((68, 2), 10.0))
    assert ingest_studio(tmp_path).scheme.name == "ibug68"


def test_two_schemes_mixed_in_one_capture(tmp_path):
    _one_image_capture(tmp_path, np.full((89, 2), 10.0), name="s1/e/cam0")
    _one_image_capture(tmp_path, np.full((68, 2), 10.0), name="s1/e/cam1")
    with pytest.raises(FacebenchError, match=r"cam1.pts: two landmark schemes mixed in one capture"):
        ingest_studio(tmp_path)


def test_capture_json_scheme_is_enforced(tmp_path):
    _one_image_capture(tmp_path, np.full((68, 2), 10.0))
    (tmp_path / "capture.json").write_text(json.dumps({"scheme": "studio89"}))
    with pytest.raises(FacebenchError, match=r"cam0.pts: two landmark schemes .* capture.json"):
        ingest_studio(tmp_path)


def test_unknown_point_count(tmp_path):
    _one_image_capture(tmp_path, np.full((67, 2), 10.0))
    with pytest.raises(FacebenchError, match=r"cam0.pts: no landmark scheme has 67 points"):
        ingest_studio(tmp_path)


def test_far_outside_is_refused_but_the_tolerance_band_is_not(tmp_path):
    pts = np.full((68, 2), 10.0)
    pts[3] = (-0.5 - 0.09 * 100, 80 - 0.5 + 0.09 * 80)          # 9 % outside: accepted
    _one_image_capture(tmp_path / "ok", pts)
    assert len(ingest_studio(tmp_path / "ok").records) == 1
    pts[5] = (100 - 0.5 + 0.11 * 100, 10)                       # 11 % outside: refused
    _one_image_capture(tmp_path / "bad", pts)
    with pytest.raises(FacebenchError, match=r"cam0.pts: landmark 5 at \(110.5, 10.0\) lies far outside"):
        ingest_studio(tmp_path / "bad")


def test_missing_and_empty_folders(tmp_path):
    with pytest.raises(FacebenchError, match="nope: capture folder not found"):
        ingest_studio(tmp_path / "nope")
    (tmp_path / "empty").mkdir()
    with pytest.raises(FacebenchError, match="empty: no <subject>/<expression>/<camera>.pts"):
        ingest_studio(tmp_path / "empty")


def test_pts_without_image_is_an_error_image_without_pts_a_note(tmp_path):
    img = _one_image_capture(tmp_path, np.full((68, 2), 10.0))
    cv2.imwrite(str(img.with_name("cam9.png")), np.zeros((8, 8, 3), np.uint8))
    got = ingest_studio(tmp_path)
    assert len(got.records) == 1 and "1 image(s) without a .pts" in got.notes[0]
    img.unlink()
    with pytest.raises(FacebenchError, match="cam0.pts: no image beside this landmark file"):
        ingest_studio(tmp_path)


def test_landmark_file_outside_the_layout(tmp_path):
    _one_image_capture(tmp_path, np.full((68, 2), 10.0))
    write_pts(tmp_path / "s1" / "loose.pts", np.zeros((68, 2)))
    with pytest.raises(FacebenchError, match="loose.pts: landmark file outside the"):
        ingest_studio(tmp_path)


def test_corrupt_and_truncated_images_are_caught_before_decoding(tmp_path):
    img = _one_image_capture(tmp_path / "a", np.full((68, 2), 10.0))
    img.write_bytes(b"this is not an image")
    with pytest.raises(FacebenchError, match="cam0.png: not a readable image"):
        ingest_studio(tmp_path / "a")
    img = _one_image_capture(tmp_path / "b", np.full((68, 2), 10.0))
    data = img.read_bytes()
    img.write_bytes(data[: len(data) - 20])   # lose the IEND chunk
    with pytest.raises(FacebenchError, match="cam0.png: corrupt image: the PNG data is truncated"):
        ingest_studio(tmp_path / "b")
