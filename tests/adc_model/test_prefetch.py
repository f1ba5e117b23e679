import pickle

import numpy as np
import pytest
import torch

from adc_model.method import RegionPrefetch
from adc_model.ops import roi_crop
from adc_model.regions import region_boxes, region_indices
from facebench.core.tiled import TiledImage
from facebench.nn.dataset import LandmarkDataset


@pytest.fixture(scope="module")
def prepared_512(tmp_path_factory, tiny_capture):
    from facebench.data.prepare import PrepareOptions, prepare

    out = tmp_path_factory.mktemp("prefetch") / "data"
    prepare(out, studio=(tiny_capture,), options=PrepareOptions(resolutions=(256, 512)), workers=1, progress=False)
    return out


def test_worker_prefetch_leaves_nothing_to_decode_for_the_ground_truth_boxes(prepared_512, monkeypatch):
    data = LandmarkDataset(prepared_512, "train", 512, proxy_res=256, augment="standard")
    prefetch = RegionPrefetch(region_indices(data.scheme), margin=0.25, min_side=0.125, crop=32)
    data.prefetch = prefetch
    torch.manual_seed(0)
    item = pickle.loads(pickle.dumps(data[0]))          # as a DataLoader worker hands it over
    decoded = []
    real = TiledImage._decode_tile
    monkeypatch.setattr(TiledImage, "_decode_tile", lambda self, raw: decoded.append(1) or real(self, raw))
    boxes = region_boxes(item["landmarks"].double()[None], prefetch.regions, 512, 0.25, 0.125 * 512)[0]
    with_prefetch = roi_crop(item["image"], boxes, 32, affine=item["affine"].double())
    assert decoded == []                                  # every tile was decoded in the "worker"
    torch.manual_seed(0)
    data.prefetch = None
    plain = data[0]
    without = roi_crop(plain["image"], boxes, 32, affine=plain["affine"].double())
    assert len(decoded) > 0
    torch.testing.assert_close(with_prefetch, without, rtol=0, atol=0)   # prefetching changes no pixel
    assert np.isfinite(with_prefetch.numpy()).all()
