"""Random lighting for the wild look: one to three directional lights of random direction, colour
temperature, strength and hardness, and an ambient of random level and colour (docs/design.md,
"The wild look"). Directions are in the head frame (x to the image right of a frontal view, y up,
z towards the frontal camera)."""

from __future__ import annotations

import numpy as np

from facebench.data.synth.shading import Lighting

# Linear-RGB tint of a light of colour temperature K (normalised to green), interpolated in 1/K:
# candle and tungsten are orange, daylight neutral (5600 K: the camera's white), shade and sky blue.
_KELVIN = np.array([2500.0, 3200.0, 4000.0, 5000.0, 5600.0, 6500.0, 8000.0, 10000.0])
_TINT = np.array([[1.55, 1.0, 0.45], [1.35, 1.0, 0.62], [1.18, 1.0, 0.80], [1.05, 1.0, 0.93],
                  [1.0, 1.0, 1.0], [0.93, 1.0, 1.10], [0.85, 1.0, 1.25], [0.80, 1.0, 1.38]])
KELVIN_RANGE = (2700.0, 9000.0)
AMBIENT_RANGE = (0.05, 0.45)       # ambient level (the studio's is 0.26)
PENUMBRA_RANGE = (0.8, 14.0)       # mm: bare bulb or sun .. large window (the studio's is 5)
KEY_RANGE = (0.9, 1.9)             # key + ambient, before the camera's exposure (studio: 1.56)


def tint(kelvin: float) -> np.ndarray:
    """Linear RGB (3,) of a light of ``kelvin``, green = 1."""
    x = 1.0 / _KELVIN[::-1]
    return np.array([np.interp(1.0 / kelvin, x, _TINT[::-1, c]) for c in range(3)])


def _direction(rng: np.random.Generator, azimuth: tuple[float, float], elevation: tuple[float, float]) -> np.ndarray:
    az, el = np.deg2rad(rng.uniform(*azimuth)), np.deg2rad(rng.uniform(*elevation))
    return np.array([np.sin(az) * np.cos(el), np.sin(el), np.cos(az) * np.cos(el)])


def random_lighting(rng: np.random.Generator) -> tuple[Lighting, dict]:
    """A random :class:`Lighting` and its description (for the image's sidecar)."""
    n = int(rng.choice([1, 2, 3], p=[0.35, 0.4, 0.25]))
    hardness = float(rng.uniform())
    penumbra = PENUMBRA_RANGE[1] * (PENUMBRA_RANGE[0] / PENUMBRA_RANGE[1]) ** hardness
    expo = 8.0 + 50.0 * hardness
    ambient = float(rng.uniform(*AMBIENT_RANGE))
    key = float(rng.uniform(*KEY_RANGE)) - ambient
    lights, described = [], []
    for i in range(n):
        # The key lights the face from the front half (any side, from below to high above);
        # the others come from anywhere, rim lights from behind included.
        d = _direction(rng, (-100, 100), (-20, 70)) if i == 0 else _direction(rng, (-180, 180), (-30, 80))
        kelvin = float(np.exp(rng.uniform(*np.log(KELVIN_RANGE))))
        strength = key if i == 0 else key * float(rng.uniform(0.1, 0.6))
        lights.append((d, tint(kelvin) * strength, expo if i == 0 else 10.0))
        described.append({"direction": d.round(4).tolist(), "kelvin": round(kelvin), "strength": round(strength, 3)})
    sky_kelvin = float(np.exp(rng.uniform(*np.log(KELVIN_RANGE))))
    amb = tint(sky_kelvin) * ambient
    sky = amb * float(rng.uniform(0.0, 0.5))
    lighting = Lighting(tuple(lights), tuple(float(a) for a in amb), tuple(float(a) for a in sky), float(penumbra))
    return lighting, {"lights": described, "ambient": round(ambient, 3), "ambient_kelvin": round(sky_kelvin),
                      "penumbra_mm": round(penumbra, 2)}
