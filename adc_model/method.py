"""The ADC family behind facebench's Method interface: ``adc``, ``adc-light``, ``adc-cpm``,
``adc-cnn67`` and ``adc-stack2`` (see ``facebench/method.py`` for the interface and ``facebench/methods.py``
for the method table).

Each is trained at its evaluation resolution R with the preset's crop size and batch size for R
(the paper's Table 1 in the ``paper`` preset), optionally initialised from the same method's model
at a lower resolution (progressive initialisation, section 3.4: the network is fully
convolutional, so the weights fit any R and crop size).
"""

from __future__ import annotations

import io
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import torch

from adc_model.loss import POINT_LOSSES, REGIONAL_UNITS, adc_loss
from adc_model.model import ADCConfig, ADCNet, ADCOutput, make_proxy, normalise_image
from adc_model.ops import batch_side, prefetch_crops
from adc_model.regions import attention_regions, region_boxes
from adc_model.uncertainty import predict_sources, predict_with_spread
from facebench.core.errors import FacebenchError
from facebench.core.io import atomic_write_bytes
from facebench.core.prepared import PreparedDataset
from facebench.core.presets import Preset
from facebench.core.schemes import Scheme, get_scheme
from facebench.core.tiled import ImageSource
from facebench.method import Method, TrainContext
from facebench.nn.augment import check_augment
from facebench.nn.blocks import count_parameters
from facebench.nn.dataset import LandmarkDataset
from facebench.nn.train import TrainConfig, fit, resolve_device, seed_everything

PREDICT_BATCH = 8   # images per forward pass at predict time (the 4K image itself stays on the host)
RECIPE_BOX_SHIFT = 0.05   # region box position noise under the standard recipe (std, fraction of the side)


@dataclass
class ADCRunConfig:
    """Everything that defines a trained ADC model: architecture, resolution and schedule."""

    model: ADCConfig
    res: int                        # training resolution R
    preset: str
    epochs: int
    batch_size: int
    lr: float
    lr_drop_epoch: int
    lr_after: float
    regional_units: str = "image"   # eq. 1's regional term in R px ("image") or proxy px (see loss.py)
    max_train_samples: int | None = None
    augment: str = "none"           # augmentation of training images (facebench.nn.augment, nn.augment_recipe)
    point_loss: str = "l2"          # eq. 1's squared distance, or "l1" (adc_model/loss.py)
    heatmap_reg: float = 0.0        # weight of the heatmaps' JS regulariser (0: latent heatmaps, as the paper)
    heatmap_sigma: float = 1.0      # its Gaussians' std, heatmap px

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "ADCRunConfig":
        d = dict(d)
        return cls(model=ADCConfig(**d.pop("model")), **d)


@dataclass(frozen=True)
class RegionPrefetch:
    """The training dataset's ``prefetch`` for ADC (:class:`facebench.nn.dataset.LandmarkDataset`):
    decode, in the DataLoader worker, the tiles under the ground-truth region boxes grown by
    ``grow`` (1.5 covers the boxes' size and position jitter and most of the model's error), at the
    level the model's crops will read. Picklable, for worker processes."""

    regions: tuple[tuple[int, ...], ...]
    margin: float
    min_side: float
    crop: int
    grow: float = 1.5

    def __call__(self, image: ImageSource, landmarks: np.ndarray, affine: np.ndarray | None) -> None:
        res = image.width
        boxes = region_boxes(torch.from_numpy(landmarks)[None], self.regions, res, self.margin, self.min_side * res)[0]
        prefetch_crops(image, boxes, self.crop, None if affine is None else torch.from_numpy(affine), self.grow)


