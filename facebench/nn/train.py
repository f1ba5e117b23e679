"""The training loop shared by every neural method (ADC and the hourglass / CPM / CNN-6/7 baselines).

``fit`` trains a model with Adam and a one-step learning-rate schedule (the paper's 1e-4 -> 1e-5
after 30 epochs, section 3.4), writes a checkpoint and a ``train_log.csv`` row after every epoch,
and with ``resume=True`` continues an interrupted run from its last checkpoint to exactly the
weights an uninterrupted run would have reached. Under ``torchrun`` (``WORLD_SIZE`` > 1) the same
code runs data-parallel with ``torch.distributed`` (gloo on CPU, NCCL on CUDA).

Determinism: every epoch draws its randomness (shuffling, worker seeds, training noise inside
``loss_fn``) from generators seeded by ``(seed, epoch, rank)``, so an epoch's result depends only
on the weights and optimiser state it starts from — which the checkpoint holds.
"""

from __future__ import annotations

import atexit
import io
import math
import os
import random
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import numpy as np
import pandas as pd
import torch
import torch.distributed as dist
from torch import nn
from torch.utils.data import DataLoader, Dataset, DistributedSampler, default_collate
from tqdm import tqdm

from facebench.core.errors import FacebenchError
from facebench.core.io import atomic_write_bytes

LossFn = Callable[[nn.Module, dict[str, Any]], tuple[torch.Tensor, dict[str, float]]]  # (loss, logged scalars)

CHECKPOINT_DIR = "checkpoints"
TRAIN_LOG = "train_log.csv"   # one row per epoch, in the run folder


@dataclass
class TrainConfig:
    epochs: int
    batch_size: int               # per process under torchrun
    lr: float = 1e-4
    lr_drop_epoch: int = 30       # lr -> lr_after after this many epochs
    lr_after: float = 1e-5
    seed: int = 0
    device: str = "auto"          # auto | cpu | cuda | cuda:N
    workers: int = 0              # DataLoader workers
    progress: bool = True
    keep_checkpoints: int = 2     # newest checkpoints kept on disk (paper-size ADC: ~200 MB each)
    # GPU path (CUDA only; ignored on the CPU, where bf16 convolutions are slower than float32):
    amp: bool = False             # bf16 autocast of the forward pass (the landmark heads stay float64)
    channels_last: bool = False   # NHWC weights and activations (tensor cores' preferred layout)
    # Measurement (facebench bench train): stop after this many optimiser steps, without writing a
    # checkpoint or log row for the partial epoch; ``on_step`` gets {"samples", "load_s", "step_s"}.
    max_steps: int | None = None
    on_step: Callable[[dict[str, float]], None] | None = None

    def lr_at(self, epoch: int) -> float:
        """Learning rate of 0-based ``epoch``."""
        return self.lr if epoch < self.lr_drop_epoch else self.lr_after


# ---- devices and processes -----------------------------------------------------------------------

def resolve_device(name: str) -> torch.device:
    """``auto`` (CUDA when available, else CPU), ``cpu``, ``cuda`` or ``cuda:N`` -> a torch device.

    Under torchrun with CUDA, ``auto`` / ``cuda`` pick the process's ``LOCAL_RANK`` GPU."""
    name = name.strip().lower()
    if name == "auto":
        name = "cuda" if torch.cuda.is_available() else "cpu"
    if name == "cpu":
        return torch.device("cpu")
    if name == "cuda" or name.startswith("cuda:"):
        if not torch.cuda.is_available():
            raise FacebenchError(f"device {name!r} asked for, but torch sees no CUDA GPU (use --device cpu)")
        if name == "cuda":
            return torch.device("cuda", int(os.environ.get("LOCAL_RANK", 0)) % torch.cuda.device_count())
        index = name.split(":", 1)[1]
        if not index.isdigit() or int(index) >= torch.cuda.device_count():
            raise FacebenchError(f"no GPU {name!r} (this machine has {torch.cuda.device_count()})")
        return torch.device(name)
    raise FacebenchError(f"unknown device {name!r} (expected auto, cpu, cuda or cuda:N)")


def world() -> tuple[int, int]:
    """(rank, world size) of this process: (0, 1) outside torch.distributed."""
    if dist.is_available() and dist.is_initialized():
        return dist.get_rank(), dist.get_world_size()
    return 0, 1


def is_main_process() -> bool:
    """True on rank 0 (or when not distributed): the one process that writes files."""
    return world()[0] == 0


