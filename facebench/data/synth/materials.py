"""Per-pixel albedo from the surface parameters: skin (tints, blotches, beard shadow), hair, lips,
nostrils, the mouth interior (inner lip, teeth, tongue, cavity) and the eyes (sclera, iris, pupil,
caruncle, lid margins).

Everything is evaluated on 2-D pixel maps of the rest parameters (u, v) and the 3-D position P,
so it runs unchanged at the working resolution and at full resolution in detail windows. Feature
boundaries (vermilion, lid margins, iris, nostrils, teeth) are analytic zero sets; coverage is
anti-aliased from each field's image-space gradient, so edges are one output pixel wide however
large the image is.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from facebench.data.synth import mouth
from facebench.data.synth.brows import brow_patch
from facebench.data.synth.eyes import SIDES, aperture_distance, gaze_basis, local
from facebench.data.synth.face import FaceModel, Pose
from facebench.data.synth.relief import hairline, nose_tip_v, nostril
from facebench.data.synth.texture import BLOTCH_PPM, BLOTCH_TILE, Textures

TEETH = np.array([0.62, 0.57, 0.47], np.float32)
CAVITY = np.array([0.022, 0.007, 0.007], np.float32)
TONGUE = np.array([0.26, 0.08, 0.08], np.float32)
SCLERA = np.array([0.6, 0.56, 0.53], np.float32)
PUPIL = np.array([0.008, 0.007, 0.007], np.float32)
CARUNCLE = np.array([0.62, 0.3, 0.28], np.float32)


@dataclass
class Surface:
    """Per-pixel maps (H, W) of one window: rest parameters, position and validity."""

    u: np.ndarray
    v: np.ndarray
    p: np.ndarray        # (H, W, 3) head-frame position
    mask: np.ndarray     # (H, W) bool, covered by the face mesh


def coverage(d: np.ndarray, soft_mm: float = 0.0) -> np.ndarray:
    """Anti-aliased inside-coverage of the region ``d < 0``: a ramp one pixel (or ``soft_mm``) wide."""
    gy, gx = np.gradient(d)
    width = np.maximum(np.hypot(gx, gy), soft_mm)
    return np.clip(0.5 - d / np.maximum(width, 1e-6), 0.0, 1.0).astype(np.float32)


def _blob(u, v, cu, cv, su, sv):
    return np.exp(-0.5 * (((u - cu) / su) ** 2 + ((v - cv) / sv) ** 2))


def _ss(e0, e1, x):
    t = np.clip((x - e0) / (e1 - e0), 0.0, 1.0)
    return t * t * (3 - 2 * t)


def _lerp(a: np.ndarray, b, t: np.ndarray) -> np.ndarray:
    return a + (np.asarray(b, np.float32) - a) * t[..., None]


def sample_blotch(tex: Textures, u: np.ndarray, v: np.ndarray) -> np.ndarray:
    mx = np.mod(u * BLOTCH_PPM, BLOTCH_TILE).astype(np.float32)
    my = np.mod(-v * BLOTCH_PPM, BLOTCH_TILE).astype(np.float32)
    return cv2.remap(tex.blotch, mx, my, cv2.INTER_LINEAR, borderMode=cv2.BORDER_WRAP)


def sample_hair(tex: Textures, u: np.ndarray, v: np.ndarray, px_per_mm: float) -> np.ndarray:
    img, ppm = tex.hair_level(px_per_mm)
    n = img.shape[0]
    mx = np.mod(u * ppm, n).astype(np.float32)
    my = np.mod(-v * ppm * 0.5, n).astype(np.float32)
    return cv2.remap(img, mx, my, cv2.INTER_LINEAR, borderMode=cv2.BORDER_WRAP)


def _box(sel: np.ndarray, pad: int = 2) -> tuple[slice, slice] | None:
    """Row and column slices of the bounding box of ``sel`` (padded), or None when empty."""
    rows = np.flatnonzero(sel.any(1))
    if len(rows) == 0:
        return None
    cols = np.flatnonzero(sel.any(0))
    h, w = sel.shape
    return (slice(max(rows[0] - pad, 0), min(rows[-1] + pad + 1, h)),
            slice(max(cols[0] - pad, 0), min(cols[-1] + pad + 1, w)))


def albedo(model: FaceModel, pose: Pose, tex: Textures, srf: Surface, px_per_mm: float,
           base: np.ndarray | None = None) -> tuple[np.ndarray, ...]:
    """(albedo (H, W, 3), gloss, eye, skin, hair, base) for the covered pixels of a window.

    gloss, eye, skin, hair are (H, W) maps: sheen strength, eyeball coverage, and where skin /
    scalp-hair micro-texture applies. ``base`` (H, W, 5) is the smooth part (regional skin colour,
    hair, gloss) before the sharp features (lips, nostrils, mouth, eyes); pass it back in (e.g.
    upsampled) to evaluate only the sharp features. Each feature is evaluated only inside its
    own bounding box."""
    shape = srf.u.shape
    col = np.zeros(shape + (3,), np.float32)
    gloss, eye, skin, hair = (np.zeros(shape, np.float32) for _ in range(4))
    out_base = np.zeros(shape + (5,), np.float32) if base is None else base
    box = _box(srf.mask)
    if box is None:
        return col, gloss, eye, skin, hair, out_base
    sub = Surface(srf.u[box], srf.v[box], srf.p[box], srf.mask[box])
    if base is None:
        out_base[box] = _base_albedo(model, tex, sub, px_per_mm)
    out = _features(model, pose, sub, out_base[box])
    for dst, src in zip((col, gloss, eye, skin, hair), out):
        dst[box] = src
    return col, gloss, eye, skin, hair, out_base


def _base_albedo(model: FaceModel, tex: Textures, srf: Surface, px_per_mm: float) -> np.ndarray:
    """(H, W, 5): smooth skin colour (3), scalp-hair weight, sheen strength."""
    s = model.subject
    u, v = srf.u, srf.v
    au = np.abs(u)
    col = np.broadcast_to(np.asarray(s.skin, np.float32), u.shape + (3,)).copy()
    gloss = np.full(u.shape, s.gloss, np.float32)
    # Regional tints: redness (cheeks, nose, ears, lips' surround), darker eye surround, beard.
    red = s.redness * (0.55 * _blob(au, v, 38, -32, 15, 12) + 0.45 * _blob(u, v, 0, nose_tip_v(s), 9, 9)
                       + 0.6 * _blob(au, v, 135, -10, 12, 30) + 0.25 * _blob(u, v, 0, s.mouth_y, 30, 14))
    col *= np.stack([1 + 0.08 * red, 1 - 0.08 * red, 1 - 0.06 * red], -1)
    peri = _blob(au, v, s.eye_sep, -3.0, 13, 7)
    col *= np.stack([1 - 0.12 * peri, 1 - 0.14 * peri, 1 - 0.09 * peri], -1)
    if s.beard > 0:
        below = _ss(-22, -38, v) * _ss(s.chin_y - 40, s.chin_y - 5, v) * _ss(122, 100, au)
        lip_gap = 1 - _blob(u, v, 0, s.mouth_y, s.mouth_width * 0.95, 6.5)
        b = s.beard * below * lip_gap
        col *= np.stack([1 - 0.28 * b, 1 - 0.25 * b, 1 - 0.18 * b], -1)
    col *= sample_blotch(tex, u, v)
    gloss *= 1.0 + 0.6 * _blob(u, v, 0, 30, 40, 18) + 0.8 * _blob(u, v, 0, -25, 8, 20)   # T-zone
    # Brows: the skin under the brow hairs takes some of their colour.
    pb = _box((v > 0) & (v < 40) & (au < 70) & srf.mask)
    if pb is not None:
        patch = brow_patch(s, u[pb], v[pb])
        col[pb] = _lerp(col[pb], np.asarray(s.hair_color, np.float32) * 0.8, 0.35 * patch)
    # Hair on the scalp, with a fuzzy hairline.
    hair = np.zeros(u.shape, np.float32)
    hb = _box((v - hairline(s, u) > -8.0) & srf.mask)
    if hb is not None:
        hair_tex = sample_hair(tex, u[hb], v[hb], px_per_mm)
        hl = v[hb] - hairline(s, u[hb]) + 3.0 * (hair_tex - 1.0)
        hair[hb] = _ss(-1.0, 3.5, hl)
        hair_col = np.asarray(s.hair_color, np.float32)[None, None, :] * hair_tex[..., None]
        col[hb] = col[hb] + (hair_col - col[hb]) * hair[hb][..., None]
    gloss = gloss * (1 - hair) + 0.5 * hair
    return np.concatenate([col, hair[..., None], gloss[..., None]], -1)


def _features(model: FaceModel, pose: Pose, srf: Surface, base: np.ndarray):
    """Sharp features over the smooth base: lips, nostrils, mouth interior, eyes."""
    s = model.subject
    u, v = srf.u, srf.v
    au = np.abs(u)
    col = base[..., :3].copy()
    hair = base[..., 3]
    gloss = base[..., 4].copy()
    # Lips.
    lipmask = np.zeros(u.shape, np.float32)
    lb = _box((au < s.mouth_width + 3) & (v < s.mouth_y + 16) & (v > s.mouth_y - 18) & srf.mask)
    if lb is not None:
        du, dl = mouth.lip_region(s, u[lb], v[lb])
        lip = np.maximum(coverage(du, 0.12), coverage(dl, 0.12))
        lu, lv = u[lb], v[lb]
        # Vermilion: darker towards the mouth line, fine vertical lip lines, a dark contact line.
        depth_in = np.clip(np.minimum(-du, -dl), 0, None)
        lines = 0.06 * np.cos(lu * 2.6 + 1.3 * np.sin(lu * 0.9)) * _ss(0.3, 1.5, depth_in)
        tone = (0.82 + 0.18 * _ss(0.0, 2.5, np.abs(lv - s.mouth_y))) * (1.0 + lines)
        lip_col = np.asarray(s.lip_color, np.float32) * tone[..., None]
        col[lb] = _lerp(col[lb], lip_col, lip * 0.92)
        closed = 1.0 - _ss(0.05, 0.6, np.interp(lu, model.grid.u, pose.gap_u))
        seam = coverage(np.abs(lv - s.mouth_y) - 0.18, 0.08) * closed * (np.abs(lu) < s.mouth_width)
        col[lb] = _lerp(col[lb], np.asarray(s.lip_color, np.float32) * 0.25, 0.85 * seam)
        gloss[lb] = gloss[lb] + lip * 0.8
        lipmask = np.zeros(u.shape, np.float32)
        lipmask[lb] = lip
    # Nostrils: dark openings.
    nu, nv, nru, nrv = nostril(s)
    nb = _box((au < nu + nru + 2) & (np.abs(v - nv) < nrv + 2) & srf.mask)
    if nb is not None:
        for side in SIDES:
            rho = np.sqrt(((u[nb] - side * nu) / nru) ** 2 + ((v[nb] - nv) / nrv) ** 2)
            col[nb] = _lerp(col[nb], [0.05, 0.02, 0.018], coverage(rho - 0.9, 0.25) * 0.85)
    interior = np.zeros(u.shape, np.float32)
    mb = _box((au < s.mouth_width) & (np.abs(v - s.mouth_y) < 2 * mouth.BAND) & srf.mask)
    if mb is not None:
        col[mb], interior[mb] = _mouth_interior(model, pose, u[mb], v[mb], col[mb])
    eye = np.zeros(u.shape, np.float32)
    for e in model.eyes:
        near = (np.abs(u - e.frame.side * s.eye_sep) < 26) & (np.abs(v) < 20) & srf.mask
        eb = _box(near)
        if eb is not None:
            sub = Surface(u[eb], v[eb], srf.p[eb], near[eb])
            col[eb], e_m = _eye(model, pose, e, sub, col[eb])
            eye[eb] = np.maximum(eye[eb], e_m)
    gloss = np.where(eye > 0.5, 0.0, gloss) * (1.0 - interior)
    skin = (1.0 - hair) * (1.0 - eye) * (1.0 - interior) * (1.0 - 0.85 * lipmask) * srf.mask
    return col * srf.mask[..., None], gloss * srf.mask, eye, skin.astype(np.float32), hair * srf.mask


def _mouth_interior(model: FaceModel, pose: Pose, u: np.ndarray, v: np.ndarray, col: np.ndarray
                    ) -> tuple[np.ndarray, np.ndarray]:
    s = model.subject
    g = model.grid
    gap = np.interp(u, g.u, pose.gap_u)
    t = mouth.band_fraction(s, v)
    wi = mouth.interior_halfwidth(s)
    inside = coverage(np.maximum(np.abs(u) - wi,
                                 np.maximum(v - (s.mouth_y + mouth.BAND), (s.mouth_y - mouth.BAND) - v)), 0.0)
    inside = np.where(gap > 0.02, inside, 0.0)
    if not inside.any():
        return col, inside
    s_up, s_lo = t * gap, (1 - t) * gap
    up_len = np.interp(u, g.u, pose.teeth_up)
    lo_len = np.interp(u, g.u, pose.teeth_lo)
    # Teeth: scalloped incisal edges, dark seams between teeth.
    bounds_up = np.array([0.0, 4.3, 10.8, 18.3, 25.5, 32.0])
    bounds_lo = np.array([0.0, 2.7, 6.2, 10.6, 16.5, 23.0])
    au = np.abs(u)
    seam_up = np.min(np.abs(au[..., None] - bounds_up), axis=-1)
    seam_lo = np.min(np.abs(au[..., None] - bounds_lo), axis=-1)
    edge_up = up_len - 0.25 * (1.0 - np.clip(seam_up / 2.5, 0, 1)) ** 2
    edge_lo = lo_len - 0.15 * (1.0 - np.clip(seam_lo / 1.8, 0, 1)) ** 2
    upper_t = coverage(s_up - edge_up, 0.15) * _ss(0.4, 0.9, s_up)
    lower_t = coverage(s_lo - edge_lo, 0.15) * _ss(0.4, 0.9, s_lo)
    teeth = np.maximum(upper_t, lower_t * (1 - upper_t))
    seam = np.maximum(np.exp(-0.5 * (seam_up / 0.15) ** 2) * upper_t, np.exp(-0.5 * (seam_lo / 0.12) ** 2) * lower_t)
    deep = _ss(1.0, 10.0, np.minimum(s_up - edge_up, s_lo - edge_lo))
    interior = _lerp(np.broadcast_to(TONGUE, col.shape).copy(), CAVITY, np.maximum(deep, _ss(10, 4, s_lo)))
    interior = _lerp(interior, TEETH, teeth * (1 - 0.4 * seam))
    inner_lip = np.asarray(s.lip_color, np.float32) * 0.6
    lipness = 1.0 - _ss(0.2, 0.9, np.minimum(s_up, s_lo))
    interior = _lerp(interior, inner_lip, lipness)
    return _lerp(col, interior, inside), inside * (1.0 - lipness)


def _eye(model: FaceModel, pose: Pose, eye, srf: Surface, col: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Lid margins and the eyeball of one eye inside its window."""
    u, v = srf.u, srf.v
    f = eye.frame
    near = srf.mask
    up, lo = model.openness(pose.expression, f.side)
    d, d_up, d_lo = aperture_distance(f, u, v, up, lo)
    d = np.where(near, d, 50.0)
    aperture = coverage(d, 0.0) * near
    # Lid margins: a dark lash line on the upper lid, a moist pink rim on the lower.
    col = _lerp(col, [0.05, 0.035, 0.03], 0.75 * coverage(np.abs(d_up - 0.25) - 0.25, 0.05) * near * (d_up >= d_lo))
    col = _lerp(col, [0.34, 0.17, 0.15], 0.5 * coverage(np.abs(d_lo - 0.2) - 0.2, 0.05) * near * (d_lo > d_up))
    ab = _box(aperture > 0)
    if ab is None:
        return col, aperture
    col[ab] = _eyeball(model, eye, Surface(u[ab], v[ab], srf.p[ab], near[ab]), col[ab], aperture[ab], d_up[ab])
    return col, aperture


