"""A subject's 3-D face: the rest surface on the parameter grid, and its pose for an expression.

``FaceModel(subject, spacing)`` builds the expression-independent parts once (base head, rest
relief, eyeballs); :meth:`FaceModel.pose` returns the deformed mesh for one expression. Points of
the surface at arbitrary (u, v) are read off the *same triangulated mesh* the renderer draws
(:func:`mesh_point`), so a landmark defined at (u, v) lies exactly on the rendered feature.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from facebench.data.synth import mouth
from facebench.data.synth.base import Grid, base_surface, cast_profiles, grid_normals, make_grid
from facebench.data.synth.deform import band_gap, cavity_depth, displacement, teeth_show
from facebench.data.synth.expressions import Expression
from facebench.data.synth.eyes import EYE_RADIUS, SIDES, EyeFrame, eye_frame, eye_relief, eyeball_height
from facebench.data.synth.relief import face_relief, nasolabial_relief
from facebench.data.synth.subject import Subject

GAZE_TARGET = np.array([0.0, -10.0, 700.0])   # where the subject looks (near the frontal camera)


@dataclass
class Eye:
    frame: EyeFrame
    centre: np.ndarray        # (3,) eyeball centre
    gaze: np.ndarray          # (3,) unit gaze direction
    rows: slice               # grid window where the lids are rebuilt per expression
    cols: slice


@dataclass
class Pose:
    """The deformed face for one expression."""

    expression: Expression
    points: np.ndarray        # (nv, nu, 3) vertex positions, head frame, mm
    normals: np.ndarray       # (nv, nu, 3) unit normals
    ao: np.ndarray            # (nv, nu) ambient occlusion factor in 0..1
    gap_u: np.ndarray         # (nu,) mouth opening per column (mm), for teeth / cavity materials
    teeth_up: np.ndarray      # (nu,) visible upper teeth length
    teeth_lo: np.ndarray      # (nu,) visible lower teeth length


class FaceModel:
    """One subject's face at a given mesh spacing (mm)."""

    def __init__(self, subject: Subject, spacing: float) -> None:
        s = self.subject = subject
        self.spacing = spacing
        band_rows = int(np.clip(np.ceil(36.0 / spacing), 12, 90))
        self.grid: Grid = make_grid(spacing, s.mouth_y, mouth.BAND, band_rows)
        self.base = base_surface(cast_profiles(s), self.grid)
        self.U, self.V = np.meshgrid(self.grid.u, self.grid.v)
        self.base_n = self._displacement_directions(grid_normals(self.base, self.grid))
        self.relief = face_relief(s, self.U, self.V)
        self.eyes = [self._eye(side) for side in SIDES]
        self.h_ball = [eyeball_height(self.base[e.rows, e.cols], self.base_n[e.rows, e.cols], e.centre)
                       for e in self.eyes]
        top, bot = s.mouth_y + mouth.BAND, s.mouth_y - mouth.BAND
        self.band_rows = np.flatnonzero((self.grid.v >= bot - 1e-9) & (self.grid.v <= top + 1e-9))
        self.band_t = mouth.band_fraction(s, self.grid.v[self.band_rows])

    def _displacement_directions(self, normals: np.ndarray) -> np.ndarray:
        """Relief is displaced along the base normals, turned towards straight ahead around the
        eyes: the head's curvature tilts the normals there by 20-30 degrees, and lines along
        them would miss the eyeball near the inner canthus."""
        s = self.subject
        w = np.zeros(self.U.shape)
        for side in SIDES:
            w = np.maximum(w, np.exp(-(((self.U - side * s.eye_sep) / 24.0) ** 4 + ((self.V - 1.0) / 17.0) ** 4)))
        d = normals + w[..., None] * (np.array([0.0, 0.0, 1.0]) - normals)
        return d / np.linalg.norm(d, axis=-1, keepdims=True)

    def _eye(self, side: int) -> Eye:
        s, g = self.subject, self.grid
        f = eye_frame(s, side)
        cu, cv = side * s.eye_sep, -0.6 + 0.5 * s.canthal_tilt + 0.3 * (s.eye_open - s.eye_lower)
        b = mesh_point(self.base, g, np.array([[cu, cv]]))[0]
        centre = b + np.array([0.0, 0.0, s.eye_depth - EYE_RADIUS])
        gaze = GAZE_TARGET - centre
        gaze /= np.linalg.norm(gaze)
        cols = np.flatnonzero(np.abs(g.u - cu) < 27.0)
        rows = np.flatnonzero((g.v > -19.0) & (g.v < 21.0))
        return Eye(f, centre, gaze, slice(rows[0], rows[-1] + 1), slice(cols[0], cols[-1] + 1))

    def openness(self, e: Expression, side: int) -> tuple[float, float]:
        return (e.open_up_l, e.open_lo_l) if side < 0 else (e.open_up_r, e.open_lo_r)

    def pose(self, e: Expression) -> Pose:
        s, g = self.subject, self.grid
        h = self.relief.copy()
        smile = e.smile + 0.5 * e.cheek_raise
        if smile:
            h += 0.9 * smile * nasolabial_relief(s, self.U, self.V)
        for eye, hb in zip(self.eyes, self.h_ball):
            win = (eye.rows, eye.cols)
            up, lo = self.openness(e, eye.frame.side)
            h[win] = eye_relief(eye.frame, self.U[win], self.V[win], hb, h[win], up, lo)
        pts = self.base + h[..., None] * self.base_n
        pts += displacement(s, e, self.U, self.V, self.base, self.base_n)
        # The mouth: the stretched band recedes into a cavity with teeth behind the lips.
        br = self.band_rows
        gap = band_gap(s, g.u, pts[br[-1]], pts[br[0]])
        t_up, t_lo = teeth_show(s, e, g.u)
        t = self.band_t[:, None]
        depth = cavity_depth(gap[None, :], t * gap[None, :], (1 - t) * gap[None, :], t_up[None, :], t_lo[None, :])
        pts[br] -= depth[..., None] * self.base_n[br]
        normals = grid_normals(pts, g)
        return Pose(e, pts, normals, self._occlusion(pts, normals), gap, t_up, t_lo)

    def _occlusion(self, pts: np.ndarray, normals: np.ndarray) -> np.ndarray:
        """Cheap ambient occlusion: how far the neighbourhood's mean lies in front of the surface."""
        out = np.ones(pts.shape[:2])
        for sigma_mm, k in ((2.5, 0.22), (9.0, 0.07)):
            sig = max(sigma_mm / self.spacing, 0.7)
            blur = cv2.GaussianBlur(pts.astype(np.float32), (0, 0), sig).astype(np.float64)
            conc = ((blur - pts) * normals).sum(-1)
            out *= np.exp(-k * np.clip(conc, 0, None))
        return out


def mesh_point(values: np.ndarray, grid: Grid, uv: np.ndarray) -> np.ndarray:
    """Values (nv, nu, C) interpolated at (N, 2) parameter points with the mesh's own triangles."""
    u, v = uv[:, 0], uv[:, 1]
    i = np.clip(np.searchsorted(grid.u, u) - 1, 0, len(grid.u) - 2)
    j = np.clip(np.searchsorted(grid.v, v) - 1, 0, len(grid.v) - 2)
    a = (u - grid.u[i]) / (grid.u[i + 1] - grid.u[i])
    b = (v - grid.v[j]) / (grid.v[j + 1] - grid.v[j])
    p00, p10, p01, p11 = values[j, i], values[j, i + 1], values[j + 1, i], values[j + 1, i + 1]
    lower = (a + b <= 1.0)[:, None]
    a, b = a[:, None], b[:, None]
    first = p00 * (1 - a - b) + p10 * a + p01 * b                   # triangle (00, 10, 01)
    second = p10 * (1 - b) + p11 * (a + b - 1) + p01 * (1 - a)       # triangle (10, 11, 01)
    return np.where(lower, first, second)
