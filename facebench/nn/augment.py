"""Photometric augmentation for training: one random colour transform per sample, the same for the
full-resolution image and its proxy, as a per-channel 256-entry look-up table (so a 4096² image
costs one ``cv2.LUT`` pass, ~10 ms, not a float copy).

The transform is ``v' = 255 * gain_c * (v / 255) ** gamma + offset``: a gamma (darker / lighter
skin and exposure), a per-channel gain (white balance and skin hue) and a brightness offset.
Landmarks do not move. The paper does not augment; facebench offers it (``-o augment=colour`` for
the ADC family) because with a handful of training subjects a test subject of another complexion
is where the models fail (docs/RESULTS.md, NME by test subject).
"""

from __future__ import annotations

import numpy as np
import torch

from facebench.core.errors import FacebenchError

AUGMENTS = ("none", "colour", "standard")   # standard: facebench.nn.augment_recipe (the default)
GAMMA = (0.55, 1.8)     # log-uniform
GAIN = (0.8, 1.2)       # per channel, uniform
OFFSET = (-20.0, 20.0)  # grey levels, uniform


def check_augment(name: str) -> str:
    """``name`` if it is one of :data:`AUGMENTS`; otherwise a one-line error."""
    if name not in AUGMENTS:
        raise FacebenchError(f"augment must be one of {', '.join(AUGMENTS)}, got {name!r}")
    return name


def random_colour_lut(generator: torch.Generator | None = None) -> np.ndarray:
    """A random (256, 1, 3) uint8 look-up table for ``cv2.LUT`` on RGB images; draws from torch's
    RNG (seeded by training, per worker by the DataLoader)."""
    u = torch.rand(5, generator=generator, dtype=torch.float64).numpy()
    gamma = float(np.exp(np.log(GAMMA[0]) + u[0] * (np.log(GAMMA[1]) - np.log(GAMMA[0]))))
    gain = GAIN[0] + u[1:4] * (GAIN[1] - GAIN[0])
    offset = OFFSET[0] + u[4] * (OFFSET[1] - OFFSET[0])
    v = (np.arange(256, dtype=np.float64) / 255.0) ** gamma
    table = 255.0 * v[:, None] * gain[None, :] + offset
    return np.clip(np.rint(table), 0, 255).astype(np.uint8).reshape(256, 1, 3)


def apply_lut(image: np.ndarray, lut: np.ndarray) -> np.ndarray:
    """(H, W, 3) uint8 image through a (256, 1, 3) table -> a new (H, W, 3) uint8 image."""
    import cv2

    return cv2.LUT(image, lut)
