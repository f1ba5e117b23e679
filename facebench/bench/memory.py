"""Benchmarks (``facebench bench``). This part: the peak memory of one training step.

``bench_memory`` measures, for each method, batch size and input resolution R, the peak memory of
one training step — forward, backward and the optimiser's step — each in a fresh process (so
nothing of an earlier measurement is counted): CUDA's peak allocation on a GPU, the process's
peak resident set (``ru_maxrss``: model, optimiser state, activations, the uint8 input batch and
the Python / torch runtime) on a CPU. The inputs are synthetic (random pixels, a face-shaped
set of landmarks): memory does not depend on what the pixels show.

A measurement whose projected peak exceeds ``budget`` of the memory available right now is not
started: it is reported with status ``projected`` and the figure extrapolated from the ones
measured at smaller R with a least-squares fit ``peak = a + b size + input`` where ``size`` is what
the activations grow with (R^2 for a holistic network, the crop side squared for ADC, whose crops
are all that depends on R) and ``input`` the uint8 input batch where it is counted (CPU).
"""

from __future__ import annotations

import multiprocessing as mp
import os
import resource
import signal
import sys
import time
import traceback
from dataclasses import dataclass
from typing import Any

import numpy as np

from adc_model.method import ADCLoss
from adc_model.model import ADCNet, make_proxy
from baselines.holistic import HolisticConfig, heatmap_loss
from facebench.core import geometry
from facebench.core.errors import FacebenchError
from facebench.core.geometry import rescale_points
from facebench.core.presets import get_preset
from facebench.core.schemes import get_scheme
from facebench.methods import get_method
from facebench.nn.train import resolve_device

MEMORY_KEYS = ("method", "res", "batch", "peak_mib", "status")
MEMORY_METHODS = ("adc", "adc-light", "adc-cpm", "adc-cnn67", "adc-stack2", "hg2", "fan4", "cpm6", "cnn67")


@dataclass(frozen=True)
class MemorySpec:
    """One measurement: a training step of ``method`` at input side ``res`` with ``batch`` images."""

    method: str
    res: int
    batch: int
    preset: str = "paper"
    device: str = "auto"
    scheme: str = "studio89"


# ---- one measurement (runs inside the fresh process) --------------------------------------------

def _template_landmarks(scheme_name: str, res: int, batch: int) -> np.ndarray:
    """(B, N, 2) face-shaped landmarks in R px: a fixed random layout per region, regions where a
    face's eyes, nose and mouth are in a prepared crop (margin 0.25)."""
    scheme = get_scheme(scheme_name)
    rng = np.random.default_rng(0)
    centres = {"eye_left": (0.36, 0.40), "eye_right": (0.64, 0.40), "nose": (0.5, 0.52), "mouth": (0.5, 0.66)}
    unit = rng.uniform(0.2, 0.8, size=(scheme.num_points, 2))           # the jaw: anywhere on the face
    for name, ids in scheme.regions.items():
        unit[list(ids)] = np.asarray(centres[name]) + rng.uniform(-0.07, 0.07, size=(len(ids), 2))
    points = geometry.rescale_points(unit - 0.5, 1, res)                # unit square -> R px
    return np.repeat(points[None], batch, axis=0)


def _training_step(spec: MemorySpec) -> dict[str, Any]:
    """Build the method's network for ``spec`` and run one full training step; returns
    ``{"params": n, "device": str, "seconds": step time}``."""
    import torch

    device = resolve_device(spec.device)
    preset = get_preset(spec.preset)
    scheme = get_scheme(spec.scheme)
    cls = get_method(spec.method)
    torch.manual_seed(0)
    gen = torch.Generator().manual_seed(0)
    image = torch.randint(0, 256, (spec.batch, 3, spec.res, spec.res), dtype=torch.uint8, generator=gen)  # host
    landmarks = torch.from_numpy(_template_landmarks(spec.scheme, spec.res, spec.batch)).float()
    if cls.family == "adc":
        cfg = cls.config_for(preset, spec.res, spec.scheme)
        net = ADCNet(cfg.model).to(device)
        proxy = make_proxy(image, cfg.model.proxy)   # uint8, area averaging on the host (the loader's images/256)
        batch = {"image": image, "proxy": proxy, "landmarks": landmarks,
                 "proxy_landmarks": rescale_points(landmarks, spec.res, cfg.model.proxy)}
        loss_fn = ADCLoss.for_run(cfg, scheme)
    else:
        from functools import partial

        hcfg = HolisticConfig(method=spec.method, scheme=spec.scheme, num_points=scheme.num_points,
                              width=preset.width, depth=preset.depth, stages=cls.stages, input_size=spec.res)
        net = cls.build_trunk(hcfg).to(device)      # trained holistically at R: the whole image on the device
        batch = {"image": image, "landmarks": landmarks}
        loss_fn = partial(heatmap_loss, sigma=hcfg.sigma)
    net.train()
    optimizer = torch.optim.Adam(net.parameters(), lr=1e-4)
    t0 = time.perf_counter()
    loss, _ = loss_fn(net, batch)
    loss.backward()
    optimizer.step()
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    return {"params": sum(p.numel() for p in net.parameters()), "device": str(device),
            "seconds": round(time.perf_counter() - t0, 2)}


