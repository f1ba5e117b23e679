import numpy as np

from facebench.run import folder as runfolder
from reports import example_figures as EF
from reports import runs as R


def test_example_run_and_figures(runs_dir):
    runs = R.load_runs(runs_dir)
    assert EF.example_run(runs).rel == "adc-256"
    fig3 = EF.figure3_heatmaps(runs)
    assert len(fig3.figure.axes) == 12                  # 4 regions x (global, crop, regional)
    assert fig3.figure.axes[0].get_title().startswith("eye_left: global heatmap")
    fig4 = EF.figure4_corrections(runs)
    assert len(fig4.figure.axes) == 2 * 5


def test_broken_examples_are_a_note(runs_dir, tmp_path):
    run = R.load_runs(runs_dir)
    src = next(r for r in run if r.rel == "adc-256")
    with np.load(src.path / runfolder.EXAMPLES) as z:
        arrays = {k: z[k] for k in z.files if k != "boxes"}
    broken = R.Run(path=tmp_path, config=src.config, metrics=src.metrics, kind="studio", label="ADC")
    np.savez(tmp_path / runfolder.EXAMPLES, **arrays)
    out = EF.figure3_heatmaps([broken])
    assert out.figure is None and "lacks boxes" in out.note
    assert EF.figure4_corrections([]).note == "no finished ADC run with examples.npz"
