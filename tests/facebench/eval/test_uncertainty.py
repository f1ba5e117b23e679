"""Per-landmark uncertainty in the run folder (predictions.parquet columns, metrics.json
``uncertainty_rank_corr``), in ``facebench predict`` (sidecar JSON, ellipses) and in the report
(reliability diagram)."""

import json

import cv2
import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from facebench.cli import cli
from facebench.core import geometry
from facebench.eval import uncertainty as U
from facebench.eval.predict import draw_overlay, face_crop_box, read_rgb
from facebench.run import folder as runfolder
from reports.uncertainty import reliability_bins
from tests.conftest import face_points, render_face

pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.fixture(scope="module")
def runs(tiny_prepared, tmp_path_factory):
    """An adc smoke run at 128 and a dlib-ert run (no uncertainty) on the tiny dataset."""
    out = tmp_path_factory.mktemp("runs")
    for method in ("adc", "dlib-ert"):
        result = CliRunner().invoke(cli, ["run", "--method", method, "--res", "128", "--data", str(tiny_prepared),
                                          "--preset", "smoke", "--out", str(out), "--threads", "1"])
        assert result.exit_code == 0, result.output
    return out


def test_rank_corr_is_spearmans():
    stats = pytest.importorskip("scipy.stats")
    rng = np.random.default_rng(0)
    a = rng.normal(size=300)
    b = a + rng.normal(size=300)
    b[:20] = 1.0   # ties
    assert U.rank_corr(a, b) == pytest.approx(stats.spearmanr(a, b).statistic, abs=1e-12)
    assert U.rank_corr(np.arange(5.0), np.exp(np.arange(5.0))) == pytest.approx(1.0)
    assert U.rank_corr(np.ones(5), np.arange(5.0)) is None


def test_the_run_folder_has_covariances_and_the_rank_correlation(runs):
    metrics = json.loads((runs / "adc-128" / "metrics.json").read_text())
    frame, pred, gt = runfolder.read_predictions(runs / "adc-128", 128)
    cov_g, cov_r = U.covariances_of(frame)
    assert cov_g.shape == (len(frame), 89, 2, 2) and np.isfinite(cov_g).all()
    assert np.isnan(cov_r[:, :17]).all() and np.isfinite(cov_r[:, 17:68]).all()   # the jaw: global only
    expected = U.uncertainty_metrics(pred, gt, cov_g, cov_r)
    assert metrics["uncertainty_rank_corr"] == pytest.approx(expected["uncertainty_rank_corr"])
    assert -1.0 <= metrics["uncertainty_rank_corr"] <= 1.0
    assert "uncertainty_rank_corr" not in json.loads((runs / "dlib-ert-128" / "metrics.json").read_text())
    # A predictions file written before the columns existed still reads, without covariances.
    old = pd.read_parquet(runs / "adc-128" / runfolder.PREDICTIONS).drop(columns=list(U.COLUMNS))
    assert U.covariances_of(old) is None


def test_report_draws_the_reliability_diagram(runs, tmp_path):
    result = CliRunner().invoke(cli, ["report", str(runs), "--out", str(tmp_path / "report")])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "report" / "figures" / "fig_uncertainty_reliability.png").is_file()
    xs, ys = reliability_bins(np.arange(1.0, 101.0), np.arange(1.0, 101.0), bins=10)
    assert len(xs) == 10 and np.allclose(xs, ys) and (np.diff(xs) > 0).all()


def test_predict_writes_the_covariances_and_draws_ellipses(runs, tmp_path):
    rng = np.random.default_rng(3)
    pts = face_points(rng, 480, 400)
    photo = tmp_path / "photo.png"
    cv2.imwrite(str(photo), render_face(rng, 480, 400, pts))
    box = ",".join(f"{v:.3f}" for v in geometry.points_box(pts))
    result = CliRunner().invoke(cli, ["predict", str(photo), "--run", str(runs / "adc-128"), "--box", box,
                                      "--out", str(tmp_path / "o"), "--passes", "1"])
    assert result.exit_code == 0, result.output
    assert "photo.uncertainty.json" in result.output
    body = json.loads((tmp_path / "o" / "photo.uncertainty.json").read_text())
    assert len(body["points"]) == 89
    jaw, eye = body["points"][0], body["points"][36]
    assert jaw["cov_regional"] is None and eye["cov_regional"] is not None
    assert eye["spread"] == pytest.approx(np.sqrt(eye["cov_regional"][0][0] + eye["cov_regional"][1][1]))
    # The ellipses: the overlay differs from one drawn without them.
    points = np.array([[p["x"], p["y"]] for p in body["points"]])
    crop_box = face_crop_box(geometry.points_box(pts), 0.25)
    plain = draw_overlay(read_rgb(photo), points, crop_box)
    drawn = cv2.cvtColor(cv2.imread(str(tmp_path / "o" / "photo.landmarks.png")), cv2.COLOR_BGR2RGB)
    assert (drawn != plain).any()
    # dlib-ert has no uncertainty: no sidecar.
    result = CliRunner().invoke(cli, ["predict", str(photo), "--run", str(runs / "dlib-ert-128"), "--box", box,
                                      "--out", str(tmp_path / "d"), "--passes", "1"])
    assert result.exit_code == 0, result.output
    assert not (tmp_path / "d" / "photo.uncertainty.json").exists()


def test_only_adc_runs_export_to_onnx(runs, tmp_path):
    pytest.importorskip("onnx")
    result = CliRunner().invoke(cli, ["export", str(runs / "dlib-ert-128"), "--onnx", str(tmp_path / "m.onnx")])
    assert result.exit_code == 2 and "only ADC-family runs can be exported" in result.output
    assert len(result.output.strip().splitlines()) == 1 and not (tmp_path / "m.onnx").exists()
