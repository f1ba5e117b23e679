"""Building the output image from the working-resolution shading.

The image is composed in horizontal strips (small float buffers, written straight into the 8-bit
output): smooth quantities are upsampled from the working resolution, and per output pixel the
skin micro-texture (pores, fine lines, freckles) and hair strands are looked up from the upsampled
surface parameters (u, v). Detail windows (eyes, lips, nostrils) are shaded completely at the
output resolution beforehand and pasted in. Then a camera tone curve, a mild optical blur and
sensor noise.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from facebench.core.geometry import rescale_points
from facebench.data.synth.texture import SKIN_ORIGIN, Textures

STRIP = 256
BLUR_SIGMA = 0.6          # px: lens + demosaicing blur, the same at every output size
NOISE_DN = 1.4            # sensor noise std in 8-bit code values (a studio camera at base ISO)


@dataclass
class WorkMaps:
    """Shading at the working resolution (W, W): what the composition upsamples."""

    u: np.ndarray            # rest parameters of the visible surface
    v: np.ndarray
    diffuse: np.ndarray      # (W, W, 3) linear colour without micro-texture, backdrop included
    spec: np.ndarray         # sheen (skin sheen + corneal catchlight)
    skin: np.ndarray         # where skin micro-texture applies (0..1)
    hair: np.ndarray         # where scalp-hair strands apply (0..1)


@dataclass
class Window:
    """A detail window at full size: box (x0, y0, x1, y1) and, per pixel, the exact diffuse colour
    (h, w, 3), sheen, skin weight, and how much to trust them over the upsampled values."""

    box: tuple[int, int, int, int]
    diffuse: np.ndarray
    spec: np.ndarray
    skin: np.ndarray
    trust: np.ndarray


def resample_rows(a: np.ndarray, r0: int, r1: int, size: int) -> np.ndarray:
    """Rows [r0, r1) of the (W, W) map ``a`` bilinearly resampled to ``size`` px (facebench
    convention, identical to resizing the whole map)."""
    w = a.shape[0]
    if w == size:
        return a[r0:r1]
    if size % w == 0:
        k = size // w
        lo, hi = max(r0 // k - 1, 0), min(-(-r1 // k) + 1, w)
        res = cv2.resize(np.ascontiguousarray(a[lo:hi]), (size, (hi - lo) * k), interpolation=cv2.INTER_LINEAR)
        return res[r0 - lo * k: r1 - lo * k]
    xs = rescale_points(np.arange(size, dtype=np.float64), size, w).astype(np.float32)
    ys = rescale_points(np.arange(r0, r1, dtype=np.float64), size, w).astype(np.float32)
    mx = np.broadcast_to(xs[None, :], (r1 - r0, size))
    my = np.broadcast_to(ys[:, None], (r1 - r0, size))
    return cv2.remap(np.ascontiguousarray(a), np.ascontiguousarray(mx), np.ascontiguousarray(my),
                     cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)


def resample_box(maps: np.ndarray, box: tuple[int, int, int, int], size: int) -> np.ndarray:
    """Work-resolution maps (W, W, C) bilinearly resampled at the output pixels of ``box``."""
    x0, y0, x1, y1 = box
    w = maps.shape[0]
    xs = rescale_points(np.arange(x0, x1, dtype=np.float64), size, w)
    ys = rescale_points(np.arange(y0, y1, dtype=np.float64), size, w)
    # Only the working-resolution region under the box is touched.
    a0, a1 = max(int(np.floor(xs[0])) - 1, 0), min(int(np.ceil(xs[-1])) + 2, w)
    b0, b1 = max(int(np.floor(ys[0])) - 1, 0), min(int(np.ceil(ys[-1])) + 2, w)
    mx = np.ascontiguousarray(np.broadcast_to((xs - a0).astype(np.float32)[None, :], (y1 - y0, x1 - x0)))
    my = np.ascontiguousarray(np.broadcast_to((ys - b0).astype(np.float32)[:, None], (y1 - y0, x1 - x0)))
    roi = maps[b0:b1, a0:a1]
    out = np.empty((y1 - y0, x1 - x0, maps.shape[-1]), np.float32)
    for c in range(0, maps.shape[-1], 4):     # cv2.remap takes up to 4 interleaved channels
        part = cv2.remap(np.ascontiguousarray(roi[..., c:c + 4]), mx, my, cv2.INTER_LINEAR,
                         borderMode=cv2.BORDER_REPLICATE)
        out[..., c:c + 4] = part.reshape(out.shape[:2] + (-1,))
    return out


def skin_coords(u: np.ndarray, v: np.ndarray, ppm: float) -> tuple[np.ndarray, np.ndarray]:
    """Texel coordinates of (u, v) mm in the skin tile: a 170 mm tile placed over the face front,
    so the remap there needs no wrapping (one multiply-add per coordinate; the tile still wraps
    further round the head)."""
    x = cv2.addWeighted(u, ppm, u, 0.0, -SKIN_ORIGIN[0] * ppm)
    y = cv2.addWeighted(v, -ppm, v, 0.0, SKIN_ORIGIN[1] * ppm)
    return x, y


def tex_coords(u: np.ndarray, v: np.ndarray, ppm: float, n: int, v_scale: float = 1.0):
    """Texel coordinates of (u, v) mm in a periodic ``n``-texel tile (v grows upwards)."""
    x = u * np.float32(ppm)
    y = v * np.float32(-ppm * v_scale)
    inv = np.float32(1.0 / n)
    x -= np.floor(x * inv) * np.float32(n)
    y -= np.floor(y * inv) * np.float32(n)
    return x.astype(np.float32, copy=False), y.astype(np.float32, copy=False)


def hair_detail(tex: Textures, u: np.ndarray, v: np.ndarray, ppm: float, ppm_coarse: float) -> np.ndarray:
    """Hair strands finer than the working resolution shows: fine / coarse texture ratio."""
    fine, fppm = tex.hair_level(ppm)
    coarse, cppm = tex.hair_level(ppm_coarse)
    if fppm == cppm:
        return np.ones(u.shape, np.float32)
    a = cv2.remap(fine, *tex_coords(u, v, fppm, fine.shape[0], 0.5), cv2.INTER_LINEAR, borderMode=cv2.BORDER_WRAP)
    b = cv2.remap(coarse, *tex_coords(u, v, cppm, coarse.shape[0], 0.5), cv2.INTER_LINEAR, borderMode=cv2.BORDER_WRAP)
    return a / np.maximum(b, 0.2)


def tone(lin: np.ndarray) -> np.ndarray:
    """Camera response: linear light (clipped to 0..1) -> 0..1 display values, about gamma 1/2.2
    in the mid-tones with a gentle shoulder: ``sqrt(x) * (1.12 - 0.12 x)``."""
    x = np.clip(lin, 0.0, 1.0).astype(np.float32, copy=False)
    return cv2.multiply(cv2.sqrt(x), cv2.addWeighted(x, -0.12, x, 0.0, 1.12))


def untone_u8(img: np.ndarray) -> np.ndarray:
    """Inverse of :func:`tone` for 8-bit values (via a lookup table) -> linear float32."""
    x = np.linspace(0, 1, 4097, dtype=np.float64)
    y = np.sqrt(x) * (1.12 - 0.12 * x)
    lut = np.interp(np.arange(256) / 255.0, y, x).astype(np.float32)
    return lut[img]


def compose(wm: WorkMaps, size: int, tex: Textures, ppm: float, windows: list[Window]) -> np.ndarray:
    """The 8-bit image (size, size, 3) from working-resolution maps, micro-texture and windows.

    Works on planar float32 strips (one contiguous 2-D array per channel) with OpenCV's
    vectorised arithmetic: interleaved broadcasting in NumPy costs several times more.
    """
    work = wm.u.shape[0]
    ppm_w = ppm * work / size
    out = np.empty((size, size, 3), np.uint8)
    diffuse = [np.ascontiguousarray(wm.diffuse[..., c]) for c in range(3)]
    u_w, v_w, spec_w, skin_w, hair_w = (np.ascontiguousarray(a) for a in (wm.u, wm.v, wm.spec, wm.skin, wm.hair))
    planar = [(w.box, [np.ascontiguousarray(w.diffuse[..., c]) for c in range(3)], w.spec, w.skin, w.trust)
              for w in windows]
    for r0 in range(0, size, STRIP):
        r1 = min(r0 + STRIP, size)
        rows = lambda a: resample_rows(a, r0, r1, size)   # noqa: E731
        lin = [rows(d) for d in diffuse]
        spec, sk, hr = rows(spec_w), rows(skin_w), rows(hair_w)
        if work == size:
            lin, spec, sk = [x.copy() for x in lin], spec.copy(), sk.copy()
        # Windows first: their exact colour, sheen and skin weight replace the upsampled ones.
        for (x0, y0, x1, y1), col, wspec, wsk, trust in planar:
            a, b = max(y0, r0), min(y1, r1)
            if a >= b:
                continue
            t = trust[a - y0:b - y0]
            for dst, src in [(lin[c], col[c]) for c in range(3)] + [(spec, wspec), (sk, wsk)]:
                blk = dst[a - r0:b - r0, x0:x1]
                blk += (src[a - y0:b - y0] - blk) * t
        cols = np.flatnonzero((sk + hr).max(0) > 0)
        if len(cols):
            c0, c1 = cols[0], cols[-1] + 1
            u, v = rows(u_w)[:, c0:c1], rows(v_w)[:, c0:c1]
            img, tppm = tex.skin_level(ppm)
            t = cv2.remap(img, *skin_coords(np.ascontiguousarray(u), np.ascontiguousarray(v), tppm),
                          cv2.INTER_LINEAR, borderMode=cv2.BORDER_WRAP)
            ch = cv2.split(t)
            skc = np.ascontiguousarray(sk[:, c0:c1])
            keep = cv2.addWeighted(skc, -1.0, skc, 0.0, 1.0)                  # 1 - skin weight
            # Pores break up the skin's sheen (not the eyes' catchlights).
            smul = cv2.add(cv2.multiply(skc, ch[3], dtype=cv2.CV_32F, scale=1.0 / 128.0), keep)
            sheen = cv2.multiply(np.ascontiguousarray(spec[:, c0:c1]), smul)
            hb = np.ascontiguousarray(hr[:, c0:c1])
            hcols = np.flatnonzero(hb.max(0) > 0.05) if ppm_w < ppm else []
            fine = None
            if len(hcols):
                h0, h1 = hcols[0], hcols[-1] + 1
                detail = hair_detail(tex, u[:, h0:h1], v[:, h0:h1], ppm, ppm_w)
                fine = (h0, h1, cv2.multiply(hb[:, h0:h1], detail - 1.0))
            for c in range(3):
                f = cv2.multiply(skc, ch[c], dtype=cv2.CV_32F, scale=1.0 / 128.0)   # skin * texture
                f = cv2.add(f, keep)                                                 # + (1 - skin)
                if fine is not None:
                    f[:, fine[0]:fine[1]] += fine[2]
                blk = lin[c][:, c0:c1]
                blk *= f
                blk += sheen
            if c0 > 0 or c1 < size:
                for c in range(3):
                    lin[c][:, :c0] += spec[:, :c0]
                    lin[c][:, c1:] += spec[:, c1:]
        else:
            for c in range(3):
                lin[c] += spec
        out[r0:r1] = cv2.merge([cv2.convertScaleAbs(tone(x), alpha=255.0) for x in lin])
    return out


_NOISE: dict[int, tuple[np.ndarray, np.ndarray]] = {}


def _noise_tiles(seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Positive and negative parts (uint8) of a 512 px sensor-noise tile (luma + chroma)."""
    if seed not in _NOISE:
        rng = np.random.default_rng(np.random.SeedSequence([seed, 98]))
        n = (rng.standard_normal((512, 512, 1)) * 0.8 + rng.standard_normal((512, 512, 3)) * 0.6) * NOISE_DN
        n = np.round(n)
        _NOISE[seed] = (np.clip(n, 0, 255).astype(np.uint8), np.clip(-n, 0, 255).astype(np.uint8))
    return _NOISE[seed]


