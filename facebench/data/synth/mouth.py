"""The lips in (u, v): vermilion borders, the lip bulges, and the mouth band.

At rest the lips meet along the stomion line ``v = mouth_y``. The grid packs many rows into the
thin *mouth band* ``mouth_y +- BAND`` between the upper and lower inner lip lines; when the lips
part (jaw rotation, lip raise) the band stretches into the mouth cavity, and what lies in it
(inner lip, teeth, tongue, dark cavity) is decided from the band position, so the inner lip
lines (the band's edges) are always the boundary between lip and mouth interior.
"""

from __future__ import annotations

import numpy as np

from facebench.data.synth.subject import Subject

BAND = 0.05          # mm: half height of the mouth band at rest
INNER_CORNER = 0.93  # inner mouth corners at this fraction of the mouth half-width
BOW_PEAK = 0.22      # Cupid's bow peaks at this fraction of the half-width


def _g(x: np.ndarray, s: float) -> np.ndarray:
    return np.exp(-0.5 * (x / s) ** 2)


def upper_height(s: Subject, u: np.ndarray) -> np.ndarray:
    """Upper vermilion height above the band's top edge (mm), zero beyond the corners."""
    x = np.abs(u) / s.mouth_width
    base = np.clip(1.0 - x ** 2.0, 0.0, None) ** 0.75
    bow = 1.0 + 0.10 * _g(x - BOW_PEAK, 0.08) - 0.11 * _g(x, 0.07)
    return s.upper_lip * base * bow


def lower_height(s: Subject, u: np.ndarray) -> np.ndarray:
    """Lower vermilion height below the band's bottom edge (mm)."""
    x = np.abs(u) / s.mouth_width
    return s.lower_lip * np.clip(1.0 - x ** 2.2, 0.0, None) ** 0.6


def upper_border(s: Subject, u: np.ndarray) -> np.ndarray:
    """v of the upper vermilion border (the outer upper lip line)."""
    return s.mouth_y + BAND + upper_height(s, u)


def lower_border(s: Subject, u: np.ndarray) -> np.ndarray:
    """v of the lower vermilion border (the outer lower lip line)."""
    return s.mouth_y - BAND - lower_height(s, u)


def interior_halfwidth(s: Subject) -> float:
    """|u| beyond which the band is skin (the mouth corners), not mouth interior."""
    return INNER_CORNER * s.mouth_width


def band_fraction(s: Subject, v: np.ndarray) -> np.ndarray:
    """Position across the mouth band: 0 at the upper inner lip line, 1 at the lower one."""
    return np.clip((s.mouth_y + BAND - v) / (2 * BAND), 0.0, 1.0)


def lip_relief(s: Subject, u: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Relief (mm along the base normal) of the lips, the muzzle around them and the band dip."""
    x = np.abs(u) / s.mouth_width
    hu = np.maximum(upper_height(s, u), 1e-3)
    hl = np.maximum(lower_height(s, u), 1e-3)
    top = s.mouth_y + BAND
    bot = s.mouth_y - BAND
    # Vermilion bulges: zero at the inner line, full in the middle, a firm roll at the border.
    tu = np.clip((v - top) / hu, 0.0, 1.0)
    tl = np.clip((bot - v) / hl, 0.0, 1.0)
    side = np.clip(1.0 - x, 0.0, 1.0) ** 0.5
    up = (v >= top) & (v <= top + hu)
    lo = (v <= bot) & (v >= bot - hl)
    bulge_u = np.where(up, np.sin(np.pi * tu ** 0.8) ** 0.8, 0.0) * s.lip_fullness * side
    bulge_l = np.where(lo, np.sin(np.pi * tl ** 0.75) ** 0.8, 0.0) * 1.2 * s.lip_fullness * side
    # The skin just outside the vermilion border rises into a roll, then sinks again.
    roll = 0.55 * (_g(v - (top + hu), 0.7) + _g(v - (bot - hl), 0.8)) * np.clip(1.1 - x, 0, 1)
    # Muzzle: the lips sit on the dental arch, a broad rounded mound.
    muzzle = 3.5 * np.exp(-0.5 * ((u / (s.mouth_width * 1.25)) ** 2 + ((v - s.mouth_y - 2) / 15.0) ** 2) ** 1.3)
    # The band itself stays level with the lips' inner edges at rest (the bulges already meet in a
    # groove); it recedes into the cavity only when it is stretched open (see deform.py).
    # Commissure: a small pit just outside each mouth corner.
    pit = -0.5 * np.exp(-0.5 * (((np.abs(u) - s.mouth_width - 3.0) / 2.5) ** 2 + ((v - s.mouth_y + 0.8) / 3.2) ** 2))
    return muzzle + bulge_u + bulge_l + roll + pit


def lip_region(s: Subject, u: np.ndarray, v: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Signed distances (mm, negative inside) to the upper and lower vermilion, for materials."""
    x = np.abs(u) / s.mouth_width
    top = s.mouth_y + BAND
    bot = s.mouth_y - BAND
    du = np.maximum(v - upper_border(s, u), top - v)          # inside upper lip: between top and border
    dl = np.maximum(lower_border(s, u) - v, v - bot)
    beyond = (x - 1.0) * s.mouth_width
    return np.maximum(du, beyond), np.maximum(dl, beyond)
