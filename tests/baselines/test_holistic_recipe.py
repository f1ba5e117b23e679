from pathlib import Path

import pytest
import torch

from baselines.holistic import heatmap_loss
from baselines.hourglass import HG2
from facebench.core.errors import FacebenchError
from facebench.core.presets import get_preset
from facebench.method import TrainContext
from facebench.nn.dataset import LandmarkDataset


def test_holistic_training_takes_the_recipe_and_sigma(tiny_prepared: Path, tmp_path: Path):
    ctx = TrainContext(data_root=tiny_prepared, res=256, preset=get_preset("smoke"), run_dir=tmp_path, device="cpu",
                       epochs=1, progress=False, options={"sigma": 1.75, "augment": "standard"})
    model = HG2.train(ctx)
    assert model.cfg.sigma == 1.75
    with pytest.raises(FacebenchError, match="augment must be one of"):
        HG2.train(TrainContext(data_root=tiny_prepared, res=256, preset=get_preset("smoke"), run_dir=tmp_path / "b",
                               options={"augment": "rotate"}))


def test_augmented_holistic_batch_gives_targets_where_the_warped_points_are(tiny_prepared: Path):
    data = LandmarkDataset(tiny_prepared, "train", 256, augment="standard")
    torch.manual_seed(0)
    item = data[0]
    assert item["image"].shape == (3, 256, 256) and torch.equal(item["landmarks"], item["proxy_landmarks"])

    class Perfect(torch.nn.Module):
        """Outputs the batch's own targets: the loss must then be 0."""

        def __init__(self):
            super().__init__()
            self.p = torch.nn.Parameter(torch.zeros(()))

        def forward(self, x):
            from facebench.nn.heatmaps import heatmap_targets
            return (heatmap_targets(item["landmarks"][None], 256, 64) + self.p,)

    batch = {"image": item["image"][None], "landmarks": item["landmarks"][None]}
    loss, _ = heatmap_loss(Perfect(), batch)
    assert float(loss.detach()) == pytest.approx(0.0, abs=1e-12)


def test_holistic_width_of_the_preset_sizes_the_holistic_trunk(tiny_prepared: Path, tmp_path: Path):
    import dataclasses

    preset = dataclasses.replace(get_preset("smoke"), holistic_width=12)
    model = HG2.train(TrainContext(data_root=tiny_prepared, res=256, preset=preset, run_dir=tmp_path, device="cpu",
                                   epochs=0, progress=False))
    assert model.cfg.width == 12 and get_preset("smoke").holistic_width is None
    assert get_preset("cpu").holistic_width == 64 and all(p.augment == "standard" for p in
                                                          (get_preset(n) for n in ("smoke", "cpu", "paper")))
