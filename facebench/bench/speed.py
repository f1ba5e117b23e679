"""Speed benchmarks (``facebench bench speed``): inference time per image and training throughput.

Inference, for each resolution R of ``--res``:

- ``adc`` / ``adc-light`` at R (``native``): the method's ``predict`` on one (R, R, 3) uint8 image —
  proxy by area averaging, global hourglass, four RoI crops from the R image, regional hourglasses;
- ``hg2`` / ``fan4`` two ways: ``holistic-full``, the network run on the whole R x R image (what a
  holistic model would have to do to use the resolution), and ``upscale-256``, the paper's protocol:
  area-downsample the R image to 256 (cv2.INTER_AREA), run the network, rescale the landmarks to R;
- ``dlib-ert`` by the 256 protocol (a predictor with the preset's cascade, trained for the purpose
  on a few synthetic faces: its speed depends on the forest's shape, not on what it learnt).

Training throughput (samples per second over a few steps after a warm-up) for the neural methods
at the resolution each trains at under the paper's protocol (ADC at R, holistic at 256).

Every measurement runs in a fresh process whose address space is capped at ``budget`` of the
memory available (``RLIMIT_AS``), so a configuration that cannot fit ends as ``oom`` instead of
taking the machine down; once a method is ``oom`` at some R, larger R are reported ``oom``
without being started. Networks have random weights (Glorot init): time does not depend on them.
"""

from __future__ import annotations

import multiprocessing as mp
import resource
import time
import traceback
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from adc_model.model import ADCNet
from baselines.dlib_ert import DlibERT, _dlib_options, ert_options
from baselines.dlib_train import train_shape_predictor
from baselines.holistic import HolisticConfig
from facebench.bench.memory import MemorySpec, _template_landmarks, _training_step, available_mib
from facebench.core.errors import FacebenchError
from facebench.core.geometry import rescale_points
from facebench.core.presets import get_preset
from facebench.core.schemes import get_scheme
from facebench.methods import METHOD_NAMES, get_method

SPEED_METHODS = ("adc", "adc-light", "hg2", "fan4", "dlib-ert")


@dataclass(frozen=True)
class SpeedSpec:
    kind: str          # inference | train
    method: str
    res: int
    protocol: str      # native | holistic-full | upscale-256 | train
    preset: str = "cpu"
    repeats: int = 3
    scheme: str = "studio89"
    threads: int = 0   # torch CPU threads (0: one per core)


def _image(res: int, batch: int = 1) -> np.ndarray:
    rng = np.random.default_rng(0)
    return rng.integers(0, 256, size=(batch, res, res, 3), dtype=np.uint8)


def _median_seconds(fn, repeats: int) -> float:
    fn()  # warm-up (allocator, thread pools)
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return float(np.median(times))


def _adc_method(spec: SpeedSpec):
    cls = get_method(spec.method)
    cfg = cls.config_for(get_preset(spec.preset), spec.res, spec.scheme)
    return cls(ADCNet(cfg.model).eval(), cfg)


def _holistic_trunk(spec: SpeedSpec, size: int):
    cls = get_method(spec.method)
    preset = get_preset(spec.preset)
    hcfg = HolisticConfig(method=spec.method, scheme=spec.scheme, num_points=get_scheme(spec.scheme).num_points,
                          width=preset.width, depth=preset.depth, stages=cls.stages, input_size=size)
    return cls, hcfg


def _dlib_predictor(spec: SpeedSpec):
    """A DlibERT with the preset's forest, trained on 8 synthetic 256 px faces."""
    opts = ert_options(spec.preset, {"oversampling_amount": 1})
    images = list(_image(256, 8))
    points = np.rint(_template_landmarks(spec.scheme, 256, 8)).astype(np.int64)
    rects = [(32, 32, 223, 223)] * 8
    predictor = train_shape_predictor(images, rects, points, _dlib_options(opts, 0, False),
                                      total_trees=opts.cascade_depth * opts.num_trees_per_cascade_level, progress=False)
    return DlibERT(predictor, get_scheme(spec.scheme), {"box": "margin", "margin": 0.25, "train_res": 256})


def _measure(spec: SpeedSpec) -> dict[str, Any]:
    """One measurement, inside the fresh process."""
    import cv2
    import torch

    torch.manual_seed(0)
    if spec.kind == "train":
        batch = 2 if spec.res >= 2048 else 4
        step = MemorySpec(spec.method, spec.res, batch, preset=spec.preset, device="cpu", scheme=spec.scheme)
        seconds = _median_seconds(lambda: _training_step(step), spec.repeats)
        return {"samples_per_second": round(batch / seconds, 3)}

    image = _image(spec.res)
    family = get_method(spec.method).family
    if family == "adc":
        method = _adc_method(spec)
        fn = lambda: method.predict(image)  # noqa: E731
    elif family == "ert":
        method = _dlib_predictor(spec)
        fn = lambda: rescale_points(  # noqa: E731
            method.predict(cv2.resize(image[0], (256, 256), interpolation=cv2.INTER_AREA)[None]), 256, spec.res)
    else:
        size = spec.res if spec.protocol == "holistic-full" else 256
        cls, hcfg = _holistic_trunk(spec, size)
        method = cls(hcfg, cls.build_trunk(hcfg).eval(), device="cpu")

        def fn():
            x = image if size == spec.res else cv2.resize(image[0], (256, 256), interpolation=cv2.INTER_AREA)[None]
            return rescale_points(method.predict(x), size, spec.res)
    with torch.no_grad():
        return {"seconds_per_image": round(_median_seconds(fn, spec.repeats), 4)}