def _eyeball(model: FaceModel, eye, srf: Surface, col: np.ndarray, aperture: np.ndarray, d_up: np.ndarray):
    """Sclera, iris with radial fibres and limbal ring, pupil, caruncle; shaded by the upper lid."""
    s = model.subject
    u, v = srf.u, srf.v
    f = eye.frame
    w = srf.p - eye.centre
    r = np.linalg.norm(w, axis=-1) + 1e-9
    ang = np.arccos(np.clip((w @ eye.gaze) / r, -1, 1))
    e1, e2 = gaze_basis(eye.gaze)
    phi = np.arctan2(w @ e2, w @ e1)
    ri = np.arcsin(s.iris_radius / 12.0)
    rp = np.arcsin(s.pupil_radius / 12.0)
    x = ang / ri
    k = np.arange(1, 7)[:, None, None]
    fib = np.sum(np.cos(k * 11 * phi[None] + k * (1.7 + f.side)) / k, axis=0) / 2.4
    iris_col = np.asarray(s.iris_color, np.float32)
    iris = iris_col * (1.0 + 0.35 * fib[..., None] * (0.4 + x[..., None]))
    iris = iris * (1.25 - 0.5 * x[..., None] ** 3)
    iris = _lerp(iris, iris_col * 0.35, _ss(0.82, 1.0, x))
    ball = _lerp(np.broadcast_to(SCLERA, col.shape).copy(), iris, coverage(ang - ri, 0.0))
    ball = _lerp(ball, PUPIL, coverage(ang - rp, 0.0))
    sl, _ = local(f, u, v)
    ball = _lerp(ball, [0.55, 0.38, 0.36], 0.6 * (_ss(0.3, 0.05, sl) + _ss(0.75, 1.0, sl)) * (ang > ri))
    ball = _lerp(ball, CARUNCLE, _ss(0.13, 0.04, sl))
    # The upper lid shades the top of the eyeball.
    shade = 1.0 - 0.5 * np.exp(np.minimum(d_up, 0.0) / 1.3)
    ball = ball * shade[..., None]
    return col + (ball - col) * aperture[..., None]
