import csv
import io

import pytest

from facebench.core.io import read_json
from facebench.run import folder as runfolder
from reports import figure8
from reports import runs as R
from reports import tables as T


@pytest.fixture(scope="module")
def runs(runs_dir):
    return R.load_runs(runs_dir)


def metrics(runs_dir, rel):
    return read_json(runs_dir / rel / runfolder.METRICS)


def csv_rows(table):
    return {row["method"]: row for row in csv.DictReader(io.StringIO(T.to_csv(table)))}


def test_table4_holds_exactly_the_metrics(runs, runs_dir):
    table = T.nme_by_resolution(runs, with_paper=True)
    rows = csv_rows(table)
    md = T.to_markdown(table)
    for rel, label in (("adc-128", "ADC (ours)"), ("adc-256", "ADC (ours)"), ("hg2-256", "Hourglass (2 stages)"),
                       ("dlib-ert-128", "DLIB (ERT)"), ("my-detector", "my-detector")):
        m = metrics(runs_dir, rel)
        res = str(read_json(runs_dir / rel / runfolder.CONFIG)["res"])
        assert float(rows[label][res]) == 100 * m["nme"]              # the very number, full precision
        assert rows[label]["source"] == T.MEASURED
        assert f"{100 * m['nme']:.2f}" in md
    assert rows["ADC light (ours)"]["256"] == "OOM"
    assert rows["FAN (4 stages)"]["256"] == "incomplete"
    assert rows["FAN (4 stages)"]["128"] == ""                       # no run: empty in CSV ...
    assert "| FAN (4 stages) | – | incomplete | – |" in md            # ... and a dash in Markdown
    assert table.columns == ["128", "256", "512", "2048", "4096"]    # the paper's columns join in
    assert rows["Ours"]["128"] == ""                                  # (the paper has no 128)
    assert any("hg2-256-old" in n for n in table.notes)
    assert any("CUDA out of memory" in n for n in table.notes)


def test_paper_rows_are_verbatim_and_kept_apart(runs):
    table = T.nme_by_resolution(runs, with_paper=True)
    text = T.to_csv(table).splitlines()
    first_reported = next(i for i, line in enumerate(text) if T.REPORTED in line)
    assert all(T.REPORTED in line for line in text[first_reported:])
    assert all(T.MEASURED in line for line in text[1:first_reported])
    ours = csv_rows(table)["Ours"]
    assert (ours["256"], ours["512"], ours["2048"], ours["4096"]) == ("2.26", "1.95", "1.94", "")
    md = T.to_markdown(table)
    assert md.index(T.REPORTED_HEADING) > md.index("ADC (ours)")
    tex = T.to_latex(table)
    assert r"\midrule" in tex and T.REPORTED_HEADING in tex
    assert T.nme_by_resolution(runs).paper_rows == []


def test_table2_and_table3_by_subset(runs, runs_dir):
    t2 = T.nme_by_subset(runs, "300w", with_paper=True)
    m = metrics(runs_dir, "300w/adc-256")
    rows = csv_rows(t2)
    for col, subset in zip(t2.columns, ("common", "challenging", "full")):
        assert float(rows["ADC (ours)"][col]) == 100 * m["by_subset"][subset]["nme"]
        regional = rows["ADC (ours) (51 regional landmarks only)"][col]
        assert float(regional) == 100 * m["by_subset"][subset]["nme_regional"]
    assert "Hourglass (2 stages) (51 regional landmarks only)" not in rows   # as the paper: ADC only
    assert rows["FHR [38]"]["Common"] == "N/A" and rows["Ours"]["Full set"] == "4.23"
    t3 = T.nme_by_subset(runs, "300vw", with_paper=True)
    m = metrics(runs_dir, "300vw/adc-256")
    rows = csv_rows(t3)
    expected = [100 * m["by_subset"][c]["nme"] for c in ("cat1", "cat2", "cat3")]
    assert [float(rows["ADC (ours)"][c]) for c in t3.columns] == expected
    assert rows["TSCN [35]"]["Category 3"] == "1.13" and any("typo" in n for n in t3.notes)


def test_ablation_and_trained_vs_tested_tables(runs, runs_dir):
    rows = csv_rows(T.ablation(runs))
    assert float(rows["ADC + 2nd regional stage"]["AUC@0.08"]) == 100 * metrics(runs_dir, "adc-stack2-256")["auc@0.08"]
    table = figure8.table(runs)   # Figure 8: upscaled (the paper's protocol) and native columns
    rows = {row["training"]: row for row in csv.DictReader(io.StringIO(T.to_csv(table)))}
    up, native = "ADC (ours): upscaled (paper)", "ADC (ours): native at 256"
    assert float(rows["trained 128"][up]) == 100 * metrics(runs_dir, "adc-128")["nme"]
    assert float(rows["trained 128"][native]) == 100 * metrics(runs_dir, "adc-128")["by_res"]["256"]["nme"]
    nme_256 = 100 * metrics(runs_dir, "adc-256")["nme"]
    assert float(rows["trained 256"][up]) == float(rows["trained 256"][native]) == nme_256


def test_runs_overview_lists_every_run_with_its_error(runs):
    table = T.runs_overview(runs)
    assert len(table.rows) == len(runs)
    row = next(r for r in table.rows if r.label == "adc-light-256")
    assert "OOM" in row.cells and any("CUDA out of memory" in str(c) for c in row.cells)


def test_latex_escapes():
    assert T._tex("a_b & 5% #1 – x") == r"a\_b \& 5\% \#1 -- x"


def test_nme_by_subject_splits_each_runs_images_by_the_manifests_subjects(runs, runs_dir, tiny_prepared):
    import numpy as np

    from facebench.core.prepared import PreparedDataset

    table = T.nme_by_subject(runs)
    manifest = PreparedDataset(tiny_prepared).manifest
    subjects = sorted(manifest.loc[manifest["split"] == "test", "subject"].unique())
    assert table.columns == [*subjects, "all"] and len(subjects) >= 2
    rows = {row.label: row.cells for row in table.rows}
    assert "adc-light-256" not in rows and "fan4-256" not in rows      # OOM / unfinished: no numbers
    assert not any(label.startswith(("300w", "300vw")) for label in rows)
    frame, pred, gt = runfolder.read_predictions(runs_dir / "hg2-256", 256)
    subject = frame["id"].map(dict(zip(manifest["id"], manifest["subject"])))
    per_image = np.linalg.norm(pred - gt, axis=-1).mean(axis=1) / frame["norm"].to_numpy()
    for i, s in enumerate(subjects):
        assert rows["hg2-256"][i] == pytest.approx(100 * per_image[(subject == s).to_numpy()].mean())
    assert rows["hg2-256"][-1] == pytest.approx(100 * metrics(runs_dir, "hg2-256")["nme"])
    assert rows["hg2-256"][-1] == pytest.approx(100 * per_image.mean())   # the subjects add up to "all"
