"""Landmarks of the posed face: sides, expressions, silhouettes, visibility and consistency with
what the renderer draws (the surface parameters under each projected point)."""

import numpy as np
import pytest

from facebench.core.geometry import points_box
from facebench.data.synth.expressions import EXPRESSIONS
from facebench.data.synth.landmarks import landmarks_3d, project_landmarks, surface_uv
from facebench.data.synth.render import _rasterize, work_size

BY_NAME = {e.name: e for e in EXPRESSIONS}


def _lm(assets, rig, name, cam):
    return project_landmarks(assets.model, assets.model.pose(BY_NAME[name]), rig[cam])


def _nearest_depth(depth, xy):
    """Smallest depth among the 2 x 2 pixels around a point (inf at the background)."""
    x0, y0 = np.floor(xy).astype(int)
    return depth[y0:y0 + 2, x0:x0 + 2].min()


def _bilinear(img, xy):
    x0, y0 = np.floor(xy).astype(int).T
    fx, fy = (xy - np.floor(xy)).T
    v = lambda yy, xx: img[np.clip(yy, 0, img.shape[0] - 1), np.clip(xx, 0, img.shape[1] - 1)]  # noqa: E731
    return ((1 - fx) * (1 - fy) * v(y0, x0) + fx * (1 - fy) * v(y0, x0 + 1)
            + (1 - fx) * fy * v(y0 + 1, x0) + fx * fy * v(y0 + 1, x0 + 1))


@pytest.mark.parametrize("name", [e.name for e in EXPRESSIONS])
def test_every_expression_gives_89_finite_points_on_a_well_framed_face(assets384, name):
    assets, rig = assets384
    pose = assets.model.pose(BY_NAME[name])
    for cam in (0, 7):
        lm = project_landmarks(assets.model, pose, rig[cam])
        assert lm.shape == (89, 2) and np.isfinite(lm).all()
        assert (lm > 0).all() and (lm < 383).all()
        box = points_box(lm)
        assert 0.45 <= (box[3] - box[1]) / 384 <= 0.8


def test_sides_follow_the_ibug_convention_in_a_frontal_view(assets384):
    assets, rig = assets384
    lm = _lm(assets, rig, "neutral", 4)                      # yaw ~ +4 deg
    x = lm[:, 0]
    assert x[36] < x[39] < x[42] < x[45]                     # image-left eye first
    assert x[0] < x[8] < x[16] and x[17] < x[21] < x[22] < x[26]
    assert x[48] < x[51] < x[54] and x[31] < x[33] < x[35]
    assert x[69] < x[68] < x[70] and x[74] < x[73] < x[75]
    assert x[78] < x[79] and x[80] < x[81] and x[83] < x[85] < x[84] and x[86] < x[87]
    assert lm[37, 1] < lm[41, 1] and lm[19, 1] < lm[37, 1] < lm[33, 1] < lm[51, 1] < lm[57, 1] < lm[8, 1]
    assert lm[71, 1] < lm[37, 1] and lm[68, 1] == lm[69, 1] == lm[70, 1]   # iris edges on the pupil's row


def test_closed_eyes_bring_the_lids_together_and_the_jaw_parts_the_lips(assets384):
    assets, rig = assets384
    closed = _lm(assets, rig, "eyes_closed", 3)
    np.testing.assert_allclose(closed[[37, 38, 43, 44]], closed[[41, 40, 47, 46]], atol=0.05)
    neutral = _lm(assets, rig, "neutral", 3)
    opened = _lm(assets, rig, "jaw_open", 3)
    assert abs(neutral[66, 1] - neutral[62, 1]) < 0.5        # lips together: inner lines meet
    assert opened[66, 1] - opened[62, 1] > 15                # ~17 deg of jaw rotation
    assert opened[8, 1] - neutral[8, 1] > 10                 # the chin drops
    raised = _lm(assets, rig, "brows_up", 3)
    assert (neutral[[19, 24], 1] - raised[[19, 24], 1]).min() > 2.0


