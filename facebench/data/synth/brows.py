"""Eyebrows and eyelashes as hair strands rooted on the skin, in (u, v) and then in 3-D.

A brow is a band in (u, v) from its head (near the nose, s = 0) to its tail (s = 1): a lower edge
that arches, a thickness that tapers. Its hairs are rooted inside the band and grow along the
skin: upwards at the head, towards the tail elsewhere, upper and lower hairs converging. Lashes
are rooted just outside the lid margins and curl away from the eye. Strands are generated once
per subject (:func:`make_hairs`) and placed on the posed mesh per image (:func:`strands_3d`), so
they follow brow raises, frowns and closing lids.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from facebench.data.synth.config import STREAM_TEXTURE, rng_for
from facebench.data.synth.eyes import SIDES, eye_frame, lid_curves, to_uv
from facebench.data.synth.face import mesh_point
from facebench.data.synth.subject import Subject


def _brow_ends(s: Subject, side: int) -> tuple[float, float]:
    u_in = s.eye_sep - 0.5 * s.eye_width - 1.0
    return side * (u_in - 2.0), side * (u_in + s.eye_width + 8.0)


def brow_edges(s: Subject, side: int, t: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(u, lower v, upper v) of the brow at positions ``t`` (0 head .. 1 tail)."""
    uh, ut = _brow_ends(s, side)
    uu = uh + (ut - uh) * t
    lower = s.brow_height + s.brow_arch * (1.0 - ((t - 0.62) / 0.62) ** 2) - 1.5 * np.clip(t - 0.8, 0, None)
    thick = s.brow_thickness * (1.0 - 0.62 * np.clip(t, 0, 1) ** 1.4) * (0.82 + 0.18 * np.clip(t / 0.12, 0, 1))
    return uu, lower, lower + thick


def brow_landmarks_uv(s: Subject, side: int) -> list[np.ndarray]:
    """Five points on the brow's upper edge from the tail (outer end) to the head (inner end)."""
    out = []
    for t in (1.0, 0.75, 0.5, 0.25, 0.0):
        uu, lo, hi = brow_edges(s, side, np.array([t]))
        v = 0.5 * (lo + hi) if t == 1.0 else hi
        out.append(np.array([uu[0], v[0]]))
    return out


def brow_patch(s: Subject, u: np.ndarray, v: np.ndarray) -> np.ndarray:
    """0..1 soft mask of the skin under the brows (used to tint it)."""
    out = np.zeros(u.shape, np.float32)
    for side in SIDES:
        uh, ut = _brow_ends(s, side)
        t = (u - uh) / (ut - uh)
        _, lo, hi = brow_edges(s, side, np.clip(t, 0, 1))
        mid, half = 0.5 * (lo + hi), 0.5 * (hi - lo)
        inside = (np.clip(1.2 - np.abs(v - mid) / np.maximum(half, 0.5), 0, 1)
                  * np.clip(np.minimum(t, 1 - t) * 12 + 0.3, 0, 1))
        out = np.maximum(out, inside.astype(np.float32))
    return out


@dataclass
class Hairs:
    """Strands in parameter space: ``uv`` (n, k, 2) points root -> tip, ``lift`` (n, k) mm off the
    skin, ``width`` (n,) mm, ``shade`` (n,) colour multiplier, ``group`` (n,) 0/1 brows,
    2/3 upper lashes, 4/5 lower lashes (even: image-left)."""

    uv: np.ndarray
    lift: np.ndarray
    width: np.ndarray
    shade: np.ndarray
    group: np.ndarray
    lash_s: np.ndarray      # (n,) chord position of lashes (nan for brows)
    lash_len: np.ndarray    # (n,) lash length mm (0 for brows)


K = 5   # points per strand


