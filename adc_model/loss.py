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
"""

from __future__ import annotations

from typing import Sequence

from torch import Tensor

from adc_model.model import ADCOutput
from facebench.core import geometry

REGIONAL_UNITS = ("image", "proxy")


def squared_error(pred: Tensor, gt: Tensor) -> Tensor:
    """Mean over points and batch of the squared Euclidean distance: (B, n, 2), (B, n, 2) -> ()."""
    return ((pred - gt) ** 2).sum(dim=-1).mean()


def adc_loss(out: ADCOutput, gt_proxy: Tensor, gt: Tensor, res: int, regional_ids: Sequence[int] | Tensor,
             proxy: int = 256, regional_units: str = "image") -> tuple[Tensor, dict[str, float]]:
    """Eq. 1. out: the network's output for an input image of side ``res`` (R); gt_proxy: (B, N, 2)
    ground truth at the proxy (px); gt: (B, N, 2) ground truth at R (px); regional_ids: the N_att
    refined point ids.

    With several regional stages (adc-stack2), the regional term is the mean over stages
    (intermediate supervision). Returns (loss, {"global": ..., "regional": ...}) with the terms in
    the units used, for the training log."""
    if regional_units not in REGIONAL_UNITS:
        raise ValueError(f"unknown regional_units {regional_units!r} (known: {', '.join(REGIONAL_UNITS)})")
    coarse_proxy = geometry.rescale_points(out.coarse, res, proxy)            # (B, N, 2) proxy px
    global_term = squared_error(coarse_proxy, gt_proxy)
    regional_terms = []
    for refined in out.refined_stages:
        pred_r, gt_r = refined[:, regional_ids], gt[:, regional_ids]          # (B, N_att, 2) R px
        if regional_units == "proxy":
            pred_r, gt_r = geometry.rescale_points(pred_r, res, proxy), geometry.rescale_points(gt_r, res, proxy)
        regional_terms.append(squared_error(pred_r, gt_r))
    regional_term = sum(regional_terms) / len(regional_terms)
    loss = global_term + regional_term
    return loss, {"global": float(global_term.detach()), "regional": float(regional_term.detach())}

