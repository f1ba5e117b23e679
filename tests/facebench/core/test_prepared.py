import json
import shutil

import cv2
import numpy as np
import pytest

from facebench.core import geometry
from facebench.core.errors import FacebenchError
from facebench.core.prepared import PreparedDataset
from facebench.core.pts import write_pts
from facebench.data.prepare import PrepareOptions, prepare
from facebench.nn.dataset import LandmarkDataset


def test_reader_attributes_and_splits(tiny_prepared):
    ds = PreparedDataset(tiny_prepared)
    assert ds.resolutions == (128, 256) and ds.scheme.name == "studio89" and len(ds) == 16
    assert ds.info["counts"]["train"] == 8
    train, test = ds.split("train"), ds.split("test")
    assert len(train) == len(test) == 8 and list(train.index) == list(range(8))
    assert not set(train["subject"]) & set(test["subject"])
    order = list(ds.manifest["id"])
    assert [order.index(i) for i in train["id"]] == sorted(order.index(i) for i in train["id"])   # manifest order
    with pytest.raises(FacebenchError, match="unknown split 'val'"):
        ds.split("val")


def test_landmarks_follow_geometry_between_resolutions(tiny_prepared):
    ds = PreparedDataset(tiny_prepared)
    rows = ds.split("test")
    at128, at256 = ds.landmarks(rows, 128), ds.landmarks(rows, 256)
    assert at128.shape == (8, 89, 2) and at128.dtype == np.float64
    np.testing.assert_allclose(geometry.rescale_points(at128, 128, 256), at256, atol=1e-9)
    src = np.asarray(rows["landmarks"][0]).reshape(89, 2)
    np.testing.assert_allclose(geometry.from_crop(at256[0], np.asarray(rows["box"][0]), 256), src, atol=1e-9)
    assert ds.landmarks(rows.iloc[:0], 256).shape == (0, 89, 2)


def test_landmarks_sit_on_the_drawn_dots(tiny_prepared):
    # the fixture draws a dark dot on every landmark of a lighter face: at R the pixels nearest
    # the landmarks must be much darker than the crop on average
    ds = PreparedDataset(tiny_prepared)
    rows = ds.split("train")
    pts = np.round(ds.landmarks(rows, 256)).astype(int)
    for sample_id, p in zip(rows["id"], pts):
        img = ds.load_image(sample_id, 256).astype(float).mean(-1)
        assert img[p[:, 1], p[:, 0]].mean() < 0.6 * img.mean()


def test_load_image_is_rgb(tmp_path):
    cap = tmp_path / "cap" / "s0" / "e" / "c.png"
    cap.parent.mkdir(parents=True)
    img = np.zeros((300, 300, 3), np.uint8)
    img[..., 2] = 255                                     # red, in OpenCV's BGR order
    cv2.imwrite(str(cap), img)
    pts = np.stack([np.linspace(60, 240, 68), np.linspace(60, 240, 68)], 1)
    write_pts(cap.with_suffix(".pts"), pts)
    prepare(tmp_path / "out", studio=[tmp_path / "cap"], options=PrepareOptions(resolutions=(256,)),
            workers=1, progress=False)
    got = PreparedDataset(tmp_path / "out").load_image("s0_e_c", 256)
    assert got.shape == (256, 256, 3) and got.dtype == np.uint8
    np.testing.assert_array_equal(got[0, 0], [255, 0, 0])


def test_refusals(tiny_prepared, tmp_path):
    with pytest.raises(FacebenchError, match="resolution 512 was not prepared"):
        LandmarkDataset(tiny_prepared, "train", 512)
    ds = PreparedDataset(tiny_prepared)
    with pytest.raises(FacebenchError, match="no sample 'nope'"):
        ds.image_path("nope", 256)
    with pytest.raises(FacebenchError, match="prepared dataset folder not found"):
        PreparedDataset(tmp_path / "missing")
    with pytest.raises(FacebenchError, match="no manifest.parquet .make one with"):
        PreparedDataset(tmp_path)
    copy = tmp_path / "copy"
    shutil.copytree(tiny_prepared, copy)
    victim = PreparedDataset(copy).image_path(ds.manifest["id"][0], 256)
    victim.write_bytes(b"broken")
    with pytest.raises(FacebenchError, match=f"{victim.name}: image cannot be decoded"):
        PreparedDataset(copy).load_image(ds.manifest["id"][0], 256)
    (copy / "dataset.json").write_text("{not json")
    with pytest.raises(FacebenchError, match="damaged prepared dataset"):
        PreparedDataset(copy)


def test_skip_mode_dataset_leaves_out_samples_without_the_image(tmp_path, make_studio):
    cap = make_studio(tmp_path / "cap", subjects=2, expressions=1, cameras=1, size=352)
    # one more subject drawn at twice the size: its crop is >= 512, the others' are not
    big = make_studio(tmp_path / "big", subjects=1, expressions=1, cameras=1, size=704, seed=9)
    (big / "s00").rename(cap / "s99")
    prepare(tmp_path / "out", studio=[cap], options=PrepareOptions(resolutions=(256, 512), upsample="skip",
            test_fraction=0.0), workers=1, progress=False)
    assert json.loads((tmp_path / "out" / "dataset.json").read_text())["skipped"]["512"] == 2
    with pytest.warns(UserWarning, match="2 of 3 train samples have no 512 image"):
        data = LandmarkDataset(tmp_path / "out", "train", 512)
    assert data.ids == ["s99_e0_cam0"] and data[0]["image"].levels == (256, 512)
