"""Per-landmark uncertainty from ADC's latent heatmaps.

After the spatial softmax each landmark's heatmap is a probability distribution over pixel centres;
soft-argmax is its mean. Its covariance (2 x 2, in heatmap pixels)

    C = sum_p H(p) (p - mu)(p - mu)^T

mapped to image pixels by the same linear maps that take the mean there (``rescale_points`` from
the heatmap to the proxy / crop, ``from_crop`` from the crop to the image: per-axis scales s, so
C_img = diag(s) C diag(s)) is the spread this module returns, for the global stage (every point)
and the regional stage (its region's points; NaN for points no region refines, e.g. the jaw).
"""

from __future__ import annotations

import numpy as np
import torch
from torch import Tensor

from adc_model.model import ADCNet, ADCOutput, make_proxy, normalise_image
from adc_model.ops import batch_side, soft_argmax2d
from facebench.core.tiled import ImageSource

PREDICT_BATCH = 8


def heatmap_covariance(heatmaps: Tensor) -> Tensor:
    """(B, N, H, W) probabilities -> (B, N, 2, 2) covariance of the (x, y) pixel centre, heatmap px."""
    _, _, h, w = heatmaps.shape
    xs = torch.arange(w, dtype=heatmaps.dtype, device=heatmaps.device)
    ys = torch.arange(h, dtype=heatmaps.dtype, device=heatmaps.device)
    mean = soft_argmax2d(heatmaps)                                    # (B, N, 2)
    dx = xs[None, None, None, :] - mean[..., 0, None, None]           # (B, N, 1, W)
    dy = ys[None, None, :, None] - mean[..., 1, None, None]           # (B, N, H, 1)
    cxx = (heatmaps * dx * dx).sum(dim=(-2, -1))
    cyy = (heatmaps * dy * dy).sum(dim=(-2, -1))
    cxy = (heatmaps * dx * dy).sum(dim=(-2, -1))
    return torch.stack([torch.stack([cxx, cxy], -1), torch.stack([cxy, cyy], -1)], -2)


def _scaled(cov: Tensor, scale: Tensor) -> Tensor:
    """diag(scale) cov diag(scale) for cov (..., 2, 2) and scale (..., 2)."""
    return cov * scale[..., :, None] * scale[..., None, :]


def adc_covariances(net: ADCNet, out: ADCOutput, res: int) -> tuple[Tensor, Tensor]:
    """(global (B, N, 2, 2), regional (B, N, 2, 2), NaN where no region refines) in image px."""
    heat = out.global_heatmaps
    cov_global = heatmap_covariance(heat) * (res / heat.shape[-1]) ** 2
    cov_regional = torch.full_like(cov_global, float("nan"))
    crop = net.cfg.crop
    for r, (ids, rheat) in enumerate(zip(net.regions, out.regional_heatmaps)):
        box = out.boxes[:, r]                                          # (B, 4)
        scale = (box[:, 2:] - box[:, :2]) / crop * (crop / rheat.shape[-1])   # heatmap px -> image px per axis
        cov_regional[:, list(ids)] = _scaled(heatmap_covariance(rheat), scale[:, None, :])
    return cov_global, cov_regional


def predict_with_spread(net: ADCNet, proxy: int, images: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """images (B, R, R, 3) uint8 -> (landmarks (B, N, 2), global covariance (B, N, 2, 2), regional
    covariance (B, N, 2, 2)), float64, image px; the landmarks are exactly ``ADC.predict``'s."""
    batches = []
    for i in range(0, len(images), PREDICT_BATCH):
        image = torch.from_numpy(np.ascontiguousarray(images[i:i + PREDICT_BATCH])).permute(0, 3, 1, 2)
        batches.append(spread_batch(net, make_proxy(image, proxy), image))
    return _concat(batches)


def predict_sources(net: ADCNet, proxies: Tensor, sources: list[ImageSource]
                    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Like :func:`predict_with_spread` for images already split into their renditions: uint8
    proxies (B, 3, P, P) (a prepared dataset's proxy level) and B image sources of side R, from
    which only the pixels under the region boxes are read (:mod:`facebench.core.tiled`)."""
    return _concat([spread_batch(net, proxies[i:i + PREDICT_BATCH], sources[i:i + PREDICT_BATCH])
                    for i in range(0, len(sources), PREDICT_BATCH)])


def spread_batch(net: ADCNet, proxy: Tensor, image: Tensor | list[ImageSource]) -> tuple[np.ndarray, ...]:
    """One batch: uint8 proxy (B, 3, P, P) and the R image(s) -> (landmarks, global, regional
    covariance) as float64 arrays, eval mode, no gradients."""
    if net.training:   # (eval() walks every module: ~7 ms per call on the cpu preset's ADC)
        net.eval()
    with torch.no_grad():
        out = net(normalise_image(proxy.to(net.device)), image)
        g, r = adc_covariances(net, out, batch_side(image))
    return tuple(t.double().cpu().numpy() for t in (out.refined, g, r))


def _concat(batches: list[tuple[np.ndarray, ...]]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    return tuple(np.concatenate([b[k] for b in batches]) for k in range(3))
