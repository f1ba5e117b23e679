"""The shared machinery of the holistic heatmap baselines (``hg2``, ``fan4``, ``cpm6``, ``cnn67``).

A holistic method sees the whole face crop at ``preset.holistic_res`` (256) and predicts every
landmark from one multi-stage trunk (stacked hourglass, CPM, CNN-6/7): ``(B, 3, S, S)`` float in
[-0.5, 0.5] -> a tuple of ``(B, N, S/4, S/4)`` heatmaps, one per stage. Training regresses
Gaussian targets (``facebench.nn.heatmaps``: sigma = 1.75 heatmap px, as the reference implementations
draw them) with an MSE on *every* stage's output (intermediate supervision), through
``facebench.nn.train.fit`` (Adam, the preset's schedule, checkpoints, resume, DDP). Weights start
from Glorot / Xavier-uniform (the paper's [16], as ADC), except the heatmap heads,
which start at zero (every heatmap starts flat at 0).
Training data pass through the preset's augmentation (``augment``, the recipe of
``facebench/nn/augment_recipe.py`` by default, as for ADC). Prediction decodes the last stage
by argmax with the quarter-pixel shift; the runner upscales the 256 predictions to R.

A subclass sets ``name`` and ``stages`` and builds its trunk in :meth:`build_trunk`.
"""

from __future__ import annotations

import io
from abc import abstractmethod
from dataclasses import asdict, dataclass
from functools import partial
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from facebench.core.errors import FacebenchError
from facebench.core.io import atomic_write_bytes
from facebench.core.prepared import PreparedDataset
from facebench.core.schemes import get_scheme
from facebench.method import Method, TrainContext
from facebench.nn.augment import check_augment
from facebench.nn.blocks import count_parameters, glorot_init_
from facebench.nn.dataset import LandmarkDataset
from facebench.nn.heatmaps import SIGMA, decode_to_image, heatmap_targets
from facebench.nn.train import TrainConfig, fit, resolve_device

PREDICT_BATCH = 16  # images per forward pass in predict (bounded memory at any test-set size)


@dataclass
class HolisticConfig:
    """Everything needed to rebuild a holistic trunk and read its output (saved in the model file)."""

    method: str          # hg2 | fan4 | cpm6 | cnn67: the class that wrote the file
    scheme: str          # landmark scheme name (ibug68 | studio89)
    num_points: int
    width: int           # trunk feature channels (preset.holistic_width, else preset.width)
    depth: int           # hourglass levels / CNN-6/7 poolings per stage (preset.depth)
    stages: int          # stacks or stages, each supervised
    input_size: int = 256
    sigma: float = SIGMA  # Gaussian target std, heatmap px


def to_model_input(images: Tensor) -> Tensor:
    """uint8 images (B, 3, S, S) -> float (B, 3, S, S) in [-0.5, 0.5]."""
    return images.float() / 255.0 - 0.5


def heatmap_loss(model: nn.Module, batch: dict[str, Any], sigma: float = SIGMA) -> tuple[Tensor, dict[str, float]]:
    """Sum over stages of the mean squared error to Gaussian targets (intermediate supervision).

    batch: ``image`` uint8 (B, 3, S, S), ``landmarks`` (B, N, 2) in px of S. Logs each stage's MSE.
    """
    device = next(model.parameters()).device
    x = to_model_input(batch["image"].to(device, non_blocking=True))
    outputs = model(x)  # tuple of (B, N, S/4, S/4)
    landmarks = batch["landmarks"].to(device, torch.float32, non_blocking=True)
    targets = heatmap_targets(landmarks, x.shape[-1], outputs[-1].shape[-1], sigma)
    losses = [F.mse_loss(out, targets) for out in outputs]
    return torch.stack(losses).sum(), {f"mse_stage{i + 1}": float(loss.detach()) for i, loss in enumerate(losses)}


