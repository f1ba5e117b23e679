"""Temporal jitter (facebench/eval/temporal.py) on a short 300-VW-style video written with OpenCV
from synthetic frames with a known motion, scored through ``facebench score``."""

import json

import cv2
import numpy as np
import pytest
from click.testing import CliRunner

from facebench.cli import cli
from facebench.core.pts import write_pts
from facebench.eval.temporal import frame_pairs, temporal_summary
from tests.conftest import face_points, render_face

SIZE = (320, 256)
FRAMES = 6
MOTION = np.array([4.0, -2.5])   # px per frame: the face drifts right and up


def _write_video(root, name, points):
    """NNN/vid.avi (one frame per annotation, the face moved by MOTION each frame) + NNN/annot/*.pts."""
    (root / name / "annot").mkdir(parents=True)
    writer = cv2.VideoWriter(str(root / name / "vid.avi"), cv2.VideoWriter_fourcc(*"MJPG"), 25, SIZE)
    truth = []
    for f in range(FRAMES):
        pts = points + f * MOTION
        writer.write(render_face(np.random.default_rng(7), *SIZE, pts))   # same drawing, moved
        write_pts(root / name / "annot" / f"{f + 1:06d}.pts", pts, base=1)
        truth.append(pts)
    writer.release()
    return np.stack(truth)


@pytest.fixture(scope="module")
def video_data(tmp_path_factory):
    """Videos 114 (category 1), 203 (category 2), 410 (category 3) and 001 (train), prepared at 256."""
    root = tmp_path_factory.mktemp("vw")
    src = root / "300vw"
    truth = {name: _write_video(src, name, face_points(np.random.default_rng(i), *SIZE, 68))
             for i, name in enumerate(["114", "203", "410", "001"])}
    result = CliRunner().invoke(cli, ["prepare", "--300vw", str(src), "--out", str(root / "data"), "--vw-stride", "1",
                                      "--resolutions", "256", "--workers", "1", "--no-progress"])
    assert result.exit_code == 0, result.output
    return root / "data", truth


def _inter_ocular(pts):
    return np.linalg.norm(pts[36] - pts[45])


def test_jitter_per_category(video_data, tmp_path):
    """Category 1: a constant bias (follows the motion): jitter 0. Category 2: the prediction lags one
    frame behind (misses the motion): jitter |MOTION| / d. Category 3: +-e alternating: 2e / d."""
    data, truth = video_data
    e = np.array([1.5, 2.0])
    pred_dir = tmp_path / "pred"
    expected = {}
    for name, gt in truth.items():
        if name == "001":
            continue
        (pred_dir / name / "annot").mkdir(parents=True)
        for f in range(FRAMES):
            if name == "114":
                p = gt[f] + [3.0, -1.0]
            elif name == "203":
                p = gt[max(f - 1, 0)]
            else:
                p = gt[f] + (e if f % 2 else -e)
            write_pts(pred_dir / name / "annot" / f"{f + 1:06d}.pts", p, base=1)
        d = np.array([0.5 * (_inter_ocular(gt[f]) + _inter_ocular(gt[f + 1])) for f in range(FRAMES - 1)])
        if name == "114":
            expected["cat1"] = 0.0
        elif name == "203":   # the first pair (0 -> 0) lags by the whole motion, the others follow it
            expected["cat2"] = float(np.mean(np.r_[np.linalg.norm(MOTION) / d[0], 0.0 * d[1:]]))
        else:
            expected["cat3"] = float(np.mean(np.linalg.norm(2 * e) / d))
    result = CliRunner().invoke(cli, ["score", "--data", str(data), "--pred", str(pred_dir), "--json"])
    assert result.exit_code == 0, result.output
    scored = json.loads(result.output.strip().splitlines()[-1])
    assert scored["jitter_pairs"] == 3 * (FRAMES - 1)
    for cat, value in expected.items():
        assert scored["by_subset"][cat]["jitter"] == pytest.approx(value, abs=1e-6), cat
        assert scored["by_subset"][cat]["jitter_pairs"] == FRAMES - 1
    assert scored["jitter"] == pytest.approx(np.mean(list(expected.values())), abs=1e-6)
    assert expected["cat3"] > expected["cat2"] > 0
    table = CliRunner().invoke(cli, ["score", "--data", str(data), "--pred", str(pred_dir)])
    assert table.exit_code == 0 and "jitter %" in table.output


def test_pairs_are_consecutive_frames_of_one_sequence():
    pairs = frame_pairs(["a", "b", "a", "a", "b", "s"], [6, 1, 1, 11, 2, -1])
    assert pairs.tolist() == [[2, 0], [0, 3], [1, 4]]   # a: frames 1, 6, 11; b: 1, 2; s is no video


def test_no_video_frames_no_jitter():
    pts = np.zeros((2, 68, 2))
    assert temporal_summary(pts, pts, np.ones(2), ["s1", "s2"], [-1, -1]) is None


def test_the_report_shows_the_jitter(video_data, tmp_path):
    data, truth = video_data
    pred_dir = tmp_path / "pred"
    for name, gt in truth.items():
        if name != "001":
            (pred_dir / name / "annot").mkdir(parents=True)
            for f in range(FRAMES):
                write_pts(pred_dir / name / "annot" / f"{f + 1:06d}.pts", gt[f] + (0.5 if f % 2 else -0.5), base=1)
    runs = tmp_path / "runs"
    result = CliRunner().invoke(cli, ["score", "--data", str(data), "--pred", str(pred_dir), "--json",
                                      "--out", str(runs / "tracker")])
    assert result.exit_code == 0, result.output
    metrics = json.loads((runs / "tracker" / "metrics.json").read_text())
    assert metrics["jitter"] > 0 and metrics["by_subset"]["cat2"]["jitter_pairs"] == FRAMES - 1
    result = CliRunner().invoke(cli, ["report", str(runs), "--out", str(tmp_path / "report")])
    assert result.exit_code == 0, result.output
    table = (tmp_path / "report" / "tables" / "table3_300vw_jitter.md").read_text()
    assert "Category 3" in table and f"{100 * metrics['by_subset']['cat3']['jitter']:.3f}" in table
    assert "Temporal jitter" in (tmp_path / "report" / "index.html").read_text()
