import cv2
import numpy as np
import pandas as pd
import pytest

from facebench.core.errors import FacebenchError
from facebench.core.prepared import PreparedDataset
from facebench.core.tiled import TILE, ArrayImage, PyramidImage, TiledImage, decode_tiff, encode_tiff, tiff_size


def _image(h: int, w: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (h, w, 3), dtype=np.uint8)


def test_tiff_round_trip_and_windows_are_exact(tmp_path):
    image = _image(300, TILE * 2 + 7)               # edge tiles only partly inside the image
    path = tmp_path / "a.tif"
    path.write_bytes(encode_tiff(image))
    assert tiff_size(path) == (image.shape[1], image.shape[0])
    np.testing.assert_array_equal(decode_tiff(path), image)
    source = TiledImage(path)
    for r0, r1, c0, c1 in [(0, 1, 0, 1), (10, 290, 250, 263), (255, 257, 511, 519), (299, 300, 0, 519)]:
        np.testing.assert_array_equal(source.read(r0, r1, c0, c1), image[r0:r1, c0:c1])
    lut = np.random.default_rng(1).integers(0, 256, (256, 1, 3), dtype=np.uint8)
    np.testing.assert_array_equal(TiledImage(path, lut).read(5, 50, 100, 300), cv2.LUT(image[5:50, 100:300], lut))
    np.testing.assert_array_equal(ArrayImage(image, lut).read(5, 50, 100, 300), cv2.LUT(image[5:50, 100:300], lut))


def test_a_window_decodes_only_the_tiles_under_it(tmp_path, monkeypatch):
    path = tmp_path / "a.tif"
    path.write_bytes(encode_tiff(_image(4 * TILE, 4 * TILE)))
    decoded = []
    real = TiledImage._decode_tile
    monkeypatch.setattr(TiledImage, "_decode_tile", lambda self, data: decoded.append(1) or real(self, data))
    source = TiledImage(path)
    source.read(TILE + 10, TILE + 20, TILE - 5, TILE + 5)     # spans two tiles of sixteen
    assert len(decoded) == 2
    source.read(TILE + 12, TILE + 18, TILE - 3, TILE + 3)     # cached
    assert len(decoded) == 2


def test_damaged_tiff_is_one_clear_error(tmp_path):
    path = tmp_path / "a.tif"
    path.write_bytes(encode_tiff(_image(2 * TILE, 2 * TILE)))
    start, count = int(TiledImage(path)._offsets[3]), int(TiledImage(path)._counts[3])
    data = bytearray(path.read_bytes())
    data[start:start + count] = b"\0" * count                 # the last tile's compressed data
    path.write_bytes(bytes(data))
    with pytest.raises(FacebenchError, match="cannot be decoded") as err:
        decode_tiff(path)
    assert "a.tif" in str(err.value)
    (tmp_path / "b.tif").write_bytes(b"not a tiff at all")
    with pytest.raises(FacebenchError, match="cannot be decoded"):
        TiledImage(tmp_path / "b.tif")


@pytest.fixture(scope="module")
def both_formats(tmp_path_factory, tiny_capture):
    """The tiny capture prepared at (128, 256, 512) as TIFF and as PNG."""
    from facebench.data.prepare import PrepareOptions, prepare

    root = tmp_path_factory.mktemp("formats")
    for fmt in ("tiff", "png"):
        prepare(root / fmt, studio=(tiny_capture,), options=PrepareOptions(resolutions=(128, 256, 512), format=fmt),
                workers=1, progress=False)
    return root / "tiff", root / "png"


def test_a_region_read_from_tiff_equals_the_png(both_formats):
    tif, png = (PreparedDataset(p) for p in both_formats)
    assert (tif.format, png.format) == ("tiff", "png")
    pd.testing.assert_frame_equal(tif.manifest, png.manifest)
    rng = np.random.default_rng(0)
    for sample_id in tif.manifest["id"][:4]:
        for res in (128, 256, 512):
            whole = cv2.cvtColor(cv2.imread(str(png.image_path(sample_id, res))), cv2.COLOR_BGR2RGB)
            np.testing.assert_array_equal(tif.load_image(sample_id, res), whole)
            r0, c0 = rng.integers(0, res // 2, 2)
            r1, c1 = r0 + rng.integers(1, res // 2), c0 + rng.integers(1, res // 2)
            np.testing.assert_array_equal(tif.open_image(sample_id, res).read(r0, r1, c0, c1), whole[r0:r1, c0:c1])
            np.testing.assert_array_equal(png.open_image(sample_id, res).read(r0, r1, c0, c1), whole[r0:r1, c0:c1])
        pyramid = tif.open_pyramid(sample_id, 512)
        assert isinstance(pyramid, PyramidImage) and pyramid.levels == (128, 256, 512)
        assert pyramid.level_for(4.0) == 128 and pyramid.level_for(2.5) == 256 and pyramid.level_for(1.0) == 512


@pytest.mark.slow
def test_training_on_either_format_gives_identical_losses(both_formats, tmp_path):
    from facebench.core.presets import get_preset
    from facebench.method import TrainContext
    from facebench.methods import get_method

    logs = []
    for root in both_formats:
        run = tmp_path / root.name
        ctx = TrainContext(data_root=root, res=512, preset=get_preset("smoke"), run_dir=run, device="cpu",
                           epochs=2, progress=False, seed=3)
        get_method("adc").train(ctx)
        logs.append(pd.read_csv(run / "train_log.csv").drop(columns="seconds"))
    assert len(logs[0]) == 2 and np.isfinite(logs[0]["loss"]).all()
    pd.testing.assert_frame_equal(logs[0], logs[1], check_exact=True)
