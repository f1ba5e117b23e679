"""End-to-end training throughput (``facebench bench train``): what one optimiser step costs when the
samples come from a prepared dataset, as ``facebench run`` trains.

Each (method, R) runs in a fresh process with one torch thread (``--threads``): the method's own
``train`` on the prepared dataset's train split, through :func:`facebench.nn.train.fit` with the
preset's augmentation, stopped after ``warmup + steps`` optimiser steps. ``fit`` times every step in
two parts: ``load`` (the DataLoader producing the batch: reading and decoding the prepared images,
augmentation, collation) and ``step`` (forward, including the RoI crops' reads from the R image,
backward and the Adam update). The warm-up steps are dropped. ``--crop`` and ``--batch`` override
the preset's crop side and batch size at every R, so resolutions can be compared at equal network
work. ``--prefetch`` makes ADC's loader decode the tiles under the ground-truth region boxes, as
its DataLoader workers do on a GPU machine: ``load_ms`` is then the work one loader worker does per
batch, and ``batch / load_ms`` the samples per second one CPU core can feed an accelerator. Each
row also times inference from the same prepared dataset (``predict_ms``: the method's
``predict_prepared`` on test images, reading included, median per image).

``peak_mib`` is the measuring process's peak resident set (Linux ``ru_maxrss``), imports included.

With no ``--data``, a small dataset is synthesised and prepared once (2 subjects x 2 expressions x
2 cameras, rendered at the largest R asked for) in facebench's cache folder and reused.
"""

from __future__ import annotations

import os
import resource
import statistics
import tempfile
import time
import traceback
from dataclasses import dataclass, replace
from pathlib import Path
from types import MappingProxyType
from typing import Any

from facebench.bench.speed import run_in_fresh_process
from facebench.core.errors import FacebenchError
from facebench.core.prepared import PreparedDataset
from facebench.core.presets import get_preset
from facebench.data.prepare import PrepareOptions, prepare
from facebench.data.synth.config import SynthConfig
from facebench.data.synth.generate import generate
from facebench.method import TrainContext
from facebench.methods import METHOD_NAMES, get_method

ROW_KEYS = ("method", "res", "crop", "batch", "samples_per_s", "load_ms", "step_ms", "peak_mib", "status")
PREDICT_IMAGES = 16  # test images timed for predict_ms (after one warm-up image)


@dataclass(frozen=True)
class TrainBenchSpec:
    method: str
    res: int
    data: Path
    preset: str = "cpu"
    crop: int | None = None     # None: the preset's crop at R
    batch: int | None = None    # None: the preset's batch at R
    steps: int = 6
    warmup: int = 2
    threads: int = 1
    prefetch: bool = False      # ADC: decode the crops' tiles in the loader, as workers do on a GPU machine


def bench_preset(spec: TrainBenchSpec):
    """The preset of a measurement: ``--crop`` / ``--batch`` replace the preset's tables."""
    preset = get_preset(spec.preset)
    if spec.crop is not None:
        preset = replace(preset, crop_size=MappingProxyType({spec.res: spec.crop}))
    if spec.batch is not None:
        preset = replace(preset, batch_size=MappingProxyType({spec.res: spec.batch}))
    return preset


def _measure(spec: TrainBenchSpec) -> dict[str, Any]:
    """In the measuring process: train for warmup + steps steps, then time inference."""
    import numpy as np
    import torch


    torch.set_num_threads(spec.threads)
    preset = bench_preset(spec)
    cls = get_method(spec.method)
    steps: list[dict[str, float]] = []
    with tempfile.TemporaryDirectory(prefix="facebench-bench-train-") as tmp:
        ctx = TrainContext(data_root=spec.data, res=spec.res, preset=preset, run_dir=Path(tmp), device="cpu",
                           epochs=10**6, progress=False, max_steps=spec.warmup + spec.steps, on_step=steps.append,
                           prefetch=spec.prefetch)
        model = cls.train(ctx)
    timed = steps[spec.warmup:]
    if not timed:
        raise FacebenchError(f"training stopped after {len(steps)} steps, before any step was timed")
    samples = sum(s["samples"] for s in timed)
    seconds = sum(s["load_s"] + s["step_s"] for s in timed)
    data = PreparedDataset(spec.data)
    ids = list(data.split("test")["id"])[:PREDICT_IMAGES + 1]
    per_image = []
    for i, sample_id in enumerate(ids):
        t0 = time.perf_counter()
        model.predict_prepared(data, [sample_id], spec.res)
        if i:   # the first one warms up
            per_image.append(time.perf_counter() - t0)
    return {"samples_per_s": round(samples / seconds, 3),
            "load_ms": round(1e3 * float(np.mean([s["load_s"] for s in timed])), 2),
            "step_ms": round(1e3 * float(np.mean([s["step_s"] for s in timed])), 2),
            "predict_ms": round(1e3 * statistics.median(per_image), 2) if per_image else None,
            "steps": len(timed)}


