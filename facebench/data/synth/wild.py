"""The wild look: one image of a subject with the domain randomised and the landmarks exact
(docs/design.md, "The wild look").

A wild image draws, from its own stream (seed, subject, expression, camera), a camera
(:mod:`wild_camera`: pose, perspective, scale, framing), a lighting (:mod:`wild_light`), a
background (:mod:`backgrounds`), then renders the subject (with their wild skin,
:mod:`ageing`), draws occluders (:mod:`occluders`) and finishes it like a consumer camera
(:mod:`optics`). Only the camera moves the landmarks: they are the exact projections through the
camera the image was rendered with, which the image's sidecar records.

``off`` (``SynthConfig.wild_off``, for the ablation in docs/RESULTS.md) returns factors to the
studio's while every random draw stays the same, so the other factors are unchanged image by image:
``pose`` the rig's range of pose at its distance and fill; ``lighting`` the studio lights;
``background`` the studio backdrop (the shoulders stay); ``occluders`` none; ``skin`` the studio
skin (no age or tint); ``finish`` the studio camera's blur and noise.

``look="mixed"``: each image is studio or wild, one coin toss per image (probability
:data:`WILD_SHARE`) from a stream of its own, and its studio images are exactly those of
``look="studio"``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from facebench.data.synth.ageing import Ageing, ageing_for
from facebench.data.synth.backgrounds import background, shoulders
from facebench.data.synth.compose import backdrop, finish
from facebench.data.synth.config import STREAM_LOOK, STREAM_WILD, STREAM_WILD_OFF, rng_for
from facebench.data.synth.expressions import Expression
from facebench.data.synth.landmarks import project_landmarks
from facebench.data.synth.occluders import occlude
from facebench.data.synth.optics import camera_finish
from facebench.data.synth.render import Assets, Scene, render_raw, work_size
from facebench.data.synth.shading import STUDIO
from facebench.data.synth.wild_camera import frame, wild_camera
from facebench.data.synth.wild_light import random_lighting

WILD_SHARE = 0.5
SHOULDER_DROP = 95.0     # mm from the chin down to the shoulder line


def is_wild(look: str, seed: int, subject: int, expression: int, camera: int) -> bool:
    """Whether image (subject, expression, camera) of a capture with ``look`` is a wild one."""
    if look == "mixed":
        return bool(rng_for(seed, STREAM_LOOK, subject, expression, camera).random() < WILD_SHARE)
    return look == "wild"


@dataclass(frozen=True)
class WildImage:
    image: np.ndarray          # (S, S, 3) uint8 RGB
    landmarks: np.ndarray      # (89, 2) float64 px, exact
    occluded: np.ndarray       # (89,) bool: under an occluder
    info: dict                 # what was drawn (for the sidecar)


_AGEING: dict[tuple[int, int], Ageing] = {}


def _ageing(seed: int, assets: Assets) -> Ageing:
    key = (seed, assets.subject.index)
    if key not in _AGEING:
        _AGEING.clear()        # one subject at a time, as the generator's asset cache
        _AGEING[key] = ageing_for(seed, assets.subject)
    return _AGEING[key]


def _shoulders(back: np.ndarray, assets: Assets, cam_w, rng: np.random.Generator) -> dict:
    """Shoulders behind the neck, seen through ``cam_w``: their line :data:`SHOULDER_DROP` mm below
    the chin, on the neck's axis, as wide as the neck times 2.6-3.6."""
    s = assets.subject
    y = s.chin_y - SHOULDER_DROP
    top, base, side = cam_w.project(np.array([[0.0, s.chin_y, -15.0], [0.0, y, -15.0], [s.neck_width, y, -15.0]]))
    return shoulders(back, top, base, float(np.linalg.norm(side - base)), rng)


def render_wild(assets: Assets, e: Expression, size: int, seed: int, subject: int, expression: int,
                camera: int, off: frozenset[str] | tuple[str, ...] = ()) -> WildImage:
    """The wild image (subject, expression, camera) of a capture made with ``seed`` at ``size`` px,
    with the factors in ``off`` taken from the studio (module docstring)."""
    off = frozenset(off)
    rng = rng_for(seed, STREAM_WILD, subject, expression, camera)
    studio_rng = rng_for(seed, STREAM_WILD_OFF, subject, expression, camera)
    cam, cam_info = wild_camera(rng, size, studio_pose="pose" in off)
    cam, shift = frame(cam, project_landmarks(assets.model, assets.pose(e), cam), rng)
    lighting, light_info = random_lighting(rng)
    if "lighting" in off:
        lighting, light_info = STUDIO, {"studio": True}
    work = work_size(size)
    back, back_info = background(work, rng)
    if "background" in off:
        back, back_info = backdrop(work, assets.backdrop, studio_rng), {"studio": True}
    back_info.update(_shoulders(back, assets, cam.at_size(work), rng))
    skin = None if "skin" in off else _ageing(seed, assets)
    raw = render_raw(assets, e, cam, rng, Scene(lighting, back, skin))
    key = np.asarray(lighting.lights[0][1]) + np.asarray(lighting.ambient)
    light = (key / max(float(key.max()), 1e-6) * min(float(key.mean()), 1.0)).astype(np.float32)
    img, occluded, names = occlude(raw.image, raw.landmarks, rng, light, np.asarray(assets.subject.skin),
                                   np.asarray(assets.subject.hair_color))
    if "occluders" in off:
        img, occluded, names = raw.image, np.zeros_like(occluded), []
    unfinished = img
    img, fx = camera_finish(img, rng)
    if "finish" in off:
        img, fx = finish(unfinished, studio_rng, seed), {"studio": True}
    cam_d = cam.to_dict()
    cam_d.update(cam_info, shift_px=[round(float(s), 3) for s in shift])
    info = {"camera": cam_d, "lighting": light_info, "background": back_info, "occluders": names,
            "skin": ({"studio": True} if skin is None else
                     {"age": round(skin.age, 3), "tint": [round(t, 3) for t in skin.tint]}), "finish": fx}
    if off:
        info["wild_off"] = sorted(off)
    return WildImage(img, raw.landmarks, occluded, info)
