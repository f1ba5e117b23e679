"""The wild look's wide blur (a Gaussian through an image pyramid): it is the Gaussian it replaces,
moves no impulse whatever its position, keeps shapes and types; and the finish's tiled noise is
the clipped sum it replaces."""

import cv2
import numpy as np
import pytest

from facebench.data.synth.blur import gaussian_blur, levels
from facebench.data.synth.optics import _add_noise


@pytest.mark.parametrize("size,sigma", [(256, 4.5), (301, 9.0), (512, 17.0), (401, 40.0)])
def test_an_impulse_keeps_its_centroid_and_gets_the_asked_sigma(size, sigma):
    assert levels(sigma) >= 1                                  # the pyramid path
    ys, xs = np.mgrid[:size, :size]
    for dy, dx in [(0, 0), (1, 0), (0, 3), (3, 2)]:            # every phase of the halvings
        a = np.zeros((size, size), np.float32)
        py, px = size // 2 + dy, size // 2 + dx     # 5 sigma from the borders
        a[py, px] = 1.0
        b = gaussian_blur(a, sigma).astype(np.float64)
        m = b.sum()
        cy, cx = (b * ys).sum() / m, (b * xs).sum() / m
        assert abs(cy - py) < 1e-3 and abs(cx - px) < 1e-3
        assert np.sqrt((b * (ys - cy) ** 2).sum() / m) == pytest.approx(sigma, rel=0.01)
        ref = cv2.GaussianBlur(a, (0, 0), sigma)
        assert np.abs(b - ref).max() < 0.01 * ref.max()


def test_shapes_types_and_the_narrow_path():
    rng = np.random.default_rng(0)
    img = rng.integers(0, 256, (123, 130, 3)).astype(np.uint8)
    out = gaussian_blur(img, 9.0)
    assert out.shape == img.shape and out.dtype == np.uint8
    ref = cv2.GaussianBlur(img, (0, 0), 9.0).astype(int)
    assert np.abs(out.astype(int) - ref)[10:-10, 10:-10].max() <= 2
    assert (gaussian_blur(img, 1.5) == cv2.GaussianBlur(img, (0, 0), 1.5)).all()     # below 2 x SIGMA_SMALL


def test_tiled_noise_is_the_clipped_sum():
    rng = np.random.default_rng(1)
    for size, t in ((700, 256), (256, 256)):
        img = rng.integers(0, 256, (size, size, 3)).astype(np.uint8)
        img[:50] = 255
        img[50:100] = 0                                        # saturation both ways
        tile = np.round(rng.standard_normal((t, t, 3)) * 9.0)
        reps = -(-size // t)
        want = np.clip(img.astype(np.int16) + np.tile(tile.astype(np.int16), (reps, reps, 1))[:size, :size], 0, 255)
        assert (_add_noise(img.copy(), tile) == want).all()
