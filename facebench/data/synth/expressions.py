"""The 24 named expressions, each a set of blendshape-like controls applied to a subject's face.

Sides follow the iBUG convention: ``_l`` is the *image's* left in a frontal view (the subject's
right). Lengths are millimetres, angles degrees; eye openness 1 is the subject's rest aperture,
0 closed. Controls left at their defaults do nothing.
"""

from __future__ import annotations

from dataclasses import dataclass, fields


@dataclass(frozen=True)
class Expression:
    name: str
    jaw_open: float = 0.0          # deg, mandible rotation about the hinge axis
    jaw_side: float = 0.0          # mm, + moves the mandible to the image right
    smile: float = 0.0             # mouth corners up / out / back (0..1)
    corner_depress: float = 0.0    # mouth corners down (0..1)
    upper_lip_raise_l: float = 0.0  # mm, upper lip up (image-left half)
    upper_lip_raise_r: float = 0.0  # mm, upper lip up (image-right half)
    lower_lip_depress: float = 0.0  # mm, lower lip down
    pucker: float = 0.0            # lips forward and together (0..1)
    funnel: float = 0.0            # lips forward, rounded opening (0..1)
    lip_press: float = 0.0         # lips rolled in and pressed (0..1)
    mouth_side: float = 0.0        # mm, lips shifted to the image right
    cheek_puff: float = 0.0        # 0..1
    cheek_raise: float = 0.0       # 0..1 (with smiles; pushes the lower lids up)
    brow_raise_inner: float = 0.0  # mm
    brow_raise_outer: float = 0.0  # mm
    brow_lower: float = 0.0        # mm, inner brows down and together (corrugator)
    nose_wrinkle: float = 0.0      # 0..1
    open_up_l: float = 1.0         # upper-lid openness, image-left eye
    open_up_r: float = 1.0
    open_lo_l: float = 1.0         # lower-lid openness (below 1: lower lid raised)
    open_lo_r: float = 1.0

    def controls(self) -> dict[str, float]:
        """Every control that differs from neutral, for capture.json."""
        rest = Expression("neutral")
        return {f.name: getattr(self, f.name) for f in fields(self)
                if f.name != "name" and getattr(self, f.name) != getattr(rest, f.name)}


def _eyes(up: float, lo: float = 1.0) -> dict[str, float]:
    return {"open_up_l": up, "open_up_r": up, "open_lo_l": lo, "open_lo_r": lo}


EXPRESSIONS: tuple[Expression, ...] = (
    Expression("neutral"),
    Expression("smile", smile=1.0, cheek_raise=0.7, **_eyes(0.95, 0.8)),
    Expression("smile_open", smile=1.0, upper_lip_raise_l=2.5, upper_lip_raise_r=2.5, lower_lip_depress=2.0,
               jaw_open=5.0, cheek_raise=0.9, **_eyes(0.9, 0.7)),
    Expression("jaw_open", jaw_open=17.0, **_eyes(1.05)),
    Expression("jaw_left", jaw_side=-7.0, jaw_open=3.0),
    Expression("jaw_right", jaw_side=7.0, jaw_open=3.0),
    Expression("pucker", pucker=1.0),
    Expression("funnel", funnel=1.0, jaw_open=5.0),
    Expression("brows_up", brow_raise_inner=7.0, brow_raise_outer=6.0, **_eyes(1.15)),
    Expression("frown", brow_lower=4.5, **_eyes(0.85, 0.95)),
    Expression("eyes_closed", **_eyes(0.0, 0.0)),
    Expression("squint", cheek_raise=0.5, **_eyes(0.55, 0.45)),
    Expression("wink", open_up_l=0.0, open_lo_l=0.0, open_up_r=0.95, open_lo_r=0.85, cheek_raise=0.4,
               smile=0.3),
    Expression("cheeks_puffed", cheek_puff=1.0, lip_press=0.5),
    Expression("disgust", nose_wrinkle=1.0, upper_lip_raise_l=3.0, upper_lip_raise_r=3.0, lower_lip_depress=1.0,
               brow_lower=2.5, cheek_raise=0.4, **_eyes(0.75, 0.7)),
    Expression("surprise", brow_raise_inner=7.5, brow_raise_outer=6.5, jaw_open=11.0, **_eyes(1.25, 1.05)),
    Expression("sad", corner_depress=1.0, brow_raise_inner=4.0, lower_lip_depress=0.5, **_eyes(0.85)),
    Expression("lips_pressed", lip_press=1.0),
    Expression("mouth_left", mouth_side=-7.0),
    Expression("mouth_right", mouth_side=7.0),
    Expression("sneer", upper_lip_raise_l=3.5, nose_wrinkle=0.5, open_up_l=0.85, open_lo_l=0.8),
    Expression("anger", brow_lower=5.0, lip_press=0.6, **_eyes(1.1, 0.9)),
    Expression("scream", jaw_open=23.0, upper_lip_raise_l=3.0, upper_lip_raise_r=3.0, brow_raise_inner=5.0,
               brow_raise_outer=4.0, **_eyes(1.2)),
    Expression("eyes_wide", brow_raise_inner=3.0, brow_raise_outer=2.5, **_eyes(1.3, 1.1)),
)

EXPRESSION_NAMES: tuple[str, ...] = tuple(e.name for e in EXPRESSIONS)
