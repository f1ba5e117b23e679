"""The synthesizer's configuration and the per-image random streams derived from it."""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from facebench.core.errors import FacebenchError
from facebench.data.synth.expressions import EXPRESSIONS

IMAGE_FORMATS = ("png", "jpg")
LOOKS = ("studio", "wild", "mixed")   # docs/design.md, "The wild look"
# What a wild image randomises, each of which `wild_off` can return to the studio's (the ablation of
# docs/RESULTS.md "Transfer to real photographs"): facebench/data/synth/wild.py says what each means.
WILD_FACTORS = ("pose", "lighting", "background", "occluders", "skin", "finish")
MIN_SIZE = 64


@dataclass(frozen=True)
class SynthConfig:
    subjects: int = 12
    expressions: int = 24          # the first K of the 24 named expressions (neutral first)
    cameras: int = 8
    size: int = 4096               # square image side in px
    seed: int = 0
    annotator_noise: float = 0.0   # std of Gaussian noise added to landmarks, in px at `size`
    image_format: str = "png"      # png | jpg
    appearance: str = "random"     # random | stratified (facebench/data/synth/appearance.py)
    look: str = "studio"           # studio | wild | mixed (facebench/data/synth/wild.py)
    wild_off: tuple[str, ...] = () # WILD_FACTORS that wild images take from the studio instead

    def __post_init__(self) -> None:
        checks = (
            (self.subjects >= 1, f"subjects must be at least 1, got {self.subjects}"),
            (1 <= self.expressions <= len(EXPRESSIONS),
             f"expressions must be in 1..{len(EXPRESSIONS)}, got {self.expressions}"),
            (1 <= self.cameras <= 64, f"cameras must be in 1..64, got {self.cameras}"),
            (self.size >= MIN_SIZE, f"size must be at least {MIN_SIZE} px, got {self.size}"),
            (self.seed >= 0, f"seed must be non-negative, got {self.seed}"),
            (np.isfinite(self.annotator_noise) and self.annotator_noise >= 0,
             f"annotator_noise must be a non-negative number of px, got {self.annotator_noise}"),
            (self.image_format in IMAGE_FORMATS,
             f"image_format must be one of {', '.join(IMAGE_FORMATS)}, got {self.image_format!r}"),
            (self.appearance in ("random", "stratified"),
             f"appearance must be random or stratified, got {self.appearance!r}"),
            (self.look in LOOKS, f"look must be one of {', '.join(LOOKS)}, got {self.look!r}"),
            (set(self.wild_off) <= set(WILD_FACTORS),
             f"wild_off takes {', '.join(WILD_FACTORS)}; "
             f"got {', '.join(sorted(set(self.wild_off) - set(WILD_FACTORS)))}"),
            (not self.wild_off or self.look != "studio", "wild_off changes wild images; the studio look has none"),
        )
        for ok, message in checks:
            if not ok:
                raise FacebenchError(message)

    def to_dict(self) -> dict:
        d = asdict(self)
        d["wild_off"] = sorted(self.wild_off)     # JSON-ready and order-free
        return d


def rng_for(seed: int, *keys: int) -> np.random.Generator:
    """An independent random stream for (seed, *keys): the same keys give the same stream in any
    process and in any order, so workers and re-runs agree."""
    return np.random.default_rng(np.random.SeedSequence([int(seed), *[int(k) for k in keys]]))


# Stream tags, so that subject, image and landmark noise never share random numbers.
STREAM_SUBJECT = 1
STREAM_IMAGE = 2
STREAM_ANNOTATOR = 3
STREAM_RIG = 4
STREAM_TEXTURE = 5
# 6 is facebench.data.synth.appearance's
STREAM_LOOK = 7            # mixed: is this image studio or wild
STREAM_WILD = 8            # a wild image's camera, lighting, background, occluders and finish
STREAM_WILD_SUBJECT = 9    # a subject's age and skin tint in wild images
STREAM_WILD_OFF = 10       # the studio backdrop and finish of a wild image with those factors off


def subject_name(i: int) -> str:
    """The folder name of subject ``i`` in a synthesized capture."""
    return f"s{i:03d}"
