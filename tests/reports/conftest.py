"""Synthetic run folders for the report tests: a tiny real prepared studio dataset (drawn faces,
made with ``facebench.prepare``), then run folders written with ``facebench.runfolder`` whose
predictions are the ground truth plus seeded noise, scored with ``facebench.metrics.summarize``."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from facebench import geometry, metrics as M, runfolder
from facebench.prepare import PrepareOptions, prepare
from facebench.pts import write_pts
from facebench.schemes import IBUG68, STUDIO89, Scheme


def _ellipse(cx, cy, rx, ry, a0, a1, n):
    t = np.linspace(a0, a1, n)
    return np.stack([cx + rx * np.cos(t), cy + ry * np.sin(t)], axis=1)


def unit_face(scheme: Scheme) -> np.ndarray:
    """(N, 2) landmarks of a frontal face in the unit square, iBUG order (+ studio detail points)."""
    p = np.zeros((scheme.num_points, 2))
    p[0:17] = _ellipse(0.5, 0.42, 0.36, 0.5, np.pi, 0.0, 17)          # jaw, through the chin
    p[17:22] = _ellipse(0.33, 0.31, 0.12, 0.04, np.pi, 2 * np.pi, 5)   # brows
    p[22:27] = _ellipse(0.67, 0.31, 0.12, 0.04, np.pi, 2 * np.pi, 5)
    p[27:31] = np.stack([np.full(4, 0.5), np.linspace(0.38, 0.56, 4)], axis=1)
    p[31:36] = np.stack([np.linspace(0.43, 0.57, 5), [0.60, 0.61, 0.62, 0.61, 0.60]], axis=1)
    p[36:42] = [(0.26, 0.38), (0.30, 0.36), (0.36, 0.36), (0.40, 0.38), (0.36, 0.40), (0.30, 0.40)]
    p[42:48] = [(0.60, 0.38), (0.64, 0.36), (0.70, 0.36), (0.74, 0.38), (0.70, 0.40), (0.64, 0.40)]
    p[48:60] = _ellipse(0.5, 0.74, 0.15, 0.06, np.pi, 3 * np.pi, 13)[:12]
    p[60:68] = _ellipse(0.5, 0.74, 0.10, 0.02, np.pi, 3 * np.pi, 9)[:8]
    if scheme.num_points == 89:
        p[68:73] = [(0.33, 0.38), (0.31, 0.38), (0.35, 0.38), (0.30, 0.34), (0.36, 0.34)]
        p[73:78] = [(0.67, 0.38), (0.65, 0.38), (0.69, 0.38), (0.64, 0.34), (0.70, 0.34)]
        p[78:83] = [(0.46, 0.60), (0.54, 0.60), (0.42, 0.58), (0.58, 0.58), (0.5, 0.605)]
        p[83:89] = [(0.47, 0.66), (0.53, 0.66), (0.5, 0.665), (0.33, 0.74), (0.67, 0.74), (0.5, 0.86)]
    return p


def draw_face(side: int, points: np.ndarray, seed: int) -> np.ndarray:
    """(side, side, 3) uint8 RGB picture of a face with those landmarks (pixels of that image)."""
    rng = np.random.default_rng(seed)
    img = np.full((side, side, 3), (70, 90, 120), np.uint8)
    img = (img + rng.integers(0, 12, img.shape)).astype(np.uint8)
    lo, hi = points.min(axis=0), points.max(axis=0)
    centre = (int((lo[0] + hi[0]) / 2), int(lo[1] + 0.42 * (hi[1] - lo[1])))
    axes = (int((hi[0] - lo[0]) / 2) + 3, int(0.62 * (hi[1] - lo[1])))
    cv2.ellipse(img, centre, axes, 0, 0, 360, (224, 180, 150), -1)
    for group, colour in ((range(36, 42), (250, 250, 250)), (range(42, 48), (250, 250, 250)),
                          (range(48, 60), (170, 60, 70)), (range(17, 22), (90, 60, 40)), (range(22, 27), (90, 60, 40))):
        cv2.fillPoly(img, [np.round(points[list(group)]).astype(np.int32)], colour)
    for c in (points[36:42].mean(axis=0), points[42:48].mean(axis=0)):
        cv2.circle(img, tuple(int(v) for v in c), max(2, side // 60), (60, 40, 30), -1)
    cv2.polylines(img, [np.round(points[27:36]).astype(np.int32)], False, (150, 100, 80), 2)
    return img


def make_capture(root: Path, scheme: Scheme = STUDIO89, side: int = 320, subjects: int = 2) -> Path:
    """A studio capture (``<subject>/<expression>/<camera>.png`` + 0-based tagged ``.pts``)."""
    face = unit_face(scheme)
    for s in range(subjects):
        for c in range(2):
            rng = np.random.default_rng(10 * s + c)
            pts = face * side * 0.6 + side * 0.2 + rng.normal(0, side * 0.004, face.shape)
            folder = root / f"s{s:02d}" / "neutral"
            folder.mkdir(parents=True, exist_ok=True)
            cv2.imwrite(str(folder / f"cam{c}.png"), cv2.cvtColor(draw_face(side, pts, s * 2 + c), cv2.COLOR_RGB2BGR))
            write_pts(folder / f"cam{c}.pts", pts)
    return root


def write_run(runs: Path, name: str, method: str, res: int, data: Path | str, pred: np.ndarray | None,
              gt: np.ndarray | None, scheme: Scheme, ids: list[str] | None = None,
              subsets: list[str] | None = None, train_res: int | None = None, status: str = "ok",
              error: str = "", created: str = "2026-01-01T00:00:00+00:00",
              extra_res: dict[int, tuple[np.ndarray, np.ndarray]] | None = None) -> Path:
    """One run folder, as the runner writes it: config.json, predictions.parquet, metrics.json."""
    run_dir = runs / name
    runfolder.write_json(run_dir / runfolder.CONFIG, {
        "method": method, "name": name, "res": res, "train_res": train_res or res, "preset": "smoke",
        "data": str(data), "scheme": scheme.name, "seed": 0, "facebench_version": "0.1.0",
        "created": created, "params": 1234})
    if status == "incomplete":
        return run_dir
    if status != "ok":
        runfolder.write_json(run_dir / runfolder.METRICS, {"status": status, "error": error})
        return run_dir
    ids = ids or [f"img{i:03d}" for i in range(len(pred))]
    by_res = {}
    for r, (p, g) in {res: (pred, gt), **(extra_res or {})}.items():
        by_res[str(r)] = M.summarize(p, g, scheme, subsets=subsets, ids=ids)
        runfolder.merge_predictions(run_dir, runfolder.predictions_frame(
            ids, r, p, g, subsets, M.normaliser(g, scheme)))
    runfolder.write_json(run_dir / runfolder.METRICS, {
        "status": "ok", **by_res[str(res)], "by_res": by_res,
        "timing": {"train_seconds": 12.5, "predict_seconds_per_image": 0.0123}})
    return run_dir


def noisy(gt: np.ndarray, sigma_px: float, seed: int) -> np.ndarray:
    return gt + np.random.default_rng(seed).normal(0.0, sigma_px, gt.shape)


def _gaussians(points: np.ndarray, side: int, sigma: float) -> np.ndarray:
    """(n, side, side) float16 maps, each a normalised Gaussian at one of points (n, 2) (side px)."""
    yy, xx = np.mgrid[0:side, 0:side]
    d2 = (xx[None] - points[:, 0, None, None]) ** 2 + (yy[None] - points[:, 1, None, None]) ** 2
    maps = np.exp(-d2 / (2 * sigma ** 2))
    return (maps / maps.sum(axis=(1, 2), keepdims=True)).astype(np.float16)


def write_examples(run_dir: Path, ds, rows, res: int, crop: int = 48, heat: int = 64, seed: int = 0) -> None:
    """examples.npz for an ADC run: Gaussian latent heatmaps at noisy coarse points, one box per
    region around its coarse points, crops resampled from the R image, refined points nearer the
    truth (see the run-folder contract)."""
    from facebench.schemes import REGION_NAMES

    rng = np.random.default_rng(seed)
    scheme = ds.scheme
    ids = list(rows["id"])
    gt = ds.landmarks(rows, res)                                             # (K, N, 2)
    coarse = gt + rng.normal(0, res * 0.012, gt.shape)
    refined = coarse.copy()
    regional = list(scheme.regional)
    refined[:, regional] = gt[:, regional] + rng.normal(0, res * 0.002, (len(ids), len(regional), 2))
    out = {"ids": np.array(ids), "res": np.array(res), "region_names": np.array(REGION_NAMES),
           "proxy": np.stack([ds.load_image(i, 256) for i in ids]),
           "global_heatmaps": np.stack([_gaussians(geometry.rescale_points(c, res, heat), heat, 1.5) for c in coarse]),
           "coarse": coarse, "refined": refined, "gt": gt}
    boxes = np.zeros((len(ids), len(REGION_NAMES), 4))
    grid = np.stack(np.meshgrid(np.arange(crop), np.arange(crop)), axis=-1).reshape(1, -1, 2).astype(np.float64)
    for r, region in enumerate(REGION_NAMES):
        pts = list(scheme.regions[region])
        crops, heats = [], []
        for k, sample in enumerate(ids):
            box = geometry.square_box(geometry.points_box(coarse[k, pts]), margin=0.2)
            boxes[k, r] = box
            src = geometry.from_crop(grid, box[None], crop).reshape(crop, crop, 2).astype(np.float32)
            crops.append(cv2.remap(ds.load_image(sample, res), src[..., 0], src[..., 1], cv2.INTER_LINEAR,
                                   borderMode=cv2.BORDER_REPLICATE))
            heats.append(_gaussians(geometry.to_crop(refined[k, pts], box, 32), 32, 1.0))
        out[f"crops_{region}"] = np.stack(crops)
        out[f"regional_heatmaps_{region}"] = np.stack(heats)
        out[f"region_points_{region}"] = np.array(pts)
    out["boxes"] = boxes
    np.savez_compressed(run_dir / runfolder.EXAMPLES, **out)


# ---- fixtures ------------------------------------------------------------------------------------

@pytest.fixture(scope="session")
def studio_data(tmp_path_factory) -> Path:
    """A real prepared studio89 dataset: 2 subjects x 2 cameras at 320 px, prepared at 256 and 512."""
    capture = make_capture(tmp_path_factory.mktemp("capture"))
    out = tmp_path_factory.mktemp("prepared") / "data"
    prepare(out, studio=(capture,), options=PrepareOptions(resolutions=(256, 512)), workers=1, progress=False)
    return out


def _faces(scheme: Scheme, count: int, side: float, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return np.stack([unit_face(scheme) * side * 0.6 + side * 0.2 + rng.normal(0, side * 0.01, (scheme.num_points, 2))
                     for _ in range(count)])


@pytest.fixture(scope="session")
def runs_dir(tmp_path_factory, studio_data) -> Path:
    """Every kind of run folder the report meets: a studio grid at 256 / 512 (with a failed OOM run,
    an unfinished run, a superseded duplicate, ablations, an external scored run, an ADC run tested
    at a higher resolution and one with examples.npz), plus 300-W and 300-VW runs."""
    from facebench.dataset import PreparedDataset

    runs = tmp_path_factory.mktemp("runs")
    ds = PreparedDataset(studio_data)
    rows = ds.split("test")
    ids = list(rows["id"])
    gt = {r: ds.landmarks(rows, r) for r in (256, 512)}
    sigma = {"dlib-ert": 3.0, "hg2": 2.0, "cpm6": 2.4, "adc-cpm": 1.6, "adc-stack2": 0.9, "adc": 1.2}
    for seed, (method, s) in enumerate(sigma.items()):
        for r in (256, 512):
            if method in ("cpm6", "adc-cpm", "adc-stack2") and r == 256:
                continue
            f = s * r / 256 if method not in ("adc", "adc-stack2") else s * (0.8 if r == 512 else 1.0) * r / 256
            extra = None
            if method == "adc" and r == 256:   # the paper's Figure 8 protocol: also tested at 512
                extra = {512: (noisy(gt[512], 2.0 * s, 99), gt[512])}
            write_run(runs, f"{method}-{r}", method, r, studio_data, noisy(gt[r], f, seed * 10 + r), gt[r],
                      STUDIO89, ids=ids, train_res=256 if method in ("dlib-ert", "hg2", "cpm6") else r,
                      extra_res=extra)
    write_examples(runs / "adc-512", ds, rows, 512)
    write_run(runs, "hg2-512-old", "hg2", 512, studio_data, noisy(gt[512], 9.0, 5), gt[512], STUDIO89, ids=ids,
              train_res=256, created="2025-06-01T00:00:00+00:00")
    write_run(runs, "adc-light-512", "adc-light", 512, studio_data, None, None, STUDIO89, status="oom",
              error="OutOfMemoryError: CUDA out of memory. Tried to allocate 2.00 GiB")
    write_run(runs, "fan4-512", "fan4", 512, studio_data, None, None, STUDIO89, status="incomplete", train_res=256)
    write_run(runs, "my-detector", "external", 512, studio_data, noisy(gt[512], 2.5, 77), gt[512], STUDIO89, ids=ids)

    w_gt = _faces(IBUG68, 6, 200.0, 1)
    w_sub = ["common"] * 4 + ["challenging"] * 2
    for seed, (method, s) in enumerate((("hg2", 2.5), ("adc", 1.5))):
        write_run(runs / "300w", f"{method}-256", method, 256, "/nonexistent/300w", noisy(w_gt, s, 40 + seed), w_gt,
                  IBUG68, ids=[f"300w_{i}" for i in range(6)], subsets=w_sub)
    v_gt = _faces(IBUG68, 6, 200.0, 2)
    write_run(runs / "300vw", "adc-256", "adc", 256, "/nonexistent/300vw", noisy(v_gt, 1.5, 60), v_gt, IBUG68,
              ids=[f"300vw_{i}" for i in range(6)], subsets=["cat1", "cat1", "cat2", "cat2", "cat3", "cat3"])
    return runs
