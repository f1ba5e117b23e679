"""The labelled landmark figure of docs/landmarks.md, drawn on one of the synthesizer's renders.

    python -m facebench.data.synth.figure docs/landmarks_studio89.png

A near-frontal neutral render with all 89 points numbered on the whole face, and zoomed insets of
the image-left eye, the nose base and the mouth where the points are dense.
"""

from __future__ import annotations

import sys
from pathlib import Path

import cv2
import numpy as np

from facebench.core.geometry import points_box, rescale_points
from facebench.core.schemes import STUDIO89
from facebench.data.synth.config import STREAM_IMAGE, rng_for
from facebench.data.synth.expressions import EXPRESSIONS
from facebench.data.synth.render import make_assets, mesh_spacing, render
from facebench.data.synth.rig import make_rig
from facebench.data.synth.subject import make_subject

_COLOURS = {"jaw": (40, 200, 255), "brows": (60, 220, 60), "nose": (255, 160, 40), "eyes": (255, 80, 200),
            "mouth": (60, 80, 255), "detail": (0, 255, 255)}


def _colour(i: int) -> tuple[int, int, int]:
    for group, ids in STUDIO89.groups.items():
        if i in ids:
            return _COLOURS[group]
    return (255, 255, 255)


def _label(img: np.ndarray, pts: np.ndarray, ids, scale: float, radius: int) -> None:
    """Dots and (when ``scale`` > 0) numbers, in place; numbers get a dark outline to stay readable."""
    for i in ids:
        x, y = pts[i]
        c = _colour(i)
        cv2.circle(img, (int(round(x * 16)), int(round(y * 16))), radius * 16, c, -1, cv2.LINE_AA, shift=4)
        if scale <= 0:
            continue
        # Inner lip points sit on the upper and lower inner lines, which meet when the lips are
        # closed: put the upper ones' numbers above and the lower ones' below.
        dy = -3 * radius - 8 if i in (61, 62, 63) else (4 * radius + 10 if i in (65, 66, 67) else -radius - 1)
        org = (int(x) + radius + 1, int(y) + dy)
        cv2.putText(img, str(i), org, cv2.FONT_HERSHEY_SIMPLEX, scale, (0, 0, 0), 3, cv2.LINE_AA)
        cv2.putText(img, str(i), org, cv2.FONT_HERSHEY_SIMPLEX, scale, c, 1, cv2.LINE_AA)


def _inset(img: np.ndarray, lm: np.ndarray, ids, side: int) -> np.ndarray:
    """A ``side`` px zoom of the square around points ``ids``, with those points numbered."""
    box = points_box(lm[list(ids)])
    c = 0.5 * (box[:2] + box[2:])
    half = 0.6 * max(box[2] - box[0], box[3] - box[1]) + 6
    n = int(2 * half)
    x0 = int(np.clip(c[0] - half, 0, img.shape[1] - n))
    y0 = int(np.clip(c[1] - half, 0, img.shape[0] - n))
    crop = cv2.resize(img[y0:y0 + n, x0:x0 + n], (side, side), interpolation=cv2.INTER_CUBIC)
    # Pixel (x - x0) of the crop maps to the zoom like any resampling (geometry's convention).
    local = rescale_points(lm - np.array([x0, y0]), n, side)
    _label(crop, local, ids, 0.55, 4)
    return crop


def make_figure(out: Path, size: int = 2048, subject: int = 3, seed: int = 0) -> None:
    rig = make_rig(8, size, seed)
    cam = min(rig, key=lambda c: abs(c.yaw) + 0.5 * abs(c.pitch))
    assets = make_assets(seed, make_subject(seed, subject), mesh_spacing(size, cam), size)
    rgb, lm = render(assets, EXPRESSIONS[0], cam, rng_for(seed, STREAM_IMAGE, subject, 0, int(cam.name[3:])), seed)
    img = cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR)
    box = points_box(lm)
    side = 1.25 * max(box[2] - box[0], box[3] - box[1])
    c = 0.5 * (box[:2] + box[2:])
    n = int(min(side, size))
    x0 = int(np.clip(c[0] - n / 2, 0, size - n))
    y0 = int(np.clip(c[1] - n / 2, 0, size - n))
    big = 1200
    face = cv2.resize(img[y0:y0 + n, x0:x0 + n], (big, big), interpolation=cv2.INTER_AREA)
    local = rescale_points(lm - np.array([x0, y0]), n, big)
    outline = [i for i in range(89)
               if i in STUDIO89.groups["jaw"] or i in STUDIO89.groups["brows"] or i in range(27, 31)]
    _label(face, local, range(89), 0.0, 3)
    _label(face, local, outline, 0.6, 3)
    eye = _inset(img, lm, [17, 18, 19, 20, 21, 36, 37, 38, 39, 40, 41, 68, 69, 70, 71, 72], 600)
    nose = _inset(img, lm, [30, 31, 32, 33, 34, 35, 78, 79, 80, 81, 82, 83, 84, 85], 600)
    mouth = _inset(img, lm, list(range(48, 68)) + [86, 87, 88], 600)
    eye_r = _inset(img, lm, [22, 23, 24, 25, 26, 42, 43, 44, 45, 46, 47, 73, 74, 75, 76, 77], 600)
    right = np.vstack([np.hstack([eye, eye_r]), np.hstack([nose, mouth])])
    canvas = np.hstack([face, right])
    title = f"studio89: 89 landmarks (0-67 iBUG, 68-88 detail), facebench synth, subject s{subject:03d}, {cam.name}"
    cv2.putText(canvas, title, (12, 30), cv2.FONT_HERSHEY_SIMPLEX, 0.8, (255, 255, 255), 2, cv2.LINE_AA)
    Path(out).parent.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(out), canvas)


if __name__ == "__main__":
    make_figure(Path(sys.argv[1] if len(sys.argv) > 1 else "docs/landmarks_studio89.png"))
