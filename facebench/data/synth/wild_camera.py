"""A wild image's camera: head pose beyond the studio rig, perspective from selfie to telephoto,
face scale and off-centre framing (docs/design.md, "The wild look").

The camera orbits the head's target point (yaw, pitch) and rolls about its axis, so the head pose
relative to the camera is (-yaw, -pitch, -roll); the focal length keeps the face at the drawn fill
of the frame whatever the distance, so distance alone sets the perspective strength. The principal
point then shifts the face off centre, limited so that every landmark stays at least
:data:`MARGIN` of the side inside the frame: a shift of the principal point moves every projection
by the same amount, so the landmarks stay exact.
"""

from __future__ import annotations

import numpy as np

from facebench.data.synth.rig import DISTANCE, FACE_HEIGHT, FILL, TARGET, Camera, look_at

YAW_SD, YAW_MAX = 25.0, 65.0          # degrees; truncated normal
PITCH_SD, PITCH_RANGE = 10.0, (-25.0, 25.0)
ROLL_SD, ROLL_MAX = 12.0, 35.0
DISTANCE_RANGE = (350.0, 3000.0)      # mm, log-uniform (the studio arc: 900 mm)
FILL_RANGE = (0.25, 0.62)             # brow-to-chin height over the frame height (studio: 0.64)
MARGIN = 0.03
STUDIO_YAW, STUDIO_PITCH = 28.0, (-11.0, 0.0)    # the rig's arc (rig.py)


def _clipped_normal(rng: np.random.Generator, sd: float, lo: float, hi: float) -> float:
    return float(np.clip(rng.normal(0.0, sd), lo, hi))


def wild_camera(rng: np.random.Generator, size: int, studio_pose: bool = False) -> tuple[Camera, dict]:
    """A random camera looking at the head (principal point at the centre: see :func:`frame`), and
    its pose, distance and fill. ``studio_pose``: the same draws, then the pose held to the rig's
    range (yaw within +-28 deg, pitch -11..0, no roll) at the rig's distance and fill."""
    yaw = _clipped_normal(rng, YAW_SD, -YAW_MAX, YAW_MAX)
    pitch = _clipped_normal(rng, PITCH_SD, *PITCH_RANGE)
    roll = _clipped_normal(rng, ROLL_SD, -ROLL_MAX, ROLL_MAX)
    dist = float(np.exp(rng.uniform(*np.log(DISTANCE_RANGE))))
    fill = float(rng.uniform(*FILL_RANGE))
    if studio_pose:
        yaw = float(np.clip(yaw, -STUDIO_YAW, STUDIO_YAW))
        pitch, roll, dist, fill = float(np.clip(pitch, *STUDIO_PITCH)), 0.0, DISTANCE, FILL
    y, p = np.deg2rad(yaw), np.deg2rad(pitch)
    centre = TARGET + dist * np.array([np.sin(y) * np.cos(p), np.sin(p), np.cos(y) * np.cos(p)])
    R, t = look_at(centre, TARGET, roll_deg=roll)
    f = fill * size * dist / FACE_HEIGHT
    c = (size - 1) / 2.0
    K = np.array([[f, 0.0, c], [0.0, f, c], [0.0, 0.0, 1.0]])
    info = {"yaw_deg": round(yaw, 3), "pitch_deg": round(pitch, 3), "roll_deg": round(roll, 3),
            "distance_mm": round(dist, 2), "fill": round(fill, 4)}
    return Camera("wild", yaw, pitch, size, K, R, t, dist), info


def frame(camera: Camera, landmarks: np.ndarray, rng: np.random.Generator) -> tuple[Camera, np.ndarray]:
    """Shift the face off centre by a random amount that keeps ``landmarks`` (89, 2), seen through
    ``camera``, inside the frame; returns the shifted camera and the shift (2,) px."""
    size = camera.size
    lo, hi = landmarks.min(0), landmarks.max(0)
    m = MARGIN * size
    low, high = m - 0.5 - lo, size - 0.5 - m - hi          # allowed shifts per axis
    shift = np.where(low <= high, low + rng.uniform(0, 1, 2) * np.maximum(high - low, 0.0), 0.5 * (low + high))
    K = camera.K.copy()
    K[:2, 2] += shift
    return Camera(camera.name, camera.yaw, camera.pitch, size, K, camera.R, camera.t, camera.distance), shift
