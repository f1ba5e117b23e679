"""Eyes: eyeball spheres, lid margins in (u, v), the lids' relief and the iris geometry.

Each eye has a frame in (u, v): the canthal chord from the inner corner (s = 0) to the outer
corner (s = 1), ``t`` measured perpendicular to it (upwards positive). The upper and lower lid
margins are curves ``t = upper(s)`` / ``t = lower(s)`` that close onto a line near the lower lid
as openness goes to 0. Inside the aperture the skin surface *is* the eyeball sphere; outside it
the lids are the sphere plus a lid thickness that grows from zero at the margin, so the margin
is exactly where lid material meets eyeball material (evaluated per pixel at full resolution).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from facebench.data.synth.subject import Subject

EYE_RADIUS = 12.0
SIDES = (-1, 1)   # image-left eye (x < 0), image-right eye


@dataclass(frozen=True)
class EyeFrame:
    side: int
    inner: np.ndarray      # (2,) (u, v) of the inner canthus
    chord: np.ndarray      # (2,) unit vector inner -> outer
    normal: np.ndarray     # (2,) unit vector, "up" in (u, v)
    length: float
    a_up: float            # rest upper-lid height
    a_lo: float            # rest lower-lid depth
    crease: float


def eye_frame(s: Subject, side: int) -> EyeFrame:
    u_in = s.eye_sep - 0.5 * s.eye_width - 1.0
    inner = np.array([side * u_in, -0.6])
    outer = np.array([side * (u_in + s.eye_width), -0.6 + s.canthal_tilt])
    d = outer - inner
    length = float(np.hypot(*d))
    chord = d / length
    normal = np.array([-chord[1], chord[0]]) * (1 if side < 0 else 1)
    if normal[1] < 0:
        normal = -normal
    return EyeFrame(side, inner, chord, normal, length, s.eye_open, s.eye_lower, s.crease)


def _f_up(s: np.ndarray) -> np.ndarray:
    q = np.clip(s, 0.0, 1.0)
    return np.sin(np.pi * q ** 0.85) ** 0.8


def _f_lo(s: np.ndarray) -> np.ndarray:
    q = np.clip(s, 0.0, 1.0)
    return np.sin(np.pi * q ** 1.2) ** 0.9


def lid_curves(f: EyeFrame, s: np.ndarray, open_up: float, open_lo: float) -> tuple[np.ndarray, np.ndarray]:
    """``t`` of the upper and lower lid margins at chord positions ``s``."""
    close = -0.45 * f.a_lo * _f_lo(s)
    up = close + open_up * (f.a_up * _f_up(s) - close)
    lo = close + open_lo * (-f.a_lo * _f_lo(s) - close)
    return up, np.minimum(lo, up)


def crease_curve(f: EyeFrame, s: np.ndarray) -> np.ndarray:
    """``t`` of the upper-lid crease (fixed to the rest lid; the warp moves it with the brow)."""
    return f.a_up * _f_up(s) + f.crease * (0.35 + 0.65 * np.sin(np.pi * np.clip(s, 0, 1)) ** 0.7)


def local(f: EyeFrame, u: np.ndarray, v: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(s, t) eye-frame coordinates of (u, v)."""
    du, dv = u - f.inner[0], v - f.inner[1]
    return (du * f.chord[0] + dv * f.chord[1]) / f.length, du * f.normal[0] + dv * f.normal[1]


