"""The wild look: exact landmarks under every randomisation, occlusion flags, determinism, mixed
captures, the camera finish moving no point, the settings guard and the CLI."""

import json

import cv2
import numpy as np
import pytest
from click.testing import CliRunner

from facebench.cli import cli
from facebench.core.errors import FacebenchError
from facebench.core.pts import read_pts
from facebench.data.synth.config import SynthConfig
from facebench.data.synth.expressions import EXPRESSIONS
from facebench.data.synth.generate import generate
from facebench.data.synth.landmarks import project_landmarks
from facebench.data.synth.occluders import occlude
from facebench.data.synth.optics import camera_finish
from facebench.data.synth.render import make_assets, mesh_spacing
from facebench.data.synth.rig import Camera, make_rig
from facebench.data.synth.subject import make_subject
from facebench.data.synth.wild import is_wild

WILD = SynthConfig(subjects=3, expressions=2, cameras=2, size=256, seed=4, look="wild")


def _files(root):
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def wild(tmp_path_factory):
    out = tmp_path_factory.mktemp("wild") / "capture"
    generate(out, WILD, workers=1, progress=False)
    return out


def _camera(d: dict) -> Camera:
    return Camera(d["name"], d["yaw_deg"], d["pitch_deg"], d["width"], np.array(d["K"]), np.array(d["R"]),
                  np.array(d["t"]), d["distance_mm"])


def test_wild_landmarks_are_the_exact_projections_through_the_recorded_camera(wild):
    """Each .pts is what the renderer's landmark model gives through the camera its sidecar records
    (pose, perspective and framing change the projection; the .pts follows), inside the frame."""
    for i in range(WILD.subjects):
        subject = make_subject(WILD.seed, i)
        assets = make_assets(WILD.seed, subject, mesh_spacing(WILD.size, make_rig(2, WILD.size, WILD.seed)[0]),
                             WILD.size)
        for j in range(WILD.expressions):
            for k in range(WILD.cameras):
                base = wild / f"s{i:03d}" / EXPRESSIONS[j].name / f"cam{k}"
                side = json.loads(base.with_suffix(".occluded.json").read_text())
                pts = read_pts(base.with_suffix(".pts"), num_points=89)
                assert side["look"] == "wild" and len(side["occluded"]) == 89
                want = project_landmarks(assets.model, assets.pose(EXPRESSIONS[j]), _camera(side["camera"]))
                np.testing.assert_allclose(pts, want, atol=1e-3)     # the .pts keeps 4 decimals
                assert (pts > 0).all() and (pts < WILD.size - 1).all()
                img = cv2.imread(str(base.with_suffix(".png")))
                assert img.shape == (256, 256, 3) and img.std() > 8


def test_wild_images_vary_pose_and_scene(wild):
    sides = [json.loads(p.read_text()) for p in sorted(wild.rglob("*.occluded.json"))]
    assert len(sides) == 12
    yaws = [s["camera"]["yaw_deg"] for s in sides]
    assert max(yaws) - min(yaws) > 20
    assert len({s["background"]["kind"] for s in sides}) >= 2
    assert len({len(s["lighting"]["lights"]) for s in sides}) >= 2
    assert len({s["camera"]["distance_mm"] for s in sides}) == 12


def test_same_seed_same_bytes(wild, tmp_path):
    again = tmp_path / "again"
    generate(again, WILD, workers=1, progress=False)
    assert _files(again) == {k: v for k, v in _files(wild).items() if k != "capture.json"} | \
        {"capture.json": (again / "capture.json").read_bytes()}
    assert json.loads((again / "capture.json").read_text()) == json.loads((wild / "capture.json").read_text())


def test_mixed_studio_images_are_the_studio_looks_images(tmp_path):
    mixed = SynthConfig(subjects=2, expressions=2, cameras=3, size=128, seed=2, look="mixed")
    studio = SynthConfig(subjects=2, expressions=2, cameras=3, size=128, seed=2, look="studio")
    generate(tmp_path / "m", mixed, workers=1, progress=False)
    generate(tmp_path / "s", studio, workers=1, progress=False)
    kinds = []
    for side in sorted((tmp_path / "m").rglob("*.occluded.json")):
        rel = side.relative_to(tmp_path / "m").as_posix().replace(".occluded.json", "")
        look = json.loads(side.read_text())["look"]
        s, e, c = rel.split("/")
        assert (look == "wild") == is_wild("mixed", 2, int(s[1:]), [x.name for x in EXPRESSIONS].index(e), int(c[3:]))
        same = all((tmp_path / "m" / f"{rel}{ext}").read_bytes() == (tmp_path / "s" / f"{rel}{ext}").read_bytes()
                   for ext in (".png", ".pts"))
        assert same == (look == "studio"), rel
        kinds.append(look)
    assert len(kinds) == 12 and 2 <= kinds.count("wild") <= 10


