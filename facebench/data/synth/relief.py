"""The rest relief of the face: height (mm) along the base normal as a function of (u, v).

Features are smooth analytic fields: brow ridge, eye sockets, nose (dorsum, tip lobule, alae,
nostrils, columella), philtrum, cheeks, nasolabial folds, chin and mentolabial sulcus, temples,
ears and the hair's volume. The eyes and lips are built in :mod:`eyes` / :mod:`mouth`; the
named points that landmarks use (subnasale, alar base, ...) come from the same functions.
"""

from __future__ import annotations

import numpy as np

from facebench.data.synth import mouth
from facebench.data.synth.base import R0
from facebench.data.synth.subject import Subject

NASION_V = 3.0


def _blob(u, v, cu, cv, su, sv, p: float = 1.0) -> np.ndarray:
    """exp(-(r^2)^p / 2) bump with elliptical radius r."""
    r2 = ((u - cu) / su) ** 2 + ((v - cv) / sv) ** 2
    return np.exp(-0.5 * r2 ** p)


def _smax(a: np.ndarray, b: np.ndarray, k: float) -> np.ndarray:
    h = np.clip(0.5 + 0.5 * (a - b) / k, 0.0, 1.0)
    return b + (a - b) * h + k * h * (1.0 - h)


def _smoothstep(e0: float, e1: float, x: np.ndarray) -> np.ndarray:
    t = np.clip((x - e0) / (e1 - e0), 0.0, 1.0)
    return t * t * (3 - 2 * t)


# ---- named nose points -------------------------------------------------------------------------

def nose_tip_v(s: Subject) -> float:
    return -s.nose_length


def subnasale_v(s: Subject) -> float:
    return -s.nose_length - 8.0 - 1.5 * s.tip_size


def ala(s: Subject) -> tuple[float, float, float, float]:
    """(|u| centre, v centre, u radius, v radius) of each alar lobule."""
    return s.nose_width - 7.0, subnasale_v(s) + 4.0, 7.5, 6.0


def nostril(s: Subject) -> tuple[float, float, float, float]:
    """(|u| centre, v centre, u radius, v radius) of each nostril opening (on the nose's underside)."""
    return 2.4 + 0.2 * s.nose_width, subnasale_v(s) + 1.8, 0.15 * s.nose_width, 1.2


def nose_relief(s: Subject, u: np.ndarray, v: np.ndarray) -> np.ndarray:
    vt, vsn, p = nose_tip_v(s), subnasale_v(s), s.nose_protrusion
    # Dorsum height along the midline: nasion -> tip, then the underside down to the subnasale.
    a = np.clip((NASION_V - v) / (NASION_V - vt), 0.0, 1.0)
    dorsum = 2.2 + (p - 2.2) * a ** 1.05
    q = np.clip((v - vsn) / (vt - vsn), 0.0, 1.0)
    under = 1.2 + (p - 1.2) * (1.0 - (1.0 - q) ** 1.8)
    height = np.where(v > NASION_V, 2.2 * np.exp(-0.5 * ((v - NASION_V) / 6.0) ** 2),
                      np.where(v >= vt, dorsum, np.where(v >= vsn, under, 1.2 * np.exp(-0.5 * ((v - vsn) / 1.5) ** 2))))
    # Half-width: narrow bridge widening to the tip lobule.
    w = s.bridge_width * (0.75 + 0.55 * a) + np.where(v < vt + 6, 2.0 * s.tip_size * _smoothstep(vt + 6, vt - 2, v), 0)
    w = np.maximum(w, 3.0)
    nose = height * (1.0 + (u / w) ** 2) ** -1.8
    # Tip lobule: a rounded bulb at the tip.
    nose = nose + 1.6 * s.tip_size * _blob(u, v, 0, vt - 0.5, 5.5 * s.tip_size, 4.5)
    # Alae: lateral wings merged with the nose, with the alar groove round their outer edge.
    au, av, ru, rv = ala(s)
    h_ala = np.zeros_like(u)
    groove = np.zeros_like(u)
    for side in (-1, 1):
        rho = np.sqrt(((u - side * au) / ru) ** 2 + ((v - av) / rv) ** 2)
        h_ala = np.maximum(h_ala, (0.3 * p) * np.clip(1 - rho ** 2, 0, None) ** 2.0)
        lateral = np.clip(0.3 + side * (u - side * au) / ru, 0, 1)
        groove = groove + 1.0 * lateral * np.exp(-0.5 * ((rho - 1.0) / 0.08) ** 2)
    nose = _smax(nose, h_ala, 2.0) - groove
    # Nostrils: shallow pits on the underside, plus the columella between them.
    nu, nv, nru, nrv = nostril(s)
    for side in (-1, 1):
        rho = np.sqrt(((u - side * nu) / nru) ** 2 + ((v - nv) / nrv) ** 2)
        nose = nose - 0.8 * np.clip(1 - rho ** 2, 0, None) ** 1.5
    return nose


def philtrum_relief(s: Subject, u: np.ndarray, v: np.ndarray) -> np.ndarray:
    vsn = subnasale_v(s)
    top_lip = mouth.upper_border(s, np.zeros(1))[0]
    span = _smoothstep(vsn - 0.5, vsn - 2.5, v) * _smoothstep(top_lip - 0.5, top_lip + 1.5, v)
    ridge_u = 4.0 + 0.8 * np.clip((vsn - v) / (vsn - top_lip), 0, 1)
    ridges = 0.75 * np.exp(-0.5 * ((np.abs(u) - ridge_u) / 1.2) ** 2)
    groove = -0.35 * np.exp(-0.5 * (u / 1.6) ** 2)
    return span * (ridges + groove)


