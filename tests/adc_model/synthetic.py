"""Tiny synthetic landmark data for the adc_model tests: dark dots on a light background laid out
like a face (two eyes, nose, mouth, jaw arc), items shaped as ``facebench.nn.dataset.LandmarkDataset``'s."""

from __future__ import annotations

import cv2
import numpy as np
import torch
from torch.utils.data import Dataset

from facebench.core import geometry
from facebench.core.schemes import IBUG68


def face_template(scheme=IBUG68) -> np.ndarray:
    """(N, 2) points in the unit square: each region a small ellipse around its centre, the rest
    (jaw) on an arc below."""
    centres = {"eye_left": (0.33, 0.38), "eye_right": (0.67, 0.38), "nose": (0.5, 0.55), "mouth": (0.5, 0.73)}
    sizes = {"eye_left": (0.09, 0.05), "eye_right": (0.09, 0.05), "nose": (0.05, 0.08), "mouth": (0.12, 0.05)}
    pts = np.zeros((scheme.num_points, 2))
    for name, ids in scheme.regions.items():
        t = np.linspace(0, 2 * np.pi, len(ids), endpoint=False)
        pts[list(ids)] = np.stack([centres[name][0] + sizes[name][0] * np.cos(t),
                                   centres[name][1] + sizes[name][1] * np.sin(t)], axis=-1)
    jaw = list(scheme.global_only)
    t = np.linspace(0.15 * np.pi, 0.85 * np.pi, len(jaw))
    pts[jaw] = np.stack([0.5 - 0.38 * np.cos(t), 0.45 + 0.42 * np.sin(t)], axis=-1)
    return pts


def render(points: np.ndarray, res: int) -> np.ndarray:
    """A (res, res, 3) uint8 image with a dark anti-aliased dot at every point (R px)."""
    img = np.full((res, res, 3), 200, np.uint8)
    img[:, :, 1] = np.linspace(150, 230, res, dtype=np.uint8)[None, :]   # a gentle gradient
    radius = max(1, round(res / 90))
    for i, (x, y) in enumerate(points):
        shade = 20 + (i * 37) % 120   # points differ in darkness, so each is identifiable
        cv2.circle(img, (int(round(x * 16)), int(round(y * 16))), radius * 16, (shade, shade, shade), -1,
                   lineType=cv2.LINE_AA, shift=4)
    return img


def synthetic_samples(n: int, res: int, seed: int = 0, proxy: int = 256) -> list[dict]:
    """n samples: random similarity jitter of the template; items as LandmarkDataset's."""
    rng = np.random.default_rng(seed)
    base = face_template()
    out = []
    for i in range(n):
        scale = rng.uniform(0.55, 0.7)
        shift = rng.uniform(-0.05, 0.05, size=2)
        unit = (base - 0.5) * scale + 0.5 + shift + rng.normal(0, 0.004, size=base.shape)
        pts = geometry.rescale_points(unit - 0.5, 1, res)   # unit square (one 'pixel' at 0) -> R px
        image = render(pts, res)
        small = cv2.resize(image, (proxy, proxy), interpolation=cv2.INTER_AREA if res >= proxy else cv2.INTER_LINEAR)
        out.append({
            "image": torch.from_numpy(image).permute(2, 0, 1).contiguous(),
            "landmarks": torch.from_numpy(pts).float(),
            "proxy": torch.from_numpy(small).permute(2, 0, 1).contiguous(),
            "proxy_landmarks": torch.from_numpy(geometry.rescale_points(pts, res, proxy)).float(),
            "box": torch.tensor(geometry.full_image_box(res)),
            "id": f"synth_{i:03d}",
        })
    return out


class SyntheticFaces(Dataset):
    def __init__(self, n: int, res: int, seed: int = 0, proxy: int = 256) -> None:
        self.items = synthetic_samples(n, res, seed, proxy)

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, i: int) -> dict:
        return self.items[i]
