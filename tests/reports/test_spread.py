"""Runs repeated over seeds: grouped into one cell of mean ± std, marked where the seed spread does not
separate them, with error bars and bands in the figures (reports/spread.py, issue 13)."""

import csv
import io
import math

import numpy as np
import pytest

from facebench.core.io import read_json, write_json
from facebench.core.schemes import STUDIO89
from facebench.eval import metrics as M
from facebench.run import folder as runfolder
from reports import figure8
from reports import runs as R
from reports import spread as S
from reports import tables as T
from reports.build import build_report
from tests.reports.conftest import noisy, write_run


def _set_seed(run_dir, seed):
    cfg = read_json(run_dir / runfolder.CONFIG)
    cfg["seed"] = seed
    write_json(run_dir / runfolder.CONFIG, cfg)


@pytest.fixture(scope="module")
def seeded(tmp_path_factory, tiny_prepared):
    """adc at 128 and 256 with 3 seeds each (the 256 ones also tested natively at... their own R),
    hg2 at 256 with 2 seeds, dlib-ert with one seed."""
    from facebench.core.prepared import PreparedDataset

    runs = tmp_path_factory.mktemp("seeded")
    ds = PreparedDataset(tiny_prepared)
    rows = ds.split("test")
    ids = list(rows["id"])
    gt = {r: ds.landmarks(rows, r) for r in (128, 256)}
    for seed in range(3):
        for r, sigma in ((128, 1.0), (256, 1.6)):
            d = write_run(runs, S.seed_path(f"adc-{r}", seed), "adc", r, tiny_prepared,
                          noisy(gt[r], sigma * (1 + 0.2 * seed), 100 * seed + r), gt[r], STUDIO89, ids=ids,
                          extra_res={256: (noisy(gt[256], 3.0, 7 + seed), gt[256])} if r == 128 else None)
            _set_seed(d, seed)
    for seed in range(2):
        d = write_run(runs, S.seed_path("hg2-256", seed), "hg2", 256, tiny_prepared, noisy(gt[256], 4.0, 50 + seed),
                      gt[256], STUDIO89, ids=ids, train_res=128)
        _set_seed(d, seed)
    write_run(runs, "dlib-ert-256", "dlib-ert", 256, tiny_prepared, noisy(gt[256], 5.0, 9), gt[256], STUDIO89,
              ids=ids, train_res=128)
    return runs


def test_spread_is_the_mean_and_keeps_the_seeds():
    s = S.Spread([1.0, 2.0, 4.0])
    assert float(s) == pytest.approx(7 / 3) and s.n == 3 and s.std == pytest.approx(np.std([1, 2, 4], ddof=1))
    p = 100.0 * s
    assert isinstance(p, S.Spread) and p.values == (100.0, 200.0, 400.0)
    assert format(S.Spread([0.0354, 0.0366]) * 100, ".2f") == "3.60 ± 0.08"
    assert format(S.Spread([2.5]), ".2f") == "2.50" and S.Spread([2.5]).std is None
    assert S.percent(0.5) == 50.0 and S.base_name("adc-512-s12") == "adc-512" and S.seed_path("x", 0) == "x"


def test_runs_differing_only_in_seed_become_one_cell(seeded):
    all_runs = R.load_runs(seeded)
    merged = S.merge_seeds(all_runs)
    groups = {r.rel: r for r in merged}
    assert set(groups) == {"adc-128 (3 seeds)", "adc-256 (3 seeds)", "hg2-256 (2 seeds)", "dlib-ert-256"}
    adc = groups["adc-256 (3 seeds)"]
    assert isinstance(adc, S.SeedRun) and adc.seeds == [0, 1, 2]
    nmes = [read_json(seeded / S.seed_path("adc-256", s) / runfolder.METRICS)["nme"] for s in range(3)]
    assert float(adc.summary["nme"]) == pytest.approx(np.mean(nmes))
    assert adc.summary["nme"].std == pytest.approx(np.std(nmes, ddof=1))
    table = T.nme_by_resolution(merged)
    cell = next(r for r in table.rows if r.label == "ADC (ours)").cells[table.columns.index("256")]
    assert isinstance(cell, S.Spread) and float(cell) == pytest.approx(100 * np.mean(nmes))
    assert " ± " in T.to_markdown(table)
    # a single-seed run shows its number alone
    dlib = next(r for r in table.rows if r.label == "DLIB (ERT)").cells[table.columns.index("256")]
    assert not isinstance(dlib, S.Spread) or dlib.std is None


def test_a_newer_run_of_the_same_seed_replaces_the_older(seeded, tmp_path):
    runs = R.load_runs(seeded)
    old = next(r for r in runs if r.rel == "adc-256")
    twin = R.Run(path=tmp_path, config={**old.config, "created": "2030-01-01T00:00:00+00:00"},
                 metrics=old.metrics, kind=old.kind, label=old.label, rel="twin")
    merged = S.merge_seeds([*runs, twin])
    group = next(r for r in merged if isinstance(r, S.SeedRun) and twin in r.members)
    assert old not in group.members and len(group.members) == 3


