"""Lighting: directional lights and an ambient term, with skin-like wrap-around diffuse (red light
bleeds further into the shadow side, as subsurface scattering does) and a broad Blinn-Phong sheen;
the eyes get a sharp catchlight. Colours are linear RGB.

:data:`STUDIO` is the studio's: a large key softbox, a fill, a top/hair light and a soft ambient,
fixed in the head frame (so every camera of the rig sees the same lighting). The wild look draws
other :class:`Lighting` (:mod:`facebench.data.synth.wild_light`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from facebench.data.synth.shadow import PENUMBRA_MM

_LIGHTS = (
    # direction towards the light (head frame), RGB intensity, Blinn-Phong exponent of its sheen
    (np.array([-0.55, 0.45, 0.70]), np.array([1.30, 1.27, 1.21]), 14.0),   # key softbox, upper left
    (np.array([0.70, 0.10, 0.70]), np.array([0.40, 0.41, 0.44]), 10.0),    # fill, right
    (np.array([0.10, 0.80, -0.60]), np.array([0.45, 0.45, 0.45]), 30.0),   # top / hair light
)
_WRAP = np.array([0.30, 0.16, 0.12], np.float32)   # diffuse wrap per channel (skin scattering)


def _unit(v: np.ndarray) -> np.ndarray:
    return v / np.linalg.norm(v)


LIGHTS = tuple((_unit(d), c, n) for d, c, n in _LIGHTS)


@dataclass(frozen=True)
class Lighting:
    """Directional lights ``(unit direction towards the light (3,), RGB (3,), sheen exponent)``, the
    first the key (the one casting shadows), and the ambient: ``(ambient + sky * n_y) * ao`` per
    channel (Python floats, so float32 maps stay float32)."""

    lights: tuple
    ambient: tuple[float, float, float] = (0.26, 0.26, 0.26)
    sky: tuple[float, float, float] = (0.08, 0.08, 0.08)
    penumbra_mm: float = PENUMBRA_MM  # the key's cast-shadow penumbra (hardness: smaller is harder)


STUDIO = Lighting(LIGHTS)


def _dot(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return a[..., 0] * b[..., 0] + a[..., 1] * b[..., 1] + a[..., 2] * b[..., 2]


def _normalize(a: np.ndarray) -> np.ndarray:
    return a / (np.sqrt(_dot(a, a))[..., None] + 1e-9)


def irradiance(n: np.ndarray, ao: np.ndarray, key_lit: np.ndarray | None = None,
               lighting: Lighting = STUDIO) -> np.ndarray:
    """Diffuse irradiance (..., 3) for unit normals (..., 3), ambient occlusion (...) and the
    fraction of the key light not cast into shadow (...)."""
    out = np.empty(n.shape, np.float32)
    ndls = [n @ d.astype(np.float32) for d, _, _ in lighting.lights]
    direct = 0.55 + 0.45 * ao
    for c in range(3):
        acc = (lighting.ambient[c] + lighting.sky[c] * n[..., 1]) * ao
        for i, (ndl, (_, col, _)) in enumerate(zip(ndls, lighting.lights)):
            # Shadowed key light still scatters a little red through the skin (soft terminator).
            vis = 1.0 if key_lit is None or i else key_lit * (1.0 - 0.1 * c) + 0.1 * c * key_lit ** 0.5
            acc += col[c] * np.clip((ndl + _WRAP[c]) * (1.0 / (1 + _WRAP[c])), 0, None) * direct * vis
        out[..., c] = acc
    return out


def specular(n: np.ndarray, p: np.ndarray, eye: np.ndarray, gloss: np.ndarray,
             lighting: Lighting = STUDIO) -> np.ndarray:
    """Skin sheen (...): Blinn-Phong with a Schlick Fresnel boost at grazing angles."""
    view = _normalize(eye.astype(np.float32) - p)
    ndv = np.clip(_dot(n, view), 0, 1)
    fres = 0.04 + 0.96 * (1 - ndv) ** 5
    out = np.zeros(n.shape[:-1], np.float32)
    for d, col, expo in lighting.lights:
        ndh = np.clip(_dot(n, _normalize(view + d.astype(np.float32))), 0, 1)
        out += (col.mean() * (expo + 8) / 8 * 0.03) * ndh ** expo
    return out * gloss * (0.6 + 3.0 * fres)


def catchlight(n: np.ndarray, p: np.ndarray, eye: np.ndarray, lighting: Lighting = STUDIO) -> np.ndarray:
    """Mirror-like reflection of the lights on the wet cornea (...)."""
    view = _normalize(eye.astype(np.float32) - p)
    out = np.zeros(n.shape[:-1], np.float32)
    for d, col, _ in lighting.lights[:2]:
        ndh = np.clip(_dot(n, _normalize(view + d.astype(np.float32))), 0, 1)
        out += col.mean() * (np.clip((ndh - 0.9965) / 0.0012, 0, 1) ** 2 * 3.0 + 0.15 * ndh ** 300)
    return out
