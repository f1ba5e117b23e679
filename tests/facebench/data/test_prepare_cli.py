"""``facebench prepare`` through the CLI: bad input gives one ``error: <file>: <problem>`` line,
a non-zero exit, no traceback and no manifest."""

import json
import shutil

import numpy as np
import pytest
from click.testing import CliRunner

from facebench.cli import cli
from facebench.core.pts import write_pts


def _run(*args):
    return CliRunner().invoke(cli, ["prepare", "--workers", "1", "--no-progress", *map(str, args)])


def _capture(tmp_path, make_studio):
    return make_studio(tmp_path / "cap", subjects=2, expressions=1, cameras=2)


def _assert_refused(result, out, *needles):
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)   # no crash
    errors = [ln for ln in result.output.splitlines() if ln.startswith("error: ")]
    assert len(errors) == 1, result.output
    for needle in needles:
        assert needle in errors[0], errors[0]
    assert not (out / "manifest.parquet").exists()


def test_prepare_happy_path(tmp_path, make_studio):
    cap = _capture(tmp_path, make_studio)
    result = _run("--studio", cap, "--out", tmp_path / "out", "--resolutions", "128,256")
    assert result.exit_code == 0, result.output
    assert "prepared 4 samples (train 2, test 2; subjects train 1, test 1)" in result.output
    assert (tmp_path / "out" / "manifest.parquet").exists()


def _corrupt(cap):
    (cap / "s00/e0/cam1.png").write_bytes(b"garbage, not an image")
    return "s00/e0/cam1.png", "not a readable image"


def _damaged_inside(cap):
    # header and IEND intact, image data scrambled: only the decoder can tell
    p = cap / "s01/e0/cam1.png"
    data = bytearray(p.read_bytes())
    data[100:-40] = bytes(len(data) - 140)
    p.write_bytes(bytes(data))
    return "s01/e0/cam1.png", "corrupt image: OpenCV cannot decode it"


def _wrong_count(cap):
    write_pts(cap / "s00/e0/cam0.pts", np.full((70, 2), 50.0))
    return "s00/e0/cam0.pts", "expected 89 points (studio89), found 70"


def _nan(cap):
    p = cap / "s00/e0/cam0.pts"
    lines = p.read_text().splitlines()
    lines[lines.index("{") + 3] = "nan 12.0"
    p.write_text("\n".join(lines))
    return "s00/e0/cam0.pts", "point 3: coordinate is NaN"


def _text(cap):
    p = cap / "s00/e0/cam0.pts"
    lines = p.read_text().splitlines()
    lines[lines.index("{") + 1] = "12.0 abc"
    p.write_text("\n".join(lines))
    return "s00/e0/cam0.pts", "point 1: non-numeric coordinate"


def _far(cap):
    p = cap / "s01/e0/cam0.pts"
    pts = np.full((89, 2), 100.0)
    pts[7] = (100.0, 352 * 1.3)
    write_pts(p, pts)
    return "s01/e0/cam0.pts", "landmark 7 at (100.0, 457.6) lies far outside the 352x352 image"


def _mixed(cap):
    (cap / "capture.json").unlink()
    write_pts(cap / "s01/e0/cam1.pts", np.full((68, 2), 100.0))
    return "s01/e0/cam1.pts", "two landmark schemes mixed in one capture"


def _bad_json(cap):
    (cap / "capture.json").write_text(json.dumps({"scheme": "wflw98"}))
    return "capture.json", "unknown landmark scheme 'wflw98'"


@pytest.mark.parametrize("spoil", [_corrupt, _damaged_inside, _wrong_count, _nan, _text, _far, _mixed, _bad_json])
def test_bad_capture_is_refused(tmp_path, make_studio, spoil):
    cap = _capture(tmp_path, make_studio)
    rel, problem = spoil(cap)
    out = tmp_path / "out"
    result = _run("--studio", cap, "--out", out, "--resolutions", "128,256")
    _assert_refused(result, out, f"{cap / rel}: ", problem)


def test_missing_and_empty_folders(tmp_path):
    out = tmp_path / "out"
    _assert_refused(_run("--studio", tmp_path / "nope", "--out", out), out, "nope: capture folder not found")
    (tmp_path / "empty").mkdir()
    _assert_refused(_run("--studio", tmp_path / "empty", "--out", out), out, "empty: no <subject>/<expression>")
    _assert_refused(_run("--300w", tmp_path / "empty", "--out", out), out, "empty: no 300-W sub-folders")
    _assert_refused(_run("--300vw", tmp_path / "empty", "--out", out), out, "empty: no 300-VW video folders")
    assert not out.exists()


def test_duplicate_ids_name_both_sources(tmp_path, make_studio):
    cap = _capture(tmp_path, make_studio)
    shutil.copytree(cap, tmp_path / "copy")
    out = tmp_path / "out"
    result = _run("--studio", cap, "--studio", tmp_path / "copy", "--out", out)
    _assert_refused(result, out, f"{tmp_path / 'copy' / 's00/e0/cam0.pts'}: duplicate sample id 's00_e0_cam0'",
                    f"also made from {cap / 's00/e0/cam0.pts'}")
    assert not out.exists()


def test_bad_option_values(tmp_path, make_studio):
    cap = _capture(tmp_path, make_studio)
    result = _run("--studio", cap, "--out", tmp_path / "out", "--resolutions", "256,abc")
    assert result.exit_code == 2 and "expected comma-separated integers" in result.output
    result = _run("--studio", cap, "--out", tmp_path / "out", "--test-fraction", "2")
    _assert_refused(result, tmp_path / "out", "--test-fraction must be in [0, 1], got 2.0")


@pytest.mark.slow   # ~9 s: the synthesizer builds two 3-D heads
def test_no_input_synthesizes_and_prepares_the_default_dataset(tmp_path, monkeypatch):
    import facebench.data.prepare as prep
    from facebench.core.prepared import PreparedDataset
    from facebench.data.synth.config import SynthConfig

    monkeypatch.setattr(prep, "DEFAULT_SYNTH", SynthConfig(subjects=2, expressions=1, cameras=1, size=192, seed=0))
    monkeypatch.chdir(tmp_path)
    result = _run("--resolutions", "128")
    assert result.exit_code == 0, result.output
    assert (tmp_path / "data" / "synth-default" / "capture.json").exists()
    ds = PreparedDataset(tmp_path / "data" / "default")
    assert len(ds) == 2 and ds.scheme.name == "studio89" and ds.resolutions == (128, 256)
    assert set(ds.manifest["split"]) == {"train", "test"}
    again = _run("--resolutions", "128")                    # the cache and the images are reused
    assert again.exit_code == 0 and "images: 0 written, 4 already there" in again.output