class ADCLoss:
    """``fit``'s loss function: moves a batch to the model's device (all but the full-resolution
    image, which stays on the host) and evaluates eq. 1."""

    def __init__(self, regional_ids: tuple[int, ...], proxy: int, units: str, point_loss: str = "l2",
                 heatmap_reg: float = 0.0, regions: tuple[tuple[int, ...], ...] = (), crop: int = 0,
                 heatmap_sigma: float = 1.0) -> None:
        self.regional_ids, self.proxy, self.units = list(regional_ids), proxy, units
        self.point_loss, self.heatmap_reg, self.heatmap_sigma = point_loss, heatmap_reg, heatmap_sigma
        self.regions, self.crop = regions, crop

    @classmethod
    def for_run(cls, cfg: "ADCRunConfig", scheme: Scheme) -> "ADCLoss":
        regions = attention_regions(scheme, cfg.model.jaw_regions)[1]
        return cls(tuple(i for ids in regions for i in ids), cfg.model.proxy, cfg.regional_units, cfg.point_loss,
                   cfg.heatmap_reg, regions, cfg.model.crop, cfg.heatmap_sigma)

    def __call__(self, model: torch.nn.Module, batch: dict[str, Any]) -> tuple[torch.Tensor, dict[str, float]]:
        device = next(model.parameters()).device
        proxy = normalise_image(batch["proxy"].to(device, non_blocking=True))   # (B, 3, 256, 256)
        affine = batch.get("affine")                                # (B, 2, 3): the training recipe's
        degrade = batch.get("degrade")                              # transform and crop degradations
        out = model(proxy, batch["image"], affine, degrade)   # image: (B, 3, R, R) uint8 or B sources, host
        gt = batch["landmarks"].to(device, non_blocking=True)              # (B, N, 2) R px
        gt_proxy = batch["proxy_landmarks"].to(device, non_blocking=True)  # (B, N, 2) proxy px
        res = batch_side(batch["image"])
        return adc_loss(out, gt_proxy, gt, res, self.regional_ids, self.proxy, self.units, self.point_loss,
                        self.heatmap_reg, self.regions, self.crop, self.heatmap_sigma)


