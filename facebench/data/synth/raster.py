"""A vectorised NumPy z-buffer rasteriser for triangle meshes.

Pixel centres sit at integer coordinates (the facebench convention, see :mod:`facebench.core.geometry`):
a triangle covers pixel ``(col, row)`` when the point ``(col, row)`` lies inside it. Every triangle
is expanded into the candidate pixels of its bounding box at once (triangles are grouped by box
size so the candidate arrays stay small), candidates are tested with edge functions, and the
nearest candidate per pixel wins (``np.minimum.at`` on the depth buffer). Attributes are
interpolated with perspective-correct barycentric weights.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

_BUCKETS = (1, 2, 3, 4, 6, 8, 12, 16, 24, 32, 48, 64, 96, 128, 192, 256)


@dataclass
class Raster:
    """What the rasteriser saw at every pixel of an ``H x W`` window.

    ``tri``: (H, W) int32 triangle id, -1 where no triangle covers the pixel centre.
    ``bary``: (H, W, 3) float32 perspective-correct barycentric weights (zero where ``tri == -1``).
    ``depth``: (H, W) float32 camera-space depth, +inf where empty.
    """

    tri: np.ndarray
    bary: np.ndarray
    depth: np.ndarray

    @property
    def mask(self) -> np.ndarray:
        return self.tri >= 0

    def interpolate(self, faces: np.ndarray, attrs: np.ndarray, fill: float = 0.0) -> np.ndarray:
        """Per-pixel attributes (H, W, C) from per-vertex ``attrs`` (V, C); ``faces`` (T, 3)."""
        h, w = self.tri.shape
        out = np.full((h * w, attrs.shape[1]), fill, dtype=np.float32)
        flat = self.tri.reshape(-1)
        sel = np.flatnonzero(flat >= 0)
        f = faces[flat[sel]]                                   # (M, 3)
        b = self.bary.reshape(-1, 3)[sel]                      # (M, 3)
        acc = attrs[f[:, 0]] * b[:, 0:1]
        acc += attrs[f[:, 1]] * b[:, 1:2]
        acc += attrs[f[:, 2]] * b[:, 2:3]
        out[sel] = acc
        return out.reshape(h, w, -1)


def rasterize(xy: np.ndarray, z: np.ndarray, faces: np.ndarray, width: int, height: int,
              cull_backfaces: bool = True, near: float = 1e-3) -> Raster:
    """Rasterise a mesh.

    xy: (V, 2) vertex positions in pixels (x right, y down), z: (V,) camera depth (> 0 in front),
    faces: (T, 3) int vertex ids, counter-clockwise *on screen* when front-facing (with y down that
    is a negative signed area in the usual maths orientation). Returns a :class:`Raster`.
    """
    xy = np.asarray(xy, dtype=np.float64)
    z = np.asarray(z, dtype=np.float64)
    faces = np.asarray(faces, dtype=np.int64)

    v0, v1, v2 = xy[faces[:, 0]], xy[faces[:, 1]], xy[faces[:, 2]]
    z0, z1, z2 = z[faces[:, 0]], z[faces[:, 1]], z[faces[:, 2]]
    area = (v1[:, 0] - v0[:, 0]) * (v2[:, 1] - v0[:, 1]) - (v1[:, 1] - v0[:, 1]) * (v2[:, 0] - v0[:, 0])
    keep = (z0 > near) & (z1 > near) & (z2 > near) & (area != 0)
    if cull_backfaces:
        keep &= area < 0
    lo = np.minimum(np.minimum(v0, v1), v2)
    hi = np.maximum(np.maximum(v0, v1), v2)
    x0 = np.ceil(lo[:, 0]).astype(np.int64).clip(0, width)
    y0 = np.ceil(lo[:, 1]).astype(np.int64).clip(0, height)
    x1 = np.floor(hi[:, 0]).astype(np.int64).clip(-1, width - 1)
    y1 = np.floor(hi[:, 1]).astype(np.int64).clip(-1, height - 1)
    keep &= (x1 >= x0) & (y1 >= y0)
    sel = np.flatnonzero(keep)

    zbuf = np.full(width * height, np.inf, dtype=np.float64)
    cand_pix, cand_tri, cand_z, cand_b = [], [], [], []
    size = np.maximum(x1 - x0, y1 - y0)[sel] + 1
    lower = 0
    for k in _BUCKETS + (max(width, height),):
        grp = sel[(size > lower) & (size <= k)]
        lower = k
        if len(grp) == 0:
            continue
        # One bucket at a time keeps the (T, k, k) candidate block small.
        step = max(1, 1_000_000 // (k * k))
        for s in range(0, len(grp), step):
            out = _candidates(grp[s:s + step], k, v0, v1, v2, z0, z1, z2, area, x0, y0, x1, y1, width)
            if out is not None:
                pix, tid, zc, bc = out
                np.minimum.at(zbuf, pix, zc)
                cand_pix.append(pix), cand_tri.append(tid), cand_z.append(zc), cand_b.append(bc)

    tri = np.full(width * height, -1, dtype=np.int32)
    bary = np.zeros((width * height, 3), dtype=np.float32)
    if cand_pix:
        pix = np.concatenate(cand_pix)
        zc = np.concatenate(cand_z)
        win = zc <= zbuf[pix]                 # ties: any winner is at the same depth
        pix = pix[win]
        tri[pix] = np.concatenate(cand_tri)[win]
        bary[pix] = np.concatenate(cand_b)[win]
    depth = zbuf.astype(np.float32).reshape(height, width)
    return Raster(tri=tri.reshape(height, width), bary=bary.reshape(height, width, 3), depth=depth)


def _candidates(grp, k, v0, v1, v2, z0, z1, z2, area, x0, y0, x1, y1, width):
    """Candidate pixels of triangles ``grp`` whose boxes fit in ``k x k``: inside ones only."""
    d = np.arange(k)
    px = x0[grp, None, None] + d[None, None, :]              # (G, 1, k)
    py = y0[grp, None, None] + d[None, :, None]              # (G, k, 1)
    inbox = (px <= x1[grp, None, None]) & (py <= y1[grp, None, None])
    a0x, a0y = v0[grp, 0, None, None], v0[grp, 1, None, None]
    a1x, a1y = v1[grp, 0, None, None], v1[grp, 1, None, None]
    a2x, a2y = v2[grp, 0, None, None], v2[grp, 1, None, None]
    inv = 1.0 / area[grp, None, None]
    # Edge functions = barycentric weights (normalised by the signed area).
    w0 = ((a1x - px) * (a2y - py) - (a1y - py) * (a2x - px)) * inv
    w1 = ((a2x - px) * (a0y - py) - (a2y - py) * (a0x - px)) * inv
    w2 = 1.0 - w0 - w1
    eps = -1e-9
    inside = inbox & (w0 >= eps) & (w1 >= eps) & (w2 >= eps)
    gi, yi, xi = np.nonzero(inside)
    if len(gi) == 0:
        return None
    t = grp[gi]
    w0, w1, w2 = w0[gi, yi, xi], w1[gi, yi, xi], w2[gi, yi, xi]
    # Perspective-correct weights: interpolate 1/z linearly on screen.
    q0, q1, q2 = w0 / z0[t], w1 / z1[t], w2 / z2[t]
    qs = q0 + q1 + q2
    zc = 1.0 / qs
    b = np.stack([q0 / qs, q1 / qs, q2 / qs], axis=1).astype(np.float32)
    pix = (y0[t] + yi) * width + (x0[t] + xi)
    return pix, t.astype(np.int32), zc, b