def make_hairs(seed: int, s: Subject) -> Hairs:
    rng = rng_for(seed, STREAM_TEXTURE, s.index, 7)
    uvs, lifts, widths, shades, groups, lash_s, lash_len = [], [], [], [], [], [], []
    tau = np.linspace(0, 1, K)
    for gi, side in enumerate(SIDES):
        uh, ut = _brow_ends(s, side)
        area = abs(ut - uh) * s.brow_thickness * 0.7
        n = int(s.brow_density * area)
        t = rng.beta(1.3, 1.6, n)
        f = rng.uniform(0, 1, n)
        uu, lo, hi = brow_edges(s, side, t)
        root = np.stack([uu, lo + (hi - lo) * (0.05 + 0.8 * f)], -1)
        # Direction: up at the head, towards the tail further out; upper/lower hairs converge.
        tail_sign = np.sign(ut - uh)
        slant = np.where(t < 0.15, 1.3, 0.25 - 0.55 * (f - 0.4))
        ang = np.arctan2(slant, 1.0) + rng.normal(0, 0.18, n)
        d = np.stack([np.cos(ang) * tail_sign, np.sin(ang)], -1)
        length = np.where(t < 0.15, rng.uniform(3.5, 6.0, n), rng.uniform(5.0, 9.0, n)) * (1 - 0.3 * t)
        bend = rng.normal(0, 0.12, n) - 0.15
        perp = np.stack([-d[:, 1], d[:, 0]], -1)
        pts = root[:, None, :] + length[:, None, None] * (
            tau[None, :, None] * d[:, None, :] + (tau ** 2)[None, :, None] * bend[:, None, None] * perp[:, None, :])
        uvs.append(pts)
        lifts.append(np.outer(rng.uniform(0.2, 0.7, n), tau))
        widths.append(rng.uniform(0.05, 0.09, n))
        shades.append(rng.uniform(0.55, 1.15, n))
        groups.append(np.full(n, gi))
        lash_s.append(np.full(n, np.nan))
        lash_len.append(np.zeros(n))
    for gi, side in enumerate(SIDES):
        for lower in (False, True):
            n = int(rng.integers(30, 45) if lower else rng.integers(110, 150))
            sp = rng.beta(1.6, 1.2, n) * 0.88 + 0.08 if not lower else rng.uniform(0.3, 0.95, n)
            base_len = (1.0 + 0.2 * (1 - s.sex)) * (rng.uniform(1.8, 3.4, n) if lower else rng.uniform(6.5, 10.0, n))
            length = base_len * (0.55 + 0.45 * np.sin(np.pi * np.clip(sp, 0, 1)) ** 0.5)
            uvs.append(np.zeros((n, K, 2)))
            lifts.append(np.zeros((n, K)))
            widths.append(rng.uniform(0.06, 0.1, n))
            shades.append(rng.uniform(0.6, 1.0, n))
            groups.append(np.full(n, 2 + 2 * int(lower) + gi))
            lash_s.append(sp)
            lash_len.append(length)
    cat = np.concatenate
    return Hairs(uv=cat(uvs), lift=cat(lifts), width=cat(widths), shade=cat(shades), group=cat(groups),
                 lash_s=cat(lash_s), lash_len=cat(lash_len))


def strands_3d(hairs: Hairs, model, pose) -> np.ndarray:
    """(n, K, 3) head-frame polylines of every strand on the posed face."""
    g = model.grid
    out = np.zeros(hairs.uv.shape[:2] + (3,))
    brow = np.isnan(hairs.lash_s)
    if brow.any():
        flat = hairs.uv[brow].reshape(-1, 2)
        p = mesh_point(pose.points, g, flat)
        n = mesh_point(pose.normals, g, flat)
        n /= np.linalg.norm(n, axis=-1, keepdims=True)
        out[brow] = (p + n * hairs.lift[brow].reshape(-1, 1)).reshape(-1, K, 3)
    tau = np.linspace(0, 1, K)
    s = model.subject
    for side_i, side in enumerate(SIDES):
        f = eye_frame(s, side)
        up, lo = model.openness(pose.expression, side)
        for lower in (False, True):
            sel = np.flatnonzero(hairs.group == 2 + 2 * int(lower) + side_i)
            if len(sel) == 0:
                continue
            sp = hairs.lash_s[sel]
            cu, cl = lid_curves(f, sp, up, lo)
            t0 = (cl - 0.3) if lower else (cu + 0.3)
            off = -1.0 if lower else 1.0
            root_uv = np.stack(to_uv(f, sp, t0), -1)
            away_uv = np.stack(to_uv(f, sp, t0 + off * 1.0), -1)
            root = mesh_point(pose.points, g, root_uv)
            away = mesh_point(pose.points, g, away_uv) - root
            away /= np.linalg.norm(away, axis=-1, keepdims=True)
            nrm = mesh_point(pose.normals, g, root_uv)
            nrm /= np.linalg.norm(nrm, axis=-1, keepdims=True)
            if not lower:
                # Closing lids turn their lashes down: the curl flips with openness.
                away = away * (2.0 * min(up, 1.0) - 1.0)
            d0 = 0.8 * nrm + 0.35 * away
            d1 = 0.3 * nrm + 0.95 * away
            length = hairs.lash_len[sel]
            pts = root[:, None, :] + length[:, None, None] * (
                tau[None, :, None] * d0[:, None, :] + 0.5 * (tau ** 2)[None, :, None] * (d1 - d0)[:, None, :])
            out[sel] = pts
    return out
