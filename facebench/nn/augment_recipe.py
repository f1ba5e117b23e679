"""The training recipe every neural method shares (``augment="standard"``, on in every preset): per
training sample one random similarity transform (rotation, scale, translation), a horizontal flip
that relabels points with the scheme's flip permutation, the colour look-up table of
:mod:`facebench.nn.augment`, and blur / sensor noise / JPEG. The paper describes no recipe; these are
the field's usual choices (stacked hourglass, FAN and HRNet face training: rotation of a few tens
of degrees, scale +-15-25 %, flip, colour), documented in docs/RESULTS.md.

**One transform, two frames.** The transform is defined in the unit square of the crop
(``u = (x + 0.5) / S``, the frame in which every prepared resolution of a sample is the same
picture), so one draw gives the pixel matrices of the 256 proxy and of the R image alike
(:func:`pixel_matrix`). The holistic methods and ADC's proxy are warped with it (256 px, cheap).
ADC's R image is never warped: the dataset hands the model the matrix that maps augmented R pixels
to source R pixels, and the RoI crop composes it into its sampling grid
(``adc_model.ops.roi_crop(..., affine=...)``), so the cost stays that of the crops at any R.
Degradations of ADC's crops are applied to the crops themselves (:func:`degrade_crops`), at the
scale the regional network sees, for the same reason.

**Why not kornia or albumentations.** Both would warp / degrade the whole R image (4096² per
sample), which is what ADC's design avoids; the parameters of one draw must drive the proxy warp,
the crop grids of a never-warped image and the crop degradations together, which neither library's
pipelines expose. What is left is one OpenCV call each (``warpAffine``, ``GaussianBlur``,
``imencode``); OpenCV is already a dependency, so a new one (albumentations pulls pydantic, albucore
and scipy; kornia pulls kornia-rs) would buy nothing here.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

from facebench.nn.augment import apply_lut, random_colour_lut


@dataclass(frozen=True)
class Recipe:
    """Ranges of the random training transform (uniform unless said otherwise)."""

    rotation: float = 25.0            # degrees, +-
    scale: tuple[float, float] = (0.85, 1.15)   # log-uniform zoom about the crop centre
    translation: float = 0.05         # fraction of the crop side, +- per axis
    flip: float = 0.5                 # probability of a horizontal flip (points relabelled)
    degrade: float = 0.25             # probability of each of blur, noise and JPEG, independently
    blur: tuple[float, float] = (0.4, 1.5)       # Gaussian blur std, px of the image the net sees
    noise: tuple[float, float] = (2.0, 8.0)      # Gaussian noise std, grey levels
    jpeg: tuple[int, int] = (35, 90)             # JPEG quality


RECIPE = Recipe()


@dataclass(frozen=True)
class Draw:
    """One sample's random transform. ``matrix`` (2, 3) maps unit-square source coordinates to
    unit-square augmented coordinates; ``flip`` says whether points must be relabelled;
    ``blur`` / ``noise`` (0 = none) and ``jpeg`` (100 = none) are the degradations."""

    matrix: np.ndarray
    flip: bool
    blur: float
    noise: float
    jpeg: int

    def degrade_params(self) -> np.ndarray:
        """(3,) float32 (blur std, noise std, JPEG quality), as :func:`degrade_crops` takes them."""
        return np.array([self.blur, self.noise, self.jpeg], dtype=np.float32)


NO_DEGRADE = np.array([0.0, 0.0, 100.0], dtype=np.float32)


def sample_draw(recipe: Recipe = RECIPE, generator: torch.Generator | None = None) -> Draw:
    """Draw one transform from torch's RNG (seeded per epoch and per DataLoader worker by training)."""
    u = torch.rand(11, generator=generator, dtype=torch.float64).numpy()
    angle = np.deg2rad((2.0 * u[0] - 1.0) * recipe.rotation)
    lo, hi = np.log(recipe.scale[0]), np.log(recipe.scale[1])
    scale = float(np.exp(lo + u[1] * (hi - lo)))
    shift = (2.0 * u[2:4] - 1.0) * recipe.translation
    flip = bool(u[4] < recipe.flip)
    c, s = np.cos(angle) * scale, np.sin(angle) * scale
    linear = np.array([[c, -s], [s, c]])
    if flip:
        linear = linear @ np.diag([-1.0, 1.0])      # mirror first, then rotate and zoom
    centre = np.array([0.5, 0.5])
    matrix = np.concatenate([linear, (centre + shift - linear @ centre)[:, None]], axis=1)
    blur = recipe.blur[0] + u[6] * (recipe.blur[1] - recipe.blur[0]) if u[5] < recipe.degrade else 0.0
    noise = recipe.noise[0] + u[8] * (recipe.noise[1] - recipe.noise[0]) if u[7] < recipe.degrade else 0.0
    jpeg = int(round(recipe.jpeg[0] + u[10] * (recipe.jpeg[1] - recipe.jpeg[0]))) if u[9] < recipe.degrade else 100
    return Draw(matrix, flip, float(blur), float(noise), jpeg)


