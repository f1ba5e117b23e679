"""Render one image of a subject: pose the face, rasterise it, shade, compose, finish.

Up to 1024 px everything is computed per output pixel. Above, the mesh is rasterised at a
working resolution ``size / k`` (<= 1024 px) where smooth quantities are shaded (diffuse
lighting with cast shadows, sheen, regional colour); the output is then composed at full size
(:mod:`compose`): per-pixel skin micro-texture and hair strands from the upsampled surface
parameters, and *detail windows* around the eyes, lips and nostrils where the complete material
(lid margins, iris, vermilion, teeth, nostrils) is evaluated at every output pixel, so those
edges are as sharp as the image. Brows and lashes are drawn as strands at the output size.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

import cv2
import numpy as np

from facebench.data.synth import mouth
from facebench.data.synth.brows import Hairs, make_hairs
from facebench.data.synth.compose import Window, WorkMaps, backdrop, compose, finish, resample_box
from facebench.data.synth.expressions import Expression
from facebench.data.synth.eyes import EYE_RADIUS, SIDES
from facebench.data.synth.face import FaceModel, Pose
from facebench.data.synth.landmarks import project_landmarks
from facebench.data.synth.materials import Surface, albedo
from facebench.data.synth.raster import rasterize
from facebench.data.synth.relief import nostril
from facebench.data.synth.rig import DISTANCE, FACE_HEIGHT, FILL, Camera
from facebench.data.synth.shading import LIGHTS, STUDIO, Lighting, catchlight, irradiance, specular
from facebench.data.synth.shadow import ShadowMap, make_shadow_map
from facebench.data.synth.strokes import draw_hairs
from facebench.data.synth.subject import Subject
from facebench.data.synth.texture import Textures, make_textures

MAX_WORK = 1024
BACKDROPS = np.array([[0.20, 0.20, 0.21], [0.34, 0.34, 0.35], [0.11, 0.14, 0.19], [0.24, 0.22, 0.19]])


def work_size(size: int) -> int:
    """Working resolution: ``size`` up to 1024 px, else ``size / k`` for the smallest k that keeps it
    <= 1024 (preferring a k that divides ``size``, so strips upsample exactly)."""
    if size <= MAX_WORK:
        return size
    k0 = -(-size // MAX_WORK)
    for k in range(k0, 2 * k0 + 1):
        if size % k == 0:
            return size // k
    return int(round(size / k0))


def mesh_spacing(size: int, camera: Camera) -> float:
    """Mesh spacing (mm) giving ~3.5 px triangles at the working resolution, snapped to a few
    levels so that all cameras of a capture share one mesh."""
    ppm = camera.K[0, 0] * work_size(size) / camera.size / DISTANCE
    want = 3.5 / ppm
    levels = (0.55, 0.8, 1.1, 1.5, 2.0, 2.6)
    return min(levels, key=lambda lv: abs(np.log(lv / want)))


@dataclass(frozen=True)
class Scene:
    """What the wild look changes in the renderer (:mod:`facebench.data.synth.wild`): the lighting,
    the background behind the head (linear RGB at the working resolution) and a skin albedo
    multiplier ``skin(u, v) -> (H, W, 3)`` (age, tint) applied where there is skin."""

    lighting: Lighting
    background: np.ndarray
    skin: object | None = None


class Raw(NamedTuple):
    """A render before the camera's finish."""

    image: np.ndarray        # (S, S, 3) uint8 RGB
    landmarks: np.ndarray    # (89, 2) float64, its pixels


@dataclass
class Assets:
    """Everything about one subject that does not change between images."""

    subject: Subject
    model: FaceModel
    textures: Textures
    hairs: Hairs
    backdrop: np.ndarray      # (3,) linear RGB studio backdrop colour of the capture
    _pose: Pose | None = None
    _shadow: ShadowMap | None = None

    def pose(self, e: Expression) -> Pose:
        """The posed face (cached: the cameras of one expression share it) and its shadow map."""
        if self._pose is None or self._pose.expression != e:
            self._pose = self.model.pose(e)
            self._shadow = make_shadow_map(self._pose.points.reshape(-1, 3), self.model.grid.faces, LIGHTS[0][0])
        return self._pose

    def shadow(self, e: Expression) -> ShadowMap:
        self.pose(e)
        return self._shadow


def make_assets(seed: int, subject: Subject, spacing: float, size: int) -> Assets:
    """Face model, textures (as fine as ``size`` px images need), hairs and the backdrop colour."""
    rng = np.random.default_rng(np.random.SeedSequence([seed, 99]))
    ppm = 1.1 * FILL * size / FACE_HEIGHT
    return Assets(subject, FaceModel(subject, spacing), make_textures(seed, subject, ppm), make_hairs(seed, subject),
                  BACKDROPS[rng.integers(len(BACKDROPS))])


