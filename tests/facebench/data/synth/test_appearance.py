"""The default capture's subjects: stratified over appearance, with a stratified split (issue 13)."""

import json

import pandas as pd
import pytest

from facebench.core.errors import FacebenchError
from facebench.data.synth.appearance import stratified_looks, subject_for, suggested_split
from facebench.data.synth.config import SynthConfig
from facebench.data.synth.subject import make_subject


@pytest.mark.parametrize("n", [12, 13, 15])
def test_the_training_split_spans_the_test_splits_appearance(n):
    looks = stratified_looks(n, seed=0)
    train = [k for k in looks if k.split == "train"]
    test = [k for k in looks if k.split == "test"]
    assert len(test) == n // 3 and len(train) == n - n // 3 > 4
    tones = sorted(looks, key=lambda k: k.tone)
    for i, look in enumerate(tones):            # every test subject: a lighter and a darker train neighbour
        if look.split == "test":
            assert tones[i - 1].split == "train" and tones[i + 1].split == "train"
    for split in (train, test):
        assert {k.sex for k in split} == {0.0, 1.0} and {k.old for k in split} == {True, False}
    for t in (k for k in test if k.old):        # an older test subject has an older training subject nearby
        assert any(k.old and abs(k.tone - t.tone) < 2.0 / n for k in train)
    sizes_train, sizes_test = [k.size for k in train], [k.size for k in test]
    assert min(sizes_train) < min(sizes_test) or max(sizes_train) > max(sizes_test)
    assert sorted(int(k.tone * n) for k in looks) == list(range(n))   # one subject per tone stratum
    assert stratified_looks(n, 0) == looks and stratified_looks(n, 1) != looks


def test_a_look_fixes_tone_sex_hair_and_size_and_nothing_else():
    looks = stratified_looks(12, 0)
    for i, look in enumerate(looks):
        s, free = make_subject(0, i, look), make_subject(0, i)
        assert s.sex == look.sex
        grey = max(s.hair_color) - min(s.hair_color) < 0.05 and min(s.hair_color) > 0.05
        assert grey == look.old
        # as without a look
        assert (s.eye_open, s.iris_radius, s.redness) == (free.eye_open, free.iris_radius, free.redness)
    darkest = max(range(12), key=lambda i: looks[i].tone)
    lightest = min(range(12), key=lambda i: looks[i].tone)
    assert sum(make_subject(0, darkest, looks[darkest]).skin) < sum(make_subject(0, lightest, looks[lightest]).skin)


def test_random_appearance_keeps_every_subject_as_before():
    cfg = SynthConfig(subjects=5)
    assert all(subject_for(cfg, i) == make_subject(0, i) for i in range(5))
    assert suggested_split(cfg) is None
    with pytest.raises(FacebenchError, match="appearance"):
        SynthConfig(appearance="fancy")


def test_the_default_capture_has_more_training_subjects_and_a_stratified_split():
    from facebench.data.prepare import DEFAULT_SYNTH

    split = suggested_split(DEFAULT_SYNTH)
    assert sum(v == "train" for v in split.values()) == 8 and sum(v == "test" for v in split.values()) == 4
    images = DEFAULT_SYNTH.subjects * DEFAULT_SYNTH.expressions * DEFAULT_SYNTH.cameras
    assert images <= 192          # today's prepare budget: the synthesis dominates (docs/bench/prepare.md)


def test_prepare_default_splits_a_stratified_capture_as_it_suggests(tmp_path, monkeypatch):
    import facebench.data.prepare as prep

    cfg = SynthConfig(subjects=4, expressions=1, cameras=1, size=160, seed=0, appearance="stratified")
    monkeypatch.setattr(prep, "DEFAULT_SYNTH", cfg)
    prep.prepare_default(tmp_path / "data", synth_dir=tmp_path / "synth",
                         options=prep.PrepareOptions(resolutions=(256,)), workers=1, progress=False)
    manifest = pd.read_parquet(tmp_path / "data" / prep.MANIFEST)
    want = suggested_split(cfg)
    assert dict(zip(manifest["subject"], manifest["split"])) == want
    capture = json.loads((tmp_path / "synth" / "capture.json").read_text())
    assert {s["name"]: s["split"] for s in capture["subjects"]} == want
    info = json.loads((tmp_path / "data" / prep.DATASET_JSON).read_text())
    assert info["options"]["subject_split"] == want


def test_a_given_split_must_place_every_subject(tmp_path, tiny_capture):
    from facebench.data.prepare import PrepareOptions, prepare

    with pytest.raises(FacebenchError, match="does not place"):
        prepare(tmp_path / "out", studio=(tiny_capture,), workers=1, progress=False,
                options=PrepareOptions(resolutions=(256,), subject_split=(("nobody", "test"),)))
