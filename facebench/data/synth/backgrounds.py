"""Procedural backgrounds for the wild look (no photographs: every pixel is drawn here).

Kinds: ``gradient`` (two colours along a random direction), ``noise`` (a smooth colour field of a
few octaves), ``indoor`` (a wall with a floor, windows, doors, frames and furniture blocks),
``outdoor`` (sky over ground, with foliage blobs and building blocks), ``clutter`` (a base colour
under many shapes of random colour). Any kind gets random clutter shapes on top with some
probability, then a depth-of-field blur and a brightness. Returned in linear RGB at the working
resolution, where the renderer composes it behind the head.
"""

from __future__ import annotations

import cv2
import numpy as np

from facebench.data.synth.blur import gaussian_blur

KINDS = ("gradient", "noise", "indoor", "outdoor", "clutter")
BRIGHTNESS_RANGE = (0.25, 1.2)
MAX_BLUR = 0.012                  # depth-of-field blur, sigma as a fraction of the image side


def _colour(rng: np.random.Generator, lo: float = 0.05, hi: float = 0.95) -> np.ndarray:
    """A random display (sRGB-like) colour (3,) in 0..1."""
    return rng.uniform(lo, hi, 3)


def _gradient(size: int, rng: np.random.Generator) -> np.ndarray:
    g = (np.arange(size, dtype=np.float32) + 0.5) / size
    a = rng.uniform(0, 2 * np.pi)
    t = np.cos(a) * g[None, :] + np.sin(a) * g[:, None]
    t = (t - t.min()) / max(float(t.max() - t.min()), 1e-6)
    c0, c1 = _colour(rng), _colour(rng)
    return c0[None, None, :] + (c1 - c0)[None, None, :] * t[..., None]


def _noise(size: int, rng: np.random.Generator) -> np.ndarray:
    out = np.zeros((size, size, 3), np.float32)
    amp = 1.0
    for cells in (int(rng.integers(2, 6)), int(rng.integers(6, 16)), int(rng.integers(16, 40))):
        grid = rng.uniform(0, 1, (cells, cells, 3)).astype(np.float32)
        out += amp * cv2.resize(grid, (size, size), interpolation=cv2.INTER_CUBIC)
        amp *= 0.45
    out -= out.min()
    return out / max(float(out.max()), 1e-6)


def _rect(img: np.ndarray, rng: np.random.Generator, x0, y0, x1, y1, colour) -> None:
    s = img.shape[0]
    cv2.rectangle(img, (int(x0 * s), int(y0 * s)), (int(x1 * s), int(y1 * s)), tuple(float(c) for c in colour), -1)


def _indoor(size: int, rng: np.random.Generator) -> np.ndarray:
    wall = rng.uniform(0.35, 0.9) * np.array([1.0, rng.uniform(0.85, 1.0), rng.uniform(0.65, 1.0)])
    img = np.empty((size, size, 3), np.float32)
    img[:] = wall
    floor = rng.uniform(0.65, 0.95)
    _rect(img, rng, 0, floor, 1, 1, _colour(rng, 0.1, 0.6))
    for _ in range(int(rng.integers(1, 6))):          # windows (bright), doors, frames, furniture
        x, y = rng.uniform(-0.1, 0.9), rng.uniform(-0.1, floor)
        w, h = rng.uniform(0.05, 0.4), rng.uniform(0.05, 0.6)
        kind = rng.integers(3)
        colour = np.full(3, rng.uniform(0.9, 1.0)) if kind == 0 else _colour(rng, 0.05, 0.8)
        _rect(img, rng, x, y, x + w, y + h, colour)
        if kind == 2:                                  # a frame: a picture inside
            _rect(img, rng, x + 0.15 * w, y + 0.15 * h, x + 0.85 * w, y + 0.85 * h, _colour(rng))
    return img


def _outdoor(size: int, rng: np.random.Generator) -> np.ndarray:
    g = (np.arange(size, dtype=np.float32) + 0.5) / size
    horizon = rng.uniform(0.3, 0.9)
    top = np.array([rng.uniform(0.3, 0.6), rng.uniform(0.5, 0.8), rng.uniform(0.8, 1.0)])
    low = np.array([0.85, 0.9, 0.95]) * rng.uniform(0.7, 1.0)
    t = np.clip(g / horizon, 0, 1)[:, None, None]
    img = np.broadcast_to(top + (low - top) * t, (size, size, 3)).astype(np.float32).copy()
    ground = np.array([rng.uniform(0.2, 0.5), rng.uniform(0.3, 0.6), rng.uniform(0.1, 0.35)])
    if rng.random() < 0.4:
        ground = np.full(3, rng.uniform(0.3, 0.6))     # pavement
    img[int(horizon * size):] = ground
    for _ in range(int(rng.integers(0, 5))):          # buildings
        x, w, h = rng.uniform(-0.1, 1.0), rng.uniform(0.08, 0.35), rng.uniform(0.1, 0.6)
        _rect(img, rng, x, horizon - h, x + w, horizon + 0.02, _colour(rng, 0.2, 0.85))
    for _ in range(int(rng.integers(0, 25))):         # foliage
        c = (int(rng.uniform(0, size)), int(rng.uniform(0.2, 1.0) * size))
        r = int(rng.uniform(0.02, 0.12) * size)
        green = np.array([rng.uniform(0.05, 0.3), rng.uniform(0.25, 0.6), rng.uniform(0.05, 0.25)])
        cv2.circle(img, c, r, tuple(float(v) for v in green), -1, cv2.LINE_AA)
    return img


