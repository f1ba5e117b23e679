import numpy as np
import pytest
import torch

from facebench.core import geometry as g


def test_rescale_round_trip_256_4096_256():
    rng = np.random.default_rng(0)
    p = rng.uniform(-0.5, 255.5, size=(4, 68, 2))
    back = g.rescale_points(g.rescale_points(p, 256, 4096), 4096, 256)
    np.testing.assert_allclose(back, p, atol=1e-9)


def test_rescale_matches_pixel_centres():
    # The centre of pixel 0 at 256 is the centre of the 16x16 block 0..15 at 4096: x = 7.5.
    np.testing.assert_allclose(g.rescale_points(np.array([0.0, 0.0]), 256, 4096), [7.5, 7.5])
    # The image's outer edge (-0.5) maps to the outer edge.
    np.testing.assert_allclose(g.rescale_points(np.array([-0.5, 255.5]), 256, 4096), [-0.5, 4095.5])


def test_crop_round_trip_numpy_and_torch():
    rng = np.random.default_rng(1)
    p = rng.uniform(0, 500, size=(3, 10, 2))
    box = np.array([[12.5, 30.5, 212.5, 230.5], [0.0, 0.0, 50.0, 80.0], [-10, -10, 600, 600]])
    np.testing.assert_allclose(g.from_crop(g.to_crop(p, box, 64), box, 64), p, atol=1e-9)
    t, tb = torch.tensor(p), torch.tensor(box)
    assert torch.allclose(g.from_crop(g.to_crop(t, tb, 64), tb, 64), t, atol=1e-9)


def test_crop_of_whole_image_is_rescale():
    p = np.array([[3.0, 7.0], [255.0, 0.0]])
    np.testing.assert_allclose(g.to_crop(p, g.full_image_box(256), 512), g.rescale_points(p, 256, 512))


def test_square_box_and_snap():
    box = g.square_box(np.array([10.0, 20.0, 30.0, 60.0]), margin=0.25)
    np.testing.assert_allclose(box, [-10.0, 10.0, 50.0, 70.0])  # side 40 * 1.5, centre (20, 40)
    assert box[2] - box[0] == pytest.approx(60.0) and box[3] - box[1] == pytest.approx(60.0)
    snapped = g.snap_to_pixels(box)
    assert snapped[2] - snapped[0] == 60 and (snapped[0] + 0.5) == int(snapped[0] + 0.5)
    assert g.pixel_window(snapped)[2:] == (60, 60)


@pytest.mark.parametrize("box", [[-20.0, 5.0, 80.0, 105.0], [50.0, 50.0, 150.0, 150.0], [-5.0, -5.0, 200.0, 200.0]])
def test_clip_box_keeps_size_and_stays_inside(box):
    b = np.array(box)
    c = g.clip_box(b, 120, 120)
    np.testing.assert_allclose(c[2:] - c[:2], b[2:] - b[:2])
    if b[2] - b[0] <= 120:
        assert c[0] >= -0.5 and c[2] <= 119.5 + 1e-9
    tc = g.clip_box(torch.tensor(b), 120, 120)
    np.testing.assert_allclose(tc.numpy(), c)
