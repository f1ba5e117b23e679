"""Subjects drawn stratified over appearance, and a split that is stratified too (issue 13).

With ``SynthConfig(appearance="stratified")`` the capture's subjects are not drawn independently:
their skin tones fill ``n`` equal strata of the tone range (one subject per stratum, a random tone
inside it), sex, age (grey hair stands for an older subject) and build (overall head size) are
balanced over those strata, and each subject gets a suggested split. Sorted by tone, the subjects
form triplets (lighter, middle, darker); the middle one is a test subject, the other two train.
So every test subject has a lighter and a darker training subject next to it, an older test subject
has an older training subject in its triplet, and the training split spans the test split's whole
range of tone, hair, age and build with twice as many subjects. Subjects left over when ``n`` is not
a multiple of 3 train. Which subject (``s000`` ...) gets which stratum is a seeded permutation, so
names do not encode appearance.

``appearance="random"`` (the default of ``facebench synth``) keeps every subject exactly as
:func:`facebench.data.synth.subject.make_subject` draws it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from facebench.data.synth.config import rng_for, subject_name
from facebench.data.synth.subject import make_subject

APPEARANCES = ("random", "stratified")
STREAM_APPEARANCE = 6        # a stream of its own: the subjects' other parameters are unchanged
SIZE_RANGE = (0.94, 1.06)    # make_subject's overall size factor (build)


@dataclass(frozen=True)
class Look:
    """What a stratified subject's appearance is fixed to."""

    tone: float        # 0 lightest .. 1 darkest skin of make_subject's palette
    sex: float         # 0 female, 1 male
    old: bool          # grey hair
    size: float        # overall head size factor (build)
    split: str         # suggested split: train | test


def stratified_looks(n: int, seed: int) -> list[Look]:
    """The looks of subjects 0 .. n-1 (see the module docstring)."""
    rng = rng_for(seed, STREAM_APPEARANCE, n)
    tones = (np.arange(n) + rng.uniform(0.05, 0.95, n)) / n          # stratum k, ascending
    by_stratum: list[dict] = []
    for k in range(n):
        t, pos = divmod(k, 3)
        if t == n // 3:                                                # leftovers: train
            split, sex, old = "train", float(k % 2), k % 2 == 1
        elif pos == 1:                                                 # the middle of a triplet: test
            split, sex, old = "test", float(t % 2), t % 2 == 1
        else:
            split, sex = "train", float(pos == 2)
            old = (pos == 0) if t % 2 == 1 else (pos == 2)
        by_stratum.append({"tone": float(tones[k]), "sex": sex, "old": old, "split": split})
    for split in ("train", "test"):                                    # build: stratified per split
        members = [d for d in by_stratum if d["split"] == split]
        if members:
            order = rng.permutation(len(members))
            lo, hi = SIZE_RANGE
            for d, q in zip(members, order):
                d["size"] = float(lo + (hi - lo) * (q + rng.uniform(0.1, 0.9)) / len(members))
    assignment = rng.permutation(n)                                    # subject i -> stratum
    return [Look(**by_stratum[int(assignment[i])]) for i in range(n)]


def subject_for(cfg, index: int):
    """Subject ``index`` of the capture ``cfg`` (a :class:`facebench.data.synth.config.SynthConfig`)."""
    if getattr(cfg, "appearance", "random") == "stratified":
        return make_subject(cfg.seed, index, stratified_looks(cfg.subjects, cfg.seed)[index])
    return make_subject(cfg.seed, index)


def suggested_split(cfg) -> dict[str, str] | None:
    """Subject name -> train / test for a stratified capture; None for a random one."""
    if getattr(cfg, "appearance", "random") != "stratified":
        return None
    return {subject_name(i): look.split for i, look in enumerate(stratified_looks(cfg.subjects, cfg.seed))}
