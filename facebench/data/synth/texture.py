"""Procedural skin and hair textures in (u, v) millimetres, periodic tiles with mip levels.

``skin``: four uint8 channels at :data:`SKIN_PPM` texels per mm: (0-2) an RGB albedo multiplier
(pores as small dark pits 2-4 px wide at 4096, fine wrinkle lines, micro-noise, mid-scale
mottling, freckles and moles; 128 = x1) and (3) a specular mask (pores break up the sheen).
``blotch``: RGB low-frequency albedo variation at 1 texel / mm. ``hair``:
strand streaks along v. Everything is drawn from the subject's texture stream, so it is the same
in every image of that subject. Tiles are sampled with the mip level whose texel size matches the
output pixel size (area-averaged levels: no aliasing at low resolutions).
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from facebench.data.synth.config import STREAM_TEXTURE, rng_for
from facebench.data.synth.subject import Subject

SKIN_PPM = 12.0          # texels per mm of the finest level (~1.5 px each at 4096 px output)
SKIN_ORIGIN = (-85.0, 10.0)   # (u, v) mm at texel (0, 0): the face front maps inside the tile
SKIN_TILE = 2048         # texels: a 170 mm period (the whole face front without wrapping)
BLOTCH_PPM = 1.0
BLOTCH_TILE = 256
HAIR_PPM = 9.0
HAIR_TILE = 768


@dataclass
class Textures:
    skin: list[np.ndarray]      # mip levels, (T, T, 3) uint8
    blotch: np.ndarray          # (B, B, 3) float32 multiplier around 1
    hair: list[np.ndarray]      # mip levels, (H, H) float32 around 1
    skin_ppm: float             # texels per mm of skin[0]
    hair_ppm: float

    def skin_level(self, px_per_mm: float) -> tuple[np.ndarray, float]:
        """The skin mip level for an output sampling ``px_per_mm`` and its texels per mm."""
        level = int(np.clip(np.floor(np.log2(self.skin_ppm / max(px_per_mm, 1e-6)) + 0.3), 0, len(self.skin) - 1))
        return self.skin[level], self.skin_ppm / 2 ** level

    def hair_level(self, px_per_mm: float) -> tuple[np.ndarray, float]:
        level = int(np.clip(np.floor(np.log2(self.hair_ppm / max(px_per_mm, 1e-6)) + 0.3), 0, len(self.hair) - 1))
        return self.hair[level], self.hair_ppm / 2 ** level


def _periodic_noise(rng: np.random.Generator, size: int, sigma: float) -> np.ndarray:
    """Zero-mean unit-std periodic noise of feature size ``sigma`` texels (wrapped Gaussian blur)."""
    n = rng.standard_normal((size, size)).astype(np.float32)
    out = _wrap_blur(n, sigma) if sigma > 0.3 else n
    return out / max(float(out.std()), 1e-6)


def _splat(size: int, xy: np.ndarray, weight: np.ndarray) -> np.ndarray:
    """Accumulate point weights into a periodic (size, size) image (nearest texel)."""
    ix = np.mod(np.round(xy[:, 0]).astype(np.int64), size)
    iy = np.mod(np.round(xy[:, 1]).astype(np.int64), size)
    return np.bincount(iy * size + ix, weights=weight, minlength=size * size).reshape(size, size).astype(np.float32)


def _wrap_blur(img: np.ndarray, sigma: float) -> np.ndarray:
    pad = int(np.ceil(3 * sigma)) + 1
    big = cv2.copyMakeBorder(img, pad, pad, pad, pad, cv2.BORDER_WRAP)
    return cv2.GaussianBlur(big, (0, 0), sigma)[pad:-pad, pad:-pad]


def _mips(img: np.ndarray, levels: int) -> list[np.ndarray]:
    out = [img]
    for _ in range(levels):
        prev = out[-1]
        if prev.shape[0] < 16:
            break
        out.append(cv2.resize(prev, (prev.shape[1] // 2, prev.shape[0] // 2), interpolation=cv2.INTER_AREA))
    return out


def make_textures(seed: int, subject: Subject, max_px_per_mm: float = SKIN_PPM) -> Textures:
    """The subject's textures, generated only as fine as an output of ``max_px_per_mm`` needs."""
    rng = rng_for(seed, STREAM_TEXTURE, subject.index)
    skip = int(np.clip(np.floor(np.log2(SKIN_PPM / (1.2 * max_px_per_mm))), 0, 4))
    t = SKIN_TILE >> skip
    ppm = SKIN_PPM / 2 ** skip
    area = (t / ppm) ** 2
    # Pores: dark pits of 0.05-0.14 mm radius, about 1.6 per mm^2.
    n = int(1.6 * area)
    pores = _splat(t, rng.uniform(0, t, (n, 2)), rng.uniform(0.4, 1.0, n) ** 2)
    pores = _wrap_blur(pores, max(0.1 * ppm, 0.5))
    pores /= max(float(np.percentile(pores, 99.9)), 1e-6)
    # Fine lines: short thin creases, mostly horizontal, drawn anti-aliased on the tile.
    lines = np.zeros((t, t), np.uint8)
    m = int(0.35 * area)
    p0 = rng.uniform(0, t, (m, 2))
    ang = rng.normal(0, 0.5, m) + np.where(rng.random(m) < 0.3, np.pi / 2, 0)
    length = rng.uniform(0.8, 3.5, m) * ppm
    p1 = p0 + length[:, None] * np.stack([np.cos(ang), np.sin(ang)], 1)
    segs = [np.stack([a, b]).round().astype(np.int32) for a, b in zip(p0, p1)]
    cv2.polylines(lines, segs, False, int(90 * min(1.0, ppm / SKIN_PPM * 4)), 1, cv2.LINE_AA)
    lines = cv2.GaussianBlur(lines.astype(np.float32) / 255.0, (0, 0), 0.6)
    micro = _periodic_noise(rng, t, 0.6)
    mid = _periodic_noise(rng, t, 0.35 * ppm)
    lum = 1.0 - 0.18 * pores - 0.10 * lines + 0.02 * micro + 0.025 * mid
    # Melanin: freckles (small, many if the subject has them) and a few moles.
    nf = int(subject.freckles * 0.2 * area)
    fre = _splat(t, rng.uniform(0, t, (nf, 2)), rng.uniform(0.2, 1.0, nf)) if nf else np.zeros((t, t), np.float32)
    fre = _wrap_blur(fre, 0.45 * ppm) * (0.45 * ppm) ** 2 * 1.2
    nm = rng.poisson(1.0)
    moles = _splat(t, rng.uniform(0, t, (nm, 2)), np.ones(nm)) if nm else np.zeros((t, t), np.float32)
    moles = np.clip(_wrap_blur(moles, 0.6 * ppm) * (0.6 * ppm) ** 2 * 4.0, 0, 0.8)
    mel = np.clip(fre + moles, 0, 1)
    spec = np.clip(1.0 - 0.8 * pores - 0.3 * lines + 0.08 * micro, 0, 1.9)
    tint = np.array([0.45, 0.62, 0.75], np.float32)          # melanin absorbs blue most
    mul = lum[..., None] * (1.0 - mel[..., None] * tint)
    skin = np.concatenate([mul * 128.0, spec[..., None] * 128.0], -1).clip(0, 255).round().astype(np.uint8)
    # Blotches: low-frequency albedo variation, reddish / brownish, two octaves.
    b = BLOTCH_TILE
    o1, o2, o3 = (_periodic_noise(rng, b, sg) for sg in (14.0, 5.0, 5.0))
    blotch = np.stack([1 + 0.05 * o1 + 0.03 * o2 + 0.02 * o3, 1 + 0.045 * o1 - 0.02 * o2 + 0.015 * o3,
                       1 + 0.04 * o1 - 0.03 * o2 + 0.01 * o3], -1).astype(np.float32)
    # Hair: streaks along v (strands), a coarse clumping term and fine single strands.
    h = HAIR_TILE >> min(skip, 3)
    strands = _periodic_noise(rng, h, 1.0)
    streak = cv2.resize(_periodic_noise(rng, h, 0.6)[: h // 16], (h, h), interpolation=cv2.INTER_CUBIC)
    clump = _periodic_noise(rng, h, 6.0)
    hair = np.clip(1.0 + 0.28 * streak + 0.12 * clump + 0.06 * strands, 0.3, 1.8).astype(np.float32)
    return Textures(skin=_mips(skin, 6), blotch=blotch, hair=_mips(hair, 6), skin_ppm=ppm,
                    hair_ppm=HAIR_PPM * h / HAIR_TILE)
