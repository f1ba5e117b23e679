import numpy as np
import pytest
import torch

from adc_model.method import ADC, ADCCNN67, ADCCPM, ADCLight, ADCLoss, ADCStack2
from facebench.core.errors import FacebenchError
from facebench.core.prepared import PreparedDataset
from facebench.core.presets import get_preset
from facebench.core.schemes import IBUG68, REGION_NAMES, STUDIO89
from facebench.method import TrainContext
from facebench.methods import get_method

SMOKE = get_preset("smoke")


def _ctx(data, run_dir, res=128, **kw) -> TrainContext:
    return TrainContext(data_root=data, res=res, preset=SMOKE, run_dir=run_dir, device="cpu", progress=False, **kw)


@pytest.fixture(scope="module")
def trained(tiny_prepared, tmp_path_factory):
    """adc trained for the smoke preset's one epoch at 128 on the tiny prepared dataset."""
    run = tmp_path_factory.mktemp("adc128")
    method = ADC.train(_ctx(tiny_prepared, run))
    method.save(run / "model.pt")
    return method, run


def test_registry_names():
    assert [get_method(n) for n in ("adc", "adc-light", "adc-cpm", "adc-cnn67", "adc-stack2")] == \
        [ADC, ADCLight, ADCCPM, ADCCNN67, ADCStack2]


def test_config_follows_the_preset():
    paper = get_preset("paper")
    cfg = ADC.config_for(paper, 2048, "studio89")
    assert (cfg.model.crop, cfg.batch_size, cfg.model.width, cfg.model.depth) == (192, 4, 256, 4)
    assert (cfg.lr, cfg.lr_drop_epoch, cfg.lr_after, cfg.regional_units) == (1e-4, 30, 1e-5, "image")
    assert cfg.model.checkpoint and not ADC.config_for(get_preset("cpu"), 512, "ibug68").model.checkpoint
    assert ADCLight.config_for(paper, 4096, "studio89").model.light
    assert ADCStack2.config_for(SMOKE, 256, "ibug68").model.regional_stages == 2
    cpu = ADC.config_for(get_preset("cpu"), 512, "ibug68")
    assert cpu.regional_units == "proxy" and (cpu.lr, cpu.lr_after) == pytest.approx((3e-3, 3e-4))
    assert (cpu.model.width, cpu.model.global_width, cpu.model.proxy) == (64, 96, 128)   # cpu: a 128 proxy
    assert (cfg.model.global_width, cfg.model.proxy) == (0, 256)
    assert ADC.config_for(SMOKE, 256, "ibug68", options={"noise": 0.2}).model.noise == 0.2
    with pytest.raises(FacebenchError, match="unknown option"):
        ADC.config_for(SMOKE, 256, "ibug68", options={"tree_depth": 3})
    with pytest.raises(FacebenchError, match="regional_units"):
        ADC.config_for(SMOKE, 256, "ibug68", options={"regional_units": "crop"})
    opts = ADC.config_for(SMOKE, 256, "ibug68", options={"point_loss": "l1", "heatmap_reg": "0.5"})
    assert (opts.point_loss, opts.heatmap_reg, opts.heatmap_sigma) == ("l1", 0.5, 1.0)
    for bad in ({"point_loss": "huber"}, {"heatmap_reg": "much"}, {"heatmap_sigma": "0"}):
        with pytest.raises(FacebenchError, match="point_loss|heatmap"):
            ADC.config_for(SMOKE, 256, "ibug68", options=bad)


def test_jaw_regions_option_reaches_the_model_and_the_loss():
    cfg = ADC.config_for(SMOKE, 256, "ibug68", options={"jaw_regions": 3})
    assert cfg.model.jaw_regions == 3 and ADC.config_for(SMOKE, 256, "ibug68").model.jaw_regions == 0
    assert sorted(ADCLoss.for_run(cfg, IBUG68).regional_ids) == list(range(68))   # the contour is refined too
    assert sorted(ADCLoss.for_run(ADC.config_for(SMOKE, 256, "ibug68"), IBUG68).regional_ids) == list(IBUG68.regional)
    with pytest.raises(FacebenchError, match="jaw_regions"):
        ADC.config_for(SMOKE, 256, "ibug68", options={"jaw_regions": 9})


