"""Shared fixtures: tiny input layouts (studio capture, 300-W, 300-VW) drawn by the tests, and a
tiny prepared dataset for every engineer's tests.

- ``tiny_capture`` (session): a studio capture, 4 subjects x 2 expressions x 2 cameras, 352 px
  images, 89 landmarks (0-based, tagged), ``capture.json`` naming studio89.
- ``tiny_prepared`` (session): that capture prepared at (128, 256), test fraction 0.5, seed 0
  (2 train and 2 test subjects, 8 samples each). Read-only: copy it before changing anything.
- ``make_studio`` / ``make_300w`` / ``make_300vw``: functions writing those layouts under a folder.

Faces are a drawn cartoon (skin ellipse, brows, eyes, nose, lips) around a fixed 89-point template
(iBUG 68 + 21 studio detail points in :mod:`facebench.core.schemes` order), moved, scaled and jittered
per image with a seeded generator, so every image differs and its landmarks are exact.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest


def _template() -> np.ndarray:
    """(89, 2) face template in unit coordinates (face spans about [-1, 1]; y down)."""
    t = np.linspace(0, 1, 17)
    jaw = np.stack([-0.95 * np.cos(np.pi * t), -0.2 + 1.2 * np.sin(np.pi * t)], 1)
    s = np.linspace(0, 1, 5)
    brow_l = np.stack([-0.75 + 0.6 * s, -0.45 - 0.1 * np.sin(np.pi * s)], 1)
    brow_r = np.stack([0.15 + 0.6 * s, -0.45 - 0.1 * np.sin(np.pi * s)], 1)
    bridge = np.stack([np.zeros(4), np.linspace(-0.3, 0.15, 4)], 1)
    base = np.stack([np.linspace(-0.2, 0.2, 5), 0.3 + 0.05 * (1 - np.abs(np.linspace(-1, 1, 5)))], 1)

    def ellipse(cx, cy, rx, ry, degrees):
        a = np.radians(degrees)
        return np.stack([cx + rx * np.cos(a), cy - ry * np.sin(a)], 1)

    eye_l = ellipse(-0.4, -0.2, 0.17, 0.07, [180, 120, 60, 0, -60, -120])
    eye_r = ellipse(0.4, -0.2, 0.17, 0.07, [180, 120, 60, 0, -60, -120])
    lip_o = ellipse(0.0, 0.6, 0.4, 0.18, [180, 150, 120, 90, 60, 30, 0, -30, -60, -90, -120, -150])
    lip_i = ellipse(0.0, 0.6, 0.3, 0.08, [180, 120, 90, 60, 0, -60, -90, -120])
    detail = np.array([
        [-0.4, -0.2], [-0.47, -0.2], [-0.33, -0.2], [-0.48, -0.32], [-0.32, -0.32],
        [0.4, -0.2], [0.33, -0.2], [0.47, -0.2], [0.32, -0.32], [0.48, -0.32],
        [-0.08, 0.27], [0.08, 0.27], [-0.22, 0.22], [0.22, 0.22], [0.0, 0.28],
        [-0.05, 0.4], [0.05, 0.4], [0.0, 0.4], [-0.45, 0.6], [0.45, 0.6], [0.0, 0.85]])
    return np.concatenate([jaw, brow_l, brow_r, bridge, base, eye_l, eye_r, lip_o, lip_i, detail])


TEMPLATE = _template()


def face_points(rng: np.random.Generator, width: int, height: int, n_points: int = 89,
                scale: float = 0.3) -> np.ndarray:
    """(n_points, 2) landmarks of one face, 0-based pixels, placed inside a width x height image."""
    s = scale * min(width, height) * rng.uniform(0.9, 1.1)
    angle = rng.uniform(-0.15, 0.15)
    rot = np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
    centre = np.array([width, height]) / 2 + rng.uniform(-0.05, 0.05, 2) * min(width, height)
    pts = TEMPLATE @ rot.T * s + centre + rng.normal(0, 0.01 * s, TEMPLATE.shape)
    return pts[:n_points]


def render_face(rng: np.random.Generator, width: int, height: int, points: np.ndarray) -> np.ndarray:
    """(H, W, 3) uint8 BGR image of the face whose 68 first landmarks are ``points``."""
    import cv2

    img = np.empty((height, width, 3), np.uint8)
    img[:] = rng.integers(40, 90, 3)
    img = cv2.add(img, rng.integers(0, 12, img.shape, dtype=np.uint8))
    p = np.round(points * 16).astype(np.int32)   # 4 fractional bits: sub-pixel drawing
    centre = points[:68].mean(0)
    axes = (points[16, 0] - points[0, 0]) / 2 * 1.05, (points[8, 1] - points[19, 1]) * 0.62
    cv2.ellipse(img, (np.round(centre * 16).astype(int) - [0, int(axes[1] * 16 * 0.25)]).tolist(),
                (int(axes[0] * 16), int(axes[1] * 16)), 0, 0, 360, (120, 150, 200), -1, cv2.LINE_AA, 4)
    lines = [(0, 17, False, (60, 90, 140)), (17, 22, False, (30, 40, 60)), (22, 27, False, (30, 40, 60)),
             (27, 31, False, (80, 110, 160)), (31, 36, False, (80, 110, 160)),
             (36, 42, True, (250, 250, 250)), (42, 48, True, (250, 250, 250)),
             (48, 60, True, (70, 70, 180)), (60, 68, True, (40, 30, 90))]
    for a, b, closed, colour in lines:
        cv2.polylines(img, [p[a:b]], closed, colour, 2, cv2.LINE_AA, 4)
    for i in range(len(points)):
        cv2.circle(img, p[i].tolist(), 24, (20, 20, 20), -1, cv2.LINE_AA, 4)
    return img


def write_face(rng: np.random.Generator, image_path: Path, width: int, height: int, n_points: int = 89,
               base: int = 0) -> np.ndarray:
    """Draw one face into ``image_path`` with a ``.pts`` beside it (``base`` 0: tagged 0-based,
    1: iBUG 1-based); returns its 0-based landmarks (n_points, 2)."""
    import cv2

    from facebench.core.pts import write_pts

    pts = face_points(rng, width, height, n_points)
    image_path.parent.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(image_path), render_face(rng, width, height, pts))
    write_pts(image_path.with_suffix(".pts"), pts, base=base)
    return pts


def make_studio_capture(root: Path, subjects: int = 4, expressions: int = 2, cameras: int = 2,
                        size: int = 352, n_points: int = 89, seed: int = 0, capture_json: bool = True,
                        ext: str = ".png") -> Path:
    """Write ``root/s<i>/e<j>/cam<k>{ext}`` + ``.pts`` (tagged 0-based) and capture.json."""
    import json

    rng = np.random.default_rng(seed)
    for i in range(subjects):
        for j in range(expressions):
            for k in range(cameras):
                write_face(rng, root / f"s{i:02d}" / f"e{j}" / f"cam{k}{ext}", size, size, n_points)
    if capture_json:
        scheme = {68: "ibug68", 89: "studio89"}[n_points]
        (root / "capture.json").write_text(json.dumps({"scheme": scheme}))
    return root


W300_TEST_FOLDERS = ("afw", "helen/trainset", "lfpw/trainset", "helen/testset", "lfpw/testset", "ibug")


def make_300w(root: Path, per_folder: int = 2, size: tuple[int, int] = (200, 160), seed: int = 1) -> Path:
    """Write the 300-W layout: ``per_folder`` images + 1-based 68-point .pts in each sub-folder;
    lfpw trainset and testset both start at ``image_0001`` as the real data does."""
    rng = np.random.default_rng(seed)
    for folder in W300_TEST_FOLDERS:
        for i in range(per_folder):
            name = f"image_{i + 1:04d}" if folder.startswith("lfpw") else f"{folder.split('/')[0]}_{i}"
            ext = ".png" if folder.startswith("lfpw") else ".jpg"
            write_face(rng, root / folder / f"{name}{ext}", size[0], size[1], 68, base=1)
    return root


def make_300vw(root: Path, videos: dict[str, int] | None = None, size: tuple[int, int] = (192, 160),
               seed: int = 2) -> Path:
    """Write the 300-VW layout: ``NNN/vid.avi`` (MJPG, one frame per annotation) and
    ``NNN/annot/%06d.pts`` (1-based, 68 points) for each video id -> frame count."""
    import cv2

    from facebench.core.pts import write_pts

    videos = {"114": 6, "203": 4, "001": 6} if videos is None else videos
    rng = np.random.default_rng(seed)
    for name, frames in videos.items():
        (root / name / "annot").mkdir(parents=True, exist_ok=True)
        writer = cv2.VideoWriter(str(root / name / "vid.avi"), cv2.VideoWriter_fourcc(*"MJPG"), 25, size)
        for f in range(1, frames + 1):
            pts = face_points(rng, size[0], size[1], 68)
            writer.write(render_face(rng, size[0], size[1], pts))
            write_pts(root / name / "annot" / f"{f:06d}.pts", pts, base=1)
        writer.release()
    return root


@pytest.fixture(scope="session")
def tiny_capture(tmp_path_factory) -> Path:
    """A tiny studio capture folder (see the module docstring). Read-only."""
    return make_studio_capture(tmp_path_factory.mktemp("tiny_capture"))


@pytest.fixture(scope="session")
def tiny_prepared(tmp_path_factory, tiny_capture) -> Path:
    """``tiny_capture`` prepared at (128, 256), 1 worker, no progress bar. Read-only."""
    from facebench.data.prepare import PrepareOptions, prepare

    out = tmp_path_factory.mktemp("tiny_prepared") / "data"
    prepare(out, studio=(tiny_capture,), options=PrepareOptions(resolutions=(128, 256)), workers=1,
            progress=False)
    return out


@pytest.fixture
def make_studio():
    return make_studio_capture


@pytest.fixture
def make_w300():
    return make_300w


@pytest.fixture
def make_vw300():
    return make_300vw


@pytest.fixture
def one_thread():
    """One intra-op torch thread for the test (restored after): tests use tiny tensors, for which one
    thread is as fast, and on the shared 2-core CI / development machine it avoids OpenMP
    oversubscription (measured 0.05 s vs 0.7 s per forward). Use it with
    ``pytestmark = pytest.mark.usefixtures("one_thread")``."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)
