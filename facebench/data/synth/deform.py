"""Expression deformation: 3-D displacements of the rest surface (jaw rotation, lip and brow
movements, cheek puff) and the mouth cavity that opens inside the stretched mouth band.

Every weight is a smooth function of the rest parameters (u, v), except across the mouth band
between the mouth corners, where the lower side moves and the upper side does not: the band's
many rows stretch into the opening. Eyelids are not warped here; their margins are recomputed
per expression in :mod:`eyes`.
"""

from __future__ import annotations

import numpy as np

from facebench.data.synth import mouth
from facebench.data.synth.expressions import Expression
from facebench.data.synth.eyes import SIDES, aperture_distance, eye_frame
from facebench.data.synth.relief import ala, subnasale_v
from facebench.data.synth.subject import Subject

HINGE = np.array([0.0, -40.0, -22.0])   # effective jaw rotation centre (y, z used)


def _ss(e0: float, e1: float, x: np.ndarray) -> np.ndarray:
    t = np.clip((x - e0) / (e1 - e0), 0.0, 1.0)
    return t * t * (3 - 2 * t)


def _g2(u, v, cu, cv, su, sv) -> np.ndarray:
    return np.exp(-0.5 * (((u - cu) / su) ** 2 + ((v - cv) / sv) ** 2))


def lower_side(s: Subject, u: np.ndarray, v: np.ndarray) -> np.ndarray:
    """0 on the upper lip side, 1 on the lower side: a step across the band between the mouth
    corners (the lips part there), a smooth ramp beyond them (skin stretches, never tears)."""
    top, bot = s.mouth_y + mouth.BAND, s.mouth_y - mouth.BAND
    step = np.clip((top - v) / (top - bot), 0.0, 1.0)
    ramp = _ss(s.mouth_y + 5.0, s.mouth_y - 22.0, v)
    # The opening is lens-shaped: full between the corners' inner thirds, closing at the corners.
    x = np.clip(np.abs(u) / mouth.interior_halfwidth(s), 0.0, 1.0)
    c = 1.0 - np.sqrt(np.clip(1.0 - x ** 2.2, 0.0, 1.0))
    return (1.0 - c) * step + c * ramp


def jaw_weight(s: Subject, u: np.ndarray, v: np.ndarray) -> np.ndarray:
    neck = _ss(s.chin_y - 55.0, s.chin_y - 12.0, v)
    back = _ss(175.0, 130.0, np.abs(u))
    return lower_side(s, u, v) * neck * back


