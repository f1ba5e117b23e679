import cv2
import numpy as np
import pytest

from facebench.core import geometry
from facebench.core.errors import FacebenchError
from facebench.core.pixels import crop_pixels, resample
from facebench.data.pyramid import CropJob, SourceTask, png_size, run_task, write_png


def _grid(h: int, w: int) -> np.ndarray:
    """(h, w, 3) uint8 whose channel 0 is the row, 1 the column, 2 constant 7."""
    img = np.zeros((h, w, 3), np.uint8)
    img[..., 0] = np.arange(h)[:, None]
    img[..., 1] = np.arange(w)[None, :]
    img[..., 2] = 7
    return img


def test_crop_inside_is_the_exact_pixel_window():
    img = _grid(8, 8)
    # box edges -> pixels: columns 2..4, rows 3..5
    crop = crop_pixels(img, np.array([1.5, 2.5, 4.5, 5.5]))
    np.testing.assert_array_equal(crop, img[3:6, 2:5])


def test_crop_past_the_border_replicates_the_edge():
    img = _grid(4, 4)
    crop = crop_pixels(img, np.array([-2.5, -2.5, 1.5, 1.5]))   # rows/cols -2 .. 1
    assert crop.shape == (4, 4, 3)
    np.testing.assert_array_equal(crop[:, 0, 0], [0, 0, 0, 1])   # rows clipped to 0, 0, 0, 1
    np.testing.assert_array_equal(crop[0, :, 1], [0, 0, 0, 1])   # cols clipped likewise
    # same as OpenCV's BORDER_REPLICATE
    ref = cv2.copyMakeBorder(img[0:2, 0:2], 2, 0, 2, 0, cv2.BORDER_REPLICATE)
    np.testing.assert_array_equal(crop, ref)


def test_crop_entirely_outside_repeats_the_nearest_corner():
    img = _grid(4, 4)
    crop = crop_pixels(img, np.array([5.5, 5.5, 7.5, 7.5]))
    np.testing.assert_array_equal(crop[..., 0], np.full((2, 2), 3))
    np.testing.assert_array_equal(crop[..., 1], np.full((2, 2), 3))


def test_resample_down_is_area_average_and_equal_is_identity():
    crop = np.array([[0, 4, 8, 8], [4, 8, 8, 8], [1, 1, 2, 2], [1, 1, 2, 2]], np.uint8)[..., None].repeat(3, 2)
    np.testing.assert_array_equal(resample(crop, 2)[..., 0], [[4, 8], [1, 2]])   # 2x2 block means
    assert resample(crop, 4) is crop


def test_resample_up_is_bilinear_not_pixel_replication():
    crop = np.array([[0, 100], [0, 100]], np.uint8)[..., None].repeat(3, 2)
    # output centre x -> source (x + .5) / 2 - .5: -0.25, 0.25, 0.75, 1.25 -> 0, 25, 75, 100
    np.testing.assert_array_equal(resample(crop, 4)[0, :, 0], [0, 25, 75, 100])


def test_write_png_is_atomic_and_png_size_reads_the_header(tmp_path):
    img = _grid(5, 9)
    write_png(tmp_path / "a.png", img)
    assert png_size(tmp_path / "a.png") == (9, 5)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.png"]   # no temporary left
    np.testing.assert_array_equal(cv2.imread(str(tmp_path / "a.png")), img)
    (tmp_path / "b.png").write_bytes(b"not a png at all, just bytes")
    assert png_size(tmp_path / "b.png") is None
    assert png_size(tmp_path / "missing.png") is None


def test_run_task_writes_each_level_from_the_crop_and_points_follow_geometry(tmp_path):
    # A white 2x2 block at source pixels x 20..21, y 30..31; the crop box starts at x=10, y=14.
    src = np.zeros((64, 64, 3), np.uint8)
    src[30:32, 20:22] = 255
    cv2.imwrite(str(tmp_path / "src.png"), src)
    box = (9.5, 13.5, 41.5, 45.5)                                     # 32 x 32 pixels
    targets = ((32, str(tmp_path / "32.png")), (16, str(tmp_path / "16.png")))
    n = run_task(SourceTask(str(tmp_path / "src.png"), (64, 64), (CropJob(box, targets),)))
    assert n == 1
    full = cv2.imread(str(tmp_path / "32.png"))
    np.testing.assert_array_equal(full, src[14:46, 10:42])
    half = cv2.imread(str(tmp_path / "16.png"))
    ys, xs = np.nonzero(half[..., 0])
    # the block's centre (20.5, 30.5) maps to one whole output pixel: (5, 8)
    np.testing.assert_allclose(geometry.to_crop(np.array([[20.5, 30.5]]), np.array(box), 16), [[5, 8]])
    assert list(zip(xs, ys)) == [(5, 8)] and half[8, 5, 0] == 255


def test_run_task_refuses_an_undecodable_image(tmp_path):
    bad = tmp_path / "bad.png"
    bad.write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00" * 64)
    task = SourceTask(str(bad), (8, 8), (CropJob((-0.5, -0.5, 7.5, 7.5), ((8, str(tmp_path / "o.png")),)),))
    with pytest.raises(FacebenchError, match="bad.png: corrupt image"):
        run_task(task)
    assert not (tmp_path / "o.png").exists()
