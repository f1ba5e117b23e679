"""Presets size every neural method for a machine: ``smoke`` (seconds, for tests), ``cpu`` (a 2-core
CPU: the README's job in tens of minutes; the grid's wall time is in docs/RESULTS.md) and ``paper``
(the paper's Table 1 crop and batch sizes and its schedule, for a GPU). Presets are dataclasses,
not files.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Mapping

from facebench.core.errors import FacebenchError


@dataclass(frozen=True)
class Preset:
    name: str
    resolutions: tuple[int, ...]          # the resolution grid `reproduce` runs
    epochs: int                           # epochs per training run
    lr: float                             # Adam learning rate ...
    lr_drop_epoch: int                    # ... dropped after this many epochs ...
    lr_after: float                       # ... to this
    batch_size: Mapping[int, int]         # training batch size by input resolution
    crop_size: Mapping[int, int]          # ADC regional crop side by input resolution (Table 1)
    width: int                            # hourglass feature channels
    depth: int                            # hourglass levels (downsamplings)
    light_at: tuple[int, ...] = ()        # resolutions where only the light ADC variant is run
    max_train_samples: int | None = None  # cap on training samples (None: the whole split)
    holistic_res: int = 256               # where holistic baselines train (then upscaled)
    epochs_init: int | None = None        # epochs of a run initialised from a lower resolution (None: epochs)
    holistic_epochs: int | None = None    # epochs of the holistic methods at holistic_res (None: epochs)
    augment: str = "standard"             # training augmentation of every neural method (nn/augment_recipe.py)
    holistic_width: int | None = None     # feature channels of the holistic methods (None: width)
    extra: Mapping[str, object] = field(default_factory=dict)

    def epochs_for(self, native_res: bool, initialised: bool) -> int:
        """Epochs of one training run: holistic methods (trained once, at 256) get
        ``holistic_epochs``; a native-resolution run initialised from a lower resolution's model
        (progressive initialisation) fine-tunes for ``epochs_init``; anything else gets ``epochs``."""
        if not native_res:
            return self.holistic_epochs or self.epochs
        return (self.epochs_init or self.epochs) if initialised else self.epochs

    def lr_drop_for(self, epochs: int) -> int:
        """The learning-rate drop epoch of a run of ``epochs`` epochs: ``lr_drop_epoch`` scaled from
        ``epochs`` (the drop comes at the same fraction of every schedule)."""
        return max(1, round(self.lr_drop_epoch * epochs / self.epochs))

    def batch_for(self, res: int) -> int:
        return self.batch_size[_nearest(self.batch_size, res)]

    def crop_for(self, res: int) -> int:
        return self.crop_size[_nearest(self.crop_size, res)]


def _nearest(table: Mapping[int, int], res: int) -> int:
    """The table's key closest to ``res`` on a log scale (tables are keyed by 256 ... 4096)."""
    import math

    return min(table, key=lambda k: abs(math.log2(k) - math.log2(res)))


_RES = (256, 512, 1024, 2048, 4096)

PRESETS: Mapping[str, Preset] = MappingProxyType({
    "smoke": Preset(
        name="smoke", resolutions=(256, 512), epochs=1, lr=1e-3, lr_drop_epoch=30, lr_after=1e-4,
        batch_size=MappingProxyType({r: 4 for r in _RES}),
        crop_size=MappingProxyType({r: 32 for r in _RES}),
        width=8, depth=2, max_train_samples=8,
        extra=MappingProxyType({"adc_regional_units": "proxy"}),   # see adc_model/loss.py
    ),
    "cpu": Preset(
        name="cpu", resolutions=_RES, epochs=96, lr=1e-3, lr_drop_epoch=72, lr_after=1e-4,
        epochs_init=24, holistic_epochs=32, holistic_width=64,
        batch_size=MappingProxyType({256: 8, 512: 8, 1024: 8, 2048: 4, 4096: 4}),
        crop_size=MappingProxyType({256: 64, 512: 64, 1024: 64, 2048: 96, 4096: 128}),
        width=64, depth=3, light_at=(4096,),
        # Holistic methods (hg2, fan4, cpm6, cnn67) train once at 256 and are upscaled: width 64,
        # 32 epochs. At width 32 hg2 could not fit the jaw even on the training set (89 heatmaps
        # from 32 features; train jaw NME 40 %); width 64 fits it (docs/RESULTS.md).
        # ADC (session 7, docs/RESULTS.md "ADC's schedule and proxy"): the global trunk on a 128
        # proxy (`adc_proxy`, area-averaged from the prepared 256 level) instead of the paper's 256,
        # which costs 2.3x less per step (the global trunk at 256 was 80 % of a step) for the same
        # NME at 24 epochs (9.31 against 9.12 %); what the saving buys is the schedule: 96 epochs
        # from scratch (6.31 % at 512 against 7.23 at 48 and 9.31 at 24), 24 to fine-tune a lower
        # resolution's model (progressive initialisation). Regional trunks at width 64, the global
        # one at 96 (`adc_global_width`; it alone predicts all N heatmaps): 5.72 +- 0.11 % against
        # 6.23 +- 0.12 at 64 (2 seeds each), for 1.18x the time. Regional loss in proxy px
        # (adc_model/loss.py); 3x the learning rate (3e-3 -> 3e-4; 6e-3 was no better).
        extra=MappingProxyType({"adc_regional_units": "proxy", "adc_lr_scale": 3.0, "adc_proxy": 128,
                                "adc_global_width": 96}),
    ),
    "paper": Preset(
        name="paper", resolutions=_RES, epochs=60, lr=1e-4, lr_drop_epoch=30, lr_after=1e-5,
        batch_size=MappingProxyType({256: 8, 512: 8, 1024: 4, 2048: 4, 4096: 4}),
        crop_size=MappingProxyType({256: 128, 512: 128, 1024: 256, 2048: 192, 4096: 256}),
        width=256, depth=4, light_at=(4096,),
        # ADC recomputes each trunk's activations in backward: peak memory nearly independent of R
        # and of Table 1's crop size (docs/bench/adc.md), for ~1 extra forward pass of compute.
        extra=MappingProxyType({"adc_checkpoint": True}),
    ),
})


def get_preset(name: str) -> Preset:
    try:
        return PRESETS[name]
    except KeyError:
        raise FacebenchError(f"unknown preset {name!r} (known: {', '.join(PRESETS)})") from None
