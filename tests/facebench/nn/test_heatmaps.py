"""Gaussian targets and argmax decoding: answers worked out by hand."""

import math

import torch

from facebench.nn.heatmaps import argmax_decode, decode_to_image, heatmap_targets, render_gaussians


def test_render_peak_and_neighbour_values():
    maps = render_gaussians(torch.tensor([[[10.0, 20.0]]]), 64, 64, sigma=1.0)  # (1, 1, 64, 64)
    assert maps.shape == (1, 1, 64, 64)
    assert maps[0, 0, 20, 10].item() == 1.0                        # row = y, column = x
    assert math.isclose(maps[0, 0, 20, 11].item(), math.exp(-0.5), rel_tol=1e-6)
    assert math.isclose(maps[0, 0, 21, 11].item(), math.exp(-1.0), rel_tol=1e-6)
    assert maps.max().item() == 1.0


def test_targets_map_256_landmarks_to_64_grid():
    # (x + 0.5) * 64 / 256 - 0.5: 41.5 -> 10, 81.5 -> 20
    maps = heatmap_targets(torch.tensor([[[41.5, 81.5]]]), 256, 64)
    assert maps[0, 0].argmax().item() == 20 * 64 + 10
    assert maps[0, 0, 20, 10].item() == 1.0


def test_quarter_shift_hand_worked():
    maps = render_gaussians(torch.tensor([[[10.3, 20.0], [5.0, 7.8], [0.2, 63.0]]]), 64, 64)
    dec = argmax_decode(maps)[0]
    assert dec[0].tolist() == [10.25, 20.0]   # right neighbour higher; tie in y: no shift
    assert dec[1].tolist() == [5.0, 7.75]     # rounds up to 8, lower neighbour higher
    assert dec[2].tolist() == [0.0, 63.0]     # border pixels are not shifted


def test_rendered_gaussians_decode_back_within_quantisation():
    g = torch.Generator().manual_seed(0)
    centres = 2.0 + torch.rand(4, 68, 2, generator=g, dtype=torch.float64) * 59.0  # inside [2, 61]
    dec = argmax_decode(render_gaussians(centres, 64, 64))
    err = (dec - centres).abs()
    assert err.max().item() <= 0.25 + 1e-9
    # Without the quarter shift the worst error would approach 0.5; with it, the mean is ~1/8.
    assert 0.08 < err.mean().item() < 0.17


def test_decode_to_image_maps_back_to_256_pixels():
    landmarks = torch.tensor([[[41.5, 81.5], [100.0, 30.25]]], dtype=torch.float64)
    dec = decode_to_image(heatmap_targets(landmarks, 256, 64), 256)
    assert dec[0, 0].tolist() == [41.5, 81.5]
    assert (dec - landmarks).abs().max().item() <= 4 * 0.25 + 1e-9   # 0.25 heatmap px = 1 px at 256
