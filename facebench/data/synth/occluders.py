"""Occluders over the face in wild images: glasses, hair strands (a fringe), a hand, an object.

Each is drawn in the image plane from the projected landmarks (so it follows the head's pose and
scale) into an anti-aliased coverage mask and composited over the render. A landmark is *occluded*
when the occluders' coverage at its position (bilinear) is at least :data:`COVERED`: clear lenses
(coverage 0.12) leave the eyes visible, their frames and dark lenses hide what is under them.
Occluded points keep their exact position in the ``.pts``; the flags go to the image's sidecar.
"""

from __future__ import annotations

import cv2
import numpy as np

from facebench.data.synth.blur import gaussian_blur
from facebench.data.synth.compose import tone

KINDS = ("glasses", "hair", "hand", "object")
PROBABILITY = {"glasses": 0.2, "hair": 0.15, "hand": 0.12, "object": 0.1}   # none: 54 %
COVERED = 0.5
_SHIFT = 4                      # sub-pixel bits for OpenCV's drawing functions
_ONE = 1 << _SHIFT


def _p(xy) -> tuple[int, int]:
    return int(round(xy[0] * _ONE)), int(round(xy[1] * _ONE))


def _axes(a: float, b: float) -> tuple[int, int]:
    return max(int(round(a * _ONE)), 1), max(int(round(b * _ONE)), 1)


def _bounds(mask: np.ndarray) -> tuple[slice, slice] | None:
    """Rows and columns of the smallest box holding every drawn pixel of ``mask`` (None if none)."""
    x, y, w, h = cv2.boundingRect(mask)
    return (slice(y, y + h), slice(x, x + w)) if w and h else None


class Layer:
    """Coverage (H, W) float32 and colour (H, W, 3) float32 (display 0..1) of one occluder, drawn
    in a window of the image around the face.

    At 4096 px the window is most of the image (~10 Mpx) and an occluder a small part of it, so
    each paint, its shading and the final composite touch only the box of what was drawn
    (:attr:`extent`, window rows and columns)."""

    def __init__(self, box: tuple[int, int, int, int]):
        self.x0, self.y0, x1, y1 = box
        self.alpha = np.zeros((y1 - self.y0, x1 - self.x0), np.float32)
        self.colour = np.zeros(self.alpha.shape + (3,), np.float32)
        self.extent: tuple[slice, slice] | None = None

    def local(self, xy: np.ndarray) -> np.ndarray:
        return np.asarray(xy, np.float64) - np.array([self.x0, self.y0])

    def paint(self, mask: np.ndarray, colour: np.ndarray, opacity: float = 1.0) -> None:
        """Lay ``colour`` (3,) with coverage ``mask`` (uint8 0..255) * opacity on top."""
        box = _bounds(mask)
        if box is not None:
            self._lay(box, mask, np.asarray(colour, np.float32), opacity)

    def paint_shaded(self, mask: np.ndarray, base: np.ndarray, light: np.ndarray, k: float) -> None:
        """Lay ``base`` (3,) linear, lit by ``light`` (3,) and shaded as a rounded object of edge
        softness ``k`` px (:func:`_shaded`), with coverage ``mask`` on top."""
        box = _bounds(mask)
        if box is not None:
            self._lay(box, mask, _shaded(base, mask, box, light, k), 1.0)

    def _lay(self, box: tuple[slice, slice], mask: np.ndarray, colour: np.ndarray, opacity: float) -> None:
        a = mask[box].astype(np.float32) * np.float32(opacity / 255.0)
        col, alpha = self.colour[box], self.alpha[box]          # views: updated in place
        col += (colour - col) * a[..., None]
        alpha += (1.0 - alpha) * a
        if self.extent is None:
            self.extent = box
        else:
            (r, c), (r2, c2) = self.extent, box
            self.extent = (slice(min(r.start, r2.start), max(r.stop, r2.stop)),
                           slice(min(c.start, c2.start), max(c.stop, c2.stop)))

    def blank(self) -> np.ndarray:
        return np.zeros(self.alpha.shape, np.uint8)