def _child(spec: SpeedSpec, limit_bytes: int, conn) -> None:
    try:
        resource.setrlimit(resource.RLIMIT_AS, (limit_bytes, limit_bytes))
        torch_threads(spec.threads)
        conn.send({"status": "ok", **_measure(spec)})
    except MemoryError:
        conn.send({"status": "oom"})
    except Exception as err:  # noqa: BLE001 - reported as a row, never a crash of the benchmark
        text = str(err)
        oom = "memory" in text.lower() or "alloc" in text.lower()
        first = text.splitlines()[0] if text else ""
        conn.send({"status": "oom" if oom else "failed", "error": f"{err.__class__.__name__}: {first}"[:200]})
        if not oom:
            traceback.print_exc()
    finally:
        conn.close()


def torch_threads(threads: int = 0) -> None:
    import os

    import torch

    torch.set_num_threads(threads if threads > 0 else max(1, os.cpu_count() or 1))


def run_in_fresh_process(target, args: tuple, timeout: float) -> dict[str, Any]:
    """``target(*args, conn)`` in a fresh (spawned) process, which sends one result dict on ``conn``;
    a process that times out or dies without sending is reported as ``failed`` (``oom`` when a
    signal killed it)."""
    ctx = mp.get_context("spawn")
    parent, child = ctx.Pipe(duplex=False)
    proc = ctx.Process(target=target, args=(*args, child))
    proc.start()
    child.close()
    result: dict[str, Any] = {"status": "failed", "error": "no result (process died)"}
    if parent.poll(timeout):
        try:
            result = parent.recv()
        except EOFError:
            pass
    else:
        proc.kill()
        result = {"status": "failed", "error": f"timed out after {timeout:.0f} s"}
    proc.join()
    if result.get("status") == "failed" and proc.exitcode and proc.exitcode < 0:
        result = {"status": "oom", "error": f"killed by signal {-proc.exitcode}"}
    return result


def run_spec(spec: SpeedSpec, limit_bytes: int, timeout: float = 1800.0) -> dict[str, Any]:
    """Run one measurement in a fresh (spawned) process; a row for the result table."""
    result = run_in_fresh_process(_child, (spec, limit_bytes), timeout)
    return {"kind": spec.kind, "method": spec.method, "res": spec.res, "protocol": spec.protocol,
            "preset": spec.preset, **result}


def plan_speed(methods: tuple[str, ...], resolutions: tuple[int, ...], preset: str,
               train: bool = True, threads: int = 0) -> list[SpeedSpec]:
    specs: list[SpeedSpec] = []
    for m in methods:
        family = get_method(m).family
        for r in sorted(resolutions):
            if family == "adc":
                specs.append(SpeedSpec("inference", m, r, "native", preset))
            elif family == "ert":
                specs.append(SpeedSpec("inference", m, r, "upscale-256", preset))
            else:
                specs.append(SpeedSpec("inference", m, r, "upscale-256", preset))
                specs.append(SpeedSpec("inference", m, r, "holistic-full", preset, repeats=1 if r >= 2048 else 3))
    if train:
        for m in methods:
            if not get_method(m).neural:
                continue
            for r in (sorted(resolutions) if get_method(m).family == "adc" else [256]):
                specs.append(SpeedSpec("train", m, r, "train", preset))
    return [replace(s, threads=threads) for s in specs]


def bench_speed(methods: tuple[str, ...], resolutions: tuple[int, ...], preset: str = "cpu",
                budget: float = 0.5, train: bool = True, progress: bool = True,
                threads: int = 0) -> list[dict[str, Any]]:
    """All rows; an ``oom`` at some R marks the same (method, protocol) ``oom`` at larger R."""
    from tqdm import tqdm

    unknown = [m for m in methods if m not in METHOD_NAMES]
    if unknown:
        raise FacebenchError(f"unknown method(s) {', '.join(unknown)} (known: {', '.join(METHOD_NAMES)})")
    limit = int(budget * available_mib("cpu") * 2**20) + 4 * 2**30   # + the runtime's address space
    rows, failed = [], set()
    for spec in tqdm(plan_speed(methods, resolutions, preset, train, threads), desc="bench speed", unit="run",
                     disable=not progress):
        key = (spec.kind, spec.method, spec.protocol)
        if key in failed:
            rows.append({"kind": spec.kind, "method": spec.method, "res": spec.res, "protocol": spec.protocol,
                         "preset": preset, "status": "oom", "error": "oom at a smaller resolution (not started)"})
            continue
        row = run_spec(spec, limit)
        if row["status"] == "oom":
            failed.add(key)
        rows.append(row)
    return rows


def speed_rows_markdown(rows: list[dict[str, Any]]) -> str:
    """The rows as a markdown table."""
    lines = ["| kind | method | protocol | R | result | status |", "|---|---|---|---|---|---|"]
    for r in rows:
        if "seconds_per_image" in r:
            value = f"{r['seconds_per_image'] * 1000:.1f} ms/image"
        elif "samples_per_second" in r:
            value = f"{r['samples_per_second']:.2f} samples/s"
        else:
            value = r.get("error", "–")
        lines.append(f"| {r['kind']} | {r['method']} | {r['protocol']} | {r['res']} | {value} | {r['status']} |")
    return "\n".join(lines)
