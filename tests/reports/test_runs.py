import pytest

from facebench.core.errors import FacebenchError
from facebench.run import folder as runfolder
from reports import runs as R


def by_rel(runs):
    return {r.rel: r for r in runs}


def test_kinds_labels_and_status(runs_dir):
    runs = by_rel(R.load_runs(runs_dir))
    assert runs["300w/adc-256"].kind == "300w" and runs["300vw/adc-256"].kind == "300vw"
    assert runs["adc-256"].kind == "studio"
    # A failed run has no subsets of its own: it takes its kind from a finished run on the same data.
    assert runs["adc-light-256"].kind == "studio" and runs["adc-light-256"].status_text() == "OOM"
    assert "CUDA out of memory" in runs["adc-light-256"].error
    assert runs["fan4-256"].status == "incomplete" and runs["fan4-256"].summary is None
    assert runs["adc-256"].label == "ADC (ours)" and runs["my-detector"].label == "my-detector"
    assert set(runs["adc-128"].by_res) == {128, 256}           # also tested at 256 (Figure 8)
    assert runs["adc-128"].summary is runs["adc-128"].by_res[128]


def test_grid_keeps_the_newer_run_of_a_cell(runs_dir):
    studio = [r for r in R.load_runs(runs_dir) if r.kind == "studio"]
    cells, dropped = R.grid(studio)
    assert cells[("Hourglass (2 stages)", 256)].rel == "hg2-256"
    assert [r.rel for r in dropped] == ["hg2-256-old"]


def test_ablation_and_figure8_selection(runs_dir, tmp_path):
    runs = R.load_runs(runs_dir)
    res, chosen = R.ablation_runs(runs)
    assert res == 256                                           # no 1024 ablation runs: where they are
    assert {r.method for r in chosen} == {"adc", "adc-stack2", "cpm6", "adc-cpm"}
    target, chosen = R.figure8_runs(runs)
    assert target == 256 and [r.rel for r in chosen] == ["adc-128", "adc-256"]


def test_ablation_prefers_1024(runs_dir):
    runs = R.load_runs(runs_dir)
    extra = R.Run(path=runs_dir / "x", config={"method": "cnn67", "res": 1024}, metrics={"status": "failed"})
    assert R.ablation_runs(runs + [extra]) == (1024, [extra])


def test_bad_runs_folders_are_named(tmp_path):
    with pytest.raises(FacebenchError, match="runs folder not found"):
        R.load_runs(tmp_path / "nope")
    with pytest.raises(FacebenchError, match="holds no run folders"):
        R.load_runs(tmp_path)
    (tmp_path / "broken").mkdir()
    (tmp_path / "broken" / runfolder.CONFIG).write_text("{not json")
    with pytest.raises(FacebenchError, match=r"broken/config.json: unreadable"):
        R.load_runs(tmp_path)
