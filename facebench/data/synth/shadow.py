"""Soft cast shadows from the key light: an orthographic depth map of the posed face seen from
the light, rasterised with the same z-buffer, looked up with percentage-closer filtering (the
softbox's penumbra). Nose, brow ridge, lids and jaw shadow the cheek, eye sockets and neck."""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from facebench.data.synth.raster import rasterize

MAP_SIZE = 512
BIAS_MM = 0.6
PENUMBRA_MM = 5.0


@dataclass
class ShadowMap:
    basis: np.ndarray        # (3, 3) rows: map x, map y, direction away from the light
    origin: np.ndarray       # (2,) map coordinates of texel (0, 0) in mm
    scale: float             # texels per mm
    depth: np.ndarray        # (M, M) float32 distance from the light plane (inf: nothing)
    penumbra: float = PENUMBRA_MM   # mm: the light's size as seen from the face (soft box vs sun)

    def lit(self, p: np.ndarray, n: np.ndarray) -> np.ndarray:
        """Fraction (...) of the key light reaching head-frame points (..., 3) with unit normals
        (..., 3). The lookup point is pushed off the surface along its normal and the depth test
        gets a slope-scaled bias, so lit surfaces never shadow themselves."""
        cos = np.clip(n @ -self.basis[2], 0.05, 1.0)
        tan = np.minimum(np.sqrt(1.0 - cos ** 2) / cos, 4.0).reshape(-1).astype(np.float32)
        q = (p + 1.0 * n) @ self.basis.T
        x = ((q[..., 0] - self.origin[0]) * self.scale).astype(np.float32)
        y = ((q[..., 1] - self.origin[1]) * self.scale).astype(np.float32)
        d = q[..., 2].astype(np.float32).reshape(-1)
        # cv2.remap wants 2-D maps under 32767 rows: lay the points out in rows of 1024.
        n = x.size
        rows = -(-n // 1024)
        pad = rows * 1024 - n
        fx = np.pad(x.reshape(-1), (0, pad)).reshape(rows, 1024)
        fy = np.pad(y.reshape(-1), (0, pad)).reshape(rows, 1024)
        r = self.penumbra * self.scale
        acc = np.zeros(n, np.float32)
        # The lookups are bilinear in depth, so 7 taps still give a smooth penumbra.
        offs = [(0, 0)] + [(r * np.cos(a), r * np.sin(a)) for a in np.arange(6) * np.pi / 3]
        thresh = d - BIAS_MM - (self.penumbra + 1.0 / self.scale) * tan
        for ox, oy in offs:
            z = cv2.remap(self.depth, fx + np.float32(ox), fy + np.float32(oy), cv2.INTER_LINEAR,
                          borderMode=cv2.BORDER_CONSTANT, borderValue=1e9).reshape(-1)[:n]
            acc += thresh <= z
        return (acc / len(offs)).reshape(x.shape)


def make_shadow_map(points: np.ndarray, faces: np.ndarray, light_dir: np.ndarray,
                    penumbra: float = PENUMBRA_MM) -> ShadowMap:
    """Shadow map of a mesh (V, 3) for a directional light coming *from* ``light_dir``, with a
    penumbra of ``penumbra`` mm."""
    w = -light_dir / np.linalg.norm(light_dir)
    a = np.cross(w, [0.0, 1.0, 0.0])
    a /= np.linalg.norm(a)
    b = np.cross(w, a)
    basis = np.stack([a, b, w])
    q = points @ basis.T
    # Only the front of the head and the upper neck can cast a visible shadow: fit the map to them.
    near = (points[:, 1] > -260.0) & (points[:, 2] > -40.0)
    lo, hi = q[near, :2].min(0), q[near, :2].max(0)
    scale = (MAP_SIZE - 4) / float((hi - lo).max())
    origin = lo - 2.0 / scale
    xy = (q[:, :2] - origin) * scale
    dz = q[:, 2] - q[:, 2].min() + 300.0
    ras = rasterize(xy, dz, faces, MAP_SIZE, MAP_SIZE, cull_backfaces=False)
    depth = np.where(ras.mask, ras.depth + (q[:, 2].min() - 300.0), 1e9).astype(np.float32)
    # Close pinholes left by sub-texel triangles (the nearest depth in each 3x3 neighbourhood).
    depth = cv2.erode(depth, np.ones((3, 3), np.uint8))
    return ShadowMap(basis, origin, scale, depth, penumbra)
