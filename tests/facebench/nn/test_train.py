import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pandas as pd
import pytest
import torch

from adc_model.method import ADCLoss
from adc_model.model import ADCConfig, ADCNet, normalise_image
from facebench.core.errors import FacebenchError
from facebench.core.schemes import IBUG68
from facebench.nn.train import TrainConfig, checkpoint_path, fit, last_checkpoint, load_checkpoint, resolve_device
from tests.adc_model.synthetic import SyntheticFaces

REPO = Path(__file__).resolve().parents[3]


def _net(seed=0, width=8, depth=1, crop=16, proxy=32) -> ADCNet:
    torch.manual_seed(seed)
    return ADCNet(ADCConfig(scheme="ibug68", width=width, depth=depth, crop=crop, proxy=proxy))


def _loss(proxy=32) -> ADCLoss:
    return ADCLoss(IBUG68.regional, proxy, "proxy")


def test_lr_schedule_and_devices():
    cfg = TrainConfig(epochs=4, batch_size=2, lr=1e-3, lr_drop_epoch=2, lr_after=1e-4)
    assert [cfg.lr_at(e) for e in range(4)] == [1e-3, 1e-3, 1e-4, 1e-4]
    assert resolve_device("cpu").type == "cpu"
    assert resolve_device("auto").type == ("cuda" if torch.cuda.is_available() else "cpu")
    with pytest.raises(FacebenchError, match="unknown device"):
        resolve_device("tpu")
    if not torch.cuda.is_available():
        with pytest.raises(FacebenchError, match="no CUDA"):
            resolve_device("cuda:0")


@pytest.mark.slow
def test_resume_gives_the_same_weights_as_an_uninterrupted_run(tmp_path):
    data = SyntheticFaces(6, 64, seed=0, proxy=32)   # batch 4: one full and one partial batch per epoch
    cfg = TrainConfig(epochs=3, batch_size=4, lr=1e-3, lr_drop_epoch=2, lr_after=1e-4, progress=False)
    straight = fit(_net(), _loss(), data, cfg, tmp_path / "a")
    first = fit(_net(), _loss(), data, TrainConfig(**{**cfg.__dict__, "epochs": 1}), tmp_path / "b")
    assert not all(torch.equal(x, y) for x, y in zip(first.state_dict().values(), straight.state_dict().values()))
    resumed = fit(_net(seed=123), _loss(), data, cfg, tmp_path / "b", resume=True)  # init is overwritten
    for (k, x), y in zip(straight.state_dict().items(), resumed.state_dict().values()):
        assert torch.equal(x, y), k
    log_a, log_b = pd.read_csv(tmp_path / "a" / "train_log.csv"), pd.read_csv(tmp_path / "b" / "train_log.csv")
    assert list(log_a.columns[:3]) == ["epoch", "lr", "loss"] and list(log_a.columns[-1:]) == ["seconds"]
    assert {"global", "regional"} <= set(log_a.columns)
    assert log_b["epoch"].tolist() == [1, 2, 3] and log_b["lr"].tolist() == [1e-3, 1e-3, 1e-4]
    pd.testing.assert_series_equal(log_a["loss"], log_b["loss"])
    # Checkpoints: the newest two are kept, each loadable with weights_only=True.
    assert sorted(p.name for p in (tmp_path / "a" / "checkpoints").iterdir()) == ["epoch_002.pt", "epoch_003.pt"]
    state = load_checkpoint(last_checkpoint(tmp_path / "a"), torch.device("cpu"))
    assert state["epoch"] == 3 and {"model", "optimizer", "rng"} <= set(state)


def test_resume_of_a_finished_run_changes_nothing_and_a_broken_checkpoint_is_reported(tmp_path):
    data = SyntheticFaces(2, 64, seed=0, proxy=32)
    cfg = TrainConfig(epochs=1, batch_size=2, progress=False)
    done = fit(_net(), _loss(), data, cfg, tmp_path)
    again = fit(_net(seed=5), _loss(), data, cfg, tmp_path, resume=True)
    assert all(torch.equal(x, y) for x, y in zip(done.state_dict().values(), again.state_dict().values()))
    checkpoint_path(tmp_path, 2).write_bytes(b"not a checkpoint")
    with pytest.raises(FacebenchError, match="epoch_002.pt"):
        fit(_net(), _loss(), data, TrainConfig(epochs=3, batch_size=2, progress=False), tmp_path, resume=True)


def _nme(net: ADCNet, data: SyntheticFaces) -> float:
    batch = {k: torch.stack([it[k] for it in data.items]) for k in ("image", "proxy", "landmarks")}
    net.eval()
    with torch.no_grad():
        pred = net(normalise_image(batch["proxy"]), batch["image"]).refined
    gt = batch["landmarks"]
    ocular = (gt[:, 36] - gt[:, 45]).norm(dim=-1)
    return float(((pred - gt).norm(dim=-1).mean(dim=-1) / ocular).mean())


@pytest.mark.slow
def test_a_few_samples_are_overfitted(tmp_path):
    data = SyntheticFaces(4, 128, seed=0, proxy=64)
    net = _net(width=16, depth=2, crop=32, proxy=64)
    before = _nme(net, data)
    cfg = TrainConfig(epochs=30, batch_size=4, lr=1e-2, lr_drop_epoch=30, progress=False)  # 30 steps
    after = _nme(fit(net, _loss(64), data, cfg, tmp_path), data)
    assert before > 0.4            # the untrained net puts every point near the middle
    assert after < 0.5 * before, (before, after)


_DDP_SCRIPT = textwrap.dedent("""
    import sys, torch, torch.distributed as dist
    sys.path.insert(0, {repo!r})
    from tests.adc_model.synthetic import SyntheticFaces
    from adc_model.method import ADCLoss
    from adc_model.model import ADCConfig, ADCNet
    from facebench.nn.train import TrainConfig, fit, world
    from facebench.core.schemes import IBUG68
    torch.set_num_threads(1)
    torch.manual_seed(0)
    net = ADCNet(ADCConfig(scheme="ibug68", width=8, depth=1, crop=16, proxy=32))
    data = SyntheticFaces(6, 64, seed=0, proxy=32)
    fit(net, ADCLoss(IBUG68.regional, 32, "proxy"), data,
        TrainConfig(epochs=2, batch_size=2, lr=1e-3, progress=False), {run!r})
    rank, size = world()
    flat = torch.cat([p.detach().reshape(-1) for p in net.parameters()])
    gathered = [torch.zeros_like(flat) for _ in range(size)]
    dist.all_gather(gathered, flat)
    assert size == 2 and all(torch.equal(gathered[0], g) for g in gathered), "replicas diverged"
    print(f"rank {{rank}} of {{size}} ok")
""")


@pytest.mark.slow
def test_two_process_gloo_run_completes(tmp_path):
    script = tmp_path / "ddp.py"
    script.write_text(_DDP_SCRIPT.format(repo=str(REPO), run=str(tmp_path / "run")))
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(REPO)}
    # Own session, so a hang can be ended with the worker processes torchrun started.
    proc = subprocess.Popen([sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2", "--standalone",
                             str(script)], cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, start_new_session=True)
    try:
        stdout, stderr = proc.communicate(timeout=300)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate()
        raise
    assert proc.returncode == 0, stderr[-3000:]
    assert "rank 0 of 2 ok" in stdout and "rank 1 of 2 ok" in stdout
    log = pd.read_csv(tmp_path / "run" / "train_log.csv")
    assert log["epoch"].tolist() == [1, 2]           # written once, by rank 0
    assert last_checkpoint(tmp_path / "run").name == "epoch_002.pt"
