import numpy as np
import torch

from adc_model.ops import roi_crop
from facebench.core import geometry
from facebench.core.schemes import get_scheme
from facebench.nn.augment_recipe import (
    Recipe,
    augment_sample,
    degrade_crops,
    invert,
    pixel_matrix,
    sample_draw,
    transform_points,
    warp_image,
)
from facebench.nn.dataset import LandmarkDataset


def _smooth_image(size: int, seed: int = 0) -> np.ndarray:
    """A smooth (size, size, 3) uint8 test picture (low-frequency, so resampling errors are small)."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:size, 0:size] / size
    chans = [sum(rng.uniform(20, 40) * np.sin(2 * np.pi * (rng.uniform(0.5, 2) * x + rng.uniform(0.5, 2) * y)
                                              + rng.uniform(0, 6)) for _ in range(3)) + 128 for _ in range(3)]
    return np.clip(np.stack(chans, -1), 0, 255).astype(np.uint8)


def test_one_draw_maps_every_resolution_of_a_sample_alike():
    draw = sample_draw(Recipe(flip=1.0), torch.Generator().manual_seed(3))
    points_256 = np.array([[10.0, 20.0], [128.0, 128.0], [200.5, 40.25]])
    points_1024 = geometry.rescale_points(points_256, 256, 1024)
    a = transform_points(points_256, pixel_matrix(draw.matrix, 256), None)
    b = transform_points(points_1024, pixel_matrix(draw.matrix, 1024), None)
    np.testing.assert_allclose(geometry.rescale_points(b, 1024, 256), a, atol=1e-9)
    m = pixel_matrix(draw.matrix, 256)
    np.testing.assert_allclose(transform_points(a, invert(m), None), points_256, atol=1e-9)


def test_no_op_recipe_is_the_identity():
    draw = sample_draw(Recipe(rotation=0.0, scale=(1.0, 1.0), translation=0.0, flip=0.0, degrade=0.0))
    np.testing.assert_allclose(pixel_matrix(draw.matrix, 64), np.eye(2, 3), atol=1e-12)
    assert (draw.blur, draw.noise, draw.jpeg) == (0.0, 0.0, 100)


def test_warped_image_carries_its_point_where_the_matrix_sends_it():
    image = np.zeros((64, 64, 3), np.uint8)
    image[20, 12] = 255                                   # a dot at (x=12, y=20)
    image = np.asarray(__import__("cv2").GaussianBlur(image, (0, 0), 1.5))
    draw = sample_draw(Recipe(rotation=30.0, flip=1.0), torch.Generator().manual_seed(0))
    m = pixel_matrix(draw.matrix, 64)
    out = warp_image(image, m)
    y, x = np.unravel_index(out[..., 0].argmax(), out.shape[:2])
    np.testing.assert_allclose([x, y], transform_points(np.array([[12.0, 20.0]]), m, None)[0], atol=1.0)


def test_flip_relabels_points_with_the_schemes_permutation():
    scheme = get_scheme("ibug68")
    perm = scheme.flip_permutation()
    draw = sample_draw(Recipe(rotation=0.0, scale=(1.0, 1.0), translation=0.0, flip=1.0))
    m = pixel_matrix(draw.matrix, 100)
    points = np.random.default_rng(0).uniform(0, 99, (68, 2))
    out = transform_points(points, m, perm)
    # Mirror about the vertical centre line x -> 99 - x, then point 36 (left eye outer) is old 45's.
    np.testing.assert_allclose(out[36], [99.0 - points[45, 0], points[45, 1]], atol=1e-9)
    np.testing.assert_allclose(out[8], [99.0 - points[8, 0], points[8, 1]], atol=1e-9)  # chin stays


def test_roi_crop_through_the_affine_equals_the_crop_of_the_warped_image():
    size = 256
    image = _smooth_image(size)
    draw = sample_draw(Recipe(rotation=25.0, flip=1.0), torch.Generator().manual_seed(7))
    m = pixel_matrix(draw.matrix, size)
    warped = warp_image(image, m)
    box = torch.tensor([[80.0, 60.0, 170.0, 150.0]], dtype=torch.float64)
    direct = roi_crop(torch.from_numpy(warped).permute(2, 0, 1), box, 32)
    composed = roi_crop(torch.from_numpy(image).permute(2, 0, 1), box, 32, affine=torch.from_numpy(invert(m)))
    assert (direct - composed).abs().mean() < 1.0      # grey levels: two bilinear resamplings vs one
    plain = roi_crop(torch.from_numpy(image).permute(2, 0, 1), box, 32)
    assert (plain - composed).abs().mean() > 5.0       # and the transform did change the crop


def test_roi_crop_with_identity_affine_is_unchanged_and_differentiable():
    image = torch.from_numpy(_smooth_image(64)).permute(2, 0, 1)
    box = torch.tensor([[10.0, 12.0, 40.0, 50.0]], dtype=torch.float64, requires_grad=True)
    a = roi_crop(image, box, 16)
    b = roi_crop(image, box, 16, affine=torch.eye(2, 3, dtype=torch.float64))
    torch.testing.assert_close(a, b)
    b.sum().backward()
    assert box.grad is not None and box.grad.abs().sum() > 0


def test_degrade_crops_keeps_the_mean_and_passes_gradients():
    crops = torch.full((2, 4, 3, 16, 16), 100.0, dtype=torch.float64, requires_grad=True)
    params = torch.tensor([[1.0, 0.0, 100.0], [0.0, 0.0, 40.0]])
    out = degrade_crops(crops, params)
    torch.testing.assert_close(out[0], crops[0].detach())         # a blurred flat crop stays flat
    assert (out[1] - 100.0).abs().max() <= 2.0                    # JPEG of a flat crop is ~flat
    out.sum().backward()
    torch.testing.assert_close(crops.grad[1], torch.ones_like(crops[1]))   # JPEG: straight through
    torch.testing.assert_close(crops.grad[0, :, :, 4:-4, 4:-4], torch.ones_like(crops[0, :, :, 4:-4, 4:-4]))
    torch.testing.assert_close(crops.grad[0].sum(), torch.tensor(crops[0].numel(), dtype=torch.float64))
    noisy = degrade_crops(crops.detach(), torch.tensor([[0.0, 5.0, 100.0], [0.0, 0.0, 100.0]]),
                          torch.Generator().manual_seed(0))
    assert 3.0 < float((noisy[0] - 100.0).std()) < 7.0 and torch.equal(noisy[1], crops[1].detach())


def test_augment_sample_never_warps_the_r_image_and_keeps_frames_consistent():
    proxy = _smooth_image(64, 1)     # the R = 128 image is not even passed: nothing can warp it
    points = np.random.default_rng(0).uniform(20, 100, (68, 2))
    proxy_points = geometry.rescale_points(points, 128, 64)
    torch.manual_seed(4)
    a = augment_sample(proxy, proxy_points, 128, points, get_scheme("ibug68").flip_permutation())
    np.testing.assert_allclose(geometry.rescale_points(a["landmarks"], 128, 64), a["small_landmarks"], atol=1e-9)
    # The affine maps augmented R px back to source R px: the landmarks come back (up to the relabelling).
    back = transform_points(a["landmarks"], a["affine"], None)
    assert np.allclose(np.sort(back, axis=0), np.sort(points, axis=0), atol=1e-9)
    assert a["small"].shape == proxy.shape and a["lut"].shape == (256, 1, 3)


def test_standard_dataset_items_carry_the_affine_and_degradations(tiny_prepared):
    plain = LandmarkDataset(tiny_prepared, "train", 256, proxy_res=128)
    aug = LandmarkDataset(tiny_prepared, "train", 256, proxy_res=128, augment="standard")
    torch.manual_seed(0)
    item = aug[0]
    assert item["affine"].shape == (2, 3) and item["degrade"].shape == (3,)
    assert torch.equal(item["box"], plain[0]["box"])
    same = LandmarkDataset(tiny_prepared, "train", 128, proxy_res=128, augment="standard")[0]
    torch.testing.assert_close(same["affine"], torch.eye(2, 3, dtype=torch.float64))   # R == P: image warped
    torch.testing.assert_close(same["landmarks"], same["proxy_landmarks"])


def test_a_shrinking_rotated_crop_is_anti_aliased_and_differentiable():
    """A 600 px box rotated by 20 degrees and shrunk to 64 px: the crop equals the area average of
    the rotated image (warped at full resolution, 1:1) within a grey level on a detailed image."""
    import cv2

    size, side = 1024, 600
    image = _smooth_image(size, 3)
    image = cv2.add(image, np.random.default_rng(0).integers(0, 40, image.shape, dtype=np.uint8))   # pixel detail
    centre = np.array([size / 2 - 0.5, size / 2 - 0.5])
    rot = cv2.getRotationMatrix2D(tuple(centre), 20.0, 1.0)             # image px -> rotated frame px
    warped = cv2.warpAffine(image, rot, (size, size), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    x0 = y0 = (size - side) // 2
    reference = cv2.resize(warped[y0:y0 + side, x0:x0 + side].astype(np.float64), (64, 64),
                           interpolation=cv2.INTER_AREA)
    box = torch.tensor([[x0 - 0.5, y0 - 0.5, x0 + side - 0.5, y0 + side - 0.5]], dtype=torch.float64,
                       requires_grad=True)
    inverse = torch.from_numpy(cv2.invertAffineTransform(rot))           # rotated frame px -> image px
    crop = roi_crop(torch.from_numpy(image).permute(2, 0, 1), box, 64, affine=inverse)
    err = np.abs(crop[0].detach().permute(1, 2, 0).numpy() - reference)
    assert err.mean() < 1.0
    crop.sum().backward()
    assert torch.isfinite(box.grad).all() and box.grad.abs().sum() > 0