def _rasterize(assets: Assets, pose: Pose, cam: Camera) -> tuple[np.ndarray, np.ndarray]:
    """(maps (W, W, 10) = [u, v, P(3), N(3), ao, coverage], depth (W, W)) at ``cam.size``."""
    model = assets.model
    verts = pose.points.reshape(-1, 3)
    ras = rasterize(cam.project(verts), cam.depth(verts), model.grid.faces, cam.size, cam.size)
    attrs = np.concatenate([model.U.reshape(-1, 1), model.V.reshape(-1, 1), verts, pose.normals.reshape(-1, 3),
                            pose.ao.reshape(-1, 1), np.ones((len(verts), 1))], 1).astype(np.float32)
    return ras.interpolate(model.grid.faces, attrs), ras.depth


def _shade(assets: Assets, pose: Pose, cam: Camera, maps: np.ndarray, ppm: float, light: tuple,
           smooth: np.ndarray | None = None):
    """Material and lighting of pixel maps ``[u, v, P, N, ao, coverage]`` (H, W, 10) under ``light`` =
    (Lighting, ShadowMap of its key, skin albedo multiplier or None).

    Returns (albedo, irradiance, sheen_base, gloss, eye, skin, hair, base). When ``smooth``
    (H, W, 9) = [irradiance (3), sheen, base albedo (5)] is given (detail windows: upsampled from
    the working resolution, where these are smooth) only the sharp features are evaluated.
    """
    mask = maps[..., 9] > 0.5
    srf = Surface(maps[..., 0], maps[..., 1], maps[..., 2:5], mask)
    base = None if smooth is None else np.ascontiguousarray(smooth[..., 4:9])
    alb, gloss, eye, skin_w, hair_w, base = albedo(assets.model, pose, assets.textures, srf, ppm, base)
    lighting, shadow, skin = light
    if skin is not None:
        alb = alb * (1.0 + skin_w[..., None] * (skin(maps[..., 0], maps[..., 1]) - 1.0))
    if smooth is not None:
        return alb, smooth[..., :3], smooth[..., 3], gloss, eye, skin_w, hair_w, base
    idx = np.flatnonzero(mask)
    flat = maps.reshape(-1, maps.shape[-1])[idx]
    n = flat[:, 5:8]
    n = n / np.maximum(np.sqrt((n * n).sum(1, keepdims=True)), 1e-6)
    p = flat[:, 2:5]
    irr = np.zeros(maps.shape[:2] + (3,), np.float32)
    sheen = np.zeros(maps.shape[:2], np.float32)
    lit = shadow.lit(p, n)
    irr.reshape(-1, 3)[idx] = irradiance(n, np.clip(flat[:, 8], 0, 1), lit, lighting)
    sheen.reshape(-1)[idx] = specular(n, p, cam.centre, np.float32(1.0), lighting) * (0.35 + 0.65 * lit)
    return alb, irr, sheen, gloss, eye, skin_w, hair_w, base


def _catch(assets: Assets, maps: np.ndarray, eye: np.ndarray, cam: Camera, lighting: Lighting) -> np.ndarray:
    """Corneal catchlight (H, W): reflections of the lights on the wet cornea (over the iris and
    just around it), where ``eye`` > 0."""
    out = np.zeros(eye.shape, np.float32)
    idx = np.flatnonzero(eye.reshape(-1) > 0)
    if len(idx):
        flat = maps.reshape(-1, maps.shape[-1])[idx]
        n = flat[:, 5:8] / np.maximum(np.linalg.norm(flat[:, 5:8], axis=1, keepdims=True), 1e-6)
        p = flat[:, 2:5]
        cornea = np.zeros(len(idx), np.float32)
        ri = np.arcsin(assets.subject.iris_radius / EYE_RADIUS)
        for e in assets.model.eyes:
            w = p - e.centre
            cosang = (w @ e.gaze) / np.maximum(np.linalg.norm(w, axis=1), 1e-6)
            cornea = np.maximum(cornea, np.clip((cosang - np.cos(1.35 * ri)) / (np.cos(1.1 * ri) - np.cos(1.35 * ri)),
                                                0, 1))
        out.reshape(-1)[idx] = catchlight(n, p, cam.centre, lighting) * eye.reshape(-1)[idx] * cornea
    return out


def render(assets: Assets, e: Expression, camera: Camera, rng: np.random.Generator, seed: int
           ) -> tuple[np.ndarray, np.ndarray]:
    """(RGB uint8 image (S, S, 3), landmarks (89, 2) float64 in its pixels) for one studio view:
    the studio backdrop and lighting, then the studio camera's blur and noise."""
    img, lm = render_raw(assets, e, camera, rng)
    return finish(img, rng, seed), lm


