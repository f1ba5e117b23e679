"""The 89 studio landmarks (scheme ``studio89``) of a posed face seen by one camera.

Most points are fixed surface points: a (u, v) position on a named curve (a lid margin at a
chord fraction, a vermilion border at a fraction of the mouth width, ...), read off the posed
mesh with the renderer's own triangles and projected exactly (no rounding). Three kinds depend
on the view:

- jaw (0-16): along a path that crosses the jaw line (or the cheek's outline towards the ear) the
  point where the surface turns away from the camera, i.e. the occluding contour the annotator
  sees against the background or the neck; where the path never turns away (a low camera looking
  up under the jaw) the most grazing point, the visible jaw edge;
- pupils (68, 73): the centre of the pupil on the eyeball;
- iris edges (69, 70, 74, 75): the limbus points at the projected pupil's image row.
"""

from __future__ import annotations

import numpy as np

from facebench.data.synth import mouth
from facebench.data.synth.brows import brow_landmarks_uv
from facebench.data.synth.eyes import crease_points, iris_rim, margin_points
from facebench.data.synth.face import FaceModel, Pose, mesh_point
from facebench.data.synth.raster import rasterize
from facebench.data.synth.relief import NASION_V, ala, mentolabial_v, nose_tip_v, nostril, subnasale_v
from facebench.data.synth.rig import Camera

JAW_SAMPLES = 128


def surface_uv(model: FaceModel, pose: Pose) -> dict[int, np.ndarray]:
    """(u, v) of every landmark that is a fixed surface point for this expression."""
    s = model.subject
    e = pose.expression
    pts: dict[int, np.ndarray] = {}
    # Brows 17-21 (image-left, outer -> inner) and 22-26 (inner -> outer): the upper edge.
    for k, uv in enumerate(brow_landmarks_uv(s, -1)):
        pts[17 + k] = uv
    for k, uv in enumerate(brow_landmarks_uv(s, 1)[::-1]):
        pts[22 + k] = uv
    # Nose bridge 27-30 (nasion -> tip) and base 31-35 (left alar base -> subnasale -> right).
    vt, vsn = nose_tip_v(s), subnasale_v(s)
    for k in range(4):
        pts[27 + k] = np.array([0.0, NASION_V + (vt - NASION_V) * k / 3.0])
    au, av, ru, rv = ala(s)
    nu, nv, nru, nrv = nostril(s)
    base_pts = [(-(au + 0.55 * ru), av - 0.7 * rv), (-nu, nv - nrv), (0.0, vsn), (nu, nv - nrv),
                (au + 0.55 * ru, av - 0.7 * rv)]
    for k, p in enumerate(base_pts):
        pts[31 + k] = np.array(p)
    # Eyes 36-47.
    for side, first in ((-1, 36), (1, 42)):
        eye = model.eyes[0 if side < 0 else 1]
        up, lo = model.openness(e, side)
        f = eye.frame
        third = np.array([1 / 3, 2 / 3])
        upper = margin_points(f, third, True, up, lo)      # s = 1/3 (inner), 2/3 (outer)
        lower = margin_points(f, third, False, up, lo)
        corners = margin_points(f, np.array([0.0, 1.0]), True, up, lo)
        crease = crease_points(f, third)
        if side < 0:   # 36 outer, 37 upper-outer, 38 upper-inner, 39 inner, 40 lower-inner, 41 lower-outer
            order = [corners[1], upper[1], upper[0], corners[0], lower[0], lower[1]]
            pts[71], pts[72] = crease[1], crease[0]
        else:          # 42 inner, 43 upper-inner, 44 upper-outer, 45 outer, 46 lower-outer, 47 lower-inner
            order = [corners[0], upper[0], upper[1], corners[1], lower[1], lower[0]]
            pts[76], pts[77] = crease[0], crease[1]
        for k, p in enumerate(order):
            pts[first + k] = p
    # Outer lips 48-59 and inner lips 60-67.
    w, my = s.mouth_width, s.mouth_y
    top, bot = my + mouth.BAND, my - mouth.BAND
    ub = lambda x: np.array([x * w, mouth.upper_border(s, np.array([x * w]))[0]])   # noqa: E731
    lb = lambda x: np.array([x * w, mouth.lower_border(s, np.array([x * w]))[0]])   # noqa: E731
    pk = mouth.BOW_PEAK
    outer = [np.array([-w, my]), ub(-0.58), ub(-pk), ub(0.0), ub(pk), ub(0.58), np.array([w, my]),
             lb(0.62), lb(0.3), lb(0.0), lb(-0.3), lb(-0.62)]
    for k, p in enumerate(outer):
        pts[48 + k] = p
    wi = mouth.interior_halfwidth(s)
    inner = [np.array([-wi, my]), np.array([-0.45 * w, top]), np.array([0.0, top]), np.array([0.45 * w, top]),
             np.array([wi, my]), np.array([0.45 * w, bot]), np.array([0.0, bot]), np.array([-0.45 * w, bot])]
    for k, p in enumerate(inner):
        pts[60 + k] = p
    # Nose details 78-82.
    pts[78], pts[79] = np.array([-nu, nv]), np.array([nu, nv])
    up = np.deg2rad(40.0)       # the groove's upper-lateral part, where the ala meets the cheek
    pts[80] = np.array([-(au + np.cos(up) * ru), av + np.sin(up) * rv])
    pts[81] = np.array([au + np.cos(up) * ru, av + np.sin(up) * rv])
    pts[82] = np.array([0.0, vsn + 0.5 * (vt - vsn) - 0.8])
    # Philtrum 83-85, commissures 86-87, mentolabial fold 88.
    mid = lambda x: 0.5 * (vsn + mouth.upper_border(s, np.array([x]))[0])   # noqa: E731
    ridge = 4.0 + 0.8 * 0.5
    pts[83], pts[84] = np.array([-ridge, mid(-ridge)]), np.array([ridge, mid(ridge)])
    pts[85] = np.array([0.0, mid(0.0)])
    pts[86], pts[87] = np.array([-(w + 3.0), my - 0.8]), np.array([w + 3.0, my - 0.8])
    pts[88] = np.array([0.0, mentolabial_v(s)])
    return pts


