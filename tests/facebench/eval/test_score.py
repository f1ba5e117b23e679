import json
import shutil

import cv2
import numpy as np
import pytest
from click.testing import CliRunner

from facebench.cli import cli
from facebench.core.errors import FacebenchError
from facebench.core.io import read_json, write_json
from facebench.core.prepared import PreparedDataset
from facebench.core.pts import write_pts
from facebench.data.prepare import PrepareOptions, prepare
from facebench.eval.score import score_predictions
from facebench.run import folder as runfolder

# 300-W test images and the NME each one's prediction is given (inter-ocular distance 50 px).
TEST_NME = {"lfpw/testset/image_0001": 0.02, "helen/testset/img_7": 0.04, "ibug/image_003": 0.06}


def face(shift: float) -> np.ndarray:
    """(68, 2) 0-based source points: outer eye corners 36 = (10, 20) and 45 = (60, 20) (inter-ocular
    50 px), every other point at (35, 40) or on the eyes, all moved by ``shift`` px."""
    p = np.full((68, 2), (35.0, 40.0))
    p[36:42] = [(10, 20), (13, 17), (17, 17), (20, 20), (17, 23), (13, 23)]
    p[42:48] = [(50, 20), (53, 17), (57, 17), (60, 20), (57, 23), (53, 23)]
    p[8] = (35, 67)
    return p + shift


def moved(gt: np.ndarray, nme: float) -> np.ndarray:
    """gt moved by a vector of length nme * 50 px: that inter-ocular NME."""
    return gt + np.array([0.6, 0.8]) * 50.0 * nme


@pytest.fixture(scope="module")
def w300(tmp_path_factory):
    """A tiny 300-W folder (1-based .pts, like the real one) prepared at 256: (data, {rel: gt})."""
    root = tmp_path_factory.mktemp("300w")
    gts = {}
    for k, rel in enumerate([*TEST_NME, "afw/train_1"]):
        path = root / f"{rel}.pts"
        path.parent.mkdir(parents=True, exist_ok=True)
        gts[rel] = face(60.0 + 7 * k)
        write_pts(path, gts[rel], base=1)
        cv2.imwrite(str(path.with_suffix(".png")), np.full((200, 200, 3), 90 + 20 * k, np.uint8))
    data = tmp_path_factory.mktemp("prepared") / "data"
    prepare(data, w300=root, options=PrepareOptions(resolutions=(256,)), workers=1, progress=False)
    return data, gts


def write_predictions(folder, gts, base=1, skip=(), nme=TEST_NME):
    for rel, value in nme.items():
        if rel in skip:
            continue
        (folder / rel).parent.mkdir(parents=True, exist_ok=True)
        write_pts(folder / f"{rel}.pts", moved(gts[rel], value), base=base)
    return folder


def test_score_300w_by_hand(w300, tmp_path):
    data, gts = w300
    result = score_predictions(data, write_predictions(tmp_path / "pred", gts), progress=False)
    s = result.summary
    assert s["n"] == 3 and result.res is None
    assert s["nme"] == pytest.approx(0.04, abs=1e-12)
    assert s["by_subset"]["common"]["nme"] == pytest.approx(0.03, abs=1e-12)
    assert s["by_subset"]["challenging"]["nme"] == pytest.approx(0.06, abs=1e-12)
    assert s["by_subset"]["full"]["nme"] == pytest.approx(0.04, abs=1e-12)
    assert s["fr@0.08"] == 0.0 and s["fr@0.1"] == 0.0
    # AUC@T = mean((T - e) / T), to within half a 1e-4 step per image (errors lie on the grid).
    assert s["auc@0.08"] == pytest.approx((0.06 + 0.04 + 0.02) / 0.24, abs=7e-4)
    assert s["auc@0.1"] == pytest.approx((0.08 + 0.06 + 0.04) / 0.3, abs=6e-4)
    assert result.per_image == pytest.approx({"300w_lfpw-testset_image_0001": 0.02, "300w_helen-testset_img_7": 0.04,
                                              "300w_ibug_image_003": 0.06}, abs=1e-12)
    assert result.extra == []


def test_tagged_zero_based_files_score_the_same(w300, tmp_path):
    data, gts = w300
    result = score_predictions(data, write_predictions(tmp_path / "pred", gts, base=0), progress=False)
    assert result.summary["nme"] == pytest.approx(0.04, abs=1e-12)