def _display(lin) -> np.ndarray:
    """Linear RGB (..., 3) -> the camera's display values 0..1, same shape."""
    lin = np.asarray(lin, np.float32)
    return np.asarray(tone(np.ascontiguousarray(lin.reshape(-1, 3)))).reshape(lin.shape)


def _shaded(base: np.ndarray, mask: np.ndarray, box: tuple[slice, slice], light: np.ndarray, k: float) -> np.ndarray:
    """``base`` (3,) linear, lit by ``light`` (3,), darker towards the mask's edges (a rounded
    object): display colour (h, w, 3) over ``box`` of ``mask``, the box of its drawn pixels. The
    blur sees the mask's empty surroundings as far as its kernel reaches, and goes through a
    pyramid when wide (an object's edge softness is up to ~150 px at 4096 px)."""
    w = max(k, 1.0)
    m = int(np.ceil(4 * w))                           # OpenCV's kernel radius for float images
    rows, cols = box
    y0, x0 = max(rows.start - m, 0), max(cols.start - m, 0)
    y1, x1 = min(rows.stop + m, mask.shape[0]), min(cols.stop + m, mask.shape[1])
    inner = gaussian_blur(mask[y0:y1, x0:x1].astype(np.float32) / 255.0, w)
    inner = inner[rows.start - y0:rows.stop - y0, cols.start - x0:cols.stop - x0]
    lin = (base * light).astype(np.float32)[None, None, :] * (0.55 + 0.45 * inner[..., None])
    return _display(lin)


def _glasses(layer: Layer, lm: np.ndarray, rng: np.random.Generator, light: np.ndarray) -> str:
    eyes = [lm[36:42], lm[42:48]]
    centres = [e.mean(0) for e in eyes]
    axis = centres[1] - centres[0]
    iod = float(np.linalg.norm(axis))
    ang = float(np.degrees(np.arctan2(axis[1], axis[0])))
    up = np.array([axis[1], -axis[0]]) / max(iod, 1e-6)               # towards the brows
    dark = rng.random() < 0.35
    frame_col = _display(np.array([rng.uniform(0.0, 0.3)] * 3) * light) if rng.random() < 0.7 else \
        _display(rng.uniform(0, 0.6, 3) * light)
    a_scale, ratio = rng.uniform(0.85, 1.1), rng.uniform(0.6, 0.85)
    thick = max(1, int(round(iod * rng.uniform(0.025, 0.07))))
    rims = []
    for e, c in zip(eyes, centres):
        width = float(np.linalg.norm(e[3] - e[0]))                    # corner to corner (foreshortened)
        a = max(0.85 * width * a_scale, 1.0)
        b = 0.42 * iod * ratio * a_scale
        cc = layer.local(c + 0.06 * iod * up)
        rims.append((cc, a))
        lens = layer.blank()
        cv2.ellipse(lens, _p(cc), _axes(a, b), ang, 0, 360, 255, -1, cv2.LINE_AA, _SHIFT)
        tint = np.array([0.02, 0.02, 0.03]) if dark else np.array([0.8, 0.85, 0.9])
        layer.paint(lens, _display(tint * light), 0.9 if dark else 0.12)
        rim = layer.blank()
        cv2.ellipse(rim, _p(cc), _axes(a, b), ang, 0, 360, 255, thick, cv2.LINE_AA, _SHIFT)
        layer.paint(rim, frame_col)
    bar = layer.blank()
    d = axis / max(iod, 1e-6)
    cv2.line(bar, _p(rims[0][0] + rims[0][1] * d), _p(rims[1][0] - rims[1][1] * d), 255, thick, cv2.LINE_AA, _SHIFT)
    widths = [float(np.linalg.norm(e[3] - e[0])) for e in eyes]
    for (cc, a), sgn, ear, k in ((rims[0], -1, lm[0], 0), (rims[1], 1, lm[16], 1)):  # temples to the ears
        if widths[k] < 0.6 * widths[1 - k]:         # the far side, turned away: its temple is hidden
            continue
        start = cc + sgn * a * d
        reach = max(float((layer.local(ear) - start) @ (sgn * d)), 0.0)
        cv2.line(bar, _p(start), _p(start + sgn * reach * d), 255, thick, cv2.LINE_AA, _SHIFT)
    layer.paint(bar, frame_col)
    return "sunglasses" if dark else "glasses"