def test_cells_within_the_seed_spread_are_marked():
    a, b, c = S.Spread([3.0, 3.2, 3.4]), S.Spread([3.1, 3.3, 3.5]), S.Spread([5.0, 5.1, 5.2])
    table = T.Table("t", "t", ["256", "512"], [T.Row("x", [a, S.Spread([5.0, 5.1, 5.2])]),
                                              T.Row("y", [b, S.Spread([5.05, 5.15, 5.3])]), T.Row("z", [c, None])])
    S.mark_within_spread(table)
    assert (a.mark, b.mark, c.mark) == (S.BEST, S.NEAR, "")
    assert table.fmt(0, b).endswith(S.NEAR) and any("within the seed spread" in n for n in table.notes)
    assert S.within(a, b) and not S.within(a, c) and not S.within(S.Spread([1.0]), S.Spread([1.1]))
    auc = T.Table("u", "u", ["AUC@0.08"], [T.Row("x", [S.Spread([50.0, 52.0])]), T.Row("y", [S.Spread([40.0, 41.0])])])
    S.mark_within_spread(auc)
    assert auc.rows[0].cells[0].mark == S.BEST           # higher AUC is better


def test_per_subject_table_has_a_spread_per_subject(seeded):
    merged = S.merge_seeds(R.load_runs(seeded))
    table = T.nme_by_subject(merged)
    row = next(r for r in table.rows if r.label == "adc-256 (3 seeds)")
    assert all(isinstance(c, S.Spread) and c.n == 3 for c in row.cells[:-1])
    # each subject's mean over the seeds is the mean of the per-seed subject means
    from facebench.core.prepared import PreparedDataset

    run = next(r for r in merged if r.rel == "adc-256 (3 seeds)")
    subject_of = dict(zip(PreparedDataset(run.data).manifest["id"], PreparedDataset(run.data).manifest["subject"]))
    subject = table.columns[0]
    per_seed = []
    for m in run.members:
        frame, pred, gt = m.predictions(256)
        e = M.nme(pred, gt, frame["norm"].to_numpy())
        per_seed.append(e[frame["id"].map(subject_of).to_numpy() == subject].mean())
    assert float(row.cells[0]) == pytest.approx(100 * np.mean(per_seed))


def test_report_with_seeds_has_bands_error_bars_and_notes(seeded, tmp_path):
    rep = build_report(seeded, tmp_path / "report", progress=False)
    fig6 = next(f for f in rep.figures if f.key == "fig6_pck").figure
    assert any(len(ax.collections) for ax in fig6.axes)          # fill_between bands
    fig8 = next(f for f in rep.figures if f.key == "fig8_trained_vs_tested").figure
    assert any(len(ax.containers) for ax in fig8.axes)           # error bars
    table4 = (tmp_path / "report" / "tables" / "table4_nme_by_resolution.md").read_text()
    assert "±" in table4 and "seeds" in table4
    assert "3 seeds" in (tmp_path / "report" / "index.html").read_text()
    assert len(rep.runs) == 9                                   # every folder still listed
    runs_csv = list(csv.DictReader(io.StringIO((tmp_path / "report" / "tables" / "runs.csv").read_text())))
    assert len(runs_csv) == 9


def test_figure8_upscales_predictions_at_r_to_the_target(seeded):
    merged = S.merge_seeds(R.load_runs(seeded))
    target, chosen = figure8.selection(merged)
    assert target == 256 and [r.trained_at for r in chosen] == [128, 256]
    low = chosen[0]
    assert float(figure8.upscaled_nme(low)) == pytest.approx(100 * float(low.by_res[128]["nme"]))
    assert float(figure8.native_nme(low, 256)) == pytest.approx(100 * float(low.by_res[256]["nme"]))
    # upscaled pixel errors at 256 of a 128 model are its 128 errors x 2, scored against 256 truth
    from facebench.core import geometry
    from facebench.core.prepared import PreparedDataset

    m = low.members[0]
    frame, pred, _ = m.predictions(128)
    ds = PreparedDataset(m.data)
    gt256 = ds.landmarks(ds.manifest.set_index("id").loc[frame["id"]].reset_index(), 256)
    direct = M.per_landmark_error(geometry.rescale_points(pred, 128, 256), gt256)
    assert np.allclose(direct, figure8._errors(m, 128, 2.0), atol=1e-9)
    assert math.isclose(M.nme(geometry.rescale_points(pred, 128, 256), gt256, M.normaliser(gt256, STUDIO89)).mean(),
                        read_json(m.path / runfolder.METRICS)["nme"], rel_tol=1e-9)
