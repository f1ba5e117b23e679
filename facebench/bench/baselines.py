"""Measure the baselines on this machine: parameter counts per preset, inference time per 256 px
image, and dlib-ert's training time and time per face. Prints markdown tables (the numbers in
``docs/bench/baselines.md`` come from here)::

    python -m facebench.bench.baselines [--data PREPARED] [--points 89] [--repeats 5]

Neural timings use untrained (Glorot) weights, which cost the same as trained ones, random uint8
images and ``Method.predict`` (uint8 -> float, forward, argmax decoding), after one warm-up call:
wall time is the fastest of ``repeats`` calls and CPU time (all threads) their median, because on a
shared machine other processes stretch wall times. dlib figures need ``--data`` (a prepared
dataset): the cpu-preset ERT is trained on its train split and timed on its test split.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from baselines.ablations import CNN67, CPM6
from baselines.dlib_ert import DlibERT, ert_options
from baselines.holistic import HolisticConfig, HolisticHeatmapMethod
from baselines.hourglass import FAN4, HG2
from facebench.core.prepared import PreparedDataset
from facebench.core.presets import PRESETS, get_preset
from facebench.core.schemes import scheme_for_count
from facebench.method import TrainContext

HOLISTIC: tuple[type[HolisticHeatmapMethod], ...] = (HG2, FAN4, CPM6, CNN67)


def build(cls: type[HolisticHeatmapMethod], preset: str, num_points: int) -> HolisticHeatmapMethod:
    """An untrained method of ``preset``'s size (the size ``train`` would build)."""
    p = get_preset(preset)
    cfg = HolisticConfig(cls.name, scheme_for_count(num_points).name, num_points, p.width, p.depth, cls.stages,
                         p.holistic_res)
    torch.manual_seed(0)
    return cls(cfg, cls.build_trunk(cfg), device="cpu")


def seconds_per_image(predict, images: np.ndarray, repeats: int) -> tuple[float, float]:
    """(wall, cpu) seconds per image of ``predict(images)``: the fastest wall-clock time of
    ``repeats`` calls (the least disturbed by other processes on a shared machine) and the median
    CPU time of this process (all its threads), each divided by the batch size."""
    predict(images)  # warm-up: oneDNN builds its kernels on the first call of each shape
    wall, cpu = [], []
    for _ in range(repeats):
        w0, c0 = time.perf_counter(), time.process_time()
        predict(images)
        wall.append(time.perf_counter() - w0)
        cpu.append(time.process_time() - c0)
    return min(wall) / len(images), statistics.median(cpu) / len(images)


def neural_table(num_points: int, repeats: int, batch: int) -> list[str]:
    """Parameters and predict time per 256 image of every holistic method at every preset (printed
    row by row as measured; also returned)."""
    rows = [f"| method | preset | parameters | wall s / image, batch 1 | CPU s / image, batch 1 | "
            f"wall s / image, batch {batch} | CPU s / image, batch {batch} |",
            "|---|---|---:|---:|---:|---:|---:|"]
    print("\n".join(rows), flush=True)
    rng = np.random.default_rng(0)
    for cls in HOLISTIC:
        for preset in PRESETS:
            model = build(cls, preset, num_points)
            size = model.cfg.input_size
            one = rng.integers(0, 256, (1, size, size, 3), dtype=np.uint8)
            many = rng.integers(0, 256, (batch, size, size, 3), dtype=np.uint8)
            reps = max(1, repeats // 2) if preset == "paper" else repeats
            w1, c1 = seconds_per_image(model.predict, one, reps)
            # The paper preset is for a GPU: batch 1 only, to keep this under a few minutes on a CPU.
            wb, cb = seconds_per_image(model.predict, many, reps) if preset != "paper" else (None, None)
            cells = [f"{v:.4f}" if v is not None else "-" for v in (w1, c1, wb, cb)]
            rows.append(f"| {cls.name} | {preset} | {model.num_parameters():,} | " + " | ".join(cells) + " |")
            print(rows[-1], flush=True)
    return rows


def dlib_table(data_root: Path, presets: tuple[str, ...], repeats: int) -> list[str]:
    """dlib-ert trained at each preset on ``data_root``'s train split: training time, time per face and
    mean point error on its test split at 256 (printed row by row; also returned)."""
    data = PreparedDataset(data_root)
    test = data.split("test")
    images = np.stack([data.load_image(i, 256) for i in test["id"]])
    gt = data.landmarks(test, 256)
    rows = ["| preset | options | train images | train wall s | train CPU s | wall s / face | CPU s / face | "
            "mean error px @256 | model file MB |",
            "|---|---|---|---:|---:|---:|---:|---:|---:|"]
    print("\n".join(rows), flush=True)
    for preset in presets:
        with tempfile.TemporaryDirectory() as tmp:
            ctx = TrainContext(data_root=data.root, res=256, preset=get_preset(preset), run_dir=Path(tmp),
                               progress=False)
            t0 = time.perf_counter()
            c0 = _cpu_with_children()
            model = DlibERT.train(ctx)
            train_s, train_cpu = time.perf_counter() - t0, _cpu_with_children() - c0
            model.save(Path(tmp) / "model.dat")
            size_mb = os.path.getsize(Path(tmp) / "model.dat") / 1e6
        wall, cpu = seconds_per_image(model.predict, images, repeats)
        err = float(np.linalg.norm(model.predict(images) - gt, axis=-1).mean())
        o = ert_options(preset)
        opts = (f"cascade {o.cascade_depth}, depth {o.tree_depth}, trees {o.num_trees_per_cascade_level}, "
                f"oversampling {o.oversampling_amount}, pool {o.feature_pool_size}, threads {o.num_threads}")
        rows.append(f"| {preset} | {opts} | {model.meta['train_samples']} | {train_s:.1f} | {train_cpu:.1f} | "
                    f"{wall:.5f} | {cpu:.5f} | {err:.2f} | {size_mb:.1f} |")
        print(rows[-1], flush=True)
    return rows


def _cpu_with_children() -> float:
    """CPU seconds of this process and its finished children (dlib trains in a forked child)."""
    t = os.times()
    return t.user + t.system + t.children_user + t.children_system


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=None, help="prepared dataset for the dlib figures")
    parser.add_argument("--dlib-presets", default="smoke,cpu", help="comma-separated presets to train dlib with")
    parser.add_argument("--points", type=int, default=89, help="landmarks per face (89 studio, 68 iBUG)")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--skip-neural", action="store_true")
    args = parser.parse_args()
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, {os.cpu_count()} CPUs")
    if not args.skip_neural:
        neural_table(args.points, args.repeats, args.batch)
    if args.data is not None:
        print()
        dlib_table(args.data, tuple(args.dlib_presets.split(",")), args.repeats)


if __name__ == "__main__":
    main()
