"""The training loss of ADC, eq. 1 of Chandran et al. (CVPR 2020):

    loss = 1/N_total sum_n ||p_n^g - gt_n^lr||^2  +  1/N_att sum_n ||p_n^r - gt_n^hr||^2

The global term compares the coarse points with the ground truth at the 256 proxy (in proxy px);
the regional term compares the regionally refined points with the ground truth at the input
resolution R. Both are averaged over the batch.

Units of the regional term (``regional_units``):

- ``"image"`` — eq. 1 literally, R px. At R = 4096 an error of k proxy px is 16 k px, so the
  regional term outweighs the global one by (R/256)^2 = 256x. The regional networks do not
  mind (Adam is invariant to a constant loss scale), but the global network, which receives
  gradients from both terms (through the crop boxes), is then trained mostly by the regional
  term. The ``paper`` preset uses this, as the paper does.
- ``"proxy"`` — the regional error measured in proxy px (divided by R/256, squared), so that a
  point's error counts the same in both terms at every R and the balance between global and
  regional learning does not change along the progressive-initialisation ladder. The ``smoke``
  and ``cpu`` presets use this (set in ``Preset.extra["adc_regional_units"]``): with their short
  schedules and higher learning rate it keeps every R on one stable setting.

Crop pixels were considered and rejected: the box side varies per region, per sample and with
the training noise, so crop-pixel units would weight samples by an arbitrary zoom factor.

Two options the paper does not have (documented choices, docs/RESULTS.md):

- ``point_loss="l1"`` replaces the squared distance by the L1 distance |dx| + |dy|, the choice of
  integral (soft-argmax) regression in Sun et al., "Integral Human Pose Regression" (ECCV 2018):
  the squared loss seeks the mean of an ambiguous point (a jaw point slides along the contour), L1
  its median, and its gradient does not vanish as the error shrinks.
- ``heatmap_reg=w`` adds ``w`` times the Jensen-Shannon divergence between each latent heatmap and
  a normalised Gaussian of ``heatmap_sigma`` heatmap px at the ground truth, the regulariser of
  Nibali et al., "Numerical Coordinate Regression with Convolutional Neural Networks" (DSNT, 2018).
  The heatmaps stay probability maps read by soft-argmax; the regulariser only makes them compact
  and unimodal, which soft-argmax needs for a curved contour (whose mean lies inside the curve).
  Regional targets are placed through the (detached) region boxes.
"""

from __future__ import annotations

from typing import Sequence

import torch
from torch import Tensor

from adc_model.model import ADCOutput
from facebench.core import geometry
from facebench.nn.heatmaps import render_gaussians

REGIONAL_UNITS = ("image", "proxy")
POINT_LOSSES = ("l2", "l1")


def squared_error(pred: Tensor, gt: Tensor) -> Tensor:
    """Mean over points and batch of the squared Euclidean distance: (B, n, 2), (B, n, 2) -> ()."""
    return ((pred - gt) ** 2).sum(dim=-1).mean()


def l1_error(pred: Tensor, gt: Tensor) -> Tensor:
    """Mean over points and batch of |dx| + |dy|: (B, n, 2), (B, n, 2) -> ()."""
    return (pred - gt).abs().sum(dim=-1).mean()


def gaussian_targets(points: Tensor, h: int, w: int, sigma: float) -> tuple[Tensor, Tensor]:
    """Normalised Gaussians (B, n, h, w) at heatmap-px points (B, n, 2) (pixel centres at integers),
    and a (B, n) mask of the points whose Gaussian has mass inside the map (others are not supervised)."""
    g = render_gaussians(points, h, w, sigma)                               # (B, n, h, w), peak 1
    mass = g.sum(dim=(-2, -1))
    valid = mass > 1e-3
    return g / mass.clamp_min(1e-12)[..., None, None], valid


def js_divergence(p: Tensor, q: Tensor, mask: Tensor) -> Tensor:
    """Mean over the masked maps of JS(p || q) for probability maps (B, n, h, w); (B, n) mask."""
    m = 0.5 * (p + q)

    def kl(a: Tensor) -> Tensor:
        return (a * (torch.log(a.clamp_min(1e-12)) - torch.log(m.clamp_min(1e-12)))).sum(dim=(-2, -1))

    js = 0.5 * (kl(p) + kl(q))
    weight = mask.to(js.dtype)
    return (js * weight).sum() / weight.sum().clamp_min(1.0)