class ADC(Method):
    """Attention-driven cropping with hourglass trunks (the paper's main model)."""

    name: ClassVar[str] = "adc"
    family: ClassVar[str] = "adc"
    native_res: ClassVar[bool] = True
    writes_examples: ClassVar[bool] = True
    light: ClassVar[bool] = False
    trunk: ClassVar[str] = "hourglass"
    regional_stages: ClassVar[int] = 1

    def __init__(self, net: ADCNet, config: ADCRunConfig, device: torch.device | None = None) -> None:
        self.net = net.to(device or torch.device("cpu")).eval()
        self.config = config
        self.scheme: Scheme = get_scheme(config.model.scheme)

    # ---- configuration ------------------------------------------------------------------------
    @classmethod
    def config_for(cls, preset: Preset, res: int, scheme: str, epochs: int | None = None,
                   options: dict[str, Any] | None = None) -> ADCRunConfig:
        """The run configuration of this method at ``res`` under ``preset``; ``options`` override
        ADCConfig fields (e.g. ``noise``, ``margin``), ``regional_units``, ``augment``, ``point_loss``,
        ``heatmap_reg`` or ``heatmap_sigma``."""
        model_fields = {f.name for f in fields(ADCConfig)} - {"scheme", "light", "trunk", "regional_stages"}
        options = dict(options or {})
        run_options = {"regional_units", "augment", "point_loss", "heatmap_reg", "heatmap_sigma"}
        unknown = sorted(set(options) - model_fields - run_options)
        if unknown:
            raise FacebenchError(f"unknown option(s) for {cls.name}: {', '.join(unknown)} "
                                 f"(known: {', '.join(sorted(model_fields | run_options))})")
        units = str(options.pop("regional_units", preset.extra.get("adc_regional_units", "image")))
        if units not in REGIONAL_UNITS:
            raise FacebenchError(f"regional_units must be one of {', '.join(REGIONAL_UNITS)}, got {units!r}")
        augment = check_augment(str(options.pop("augment", preset.augment)))
        point_loss = str(options.pop("point_loss", "l2"))
        if point_loss not in POINT_LOSSES:
            raise FacebenchError(f"point_loss must be one of {', '.join(POINT_LOSSES)}, got {point_loss!r}")
        try:
            heatmap_reg = float(options.pop("heatmap_reg", 0.0))
            heatmap_sigma = float(options.pop("heatmap_sigma", 1.0))
        except (TypeError, ValueError) as err:
            raise FacebenchError(f"heatmap_reg / heatmap_sigma must be numbers ({err})") from None
        if heatmap_reg < 0 or heatmap_sigma <= 0:
            raise FacebenchError(f"heatmap_reg must be >= 0 and heatmap_sigma > 0, got {heatmap_reg}, {heatmap_sigma}")
        model_args = {"width": preset.width, "depth": preset.depth, "crop": preset.crop_for(res),
                      "checkpoint": bool(preset.extra.get("adc_checkpoint", False)),
                      "global_width": int(preset.extra.get("adc_global_width", 0)),
                      "proxy": int(preset.extra.get("adc_proxy", ADCConfig.proxy)),
                      "jaw_regions": int(preset.extra.get("adc_jaw_regions", 0)),
                      "shift": RECIPE_BOX_SHIFT if augment == "standard" else 0.0, **options}
        try:
            model = ADCConfig(scheme=scheme, light=cls.light, trunk=cls.trunk,
                              regional_stages=cls.regional_stages, **model_args)
        except (TypeError, ValueError) as err:
            raise FacebenchError(f"invalid {cls.name} configuration: {err}") from None
        lr_scale = float(preset.extra.get("adc_lr_scale", 1.0))   # the cpu preset trains ADC faster
        epochs = preset.epochs if epochs is None else epochs
        return ADCRunConfig(model=model, res=res, preset=preset.name, epochs=epochs,
                            batch_size=preset.batch_for(res), lr=preset.lr * lr_scale,
                            lr_drop_epoch=preset.lr_drop_for(epochs), lr_after=preset.lr_after * lr_scale,
                            regional_units=units, max_train_samples=preset.max_train_samples,
                            augment=augment, point_loss=point_loss, heatmap_reg=heatmap_reg,
                            heatmap_sigma=heatmap_sigma)

    # ---- training -----------------------------------------------------------------------------
    @classmethod
    def train(cls, ctx: TrainContext) -> "ADC":
        data = PreparedDataset(ctx.data_root)
        cfg = cls.config_for(ctx.preset, ctx.res, data.scheme.name, ctx.epochs, ctx.options)
        seed_everything(ctx.seed)  # the initial weights depend on the seed only
        net = ADCNet(cfg.model)
        if ctx.init is not None:
            _load_weights(net, Path(ctx.init))
        # With loader workers, they decode the crops' tiles beside the training process; without, the
        # step decodes exactly the tiles its boxes need (prefetching would only add work).
        use_prefetch = ctx.workers > 0 if ctx.prefetch is None else ctx.prefetch
        regions = attention_regions(data.scheme, cfg.model.jaw_regions)[1]
        prefetch = (RegionPrefetch(regions, cfg.model.margin, cfg.model.min_side, cfg.model.crop)
                    if use_prefetch else None)
        dataset = LandmarkDataset(data, "train", ctx.res, proxy_res=cfg.model.proxy, max_samples=cfg.max_train_samples,
                                  augment=cfg.augment, prefetch=prefetch)
        if len(dataset) == 0:
            raise FacebenchError("the prepared dataset has no training samples", ctx.data_root)
        loss_fn = ADCLoss.for_run(cfg, data.scheme)
        train_cfg = TrainConfig(epochs=cfg.epochs, batch_size=cfg.batch_size, lr=cfg.lr,
                                lr_drop_epoch=cfg.lr_drop_epoch, lr_after=cfg.lr_after, **ctx.loop_options())
        fit(net, loss_fn, dataset, train_cfg, ctx.run_dir, resume=ctx.resume)
        return cls(net, cfg, next(net.parameters()).device)

    # ---- files --------------------------------------------------------------------------------
    def save(self, path: Path) -> None:
        state = {k: v.detach().cpu() for k, v in self.net.state_dict().items()}
        buf = io.BytesIO()
        torch.save({"method": self.name, "config": asdict(self.config), "state_dict": state}, buf)
        atomic_write_bytes(Path(path), buf.getvalue())

    @classmethod
    def load(cls, path: Path, device: str = "auto") -> "ADC":
        blob = _read_model_file(Path(path))
        if blob.get("method", cls.name) != cls.name:
            raise FacebenchError(f"model file holds a {blob['method']!r} model, not {cls.name!r}", path)
        try:
            config = ADCRunConfig.from_dict(blob["config"])
            net = ADCNet(config.model)
            net.load_state_dict(blob["state_dict"])
        except (KeyError, TypeError, ValueError, RuntimeError) as err:
            raise FacebenchError(f"not a valid {cls.name} model file ({type(err).__name__}: {err})", path) from None
        return cls(net, config, resolve_device(device))

    def num_parameters(self) -> int:
        return count_parameters(self.net)

    # ---- inference ----------------------------------------------------------------------------
    def _forward(self, images: np.ndarray) -> tuple[ADCOutput, torch.Tensor]:
        """(B, R, R, 3) uint8 -> (ADCOutput, the uint8 proxy (B, 3, P, P)), eval mode, no gradients."""
        if images.ndim != 4 or images.shape[-1] != 3 or images.shape[1] != images.shape[2]:
            raise ValueError(f"expected square RGB images (B, R, R, 3), got {images.shape}")
        image = torch.from_numpy(np.ascontiguousarray(images)).permute(0, 3, 1, 2)  # (B, 3, R, R) uint8, host
        device = self.net.device
        proxy = make_proxy(image, self.config.model.proxy)
        if self.net.training:
            self.net.eval()
        with torch.no_grad():
            return self.net(normalise_image(proxy.to(device)), image), proxy

    def predict(self, images: np.ndarray) -> np.ndarray:
        out = [self._forward(images[i:i + PREDICT_BATCH])[0].refined.double().cpu().numpy()
               for i in range(0, len(images), PREDICT_BATCH)]
        return np.concatenate(out) if out else np.zeros((0, self.scheme.num_points, 2))

    def predict_spread(self, images: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Landmarks and the covariances of the latent heatmaps (adc_model/uncertainty.py)."""
        return predict_with_spread(self.net, self.config.model.proxy, images)

    def predict_prepared(self, data: PreparedDataset, ids: list[str], res: int
                         ) -> tuple[np.ndarray, tuple[np.ndarray, np.ndarray] | None]:
        """The proxy from the dataset's proxy level, and from the R image only the tiles under the
        region boxes, at the pyramid level their detail needs: the cost does not grow with R."""
        proxy = self.config.model.proxy
        if res <= proxy or data.proxy_level(proxy) is None:
            return super().predict_prepared(data, ids, res)
        proxies = torch.stack([torch.from_numpy(data.load_proxy(i, proxy)).permute(2, 0, 1) for i in ids])
        points, cov_g, cov_r = predict_sources(self.net, proxies, [data.open_pyramid(i, res) for i in ids])
        return points, (cov_g, cov_r)

    def write_examples(self, path: Path, images: np.ndarray, gt: np.ndarray, ids: list[str]) -> None:
        """Write ``examples.npz`` (run-folder contract) for images (K, R, R, 3), gt (K, N, 2) R px."""
        out, proxy = self._forward(images)
        arrays: dict[str, np.ndarray] = {
            "ids": np.asarray(ids, dtype=str), "res": np.asarray(images.shape[1]),
            "region_names": np.asarray(self.net.region_names, dtype=str),
            "proxy": proxy.permute(0, 2, 3, 1).numpy(),
            "global_heatmaps": out.global_heatmaps.cpu().numpy().astype(np.float16),
            "coarse": out.coarse.double().cpu().numpy(), "refined": out.refined.double().cpu().numpy(),
            "gt": np.asarray(gt, dtype=np.float64), "boxes": out.boxes.double().cpu().numpy(),
        }
        for name, ids_r, crop, heat in zip(self.net.region_names, self.net.regions, out.crops, out.regional_heatmaps):
            arrays[f"crops_{name}"] = crop.round().clamp(0, 255).to(torch.uint8).permute(0, 2, 3, 1).cpu().numpy()
            arrays[f"regional_heatmaps_{name}"] = heat.cpu().numpy().astype(np.float16)
            arrays[f"region_points_{name}"] = np.asarray(ids_r, dtype=np.int64)
        buf = io.BytesIO()
        np.savez_compressed(buf, **arrays)
        atomic_write_bytes(Path(path), buf.getvalue())


class ADCLight(ADC):
    """ADC with depthwise-separable 3x3 convolutions (the paper's 'light' variant, section 3.4)."""

    name: ClassVar[str] = "adc-light"
    light: ClassVar[bool] = True


class ADCCPM(ADC):
    """ADC with a single-stage CPM in place of every hourglass (ablation, section 4.5)."""

    name: ClassVar[str] = "adc-cpm"
    trunk: ClassVar[str] = "cpm"


class ADCCNN67(ADC):
    """ADC with a single-stage CNN-6/7 in place of every hourglass (ablation, section 4.5)."""

    name: ClassVar[str] = "adc-cnn67"
    trunk: ClassVar[str] = "cnn67"


class ADCStack2(ADC):
    """ADC with a second regional hourglass per region (ablation, section 4.5; see model.py)."""

    name: ClassVar[str] = "adc-stack2"
    regional_stages: ClassVar[int] = 2


# ---- helpers -----------------------------------------------------------------------------------

def _read_model_file(path: Path) -> dict[str, Any]:
    """A model file's dict, loaded safely (``weights_only=True``)."""
    if not path.is_file():
        raise FacebenchError("model file not found", path)
    try:
        blob = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:  # truncated / foreign file: one line for the user
        raise FacebenchError(f"cannot read model file ({type(err).__name__}: {err})", path) from None
    if not isinstance(blob, dict) or "state_dict" not in blob:
        raise FacebenchError("not a facebench model file (no state_dict)", path)
    return blob


def _load_weights(net: ADCNet, path: Path) -> None:
    """Progressive initialisation: copy a lower-resolution model's weights into ``net``."""
    if path.is_dir():
        path = path / ADC.model_file
    state = _read_model_file(path)["state_dict"]
    try:
        net.load_state_dict(state)
    except RuntimeError as err:
        first = str(err).strip().splitlines()
        raise FacebenchError(f"cannot initialise from this model (different method or size): "
                             f"{first[1].strip() if len(first) > 1 else first[0]}", path) from None