def _hair(layer: Layer, lm: np.ndarray, rng: np.random.Generator, light: np.ndarray, hair: np.ndarray) -> str:
    brows = lm[17:27]
    axis = lm[45] - lm[36]
    iod = float(np.linalg.norm(axis))
    d = axis / max(iod, 1e-6)
    down = np.array([-d[1], d[0]])
    lo, hi = sorted(rng.uniform(-0.15, 1.15, 2))
    if hi - lo < 0.3:
        lo, hi = max(lo - 0.2, -0.15), min(hi + 0.2, 1.15)
    n = int(rng.integers(40, 160))
    left, right = brows[0], brows[-1]
    mask = layer.blank()
    base_len = rng.uniform(0.5, 1.3) * iod
    sway = rng.uniform(-0.5, 0.5)
    polys = []
    for _ in range(n):
        t = rng.uniform(lo, hi)
        root = left + t * (right - left) - rng.uniform(0.45, 0.8) * iod * down
        length = base_len * rng.uniform(0.7, 1.2)
        bend = (sway + rng.normal(0, 0.15)) * length
        s = np.linspace(0, 1, 12)[:, None]
        pts = root + s * length * down + (s ** 2) * bend * d
        polys.append(np.round(layer.local(pts) * _ONE).astype(np.int32))
    thick = max(1, int(round(iod * rng.uniform(0.012, 0.035))))
    cv2.polylines(mask, polys, False, 255, thick, cv2.LINE_AA, _SHIFT)
    layer.paint_shaded(mask, hair * rng.uniform(0.7, 1.2), light, thick)
    return "hair"


