"""``facebench reproduce``: the paper's experiment grid at a chosen scale, end to end.

The protocol (paper sections 4.4-4.5):
- baselines (dlib-ert, hg2, fan4) trained at 256 and evaluated at every resolution of the preset
  by upscaling their 256 predictions;
- ADC and ADC-light trained at every resolution of the preset, lowest first, each initialised
  from the same method's run one resolution down (progressive initialisation); ``adc`` is not run
  at the preset's ``light_at`` resolutions (the paper trains only the light variant at 4096);
- the ablation at 1024 (or the preset's resolution closest to it): adc-stack2, adc-cpm,
  adc-cnn67, and the holistic cpm6 / cnn67;
- every ADC-family model also tested at the preset's top resolution (Figure 8);
- the report (``index.html``, tables, figures) from all run folders.

Finished runs are skipped when the command is run again; a run that fails (e.g. out of memory)
is recorded in its run folder and shown in the report instead of stopping the grid.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from pathlib import Path

import click

from facebench.presets import Preset

BASELINES = ("dlib-ert", "hg2", "fan4")
ADC_FAMILY = ("adc", "adc-light")
ABLATION_NATIVE = ("adc-stack2", "adc-cpm", "adc-cnn67")
ABLATION_HOLISTIC = ("cpm6", "cnn67")


@dataclass(frozen=True)
class PlannedRun:
    method: str
    res: int                       # primary evaluation resolution (= training res for ADC)
    also_eval: tuple[int, ...]     # further evaluation resolutions (upscaling / Figure 8)

    @property
    def name(self) -> str:
        return f"{self.method}-{self.res}"


def ablation_res(preset: Preset) -> int:
    """The preset's resolution closest to 1024 (the paper's ablation resolution)."""
    return min(preset.resolutions, key=lambda r: abs(math.log2(r) - 10))


def plan(preset: Preset) -> list[PlannedRun]:
    """Every run of the grid, in an order that respects progressive initialisation."""
    res = tuple(sorted(preset.resolutions))
    top, low, abl = res[-1], res[0], ablation_res(preset)
    runs: list[PlannedRun] = []
    for m in BASELINES:
        runs.append(PlannedRun(m, low, tuple(r for r in res if r != low)))
    for r in res:
        for m in ADC_FAMILY:
            if m == "adc" and r in preset.light_at:
                continue
            runs.append(PlannedRun(m, r, (top,) if r != top else ()))
    for m in ABLATION_HOLISTIC:
        runs.append(PlannedRun(m, abl, ()))
    for m in ABLATION_NATIVE:
        runs.append(PlannedRun(m, abl, (top,) if abl != top else ()))
    return runs