def jaw_paths(model: FaceModel) -> np.ndarray:
    """(17, JAW_SAMPLES, 2) parameter paths, each crossing the face outline from inside to outside.

    Anchors run along the outline from the image-left ear (0) round the chin (8) to the image-right
    ear (16): up the cheek side the paths are horizontal, round the jaw they point down and out.
    """
    s = model.subject
    chin_v = s.chin_y + 4.0
    # Outline anchors in (u, v): a smooth curve through cheek, jaw angle and chin.
    ctrl_u = np.array([-112.0, -106.0, -95.0, -78.0, -55.0, -28.0, 0.0])
    ctrl_v = np.array([-8.0, -28.0, -50.0, -68.0, chin_v + 8.0, chin_v + 1.5, chin_v])
    ctrl_v[3] = 0.55 * ctrl_v[2] + 0.45 * ctrl_v[4]
    ctrl_u = np.concatenate([ctrl_u, -ctrl_u[-2::-1]])
    ctrl_v = np.concatenate([ctrl_v, ctrl_v[-2::-1]])
    seg = np.hypot(np.diff(ctrl_u), np.diff(ctrl_v))
    arc = np.concatenate([[0], np.cumsum(seg)])
    at = np.linspace(0, arc[-1], 17)
    au, av = np.interp(at, arc, ctrl_u), np.interp(at, arc, ctrl_v)
    eps = 1.0
    tu = np.interp(at + eps, arc, ctrl_u) - np.interp(at - eps, arc, ctrl_u)
    tv = np.interp(at + eps, arc, ctrl_v) - np.interp(at - eps, arc, ctrl_v)
    out_dir = np.stack([tv, -tu], -1)           # outward: to the right of the travel direction
    out_dir /= np.linalg.norm(out_dir, axis=-1, keepdims=True)
    out_dir[:, 1] = np.where(np.abs(au) > 90, 0.0, out_dir[:, 1])   # cheek side: horizontal paths
    out_dir /= np.linalg.norm(out_dir, axis=-1, keepdims=True)
    reach = np.where(np.abs(au) > 90, 40.0, 30.0)
    # Far round the face the outline moves towards the front: paths start well inside.
    start = np.stack([au, av], -1) - out_dir * 32.0
    steps = np.linspace(0.0, 1.0, JAW_SAMPLES)[None, :, None] * (32.0 + reach)[:, None, None]
    return start[:, None, :] + steps * out_dir[:, None, :]