def to_uv(f: EyeFrame, s: np.ndarray, t: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Inverse of :func:`local`."""
    a = s * f.length
    return (f.inner[0] + a * f.chord[0] + t * f.normal[0], f.inner[1] + a * f.chord[1] + t * f.normal[1])


def aperture_distance(f: EyeFrame, u: np.ndarray, v: np.ndarray, open_up: float, open_lo: float
                      ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(d, d_up, d_lo): signed distance-like values (mm), negative inside the eye opening.

    ``d_up`` > 0 above the upper margin, ``d_lo`` > 0 below the lower margin; ``d`` combines them
    with the corner caps. Only the zero sets are exact; materials anti-alias with image gradients.
    """
    s, t = local(f, u, v)
    up, lo = lid_curves(f, s, open_up, open_lo)
    d_up = t - up
    d_lo = lo - t
    caps = np.maximum(-s, s - 1.0) * f.length
    d = np.maximum(np.maximum(d_up, d_lo), caps)
    return d, np.maximum(d_up, caps), np.maximum(d_lo, caps)


SPHERE_CORE = 7.0   # mm: laterally within this of the eye centre the surface is exactly the sphere


def eyeball_height(base: np.ndarray, normal: np.ndarray, centre: np.ndarray, radius: float = EYE_RADIUS
                   ) -> np.ndarray:
    """Distance along the base normal from base points (..., 3) to the front of the eyeball;
    -inf where the normal line misses it.

    The palpebral fissure (~30 mm) is wider than the globe (24 mm), so towards the canthi the
    surface continues the sphere outwards: the lateral offset t from the centre is compressed to
    ``7 + 2.5 tanh((|t| - 7) / 2.5)`` (at most 9.5 mm) before the sphere is intersected, so the
    surface flattens smoothly towards the corners and every point of the opening meets it. Within
    7 mm (the whole iris) the surface is the exact sphere.
    """
    t = base[..., 0] - centre[0]
    a = np.abs(t)
    squeezed = np.where(a > SPHERE_CORE, SPHERE_CORE + 2.5 * np.tanh((a - SPHERE_CORE) / 2.5), a) * np.sign(t)
    base = base.copy()
    base[..., 0] -= t - squeezed
    w = base - centre
    b = (normal * w).sum(-1)
    disc = b * b - ((w * w).sum(-1) - radius * radius)
    return np.where(disc >= 0, -b + np.sqrt(np.maximum(disc, 0.0)), -b)


def eye_relief(f: EyeFrame, u: np.ndarray, v: np.ndarray, h_ball: np.ndarray, h_face: np.ndarray,
               open_up: float, open_lo: float) -> np.ndarray:
    """Relief near one eye: eyeball in the aperture, lids (sphere + thickness) around it, blended
    into the surrounding face relief ``h_face``."""
    d, d_up, d_lo = aperture_distance(f, u, v, open_up, open_lo)
    s, t = local(f, u, v)
    upper_side = d_up >= d_lo
    # The lids thin out towards the canthi, so the corners are not pits.
    taper = np.sin(np.pi * np.clip(s, 0.0, 1.0)) ** 0.6
    thick = np.where(upper_side, 1.5, 1.0) * taper
    lam = np.where(upper_side, 0.55, 0.5)
    lid = h_ball + thick * (1.0 - np.exp(-np.maximum(d, 0.0) / lam))
    # Beyond the canthi the lids fold back into the orbit instead of following the eyeball.
    beyond = np.maximum(np.maximum(-s, s - 1.0), 0.0) * f.length
    lid = lid - 0.3 * beyond ** 2
    # The crease: a fold line on the upper lid.
    cr = crease_curve(f, s)
    w = np.sin(np.pi * np.clip(s, 0, 1)) ** 0.8
    lid = lid - 0.9 * w * np.exp(-0.5 * ((t - cr) / 0.7) ** 2) + 0.5 * w * np.exp(-0.5 * ((t - cr - 2.0) / 1.6) ** 2)
    k = 2.5
    blend = np.where(np.isfinite(lid), lid, -1e3)
    hmax = np.maximum(blend, h_face)
    smooth = hmax + k * np.log(np.exp((blend - hmax) / k) + np.exp((h_face - hmax) / k)) - k * np.log(2.0)
    smooth = np.maximum(smooth, hmax)
    # At the margin the lids meet the globe; where the skin around stands higher than the lids
    # (towards the canthi) it slopes down to them over a few mm instead of dropping as a wall.
    t = np.clip(d / 3.5, 0.0, 1.0)
    outside = lid + (smooth - lid) * (t * t * (3 - 2 * t))
    ball = np.where(np.isfinite(h_ball), h_ball, h_face)
    return np.where(d < 0, ball, np.where(np.isfinite(lid), outside, smooth))


def margin_points(f: EyeFrame, s: np.ndarray, upper: bool, open_up: float, open_lo: float) -> np.ndarray:
    """(u, v) of lid-margin points at chord positions ``s`` -> (len(s), 2)."""
    up, lo = lid_curves(f, s, open_up, open_lo)
    uu, vv = to_uv(f, s, up if upper else lo)
    return np.stack([uu, vv], -1)


def crease_points(f: EyeFrame, s: np.ndarray) -> np.ndarray:
    uu, vv = to_uv(f, s, crease_curve(f, s))
    return np.stack([uu, vv], -1)


def gaze_basis(gaze: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Two unit vectors perpendicular to the gaze: horizontal (e1) and vertical (e2)."""
    e1 = np.cross([0.0, 1.0, 0.0], gaze)
    e1 /= np.linalg.norm(e1)
    e2 = np.cross(gaze, e1)
    return e1, e2


def iris_rim(centre: np.ndarray, gaze: np.ndarray, iris_radius: float, n: int = 720) -> np.ndarray:
    """3-D points (n, 3) of the iris edge (the limbus) on the eyeball sphere."""
    ang = np.arcsin(iris_radius / EYE_RADIUS)
    e1, e2 = gaze_basis(gaze)
    phi = np.linspace(0, 2 * np.pi, n, endpoint=False)
    ring = np.cos(phi)[:, None] * e1 + np.sin(phi)[:, None] * e2
    return centre + EYE_RADIUS * (np.cos(ang) * gaze + np.sin(ang) * ring)
