"""ADCNet, the attention-driven cropping network of Chandran et al., "Attention-Driven Cropping for
Very High Resolution Facial Landmark Detection" (CVPR 2020), Figure 1.

A global trunk on the 256 proxy predicts latent heatmaps for all N points; their soft-argmax gives
coarse landmarks; each of the four regions (eyes, nose, mouth) gets a box around its coarse
points, which is cropped from the full-resolution image (RoIAlign, differentiable w.r.t. the box)
and resampled to ``crop x crop``; a regional trunk per region predicts latent heatmaps of that
region's points on the crop; their soft-argmax, mapped back through the box, replaces the coarse
points of that region.

``jaw_regions`` = k > 0 (facebench's extension, not the paper's) adds k regions that cut the face
contour into runs of consecutive points (``adc_model.regions.attention_regions``), each refined
like the paper's four: in the paper only the global trunk places the contour.

Memory: the full-resolution image enters as uint8 on the host and stays there; only the crops
(B, 3, crop, crop) travel to the model's device (see :func:`adc_model.ops.roi_crop`).

``adc-stack2`` (the paper's "additional regional stage", section 4.5) stacks a second regional
hourglass per region on the same crop, Newell-style: the second hourglass gets the first one's
features and heatmaps re-injected (``StackedHourglass(stacks=2)``), and both stages are
supervised (``refined_stages``). Same crop, so no second RoI crop of the 4K image is needed.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from typing import Iterator, NamedTuple, Sequence

import numpy as np
import torch
from torch import Tensor, nn
from torch.utils.checkpoint import checkpoint

from adc_model.ops import batch_side, roi_crop_batch, soft_argmax2d, spatial_softmax2d
from adc_model.regions import MAX_JAW_REGIONS, attention_regions, region_boxes
from facebench.core import geometry
from facebench.core.pixels import resample
from facebench.core.schemes import get_scheme
from facebench.core.tiled import ImageSource
from facebench.nn.augment_recipe import degrade_crops
from facebench.nn.blocks import glorot_init_
from facebench.nn.cnn67 import CNN67Trunk
from facebench.nn.cpm import CPMTrunk
from facebench.nn.hourglass import StackedHourglass

TRUNKS = ("hourglass", "cpm", "cnn67")


@dataclass
class ADCConfig:
    scheme: str                    # landmark scheme name (ibug68 | studio89): N and the regions
    width: int                     # trunk feature channels
    depth: int                     # hourglass levels
    crop: int                      # regional crop side C (px); divisible by 4 * 2**depth
    light: bool = False            # depthwise-separable 3x3 convolutions
    trunk: str = "hourglass"       # hourglass | cpm | cnn67 (the ablation of section 4.5)
    regional_stages: int = 1       # 2 = adc-stack2
    proxy: int = 256               # side of the low-resolution proxy the global trunk sees
    margin: float = 0.25           # region box margin, fraction of the region's extent per edge
    min_side: float = 0.125        # smallest region box side, fraction of the image side
    noise: float = 0.1             # training noise on box width / height (relative std)
    shift: float = 0.0             # training noise on box position (std, fraction of the side)
    max_subsamples: int = 0        # RoIAlign samples per crop pixel and axis, at most (0: grows with the box)
    checkpoint: bool = False       # recompute each trunk's activations in backward (memory for compute)
    global_width: int = 0          # the global trunk's channels (0: ``width``); it alone predicts all N heatmaps
    beta: float = 1.0              # inverse softmax temperature: logits x beta before the spatial softmax
    global_stages: int = 1         # stacked hourglasses in the global trunk, each supervised (Newell et al.)
    jaw_regions: int = 0           # >0: also refine the face contour in this many regional crops (not the paper's)

    def __post_init__(self) -> None:
        if self.trunk not in TRUNKS:
            raise ValueError(f"unknown trunk {self.trunk!r} (known: {', '.join(TRUNKS)})")
        if self.global_stages < 1 or self.regional_stages < 1:
            raise ValueError(f"global_stages and regional_stages must be >= 1, got {self.global_stages}, "
                             f"{self.regional_stages}")
        if not 0 <= self.jaw_regions <= MAX_JAW_REGIONS:
            raise ValueError(f"jaw_regions must be 0..{MAX_JAW_REGIONS}, got {self.jaw_regions}")
        if not self.beta > 0:
            raise ValueError(f"beta must be > 0, got {self.beta}")
        if self.crop % 4 or self.proxy % 4:
            raise ValueError(f"crop ({self.crop}) and proxy ({self.proxy}) must be divisible by 4")


class ADCOutput(NamedTuple):
    global_heatmaps: Tensor                 # (B, N, h, w) latent, after spatial softmax
    coarse: Tensor                          # (B, N, 2) soft-argmax, input-image px
    boxes: Tensor                           # (B, K, 4) region boxes, input-image px (K = 4 + jaw_regions)
    crops: tuple[Tensor, ...]               # per region (B, 3, C, C) float 0..255, model device
    regional_heatmaps: tuple[Tensor, ...]   # per region (B, n_r, c, c), after spatial softmax
    refined: Tensor                         # (B, N, 2) coarse with regional points replaced
    refined_stages: tuple[Tensor, ...]      # (B, N, 2) per regional stage; the last is ``refined``
    coarse_stages: tuple[Tensor, ...] = ()  # (B, N, 2) per global stage; the last is ``coarse``


def build_trunk(kind: str, num_points: int, width: int, depth: int, stages: int, light: bool) -> nn.Module:
    """A trunk (B, 3, S, S) -> tuple of ``stages`` (B, num_points, S/4, S/4) logits."""
    if kind == "hourglass":
        return StackedHourglass(num_points, width, depth, stacks=stages, light=light)
    if kind == "cpm":
        return CPMTrunk(num_points, width, depth, stages=stages, light=light)
    if kind == "cnn67":
        return CNN67Trunk(num_points, width, depth, stages=stages, light=light)
    raise ValueError(f"unknown trunk {kind!r}")


def normalise_image(x: Tensor) -> Tensor:
    """uint8-valued pixels (any dtype, 0..255) -> float in [-0.5, 0.5], the models' input range."""
    return (x if x.is_floating_point() else x.float()) / 255.0 - 0.5


