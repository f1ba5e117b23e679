"""Synthetic run folders for the report tests, on the shared ``tiny_prepared`` studio dataset
(tests/conftest.py: drawn faces prepared at 128 and 256): run folders written with
``facebench.run.folder`` whose predictions are the ground truth plus seeded noise, scored with
``facebench.eval.metrics.summarize``, as the runner does."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from facebench.core import geometry
from facebench.core.io import write_json
from facebench.core.schemes import IBUG68, STUDIO89, Scheme
from facebench.eval import metrics as M
from facebench.eval import uncertainty as U
from facebench.run import folder as runfolder


def write_run(runs: Path, name: str, method: str, res: int, data: Path | str, pred: np.ndarray | None,
              gt: np.ndarray | None, scheme: Scheme, ids: list[str] | None = None,
              subsets: list[str] | None = None, train_res: int | None = None, status: str = "ok",
              error: str = "", created: str = "2026-01-01T00:00:00+00:00",
              extra_res: dict[int, tuple[np.ndarray, np.ndarray]] | None = None,
              spread_px: float | None = None) -> Path:
    """One run folder, as the runner writes it: config.json, predictions.parquet, metrics.json.
    ``spread_px``: also the per-landmark covariance columns an ADC run writes (isotropic, each point's
    standard deviation drawn around ``spread_px``; regional points in ``cov_regional``)."""
    run_dir = runs / name
    write_json(run_dir / runfolder.CONFIG, {
        "method": method, "name": name, "res": res, "train_res": train_res or res, "preset": "smoke",
        "data": str(data), "scheme": scheme.name, "seed": 0, "facebench_version": "0.1.0",
        "created": created, "params": 1234})
    if status == "incomplete":
        return run_dir
    if status != "ok":
        write_json(run_dir / runfolder.METRICS, {"status": status, "error": error})
        return run_dir
    ids = ids or [f"img{i:03d}" for i in range(len(pred))]
    by_res = {}
    for r, (p, g) in {res: (pred, gt), **(extra_res or {})}.items():
        by_res[str(r)] = M.summarize(p, g, scheme, subsets=subsets, ids=ids)
        frame = runfolder.predictions_frame(ids, r, p, g, subsets, M.normaliser(g, scheme))
        if spread_px is not None:
            std = spread_px * np.random.default_rng(r).uniform(0.5, 1.5, p.shape[:2])     # (B, N)
            cov = (std ** 2)[..., None, None] * np.eye(2)                                 # (B, N, 2, 2)
            regional = np.isin(np.arange(p.shape[1]), scheme.regional)
            cov_regional = np.where(regional[None, :, None, None], cov, np.nan)
            frame = U.add_columns(frame, np.where(regional[None, :, None, None], 4 * cov, cov), cov_regional)
        runfolder.merge_predictions(run_dir, frame)
    write_json(run_dir / runfolder.METRICS, {
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
    from facebench.core.schemes import REGION_NAMES

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
def runs_dir(tmp_path_factory, tiny_prepared) -> Path:
    """Every kind of run folder the report meets: a studio grid at 128 / 256 (with a failed OOM run,
    an unfinished run, a superseded duplicate, ablations, an external scored run, an ADC run tested
    at a higher resolution and one with examples.npz), plus 300-W and 300-VW runs."""
    from facebench.core.prepared import PreparedDataset

    runs = tmp_path_factory.mktemp("runs")
    ds = PreparedDataset(tiny_prepared)
    rows = ds.split("test")
    ids = list(rows["id"])
    gt = {r: ds.landmarks(rows, r) for r in (128, 256)}
    sigma = {"dlib-ert": 3.0, "hg2": 2.0, "cpm6": 2.4, "adc-cpm": 1.6, "adc-stack2": 0.9, "adc": 1.2}
    for seed, (method, s) in enumerate(sigma.items()):
        for r in (128, 256):
            if method in ("cpm6", "adc-cpm", "adc-stack2") and r == 128:
                continue
            f = s * r / 128 if method not in ("adc", "adc-stack2") else s * (0.8 if r == 256 else 1.0) * r / 128
            extra = None
            if method == "adc" and r == 128:   # the paper's Figure 8 protocol: also tested at 256
                extra = {256: (noisy(gt[256], 2.0 * s, 99), gt[256])}
            write_run(runs, f"{method}-{r}", method, r, tiny_prepared, noisy(gt[r], f, seed * 10 + r), gt[r],
                      STUDIO89, ids=ids, train_res=128 if method in ("dlib-ert", "hg2", "cpm6") else r,
                      extra_res=extra, spread_px=f if method == "adc" else None)
    write_examples(runs / "adc-256", ds, rows.iloc[:2], 256)
    write_run(runs, "hg2-256-old", "hg2", 256, tiny_prepared, noisy(gt[256], 9.0, 5), gt[256], STUDIO89, ids=ids,
              train_res=128, created="2025-06-01T00:00:00+00:00")
    write_run(runs, "adc-light-256", "adc-light", 256, tiny_prepared, None, None, STUDIO89, status="oom",
              error="OutOfMemoryError: CUDA out of memory. Tried to allocate 2.00 GiB")
    write_run(runs, "fan4-256", "fan4", 256, tiny_prepared, None, None, STUDIO89, status="incomplete", train_res=128)
    write_run(runs, "my-detector", "external", 256, tiny_prepared, noisy(gt[256], 2.5, 77), gt[256], STUDIO89, ids=ids)

    faces = ds.landmarks(ds.manifest, 256)[:, :IBUG68.num_points]       # 68-point ground truth
    w_gt = faces[:6]
    w_sub = ["common"] * 4 + ["challenging"] * 2
    for seed, (method, s) in enumerate((("hg2", 2.5), ("adc", 1.5))):
        write_run(runs / "300w", f"{method}-256", method, 256, "/nonexistent/300w", noisy(w_gt, s, 40 + seed), w_gt,
                  IBUG68, ids=[f"300w_{i}" for i in range(6)], subsets=w_sub)
    v_gt = faces[-6:]
    write_run(runs / "300vw", "adc-256", "adc", 256, "/nonexistent/300vw", noisy(v_gt, 1.5, 60), v_gt, IBUG68,
              ids=[f"300vw_{i}" for i in range(6)], subsets=["cat1", "cat1", "cat2", "cat2", "cat3", "cat3"])
    return runs