@pytest.fixture(scope="module")
def face(assets384):
    from facebench.data.synth.config import STREAM_IMAGE, rng_for
    from facebench.data.synth.render import render

    assets, rig = assets384
    img, lm = render(assets, EXPRESSIONS[0], rig[4], rng_for(0, STREAM_IMAGE, 0, 0, 4), 0)
    return img, lm, assets


def test_occluded_points_are_under_an_occluder_and_the_others_untouched(face):
    img, lm, assets = face
    seen = set()
    flagged = 0
    for seed in range(30):
        out, occ, names = occlude(img, lm, np.random.default_rng(seed), np.ones(3, np.float32),
                                  np.asarray(assets.subject.skin), np.asarray(assets.subject.hair_color))
        seen.update(names)
        xy = np.round(lm).astype(int)
        diff = np.abs(out.astype(int) - img.astype(int)).sum(-1)[xy[:, 1], xy[:, 0]]
        if not names:
            assert not occ.any() and (out == img).all()
        # A flagged point's pixel shows the occluder; a point far from every stroke is untouched.
        assert (diff[occ] > 0).all()
        flagged += int(occ.sum())
    assert {"hand", "object", "hair"} <= seen and ({"glasses", "sunglasses"} & seen)
    assert flagged > 30


def test_the_camera_finish_moves_no_point():
    """Blur (defocus, motion), exposure, white balance, noise and JPEG keep a bright spot's centroid."""
    size = 256
    g = np.arange(size, dtype=np.float64)
    cx, cy = 101.3, 140.6
    spot = np.exp(-((g[None, :] - cx) ** 2 + (g[:, None] - cy) ** 2) / (2 * 4.0 ** 2))
    img = np.repeat((30 + 200 * spot)[..., None], 3, -1).astype(np.uint8)
    for seed in range(12):
        out, info = camera_finish(img, np.random.default_rng(seed))
        win = out[110:172, 70:134].astype(np.float64).mean(-1)
        w = np.clip(win - np.median(out), 0, None)
        w[w < 0.25 * w.max()] = 0
        ys, xs = np.mgrid[110:172, 70:134]
        assert abs((w * xs).sum() / w.sum() - cx) < 0.25 and abs((w * ys).sum() / w.sum() - cy) < 0.25, info


def test_look_is_checked_and_continuing_a_capture_needs_the_same_look(tmp_path):
    with pytest.raises(FacebenchError, match="look must be one of studio, wild, mixed, got 'indoor'"):
        SynthConfig(look="indoor")
    cfg = SynthConfig(subjects=1, expressions=1, cameras=1, size=96, seed=0)
    generate(tmp_path / "c", cfg, workers=1, progress=False)
    meta = json.loads((tmp_path / "c" / "capture.json").read_text())
    del meta["config"]["look"]                            # a capture written before the look existed
    (tmp_path / "c" / "capture.json").write_text(json.dumps(meta))
    generate(tmp_path / "c", cfg, workers=1, progress=False)          # is a studio capture: continues
    with pytest.raises(FacebenchError, match="look 'studio' -> 'wild'"):
        generate(tmp_path / "c", SynthConfig(subjects=1, expressions=1, cameras=1, size=96, seed=0, look="wild"),
                 workers=1, progress=False)


def test_cli_look(tmp_path):
    runner = CliRunner()
    help_text = " ".join(runner.invoke(cli, ["synth", "--help"]).output.split())
    assert "--look [studio|wild|mixed]" in help_text and "occluded.json" in help_text
    result = runner.invoke(cli, ["synth", str(tmp_path / "w"), "--subjects", "1", "--expressions", "1",
                                 "--cameras", "1", "--size", "96", "--look", "wild", "--quiet"])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "w" / "s000" / "neutral" / "cam0.occluded.json").is_file()
    bad = runner.invoke(cli, ["synth", str(tmp_path / "x"), "--look", "outdoor"])
    assert bad.exit_code == 2 and "outdoor" in bad.output


def test_prepare_reads_a_wild_capture(wild, tmp_path):
    from facebench.data.prepare import PrepareOptions, prepare

    summary = prepare(tmp_path / "data", studio=(wild,), options=PrepareOptions(resolutions=(256,)), workers=1,
                      progress=False)
    assert summary.counts["total"] == 12 and summary.written == 12
