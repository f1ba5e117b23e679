"""The base head: a smooth union of ellipsoids (cranium, midface, mandible, chin) and a neck, and
the (u, v) parameter grid the face is built on.

The parameterisation is a lathe around the head's vertical axis: ``u = R0 * azimuth`` (azimuth 0
faces the frontal camera, positive towards +x) and ``v`` is arc length along the head's profile in
that azimuth's half-plane, zero at eye level (y = 0) and positive upwards; so near the face front
``(u, v)`` are millimetres on the skin. Each profile is found by casting 2-D rays from a point
inside the head and bisecting the implicit surface; the profile continues under the chin, down
the neck and over the crown, so the jaw's underside is sampled as densely as the front.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from facebench.data.synth.subject import Subject

R0 = 85.0            # mm: u = R0 * azimuth
V_LO, V_HI = -205.0, 112.0   # v range mapped 1:1 to arc length; beyond it the profile is stretched
U_FACE = 165.0       # |u| below this is sampled at full density (face, ears)
U_MAX = R0 * np.deg2rad(150.0)
_ORIGIN = np.array([-28.0, -4.0])   # (y, radial) of the ray origin inside the head, on the axis
_PHI = np.deg2rad(np.linspace(-89.6, 90.0, 481))


def _ellipsoid(p: np.ndarray, c, r) -> np.ndarray:
    """Approximate signed distance to an axis-aligned ellipsoid (iq's bound), p: (..., 3)."""
    q = (p - np.asarray(c)) / np.asarray(r)
    k0 = np.sqrt((q * q).sum(-1))
    k1 = np.sqrt(((q / np.asarray(r)) ** 2).sum(-1))
    return k0 * (k0 - 1.0) / np.maximum(k1, 1e-9)


def _smin(a: np.ndarray, b: np.ndarray, k: float) -> np.ndarray:
    """Polynomial smooth minimum (smooth union) with blend width ``k`` mm."""
    h = np.clip(0.5 + 0.5 * (b - a) / k, 0.0, 1.0)
    return b + (a - b) * h - k * h * (1.0 - h)


def _face_mask(p: np.ndarray, s: Subject) -> np.ndarray:
    """Approximate distance to the face mask: a superellipsoid, flat from brow to chin in profile
    (exponent 4 in y), narrowing towards the chin."""
    cy, cz, b, c = -44.0, 6.0, -s.chin_y - 46.0, 86.0
    t = np.clip((-p[..., 1] - 38.0) / 80.0, 0.0, 1.0)
    taper = 1.0 - 0.40 * t * t * (3 - 2 * t)
    a = s.face_width * taper
    x, y, z = p[..., 0] / a, (p[..., 1] - cy) / b, (p[..., 2] - cz) / c
    g = x * x + y ** 4 + z * z - 1.0
    grad = np.sqrt((2 * x / a) ** 2 + (4 * y ** 3 / b) ** 2 + (2 * z / c) ** 2)
    return g / np.maximum(grad, 1e-6)


def head_sdf(p: np.ndarray, s: Subject) -> np.ndarray:
    """Implicit base head (negative inside) at points (..., 3)."""
    cranium = _ellipsoid(p, (0, 24, -6), (s.head_width, 94, s.head_length))
    face = _face_mask(p, s)
    jaw = _ellipsoid(p, (0, s.chin_y + 38, -2), (s.jaw_width, 30, 60))
    chin = _ellipsoid(p, (0, s.chin_y + 20, 60 + s.chin_forward), (s.chin_width, 20, 24))
    neck_r = np.sqrt((p[..., 0] / s.neck_width) ** 2 + ((p[..., 2] + 20) / 52.0) ** 2)
    neck = np.maximum((neck_r - 1.0) * min(s.neck_width, 54.0), np.maximum(p[..., 1] + 30, -(p[..., 1] + 430)))
    f = _smin(cranium, face, 16.0)
    f = _smin(f, jaw, 14.0)
    f = _smin(f, chin, 8.0)
    return _smin(f, neck, 16.0)


@dataclass
class Profiles:
    """Head profiles at ``alpha`` (A,) azimuths: radial distance ``r`` and height ``y``, (A, K),
    sampled at arc lengths ``s`` (A, K) (zero at y = 0, increasing upwards)."""

    alpha: np.ndarray
    s: np.ndarray
    r: np.ndarray
    y: np.ndarray


def cast_profiles(s: Subject, n_alpha: int = 61) -> Profiles:
    """Ray-cast the implicit head in ``n_alpha`` half-planes between -150 and 150 degrees."""
    alpha = np.linspace(-U_MAX / R0, U_MAX / R0, n_alpha)
    dy, dr = np.sin(_PHI), np.cos(_PHI)                                  # (K,)
    sa, ca = np.sin(alpha)[:, None], np.cos(alpha)[:, None]

    def f_at(idx: tuple[np.ndarray, np.ndarray], rho: np.ndarray) -> np.ndarray:
        rad = _ORIGIN[1] + rho * dr[idx[1]]
        pts = np.stack([rad * sa[idx[0], 0], _ORIGIN[0] + rho * dy[idx[1]], rad * ca[idx[0], 0]], -1)
        return head_sdf(pts, s)

    def f_all(rho: np.ndarray) -> np.ndarray:
        rad = _ORIGIN[1] + rho * dr
        pts = np.stack([rad * sa, np.broadcast_to(_ORIGIN[0] + rho * dy, rad.shape), rad * ca], -1)
        return head_sdf(pts, s)

    shape = (n_alpha, len(_PHI))
    lo = np.zeros(shape)
    hi = np.full(shape, 16.0)
    # March outwards to bracket the first exit (only rays still inside are evaluated), bisect to
    # ~0.1 mm, then one regula-falsi step (the implicit is smooth at that scale).
    active = np.ones(shape, dtype=bool)
    for _ in range(40):
        idx = np.nonzero(active)
        if len(idx[0]) == 0:
            break
        val = f_at(idx, hi[idx])
        still = val < 0
        lo[idx] = np.where(still, hi[idx], lo[idx])
        hi[idx] = np.where(still, hi[idx] + 16.0, hi[idx])
        active[idx] = still
    flo, fhi = None, None
    for it in range(8):
        mid = 0.5 * (lo + hi)
        val = f_all(mid)
        out = val > 0
        hi = np.where(out, mid, hi)
        lo = np.where(out, lo, mid)
    flo, fhi = f_all(lo), f_all(hi)
    rho_rf = lo + (hi - lo) * (-flo) / np.maximum(fhi - flo, 1e-12)
    lo = hi = np.clip(rho_rf, lo, hi)
    rho = 0.5 * (lo + hi)
    r = _ORIGIN[1] + rho * dr
    y = _ORIGIN[0] + rho * dy
    seg = np.hypot(np.diff(r, axis=1), np.diff(y, axis=1))
    arc = np.concatenate([np.zeros((n_alpha, 1)), np.cumsum(seg, axis=1)], axis=1)
    # Zero arc length where the profile crosses eye level (y = 0) on its way up.
    k = np.argmax(y >= 0, axis=1)
    y0, y1 = y[np.arange(n_alpha), k - 1], y[np.arange(n_alpha), k]
    a0, a1 = arc[np.arange(n_alpha), k - 1], arc[np.arange(n_alpha), k]
    zero = a0 + (a1 - a0) * (0 - y0) / (y1 - y0)
    return Profiles(alpha=alpha, s=arc - zero[:, None], r=r, y=y)


@dataclass
class Grid:
    """The parameter grid: ``u`` (nu,) and ``v`` (nv,) node coordinates, vertex ``(j, i)`` at
    ``(u[i], v[j])`` has id ``j * nu + i``; ``faces`` (T, 3) with front faces counter-clockwise
    on screen (y down). ``band`` is the (v_lo, v_hi) range of the mouth band rows."""

    u: np.ndarray
    v: np.ndarray
    faces: np.ndarray
    band: tuple[float, float]

    @property
    def shape(self) -> tuple[int, int]:
        return len(self.v), len(self.u)


def _axis(lo: float, hi: float, zones: tuple[tuple[float, float, float], ...], coarse: float) -> np.ndarray:
    """Nodes from lo to hi: spacing ``h`` inside each zone (a, b, h), ``coarse`` elsewhere."""
    marks = [lo]
    x = lo
    while x < hi:
        step = coarse
        for a, b, h in zones:
            if a <= x < b:
                step = min(step, h)
        nxt = min(x + step, hi)
        # Never jump over the start of a finer zone.
        for a, b, h in zones:
            if x < a < nxt and h < step:
                nxt = a
        marks.append(nxt)
        x = nxt
    return np.unique(np.round(np.array(marks), 6))


def make_grid(h: float, v_mouth: float, band_half: float, band_rows: int) -> Grid:
    """Grid with spacing ``h`` mm over the face, plus ``band_rows`` rows packed into the mouth band
    ``v_mouth +- band_half`` (they stretch into the mouth cavity when the lips part)."""
    u = _axis(-U_MAX, U_MAX, ((-U_FACE, U_FACE, 2 * h), (-100.0, 100.0, h)), max(4 * h, 3.0))
    v = _axis(V_LO - 14, V_HI + 14, ((-190.0, 100.0, 2 * h), (-150.0, 75.0, h)), max(2.5 * h, 2.0))
    lo, hi = v_mouth - band_half, v_mouth + band_half
    v = v[(v < lo - 0.5 * h) | (v > hi + 0.5 * h)]
    v = np.unique(np.concatenate([v, np.linspace(lo, hi, band_rows)]))
    nu, nv = len(u), len(v)
    j, i = np.meshgrid(np.arange(nv - 1), np.arange(nu - 1), indexing="ij")
    a = (j * nu + i).ravel()
    b, c = a + 1, a + nu
    d = c + 1
    faces = np.concatenate([np.stack([a, b, c], 1), np.stack([b, d, c], 1)]).astype(np.int64)
    return Grid(u=u, v=v, faces=faces, band=(lo, hi))


def base_surface(prof: Profiles, grid: Grid) -> np.ndarray:
    """Base head positions (nv, nu, 3) at the grid nodes (profiles interpolated in azimuth)."""
    nv, nu = grid.shape
    n_a = len(prof.alpha)
    r_cols = np.empty((n_a, nv))
    y_cols = np.empty((n_a, nv))
    for a in range(n_a):
        s = prof.s[a]
        # Map v to arc length: 1:1 inside [V_LO, V_HI], stretched to the profile's ends outside.
        sv = grid.v.copy()
        top = grid.v > V_HI
        bot = grid.v < V_LO
        vmax, vmin = grid.v.max(), grid.v.min()
        sv[top] = V_HI + (grid.v[top] - V_HI) / (vmax - V_HI) * (s[-1] - V_HI)
        sv[bot] = V_LO + (grid.v[bot] - V_LO) / (vmin - V_LO) * (s[0] - V_LO)
        r_cols[a] = np.interp(sv, s, prof.r[a])
        y_cols[a] = np.interp(sv, s, prof.y[a])
    alpha = grid.u / R0
    t = (alpha - prof.alpha[0]) / (prof.alpha[1] - prof.alpha[0])
    k = np.clip(np.floor(t).astype(int), 1, n_a - 3)
    f = (t - k)[None, :]
    r = _catmull(r_cols, k, f)
    y = _catmull(y_cols, k, f)
    return np.stack([r * np.sin(alpha)[None, :], y, r * np.cos(alpha)[None, :]], axis=-1)


def _catmull(cols: np.ndarray, k: np.ndarray, f: np.ndarray) -> np.ndarray:
    """Catmull-Rom interpolation of (A, nv) columns at fractional positions k + f -> (nv, nu)."""
    p0, p1, p2, p3 = cols[k - 1].T, cols[k].T, cols[k + 1].T, cols[k + 2].T
    return 0.5 * ((2 * p1) + (-p0 + p2) * f + (2 * p0 - 5 * p1 + 4 * p2 - p3) * f ** 2
                  + (-p0 + 3 * p1 - 3 * p2 + p3) * f ** 3)


def grid_normals(p: np.ndarray, grid: Grid) -> np.ndarray:
    """Unit outward normals (nv, nu, 3) of a surface sampled on the grid, by finite differences."""
    du = np.gradient(p, grid.u, axis=1)
    dv = np.gradient(p, grid.v, axis=0)
    n = np.cross(du, dv)
    return n / np.maximum(np.linalg.norm(n, axis=-1, keepdims=True), 1e-12)
