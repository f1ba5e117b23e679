"""A wild image's camera finish: defocus or lens blur, motion blur, exposure and white balance,
sensor noise, JPEG compression (docs/design.md, "The wild look").

Every step is photometric or a blur with a kernel centred on the pixel, so no landmark moves.
Sizes are fractions of the image side, so a capture looks the same at 512 px as at 4096 px.
"""

from __future__ import annotations

import cv2
import numpy as np

from facebench.data.synth.blur import gaussian_blur
from facebench.data.synth.compose import tone, untone_u8

DEFOCUS = (0.5, (0.0008, 0.004))     # probability; sigma range, fraction of the side
LENS_SIGMA = (0.4, 1.0)             # px: the sharp lens + demosaicing blur otherwise
MOTION = (0.25, (0.003, 0.012))     # probability; streak length range, fraction of the side
EXPOSURE_EV = (-0.8, 0.5)
WB_SD = 0.12                        # log gain of red and blue (white balance error)
NOISE_DN = (0.8, 7.0)               # sensor noise std, 8-bit code values (base ISO .. high ISO)
JPEG = (0.6, (30, 92))              # probability; quality range
NOISE_TILE = 512
MAX_KERNEL = 17                     # px: longer motion streaks are drawn at a reduced size


def _motion_kernel(length: float, angle: float) -> np.ndarray:
    """A line kernel of ``length`` px through the centre of an odd square (so nothing shifts)."""
    k = int(np.ceil(length)) | 1
    ker = np.zeros((k, k), np.float32)
    c = (k - 1) / 2.0
    dx, dy = 0.5 * length * np.cos(angle), 0.5 * length * np.sin(angle)
    one = 1 << 4
    cv2.line(ker, (int(round((c - dx) * one)), int(round((c - dy) * one))),
             (int(round((c + dx) * one)), int(round((c + dy) * one))), 1.0, 1, cv2.LINE_AA, 4)
    ker = ker + ker[::-1, ::-1]          # exactly symmetric about the centre
    return ker / ker.sum()


def _motion_blur(img: np.ndarray, length: float, angle: float) -> np.ndarray:
    """Streaks longer than :data:`MAX_KERNEL` px are drawn at 1/k of the size and resized back: a
    4096 px image's 49 px streak costs 0.4 s instead of 2 s, and loses detail only finer than k px,
    which such a streak has smeared along its direction anyway."""
    k = int(np.ceil(length / MAX_KERNEL))
    if k == 1:
        return cv2.filter2D(img, -1, _motion_kernel(length, angle), borderType=cv2.BORDER_REFLECT)
    h, w = img.shape[:2]
    small = cv2.resize(img, (-(-w // k), -(-h // k)), interpolation=cv2.INTER_AREA)
    small = cv2.filter2D(small, -1, _motion_kernel(length / k, angle), borderType=cv2.BORDER_REFLECT)
    return cv2.resize(small, (w, h), interpolation=cv2.INTER_LINEAR)


def _add_noise(img: np.ndarray, tile: np.ndarray) -> np.ndarray:
    """``clip(img + tile, 0, 255)`` in place, with the integer noise ``tile`` (t, t, 3) repeated
    over the image: one tile at a time with saturating 8-bit adds, where the full-size int16 sum
    made four 100 MB temporaries at 4096 px. The tile's positive and negative parts are added
    and subtracted; only one of them is non-zero at a pixel, so the result is the clipped sum
    exactly."""
    pos = np.clip(tile, 0, 255).astype(np.uint8)
    neg = np.clip(-tile, 0, 255).astype(np.uint8)
    t = tile.shape[0]
    h, w = img.shape[:2]
    for y in range(0, h, t):
        for x in range(0, w, t):
            blk = img[y:y + t, x:x + t]
            bh, bw = blk.shape[:2]
            blk[:] = cv2.subtract(cv2.add(blk, pos[:bh, :bw]), neg[:bh, :bw])
    return img


def _gain_lut(gains: np.ndarray) -> np.ndarray:
    """(1, 256, 3) uint8 look-up table: display value -> linear, times the per-channel gain, back."""
    lin = untone_u8(np.arange(256, dtype=np.uint8))
    out = np.stack([tone(lin * np.float32(g)) for g in gains], -1)
    return np.clip(out * 255.0 + 0.5, 0, 255).astype(np.uint8)[None]


def camera_finish(img: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, dict]:
    """The finished image (S, S, 3) uint8 and what was done."""
    size = img.shape[0]
    info: dict = {}
    if rng.random() < DEFOCUS[0]:
        sigma = float(rng.uniform(*DEFOCUS[1])) * size
        info["defocus_sigma_px"] = round(sigma, 3)
    else:
        sigma = float(rng.uniform(*LENS_SIGMA))
    out = gaussian_blur(img, sigma)
    if rng.random() < MOTION[0]:
        length = float(rng.uniform(*MOTION[1])) * size
        angle = float(rng.uniform(0, np.pi))
        if length >= 1.5:
            out = _motion_blur(out, length, angle)
            info["motion_px"], info["motion_deg"] = round(length, 2), round(float(np.degrees(angle)), 1)
    ev = float(rng.uniform(*EXPOSURE_EV))
    wb = np.exp(rng.normal(0.0, WB_SD, 2))
    gains = 2.0 ** ev * np.array([wb[0], 1.0, wb[1]])
    out = cv2.LUT(out, _gain_lut(gains))
    info["exposure_ev"], info["wb_gain_rb"] = round(ev, 3), [round(float(g), 3) for g in wb]
    noise_dn = float(rng.uniform(*NOISE_DN))
    t = min(NOISE_TILE, size)
    tile = (rng.standard_normal((t, t, 1)) * 0.8 + rng.standard_normal((t, t, 3)) * 0.6) * noise_dn
    out = _add_noise(out, np.round(tile))
    info["noise_dn"] = round(noise_dn, 2)
    if rng.random() < JPEG[0]:
        q = int(rng.integers(JPEG[1][0], JPEG[1][1] + 1))
        ok, buf = cv2.imencode(".jpg", cv2.cvtColor(out, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, q])
        if not ok:
            raise RuntimeError("JPEG encoding failed")
        out = cv2.cvtColor(cv2.imdecode(buf, cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB)
        info["jpeg_quality"] = q
    return out, info
