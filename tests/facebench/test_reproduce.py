import json

import pytest
from click.testing import CliRunner

from facebench.cli import cli
from facebench.core.presets import PRESETS, get_preset
from facebench.reproduce import ablation_res, chains, plan, wall_seconds


def test_plan_follows_the_papers_protocol():
    runs = {r.name: r for r in plan(get_preset("paper"))}
    assert runs["hg2-256"].also_eval == (512, 1024, 2048, 4096)       # trained at 256, upscaled
    assert "adc-4096" not in runs and "adc-light-4096" in runs        # only the light variant at 4K
    assert runs["adc-1024"].also_eval == (4096,)                      # Figure 8: tested at the top
    assert runs["cpm6-1024"].also_eval == (256, 512, 2048, 4096)      # holistic: upscaled everywhere
    assert ablation_res(get_preset("paper")) == 1024
    assert {"adc-stack2-1024", "adc-cpm-1024", "adc-cnn67-1024", "cpm6-1024", "cnn67-1024"} <= set(runs)
    names = [r.name for r in plan(get_preset("paper"))]
    for m in ("adc", "adc-light"):   # progressive initialisation needs the lower resolution first
        order = [n for n in names if n.rsplit("-", 1)[0] == m]
        assert order == sorted(order, key=lambda n: int(n.rsplit("-", 1)[1]))
    assert all(plan(p) for p in PRESETS.values())


@pytest.mark.slow
def test_reproduce_smoke_writes_every_run_and_the_report(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(cli, ["reproduce", "--preset", "smoke", "--out", "out", "--workers", "2",
                                      "--jobs", "2"])
    assert result.exit_code == 0, result.output
    runs = sorted(p.parent.name for p in (tmp_path / "out" / "runs").glob("*/metrics.json"))
    assert runs == sorted(r.name for r in plan(get_preset("smoke")))
    hg2 = json.loads((tmp_path / "out" / "runs" / "hg2-256" / "metrics.json").read_text())
    assert hg2["status"] == "ok" and set(hg2["by_res"]) == {"256", "512"}
    index = (tmp_path / "out" / "report" / "index.html").read_text()
    assert "table4" in index.lower() or "NME" in index
    # Table 4 holds the upscaled baselines at 512 too (the paper's protocol).
    table4 = (tmp_path / "out" / "report" / "tables" / "table4_nme_by_resolution.csv").read_text()
    assert "512" in table4.splitlines()[0]
    # A second call skips every finished run.
    again = CliRunner().invoke(cli, ["reproduce", "--preset", "smoke", "--out", "out"])
    assert again.exit_code == 0, again.output


def test_epochs_follow_the_kind_of_run():
    cpu = get_preset("cpu")
    assert cpu.epochs_for(native_res=True, initialised=False) == cpu.epochs
    assert cpu.epochs_for(native_res=True, initialised=True) == cpu.epochs_init < cpu.epochs
    assert cpu.epochs_for(native_res=False, initialised=False) == cpu.holistic_epochs
    paper = get_preset("paper")
    assert paper.epochs_for(True, True) == paper.epochs == 60 and paper.lr_drop_for(60) == 30
    assert cpu.lr_drop_for(cpu.epochs) == cpu.lr_drop_epoch and cpu.lr_drop_for(12) == 9


def test_chains_keep_progressive_initialisation_in_order_and_the_rest_independent():
    runs = plan(get_preset("cpu"))
    groups = chains(runs)
    assert sorted(r.name for g in groups for r in g) == sorted(r.name for r in runs)
    adc = next(g for g in groups if g[0].method == "adc")
    assert [r.res for r in adc] == [256, 512, 1024, 2048]
    assert all(len(g) == 1 for g in groups if g[0].method not in ("adc", "adc-light"))


def test_wall_estimate_schedules_chains_on_the_jobs():
    costs = [50.0, 30.0, 20.0, 20.0, 10.0]
    assert wall_seconds(costs, 1) == sum(costs)
    assert wall_seconds(costs, 2) == 70.0          # 50+20 | 30+20+10 -> 60; 50+20 = 70 is the last to end
    assert wall_seconds([100.0, 1.0], 2) == 100.0  # never shorter than the longest chain
    assert wall_seconds(costs, 8) == 50.0