def jaw_points(model: FaceModel, pose: Pose, camera: Camera) -> np.ndarray:
    """(17, 3) head-frame points of the jaw outline as ``camera`` sees it.

    The outline is the occluding contour: where the surface turns away from the camera. Along each
    landmark's path two kinds of outline points are found: where the path itself turns away
    (its projection folds back there), and where its projection crosses the contour of another
    part of the lower face (mesh edges between a triangle facing the camera and one facing away).
    Of those not hidden by the face itself, the outermost along the path is the point. Where there
    is none (a low camera looking up at the jaw's underside), the most grazing path point is used.
    """
    paths = jaw_paths(model)
    g = model.grid
    flat = paths.reshape(-1, 2)
    p = mesh_point(pose.points, g, flat).reshape(paths.shape[:2] + (3,))
    n = mesh_point(pose.normals, g, flat).reshape(paths.shape[:2] + (3,))
    view = camera.centre - p
    grazing = (n * view).sum(-1) / (np.linalg.norm(view, axis=-1) * np.linalg.norm(n, axis=-1))
    seg3, seg_uv = _contour_edges(model, pose, camera, paths)
    seg2 = camera.project(seg3)
    vis_depth = _visibility_depth(model, pose, camera)
    visible = _unoccluded(model, pose, camera, seg3, depth=vis_depth)
    path2 = camera.project(p)                                         # (17, K, 2)
    out = np.empty((17, 3))
    cand = np.flatnonzero(visible)
    for k in range(17):
        options = []                                                  # (position along path, 3-D point)
        if len(cand):
            along, e, w = _crossings(path2[k], seg2[cand])
            ends = seg3[cand[e]]
            options += list(zip(along, ends[:, 0] + w[:, None] * (ends[:, 1] - ends[:, 0])))
        gk = grazing[k]
        turn = np.flatnonzero((gk[:-1] > 0) & (gk[1:] <= 0))
        if len(turn):
            a = gk[turn] / (gk[turn] - gk[turn + 1])
            uv = paths[k, turn] + a[:, None] * (paths[k, turn + 1] - paths[k, turn])
            pts = mesh_point(pose.points, g, uv)
            ok = _unoccluded(model, pose, camera, np.stack([pts, pts], 1), depth=vis_depth)
            options += [(t, q) for t, q, o in zip(turn + a, pts, ok) if o]
        best = max(options, key=lambda o: o[0])[1] if options else None
        if best is None:
            best = p[k, int(np.argmin(np.where(grazing[k] > 0, grazing[k], np.inf)))]
        out[k] = best
    return out


