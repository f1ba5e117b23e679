"""The table of methods: every landmark detector facebench trains or evaluates, by CLI name, and the
lists derived from it (families, the paper's grid). The contract the classes implement is
:mod:`facebench.method`; the classes are in ``adc_model/`` and ``baselines/``.

``METHODS`` is a plain dict from CLI name to class; every other list of method names is built from
it or checked against it below.
"""

from __future__ import annotations

from adc_model.method import ADC, ADCCNN67, ADCCPM, ADCLight, ADCStack2
from baselines.ablations import CNN67, CPM6
from baselines.dlib_ert import DlibERT
from baselines.hourglass import FAN4, HG2
from facebench.core.errors import FacebenchError
from facebench.method import Method

METHODS: dict[str, type[Method]] = {c.name: c for c in (
    ADC, ADCLight, HG2, FAN4, DlibERT, CPM6, CNN67, ADCCPM, ADCCNN67, ADCStack2)}
METHOD_NAMES: tuple[str, ...] = tuple(METHODS)


def family(name: str) -> tuple[str, ...]:
    """The methods of family ``name`` (one of :data:`facebench.method.FAMILIES`), in table order."""
    return tuple(n for n, c in METHODS.items() if c.family == name)


ADC_FAMILY: tuple[str, ...] = family("adc")          # trained and run at R (attention-driven cropping)
HOLISTIC: tuple[str, ...] = family("holistic")      # heatmap networks trained at 256, upscaled to R
NEURAL: tuple[str, ...] = tuple(n for n, c in METHODS.items() if c.neural)

# The paper's experiment grid (``facebench reproduce``, sections 4.4-4.5).
BASELINES: tuple[str, ...] = ("dlib-ert", "hg2", "fan4")              # trained at 256, upscaled to every R
MAIN_ADC: tuple[str, ...] = ("adc", "adc-light")                      # every R, progressive initialisation
ABLATION_NATIVE: tuple[str, ...] = ("adc-stack2", "adc-cpm", "adc-cnn67")
ABLATION_HOLISTIC: tuple[str, ...] = ("cpm6", "cnn67")
AT_EVERY_RES: tuple[str, ...] = tuple(n for n in BASELINES if METHODS[n].any_train_res)  # trained at each R
SPEED_DEFAULT: tuple[str, ...] = MAIN_ADC + BASELINES                      # `bench speed`'s default


def get_method(name: str) -> type[Method]:
    """The class behind a CLI method name; a clear error for an unknown one."""
    if name not in METHODS:
        raise FacebenchError(f"unknown method {name!r} (known: {', '.join(METHOD_NAMES)})")
    return METHODS[name]