def _shapes(img: np.ndarray, rng: np.random.Generator, n: int) -> None:
    """``n`` random rectangles, ellipses, polygons and thick lines of random colour, in place."""
    s = img.shape[0]
    for _ in range(n):
        colour = tuple(float(c) for c in _colour(rng))
        kind = rng.integers(4)
        c = (int(rng.uniform(0, s)), int(rng.uniform(0, s)))
        r = int(rng.uniform(0.02, 0.25) * s) + 1
        if kind == 0:
            cv2.rectangle(img, c, (c[0] + int(rng.uniform(-1, 1) * r), c[1] + int(rng.uniform(-1, 1) * r)), colour, -1)
        elif kind == 1:
            cv2.ellipse(img, c, (r, int(r * rng.uniform(0.2, 1.0)) + 1), float(rng.uniform(0, 180)), 0, 360,
                        colour, -1, cv2.LINE_AA)
        elif kind == 2:
            pts = np.array(c) + rng.uniform(-r, r, (int(rng.integers(3, 7)), 2))
            cv2.fillPoly(img, [pts.astype(np.int32)], colour, cv2.LINE_AA)
        else:
            end = (c[0] + int(rng.uniform(-2, 2) * r), c[1] + int(rng.uniform(-2, 2) * r))
            cv2.line(img, c, end, colour, max(1, int(rng.uniform(0.003, 0.03) * s)), cv2.LINE_AA)


def background(size: int, rng: np.random.Generator) -> tuple[np.ndarray, dict]:
    """A random background (size, size, 3) float32 linear RGB and its description."""
    kind = KINDS[int(rng.integers(len(KINDS)))]
    img = {"gradient": _gradient, "noise": _noise, "indoor": _indoor, "outdoor": _outdoor,
           "clutter": lambda s, r: np.broadcast_to(_colour(r), (s, s, 3)).astype(np.float32).copy()}[kind](size, rng)
    img = np.ascontiguousarray(img, dtype=np.float32)
    n_shapes = int(rng.integers(15, 60)) if kind == "clutter" else int(rng.integers(0, 12)) * (rng.random() < 0.5)
    _shapes(img, rng, n_shapes)
    blur = float(rng.uniform(0, MAX_BLUR))
    if blur * size > 0.5:
        img = gaussian_blur(img, blur * size)
    brightness = float(rng.uniform(*BRIGHTNESS_RANGE))
    lin = cv2.pow(np.clip(img, 0, 1), 2.2) * np.float32(brightness)
    return lin.astype(np.float32, copy=False), {"kind": kind, "shapes": n_shapes, "blur": round(blur, 4),
                                    "brightness": round(brightness, 3)}


def shoulders(img: np.ndarray, neck_top: np.ndarray, neck_base: np.ndarray, neck_half: float,
              rng: np.random.Generator) -> dict:
    """Clothed shoulders behind the neck, in place on the linear background ``img`` (W, W, 3): an
    ellipse below the neck's base (px at W) along the neck's axis, in a random cloth colour darker
    towards its edges. The head and neck render over it."""
    axis = neck_base - neck_top
    axis = axis / max(float(np.linalg.norm(axis)), 1e-6)
    half = neck_half * rng.uniform(2.6, 3.6)
    centre = neck_base + axis * half * rng.uniform(0.55, 0.8)
    mask = np.zeros(img.shape[:2], np.float32)
    one = 1 << 4
    cv2.ellipse(mask, (int(round(centre[0] * one)), int(round(centre[1] * one))),
                (max(int(half * one), 1), max(int(1.6 * half * one), 1)),
                float(np.degrees(np.arctan2(axis[1], axis[0]))) - 90.0, 0, 360, 1.0, -1, cv2.LINE_AA, 4)
    shade = gaussian_blur(mask, max(0.25 * half, 1.0))
    cloth = np.clip(_colour(rng, 0.03, 0.9), 0, 1) ** 2.2 * rng.uniform(0.3, 1.0)
    colour = cloth[None, None, :].astype(np.float32) * (0.45 + 0.55 * shade[..., None])
    img += (colour - img) * mask[..., None]
    return {"cloth": [round(float(c), 3) for c in cloth]}