def init_distributed(device: torch.device) -> bool:
    """Join the torchrun process group when ``WORLD_SIZE`` > 1 (gloo on CPU, NCCL on CUDA).

    Returns True when this call created the group. Does nothing when already initialised."""
    if int(os.environ.get("WORLD_SIZE", "1")) <= 1 or (dist.is_available() and dist.is_initialized()):
        return False
    if device.type == "cuda":
        torch.cuda.set_device(device)
    dist.init_process_group(backend="nccl" if device.type == "cuda" else "gloo")
    # Leave the group before the interpreter tears down: a gloo group still alive at exit can abort
    # the process ("terminate called without an active exception"; seen in 1 of 4 2-process runs).
    atexit.register(_leave_group)
    return True


def _leave_group() -> None:
    if dist.is_available() and dist.is_initialized():
        dist.destroy_process_group()


def seed_everything(seed: int) -> None:
    """Seed Python, NumPy and torch (CPU and CUDA) generators."""
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


def _epoch_seed(seed: int, epoch: int, rank: int) -> int:
    """A distinct, reproducible seed per (run seed, epoch, rank)."""
    return (seed * 1_000_003 + epoch * 7_919 + rank * 104_729) % 2**63


# ---- checkpoints and the log -------------------------------------------------------------------

def checkpoint_path(run_dir: Path, epoch: int) -> Path:
    """``run_dir/checkpoints/epoch_NNN.pt`` for 1-based ``epoch`` (the number of finished epochs)."""
    return Path(run_dir) / CHECKPOINT_DIR / f"epoch_{epoch:03d}.pt"


def last_checkpoint(run_dir: Path) -> Path | None:
    """The newest checkpoint of a run, or None."""
    found = sorted((Path(run_dir) / CHECKPOINT_DIR).glob("epoch_*.pt"))
    return found[-1] if found else None


def _save_checkpoint(run_dir: Path, epoch: int, model: nn.Module, optimizer: torch.optim.Optimizer,
                     keep: int) -> None:
    """Atomically write the state after ``epoch`` finished epochs, then prune old checkpoints."""
    state = {
        "epoch": epoch,
        "model": model.state_dict(),
        "optimizer": optimizer.state_dict(),
        # For inspection: resuming re-derives each epoch's generators from (seed, epoch, rank).
        "rng": {"torch": torch.get_rng_state(), "numpy": torch.from_numpy(np.random.get_state()[1].copy())},
    }
    buf = io.BytesIO()
    torch.save(state, buf)
    atomic_write_bytes(checkpoint_path(run_dir, epoch), buf.getvalue())
    for old in sorted((Path(run_dir) / CHECKPOINT_DIR).glob("epoch_*.pt"))[:-max(1, keep)]:
        old.unlink(missing_ok=True)


def load_checkpoint(path: Path, device: torch.device) -> dict[str, Any]:
    """Read a checkpoint safely (``weights_only=True``)."""
    try:
        return torch.load(path, map_location=device, weights_only=True)
    except Exception as err:  # a truncated or foreign file is a user-facing problem, not a traceback
        raise FacebenchError(f"cannot read checkpoint ({type(err).__name__}: {err})", path) from None


def _write_log(run_dir: Path, rows: list[dict[str, float]]) -> None:
    """Atomically (re)write ``train_log.csv`` with one row per finished epoch."""
    frame = pd.DataFrame(rows)
    front = ["epoch", "lr", "loss"]
    frame = frame[front + [c for c in frame.columns if c not in front and c != "seconds"] + ["seconds"]]
    atomic_write_bytes(Path(run_dir) / TRAIN_LOG, frame.to_csv(index=False).encode())


def _read_log(run_dir: Path, upto_epoch: int) -> list[dict[str, float]]:
    """Rows of an existing log for epochs <= ``upto_epoch`` (later rows belong to a lost epoch)."""
    path = Path(run_dir) / TRAIN_LOG
    if not path.exists():
        return []
    frame = pd.read_csv(path)
    return frame[frame["epoch"] <= upto_epoch].to_dict("records")


# ---- the loop ----------------------------------------------------------------------------------

def _batch_len(batch: Any) -> int:
    """Number of samples in a collated batch (dict of tensors / lists)."""
    values = batch.values() if isinstance(batch, dict) else batch
    for v in values:
        if isinstance(v, torch.Tensor):
            return int(v.shape[0])
        if isinstance(v, (list, tuple)):
            return len(v)
    return 1