def _contour_edges(model: FaceModel, pose: Pose, camera: Camera, paths: np.ndarray):
    """3-D segments (M, 2, 3) and their (u, v) ends (M, 2, 2) of mesh edges between a front- and a
    back-facing triangle, restricted to the parameter box around the jaw paths."""
    g = model.grid
    lo, hi = paths.reshape(-1, 2).min(0) - 6.0, paths.reshape(-1, 2).max(0) + 6.0
    ci = np.flatnonzero((g.u >= lo[0]) & (g.u <= hi[0]))
    ri = np.flatnonzero((g.v >= lo[1]) & (g.v <= hi[1]))
    cs, rs = slice(ci[0], ci[-1] + 1), slice(ri[0], ri[-1] + 1)
    P = pose.points[rs, cs]
    UV = np.stack([model.U[rs, cs], model.V[rs, cs]], -1)
    c = camera.centre
    p00, p10, p01, p11 = P[:-1, :-1], P[:-1, 1:], P[1:, :-1], P[1:, 1:]
    front_a = (np.cross(p10 - p00, p01 - p00) * (c - p00)).sum(-1) > 0       # triangle (00, 10, 01)
    front_b = (np.cross(p11 - p10, p01 - p10) * (c - p10)).sum(-1) > 0       # triangle (10, 11, 01)
    segs, uvs = [], []

    def add(mask, a_idx, b_idx):
        jj, ii = np.nonzero(mask)
        (ja, ia), (jb, ib) = a_idx, b_idx
        segs.append(np.stack([P[jj + ja, ii + ia], P[jj + jb, ii + ib]], 1))
        uvs.append(np.stack([UV[jj + ja, ii + ia], UV[jj + jb, ii + ib]], 1))

    add(front_a != front_b, (0, 1), (1, 0))                                  # the quad's diagonal
    add(front_b[:-1] != front_a[1:], (1, 0), (1, 1))                         # between rows
    diff = np.zeros_like(front_a)
    diff[:, 1:] = front_a[:, 1:] != front_b[:, :-1]                           # between columns
    add(diff, (0, 0), (1, 0))
    return np.concatenate(segs), np.concatenate(uvs)


VIS_SIZE = 512


def _visibility_depth(model: FaceModel, pose: Pose, camera: Camera) -> np.ndarray:
    """Depth buffer (VIS_SIZE, VIS_SIZE) for the outline's visibility tests. Only the lower face
    (everything within 25 mm of the jaw paths in (u, v)) can hide the jaw's outline, so only its
    triangles are drawn."""
    faces = getattr(model, "_jaw_faces", None)
    if faces is None:
        paths = jaw_paths(model).reshape(-1, 2)
        lo, hi = paths.min(0) - 25.0, paths.max(0) + 25.0
        u, v = model.U.reshape(-1), model.V.reshape(-1)
        inside = (u >= lo[0]) & (u <= hi[0]) & (v >= lo[1]) & (v <= hi[1])
        faces = model.grid.faces[inside[model.grid.faces].all(1)]
        model._jaw_faces = faces
    cam = camera.at_size(VIS_SIZE)
    verts = pose.points.reshape(-1, 3)
    return rasterize(cam.project(verts), cam.depth(verts), faces, VIS_SIZE, VIS_SIZE).depth


def _unoccluded(model: FaceModel, pose: Pose, camera: Camera, seg3: np.ndarray, depth: np.ndarray) -> np.ndarray:
    """Which segments' midpoints are not hidden behind other parts of the face: a z-buffer test in
    the midpoint's own pixel of the VIS_SIZE px ``depth`` (the same size whatever the output size,
    so every output size gets the same landmarks), with a tolerance for the surface curving away
    inside that pixel (~0.25 mm pixels, ~25 mm radius: under 3 mm)."""
    size = depth.shape[0]
    cam = camera.at_size(size)
    mid = seg3.mean(1)
    xy = np.round(cam.project(mid)).astype(int)
    inside = (xy[:, 0] >= 0) & (xy[:, 0] < size) & (xy[:, 1] >= 0) & (xy[:, 1] < size)
    z = np.full(len(mid), np.inf)
    z[inside] = depth[xy[inside, 1], xy[inside, 0]]
    return inside & (cam.depth(mid) <= z + 3.5)


