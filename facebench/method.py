"""The contract every landmark detector implements: :class:`Method` and what it is trained with,
:class:`TrainContext`.

A method is trained on a prepared split at one resolution, saved to / loaded from one model file,
and predicts (B, N, 2) landmarks for a batch of square face crops. Holistic baselines are trained
at 256 and evaluated at R by upscaling their 256 predictions (``native_res = False``); ADC and its
variants are trained and run at R (``native_res = True``). The runner (``facebench/run/runner.py``)
does the rest: which split, which resolution, scoring and the run folder. The methods themselves
are in ``adc_model/`` and ``baselines/``; the table of them is ``facebench/methods.py``.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, ClassVar

import numpy as np

from facebench.core.prepared import PreparedDataset
from facebench.core.presets import Preset
from facebench.core.schemes import Scheme

FAMILIES: tuple[str, ...] = ("adc", "holistic", "ert")   # attention-driven cropping, holistic heatmaps, dlib's ERT


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
    amp: bool = False                   # CUDA only: bf16 autocast (facebench.nn.train.TrainConfig)
    channels_last: bool = False         # CUDA only: NHWC layout
    max_steps: int | None = None        # bench train: stop after this many optimiser steps
    on_step: Callable[[dict], None] | None = None   # bench train: per-step timings
    prefetch: bool | None = None        # ADC: decode crop tiles in the data loader (None: when workers > 0)

    def loop_options(self) -> dict[str, Any]:
        """The training loop's settings that come from the run, not from the method
        (``TrainConfig(**ctx.loop_options(), ...)``)."""
        return {"seed": self.seed, "device": self.device, "workers": self.workers, "progress": self.progress,
                "amp": self.amp, "channels_last": self.channels_last, "max_steps": self.max_steps,
                "on_step": self.on_step}


class Method(ABC):
    """One landmark detector. Subclasses set ``name`` and ``family`` and, where the defaults do not
    fit, the other class attributes and optional methods below (every optional part is declared
    here with its default, so callers never ask ``hasattr`` or look at a name)."""

    name: ClassVar[str]                      # the CLI name (the table facebench/methods.py lists them)
    family: ClassVar[str]                    # one of FAMILIES
    model_file: ClassVar[str] = "model.pt"   # file name inside the run folder
    native_res: ClassVar[bool] = True        # False: trained at preset.holistic_res, upscaled to R
    any_train_res: ClassVar[bool] = False    # True: a holistic method that can train at any R (--train-res)
    neural: ClassVar[bool] = True            # trained by facebench.nn.train (False: dlib's ERT)
    writes_examples: ClassVar[bool] = False  # True: write_examples writes the run folder's examples.npz

    scheme: Scheme                           # the landmark scheme the fitted model predicts

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

    def predict_spread(self, images: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
        """Like :meth:`predict`, with each point's uncertainty: (landmarks (B, N, 2), global-stage
        covariance (B, N, 2, 2), regional-stage covariance (B, N, 2, 2), NaN where no region refines
        the point), image px (``facebench/eval/uncertainty.py``). None: the method has none (default)."""
        return None

    def predict_prepared(self, data: PreparedDataset, ids: list[str], res: int
                         ) -> tuple[np.ndarray, tuple[np.ndarray, np.ndarray] | None]:
        """Landmarks (B, N, 2) float64 of prepared samples ``ids`` at ``res`` px, and their spread
        (global and regional covariances, as :meth:`predict_spread`) or None. The default decodes the
        images and calls :meth:`predict_spread` / :meth:`predict`; a method that needs only part of
        the image (ADC: the proxy level and the pixels under its region boxes) reads only that."""
        images = np.stack([data.load_image(i, res) for i in ids])
        spread = self.predict_spread(images)
        if spread is None:
            return np.asarray(self.predict(images), dtype=np.float64), None
        return np.asarray(spread[0], dtype=np.float64), (spread[1], spread[2])

    def num_parameters(self) -> int:
        """Trainable parameter count (0 for non-neural methods)."""
        return 0

    def run_info(self) -> dict | None:
        """What a run folder's ``metrics.json`` records about this model besides its metrics
        (``run_info``); None: nothing (the key is left out)."""
        return None

    def write_examples(self, path: Path, images: np.ndarray, gt: np.ndarray, ids: list[str]) -> None:
        """Write ``examples.npz`` (run-folder format) for images (K, R, R, 3) and gt (K, N, 2) in R px;
        only methods with ``writes_examples = True`` implement it."""
        raise NotImplementedError(f"{self.name} writes no examples")
