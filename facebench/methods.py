"""The table of methods: every landmark detector facebench trains or evaluates, behind one interface.

A method is trained on a prepared split at one resolution, saved to / loaded from one model file,
and predicts (B, N, 2) landmarks for a batch of square face crops. Holistic baselines are trained
at 256 and evaluated at R by upscaling their 256 predictions (``native_res = False``); ADC and its
variants are trained and run at R (``native_res = True``). The runner (``facebench/runner.py``)
does the rest: which split, which resolution, scoring and the run folder.

``METHODS`` (bottom of the file) is a plain dict from CLI name to class.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, ClassVar

import numpy as np

from facebench.errors import FacebenchError
from facebench.presets import Preset
from facebench.schemes import Scheme


@dataclass
class TrainContext:
    """What a method needs to train, besides the data."""

    data_root: Path                     # prepared dataset folder
    res: int                            # training resolution
    preset: Preset
    run_dir: Path                       # where checkpoints / train_log.csv go
    device: str = "auto"                # auto | cpu | cuda | cuda:N
    epochs: int | None = None           # overrides preset.epochs
    init: Path | None = None            # model file to initialise from (progressive init)
    resume: bool = False                # continue from the run's last checkpoint
    seed: int = 0
    workers: int = 0                    # data-loading worker processes
    progress: bool = True
    options: dict = field(default_factory=dict)  # method-specific options (e.g. dlib's tree depth)


class Method(ABC):
    """One landmark detector. Subclasses set ``name``, ``model_file`` and ``native_res``."""

    name: ClassVar[str]
    model_file: ClassVar[str] = "model.pt"   # file name inside the run folder
    native_res: ClassVar[bool] = True        # False: trained at preset.holistic_res, upscaled to R
    any_train_res: ClassVar[bool] = False    # True: a holistic method that can train at any R (--train-res)

    scheme: Scheme

    @classmethod
    @abstractmethod
    def train(cls, ctx: TrainContext) -> "Method":
        """Train on ``ctx.data_root``'s train split at ``ctx.res`` and return the fitted method."""

    @abstractmethod
    def save(self, path: Path) -> None:
        """Write the model file (atomically)."""

    @classmethod
    @abstractmethod
    def load(cls, path: Path, device: str = "auto") -> "Method":
        """Load a model file written by :meth:`save` (torch files with ``weights_only=True``)."""

    @classmethod
    def load_for_data(cls, path: Path, device: str, data_options: dict, options: dict) -> "Method":
        """Load a model file to run on a prepared dataset made with ``data_options``
        (``dataset.json["options"]``) and the run's method ``options``. Most methods need neither;
        dlib-ert takes its face box convention from them (an external .dat has none of its own)."""
        return cls.load(path, device=device)

    @abstractmethod
    def predict(self, images: np.ndarray) -> np.ndarray:
        """images: (B, R, R, 3) uint8 RGB square face crops -> (B, N, 2) float64 landmarks in
        those images' pixels (facebench convention, see geometry.py)."""

    def num_parameters(self) -> int:
        """Trainable parameter count (0 for non-neural methods)."""
        return 0


def _registry() -> dict[str, type[Method]]:
    """Import the method classes (torch and dlib load only when a method is asked for)."""
    from adc_model.method import ADC, ADCCNN67, ADCCPM, ADCLight, ADCStack2
    from baselines.dlib_ert import DlibERT
    from baselines.hourglass import FAN4, HG2
    from baselines.cpm import CPM6
    from baselines.cnn67 import CNN67

    classes = (ADC, ADCLight, HG2, FAN4, DlibERT, CPM6, CNN67, ADCCPM, ADCCNN67, ADCStack2)
    return {c.name: c for c in classes}


METHOD_NAMES: tuple[str, ...] = (
    "adc", "adc-light", "hg2", "fan4", "dlib-ert", "cpm6", "cnn67", "adc-cpm", "adc-cnn67", "adc-stack2",
)


def get_method(name: str) -> type[Method]:
    """The class behind a CLI method name; a clear error for an unknown one."""
    if name not in METHOD_NAMES:
        raise FacebenchError(f"unknown method {name!r} (known: {', '.join(METHOD_NAMES)})")
    return _registry()[name]
