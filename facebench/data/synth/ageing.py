"""Skin age and tint of a subject in wild images: forehead lines, crow's feet, under-eye darkening
and age spots whose strength grows with a per-subject age, and a skin tint (tan, pallor, redness).

It is a multiplier of the skin albedo in surface coordinates (u, v) mm, so it moves with the face
and never moves a landmark. A subject's age and tint come from a stream of their own (the same in
every wild image of that subject); studio images never use it.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from facebench.data.synth.config import STREAM_WILD_SUBJECT, rng_for
from facebench.data.synth.subject import Subject

TINT_RANGE = 0.10          # per-channel skin tint, +- this fraction
MAX_SPOTS = 40


TEXEL_MM = 0.25
U_SPAN, V_SPAN = (-110.0, 110.0), (-190.0, 110.0)


@dataclass(frozen=True)
class Ageing:
    """A subject's wild skin, baked into a texture over (u, v): ``texture[j, i]`` is the albedo
    multiplier (3,) at u = U_SPAN[0] + i * TEXEL_MM, v = V_SPAN[1] - j * TEXEL_MM."""

    age: float                       # 0 (none) .. 1 (deep lines, many spots)
    tint: tuple[float, float, float]
    spots: int
    texture: np.ndarray              # (rows, cols, 3) float32

    def __call__(self, u: np.ndarray, v: np.ndarray) -> np.ndarray:
        """Albedo multiplier (H, W, 3) float32 at surface coordinates (H, W)."""
        x = ((u - U_SPAN[0]) / TEXEL_MM).astype(np.float32)
        y = ((V_SPAN[1] - v) / TEXEL_MM).astype(np.float32)
        return cv2.remap(self.texture, x, y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)


def _bake(age: float, tint, eye_u: float, eye_lower: float, spots: np.ndarray) -> np.ndarray:
    u = (U_SPAN[0] + TEXEL_MM * np.arange(int((U_SPAN[1] - U_SPAN[0]) / TEXEL_MM) + 1)).astype(np.float32)
    v = (V_SPAN[1] - TEXEL_MM * np.arange(int((V_SPAN[1] - V_SPAN[0]) / TEXEL_MM) + 1)).astype(np.float32)
    u, v = np.meshgrid(u, v)
    a = np.float32(age)
    dark = np.zeros(u.shape, np.float32)
    # Forehead: four to six wavy horizontal lines between the brows and the hairline.
    across = np.exp(-(u / np.float32(48.0)) ** 4)
    for k in range(int(4 + 2 * age)):
        centre = 24.0 + 6.5 * k + 1.2 * np.sin(u / np.float32(17.0) + k)
        dark += a * 0.16 * across * np.exp(-((v - centre) / np.float32(0.8)) ** 2)
    # Crow's feet fanning out from the outer eye corners; darkening under the lower lids.
    for side in (-1.0, 1.0):
        du, dv = side * u - eye_u, v
        r = np.sqrt(du * du + dv * dv)
        fan = (du > 0) * np.exp(-((r - 9.0) / np.float32(5.0)) ** 2)
        dark += a * 0.18 * fan * (0.5 + 0.5 * np.cos(np.arctan2(dv, np.abs(du) + 1e-3) * 9.0)) ** 6
        dark += a * 0.12 * np.exp(-((side * u - eye_u + 14.0) / np.float32(11.0)) ** 2
                                  - ((v + eye_lower + 5.0) / np.float32(3.0)) ** 2)
    spot = np.zeros(u.shape, np.float32)
    for su, sv, sr, ss in spots:               # each spot touches only its own few texels
        i0, i1 = (int((su - U_SPAN[0] - 3 * sr) / TEXEL_MM), int((su - U_SPAN[0] + 3 * sr) / TEXEL_MM) + 1)
        j0, j1 = (int((V_SPAN[1] - sv - 3 * sr) / TEXEL_MM), int((V_SPAN[1] - sv + 3 * sr) / TEXEL_MM) + 1)
        win = (slice(max(j0, 0), j1), slice(max(i0, 0), i1))
        spot[win] += np.float32(ss) * np.exp(-((u[win] - su) ** 2 + (v[win] - sv) ** 2) / np.float32(sr * sr))
    out = np.empty(u.shape + (3,), np.float32)
    for c, (t, s_c, d_c) in enumerate(zip(tint, (0.25, 0.45, 0.6), (0.9, 1.0, 1.05))):
        out[..., c] = np.float32(t) * (1.0 - np.minimum(dark * np.float32(d_c), 0.6)) \
            * (1.0 - np.float32(s_c) * np.minimum(spot, 1.0))
    return out


def ageing_for(seed: int, subject: Subject) -> Ageing:
    """Subject's age and tint in wild images (drawn from their own stream)."""
    rng = rng_for(seed, STREAM_WILD_SUBJECT, subject.index)
    age = float(rng.uniform(0.0, 1.0))
    tint = tuple(float(t) for t in 1.0 + rng.uniform(-TINT_RANGE, TINT_RANGE, 3))
    k = int(round(MAX_SPOTS * age ** 2 * rng.uniform(0.3, 1.0)))
    spots = np.stack([rng.uniform(-60, 60, k), rng.uniform(-80, 55, k), rng.uniform(0.8, 3.5, k),
                      rng.uniform(0.2, 0.7, k)], 1) if k else np.zeros((0, 4))
    texture = _bake(age, tint, subject.eye_sep + 0.5 * subject.eye_width, subject.eye_lower, spots)
    return Ageing(age, tint, k, texture)