def heatmap_regulariser(out: ADCOutput, gt_proxy: Tensor, gt: Tensor, regions: Sequence[Sequence[int]],
                        crop: int, proxy: int, sigma: float) -> Tensor:
    """DSNT's regulariser: the mean JS divergence of the global heatmaps (all N points) and of the
    regional heatmaps (each region's points, placed in its crop) from Gaussians at the ground truth."""
    h, w = out.global_heatmaps.shape[-2:]
    target, valid = gaussian_targets(geometry.rescale_points(gt_proxy.to(out.global_heatmaps.dtype), proxy, w),
                                     h, w, sigma)
    terms = [js_divergence(out.global_heatmaps, target, valid)]
    for r, (ids, heat) in enumerate(zip(regions, out.regional_heatmaps)):
        c = heat.shape[-1]
        in_crop = geometry.to_crop(gt[:, list(ids)].to(heat.dtype), out.boxes[:, r].detach().to(heat.dtype), crop)
        target, valid = gaussian_targets(geometry.rescale_points(in_crop, crop, c), c, c, sigma)
        terms.append(js_divergence(heat, target, valid))
    return sum(terms) / len(terms)


def adc_loss(out: ADCOutput, gt_proxy: Tensor, gt: Tensor, res: int, regional_ids: Sequence[int] | Tensor,
             proxy: int = 256, regional_units: str = "image", point_loss: str = "l2", heatmap_reg: float = 0.0,
             regions: Sequence[Sequence[int]] = (), crop: int = 0, heatmap_sigma: float = 1.0
             ) -> tuple[Tensor, dict[str, float]]:
    """Eq. 1. out: the network's output for an input image of side ``res`` (R); gt_proxy: (B, N, 2)
    ground truth at the proxy (px); gt: (B, N, 2) ground truth at R (px); regional_ids: the N_att
    refined point ids.

    With several regional stages (adc-stack2), the regional term is the mean over stages
    (intermediate supervision); likewise the global term over several global stages
    (``ADCConfig.global_stages``). Returns (loss, {"global": ..., "regional": ...}) with the terms in
    the units used, for the training log.

    ``point_loss`` and ``heatmap_reg`` (with the ``regions``' point ids and the ``crop`` side) are
    the module docstring's two options; with their defaults this is eq. 1."""
    if regional_units not in REGIONAL_UNITS:
        raise ValueError(f"unknown regional_units {regional_units!r} (known: {', '.join(REGIONAL_UNITS)})")
    if point_loss not in POINT_LOSSES:
        raise ValueError(f"unknown point_loss {point_loss!r} (known: {', '.join(POINT_LOSSES)})")
    error = squared_error if point_loss == "l2" else l1_error
    coarse_stages = out.coarse_stages or (out.coarse,)
    global_term = sum(error(geometry.rescale_points(c, res, proxy), gt_proxy)   # (B, N, 2) proxy px
                      for c in coarse_stages) / len(coarse_stages)
    regional_terms = []
    for refined in out.refined_stages:
        pred_r, gt_r = refined[:, regional_ids], gt[:, regional_ids]          # (B, N_att, 2) R px
        if regional_units == "proxy":
            pred_r, gt_r = geometry.rescale_points(pred_r, res, proxy), geometry.rescale_points(gt_r, res, proxy)
        regional_terms.append(error(pred_r, gt_r))
    regional_term = sum(regional_terms) / len(regional_terms)
    loss = global_term + regional_term
    terms = {"global": float(global_term.detach()), "regional": float(regional_term.detach())}
    if heatmap_reg > 0:
        if len(regions) != len(out.regional_heatmaps) or crop <= 0:
            raise ValueError("heatmap_reg needs the regions' point ids and the crop side")
        reg = heatmap_regulariser(out, gt_proxy, gt, regions, crop, proxy, heatmap_sigma)
        loss = loss + heatmap_reg * reg
        terms["heatmap_js"] = float(reg.detach())
    return loss, terms

