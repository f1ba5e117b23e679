"""Anti-aliased hair strokes (brows, lashes) composited over a linear-light image.

Strands thinner than a pixel are drawn into a supersampled coverage mask and area-averaged back,
so a lash covers the fraction of a pixel a real lash would, at 256 px as at 4096 px.
"""

from __future__ import annotations

import cv2
import numpy as np

from facebench.core.geometry import rescale_points
from facebench.data.synth.brows import strands_3d
from facebench.data.synth.compose import tone, untone_u8
from facebench.data.synth.shading import STUDIO, Lighting, irradiance

_SHIFT = 4


def draw_strands(img: np.ndarray, lines: np.ndarray, width_px: np.ndarray, color: np.ndarray,
                 bins: int = 4) -> None:
    """Composite strands into ``img`` (H, W, 3) float32 in place.

    lines: (n, K, 2) polylines in ``img`` pixels; width_px: (n,); color: (n, 3) linear RGB.
    """
    if len(lines) == 0:
        return
    h, w = img.shape[:2]
    lo = np.floor(lines.reshape(-1, 2).min(0)).astype(int) - 3
    hi = np.ceil(lines.reshape(-1, 2).max(0)).astype(int) + 4
    x0, y0 = max(lo[0], 0), max(lo[1], 0)
    x1, y1 = min(hi[0], w), min(hi[1], h)
    if x1 <= x0 or y1 <= y0:
        return
    bw, bh = x1 - x0, y1 - y0
    ss = int(np.clip(round(1.6 / max(float(np.median(width_px)), 1e-3)), 1, 6))
    lum = color.mean(1)
    edges = np.quantile(lum, np.linspace(0, 1, bins + 1)[1:-1]) if len(lum) > bins else np.array([])
    which = np.searchsorted(edges, lum)
    win = img[y0:y1, x0:x1]
    local = lines - np.array([x0, y0], dtype=np.float64)
    local = rescale_points(local, np.array([bw, bh]), np.array([bw * ss, bh * ss]))
    for b in np.unique(which):
        sel = which == b
        mask = np.zeros((bh * ss, bw * ss), np.uint8)
        pts = [np.round(p * (1 << _SHIFT)).astype(np.int32) for p in local[sel]]
        wpx = float(np.median(width_px[sel])) * ss
        thick = max(1, int(round(wpx)))
        cv2.polylines(mask, pts, False, 255, thick, cv2.LINE_AA, shift=_SHIFT)
        alpha = mask.astype(np.float32) * (min(1.0, wpx / thick) / 255.0)
        if ss > 1:
            alpha = cv2.resize(alpha, (bw, bh), interpolation=cv2.INTER_AREA)
        c = color[sel].mean(0).astype(np.float32)
        win += (c[None, None, :] - win) * alpha[..., None]


def draw_hairs(img: np.ndarray, assets, pose, camera, cam_w, depth: np.ndarray,
               lighting: Lighting = STUDIO) -> None:
    """Draw the subject's brows and lashes on the 8-bit image ``img`` (S, S, 3) in place.

    Strands whose root is hidden (behind the nose at strong yaw) are skipped: the root's depth is
    tested against the working-resolution depth buffer ``depth``. Each strand is lit with the
    scene's lights for a normal between the skin's and the strand's own direction.
    """
    hairs = assets.hairs
    pts = strands_3d(hairs, assets.model, pose)                    # (n, K, 3)
    roots = pts[:, 0]
    rw = np.round(cam_w.project(roots)).astype(int)
    h, w = depth.shape
    ok = (rw[:, 0] >= 0) & (rw[:, 0] < w) & (rw[:, 1] >= 0) & (rw[:, 1] < h)
    vis = np.zeros(len(roots), bool)
    vis[ok] = cam_w.depth(roots[ok]) <= depth[rw[ok, 1], rw[ok, 0]] + 1.5
    ppm = camera.ppm
    base = np.asarray(assets.subject.hair_color, np.float32)
    for grp in np.unique(hairs.group):
        sel = np.flatnonzero((hairs.group == grp) & vis)
        if len(sel) == 0:
            continue
        lines = camera.project(pts[sel])
        along = pts[sel, -1] - pts[sel, 0]
        along /= np.maximum(np.linalg.norm(along, axis=-1, keepdims=True), 1e-6)
        nrm = np.cross(along, np.cross([0.0, 0.3, 1.0], along)) + np.array([0.0, 0.2, 0.6])
        nrm /= np.linalg.norm(nrm, axis=-1, keepdims=True)
        light = irradiance(nrm.astype(np.float32), np.full(len(sel), 0.8, np.float32), None, lighting)
        lash = grp >= 2
        tone_col = np.minimum(base * 0.55, 0.015) if lash else base * 0.8
        color = (tone_col[None, :] * hairs.shade[sel, None] * light).astype(np.float32)
        lo = np.floor(lines.reshape(-1, 2).min(0)).astype(int) - 4
        hi = np.ceil(lines.reshape(-1, 2).max(0)).astype(int) + 5
        x0, y0 = max(lo[0], 0), max(lo[1], 0)
        x1, y1 = min(hi[0], img.shape[1]), min(hi[1], img.shape[0])
        if x1 <= x0 or y1 <= y0:
            continue
        win = untone_u8(img[y0:y1, x0:x1])
        draw_strands(win, lines - np.array([x0, y0]), hairs.width[sel] * ppm, color)
        img[y0:y1, x0:x1] = cv2.convertScaleAbs(tone(win), alpha=255.0)
