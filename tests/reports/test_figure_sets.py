import numpy as np
import pytest

from facebench.eval import metrics as M
from reports import figure8
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
    fig8 = figure8.figure(runs)
    assert "256" in fig8.figure.axes[0].get_title()
    fig9 = FS.figure9_error_image(runs)
    assert "at 256 x 256" in fig9.caption
    titles = [ax.get_title() for ax in fig9.figure.axes if ax.get_title()]
    assert titles[-1].startswith("ADC (ours)") and len(titles) == FS.MAX_PANELS


def test_figures_without_runs_say_why():
    assert FS.figure7_ablation([]).figure is None and "no ablation runs" in FS.figure7_ablation([]).note
    assert figure8.figure([]).note.startswith("no finished")
    assert FS.figure9_error_image([]).figure is None


def test_figure6_puts_a_256_trained_method_at_every_resolution_it_was_upscaled_to(tmp_path, tiny_prepared):
    from facebench.core.prepared import PreparedDataset
    from facebench.core.schemes import STUDIO89
    from tests.reports.conftest import noisy, write_run

    ds = PreparedDataset(tiny_prepared)
    rows = ds.split("test")
    ids = list(rows["id"])
    gt = {r: ds.landmarks(rows, r) for r in (128, 256)}
    write_run(tmp_path, "hg2-128", "hg2", 128, tiny_prepared, noisy(gt[128], 1.0, 1), gt[128], STUDIO89, ids=ids,
              extra_res={256: (noisy(gt[256], 2.0, 2), gt[256])})
    write_run(tmp_path, "adc-256", "adc", 256, tiny_prepared, noisy(gt[256], 1.0, 3), gt[256], STUDIO89, ids=ids,
              extra_res={128: (noisy(gt[128], 0.5, 4), gt[128])})   # a Figure 8 entry: not a 128 curve
    axes = FS.figure6_pck(R.load_runs(tmp_path)).figure.axes
    legends = {ax.get_title(): [t.get_text().split(" (AUC")[0] for t in ax.get_legend().get_texts()] for ax in axes}
    assert legends == {"128 x 128": ["Hourglass (2 stages)"], "256 x 256": ["Hourglass (2 stages)", "ADC (ours)"]}