def _target(lm: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A part of the face to cover: the mouth, the chin, a cheek, an eye or the nose."""
    parts = [lm[48:68].mean(0), lm[6:11].mean(0), lm[[2, 3, 4, 31]].mean(0), lm[[12, 13, 14, 35]].mean(0),
             lm[36:42].mean(0), lm[42:48].mean(0), lm[30]]
    return parts[int(rng.integers(len(parts)))]


def _hand(layer: Layer, lm: np.ndarray, rng: np.random.Generator, light: np.ndarray, skin: np.ndarray) -> str:
    iod = float(np.linalg.norm(lm[45] - lm[36]))
    target = layer.local(_target(lm, rng))
    ang = rng.uniform(0, 2 * np.pi)
    d = np.array([np.cos(ang), np.sin(ang)])        # from the wrist towards the fingertips
    side = np.array([-d[1], d[0]])
    scale = iod * rng.uniform(0.55, 0.8)          # iod: outer eye corners, ~90 mm
    tips = target + rng.uniform(0.0, 0.5) * scale * d
    finger_len, finger_w, palm = 1.15 * scale, 0.27 * scale, 1.35 * scale
    knuckles = tips - finger_len * d
    mask = layer.blank()
    centre = knuckles - 0.55 * palm * d
    cv2.ellipse(mask, _p(centre), _axes(0.6 * palm, 0.55 * palm), float(np.degrees(ang)), 0, 360, 255, -1,
                cv2.LINE_AA, _SHIFT)
    curl = rng.uniform(0.0, 0.5)
    for k, (off, length) in enumerate(zip((-1.5, -0.5, 0.5, 1.5), (0.85, 1.0, 0.95, 0.75))):
        base = knuckles + off * finger_w * 1.05 * side
        tip = base + length * finger_len * (1 - 0.4 * curl) * d
        cv2.line(mask, _p(base), _p(tip), 255, max(1, int(round(finger_w))), cv2.LINE_AA, _SHIFT)
    thumb_side = 1 if rng.random() < 0.5 else -1
    tb = centre + thumb_side * 0.5 * palm * side
    cv2.line(mask, _p(tb), _p(tb + 0.7 * finger_len * (0.6 * d + thumb_side * 0.8 * side)), 255,
             max(1, int(round(1.1 * finger_w))), cv2.LINE_AA, _SHIFT)
    tone_shift = rng.uniform(0.8, 1.2, 3) * np.array([1.0, rng.uniform(0.95, 1.0), rng.uniform(0.9, 1.0)])
    layer.paint_shaded(mask, skin * tone_shift, light, 0.25 * finger_w)
    return "hand"


def _object(layer: Layer, lm: np.ndarray, rng: np.random.Generator, light: np.ndarray) -> str:
    iod = float(np.linalg.norm(lm[45] - lm[36]))
    c = layer.local(_target(lm, rng) + rng.normal(0, 0.3 * iod, 2))
    r = iod * rng.uniform(0.35, 1.1)
    mask = layer.blank()
    kind = int(rng.integers(3))
    if kind == 0:                                   # a phone, a card, a cup: a rotated box
        box = cv2.boxPoints(((float(c[0]), float(c[1])), (float(2 * r), float(2 * r * rng.uniform(0.3, 1.0))),
                             float(rng.uniform(0, 180))))
        cv2.fillPoly(mask, [np.round(box * _ONE).astype(np.int32)], 255, cv2.LINE_AA, _SHIFT)
    elif kind == 1:                                 # a ball, a microphone head
        cv2.ellipse(mask, _p(c), _axes(r, r * rng.uniform(0.5, 1.0)), float(rng.uniform(0, 180)), 0, 360, 255,
                    -1, cv2.LINE_AA, _SHIFT)
    else:                                           # anything: a random polygon
        pts = c + rng.uniform(-r, r, (int(rng.integers(3, 8)), 2))
        cv2.fillPoly(mask, [np.round(cv2.convexHull(pts.astype(np.float32)).reshape(-1, 2) * _ONE).astype(np.int32)],
                     255, cv2.LINE_AA, _SHIFT)
    layer.paint_shaded(mask, rng.uniform(0.02, 0.8, 3), light, 0.2 * r)
    return "object"


def occlude(img: np.ndarray, lm: np.ndarray, rng: np.random.Generator, light: np.ndarray,
            skin: np.ndarray, hair: np.ndarray) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Draw random occluders over the face of ``img`` (S, S, 3) uint8 with landmarks ``lm`` (89, 2).

    ``light`` (3,) is the scene's light colour on the occluders, ``skin`` and ``hair`` (3,) the
    subject's linear albedos. Returns (image, occluded (89,) bool, the occluders drawn)."""
    chosen = [k for k in KINDS if rng.random() < PROBABILITY[k]]
    occluded = np.zeros(len(lm), bool)
    if not chosen:
        return img, occluded, []
    size = img.shape[0]
    lo, hi = lm.min(0), lm.max(0)
    pad = 1.2 * float(np.linalg.norm(lm[45] - lm[36])) + 0.6 * float((hi - lo).max())
    box = (max(int(lo[0] - pad), 0), max(int(lo[1] - pad), 0), min(int(hi[0] + pad) + 1, img.shape[1]),
           min(int(hi[1] + pad) + 1, size))
    layer = Layer(box)
    draw = {"glasses": lambda: _glasses(layer, lm, rng, light), "hair": lambda: _hair(layer, lm, rng, light, hair),
            "hand": lambda: _hand(layer, lm, rng, light, skin), "object": lambda: _object(layer, lm, rng, light)}
    names = [draw[k]() for k in chosen]
    out = img.copy()
    if layer.extent is not None:
        rows, cols = layer.extent
        at = (slice(layer.y0 + rows.start, layer.y0 + rows.stop), slice(layer.x0 + cols.start, layer.x0 + cols.stop))
        win = img[at].astype(np.float32) / 255.0
        a = layer.alpha[layer.extent][..., None]
        out[at] = np.clip((win * (1.0 - a) + layer.colour[layer.extent] * a) * 255.0 + 0.5, 0, 255).astype(np.uint8)
    local = layer.local(lm).astype(np.float32)
    cover = cv2.remap(layer.alpha, local[:, 0:1], local[:, 1:2], cv2.INTER_LINEAR,
                      borderMode=cv2.BORDER_CONSTANT, borderValue=0.0).reshape(-1)
    occluded = cover >= COVERED
    return out, occluded, names
