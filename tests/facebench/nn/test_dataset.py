"""The torch ``Dataset`` over a prepared split (facebench/nn/dataset.py)."""

import numpy as np
import pytest
import torch

from facebench.core.errors import FacebenchError
from facebench.core.pixels import resample
from facebench.core.prepared import PreparedDataset
from facebench.core.tiled import PyramidImage, TiledImage
from facebench.nn.dataset import LandmarkDataset


def test_torch_dataset_items(tiny_prepared):
    ds = PreparedDataset(tiny_prepared)
    data = LandmarkDataset(ds, "train", 128)
    assert len(data) == 8 and data.scheme.name == "studio89"
    item = data[3]
    assert set(item) == {"image", "landmarks", "proxy", "proxy_landmarks", "box", "id"}
    assert item["image"].dtype == torch.uint8 and item["image"].shape == (3, 128, 128)
    assert item["proxy"].dtype == torch.uint8 and item["proxy"].shape == (3, 256, 256)
    assert item["landmarks"].dtype == torch.float32 and item["landmarks"].shape == (89, 2)
    assert item["box"].dtype == torch.float64 and item["box"].shape == (4,)
    rows = ds.split("train")
    assert item["id"] == rows["id"][3]
    np.testing.assert_array_equal(item["proxy"].permute(1, 2, 0).numpy(), ds.load_image(item["id"], 256))
    np.testing.assert_array_equal(item["image"].permute(1, 2, 0).numpy(), ds.load_image(item["id"], 128))
    np.testing.assert_allclose(item["landmarks"].numpy(), ds.landmarks(rows, 128)[3], atol=1e-4)
    np.testing.assert_allclose(item["proxy_landmarks"].numpy(), ds.landmarks(rows, 256)[3], atol=1e-4)
    np.testing.assert_array_equal(item["box"].numpy(), rows["box"][3])
    batch = next(iter(torch.utils.data.DataLoader(data, batch_size=4)))
    assert batch["image"].shape == (4, 3, 128, 128) and len(batch["id"]) == 4


def test_items_decode_only_what_they_need(tiny_prepared, monkeypatch):
    reads = []
    real = TiledImage._decode
    monkeypatch.setattr(TiledImage, "_decode", lambda self, tiles: reads.append((self.path, len(tiles))) or
                        real(self, tiles))
    LandmarkDataset(tiny_prepared, "test", 128)[0]              # R < P: both decoded whole
    assert [p.parent.name for p, _ in reads] == ["256", "128"]
    reads.clear()
    item = LandmarkDataset(tiny_prepared, "test", 256)[0]        # R == P: one image
    assert len(reads) == 1 and item["proxy"] is item["image"]
    reads.clear()
    item = LandmarkDataset(tiny_prepared, "test", 256, proxy_res=128)[0]   # R > P: the proxy only
    assert [p.parent.name for p, _ in reads] == ["128"] and isinstance(item["image"], PyramidImage)
    window = item["image"].read(10, 60, 20, 90)                 # a window decodes the tiles under it
    assert [p.parent.name for p, _ in reads] == ["128", "256"] and reads[-1][1] == 1
    np.testing.assert_array_equal(window, PreparedDataset(tiny_prepared).load_image(item["id"], 256)[10:60, 20:90])


def test_a_proxy_below_the_smallest_level_is_area_averaged_from_it(tiny_prepared):
    ds = PreparedDataset(tiny_prepared)                       # levels 128 and 256
    assert (ds.proxy_level(64), ds.proxy_level(128), ds.proxy_level(200), ds.proxy_level(512)) == (128, 128, 256, None)
    item = LandmarkDataset(ds, "test", 256, proxy_res=64)[1]
    assert item["proxy"].shape == (3, 64, 64)
    np.testing.assert_array_equal(item["proxy"].permute(1, 2, 0).numpy(), resample(ds.load_image(item["id"], 128), 64))
    np.testing.assert_allclose(item["proxy_landmarks"].numpy(), ds.landmarks(ds.split("test"), 64)[1], atol=1e-4)
    with pytest.raises(FacebenchError, match="no prepared resolution is at least 512"):
        ds.load_proxy(item["id"], 512)
    with pytest.raises(FacebenchError, match="resolution 512 was not prepared"):
        LandmarkDataset(ds, "test", 256, proxy_res=512)


def test_max_samples_spreads_over_the_split(tiny_prepared):
    data = LandmarkDataset(tiny_prepared, "train", 256, max_samples=3)
    rows = PreparedDataset(tiny_prepared).split("train")
    assert data.ids == [rows["id"][0], rows["id"][4], rows["id"][7]]