def _crossings(path: np.ndarray, segs: np.ndarray):
    """Crossings of an image polyline (K, 2) with 2-D segments (M, 2, 2): (position along the
    polyline in segment units, segment index, fraction along the segment) for each crossing."""
    a, r = path[:-1, None, :], (path[1:] - path[:-1])[:, None, :]          # (K-1, 1, 2)
    q, s = segs[None, :, 0], (segs[:, 1] - segs[:, 0])[None]               # (1, M, 2)
    cross = r[..., 0] * s[..., 1] - r[..., 1] * s[..., 0]
    ok = np.abs(cross) > 1e-12
    den = np.where(ok, cross, 1.0)
    qa = q - a
    t = (qa[..., 0] * s[..., 1] - qa[..., 1] * s[..., 0]) / den
    u = (qa[..., 0] * r[..., 1] - qa[..., 1] * r[..., 0]) / den
    i, j = np.nonzero(ok & (t >= 0) & (t <= 1) & (u >= 0) & (u <= 1))
    return i + t[i, j], j, u[i, j]


def landmarks_3d(model: FaceModel, pose: Pose, camera: Camera) -> np.ndarray:
    """(89, 3) head-frame landmark positions for this pose and view (the iris edges are the limbus
    points whose projections cross the pupil's image row)."""
    out = np.full((89, 3), np.nan)
    uv = surface_uv(model, pose)
    ids = sorted(uv)
    out[ids] = mesh_point(pose.points, model.grid, np.stack([uv[i] for i in ids]))
    out[0:17] = jaw_points(model, pose, camera)
    s = model.subject
    for eye, (pupil, left, right) in zip(model.eyes, ((68, 69, 70), (73, 74, 75))):
        out[pupil] = eye.centre + 12.0 * eye.gaze
        rim3 = iris_rim(eye.centre, eye.gaze, s.iris_radius)
        rim = camera.project(rim3)
        (ia, ta), (ib, tb) = _row_crossings(rim, camera.project(out[pupil])[1])
        out[left] = rim3[ia] + ta * (rim3[(ia + 1) % len(rim3)] - rim3[ia])
        out[right] = rim3[ib] + tb * (rim3[(ib + 1) % len(rim3)] - rim3[ib])
    return out


def project_landmarks(model: FaceModel, pose: Pose, camera: Camera) -> np.ndarray:
    """(89, 2) exact sub-pixel landmarks in ``camera``'s image."""
    xy = camera.project(landmarks_3d(model, pose, camera))
    s = model.subject
    for eye, (pupil, left, right) in zip(model.eyes, ((68, 69, 70), (73, 74, 75))):
        # The iris edges are set on the pupil's row exactly (not via the 3-D chord).
        rim = camera.project(iris_rim(eye.centre, eye.gaze, s.iris_radius))
        (ia, ta), (ib, tb) = _row_crossings(rim, xy[pupil, 1])
        for k, (i, t) in ((left, (ia, ta)), (right, (ib, tb))):
            a, b = rim[i], rim[(i + 1) % len(rim)]
            xy[k] = (a[0] + t * (b[0] - a[0]), xy[pupil, 1])
    return xy


def _row_crossings(curve: np.ndarray, y: float) -> tuple[tuple[int, float], tuple[int, float]]:
    """Where a closed image curve (n, 2) crosses row ``y``, leftmost and rightmost: (segment
    index, fraction along the segment)."""
    a, b = curve, np.roll(curve, -1, axis=0)
    hit = np.flatnonzero(((a[:, 1] - y) * (b[:, 1] - y) <= 0) & (a[:, 1] != b[:, 1]))
    t = (y - a[hit, 1]) / (b[hit, 1] - a[hit, 1])
    xs = a[hit, 0] + t * (b[hit, 0] - a[hit, 0])
    lo, hi = int(np.argmin(xs)), int(np.argmax(xs))
    return (int(hit[lo]), float(t[lo])), (int(hit[hi]), float(t[hi]))