def displacement(s: Subject, e: Expression, u: np.ndarray, v: np.ndarray, base: np.ndarray,
                 normal: np.ndarray) -> np.ndarray:
    """Displacement (..., 3) of rest points ``base`` (..., 3) with base normals ``normal``."""
    d = np.zeros(u.shape + (3,))
    lower = lower_side(s, u, v)
    upper = 1.0 - lower
    wm, my = s.mouth_width, s.mouth_y
    # Jaw: rotation about the hinge axis plus a sideways shift of the mandible.
    if e.jaw_open or e.jaw_side:
        w = jaw_weight(s, u, v)
        th = np.deg2rad(e.jaw_open)
        y, z = base[..., 1] - HINGE[1], base[..., 2] - HINGE[2]
        d[..., 1] += w * (y * np.cos(th) - z * np.sin(th) - y)
        d[..., 2] += w * (y * np.sin(th) + z * np.cos(th) - z)
        d[..., 0] += w * e.jaw_side
    lips = np.exp(-0.5 * ((u / (0.95 * wm)) ** 4 + ((v - my) / 11.0) ** 2))
    centre = np.exp(-0.5 * (u / (0.75 * wm)) ** 2)
    for side in SIDES:
        corner = _g2(u, v, side * wm, my, 11.0, 9.0)
        if e.smile:
            d += e.smile * corner[..., None] * np.array([side * 4.0, 4.5, -3.0])
        if e.corner_depress:
            d += e.corner_depress * corner[..., None] * np.array([side * 0.5, -4.0, 0.0])
    raise_u = e.upper_lip_raise_l + (e.upper_lip_raise_r - e.upper_lip_raise_l) * _ss(-8, 8, u)
    if e.upper_lip_raise_l or e.upper_lip_raise_r:
        vsn = subnasale_v(s)
        w = upper * centre * _ss(vsn + 1.0, my + 0.5 * (vsn - my), v)
        d[..., 1] += raise_u * w
        d[..., 2] += 0.4 * raise_u * w
    if e.lower_lip_depress:
        w = lower * centre * _ss(my - s.lower_lip - 12.0, my - 2.0, v)
        d[..., 1] -= e.lower_lip_depress * w
        d[..., 2] += 0.5 * e.lower_lip_depress * w
    if e.pucker or e.funnel:
        amt = e.pucker + 0.8 * e.funnel
        d[..., 2] += 9.0 * amt * lips
        d[..., 0] -= 0.38 * amt * u * lips
        if e.funnel:
            o = e.funnel * lips * np.exp(-0.5 * (u / (0.45 * wm)) ** 2)
            d[..., 1] += 2.5 * o * upper - 3.0 * o * lower
    if e.lip_press:
        d[..., 2] -= 1.8 * e.lip_press * lips
        d[..., 1] -= 0.45 * e.lip_press * np.clip(v - my, -12, 12) * lips
    if e.mouth_side:
        d[..., 0] += e.mouth_side * _g2(u, v, 0.0, my, wm + 12.0, 16.0)
    if e.cheek_puff or e.cheek_raise or e.nose_wrinkle:
        puff = _g2(np.abs(u), v, 44.0, my + 2.0, 17.0, 17.0)
        d += (7.0 * e.cheek_puff * puff)[..., None] * normal
        d[..., 2] += 1.2 * e.cheek_puff * lips
        rise = _g2(np.abs(u), v, 34.0, -26.0, 13.0, 10.0)
        d[..., 1] += 2.5 * e.cheek_raise * rise
        d += (1.5 * e.cheek_raise * rise)[..., None] * normal
        au, av, _, _ = ala(s)
        d[..., 1] += 1.5 * e.nose_wrinkle * _g2(np.abs(u), v, au, av + 2.0, 8.0, 9.0)
    if e.brow_raise_inner or e.brow_raise_outer or e.brow_lower:
        lid_guard = np.ones_like(u)
        for side in SIDES:
            f = eye_frame(s, side)
            dd, d_up, _ = aperture_distance(f, u, v, 1.0, 1.0)
            near = (np.abs(u - side * s.eye_sep) < 30) & (v < 20) & (v > -20)
            lid_guard = np.where(near, np.minimum(lid_guard, _ss(1.0, 10.0, d_up) * (v > -2)), lid_guard)
        fore = _ss(-6.0, 8.0, v) * np.where(v > 16.0, np.exp(-0.5 * ((v - 16.0) / 35.0) ** 2), 1.0) * lid_guard
        inner = fore * np.exp(-0.5 * ((np.abs(u) - 16.0) / 14.0) ** 2)
        outer = fore * np.exp(-0.5 * ((np.abs(u) - 44.0) / 14.0) ** 2)
        d[..., 1] += e.brow_raise_inner * inner + e.brow_raise_outer * outer
        d[..., 1] -= e.brow_lower * inner
        d[..., 0] -= np.sign(u) * 0.6 * e.brow_lower * inner
        d[..., 2] += 0.5 * e.brow_lower * inner
    return d


def band_gap(s: Subject, u_cols: np.ndarray, top: np.ndarray, bot: np.ndarray) -> np.ndarray:
    """Per-column opening (mm) between the deformed upper and lower inner lip lines (N, 3)."""
    gap = np.linalg.norm(top - bot, axis=-1)
    return np.where(np.abs(u_cols) < mouth.interior_halfwidth(s), gap, 0.0)


def teeth_show(s: Subject, e: Expression, u: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Visible length (mm) of upper and lower teeth below/above the inner lip lines."""
    raise_u = e.upper_lip_raise_l + (e.upper_lip_raise_r - e.upper_lip_raise_l) * _ss(-8, 8, u)
    arch = _ss(0.8 * s.mouth_width, 0.55 * s.mouth_width, np.abs(u))
    up = (1.8 + 1.2 * raise_u + 2.0 * e.smile) * arch
    lo = (0.8 + 1.2 * e.lower_lip_depress + 0.08 * e.jaw_open) * arch
    return up, lo


def cavity_depth(gap: np.ndarray, s_up: np.ndarray, s_lo: np.ndarray, teeth_up: np.ndarray,
                 teeth_lo: np.ndarray) -> np.ndarray:
    """How far (mm) the opened band recedes into the mouth at distances ``s_up`` / ``s_lo`` from the
    upper / lower inner lip lines: inner lip roll, teeth planes, then the dark cavity."""
    near = np.minimum(s_up, s_lo)
    lip = 1.6 * _ss(0.0, 0.9, near)
    cav = np.minimum(4.0 + 0.7 * gap, 24.0)
    # The cavity falls away behind the teeth over a few mm (no depth cliff at the incisal edges).
    in_teeth = np.maximum(_ss(teeth_up + 4.0, teeth_up, s_up), _ss(teeth_lo + 4.0, teeth_lo, s_lo))
    inner = 3.2 * in_teeth + cav * (1.0 - in_teeth)
    return np.where(gap > 0.05, lip + (inner - 1.6) * _ss(0.5, 1.2, near) * _ss(0.0, 1.5, gap), 0.0)
