"""``facebench reproduce``: the paper's experiment grid at a chosen scale, end to end.

The protocol (paper sections 4.4-4.5):
- baselines (hg2, fan4) trained at 256 and evaluated at every resolution of the preset by
  upscaling their 256 predictions; dlib-ert trained at every resolution of the preset (the paper's
  DLIB row changes with resolution), a resolution whose training images do not fit in memory
  recorded as OOM (``baselines/dlib_memory.py``);
- ADC and ADC-light trained at every resolution of the preset, lowest first, each initialised
  from the same method's run one resolution down (progressive initialisation); ``adc`` is not run
  at the preset's ``light_at`` resolutions (the paper trains only the light variant at 4096);
- the ablation at 1024 (or the preset's resolution closest to it): adc-stack2, adc-cpm,
  adc-cnn67, and the holistic cpm6 / cnn67;
- every ADC-family model also tested at the preset's top resolution (Figure 8);
- the report (``index.html``, tables, figures) from all run folders.

With ``seeds`` = N every run is trained N times, seeds 0 .. N-1: seed 0 keeps the run folder name
``<method>-<res>`` (so an existing single-seed grid is reused), seed s > 0 is ``<method>-<res>-s<s>``;
each ADC chain is initialised progressively within its own seed. The report groups the seeds into
mean ± standard deviation (``reports/spread.py``).

Finished runs are skipped when the command is run again; a run that fails (e.g. out of memory)
is recorded in its run folder and shown in the report instead of stopping the grid.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from pathlib import Path

import click

from facebench.core.errors import FacebenchError
from facebench.core.io import read_json
from facebench.core.prepared import MANIFEST, PreparedDataset
from facebench.core.presets import Preset
from facebench.data.prepare import PrepareOptions, prepare, prepare_default
from facebench.data.synth.config import SynthConfig
from facebench.data.synth.generate import generate
from facebench.methods import ABLATION_HOLISTIC, ABLATION_NATIVE, AT_EVERY_RES, BASELINES, MAIN_ADC, get_method
from facebench.run.folder import METRICS
from facebench.run.runner import RunConfig, evaluate, run
from reports.build import build_report


@dataclass(frozen=True)
class PlannedRun:
    method: str
    res: int                       # primary evaluation resolution (= training res for ADC)
    also_eval: tuple[int, ...]     # further evaluation resolutions (upscaling / Figure 8)
    seed: int = 0
    train_res: int | None = None   # a holistic method trained at this resolution (None: the preset's)

    @property
    def name(self) -> str:
        return f"{self.method}-{self.res}" + (f"-s{self.seed}" if self.seed else "")


def ablation_res(preset: Preset) -> int:
    """The preset's resolution closest to 1024 (the paper's ablation resolution)."""
    return min(preset.resolutions, key=lambda r: abs(math.log2(r) - 10))


def plan(preset: Preset, seeds: int = 1) -> list[PlannedRun]:
    """Every run of the grid, in an order that respects progressive initialisation; with ``seeds`` > 1
    the whole grid once per seed 0 .. seeds-1 (seed 0 first)."""
    from dataclasses import replace

    runs = _plan_one_seed(preset)
    return [replace(r, seed=s) for s in range(max(1, seeds)) for r in runs]


def _plan_one_seed(preset: Preset) -> list[PlannedRun]:
    res = tuple(sorted(preset.resolutions))
    top, low, abl = res[-1], res[0], ablation_res(preset)
    runs: list[PlannedRun] = []
    for m in BASELINES:
        if m in AT_EVERY_RES:
            runs += [PlannedRun(m, r, (), train_res=r) for r in res]
            continue
        runs.append(PlannedRun(m, low, tuple(r for r in res if r != low)))
    for r in res:
        for m in MAIN_ADC:
            if m == "adc" and r in preset.light_at:
                continue
            runs.append(PlannedRun(m, r, (top,) if r != top else ()))
    for m in ABLATION_HOLISTIC:   # trained at 256 like the baselines: scored at every R for free
        runs.append(PlannedRun(m, abl, tuple(r for r in res if r != abl)))
    for m in ABLATION_NATIVE:
        runs.append(PlannedRun(m, abl, (top,) if abl != top else ()))
    return runs


# Seconds per training sample per epoch and per test image, measured in the `cpu` grid of
# docs/RESULTS.md (one torch thread; ADC-family at each R, holistic methods at 256 by method;
# dlib's whole training per sample / 20 oversampling).
# Used only for the estimate printed before starting; `smoke` and `paper` scale from it. Measured
# before the session-4 recipe (holistic width 64, dlib's reference settings and mirror copy, the
# augmentation), which makes hg2 / fan4 epochs ~2-3x and dlib runs ~10x dearer: to be measured again.
_COST_CPU = {"train": {256: 0.11, 512: 0.13, 1024: 0.2, 2048: 0.33, 4096: 0.8},
             "holistic": {"hg2": 0.06, "fan4": 0.18, "cpm6": 0.37, "cnn67": 0.27}, "dlib": 0.0035,
             "predict": {256: 0.04, 512: 0.05, 1024: 0.08, 2048: 0.12, 4096: 0.35}}
_PRESET_SCALE = {"smoke": 0.2, "cpu": 1.0, "paper": 60.0}


def estimate_seconds(runs: list[PlannedRun], preset: Preset, n_train: int, n_test: int) -> float:
    """A rough wall-clock estimate of the grid, from the cost table above."""
    if preset.max_train_samples is not None:
        n_train = min(n_train, preset.max_train_samples)
    total = 0.0
    for r in runs:
        native = get_method(r.method).native_res
        if get_method(r.method).family == "ert":
            per = _COST_CPU["dlib"] * 20
        elif native:
            initialised = r.method in MAIN_ADC and r.res > min(preset.resolutions)
            per = _COST_CPU["train"][_near(r.res)] * preset.epochs_for(True, initialised)
        else:
            rate = _COST_CPU["holistic"].get(r.method, max(_COST_CPU["holistic"].values()))
            per = rate * preset.epochs_for(False, False)
        total += per * n_train * _PRESET_SCALE.get(preset.name, 1.0)
        for res in (r.res, *r.also_eval):
            total += _COST_CPU["predict"][_near(res) if native else _near(r.train_res or 256)] * n_test
    return total


def wall_seconds(chain_seconds: list[float], jobs: int) -> float:
    """Wall clock of chains of these costs on ``jobs`` workers that each take the next chain, in the
    given order, as soon as they are free (what :func:`reproduce` does with its longest-first order)."""
    free = [0.0] * max(1, jobs)
    for cost in chain_seconds:
        i = free.index(min(free))
        free[i] += cost
    return max(free)


def _near(res: int) -> int:
    return min(_COST_CPU["predict"], key=lambda k: abs(math.log2(k) - math.log2(res)))


def smoke_capture():
    """The tiny capture `reproduce --preset smoke` synthesizes when no data is given."""
    return SynthConfig(subjects=4, expressions=2, cameras=2, size=512, seed=0)


def ensure_data(preset: Preset, data: Path | None, out: Path, workers: int | None) -> Path:
    """A prepared dataset for the grid: ``data`` if it holds one; otherwise synthesize and prepare
    one (``smoke``: a tiny capture inside OUT; other presets: the default capture of
    ``facebench prepare`` at the preset's resolutions)."""
    target = Path(data) if data is not None else (out / "data" if preset.name == "smoke" else Path("data/default"))
    if (target / MANIFEST).is_file():
        return target
    options = PrepareOptions(resolutions=tuple(preset.resolutions))
    click.echo(f"preparing data into {target} ...", err=True)
    if preset.name == "smoke":
        capture = out / "capture"
        generate(capture, smoke_capture(), workers=workers or 2, progress=False)
        summary = prepare(target, studio=(capture,), options=options, workers=workers, progress=False)
    else:
        summary = prepare_default(target, options=options, workers=workers)
    for line in summary.lines():
        click.echo(line, err=True)
    return target


def chains(runs: list[PlannedRun]) -> list[list[PlannedRun]]:
    """The runs in groups that must each go in order — one ADC-family method's resolutions, lowest
    first (progressive initialisation) — and that are independent of one another."""
    groups: dict[str, list[PlannedRun]] = {}
    for r in runs:
        groups.setdefault(f"{r.method} seed {r.seed}" if r.method in MAIN_ADC else r.name, []).append(r)
    return list(groups.values())


def reproduce(preset: Preset, data: Path | None, out: Path, device: str = "auto",
              workers: int | None = None, with_paper: bool = True, jobs: int = 1,
              threads: int | None = None, seeds: int = 1, thread_invariant: bool = False) -> Path:
    """Run the whole grid (skipping finished runs) and write the report; returns the report folder.
    ``jobs`` > 1 trains that many independent chains of runs at once (:func:`chains`), each in its
    own process with ``threads`` torch threads (default: the cores shared out between the jobs).
    ``seeds`` > 1 trains every run that many times (seeds 0 .. seeds-1, see the module docstring)."""
    out = Path(out)
    data_dir = ensure_data(preset, data, out, workers)
    ds = PreparedDataset(data_dir)
    missing = [r for r in preset.resolutions if r not in ds.resolutions]
    if missing:
        raise FacebenchError(f"the prepared dataset lacks resolutions {missing} that preset "
                             f"{preset.name!r} needs; prepare it with --resolutions", data_dir)
    runs = plan(preset, seeds)
    n_train, n_test = len(ds.split("train")), len(ds.split("test"))
    costed = sorted(((estimate_seconds(c, preset, n_train, n_test), c) for c in chains(runs)),
                    key=lambda pair: -pair[0])   # longest chain first
    costs, groups = [cost for cost, _ in costed], [chain for _, chain in costed]
    seeds_text = f" --seeds {seeds}" if seeds > 1 else ""
    click.echo(f"reproduce --preset {preset.name}{seeds_text}: {len(runs)} runs on {n_train} train / {n_test} test "
               f"images; estimated {sum(costs) / 60:.0f} min of runs on a 2-core CPU, about "
               f"{wall_seconds(costs, jobs) / 60:.0f} min of wall clock with {jobs} at a time; peak "
               f"memory about {_memory_estimate(preset)} per run (see BENCHMARKS.md)", err=True)
    runs_dir = out / "runs"
    t0 = time.time()   # wall clock shared with pool workers
    index = {r.name: i for i, r in enumerate(runs, 1)}   # "[i/N]" in the log, the plan's numbering
    args = (data_dir, preset.name, runs_dir, device, index, t0, thread_invariant)
    if jobs <= 1:
        for chain in groups:
            _run_chain(chain, *args, threads=threads)
    else:
        import multiprocessing as mp
        import os
        from concurrent.futures import ProcessPoolExecutor, as_completed

        per_job = threads or max(1, (os.cpu_count() or 1) // jobs)
        with ProcessPoolExecutor(jobs, mp_context=mp.get_context("spawn")) as pool:
            futures = {pool.submit(_run_chain, chain, *args, threads=per_job): chain for chain in groups}
            for future in as_completed(futures):
                try:
                    future.result()
                except Exception as err:  # noqa: BLE001 - a crashed worker: its runs are missing in the report
                    names = ", ".join(r.name for r in futures[future])
                    click.echo(f"  {names}: worker failed ({err.__class__.__name__}: {err})", err=True)
    report_dir = out / "report"
    build_report(runs_dir, report_dir, with_paper=with_paper)
    click.echo(f"done in {(time.time() - t0) / 60:.1f} min; report: {report_dir / 'index.html'}", err=True)
    return report_dir


def _run_chain(chain: list[PlannedRun], data_dir: Path, preset: str, runs_dir: Path, device: str,
               index: dict[str, int], t0: float, thread_invariant: bool = False, threads: int | None = None) -> None:
    """Train and evaluate the runs of one chain in order (in this process or a pool worker);
    a run that fails is recorded in its folder and the chain goes on."""
    if threads:
        import torch

        torch.set_num_threads(threads)
    for planned in chain:
        cfg = RunConfig(method=planned.method, res=planned.res, data=data_dir, preset=preset,
                        name=planned.name, out=runs_dir, device=device, progress=False, resume=True,
                        seed=planned.seed, train_res=planned.train_res, thread_invariant=thread_invariant)
        minutes = (time.time() - t0) / 60
        click.echo(f"[{index[planned.name]}/{len(index)}] {planned.name} ({minutes:.1f} min so far)", err=True)
        t_run = time.time()
        try:
            run(cfg)
            for res in planned.also_eval:
                if str(res) not in _read_metrics(runs_dir / planned.name).get("by_res", {}):
                    evaluate(runs_dir / planned.name, res, progress=False)
        except FacebenchError as err:  # recorded in the run folder; the grid goes on
            click.echo(f"  {planned.name} failed: {err}", err=True)
            continue
        by_res = _read_metrics(runs_dir / planned.name).get("by_res", {})
        nmes = ", ".join(f"{r}: {100 * v['nme']:.2f} %" for r, v in sorted(by_res.items(), key=lambda kv: int(kv[0])))
        click.echo(f"  {planned.name}: NME {nmes} ({(time.time() - t_run) / 60:.1f} min)", err=True)


def _read_metrics(run_dir: Path) -> dict:
    return read_json(run_dir / METRICS) if (run_dir / METRICS).exists() else {}


def _memory_estimate(preset: Preset) -> str:
    return {"smoke": "0.5 GiB", "cpu": "3 GiB",
            "paper": "a GPU with 11 GiB (the paper's 1080 Ti)"}.get(preset.name, "?")
