import numpy as np
import pytest

from facebench.core.errors import FacebenchError
from facebench.core.schemes import IBUG68, STUDIO89
from facebench.eval import metrics as M


def face() -> np.ndarray:
    """A hand-made 68-point face (68, 2) whose normalisers are round numbers.

    Outer eye corners 36 = (10, 20) and 45 = (60, 20): inter-ocular 50. Eye centres (15, 20) and
    (55, 20): inter-pupil 40. Tight box x 10..60, y 17..67: bbox sqrt(50 * 50) = 50, diagonal 50 sqrt 2.
    """
    p = np.full((68, 2), 35.0)
    p[:, 1] = 40.0
    p[36:42] = [(10, 20), (13, 17), (17, 17), (20, 20), (17, 23), (13, 23)]
    p[42:48] = [(50, 20), (53, 17), (57, 17), (60, 20), (57, 23), (53, 23)]
    p[8] = (35, 67)
    return p


def shifted(gt: np.ndarray, nme: float, points=None) -> np.ndarray:
    """gt moved by a vector of length nme * 50 px (inter-ocular NME ``nme`` for the moved points)."""
    pred = gt.copy()
    idx = slice(None) if points is None else list(points)
    pred[..., idx, :] += np.array([0.6, 0.8]) * 50.0 * nme
    return pred


@pytest.mark.parametrize("norm, expected", [
    ("inter-ocular", 50.0), ("inter-pupil", 40.0), ("bbox", 50.0), ("bbox-diag", 50.0 * np.sqrt(2.0))])
def test_normalisers_by_hand(norm, expected):
    gt = np.stack([face(), face() * 2.0])   # doubling the face doubles every normaliser
    np.testing.assert_allclose(M.normaliser(gt, IBUG68, norm), [expected, 2.0 * expected], rtol=1e-12)


def test_nme_and_per_landmark_error_by_hand():
    gt = face()[None]
    pred = gt + np.array([3.0, 4.0])                     # every point 5 px off
    np.testing.assert_allclose(M.per_landmark_error(pred, gt), np.full((1, 68), 5.0))
    np.testing.assert_allclose(M.nme(pred, gt, M.normaliser(gt, IBUG68)), [0.1])
    np.testing.assert_allclose(M.nme(pred, gt, M.normaliser(gt, IBUG68, "inter-pupil")), [0.125])


def test_regional_and_global_groups():
    gt = face()[None]
    pred = gt.copy()
    pred[0, list(IBUG68.global_only)] += (3.0, 4.0)      # only the 17 jaw points, 5 px each
    assert len(IBUG68.global_only) == 17 and len(IBUG68.regional) == 51
    s = M.summarize(pred, gt, IBUG68)
    assert s["nme"] == pytest.approx(17 * 5.0 / 68 / 50.0)   # 0.025
    assert s["nme_regional"] == pytest.approx(0.0)
    assert s["nme_global"] == pytest.approx(0.1)             # normaliser unchanged: 5 / 50


def test_zero_normaliser_names_the_sample():
    gt = np.stack([face(), face()])
    gt[1, 45] = gt[1, 36]
    with pytest.raises(FacebenchError, match="s002_neutral_cam3.*inter-ocular"):
        M.normaliser(gt, IBUG68, ids=["s001_neutral_cam0", "s002_neutral_cam3"])
    with pytest.raises(FacebenchError, match="s002_neutral_cam3"):
        M.summarize(gt, gt, IBUG68, ids=["s001_neutral_cam0", "s002_neutral_cam3"])


def test_nan_prediction_names_the_sample():
    gt = np.stack([face(), face()])
    pred = gt.copy()
    pred[0, 3, 1] = np.nan
    with pytest.raises(FacebenchError, match="img_a.*prediction"):
        M.summarize(pred, gt, IBUG68, ids=["img_a", "img_b"])


def test_unknown_norm_and_wrong_point_count():
    gt = face()[None]
    with pytest.raises(FacebenchError, match="unknown normalisation"):
        M.normaliser(gt, IBUG68, "inter-ear")
    with pytest.raises(FacebenchError, match="scheme studio89 has 89"):
        M.summarize(gt, gt, STUDIO89)


def test_pck_curve_counts_errors_at_or_below():
    errors = np.array([[1.0, 2.0], [2.0, 5.0]])
    np.testing.assert_allclose(M.pck_curve(errors, [0.0, 1.0, 2.0, 4.9, 5.0]), [0.0, 0.25, 0.75, 0.75, 1.0])