def nasolabial_relief(s: Subject, u: np.ndarray, v: np.ndarray, depth: float = 1.0) -> np.ndarray:
    """The nasolabial folds: a groove from beside the ala to beyond the mouth corner, with the cheek
    bulging over it. ``depth`` grows with smiles."""
    au, av, ru, _ = ala(s)
    v0, v1 = av + 3.0, s.mouth_y - 13.0
    u0, u1 = au + ru + 1.0, s.mouth_width + 9.0
    t = np.clip((v0 - v) / (v0 - v1), 0.0, 1.0)
    line_u = u0 + (u1 - u0) * t ** 0.8
    off = np.abs(u) - line_u
    along = _smoothstep(v0 + 3, v0 - 2, v) * _smoothstep(v1 - 6, v1 + 4, v)
    return depth * along * (-0.6 * np.exp(-0.5 * (off / 1.8) ** 2) + 0.8 * np.exp(-0.5 * ((off - 4.0) / 3.5) ** 2))


def ear_relief(s: Subject, u: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Ears on the sides of the head: a raised pinna with a rolled rim, a bowl (concha) and lobe."""
    e = s.ear_size
    out = np.zeros_like(u)
    cu, cv = R0 * (np.pi / 2 + 0.16), -10.0
    for side in (-1, 1):
        x = (u - side * cu) * side / (12.5 * e)        # + towards the back of the head
        y = (v - cv) / (31.0 * e)
        rho = np.sqrt(x * x + y * y)
        body = np.clip(1 - rho ** 2, 0, None) ** 0.3
        rim = np.exp(-0.5 * ((rho - 0.86) / 0.07) ** 2)
        concha = np.exp(-0.5 * (((x + 0.15) / 0.32) ** 2 + ((y + 0.05) / 0.3) ** 2))
        lobe = np.clip(-y - 0.55, 0, None)
        stand = 7.0 + 6.0 * np.clip(x + 0.5, 0, 1.5)    # the pinna stands off more at its back edge
        out = out + e * (stand * body * (1 - 0.5 * lobe) + 2.0 * rim * (rho < 1.05) - 6.5 * concha * (rho < 0.9))
    return out


def hairline(s: Subject, u: np.ndarray) -> np.ndarray:
    """v of the hairline at each u (front hairline, temples, sideburns, over the ears, nape)."""
    knots_u = np.array([0, 30, 52, 66, 90, 106, 116, 124, 140, 165, 200, 230.0])
    knots_v = np.array([0, 1.5, 8, -2, 30, 2, -12, 12, 32, 12, -50, -70.0])
    knots_v[:4] += s.hairline
    return np.interp(np.abs(u), knots_u, knots_v)


def hair_relief(s: Subject, u: np.ndarray, v: np.ndarray) -> np.ndarray:
    return s.hair_volume * _smoothstep(-2.0, 22.0, v - hairline(s, u))


def face_relief(s: Subject, u: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Everything but the eyes' lids/eyeballs (added per expression in :mod:`face`)."""
    m = 0.6 + 0.8 * s.sex
    h = 2.2 * m * _blob(u, v, 0, 13.0, 34.0, 6.5) * _smoothstep(60, 35, np.abs(u))        # brow ridge
    h += 1.2 * _blob(u, v, 0, 10.0, 9.0, 8.0)                                            # glabella
    h -= 3.0 * _blob(np.abs(u), v, 64.0, 26.0, 13.0, 18.0)                               # temples
    h -= 4.5 * _blob(np.abs(u), v, s.eye_sep + 1.0, -0.5, 16.0, 10.5, 1.4)               # eye sockets
    u_in = s.eye_sep - 0.5 * s.eye_width - 1.0
    h -= 8.0 * _blob(np.abs(u), v, u_in + 0.5, -0.5, 4.0, 4.5)                           # inner canthi
    h += 2.6 * s.cheekbone * _blob(np.abs(u), v, 48.0, -22.0, 15.0, 10.0)                # cheekbones
    h += 1.8 * _blob(np.abs(u), v, 33.0, -38.0, 17.0, 12.0)                              # cheek mounds
    tear = -14.0 - 0.12 * (np.abs(u) - 16.0)
    h -= 1.0 * np.exp(-0.5 * ((v - tear) / 2.2) ** 2) * _blob(np.abs(u), 0, 28.0, 0, 10.0, 1)  # tear trough
    h += 3.2 * _blob(u, v, 0, s.chin_y + 19.0, 14.0, 11.0)                               # chin point
    lb = mouth.lower_border(s, np.zeros(1))[0]
    h -= 1.8 * np.exp(-0.5 * ((v - (lb - 7.0)) / 2.6) ** 2) * _blob(u, 0, 0, 0, 15.0, 1)  # mentolabial sulcus
    h += nose_relief(s, u, v) + philtrum_relief(s, u, v) + nasolabial_relief(s, u, v)
    h += mouth.lip_relief(s, u, v) + ear_relief(s, u, v) + hair_relief(s, u, v)
    return h


def mentolabial_v(s: Subject) -> float:
    return float(mouth.lower_border(s, np.zeros(1))[0] - 7.0)