def make_proxy(images: Tensor, side: int) -> Tensor:
    """The uint8 (B, 3, side, side) proxy of uint8 images (B, 3, R, R) on the host, resampled as
    ``facebench prepare`` resamples (area averaging down, bilinear up), one image at a time and
    without a float copy of the full-resolution image."""
    if images.shape[-1] == side:
        return images
    out = [torch.from_numpy(resample(np.ascontiguousarray(img.permute(1, 2, 0).numpy()), side)) for img in images]
    return torch.stack(out).permute(0, 3, 1, 2).contiguous()


@contextlib.contextmanager
def _frozen_batchnorm_stats(module: nn.Module) -> Iterator[None]:
    """BatchNorm running statistics left alone (momentum 0) while a checkpointed trunk's forward
    is recomputed in backward: the batch was already counted once, in the real forward."""
    norms = [m for m in module.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
    saved = [(m.momentum, None if m.num_batches_tracked is None else m.num_batches_tracked.clone()) for m in norms]
    for m in norms:
        m.momentum = 0.0
    try:
        yield
    finally:
        for m, (momentum, tracked) in zip(norms, saved):
            m.momentum = momentum
            if tracked is not None:
                m.num_batches_tracked.copy_(tracked)


class ADCNet(nn.Module):
    """Global trunk + one regional trunk per region; ``forward(proxy, image) -> ADCOutput``.

    The trunks run in float32; the heads (spatial softmax, soft-argmax) and every coordinate after
    them in float64. At 4096 one regional heatmap pixel spans ~64 image pixels, and float32 rounding
    in the soft-argmax alone moved landmarks by up to 2e-3 px (measured, docs/export.md); the heads
    are a negligible part of the cost. The RoI crops are sampled in the trunks' precision."""

    def __init__(self, cfg: ADCConfig) -> None:
        super().__init__()
        self.cfg = cfg
        scheme = get_scheme(cfg.scheme)
        self.region_names, self.regions = attention_regions(scheme, cfg.jaw_regions)
        self.global_trunk = build_trunk(cfg.trunk, scheme.num_points, cfg.global_width or cfg.width, cfg.depth,
                                        cfg.global_stages, cfg.light)
        self.regional = nn.ModuleDict({
            name: build_trunk(cfg.trunk, len(ids), cfg.width, cfg.depth, cfg.regional_stages, cfg.light)
            for name, ids in zip(self.region_names, self.regions)
        })
        self.register_buffer("regional_ids", torch.tensor([i for ids in self.regions for i in ids]), persistent=False)
        glorot_init_(self)

    @property
    def device(self) -> torch.device:
        return next(self.parameters()).device

    def _trunk(self, trunk: nn.Module, x: Tensor) -> tuple[Tensor, ...]:
        """Run a trunk; with ``cfg.checkpoint`` (training) keep only its input and output and
        recompute the rest in backward, so at most one trunk's activations exist at a time."""
        if not (self.cfg.checkpoint and self.training and torch.is_grad_enabled()):
            return trunk(x)
        return checkpoint(trunk, x, use_reentrant=False,
                          context_fn=lambda: (contextlib.nullcontext(), _frozen_batchnorm_stats(trunk)))

    def forward(self, proxy: Tensor, image: Tensor | Sequence[ImageSource], affine: Tensor | None = None,
                degrade: Tensor | None = None) -> ADCOutput:
        """proxy: (B, 3, P, P) float in [-0.5, 0.5] on the model's device; image: (B, 3, R, R)
        uint8 (or float 0..255), anywhere (keep a large one on the host), or B image sources
        (:mod:`facebench.core.tiled`: only the pixels under the region boxes are ever read).

        Training recipe (facebench/nn/augment_recipe.py): ``affine`` (B, 2, 3) maps the frame of the
        (augmented) proxy, scaled to R px, to the image's px and is composed into the crops'
        sampling grids; ``degrade`` (B, 3) blurs / noises / JPEG-compresses the crops."""
        res = batch_side(image)
        global_stages = self._trunk(self.global_trunk, proxy)            # stages x (B, N, P/4, P/4)
        coarse_stages = []
        for logits in global_stages:   # the heads in float64: see the class docstring
            heat = spatial_softmax2d(logits.double() * self.cfg.beta)
            coarse_stages.append(geometry.rescale_points(soft_argmax2d(heat), logits.shape[-1], res))  # R px
        coarse = coarse_stages[-1]                                          # (B, N, 2) R px
        boxes = region_boxes(coarse, self.regions, res, self.cfg.margin, self.cfg.min_side * res,
                             self.cfg.noise if self.training else 0.0,
                             shift=self.cfg.shift if self.training else 0.0)  # (B, K, 4)
        crops = roi_crop_batch(image, boxes.to(logits.dtype), self.cfg.crop, self.cfg.max_subsamples,
                               None if affine is None else affine.to(logits.dtype))  # (B, K, 3, C, C), trunk dtype
        if degrade is not None:
            crops = degrade_crops(crops, degrade)
        per_stage: list[list[Tensor]] = [[] for _ in range(self.cfg.regional_stages)]
        regional_heatmaps = []
        for r, name in enumerate(self.region_names):
            stages = self._trunk(self.regional[name], normalise_image(crops[:, r]))  # stages x (B, n_r, C/4, C/4)
            for s, stage_logits in enumerate(stages):
                rheat = spatial_softmax2d(stage_logits.double() * self.cfg.beta)
                in_crop = geometry.rescale_points(soft_argmax2d(rheat), stage_logits.shape[-1], self.cfg.crop)
                per_stage[s].append(geometry.from_crop(in_crop, boxes[:, r], self.cfg.crop))  # (B, n_r, 2) R px
            regional_heatmaps.append(rheat)
        refined_stages = tuple(coarse.index_copy(1, self.regional_ids, torch.cat(pts, dim=1)) for pts in per_stage)
        return ADCOutput(heat, coarse, boxes, tuple(crops.unbind(1)), tuple(regional_heatmaps),
                         refined_stages[-1], refined_stages, tuple(coarse_stages))