def _child(spec: TrainBenchSpec, conn) -> None:
    try:
        result = {"status": "ok", **_measure(spec)}
    except MemoryError:
        result = {"status": "oom"}
    except Exception as err:  # noqa: BLE001 - reported as a row, never a crash of the benchmark
        first = str(err).splitlines()[0] if str(err) else ""
        oom = "out of memory" in first.lower()
        result = {"status": "oom" if oom else "failed", "error": f"{type(err).__name__}: {first}"[:300]}
        if not oom and not isinstance(err, FacebenchError):
            traceback.print_exc()
    result["peak_mib"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0, 1)
    conn.send(result)
    conn.close()


def run_train_spec(spec: TrainBenchSpec, timeout: float = 3600.0) -> dict[str, Any]:
    """One measurement in a fresh (spawned) process -> one row."""
    preset = bench_preset(spec)
    row: dict[str, Any] = {"method": spec.method, "res": spec.res, "crop": None, "batch": preset.batch_for(spec.res),
                           "samples_per_s": None, "load_ms": None, "step_ms": None, "peak_mib": None}
    cls = get_method(spec.method)
    if cls.family == "adc":
        row["crop"] = preset.crop_for(spec.res)
    if not cls.neural:
        return {**row, "status": "skipped", "error": f"{spec.method} is not trained by steps (bench speed times it)"}
    if not cls.native_res and spec.res != preset.holistic_res:
        return {**row, "status": "skipped",
                "error": f"{spec.method} trains at {preset.holistic_res} whatever R (the paper's protocol)"}
    return {**row, **run_in_fresh_process(_child, (spec,), timeout)}


def default_bench_data(resolutions: tuple[int, ...], progress: bool = True) -> Path:
    """A small prepared dataset at ``resolutions`` (plus 256), made once in the cache folder."""

    levels = tuple(sorted({256, *resolutions}))
    cache = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "facebench" / "bench-train"
    size = max(levels)
    out = cache / f"data-{'-'.join(map(str, levels))}"
    if (out / "manifest.parquet").is_file():
        return out
    capture = cache / f"capture-{size}"
    generate(capture, SynthConfig(subjects=2, expressions=2, cameras=2, size=size, seed=0), workers=1,
             progress=progress)
    prepare(out, studio=[capture], options=PrepareOptions(resolutions=levels, test_fraction=0.5), workers=1,
            progress=progress)
    return out


def bench_train(methods: tuple[str, ...], resolutions: tuple[int, ...], data: str | Path | None = None,
                preset: str = "cpu", crop: int | None = None, batch: int | None = None, steps: int = 6,
                warmup: int = 2, threads: int = 1, progress: bool = True,
                prefetch: bool = False) -> list[dict[str, Any]]:
    """One row per (method, R): see the module docstring."""
    from tqdm import tqdm

    unknown = [m for m in methods if m not in METHOD_NAMES]
    if unknown:
        raise FacebenchError(f"unknown method(s) {', '.join(unknown)} (known: {', '.join(METHOD_NAMES)})")
    get_preset(preset)
    root = Path(data) if data is not None else default_bench_data(tuple(resolutions), progress)

    missing = [r for r in resolutions if r not in PreparedDataset(root).resolutions]
    if missing:
        raise FacebenchError(f"the prepared dataset has no {', '.join(map(str, missing))} px images", root)
    specs = [TrainBenchSpec(m, r, root, preset, crop, batch, steps, warmup, threads, prefetch)
             for m in methods for r in sorted(resolutions)]
    return [run_train_spec(s) for s in tqdm(specs, desc="bench train", unit="run", disable=not progress)]


def train_rows_markdown(rows: list[dict[str, Any]]) -> str:
    """The rows as a markdown table, with each method's throughput relative to its smallest R."""
    head = ("method", "R", "crop", "batch", "samples/s", "vs smallest R", "load ms", "step ms", "predict ms",
            "peak MiB", "status")
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    first: dict[str, float] = {}
    for r in rows:
        sps = r.get("samples_per_s")
        if sps and r["method"] not in first:
            first[r["method"]] = sps
        ratio = f"{sps / first[r['method']]:.2f}x" if sps and r["method"] in first else ""
        status = r["status"] if r["status"] == "ok" else f"{r['status']}: {r.get('error', '')}"
        cells = [r["method"], r["res"], r.get("crop") or "", r["batch"], sps or "", ratio, r.get("load_ms") or "",
                 r.get("step_ms") or "", r.get("predict_ms") or "", r.get("peak_mib") or "", status]
        lines.append("| " + " | ".join(map(str, cells)) + " |")
    return "\n".join(lines)
