"""A subject: the per-person parameters of the procedural head (proportions, colours, hair).

Every length is in millimetres in the head frame (x to the image right of a frontal view, y up,
z towards the frontal camera, origin on the head's vertical axis at eye level). Colours are
linear-light RGB albedos in 0..1. A subject is drawn from its own random stream, so subject ``i``
is the same person whatever the other settings are.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from facebench.data.synth.config import STREAM_SUBJECT, rng_for

# sRGB anchors from very light to very dark skin, hair and iris colours (linearised below).
_SKIN = np.array([(243, 204, 182), (232, 184, 152), (214, 160, 124), (186, 130, 94), (150, 98, 66),
                  (112, 72, 48), (82, 52, 36)], dtype=np.float64)
_HAIR = np.array([(24, 19, 17), (48, 34, 26), (82, 58, 40), (128, 94, 62), (176, 140, 96),
                  (112, 56, 34), (120, 114, 108)], dtype=np.float64)
_IRIS = np.array([(52, 30, 18), (92, 58, 32), (118, 92, 48), (84, 104, 62), (78, 112, 150),
                  (112, 124, 130)], dtype=np.float64)


def _lin(srgb: np.ndarray) -> tuple[float, float, float]:
    return tuple(float(c) for c in (np.asarray(srgb) / 255.0) ** 2.2)


@dataclass(frozen=True)
class Subject:
    index: int
    sex: float              # 0 female .. 1 male; drives brow, jaw, beard shadow
    # cranium / face / jaw / neck
    head_width: float       # cranium half-width
    head_length: float      # cranium half-length
    face_width: float       # midface half-width
    jaw_width: float        # mandible half-width
    chin_width: float       # chin half-width
    chin_y: float           # height of the menton (negative)
    chin_forward: float     # chin protrusion offset
    neck_width: float       # neck half-width
    cheekbone: float        # cheekbone prominence
    # eyes
    eye_sep: float          # half the inter-pupillary distance
    eye_width: float        # palpebral fissure length (canthus to canthus)
    eye_open: float         # upper-lid height above the canthal line
    eye_lower: float        # lower-lid depth below it
    canthal_tilt: float     # outer canthus higher than the inner by this much
    eye_depth: float        # eyeball front relative to the base surface
    crease: float           # upper-lid crease height above the margin
    iris_radius: float
    pupil_radius: float
    # brows
    brow_height: float      # brow lower edge above the eye line, at its head
    brow_arch: float
    brow_thickness: float
    brow_density: float     # hairs per mm^2
    # nose
    nose_length: float      # eye line to the tip, vertically
    nose_protrusion: float  # tip height above the base surface
    nose_width: float       # alar half-width
    bridge_width: float
    tip_size: float
    # mouth
    mouth_y: float          # stomion height
    mouth_width: float      # mouth corner half-width
    upper_lip: float        # vermilion heights at the centre
    lower_lip: float
    lip_fullness: float
    # ears and hair
    ear_size: float
    hairline: float         # front hairline height above the eye line
    hair_volume: float
    # colours (linear RGB) and skin properties
    skin: tuple[float, float, float]
    lip_color: tuple[float, float, float]
    hair_color: tuple[float, float, float]
    iris_color: tuple[float, float, float]
    redness: float
    beard: float            # stubble shadow strength
    freckles: float
    gloss: float            # skin specular strength

    def to_dict(self) -> dict:
        return {k: (list(v) if isinstance(v, tuple) else round(float(v), 4) if isinstance(v, float) else v)
                for k, v in asdict(self).items()}


def make_subject(seed: int, index: int, look=None) -> Subject:
    """Subject ``index`` of the capture made with ``seed``; ``look`` (a
    :class:`facebench.data.synth.appearance.Look`) fixes its tone, sex, grey hair and size, every other
    parameter drawn as without it."""
    rng = rng_for(seed, STREAM_SUBJECT, index)
    u = rng.uniform
    sex = float(rng.random() < 0.5)
    sex = sex if look is None else float(look.sex)
    m = sex  # male shifts
    tone = u(0.0, 1.0) ** 0.9 * (len(_SKIN) - 1)
    tone = tone if look is None else min(max(float(look.tone), 0.0), 1.0) * (len(_SKIN) - 1)
    lo = int(np.floor(tone))
    hi = min(lo + 1, len(_SKIN) - 1)
    skin_srgb = _SKIN[lo] * (1 - (tone - lo)) + _SKIN[hi] * (tone - lo)
    skin_srgb = skin_srgb * u(0.97, 1.03, 3)
    dark = tone / (len(_SKIN) - 1)
    hair_p = np.array([4, 4, 3, 2, 1 if dark < 0.4 else 0.1, 0.6 if dark < 0.3 else 0.05, 0.3])
    if look is not None:       # grey hair (the last colour) for an older subject only
        hair_p = np.array([0.0] * (len(_HAIR) - 1) + [1.0]) if look.old else np.append(hair_p[:-1], 0.0)
    hair = _HAIR[rng.choice(len(_HAIR), p=hair_p / hair_p.sum())] * u(0.85, 1.1)
    iris_p = np.array([4, 3, 1.5, 1, 1.6 if dark < 0.35 else 0.05, 0.8 if dark < 0.35 else 0.05])
    iris = _IRIS[rng.choice(len(_IRIS), p=iris_p / iris_p.sum())] * u(0.85, 1.15)
    lip = skin_srgb * np.array([0.84, 0.62, 0.68]) * u(0.82, 0.97)
    s = u(0.94, 1.06)  # overall size
    s = s if look is None else float(look.size)
    nose_length, tip_size = s * u(33, 38) + 1.5 * m, u(0.8, 1.25)
    mouth_y = -nose_length - 8.0 - 1.5 * tip_size - s * u(17, 21) - m
    chin_y = mouth_y - s * u(43, 49) - 3 * m
    return Subject(
        index=index, sex=sex,
        head_width=s * u(71, 77) + 1.5 * m, head_length=s * u(95, 103) + 2 * m,
        face_width=s * u(62, 68) + 2 * m, jaw_width=s * u(48, 54) + 4 * m,
        chin_width=s * u(17, 23) + 3 * m, chin_y=chin_y, chin_forward=u(-4, 3),
        neck_width=s * u(41, 46) + 5 * m, cheekbone=u(0.6, 1.4),
        eye_sep=s * u(29.5, 32.5) + 0.8 * m, eye_width=s * u(26.5, 30.5), eye_open=u(4.4, 5.4),
        eye_lower=u(2.5, 3.2), canthal_tilt=u(0.0, 3.2), eye_depth=u(-2.8, -1.2), crease=u(5.5, 9.5),
        iris_radius=u(5.6, 6.1), pupil_radius=u(1.5, 2.3),
        brow_height=u(11.0, 15.0) - 1.0 * m, brow_arch=u(1.5, 5.0) - 1.0 * m,
        brow_thickness=u(6.0, 9.0) + 2.0 * m, brow_density=u(2.0, 3.5) + 1.0 * m,
        nose_length=nose_length, nose_protrusion=s * u(17, 23) + 2 * m, nose_width=s * u(15, 19) + 1.5 * m,
        bridge_width=u(5.5, 7.5) + 0.8 * m, tip_size=tip_size,
        mouth_y=mouth_y, mouth_width=s * u(21.5, 24.5) + 1.0 * m,
        upper_lip=u(5.5, 8.0) - 0.8 * m, lower_lip=u(7.5, 10.0) - 0.8 * m, lip_fullness=u(1.8, 3.0) - 0.3 * m,
        ear_size=s * u(0.92, 1.08) + 0.04 * m, hairline=u(54, 66) + 6 * m * rng.random(), hair_volume=u(4, 10),
        skin=_lin(skin_srgb), lip_color=_lin(lip), hair_color=_lin(hair), iris_color=_lin(iris),
        redness=u(0.3, 1.0), beard=m * u(0.2, 1.0), freckles=u(0, 1) ** 3 * (1 - dark), gloss=u(0.6, 1.3),
    )
