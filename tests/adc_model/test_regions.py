import numpy as np
import pytest
import torch

from adc_model.regions import (
    attention_regions,
    boxes_contain,
    from_region,
    jitter_box,
    region_boxes,
    region_indices,
    to_region,
)
from facebench.core.schemes import IBUG68, REGION_NAMES, STUDIO89


@pytest.mark.parametrize("scheme", [IBUG68, STUDIO89])
def test_region_indices_follow_region_names(scheme):
    ids = region_indices(scheme)
    assert len(ids) == 4 and ids[0] == scheme.regions[REGION_NAMES[0]]
    assert sorted(i for r in ids for i in r) == list(scheme.regional)


@pytest.mark.parametrize("scheme", [IBUG68, STUDIO89])
@pytest.mark.parametrize("k", [1, 3, 5])
def test_jaw_regions_cut_the_contour_into_consecutive_runs(scheme, k):
    names, ids = attention_regions(scheme, k)
    assert names[:4] == REGION_NAMES and ids[:4] == region_indices(scheme)
    assert names[4:] == tuple(f"jaw{i + 1}" for i in range(k))
    jaw = ids[4:]
    assert [i for r in jaw for i in r] == list(scheme.groups["jaw"])          # disjoint, in contour order
    assert min(len(r) for r in jaw) >= 3 and max(len(r) for r in jaw) - min(len(r) for r in jaw) <= 1
    assert attention_regions(scheme, 0) == (REGION_NAMES, region_indices(scheme))
    with pytest.raises(ValueError, match="jaw_regions"):
        attention_regions(scheme, 6)


def test_box_is_the_square_around_the_points_with_margin():
    pts = torch.tensor([[[60.0, 70.0], [80.0, 110.0]]])       # extent 20 x 40 -> side 40 * 1.5 = 60
    box = region_boxes(pts, [(0, 1)], image_size=200, margin=0.25)
    assert torch.allclose(box, torch.tensor([[[40.0, 60.0, 100.0, 120.0]]]))
    tiny = region_boxes(pts, [(0,)], image_size=200, margin=0.25, min_side=16.0)  # one point: min size
    assert torch.allclose(tiny, torch.tensor([[[52.0, 62.0, 68.0, 78.0]]]))
    edge = region_boxes(pts - 60.0, [(0, 1)], image_size=200, margin=0.25)       # shifted, not shrunk
    assert torch.allclose(edge, torch.tensor([[[-0.5, 0.0, 59.5, 60.0]]]))


def test_boxes_stay_inside_the_image_even_for_points_outside():
    # Faces of 30 px anywhere in and around a 128 px image: many raw boxes stick out.
    g = torch.Generator().manual_seed(0)
    pts = torch.rand(256, 68, 2, generator=g) * 30 + torch.rand(256, 1, 2, generator=g) * 180 - 40
    boxes = region_boxes(pts, region_indices(IBUG68), 128, margin=0.25, min_side=16.0, noise=0.2, generator=g)
    assert ((pts.amin(dim=1) < 0) | (pts.amax(dim=1) > 127)).any(dim=-1).float().mean() > 0.3
    assert (boxes[..., :2] >= -0.5).all() and (boxes[..., 2:] <= 127.5 + 1e-4).all()


def test_training_noise_keeps_the_region_inside_its_box():
    # Boxes built around the true points, with width / height noise: every point stays inside
    # (the scale factor is bounded below by 1 / (1 + 2 margin)), while box sizes really vary.
    g = torch.Generator().manual_seed(1)
    pts = torch.rand(500, 11, 2, generator=g) * 40 + 300
    clean = region_boxes(pts, [tuple(range(11))], 1024, margin=0.25)
    noisy = region_boxes(pts, [tuple(range(11))], 1024, margin=0.25, noise=0.1, generator=g)
    assert boxes_contain(pts, noisy[:, 0]).all()
    ratio = (noisy[:, 0, 2:] - noisy[:, 0, :2]) / (clean[:, 0, 2:] - clean[:, 0, :2])
    assert 0.08 < float(ratio.std()) < 0.12 and abs(float(ratio.mean()) - 1) < 0.02
    assert not torch.allclose(ratio[:, 0], ratio[:, 1])        # width and height independently


def test_jitter_is_differentiable_and_seeded():
    box = torch.tensor([[0.0, 0.0, 10.0, 20.0]], requires_grad=True)
    a = jitter_box(box, 0.1, 0.5, generator=torch.Generator().manual_seed(3))
    b = jitter_box(box, 0.1, 0.5, generator=torch.Generator().manual_seed(3))
    assert torch.equal(a, b)
    a.sum().backward()
    assert box.grad is not None and torch.isfinite(box.grad).all()


def test_crop_uncrop_round_trip_within_1e4_px():
    g = torch.Generator().manual_seed(2)
    pts = torch.rand(3, 9, 2, generator=g, dtype=torch.float64) * 4000
    boxes = torch.tensor([[100.5, 200.25, 1100.5, 1300.75], [-20.0, -20.0, 60.0, 60.0], [3000.0, 10.0, 4095.5, 900.0]],
                         dtype=torch.float64)
    back = from_region(to_region(pts, boxes, 256), boxes, 256)
    assert (back - pts).abs().max() < 1e-4
    # The crop's corner pixel centre is half a crop pixel inside the box.
    corner = from_region(torch.zeros(3, 1, 2, dtype=torch.float64), boxes, 256)
    assert torch.allclose(corner[:, 0], boxes[:, :2] + (boxes[:, 2:] - boxes[:, :2]) / 512)


def test_boxes_contain():
    pts = torch.tensor([[[1.0, 1.0]], [[5.0, 1.0]]])
    boxes = torch.tensor([[0.0, 0.0, 2.0, 2.0], [0.0, 0.0, 2.0, 2.0]])
    assert boxes_contain(pts, boxes).tolist() == [True, False]
    assert np.isclose(float(region_boxes(pts, [(0,)], 10)[0, 0, 0]), 1.0)
