import numpy as np
import pytest

from facebench import metrics as M
from reports import figure_sets as FS
from reports import runs as R


@pytest.fixture(scope="module")
def runs(runs_dir):
    return R.load_runs(runs_dir)


def test_nice_ceil():
    assert [FS._nice_ceil(x) for x in (11.4, 12.0, 0.23, 7.0, 9.0, 100.0)] == [12.0, 12.0, 0.25, 8.0, 10.0, 100.0]


def test_figure6_one_panel_per_resolution_with_the_metrics_auc(runs):
    out = FS.figure6_pck(runs)
    axes = out.figure.axes
    assert [ax.get_title() for ax in axes] == ["128 x 128", "256 x 256"]
    run = next(r for r in runs if r.rel == "adc-256")
    _, pred, gt = run.predictions(256)
    errors = M.per_landmark_error(pred, gt)
    max_px = axes[1].get_xlim()[1]
    norm = np.median(M.normaliser(gt, run.scheme))
    assert max_px == FS._nice_ceil(0.1 * norm)
    legend = [t.get_text() for t in axes[1].get_legend().get_texts()]
    assert f"ADC (ours) (AUC {100 * M.auc(errors, max_px, max_px / 1000):.1f})" in legend
    assert "ADC light (ours): OOM" in legend and "FAN (4 stages): incomplete" in legend


def test_figure8_and_figure9_use_the_highest_resolution(runs):
    fig8 = FS.figure8_train_res(runs)
    assert "256" in fig8.figure.axes[0].get_title()
    fig9 = FS.figure9_error_image(runs)
    assert "at 256 x 256" in fig9.caption
    titles = [ax.get_title() for ax in fig9.figure.axes if ax.get_title()]
    assert titles[-1].startswith("ADC (ours)") and len(titles) == FS.MAX_PANELS


def test_figures_without_runs_say_why():
    assert FS.figure7_ablation([]).figure is None and "no ablation runs" in FS.figure7_ablation([]).note
    assert FS.figure8_train_res([]).note.startswith("no finished")
    assert FS.figure9_error_image([]).figure is None
