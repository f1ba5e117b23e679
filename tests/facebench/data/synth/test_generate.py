"""The capture on disk: layout, capture.json, determinism, resuming, workers, noise, formats, CLI."""

import json

import cv2
import numpy as np
import pytest
from click.testing import CliRunner

from facebench.cli import cli
from facebench.core.errors import FacebenchError
from facebench.core.pts import read_pts
from facebench.data.synth.config import SynthConfig
from facebench.data.synth.generate import generate

CFG = SynthConfig(subjects=2, expressions=2, cameras=2, size=128, seed=5)


def _files(root):
    return sorted(p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file())


@pytest.fixture(scope="module")
def capture(tmp_path_factory):
    out = tmp_path_factory.mktemp("cap") / "capture"
    summary = generate(out, CFG, workers=1, progress=False)
    return out, summary


def test_layout_and_capture_json(capture):
    out, summary = capture
    assert summary["written"] == 8 and summary["kept"] == 0 and summary["images"] == 8
    names = _files(out)
    assert "capture.json" in names
    for s in ("s000", "s001"):
        for e in ("neutral", "smile"):
            for c in ("cam0", "cam1"):
                assert f"{s}/{e}/{c}.png" in names and f"{s}/{e}/{c}.pts" in names
    assert len(names) == 17                       # no temporary files left behind
    meta = json.loads((out / "capture.json").read_text())
    assert meta["scheme"] == "studio89" and meta["seed"] == 5 and meta["size"] == 128
    assert [e["name"] for e in meta["expressions"]] == ["neutral", "smile"]
    assert [s["name"] for s in meta["subjects"]] == ["s000", "s001"]
    cams = meta["rig"]["cameras"]
    assert [c["name"] for c in cams] == ["cam0", "cam1"] and all(abs(c["yaw_deg"]) <= 35 for c in cams)
    assert np.array(cams[0]["K"]).shape == (3, 3) and np.array(cams[0]["R"]).shape == (3, 3)
    img = cv2.imread(str(out / "s001/smile/cam1.png"))
    assert img.shape == (128, 128, 3) and img.std() > 10
    pts = read_pts(out / "s001/smile/cam1.pts", num_points=89)
    assert np.isfinite(pts).all() and (pts > 0).all() and (pts < 127).all()


def test_landmarks_follow_the_rig_projection(capture):
    """The .pts are the projections through the cameras of capture.json: the same head-frame
    landmark seen by two cameras triangulates back consistently (checked on the pupil)."""
    out, _ = capture
    meta = json.loads((out / "capture.json").read_text())
    rays = []
    for cam in meta["rig"]["cameras"]:
        K, R, t = (np.array(cam[k]) for k in ("K", "R", "t"))
        x = read_pts(out / f"s000/neutral/{cam['name']}.pts")[68]
        d = R.T @ np.linalg.solve(K, np.array([x[0], x[1], 1.0]))
        rays.append((-R.T @ t, d / np.linalg.norm(d)))
    (c0, d0), (c1, d1) = rays
    n = np.cross(d0, d1)
    gap = abs((c1 - c0) @ n) / np.linalg.norm(n)
    assert gap < 0.05                              # mm: the two viewing rays meet


@pytest.mark.slow
def test_same_seed_same_bytes_whatever_the_workers(capture, tmp_path):
    out, _ = capture
    other = tmp_path / "again"
    generate(other, CFG, workers=2, progress=False)
    assert _files(other) == _files(out)
    for name in _files(out):
        assert (other / name).read_bytes() == (out / name).read_bytes(), name


def test_interrupted_run_resumes_and_redoes_only_unfinished_images(capture, tmp_path):
    out, _ = capture
    copy = tmp_path / "copy"
    for name in _files(out):
        (copy / name).parent.mkdir(parents=True, exist_ok=True)
        (copy / name).write_bytes((out / name).read_bytes())
    (copy / "s000/smile/cam1.pts").unlink()                 # image written, .pts not yet
    (copy / "s001/neutral/cam0.png").unlink()               # .pts without its image
    (copy / "s001/neutral/.cam0.png.tmp123").write_bytes(b"partial")
    summary = generate(copy, CFG, progress=False)
    assert summary["written"] == 2 and summary["kept"] == 6
    for name in ("s000/smile/cam1.pts", "s000/smile/cam1.png", "s001/neutral/cam0.png"):
        assert (copy / name).read_bytes() == (out / name).read_bytes()


def test_annotator_noise_moves_only_the_landmarks(capture, tmp_path):
    out, _ = capture
    noisy = tmp_path / "noisy"
    generate(noisy, SynthConfig(**{**CFG.to_dict(), "annotator_noise": 2.0}), progress=False)
    diffs = []
    for name in _files(out):
        if name.endswith(".png"):
            assert (noisy / name).read_bytes() == (out / name).read_bytes()
        elif name.endswith(".pts"):
            diffs.append(read_pts(noisy / name) - read_pts(out / name))
    d = np.concatenate(diffs).ravel()
    assert len(d) == 8 * 89 * 2 and 1.7 < d.std() < 2.3 and abs(d.mean()) < 0.25


def test_jpg_format(tmp_path):
    cfg = SynthConfig(subjects=1, expressions=1, cameras=1, size=96, image_format="jpg")
    generate(tmp_path / "j", cfg, progress=False)
    img = cv2.imread(str(tmp_path / "j/s000/neutral/cam0.jpg"))
    assert img is not None and img.shape == (96, 96, 3)


def test_output_that_is_a_file_is_a_user_error(tmp_path):
    f = tmp_path / "taken"
    f.write_text("x")
    with pytest.raises(FacebenchError, match="not a folder"):
        generate(f, CFG, progress=False)


def test_cli(tmp_path):
    runner = CliRunner()
    res = runner.invoke(cli, ["synth", str(tmp_path / "c"), "--subjects", "1", "--expressions", "1",
                              "--cameras", "1", "--size", "96", "--quiet"])
    assert res.exit_code == 0, res.output
    assert "1 images written" in res.output and (tmp_path / "c/s000/neutral/cam0.pts").is_file()
    bad = runner.invoke(cli, ["synth", str(tmp_path / "d"), "--format", "tif"])
    assert bad.exit_code == 2
    assert "--annotator-noise" in runner.invoke(cli, ["synth", "--help"]).output
    f = tmp_path / "file"
    f.write_text("x")
    err = runner.invoke(cli, ["synth", str(f), "--size", "96", "--subjects", "1", "--expressions", "1",
                              "--cameras", "1"])
    assert err.exit_code == 2 and "not a folder" in err.output