def pixel_matrix(unit: np.ndarray, size: int) -> np.ndarray:
    """The (2, 3) unit-square matrix ``unit`` in the pixels of a ``size`` square image (pixel
    centres at integers: ``x = size * u - 0.5``)."""
    to_px = np.array([[size, 0.0, -0.5], [0.0, size, -0.5], [0.0, 0.0, 1.0]])
    to_unit = np.linalg.inv(to_px)
    full = np.vstack([unit, [0.0, 0.0, 1.0]])
    return (to_px @ full @ to_unit)[:2]


def invert(matrix: np.ndarray) -> np.ndarray:
    """Inverse of a (2, 3) affine matrix."""
    return np.linalg.inv(np.vstack([matrix, [0.0, 0.0, 1.0]]))[:2]


def transform_points(points: np.ndarray, matrix: np.ndarray, flip_permutation: tuple[int, ...] | None) -> np.ndarray:
    """Points (N, 2) through a (2, 3) pixel matrix; with a flip, relabelled so that point i of the
    result is the mirrored image's point i (``flip_permutation``, e.g. left eye corner <-> right)."""
    out = points @ matrix[:, :2].T + matrix[:, 2]
    return out[list(flip_permutation)] if flip_permutation is not None else out


def warp_image(image: np.ndarray, matrix: np.ndarray) -> np.ndarray:
    """(S, S, 3) uint8 through a (2, 3) pixel matrix (source -> augmented) -> (S, S, 3) uint8,
    bilinear, border replicated (as ``facebench prepare`` pads)."""
    import cv2

    size = image.shape[0]
    return cv2.warpAffine(image, matrix, (size, size), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)


def degrade_image(image: np.ndarray, draw: Draw, generator: torch.Generator | None = None) -> np.ndarray:
    """Blur, then noise, then JPEG (the order a camera and a file apply them): (H, W, 3) uint8 ->
    (H, W, 3) uint8. A draw without degradations returns ``image`` itself."""
    import cv2

    out = image
    if draw.blur > 0:
        out = cv2.GaussianBlur(out, (0, 0), draw.blur, borderType=cv2.BORDER_REPLICATE)
    if draw.noise > 0:
        noise = torch.randn(out.shape, generator=generator, dtype=torch.float32).numpy() * draw.noise
        out = np.clip(out.astype(np.float32) + noise, 0, 255).round().astype(np.uint8)
    if draw.jpeg < 100:
        out = _jpeg_rgb(out, int(draw.jpeg))
    return out


def degrade_crops(crops: Tensor, params: Tensor, generator: torch.Generator | None = None) -> Tensor:
    """ADC's crops degraded as :func:`degrade_image` degrades an image, per sample.

    crops: (B, K, C, S, S) float 0..255 (differentiable w.r.t. the boxes); params: (B, 3) (blur std
    in crop px, noise std in grey levels, JPEG quality; 0 / 0 / 100 = none). Blur and noise keep
    the gradient; JPEG is applied straight-through (its rounding has no useful gradient).
    """
    b, k, c, h, w = crops.shape
    out = []
    for i in range(b):
        blur, noise, quality = (float(v) for v in params[i])
        x = crops[i]                                                   # (K, C, S, S)
        if blur > 0:
            x = _gaussian_blur(x, blur)
        if noise > 0:
            x = x + torch.randn(x.shape, generator=generator, dtype=x.dtype).to(x.device) * noise
        if quality < 100:
            x = x + (_jpeg(x.detach(), int(quality)) - x.detach())
        out.append(x.clamp(0.0, 255.0))
    return torch.stack(out)


