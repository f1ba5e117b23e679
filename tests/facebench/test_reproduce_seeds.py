"""`reproduce --seeds N`, dlib-ert at every resolution, and seeds kept apart by progressive
initialisation (issue 13)."""

import numpy as np
import pytest

from facebench.core import fingerprint
from facebench.core.errors import FacebenchError
from facebench.core.io import read_json, write_json
from facebench.core.prepared import PreparedDataset
from facebench.core.presets import get_preset
from facebench.methods import get_method
from facebench.reproduce import chains, plan
from facebench.run import folder as runfolder
from facebench.run.runner import RunConfig, _resolve_init, run


def test_plan_with_seeds_names_seed_0_as_today_and_the_others_with_a_suffix():
    one = [r.name for r in plan(get_preset("cpu"))]
    three = [r.name for r in plan(get_preset("cpu"), seeds=3)]
    assert three[:len(one)] == one and len(three) == 3 * len(one)
    assert {"adc-256", "adc-256-s1", "adc-256-s2", "hg2-256-s2", "adc-light-4096-s1"} <= set(three)
    runs = {r.name: r for r in plan(get_preset("cpu"), seeds=2)}
    assert runs["adc-512-s1"].seed == 1 and runs["adc-512"].seed == 0


def test_dlib_ert_is_trained_at_every_resolution_of_the_grid():
    runs = {r.name: r for r in plan(get_preset("cpu"))}
    for r in (256, 512, 1024, 2048, 4096):
        assert runs[f"dlib-ert-{r}"].train_res == r and runs[f"dlib-ert-{r}"].also_eval == ()
    assert runs["hg2-256"].train_res is None and runs["hg2-256"].also_eval == (512, 1024, 2048, 4096)


def test_each_seed_has_its_own_progressive_chain():
    groups = chains(plan(get_preset("cpu"), seeds=2))
    adc = [g for g in groups if g[0].method == "adc"]
    assert len(adc) == 2
    for g in adc:
        assert len({r.seed for r in g}) == 1 and [r.res for r in g] == [256, 512, 1024, 2048]


def _fake_run(out, name, seed, res, data):
    d = out / name
    write_json(d / runfolder.CONFIG, {"method": "adc", "preset": "smoke", "data": str(data.resolve()),
                                      "train_res": res, "seed": seed,
                                      "data_fingerprint": fingerprint.of_dataset(PreparedDataset(data).info)})
    write_json(d / runfolder.METRICS, {"status": "ok"})
    (d / "model.pt").write_bytes(b"x")
    return d


def test_auto_init_takes_the_lower_resolution_run_of_the_same_seed(tmp_path, tiny_prepared):
    data = tiny_prepared   # read only: the runs record its fingerprint, --init auto checks it
    s0 = _fake_run(tmp_path / "runs", "adc-256", 0, 256, data)
    s1 = _fake_run(tmp_path / "runs", "adc-256-s1", 1, 256, data)
    cls = get_method("adc")
    for seed, want in ((0, s0), (1, s1)):
        cfg = RunConfig(method="adc", res=512, data=data, preset="smoke", out=tmp_path / "runs", seed=seed)
        assert _resolve_init(cfg, cls, data) == want / "model.pt"
    cfg = RunConfig(method="adc", res=512, data=data, preset="smoke", out=tmp_path / "runs", seed=2)
    assert _resolve_init(cfg, cls, data) is None


def test_train_res_is_refused_for_methods_that_train_at_one_resolution(tiny_prepared, tmp_path):
    with pytest.raises(FacebenchError, match="train-res"):
        run(RunConfig(method="hg2", res=256, data=tiny_prepared, preset="smoke", out=tmp_path, train_res=128,
                      progress=False))


def test_dlib_ert_trains_at_the_resolution_it_is_given(tiny_prepared, tmp_path):
    metrics = run(RunConfig(method="dlib-ert", res=256, data=tiny_prepared, preset="smoke", out=tmp_path,
                            train_res=128, name="dlib-ert-256-from-128", progress=False))
    assert metrics["status"] == "ok"
    config = read_json(tmp_path / "dlib-ert-256-from-128" / runfolder.CONFIG)
    sidecar = read_json(tmp_path / "dlib-ert-256-from-128" / "model.dat.json")
    assert config["train_res"] == 128 and sidecar["train_res"] == 128
    metrics = run(RunConfig(method="dlib-ert", res=256, data=tiny_prepared, preset="smoke", out=tmp_path,
                            train_res=256, name="dlib-ert-256", progress=False))
    assert read_json(tmp_path / "dlib-ert-256" / "model.dat.json")["train_res"] == 256


def test_dlib_training_that_would_not_fit_is_refused_as_out_of_memory():
    from baselines.dlib_memory import check_fits, training_bytes

    images = [np.empty((64, 64, 3), np.uint8)] * 10
    assert training_bytes(images) == 10 * 64 * 64 * 4
    check_fits(images, available=10 * 64 * 64 * 8 + 1)                    # half the memory: fits
    with pytest.raises(MemoryError, match="out of memory"):
        check_fits(images, available=10 * 64 * 64 * 8 - 1)


def test_a_dlib_run_that_does_not_fit_is_recorded_as_oom(tiny_prepared, tmp_path, monkeypatch):
    import baselines.dlib_memory as DM

    monkeypatch.setattr(DM, "available_bytes", lambda: 1024)
    with pytest.raises(FacebenchError, match="out of memory"):
        run(RunConfig(method="dlib-ert", res=256, data=tiny_prepared, preset="smoke", out=tmp_path,
                      train_res=256, name="dlib-ert-256", progress=False))
    assert read_json(tmp_path / "dlib-ert-256" / runfolder.METRICS)["status"] == "oom"