def test_ced_grid():
    grid, frac = M.ced(np.array([0.02005, 0.05005, 0.2]), 0.08)
    assert len(grid) == 801 and grid[0] == 0.0 and grid[-1] == 0.08
    assert frac[200] == 0.0 and frac[201] == pytest.approx(1 / 3)   # 0.02005 counts from t = 0.0201
    assert frac[500] == pytest.approx(1 / 3) and frac[-1] == pytest.approx(2 / 3)   # 0.2 never


def test_auc_and_failure_rate_by_hand():
    # Errors at midpoints of the 1e-4 grid: the trapezoid rule gives the exact area,
    # AUC@T = sum(max(0, T - e)) / (B T).
    e = np.array([0.02005, 0.05005, 0.2])
    assert M.auc(e, 0.08) == pytest.approx((0.05995 + 0.02995) / 0.24, abs=1e-12)   # 0.374583...
    assert M.auc(e, 0.1) == pytest.approx((0.07995 + 0.04995) / 0.3, abs=1e-12)     # 0.433
    assert M.failure_rate(e, 0.08) == pytest.approx(1 / 3)
    assert M.failure_rate(np.array([0.08, 0.0800001]), 0.08) == 0.5   # exactly T is not a failure
    assert M.auc(np.zeros(4), 0.08) == pytest.approx(1.0)
    assert M.auc(np.full(4, 0.5), 0.08) == 0.0


def test_auc_within_half_a_step_of_exact_area():
    e = np.random.default_rng(0).uniform(0.0, 0.12, size=500)
    for t in (0.08, 0.1):
        exact = np.clip(t - e, 0.0, None).mean() / t
        assert abs(M.auc(e, t) - exact) <= M.AUC_STEP / (2 * t) + 1e-12
        assert M.failure_rate(e, t) == pytest.approx(1.0 - M.pck_curve(e, [t])[0])


def test_summarize_subsets_full_is_image_weighted():
    gt = np.stack([face()] * 3)
    pred = np.stack([shifted(face(), 0.01), shifted(face(), 0.03), shifted(face(), 0.1)])
    s = M.summarize(pred, gt, IBUG68, subsets=["common", "common", "challenging"], ids=["a", "b", "c"])
    assert set(s) == {"n", "norm", "nme", "nme_regional", "nme_global", "auc@0.08", "fr@0.08",
                      "auc@0.1", "fr@0.1", "by_subset"}
    assert s["n"] == 3 and s["norm"] == "inter-ocular"
    assert list(s["by_subset"]) == ["common", "challenging", "full"]
    assert s["by_subset"]["common"]["nme"] == pytest.approx(0.02)
    assert s["by_subset"]["challenging"]["nme"] == pytest.approx(0.1)
    # Image-weighted: (0.01 + 0.03 + 0.1) / 3, not the mean of the subset means (0.06).
    assert s["by_subset"]["full"]["nme"] == pytest.approx(0.14 / 3)
    assert s["by_subset"]["full"]["n"] == 3 and s["nme"] == pytest.approx(0.14 / 3)
    assert s["by_subset"]["challenging"]["fr@0.08"] == 1.0 and s["by_subset"]["common"]["fr@0.08"] == 0.0
    assert "by_subset" not in s["by_subset"]["common"]
    assert isinstance(s["nme"], float) and isinstance(s["n"], int)


def test_summarize_300vw_categories_have_no_full_and_studio_none():
    gt = np.stack([face()] * 3)
    pred = np.stack([shifted(face(), 0.02), shifted(face(), 0.04), shifted(face(), 0.06)])
    s = M.summarize(pred, gt, IBUG68, subsets=["cat1", "cat3", "cat3"])
    assert list(s["by_subset"]) == ["cat1", "cat3"]
    assert s["by_subset"]["cat3"]["nme"] == pytest.approx(0.05)
    assert M.summarize(pred, gt, IBUG68, subsets=["", "", ""])["by_subset"] == {}


def test_metrics_do_not_modify_inputs():
    gt = np.stack([face()] * 2)
    pred = np.stack([shifted(face(), 0.02), shifted(face(), 0.05)])
    g0, p0 = gt.copy(), pred.copy()
    M.summarize(pred, gt, IBUG68, norm="bbox", subsets=["common", "challenging"])
    np.testing.assert_array_equal(gt, g0)
    np.testing.assert_array_equal(pred, p0)