def fit(model: nn.Module, loss_fn: LossFn, dataset: Dataset, cfg: TrainConfig, run_dir: Path,
        resume: bool = False) -> nn.Module:
    """Train ``model`` on ``dataset`` for ``cfg.epochs`` epochs and return it (unwrapped).

    ``loss_fn(model, batch) -> (loss, scalars)`` gets the (possibly DDP-wrapped) model and a batch
    from the dataset's ``collate_fn`` attribute (torch's default collate when it has none); moving
    tensors to the model's device is its job (pinned host memory on CUDA: ``non_blocking`` copies). Checkpoints go to
    ``run_dir/checkpoints/epoch_NNN.pt`` and one row per epoch to ``run_dir/train_log.csv``
    (rank 0 only). With ``resume``, training continues after the newest checkpoint.
    """
    run_dir = Path(run_dir)
    device = resolve_device(cfg.device)
    init_distributed(device)
    rank, world_size = world()
    model.to(device)
    cuda = device.type == "cuda"
    if cfg.channels_last and cuda:
        model.to(memory_format=torch.channels_last)
    optimizer = torch.optim.Adam(model.parameters(), lr=cfg.lr)
    start, log_rows = 0, []
    ckpt = last_checkpoint(run_dir) if resume else None
    if ckpt is not None:
        state = load_checkpoint(ckpt, device)
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        start = int(state["epoch"])
        log_rows = _read_log(run_dir, start) if rank == 0 else []
    if world_size > 1:
        # device_ids=None: DDP must not move the inputs, the host-side uint8 image stays on the host.
        wrapped: nn.Module = nn.parallel.DistributedDataParallel(model, device_ids=None)
        sampler = DistributedSampler(dataset, num_replicas=world_size, rank=rank, shuffle=True, seed=cfg.seed)
    else:
        wrapped, sampler = model, None
    collate = getattr(dataset, "collate_fn", None) or default_collate
    steps = 0
    for epoch in range(start, cfg.epochs):
        t0 = time.perf_counter()
        seed_everything(_epoch_seed(cfg.seed, epoch, rank))
        for group in optimizer.param_groups:
            group["lr"] = cfg.lr_at(epoch)
        generator = torch.Generator().manual_seed(_epoch_seed(cfg.seed, epoch, 0))
        if sampler is not None:
            sampler.set_epoch(epoch)
        loader = DataLoader(dataset, batch_size=cfg.batch_size, shuffle=sampler is None, sampler=sampler,
                            num_workers=cfg.workers, generator=generator, drop_last=False, collate_fn=collate,
                            pin_memory=cuda)
        wrapped.train()
        sums: dict[str, float] = {}
        count = 0
        bar = tqdm(loader, desc=f"epoch {epoch + 1}/{cfg.epochs}", leave=False, file=sys.stderr,
                   disable=not (cfg.progress and rank == 0))
        batches = iter(bar)
        while True:
            t_load = time.perf_counter()
            batch = next(batches, None)
            if batch is None:
                break
            t_step = time.perf_counter()
            optimizer.zero_grad(set_to_none=True)
            with torch.autocast(device_type="cuda", dtype=torch.bfloat16, enabled=cfg.amp and cuda):
                loss, scalars = loss_fn(wrapped, batch)
            if not torch.isfinite(loss):
                raise RuntimeError(f"training diverged: loss is {loss.item()} in epoch {epoch + 1}")
            loss.backward()
            optimizer.step()
            n = _batch_len(batch)
            steps += 1
            if cfg.on_step is not None:
                if cuda:
                    torch.cuda.synchronize(device)
                cfg.on_step({"samples": n, "load_s": t_step - t_load, "step_s": time.perf_counter() - t_step})
            if cfg.max_steps is not None and steps >= cfg.max_steps:
                return model
            count += n
            for key, value in {"loss": float(loss.detach()), **scalars}.items():
                sums[key] = sums.get(key, 0.0) + float(value) * n
            bar.set_postfix(loss=f"{float(loss.detach()):.4g}")
        means = _reduce_means(sums, count, device)
        if rank == 0:
            _save_checkpoint(run_dir, epoch + 1, model, optimizer, cfg.keep_checkpoints)
            log_rows.append({"epoch": epoch + 1, "lr": cfg.lr_at(epoch), **means,
                             "seconds": round(time.perf_counter() - t0, 3)})
            _write_log(run_dir, log_rows)
        if world_size > 1:
            dist.barrier()
    return model


def _reduce_means(sums: dict[str, float], count: int, device: torch.device) -> dict[str, float]:
    """Sample-weighted means of the logged scalars over all processes."""
    keys = sorted(sums)
    if world()[1] > 1:
        t = torch.tensor([sums[k] for k in keys] + [float(count)], dtype=torch.float64,
                         device=device if device.type == "cuda" else "cpu")
        dist.all_reduce(t)
        values, count = t[:-1].tolist(), int(t[-1].item())
    else:
        values = [sums[k] for k in keys]
    return {k: (v / count if count else math.nan) for k, v in zip(keys, values)}