def _rss_mib() -> float:
    """Peak resident set of this process so far, MiB (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def _child(spec: MemorySpec, conn) -> None:
    """Entry point of the fresh process: measure and send one result dict."""
    try:
        import torch

        get_method(spec.method)   # the imports (torch, cv2, dlib, ...) belong to the baseline
        baseline = _rss_mib()
        cuda = spec.device.startswith("cuda") or (spec.device == "auto" and torch.cuda.is_available())
        if cuda:
            torch.cuda.reset_peak_memory_stats()
        info = _training_step(spec)
        peak = torch.cuda.max_memory_allocated() / 2**20 if cuda else _rss_mib()
        conn.send({"status": "ok", "peak_mib": round(peak, 1), "baseline_mib": None if cuda else round(baseline, 1),
                   **info})
    except Exception as err:  # noqa: BLE001 - every failure is reported back to the parent
        oom = "out of memory" in str(err).lower() or isinstance(err, MemoryError)
        conn.send({"status": "oom" if oom else "failed", "error": f"{type(err).__name__}: {err}".splitlines()[0],
                   "trace": traceback.format_exc(limit=3)})
    finally:
        conn.close()


def measure_memory(spec: MemorySpec, timeout: float = 3600.0) -> dict[str, Any]:
    """Run one measurement in a fresh process -> a result dict (see :func:`bench_memory`).

    A child killed by SIGKILL (what the kernel's OOM killer sends) counts as ``oom``."""
    ctx = mp.get_context("spawn")
    recv, send = ctx.Pipe(duplex=False)
    proc = ctx.Process(target=_child, args=(spec, send), daemon=True)
    proc.start()
    send.close()
    result: dict[str, Any] | None = None
    if recv.poll(timeout):
        try:
            result = recv.recv()
        except EOFError:
            result = None
    proc.join(timeout=30)
    if proc.is_alive():
        proc.kill()
        proc.join()
        result = result or {"status": "failed", "error": f"no result within {timeout:.0f} s"}
    if result is None:
        code = proc.exitcode
        result = {"status": "oom" if code == -signal.SIGKILL else "failed",
                  "error": f"measurement process ended with exit code {code}"}
    return {**_head(spec), "peak_mib": result.pop("peak_mib", None), "status": result.pop("status"), **result}


def _head(spec: MemorySpec) -> dict[str, Any]:
    return {"method": spec.method, "res": spec.res, "batch": spec.batch}


# ---- projection ---------------------------------------------------------------------------------

def project_peak(measured: list[tuple[float, float]], size: float) -> float:
    """Extrapolate a peak (MiB) at activation size ``size`` from measured (size, peak) pairs with a
    least-squares line ``a + b size`` (b >= 0). Where the measured sizes do not determine a slope
    (one point, or all equal), a larger size is scaled proportionally from the largest measured
    one (an upper bound) and a smaller or equal one gets the largest measured peak."""
    if not measured:
        raise ValueError("no measurements to project from")
    x = np.array([m[0] for m in measured], dtype=np.float64)
    p = np.array([m[1] for m in measured], dtype=np.float64)
    if np.ptp(x) == 0:
        return float(p.max() * max(1.0, size / x[0]))
    (a, b), *_ = np.linalg.lstsq(np.stack([np.ones_like(x), x], axis=1), p, rcond=None)
    if b < 0:
        a, b = float(p.mean()), 0.0
    return float(a + b * size)


def activation_size(spec: MemorySpec) -> int:
    """What a training step's activations grow with: R^2 for a holistic network (it sees the whole
    image), crop(R)^2 for the ADC family (the crops; the proxy is always 256 px)."""
    if get_method(spec.method).family != "adc":
        return spec.res ** 2

    return get_preset(spec.preset).crop_for(spec.res) ** 2


def input_mib(spec: MemorySpec, device: str) -> float:
    """The uint8 input batch (B, 3, R, R) in MiB where it is counted (a CPU's resident memory;
    ADC keeps it on the host, so a GPU's allocation does not hold it)."""
    import torch

    on_gpu = device.startswith("cuda") or (device == "auto" and torch.cuda.is_available())
    return 0.0 if on_gpu else spec.batch * 3 * spec.res ** 2 / 2**20


def available_mib(device: str = "auto") -> float:
    """Memory available for a new measurement: free GPU memory on CUDA, else ``MemAvailable``."""
    import torch

    if device.startswith("cuda") or (device == "auto" and torch.cuda.is_available()):
        free, _ = torch.cuda.mem_get_info()
        return free / 2**20
    with open("/proc/meminfo") as f:
        for line in f:
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) / 1024.0
    return float(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_AVPHYS_PAGES")) / 2**20


def bench_memory(methods: tuple[str, ...], resolutions: tuple[int, ...], batches: tuple[int, ...],
                 preset: str = "paper", device: str = "auto", budget: float = 0.5, scheme: str = "studio89",
                 progress: bool = True) -> list[dict[str, Any]]:
    """Peak memory of one training step for every (method, batch, res), smallest R first.

    Each result has the keys of :data:`MEMORY_KEYS` (``peak_mib`` in MiB; ``status`` ``ok``,
    ``oom``, ``failed`` or ``projected``) plus ``device``, ``preset``, ``params``,
    ``baseline_mib`` (CPU: the fresh process's resident memory before the model existed) and
    ``seconds`` where measured, ``error`` where not ok, ``projected_from`` where projected.
    """
    get_preset(preset)
    unknown = [m for m in methods if m not in MEMORY_METHODS]
    if unknown:
        raise FacebenchError(f"cannot measure {', '.join(unknown)} (known: {', '.join(MEMORY_METHODS)})")
    if not 0 < budget <= 1:
        raise FacebenchError(f"budget must be in (0, 1], got {budget}")
    results = []
    for method in methods:
        for batch in batches:
            measured: list[tuple[float, float]] = []   # (activation size, peak - input batch)
            measured_res: list[int] = []
            for res in sorted(set(resolutions)):
                spec = MemorySpec(method, res, batch, preset, device, scheme)
                limit = budget * available_mib(device)
                size, fixed = activation_size(spec), input_mib(spec, device)
                guess = project_peak(measured, size) + fixed if measured else None
                if guess is not None and guess > limit:
                    note = f"projected {guess:.0f} MiB > {budget:.0%} of {limit / budget:.0f} MiB available"
                    results.append({**_head(spec), "peak_mib": round(guess, 1), "status": "projected",
                                    "device": device, "preset": preset, "projected_from": measured_res[:],
                                    "note": note})
                    if progress:
                        print(f"{method} res={res} batch={batch}: {note}, not run", file=sys.stderr, flush=True)
                    continue
                if progress:
                    print(f"measuring {method} res={res} batch={batch} ...", end=" ", file=sys.stderr, flush=True)
                row = {**measure_memory(spec), "preset": preset}
                row.pop("trace", None)
                results.append(row)
                if progress:
                    print(f"{row['peak_mib']} MiB, {row['status']}"
                          + (f" ({row['error']})" if row.get("error") else ""),
                          file=sys.stderr, flush=True)
                if row["status"] == "ok":
                    measured.append((float(size), float(row["peak_mib"]) - fixed))
                    measured_res.append(res)
    return results


def memory_rows_markdown(rows: list[dict[str, Any]]) -> str:
    """A markdown table of :func:`bench_memory` results."""
    lines = ["| method | R | batch | peak MiB | status |", "|---|---:|---:|---:|---|"]
    for r in rows:
        peak = "–" if r.get("peak_mib") is None else f"{r['peak_mib']:.0f}"
        lines.append(f"| {r['method']} | {r['res']} | {r['batch']} | {peak} | {r['status']} |")
    return "\n".join(lines)