def test_train_writes_log_and_checkpoint_and_predicts(trained, tiny_prepared):
    method, run = trained
    assert (run / "train_log.csv").exists() and (run / "checkpoints" / "epoch_001.pt").exists()
    images = np.stack([PreparedDataset(tiny_prepared).load_image(i, 128)
                       for i in PreparedDataset(tiny_prepared).split("test")["id"][:3]])
    pred = method.predict(images)
    assert pred.shape == (3, STUDIO89.num_points, 2) and pred.dtype == np.float64 and np.isfinite(pred).all()
    assert method.num_parameters() > 0


def test_save_load_round_trip(trained):
    method, run = trained
    loaded = ADC.load(run / "model.pt", device="cpu")
    images = np.random.default_rng(0).integers(0, 256, (2, 128, 128, 3), dtype=np.uint8)
    np.testing.assert_array_equal(loaded.predict(images), method.predict(images))
    assert loaded.config == method.config
    with pytest.raises(FacebenchError, match="not 'adc-light'"):
        ADCLight.load(run / "model.pt")
    (run / "broken.pt").write_bytes(b"\x00" * 10)
    with pytest.raises(FacebenchError, match="broken.pt"):
        ADC.load(run / "broken.pt")


def test_write_examples(trained, tmp_path):
    method, _ = trained
    images = np.random.default_rng(1).integers(0, 256, (2, 128, 128, 3), dtype=np.uint8)
    gt = np.random.default_rng(2).uniform(20, 100, (2, 89, 2))
    method.write_examples(tmp_path / "examples.npz", images, gt, ["a", "b"])
    ex = np.load(tmp_path / "examples.npz")
    crop = method.config.model.crop
    assert list(ex["ids"]) == ["a", "b"] and int(ex["res"]) == 128 and list(ex["region_names"]) == list(REGION_NAMES)
    assert ex["proxy"].shape == (2, 256, 256, 3) and ex["proxy"].dtype == np.uint8
    assert ex["global_heatmaps"].shape == (2, 89, 64, 64) and ex["global_heatmaps"].dtype == np.float16
    assert ex["coarse"].shape == ex["refined"].shape == ex["gt"].shape == (2, 89, 2)
    assert ex["boxes"].shape == (2, 4, 4)
    for name in REGION_NAMES:
        n = len(STUDIO89.regions[name])
        assert ex[f"crops_{name}"].shape == (2, crop, crop, 3) and ex[f"crops_{name}"].dtype == np.uint8
        assert ex[f"regional_heatmaps_{name}"].shape == (2, n, crop // 4, crop // 4)
        assert list(ex[f"region_points_{name}"]) == list(STUDIO89.regions[name])


def test_progressive_init_loads_the_lower_resolution_weights(trained, tiny_prepared, tmp_path):
    method, run = trained
    started = ADC.train(_ctx(tiny_prepared, tmp_path / "a", res=256, epochs=0, init=run / "model.pt"))
    for (k, a), b in zip(method.net.state_dict().items(), started.net.state_dict().values()):
        assert torch.equal(a, b), k
    assert started.config.res == 256
    with pytest.raises(FacebenchError, match="cannot initialise"):
        ADCLight.train(_ctx(tiny_prepared, tmp_path / "b", res=256, epochs=0, init=run))


def test_resume_continues_the_run(trained, tiny_prepared, tmp_path):
    method, run = trained
    import shutil

    shutil.copytree(run, tmp_path / "run")
    again = ADC.train(_ctx(tiny_prepared, tmp_path / "run", resume=True))   # 1 of 1 epochs done: same weights
    for a, b in zip(method.net.state_dict().values(), again.net.state_dict().values()):
        assert torch.equal(a, b)