def render_raw(assets: Assets, e: Expression, camera: Camera, rng: np.random.Generator,
               scene: Scene | None = None) -> Raw:
    """The image before the camera's finish, and its landmarks: in the studio (``scene`` None: the
    studio lighting and the backdrop drawn from ``rng``) or in ``scene``."""
    pose = assets.pose(e)
    size = camera.size
    work = work_size(size)
    cam_w = camera.at_size(work)
    maps, depth = _rasterize(assets, pose, cam_w)
    ppm_w = cam_w.ppm
    ppm = camera.ppm
    if scene is None:
        light = (STUDIO, assets.shadow(e), None)
    else:
        key = scene.lighting.lights[0][0]
        light = (scene.lighting, make_shadow_map(pose.points.reshape(-1, 3), assets.model.grid.faces, key,
                                                 scene.lighting.penumbra_mm), scene.skin)
    alb, irr, sheen, gloss, eye, skin_w, hair_w, base = _shade(assets, pose, cam_w, maps, ppm_w, light)
    cover = maps[..., 9:10]
    back = backdrop(work, assets.backdrop, rng) if scene is None else scene.background
    diffuse = alb * irr + back * (1.0 - cover)
    spec = sheen * gloss * skin_w + _catch(assets, maps, eye, cam_w, light[0])
    wm = WorkMaps(maps[..., 0], maps[..., 1], diffuse, spec, skin_w, hair_w)
    windows = []
    if work < size:
        with np.errstate(invalid="ignore"):
            edge = cv2.dilate(depth, np.ones((3, 3))) - cv2.erode(depth, np.ones((3, 3)))
            shaky = ((edge > 8.0) | ~np.isfinite(edge)).astype(np.float32)
        ext = np.concatenate([maps, irr, sheen[..., None], base, shaky[..., None]], -1)
        windows = [_window(assets, pose, camera, ext, box, ppm, light) for box in _detail_windows(assets, pose, camera)]
    img = compose(wm, size, assets.textures, ppm, windows)
    draw_hairs(img, assets, pose, camera, cam_w, depth, light[0])
    return Raw(img, project_landmarks(assets.model, pose, camera))


def _window(assets: Assets, pose: Pose, camera: Camera, ext: np.ndarray, box, ppm: float, light: tuple) -> Window:
    """The exact material of one detail window at full size (micro-texture is added by
    :func:`compose` for windows and the rest alike)."""
    m = resample_box(ext, box, camera.size)
    alb, irr, sheen, gloss, eye, skin_w, _, _ = _shade(assets, pose, camera, m[..., :10], ppm, light, m[..., 10:19])
    spec = sheen * gloss * skin_w + _catch(assets, m, eye, camera, light[0])
    # Near silhouettes and occlusion edges the interpolated parameters mix two surfaces: keep the
    # upsampled values there, with a soft seam so the switch never draws a line.
    trust = (np.clip((m[..., 9] - 0.98) / 0.02, 0, 1) * (m[..., 19] <= 0.0)).astype(np.float32)
    trust = np.minimum(trust, cv2.GaussianBlur(trust, (0, 0), 2.0))
    return Window(box, (alb * irr).astype(np.float32), spec.astype(np.float32), skin_w.astype(np.float32), trust)


def _window_box(pose: Pose, model: FaceModel, cam: Camera, urange, vrange, pad: float = 0.08):
    g = model.grid
    ci = np.flatnonzero((g.u >= urange[0]) & (g.u <= urange[1]))
    ri = np.flatnonzero((g.v >= vrange[0]) & (g.v <= vrange[1]))
    if len(ci) == 0 or len(ri) == 0:
        return None
    xy = cam.project(pose.points[ri[0]:ri[-1] + 1, ci[0]:ci[-1] + 1].reshape(-1, 3))
    lo, hi = xy.min(0), xy.max(0)
    lo, hi = lo - pad * (hi - lo) - 2, hi + pad * (hi - lo) + 2
    x0, y0 = int(max(np.floor(lo[0]), 0)), int(max(np.floor(lo[1]), 0))
    x1, y1 = int(min(np.ceil(hi[0]), cam.size)), int(min(np.ceil(hi[1]), cam.size))
    return (x0, y0, x1, y1) if x1 - x0 > 2 and y1 - y0 > 2 else None


def _detail_windows(assets: Assets, pose: Pose, cam: Camera) -> list[tuple[int, int, int, int]]:
    """Output-pixel boxes around the eyes, the lips and the nostrils."""
    s, m = assets.subject, assets.model
    boxes = []
    for side in SIDES:
        lo, hi = sorted((side * (s.eye_sep - 0.5 * s.eye_width - 3.0), side * (s.eye_sep + 0.5 * s.eye_width + 2.0)))
        boxes.append(_window_box(pose, m, cam, (lo, hi), (-s.eye_lower - 2.5, s.eye_open + s.canthal_tilt + 2.0), 0.04))
    w = s.mouth_width + 2.0
    top = mouth.upper_border(s, np.zeros(1))[0] + 1.5
    bot = mouth.lower_border(s, np.zeros(1))[0] - 1.5
    boxes.append(_window_box(pose, m, cam, (-w, w), (bot, top), 0.04))
    nu, nv, nru, nrv = nostril(s)
    boxes.append(_window_box(pose, m, cam, (-(nu + nru + 1.5), nu + nru + 1.5), (nv - nrv - 1.0, nv + nrv + 1.0), 0.04))
    return [b for b in boxes if b is not None]