def test_res_maps_pred_and_gt_into_the_crop(w300, tmp_path):
    data, gts = w300
    run = tmp_path / "runs" / "mine"
    result = score_predictions(data, write_predictions(tmp_path / "pred", gts), res=256, out=run, progress=False)
    assert result.summary["nme"] == pytest.approx(0.04, abs=1e-12)      # a uniform scale: NME unchanged
    ds = PreparedDataset(data)
    rows = ds.split("test")
    frame, pred, gt = runfolder.read_predictions(run, 256)
    np.testing.assert_allclose(gt, ds.landmarks(rows, 256), atol=1e-9)
    # Each error is the source offset (NME x 50 px) scaled by 256 / crop side.
    scale = 256.0 / rows["crop_side"].to_numpy()
    expected = np.array([TEST_NME[r] for r in rows["rel_path"]]) * 50.0 * scale
    np.testing.assert_allclose(np.linalg.norm(pred - gt, axis=-1), np.repeat(expected[:, None], 68, 1), rtol=1e-9)
    config = read_json(run / runfolder.CONFIG)
    metrics = read_json(run / runfolder.METRICS)
    assert config["method"] == "external" and config["res"] == 256 and config["params"] == 0
    assert metrics["status"] == "ok" and metrics["by_res"]["256"]["nme"] == metrics["nme"] == result.summary["nme"]
    assert list(frame["subset"]) == list(rows["subset"])


def test_missing_file_is_named_and_extra_files_are_reported(w300, tmp_path):
    data, gts = w300
    pred = write_predictions(tmp_path / "pred", gts, skip=("ibug/image_003",))
    with pytest.raises(FacebenchError, match=r"1 of 3 prediction files are missing: ibug/image_003\.pts"):
        score_predictions(data, pred, progress=False)
    write_predictions(pred, gts)
    shutil.copy(pred / "ibug/image_003.pts", pred / "ibug/image_999.pts")
    assert score_predictions(data, pred, progress=False).extra == ["ibug/image_999.pts"]


def test_wrong_point_count_names_the_file(w300, tmp_path):
    data, gts = w300
    pred = write_predictions(tmp_path / "pred", gts)
    write_pts(pred / "ibug/image_003.pts", gts["ibug/image_003"][:67], base=1)
    with pytest.raises(FacebenchError, match="image_003.pts.*expected 68 points, found 67"):
        score_predictions(data, pred, progress=False)


def test_refuses_to_overwrite_a_trained_run(w300, tmp_path):
    data, gts = w300
    run = tmp_path / "adc-256"
    write_json(run / runfolder.CONFIG, {"method": "adc", "res": 256})
    with pytest.raises(FacebenchError, match="holds a 'adc' run"):
        score_predictions(data, write_predictions(tmp_path / "pred", gts), out=run, progress=False)


def test_cli_json_table_and_errors(w300, tmp_path):
    data, gts = w300
    pred = write_predictions(tmp_path / "pred", gts)
    shutil.copy(pred / "ibug/image_003.pts", pred / "ibug/extra.pts")
    runner = CliRunner()
    res = runner.invoke(cli, ["score", "--data", str(data), "--pred", str(pred), "--json"])
    assert res.exit_code == 0, res.output
    obj = json.loads(res.stdout)
    for key in ("nme", "auc@0.08", "fr@0.08", "auc@0.1", "fr@0.1", "per_image"):
        assert key in obj
    assert obj["nme"] == pytest.approx(0.04, abs=1e-12)                  # a fraction, not percent
    assert obj["per_image"]["300w_ibug_image_003"] == pytest.approx(0.06, abs=1e-12)
    assert "ibug/extra.pts" in res.stderr

    table = runner.invoke(cli, ["score", "--data", str(data), "--pred", str(pred), "--out", str(tmp_path / "runs/x")])
    assert table.exit_code == 0 and "challenging" in table.stdout and "4.000" in table.stdout
    assert (tmp_path / "runs/x" / runfolder.METRICS).is_file()

    (pred / "lfpw/testset/image_0001.pts").unlink()
    bad = runner.invoke(cli, ["score", "--data", str(data), "--pred", str(pred)])
    assert bad.exit_code == 2 and "error:" in bad.stderr and "lfpw/testset/image_0001.pts" in bad.stderr
    assert "Traceback" not in bad.output
    nodata = runner.invoke(cli, ["score", "--data", str(tmp_path / "nope"), "--pred", str(pred)])
    assert nodata.exit_code == 2 and "prepared dataset folder not found" in nodata.stderr


def test_out_refuses_a_folder_that_is_not_a_run(w300, tmp_path):
    data, gts = w300
    pred = write_predictions(tmp_path / "pred", gts)
    with pytest.raises(FacebenchError, match="is not a run folder"):
        score_predictions(data, pred, out=pred, progress=False)     # e.g. --out pointing at the predictions


def test_scoring_again_at_another_res_adds_to_by_res(w300, tmp_path):
    data, gts = w300
    pred = write_predictions(tmp_path / "pred", gts)
    run = tmp_path / "ext"
    score_predictions(data, pred, out=run, progress=False)
    score_predictions(data, pred, res=256, out=run, progress=False)
    metrics = read_json(run / runfolder.METRICS)
    assert set(metrics["by_res"]) == {"0", "256"}                   # 0: source pixels
    assert sorted(runfolder.read_predictions(run)[0]["res"].unique()) == [0, 256]
    other = write_predictions(tmp_path / "other", gts)
    score_predictions(data, other, res=256, out=run, progress=False)  # other predictions: start again
    assert set(read_json(run / runfolder.METRICS)["by_res"]) == {"256"}
    assert list(runfolder.read_predictions(run)[0]["res"].unique()) == [256]