def test_surface_landmarks_sit_on_the_rendered_surface_point_they_name(assets384):
    """Read the rendered (u, v) maps under each projected landmark: they must be the landmark's
    own (u, v) (same mesh, same projection, no rounding)."""
    assets, rig = assets384
    for name, cam in (("neutral", 2), ("smile_open", 5), ("jaw_open", 7)):
        pose = assets.pose(BY_NAME[name])
        camera = rig[cam]
        maps, depth = _rasterize(assets, pose, camera.at_size(work_size(384)))
        lm = project_landmarks(assets.model, pose, camera)
        uv = surface_uv(assets.model, pose)
        ids = [i for i in sorted(uv) if i not in (68, 69, 70, 73, 74, 75)]
        got = np.stack([_bilinear(maps[..., 0], lm[ids]), _bilinear(maps[..., 1], lm[ids])], 1)
        want = np.stack([uv[i] for i in ids])
        err = dict(zip(ids, np.linalg.norm(got - want, axis=1)))
        # Bilinear reading of maps whose pixels are ~0.6 mm apart: hundredths of a mm, except at a
        # few iBUG points the far side of the face hides at 28 degrees of yaw (brow tail, far
        # inner canthus); never at the detail points.
        assert np.median(list(err.values())) < 0.05
        assert sum(e < 0.8 for e in err.values()) >= 0.9 * len(ids), (name, {i: e for i, e in err.items() if e >= 0.8})
        assert all(err[i] < 0.8 for i in range(76, 89)), (name, {i: err[i] for i in range(76, 89)})


@pytest.mark.parametrize("name", ["neutral", "smile_open", "mouth_left",
                                  *[pytest.param(n, marks=pytest.mark.slow)
                                    for n in ("jaw_open", "pucker", "disgust", "scream")]])
def test_detail_points_are_visible_from_every_camera(assets384, name):
    """Points 68-88 are in view in every camera: the pixel under a surface point shows that same
    surface point (its rendered (u, v) within 2 mm), the pixel under a pupil or iris edge shows
    the eyeball at that depth. (Closed eyes hide the pupils, by nature.)"""
    assets, rig = assets384
    pose = assets.model.pose(BY_NAME[name])
    uv = surface_uv(assets.model, pose)
    for camera in rig:
        maps, depth = _rasterize(assets, pose, camera)
        p3 = landmarks_3d(assets.model, pose, camera)
        lm = camera.project(p3)
        hidden = []
        for i in range(68, 89):
            x, y = np.round(lm[i]).astype(int)
            if i in uv:
                ok = maps[y, x, 9] > 0.5 and np.hypot(*(maps[y, x, :2] - uv[i])) < 2.0
            else:
                ok = camera.depth(p3[i]) <= depth[y, x] + 1.5
            if not ok:
                hidden.append(i)
        assert not hidden, (name, camera.name, hidden)


def test_jaw_points_lie_on_the_outline(assets384):
    """The chin and the far side's jaw points are on the rendered face's outline: among the 3 x 3
    pixels around each there is the surface at the point's depth (within the few mm a grazing
    surface changes over a pixel) and something behind it (background, or the neck). (On the near
    side the camera sees under the jaw, which has no outline there: those points are the jaw's
    most grazing edge.)"""
    assets, rig = assets384
    pose = assets.pose(BY_NAME["neutral"])
    for cam, ks in ((0, range(8, 13)), (6, range(4, 9)), (7, range(4, 9))):
        camera = rig[cam]
        maps, depth = _rasterize(assets, pose, camera)
        p3 = landmarks_3d(assets.model, pose, camera)
        lm = camera.project(p3)
        for k in ks:
            x, y = np.round(lm[k]).astype(int)
            nb = depth[y - 1:y + 2, x - 1:x + 2]
            z = camera.depth(p3[k])
            assert np.abs(nb - z).min() < 15.0, (cam, k, z, nb)
            assert (~np.isfinite(nb) | (nb > z + 2.0)).any(), (cam, k, z, nb)
