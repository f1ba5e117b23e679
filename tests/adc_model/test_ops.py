import numpy as np
import pytest
import torch

from adc_model.ops import roi_crop, roi_crop_batch, soft_argmax2d, spatial_softmax2d, subsamples_for
from facebench.core import geometry


def test_soft_argmax_of_one_hot_is_its_peak():
    heat = torch.zeros(2, 3, 7, 9)
    peaks = [(0, 0), (8, 6), (3, 2), (5, 1), (0, 6), (7, 4)]  # (x, y)
    for k, (x, y) in enumerate(peaks):
        heat[k // 3, k % 3, y, x] = 1.0
    assert torch.equal(soft_argmax2d(heat), torch.tensor(peaks, dtype=torch.float32).reshape(2, 3, 2))


def test_soft_argmax_of_uniform_is_the_centre_and_of_two_pixels_their_midpoint():
    uniform = torch.full((1, 1, 4, 6), 1 / 24)
    assert torch.allclose(soft_argmax2d(uniform), torch.tensor([[[2.5, 1.5]]]))
    two = torch.zeros(1, 1, 4, 6)
    two[0, 0, 1, 1] = two[0, 0, 3, 4] = 0.5
    assert torch.allclose(soft_argmax2d(two), torch.tensor([[[2.5, 2.0]]]))


def test_spatial_softmax_sums_to_one_per_channel_and_keeps_order():
    logits = torch.randn(2, 5, 6, 7, generator=torch.Generator().manual_seed(0))
    p = spatial_softmax2d(logits)
    assert torch.allclose(p.sum(dim=(-2, -1)), torch.ones(2, 5))
    assert torch.equal(p.flatten(2).argmax(-1), logits.flatten(2).argmax(-1))


def test_gradcheck_softmax_and_soft_argmax():
    logits = torch.randn(1, 2, 4, 5, dtype=torch.float64, generator=torch.Generator().manual_seed(1),
                         requires_grad=True)
    assert torch.autograd.gradcheck(lambda x: soft_argmax2d(spatial_softmax2d(x)), (logits,))


def test_gradcheck_roi_crop_wrt_boxes_and_image():
    g = torch.Generator().manual_seed(2)
    image = torch.rand(1, 14, 15, dtype=torch.float64, generator=g, requires_grad=True)
    # Non-integer corners (bilinear sampling is smooth between pixel centres); the second box is
    # larger than 4 * 2 px, so it is averaged from k = 3 samples per crop pixel and axis.
    boxes = torch.tensor([[3.21, 4.13, 9.77, 10.31], [0.33, 1.27, 11.91, 12.87]], dtype=torch.float64,
                         requires_grad=True)
    assert subsamples_for(11.58, 4) == 3
    assert torch.autograd.gradcheck(lambda b, im: roi_crop(im, b, 4), (boxes, image))


def test_roi_crop_of_the_whole_image_at_its_size_is_the_image():
    image = torch.randint(0, 256, (3, 16, 16), dtype=torch.uint8, generator=torch.Generator().manual_seed(3))
    crop = roi_crop(image, torch.from_numpy(geometry.full_image_box(16))[None], 16)
    assert crop.dtype == torch.float64 and torch.equal(crop[0], image.double())


def test_roi_crop_of_a_linear_ramp_samples_the_crop_pixel_centres():
    # Bilinear interpolation and k x k averaging reproduce a linear function exactly, so each crop
    # pixel holds the ramp's value at that pixel's centre mapped to the image (from_crop).
    h, w = 40, 50
    ys, xs = torch.meshgrid(torch.arange(h, dtype=torch.float64), torch.arange(w, dtype=torch.float64), indexing="ij")
    ramp = torch.stack([xs, ys])
    box = torch.tensor([[5.3, 7.1, 29.7, 33.2]], dtype=torch.float64)   # 24.4 x 26.1 px -> 8 px: k = 4
    crop = roi_crop(ramp, box, 8)[0]
    c = torch.arange(8, dtype=torch.float64)
    grid = torch.stack(torch.meshgrid(c, c, indexing="xy"), dim=-1)    # (8, 8, 2) crop pixel centres (x, y)
    expected = geometry.from_crop(grid.reshape(-1, 2), box[0], 8).reshape(8, 8, 2)
    assert torch.allclose(crop.permute(1, 2, 0), expected, atol=1e-9)


def test_roi_crop_does_not_alias_when_a_large_region_shrinks():
    # A one-pixel checkerboard shrunk 16x: point sampling would return pure black or white, the
    # RoIAlign average over 8 x 8 samples per output pixel is mid-grey.
    ys, xs = np.mgrid[0:256, 0:256]
    board = torch.from_numpy(((xs + ys) % 2 * 255).astype(np.uint8))[None]
    crop = roi_crop(board, torch.tensor([[-0.5, -0.5, 255.5, 255.5]]), 16)
    assert crop.dtype == torch.float32
    assert torch.allclose(crop, torch.full_like(crop, 127.5), atol=1.0)
    assert subsamples_for(256, 16) == 16 and subsamples_for(1000, 16, 8) == 8 and subsamples_for(30, 32) == 1


def test_roi_crop_replicates_the_border_outside_the_image():
    image = torch.arange(4 * 4, dtype=torch.float64).reshape(1, 4, 4)
    crop = roi_crop(image, torch.tensor([[-4.5, -0.5, -0.5, 3.5]], dtype=torch.float64), 4)  # left of the image
    assert torch.allclose(crop[0, 0], image[0, :, :1].expand(4, 4))


def test_roi_crop_batch_shapes_and_device():
    images = torch.zeros(2, 3, 32, 32, dtype=torch.uint8)
    boxes = torch.tensor([[[0.0, 0.0, 10.0, 10.0]] * 4] * 2)
    out = roi_crop_batch(images, boxes, 8)
    assert out.shape == (2, 4, 3, 8, 8) and out.device == boxes.device


def test_roi_crop_rejects_bad_shapes():
    with pytest.raises(ValueError):
        roi_crop(torch.zeros(3, 8, 8), torch.zeros(4), 4)
