"""The shared holistic machinery: the stage-summed Gaussian MSE, model files, predict, training."""

import math
from dataclasses import asdict
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

from baselines.ablations import CNN67, CPM6
from baselines.holistic import HolisticConfig, heatmap_loss, to_model_input
from baselines.hourglass import FAN4, HG2
from facebench.core.errors import FacebenchError
from facebench.core.presets import get_preset
from facebench.method import TrainContext
from facebench.nn.heatmaps import SIGMA


def _hg2(size: int = 128) -> HG2:
    torch.manual_seed(0)
    cfg = HolisticConfig("hg2", "ibug68", 68, width=8, depth=2, stages=2, input_size=size)
    return HG2(cfg, HG2.build_trunk(cfg), device="cpu")


def test_model_input_range():
    x = to_model_input(torch.tensor([0, 255], dtype=torch.uint8))
    assert x.tolist() == [-0.5, 0.5]


def test_loss_of_zero_heatmaps_by_hand():
    model = _hg2().trunk.train()
    with torch.no_grad():
        for head in model.heads:  # every stack now outputs exactly zero
            head.weight.zero_()
            head.bias.zero_()
    # 128-px positions on heatmap pixel centres (4 k + 1.5 -> k = 10, 20, 15), far from the borders.
    landmarks = torch.tensor([[[41.5, 81.5], [61.5, 61.5]]]).expand(2, 2, 2).repeat(1, 34, 1)  # (2, 68, 2)
    batch = {"image": torch.zeros(2, 3, 128, 128, dtype=torch.uint8), "landmarks": landmarks}
    loss, logged = heatmap_loss(model, batch)
    # One unit Gaussian (std SIGMA) on a 32 x 32 grid: sum of squares = (sum_k exp(-k^2 / SIGMA^2))^2.
    per_map = sum(math.exp(-k * k / SIGMA**2) for k in range(-10, 11)) ** 2 / (32 * 32)
    assert logged["mse_stage1"] == pytest.approx(per_map, rel=1e-5)
    assert loss.item() == pytest.approx(2 * per_map, rel=1e-5)  # summed over the 2 stacks


def test_save_load_round_trip_and_bad_files(tmp_path: Path):
    model = _hg2()
    images = np.random.default_rng(0).integers(0, 256, (2, 128, 128, 3), dtype=np.uint8)
    pred = model.predict(images)
    assert pred.shape == (2, 68, 2) and pred.dtype == np.float64
    model.save(tmp_path / "model.pt")
    assert np.array_equal(HG2.load(tmp_path / "model.pt", device="cpu").predict(images), pred)

    with pytest.raises(FacebenchError, match="not found"):
        HG2.load(tmp_path / "missing.pt")
    (tmp_path / "junk.pt").write_bytes(b"\x00" * 100)
    with pytest.raises(FacebenchError, match="cannot read"):
        HG2.load(tmp_path / "junk.pt")
    with pytest.raises(FacebenchError, match="holds a hg2 model, not fan4"):
        FAN4.load(tmp_path / "model.pt")
    blob = torch.load(tmp_path / "model.pt", weights_only=True)
    torch.save({"config": {**blob["config"], "dropout": 0.1}, "state_dict": blob["state_dict"]}, tmp_path / "x.pt")
    with pytest.raises(FacebenchError, match="config"):
        HG2.load(tmp_path / "x.pt")
    torch.save({"config": {**blob["config"], "width": 16}, "state_dict": blob["state_dict"]}, tmp_path / "y.pt")
    with pytest.raises(FacebenchError, match="do not fit"):
        HG2.load(tmp_path / "y.pt")
    with pytest.raises(FacebenchError, match="expects"):
        model.predict(images[:, :64])


@pytest.mark.slow  # 4 smoke epochs of hg2: ~10-40 s on a shared 2-core CPU
def test_training_lowers_the_loss_and_resumes_exactly(tiny_prepared: Path, tmp_path: Path):
    preset = get_preset("smoke")

    def ctx(run: str, epochs: int, resume: bool = False) -> TrainContext:
        return TrainContext(data_root=tiny_prepared, res=256, preset=preset, run_dir=tmp_path / run, device="cpu",
                            epochs=epochs, resume=resume, seed=0, progress=False)

    full = HG2.train(ctx("full", 2))
    log = pd.read_csv(tmp_path / "full" / "train_log.csv")
    assert list(log["epoch"]) == [1, 2] and {"mse_stage1", "mse_stage2"} <= set(log.columns)
    assert log["loss"].iloc[-1] < log["loss"].iloc[0]
    assert asdict(full.cfg) == asdict(HolisticConfig("hg2", "studio89", 89, preset.width, preset.depth, 2, 256))

    HG2.train(ctx("cut", 1))                         # interrupted after 1 epoch ...
    resumed = HG2.train(ctx("cut", 2, resume=True))  # ... and continued
    for a, b in zip(full.trunk.state_dict().values(), resumed.trunk.state_dict().values()):
        assert torch.equal(a, b)


@pytest.mark.parametrize("cls", [HG2, FAN4, CPM6, CNN67])
def test_training_starts_from_flat_zero_heatmaps(cls, tiny_prepared: Path, tmp_path: Path):
    ctx = TrainContext(data_root=tiny_prepared, res=256, preset=get_preset("smoke"), run_dir=tmp_path, device="cpu",
                       epochs=0, progress=False)
    model = cls.train(ctx)  # 0 epochs: the initial weights
    heads = cls.heads(model.trunk)
    assert len(heads) == cls.stages
    assert all(h.out_channels == 89 and not h.weight.any() and not h.bias.any() for h in heads)
    with torch.no_grad():
        out = model.trunk(torch.zeros(1, 3, 256, 256))
    assert len(out) == cls.stages and all(not o.any() for o in out)


def test_options_are_refused(tiny_prepared: Path, tmp_path: Path):
    with pytest.raises(FacebenchError, match="takes no method options"):
        HG2.train(TrainContext(data_root=tiny_prepared, res=256, preset=get_preset("smoke"), run_dir=tmp_path,
                               options={"tree_depth": 2}))