class HolisticHeatmapMethod(Method):
    """Base of the holistic heatmap methods: train / save / load / predict around one trunk."""

    family: ClassVar[str] = "holistic"
    native_res: ClassVar[bool] = False
    model_file: ClassVar[str] = "model.pt"
    stages: ClassVar[int]

    def __init__(self, cfg: HolisticConfig, trunk: nn.Module, device: str = "auto") -> None:
        self.cfg = cfg
        self.scheme = get_scheme(cfg.scheme)
        self.device = resolve_device(device)
        self.trunk = trunk.to(self.device).eval()

    @classmethod
    @abstractmethod
    def build_trunk(cls, cfg: HolisticConfig) -> nn.Module:
        """The untrained trunk for ``cfg``: (B, 3, S, S) -> tuple of (B, N, S/4, S/4) logits."""

    @classmethod
    @abstractmethod
    def heads(cls, trunk: nn.Module) -> list[nn.Conv2d]:
        """The convolutions that output each stage's N heatmap logits (zero-initialised)."""

    # -- train --------------------------------------------------------------------------------------

    @classmethod
    def train(cls, ctx: TrainContext) -> "HolisticHeatmapMethod":
        """Train on the train split at ``preset.holistic_res`` whatever ``ctx.res`` says (the runner
        upscales to R). ``ctx.init``: start from another model file of the same method and size.
        Options: ``augment`` (default: the preset's) and ``sigma`` (target std, heatmap px)."""
        options = dict(ctx.options)
        augment = check_augment(str(options.pop("augment", ctx.preset.augment)))
        sigma = float(options.pop("sigma", SIGMA))
        if options:
            raise FacebenchError(f"{cls.name} takes no method options but augment and sigma, "
                                 f"got {', '.join(map(str, options))}")
        preset = ctx.preset
        res = preset.holistic_res
        data = PreparedDataset(ctx.data_root)
        # proxy_res=res: the network sees one rendition, the one the training recipe warps
        dataset = LandmarkDataset(data, "train", res, proxy_res=res, max_samples=preset.max_train_samples,
                                  augment=augment)
        if len(dataset) == 0:
            raise FacebenchError("the prepared dataset has no training samples", data.root)
        cfg = HolisticConfig(method=cls.name, scheme=data.scheme.name, num_points=data.scheme.num_points,
                             width=preset.holistic_width or preset.width, depth=preset.depth, stages=cls.stages,
                             input_size=res, sigma=sigma)
        torch.manual_seed(ctx.seed)  # the initial weights depend on the seed only
        trunk = glorot_init_(cls.build_trunk(cfg))
        for head in cls.heads(trunk):
            # Zero heads start every heatmap at 0, already near the sparse Gaussian targets; with Glorot
            # heads the first ~200 steps only undo the initial output variance (measured, see docs).
            nn.init.zeros_(head.weight)
            nn.init.zeros_(head.bias)
        if ctx.init is not None:
            start = cls.load(ctx.init, device="cpu")
            if asdict(start.cfg) != asdict(cfg):
                raise FacebenchError(f"--init model was built as {asdict(start.cfg)}, this run needs {asdict(cfg)}",
                                     ctx.init)
            trunk.load_state_dict(start.trunk.state_dict())
        epochs = ctx.epochs if ctx.epochs is not None else preset.epochs_for(native_res=False, initialised=False)
        train_cfg = TrainConfig(epochs=epochs,
                                batch_size=preset.batch_for(res), lr=preset.lr,
                                lr_drop_epoch=preset.lr_drop_for(epochs),
                                lr_after=preset.lr_after, **ctx.loop_options())
        trunk = fit(trunk, partial(heatmap_loss, sigma=cfg.sigma), dataset, train_cfg, ctx.run_dir, resume=ctx.resume)
        return cls(cfg, trunk, ctx.device)

    # -- files --------------------------------------------------------------------------------------

    def save(self, path: Path) -> None:
        """Atomically write ``{"config": asdict(cfg), "state_dict": ...}`` (CPU tensors)."""
        state = {k: v.detach().cpu() for k, v in self.trunk.state_dict().items()}
        buf = io.BytesIO()
        torch.save({"config": asdict(self.cfg), "state_dict": state}, buf)
        atomic_write_bytes(Path(path), buf.getvalue())

    @classmethod
    def load(cls, path: Path, device: str = "auto") -> "HolisticHeatmapMethod":
        """Read a file written by :meth:`save` (``weights_only=True``); it must hold this method."""
        path = Path(path)
        if not path.is_file():
            raise FacebenchError("model file not found", path)
        try:
            blob = torch.load(path, map_location="cpu", weights_only=True)
        except Exception as err:  # truncated, foreign or unsafe file: one line, no traceback
            raise FacebenchError(f"cannot read model file ({type(err).__name__}: {err})", path) from None
        if not isinstance(blob, dict) or not {"config", "state_dict"} <= set(blob):
            raise FacebenchError("not a facebench model file (no config / state_dict)", path)
        try:
            cfg = HolisticConfig(**blob["config"])
        except TypeError as err:
            raise FacebenchError(f"model config does not match {cls.name}'s ({err})", path) from None
        if cfg.method != cls.name:
            raise FacebenchError(f"holds a {cfg.method} model, not {cls.name}", path)
        trunk = cls.build_trunk(cfg)
        try:
            trunk.load_state_dict(blob["state_dict"])
        except RuntimeError as err:
            raise FacebenchError(f"weights do not fit the {cls.name} architecture ({str(err).splitlines()[0]})",
                                 path) from None
        return cls(cfg, trunk, device)

    # -- predict ------------------------------------------------------------------------------------

    def predict(self, images: np.ndarray) -> np.ndarray:
        """images (B, S, S, 3) uint8 RGB, S = the training size -> (B, N, 2) float64 px of S."""
        images = np.asarray(images)
        size = self.cfg.input_size
        if images.ndim != 4 or images.shape[1:] != (size, size, 3) or images.dtype != np.uint8:
            raise FacebenchError(f"{self.name} expects (B, {size}, {size}, 3) uint8 images, "
                                 f"got {images.shape} {images.dtype}")
        self.trunk.eval()
        out = []
        with torch.inference_mode():
            for start in range(0, len(images), PREDICT_BATCH):
                chunk = torch.from_numpy(np.ascontiguousarray(images[start:start + PREDICT_BATCH]))
                x = to_model_input(chunk.permute(0, 3, 1, 2).to(self.device))
                heatmaps = self.trunk(x)[-1].float()  # (B, N, S/4, S/4), the final stage
                out.append(decode_to_image(heatmaps, size).double().cpu().numpy())
        return np.concatenate(out) if out else np.zeros((0, self.cfg.num_points, 2))

    def num_parameters(self) -> int:
        return count_parameters(self.trunk)