def _gaussian_blur(x: Tensor, sigma: float) -> Tensor:
    """Separable Gaussian blur of (K, C, S, S) with replicated borders."""
    radius = max(1, int(np.ceil(3.0 * sigma)))
    t = torch.arange(-radius, radius + 1, dtype=x.dtype, device=x.device)
    g = torch.exp(-(t ** 2) / (2.0 * sigma ** 2))
    g = g / g.sum()
    k, c, h, w = x.shape
    y = F.pad(x.reshape(k * c, 1, h, w), (radius, radius, radius, radius), mode="replicate")
    y = F.conv2d(y, g.view(1, 1, 1, -1))
    y = F.conv2d(y, g.view(1, 1, -1, 1))
    return y.reshape(k, c, h, w)


def _jpeg(x: Tensor, quality: int) -> Tensor:
    """JPEG round trip of (K, 3, S, S) float 0..255 crops (no gradient)."""
    crops = x.round().clamp(0, 255).to(torch.uint8).permute(0, 2, 3, 1).cpu().numpy()
    out = np.stack([_jpeg_rgb(crop, quality) for crop in crops])
    return torch.from_numpy(out).permute(0, 3, 1, 2).to(x.device, x.dtype)


def _jpeg_rgb(image: np.ndarray, quality: int) -> np.ndarray:
    """JPEG encode + decode of an (H, W, 3) uint8 RGB image (OpenCV's codec works in BGR)."""
    import cv2

    ok, buf = cv2.imencode(".jpg", np.ascontiguousarray(image[..., ::-1]), [cv2.IMWRITE_JPEG_QUALITY, quality])
    return np.ascontiguousarray(cv2.imdecode(buf, cv2.IMREAD_COLOR)[..., ::-1]) if ok else image


def augment_sample(small: np.ndarray, small_landmarks: np.ndarray, res: int, landmarks: np.ndarray,
                   flip_permutation: tuple[int, ...], recipe: Recipe = RECIPE) -> dict[str, np.ndarray]:
    """One training sample through one random draw of the recipe.

    small: the (P, P, 3) uint8 rendition a network sees whole (the proxy; the image itself when
    R == P), small_landmarks (N, 2) at P; ``res`` = R and landmarks (N, 2) at R. Returns ``small``
    (coloured, warped, degraded) and ``small_landmarks`` in the augmented frame, ``landmarks`` at R
    in the augmented frame, ``affine`` (2, 3) float64 mapping augmented R px to the R image's px
    (the identity when R == P: the image itself was warped), ``degrade`` (3,) float32, the crop
    degradations still to apply (:func:`degrade_crops`; none when R == P), and ``lut`` (256, 1, 3) uint8 (``cv2.LUT``),
    the colour table to apply to whatever is read from the R image (it is never decoded here).
    """
    draw = sample_draw(recipe)
    perm = flip_permutation if draw.flip else None
    lut = random_colour_lut()
    size = small.shape[0]
    m_p = pixel_matrix(draw.matrix, size)
    small = degrade_image(warp_image(apply_lut(small, lut), m_p), draw)
    small_landmarks = transform_points(small_landmarks, m_p, perm)
    if int(res) == size:   # R == P: the image is the proxy, warped and degraded once
        return {"small": small, "small_landmarks": small_landmarks, "landmarks": small_landmarks.copy(),
                "affine": np.eye(2, 3), "degrade": NO_DEGRADE.copy(), "lut": lut}
    m_r = pixel_matrix(draw.matrix, int(res))
    return {"small": small, "small_landmarks": small_landmarks, "landmarks": transform_points(landmarks, m_r, perm),
            "affine": invert(m_r), "degrade": draw.degrade_params(), "lut": lut}