def finish(img: np.ndarray, rng: np.random.Generator, seed: int) -> np.ndarray:
    """Optical blur, then sensor noise (a noise tile at a random offset, saturating add)."""
    out = cv2.GaussianBlur(img, (0, 0), BLUR_SIGMA)
    pos, neg = _noise_tiles(seed)
    oy, ox = (int(x) for x in rng.integers(0, 512, 2))
    pos = np.roll(pos, (oy, ox), (0, 1))
    neg = np.roll(neg, (oy, ox), (0, 1))
    size = out.shape[0]
    for y in range(0, size, 512):
        for x in range(0, size, 512):
            blk = np.ascontiguousarray(out[y:y + 512, x:x + 512])
            h, w = blk.shape[:2]
            blk = cv2.subtract(cv2.add(blk, pos[:h, :w]), neg[:h, :w])
            out[y:y + 512, x:x + 512] = blk
    return out


def backdrop(size: int, colour: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Plain studio backdrop (size, size, 3) linear: a soft pool of light falling off smoothly
    towards the corners."""
    g = ((np.arange(size, dtype=np.float32) + 0.5) / size)
    cx, cy = 0.5 + rng.normal(0, 0.08), 0.35 + rng.normal(0, 0.06)
    r2 = (g[None, :] - np.float32(cx)) ** 2 + (g[:, None] - np.float32(cy)) ** 2
    fall = (1.0 - 0.45 * (1.0 - np.exp(-r2 / np.float32(0.3)))) * np.float32(rng.uniform(0.9, 1.1))
    return fall[..., None] * colour.astype(np.float32)[None, None, :]
