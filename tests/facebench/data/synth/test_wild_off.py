"""``wild_off``: each factor of the wild look returned to the studio's, with every other random draw
(and so every other factor) of the image unchanged; the setting is checked and guarded."""

import json

import numpy as np
import pytest

from facebench.core.errors import FacebenchError
from facebench.data.synth.config import WILD_FACTORS, SynthConfig
from facebench.data.synth.expressions import EXPRESSIONS
from facebench.data.synth.generate import generate
from facebench.data.synth.render import make_assets, mesh_spacing
from facebench.data.synth.rig import DISTANCE, make_rig
from facebench.data.synth.subject import make_subject
from facebench.data.synth.wild import render_wild

SEED, SIZE = 4, 128
# (expression, camera) of subject 0 with seed 4: a hand and hair over the face (asserted).
VIEWS = [(0, 3), (1, 2)]


@pytest.fixture(scope="module")
def renders():
    assets = make_assets(SEED, make_subject(SEED, 0), mesh_spacing(SIZE, make_rig(2, SIZE, SEED)[0]), SIZE)
    out = {}
    for off in ((), *((f,) for f in WILD_FACTORS)):
        out[off] = [render_wild(assets, EXPRESSIONS[j], SIZE, SEED, 0, j, k, off) for j, k in VIEWS]
    return out


@pytest.mark.parametrize("factor", [f for f in WILD_FACTORS if f != "pose"])
def test_a_factor_off_changes_that_factor_only(renders, factor):
    """Off, the factor is the studio's in the sidecar and the image changes; the camera, and so the
    exact landmarks, are those of the same image with everything on."""
    for full, part in zip(renders[()], renders[(factor,)]):
        np.testing.assert_array_equal(part.landmarks, full.landmarks)
        assert part.info["camera"] == full.info["camera"]
        assert part.info["wild_off"] == [factor]
        others = {"lighting", "background", "skin", "finish"} - {factor}
        for key in others:
            assert part.info[key] == full.info[key]
        if factor == "occluders":
            assert part.info["occluders"] == [] and not part.occluded.any()
        else:
            assert part.info[factor]["studio"] is True      # (the shoulders' cloth beside the backdrop)
            assert part.info["occluders"] == full.info["occluders"]
            np.testing.assert_array_equal(part.occluded, full.occluded)
    changed = [np.abs(p.image.astype(int) - f.image.astype(int)).mean()
               for f, p in zip(renders[()], renders[(factor,)])]
    assert max(changed) > 0.1      # mean |difference| in 8-bit values (the skin tint is subtle at 128 px)


def test_occluders_were_drawn_in_the_views_checked(renders):
    assert all(w.info["occluders"] for w in renders[()])


def test_pose_off_holds_the_pose_to_the_rigs_range(renders):
    for full, part in zip(renders[()], renders[("pose",)]):
        cam = part.info["camera"]
        assert abs(cam["yaw_deg"]) <= 28.0 and -11.0 <= cam["pitch_deg"] <= 0.0 and cam["roll_deg"] == 0.0
        assert cam["distance_mm"] == DISTANCE
        assert part.info["lighting"] == full.info["lighting"]
        assert (part.landmarks > 0).all() and (part.landmarks < SIZE - 1).all()
    assert any(abs(f.info["camera"]["roll_deg"]) > 1.0 for f in renders[()])    # on, the pose does vary


def test_wild_off_is_checked():
    with pytest.raises(FacebenchError, match="posse"):
        SynthConfig(look="wild", wild_off=("posse",))
    with pytest.raises(FacebenchError, match="studio look"):
        SynthConfig(look="studio", wild_off=("pose",))
    assert SynthConfig(look="mixed", wild_off=("skin", "finish")).to_dict()["wild_off"] == ["finish", "skin"]


def test_capture_records_wild_off_and_another_one_is_refused(tmp_path):
    out = tmp_path / "capture"
    cfg = SynthConfig(subjects=1, expressions=1, cameras=1, size=96, seed=SEED, look="wild", wild_off=("finish",))
    generate(out, cfg, workers=1, progress=False)
    capture = json.loads((out / "capture.json").read_text())
    assert capture["config"]["wild_off"] == ["finish"] and capture["look"]["wild_off"] == ["finish"]
    side = json.loads(next(out.rglob("*.occluded.json")).read_text())
    assert side["finish"] == {"studio": True} and side["wild_off"] == ["finish"]
    generate(out, cfg, workers=1, progress=False)       # the same setting continues
    with pytest.raises(FacebenchError, match="wild_off"):
        generate(out, SynthConfig(subjects=1, expressions=1, cameras=1, size=96, seed=SEED, look="wild"),
                 workers=1, progress=False)
