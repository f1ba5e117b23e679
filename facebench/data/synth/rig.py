"""The studio rig: calibrated pinhole cameras on an arc in front of the subject.

Camera ``k`` of ``n`` sits at yaw ``-28 + 56 k / (n - 1)`` degrees (positive: on the subject's left,
the image right of a frontal view) and a pitch between -11 and 0 degrees (positive: above; the
rig sits at and below eye level so the nostrils stay in view), with
small per-camera calibration jitter (distance, principal point, roll) from the rig's own random
stream. All cameras aim at the middle of the face; focal lengths are set so the face (brows to
chin) fills about two thirds of the frame height. Extrinsics map the head frame (mm) to OpenCV
camera coordinates; intrinsics are in the facebench pixel convention at the capture's size.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from facebench.core.geometry import project_points, rescale_intrinsics
from facebench.data.synth.config import STREAM_RIG, rng_for

TARGET = np.array([0.0, -46.0, 55.0])   # mm, head frame: the point every camera aims at
DISTANCE = 900.0                         # mm, arc radius
FACE_HEIGHT = 148.0                      # mm, nominal brow-to-chin extent the framing is set for
FILL = 0.64                              # nominal fraction of the frame height the face fills
YAW_RANGE = 28.0


@dataclass(frozen=True)
class Camera:
    name: str
    yaw: float                 # degrees, nominal
    pitch: float               # degrees, nominal
    size: int                  # image side in px
    K: np.ndarray              # (3, 3)
    R: np.ndarray              # (3, 3) head frame -> camera
    t: np.ndarray              # (3,)
    distance: float = DISTANCE   # mm to the face, nominal: sets the px per mm of textures and strands

    @property
    def centre(self) -> np.ndarray:
        """Camera centre in the head frame (mm)."""
        return -self.R.T @ self.t

    def project(self, points: np.ndarray) -> np.ndarray:
        """Head-frame points (..., 3) -> pixels (..., 2) at ``size``."""
        return project_points(points, self.K, self.R, self.t)

    def depth(self, points: np.ndarray) -> np.ndarray:
        return points @ self.R[2] + self.t[2]

    def at_size(self, size: int) -> "Camera":
        """The same camera rendering a ``size x size`` image."""
        return Camera(self.name, self.yaw, self.pitch, size, rescale_intrinsics(self.K, self.size, size),
                      self.R, self.t, self.distance)

    @property
    def ppm(self) -> float:
        """Pixels per mm on the face (at :attr:`distance`)."""
        return self.K[0, 0] / self.distance

    def to_dict(self) -> dict:
        return {"name": self.name, "yaw_deg": round(self.yaw, 4), "pitch_deg": round(self.pitch, 4),
                "width": self.size, "height": self.size, "K": self.K.round(6).tolist(),
                "R": self.R.round(9).tolist(), "t": self.t.round(6).tolist(),
                "centre_mm": self.centre.round(4).tolist(),
                "convention": "X_cam = R @ X_head + t (x right, y down, z forward); pixel centres at integers"}


def nominal_angles(n: int) -> list[tuple[float, float]]:
    """(yaw, pitch) in degrees of each camera of an ``n``-camera rig."""
    if n == 1:
        return [(0.0, 0.0)]
    out = []
    for k in range(n):
        yaw = -YAW_RANGE + 2 * YAW_RANGE * k / (n - 1)
        pitch = -5.5 + 5.5 * np.sin(2.39996 * k + 1.0)
        if abs(yaw) > 22.0:          # from far round and below, the nose hides the far iris edge
            pitch = max(pitch, -5.0)
        out.append((yaw, float(np.clip(pitch, -11.0, 0.0))))
    return out


def look_at(centre: np.ndarray, target: np.ndarray, roll_deg: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
    fwd = target - centre
    fwd = fwd / np.linalg.norm(fwd)
    right = np.cross(fwd, [0.0, 1.0, 0.0])
    right /= np.linalg.norm(right)
    down = np.cross(fwd, right)
    r = np.deg2rad(roll_deg)
    right, down = np.cos(r) * right + np.sin(r) * down, -np.sin(r) * right + np.cos(r) * down
    R = np.stack([right, down, fwd])
    return R, -R @ centre


def make_rig(cameras: int, size: int, seed: int) -> list[Camera]:
    rng = rng_for(seed, STREAM_RIG)
    rig = []
    for k, (yaw, pitch) in enumerate(nominal_angles(cameras)):
        jit = rng.normal(size=6)
        dist = DISTANCE * (1 + 0.02 * jit[0])
        y, p = np.deg2rad(yaw + 0.4 * jit[1]), np.deg2rad(pitch + 0.4 * jit[2])
        centre = TARGET + dist * np.array([np.sin(y) * np.cos(p), np.sin(p), np.cos(y) * np.cos(p)])
        R, t = look_at(centre, TARGET, roll_deg=0.8 * jit[3])
        f = FILL * size * dist / FACE_HEIGHT
        c = (size - 1) / 2.0 + 0.004 * size * jit[4:6]
        K = np.array([[f, 0.0, c[0]], [0.0, f, c[1]], [0.0, 0.0, 1.0]])
        rig.append(Camera(f"cam{k}", float(yaw), float(pitch), size, K, R, t))
    return rig
