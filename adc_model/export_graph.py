"""ADC as one traceable graph for ONNX: full-resolution image in, landmarks out.

:class:`PortableADC` wraps a trained :class:`adc_model.model.ADCNet` and recomputes, with static
tensor shapes only, everything :meth:`adc_model.method.ADC.predict` does around the network:

* the proxy: ``cv2.INTER_AREA`` of an R x R image to P x P, for R = P * 2**j, is the mean over
  k x k blocks (k = R / P) rounded to uint8 (OpenCV rounds half up for k = 2 and half to even for
  larger k; both reproduced, checked in the tests);
* the region boxes (``adc_model.regions.region_boxes``, unchanged: plain arithmetic);
* the RoI crop (:func:`adc_model.ops.roi_crop`): the mean of k x k bilinear samples per crop pixel
  with ``k = ceil(box side / C)`` (capped at ``max_subsamples`` in models saved with a cap; else at
  ``ceil(R / C)``, a box the size of the image). ``roi_crop`` slices a pixel window
  whose size depends on the box and pools with a box-dependent k; here the samples of all
  ``max_subsamples`` candidates are gathered (rows, then columns) with a mask ``a < k``, and the
  sample positions are computed in float64, so the crop equals ``roi_crop``'s to float32 rounding;
* the regional stage and the map back to image pixels (unchanged).

The trunks run in float32; the heads (spatial softmax, soft-argmax) and every coordinate after
them in float64, as in :class:`adc_model.model.ADCNet` (at 4096 one regional heatmap pixel spans
~64 image pixels, and float32 heads had moved landmarks by up to ~2e-3 px); the graph stays within
1e-3 px of ``ADC.predict`` (measured, docs/export.md).

Input: (1, R, R, 3) uint8 RGB, R fixed at export. Outputs: ``landmarks`` (1, N, 2) float64 in
image pixels (facebench convention, pixel centres at integers), ``coarse`` (1, N, 2) the global
stage's points, ``boxes`` (1, 4, 4) the region boxes, and ``cov_global`` / ``cov_regional``
(1, N, 2, 2) each point's heatmap covariance in image pixels (:mod:`adc_model.uncertainty`; NaN
where no region refines the point), all float64.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from adc_model.model import ADCNet, normalise_image
from adc_model.ops import soft_argmax2d, spatial_softmax2d
from adc_model.regions import region_boxes
from adc_model.uncertainty import heatmap_covariance
from facebench.core import geometry

OUTPUT_NAMES = ("landmarks", "coarse", "boxes", "cov_global", "cov_regional")


def proxy_factor(res: int, proxy: int) -> int:
    """k = res / proxy when the proxy is an exact k x k area average of a res image (k a power of 2)."""
    k = res // proxy
    if res < proxy or k * proxy != res or k & (k - 1):
        raise ValueError(f"the portable model needs a resolution of {proxy} * 2**j, got {res}")
    return k


def area_proxy(image: Tensor, k: int) -> Tensor:
    """uint8-valued (1, 3, R, R) float -> the (1, 3, R/k, R/k) proxy ``cv2.INTER_AREA`` gives, as float."""
    if k == 1:
        return image
    mean = F.avg_pool2d(image, k)   # exact: integer sums below 2**24 divided by a power of two
    return torch.floor(mean + 0.5) if k == 2 else torch.round(mean)


def gather_crop(image: Tensor, box: Tensor, size: int, max_subsamples: int) -> Tensor:
    """RoIAlign of one box (4,) from image (3, H, W) uint8 (or float) -> (3, size, size) float, as
    :func:`adc_model.ops.roi_crop` computes it (border replication outside the image)."""
    _, height, width = image.shape
    b = box.double()
    extent = (box[2:] - box[:2]).double()   # (2,) w, h in float32 first, as roi_crop (k can hinge on it)
    k = torch.clamp(torch.ceil(extent.max() / size - 1e-9), 1, max_subsamples)   # samples per pixel and axis
    sub = torch.arange(max_subsamples, dtype=torch.float64)
    pix = torch.arange(size, dtype=torch.float64)
    fine = pix[:, None] * k + sub[None, :]                                  # (size, K) fine-grid index
    valid = (sub[None, :] < k).double().expand(size, max_subsamples)       # (size, K)
    weights = []
    indices = []
    for axis, limit in ((0, width), (1, height)):
        pos = (fine + 0.5) * (extent[axis] / (size * k)) + b[axis]          # sample centres, image px
        pos = pos.clamp(0.0, limit - 1.0)                                   # border replication
        low = torch.floor(pos)
        frac = pos - low
        i0 = low.long()
        i1 = (i0 + 1).clamp(max=limit - 1)
        w = torch.stack([(1.0 - frac) * valid, frac * valid], dim=-1) / k  # (size, K, 2)
        weights.append(w.reshape(size, -1).float())                         # (size, 2K)
        indices.append(torch.stack([i0, i1], dim=-1).reshape(-1))           # (size * 2K,)
    (wx, wy), (ix, iy) = weights, indices
    rows = image.index_select(1, iy)                                        # (3, size*2K, W), still uint8
    patch = rows.index_select(2, ix).float().reshape(3, size, iy.numel() // size, size, ix.numel() // size)
    return torch.einsum("jb,cjbia,ia->cji", wy, patch, wx)


class PortableADC(nn.Module):
    """``forward(image (1, R, R, 3) uint8) -> (landmarks, coarse, boxes, cov_global, cov_regional)``;
    see the module docstring."""

    def __init__(self, net: ADCNet, res: int) -> None:
        super().__init__()
        self.net = net.eval()
        self.res = res
        self.k = proxy_factor(res, net.cfg.proxy)
        # roi_crop's k grows with the box (no cap unless the model has one); a graph needs a static
        # bound: a box as large as the image, ceil(R / C). Only a box larger than the image is pooled
        # with fewer samples than roi_crop would take.
        self.max_k = net.cfg.max_subsamples or math.ceil(res / net.cfg.crop)

    def forward(self, image: Tensor) -> tuple[Tensor, Tensor, Tensor, Tensor, Tensor]:
        cfg, res = self.net.cfg, self.res
        full = image[0].permute(2, 0, 1)                                    # (3, R, R) uint8
        proxy = area_proxy(full[None].float(), self.k)
        logits = self.net.global_trunk(normalise_image(proxy))[-1].double()   # the heads in float64 (see above)
        heat = spatial_softmax2d(logits * cfg.beta)
        coarse = geometry.rescale_points(soft_argmax2d(heat), logits.shape[-1], res)
        cov_global = heatmap_covariance(heat) * (res / logits.shape[-1]) ** 2
        boxes = region_boxes(coarse, self.net.regions, res, cfg.margin, cfg.min_side * res, 0.0)   # (1, K, 4)
        refined, covs = [], []
        for r, name in enumerate(self.net.region_names):
            crop = gather_crop(full, boxes[0, r], cfg.crop, self.max_k)[None]
            stage_logits = self.net.regional[name](normalise_image(crop))[-1].double()
            rheat = spatial_softmax2d(stage_logits * cfg.beta)
            in_crop = geometry.rescale_points(soft_argmax2d(rheat), stage_logits.shape[-1], cfg.crop)
            refined.append(geometry.from_crop(in_crop, boxes[:, r], cfg.crop))
            scale = (boxes[:, r, 2:] - boxes[:, r, :2]) / stage_logits.shape[-1]       # heatmap px -> image px
            covs.append(heatmap_covariance(rheat) * scale[:, None, :, None] * scale[:, None, None, :])
        ids = self.net.regional_ids
        landmarks = coarse.index_copy(1, ids, torch.cat(refined, dim=1))
        cov_regional = torch.full_like(cov_global, float("nan")).index_copy(1, ids, torch.cat(covs, dim=1))
        return landmarks, coarse, boxes, cov_global, cov_regional
