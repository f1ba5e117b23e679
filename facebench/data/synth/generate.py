"""Write a synthetic studio capture: ``OUT/<subject>/<expression>/<camera>.png`` + ``.pts`` and
``OUT/capture.json`` (the layout of docs/design.md, read by ``facebench.data.ingest.studio``).

Every image's randomness comes from (seed, subject, expression, camera) alone, so any number of
workers, any order and any re-run produce byte-identical files. A wild or mixed capture
(``SynthConfig.look``, :mod:`facebench.data.synth.wild`) also writes ``<camera>.occluded.json``
beside each ``.pts`` (before it): which points an occluder covers, and what the image drew. Finished images are kept: an
image counts as finished when its ``.pts`` exists (the ``.pts`` is written after the image, both
through a temporary name and a rename), so an interrupted run resumes where it stopped and never
leaves a half-written file.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from facebench import __version__
from facebench.core.errors import FacebenchError
from facebench.core.io import atomic_write_bytes, write_json
from facebench.core.pts import write_pts
from facebench.core.safety import die_with_parent
from facebench.data.synth.appearance import subject_for, suggested_split
from facebench.data.synth.capture_guard import check_same_capture
from facebench.data.synth.config import STREAM_ANNOTATOR, STREAM_IMAGE, SynthConfig, rng_for, subject_name
from facebench.data.synth.expressions import EXPRESSIONS
from facebench.data.synth.render import make_assets, mesh_spacing, render
from facebench.data.synth.rig import DISTANCE, FILL, TARGET, make_rig
from facebench.data.synth.shading import LIGHTS
from facebench.data.synth.wild import WILD_SHARE, is_wild, render_wild

CAPTURE_JSON = "capture.json"
SIDECAR = ".occluded.json"      # <camera>.occluded.json beside <camera>.pts (docs/design.md)


@dataclass(frozen=True)
class Job:
    subject: int
    expression: int
    camera: int
    image: Path
    pts: Path

    @property
    def sidecar(self) -> Path:
        return self.pts.with_name(self.pts.stem + SIDECAR)


def plan(out: Path, cfg: SynthConfig) -> list[Job]:
    """Every image of the capture, ordered by subject, expression, camera."""
    jobs = []
    for i in range(cfg.subjects):
        for j in range(cfg.expressions):
            folder = out / subject_name(i) / EXPRESSIONS[j].name
            for k in range(cfg.cameras):
                jobs.append(Job(i, j, k, folder / f"cam{k}.{cfg.image_format}", folder / f"cam{k}.pts"))
    return jobs


def capture_description(cfg: SynthConfig) -> dict:
    """The content of capture.json (deterministic: no dates, no timings)."""
    rig = make_rig(cfg.cameras, cfg.size, cfg.seed)
    split = suggested_split(cfg)
    return {
        "generator": "facebench.synth",
        "facebench_version": __version__,
        "scheme": "studio89",
        "num_points": 89,
        "pts_base": 0,
        "coordinates": "(x, y) px, 0-based, pixel centres at integer coordinates",
        "seed": cfg.seed,
        "size": cfg.size,
        "image_format": cfg.image_format,
        "annotator_noise_px": cfg.annotator_noise,
        "config": cfg.to_dict(),
        "look": {"look": cfg.look, "wild_share": {"studio": 0.0, "wild": 1.0, "mixed": WILD_SHARE}[cfg.look],
                 "wild_images": "their own camera, lighting, background, occluders and finish: see each "
                                "<camera>.occluded.json; the rig and lighting here are the studio images'",
                 **({"wild_off": sorted(cfg.wild_off)} if cfg.wild_off else {})},
        "rig": {
            "target_mm": TARGET.tolist(), "arc_radius_mm": DISTANCE, "nominal_face_fill": FILL,
            "head_frame": "mm; x to the image right of a frontal view (subject's left), y up, z towards the cameras",
            "cameras": [c.to_dict() for c in rig],
        },
        "lighting": [{"direction": d.round(4).tolist(), "rgb": c.tolist()} for d, c, _ in LIGHTS],
        "expressions": [{"name": e.name, "controls": e.controls()} for e in EXPRESSIONS[:cfg.expressions]],
        "subjects": [{"name": subject_name(i), "params": subject_for(cfg, i).to_dict(),
                      **({"split": split[subject_name(i)]} if split else {})} for i in range(cfg.subjects)],
    }


def _prepare_out(out: Path) -> None:
    if out.exists() and not out.is_dir():
        raise FacebenchError("output exists and is not a folder", out)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise FacebenchError(f"cannot create output folder ({err.strerror})", out) from None
    if not os.access(out, os.W_OK):
        raise FacebenchError("output folder is not writable", out)


def generate(out: Path, cfg: SynthConfig, workers: int = 1, progress: bool = True) -> dict:
    """Synthesize the capture ``cfg`` into ``out``; returns a summary
    ``{"written", "kept", "images", "seconds", "seconds_per_image", "out"}``."""
    out = Path(out)
    if workers < 1:
        raise FacebenchError(f"workers must be at least 1, got {workers}")
    _prepare_out(out)
    check_same_capture(out, cfg)
    t0 = time.perf_counter()
    write_json(out / CAPTURE_JSON, capture_description(cfg))
    jobs = plan(out, cfg)
    todo = [j for j in jobs if not (j.pts.is_file() and j.image.is_file())]
    kept = len(jobs) - len(todo)
    written = 0
    bar = None
    if progress:
        from tqdm import tqdm
        bar = tqdm(total=len(jobs), initial=kept, desc="synth", unit="img", dynamic_ncols=True)
    # Work is handed out per (subject, expression) so a worker builds each face and pose once.
    groups: dict[tuple[int, int], list[Job]] = {}
    for j in todo:
        groups.setdefault((j.subject, j.expression), []).append(j)
    tasks = [(cfg, g) for g in groups.values()]
    try:
        if workers == 1 or len(tasks) <= 1:
            for t in tasks:
                for _ in _run_group(t):
                    written += 1
                    if bar:
                        bar.update(1)
        else:
            import multiprocessing as mp
            # "spawn": a forked child can inherit a lock held by one of OpenCV's or BLAS's threads
            # in the parent and hang; fresh interpreters cost ~1 s each and are safe.
            ctx = mp.get_context("spawn")
            with ctx.Pool(workers, initializer=_worker_init) as pool:
                for n in pool.imap_unordered(_run_group_count, tasks):
                    written += n
                    if bar:
                        bar.update(n)
    finally:
        if bar:
            bar.close()
    seconds = time.perf_counter() - t0
    return {"written": written, "kept": kept, "images": len(jobs), "seconds": round(seconds, 3),
            "seconds_per_image": round(seconds / written, 3) if written else 0.0, "out": str(out)}


def _worker_init() -> None:
    import cv2

    cv2.setNumThreads(1)
    die_with_parent()   # no orphaned worker after a `kill -9` of synth


def _run_group_count(task) -> int:
    return sum(1 for _ in _run_group(task))


_ASSETS: dict = {}


def _assets(cfg: SynthConfig, subject: int, spacing: float):
    key = (cfg.seed, subject, spacing, cfg.size, cfg.appearance, cfg.subjects)
    if key not in _ASSETS:
        _ASSETS.clear()    # one subject at a time keeps a worker's memory flat
        _ASSETS[key] = make_assets(cfg.seed, subject_for(cfg, subject), spacing, cfg.size)
    return _ASSETS[key]


def _run_group(task):
    """Render the jobs of one (subject, expression); yields after each written image."""
    import cv2

    cfg, jobs = task
    rig = make_rig(cfg.cameras, cfg.size, cfg.seed)
    assets = _assets(cfg, jobs[0].subject, mesh_spacing(cfg.size, rig[0]))
    for job in jobs:
        e = EXPRESSIONS[job.expression]
        if is_wild(cfg.look, cfg.seed, job.subject, job.expression, job.camera):
            wild = render_wild(assets, e, cfg.size, cfg.seed, job.subject, job.expression, job.camera,
                               cfg.wild_off)
            img, lm, side = wild.image, wild.landmarks, {"look": "wild", **_flags(wild.occluded), **wild.info}
        else:
            rng = rng_for(cfg.seed, STREAM_IMAGE, job.subject, job.expression, job.camera)
            img, lm = render(assets, e, rig[job.camera], rng, cfg.seed)
            side = {"look": "studio", **_flags(np.zeros(len(lm), bool)), "camera": rig[job.camera].to_dict()}
        if cfg.annotator_noise > 0:
            noise_rng = rng_for(cfg.seed, STREAM_ANNOTATOR, job.subject, job.expression, job.camera)
            lm = lm + noise_rng.normal(0.0, cfg.annotator_noise, lm.shape)
        if not np.isfinite(lm).all():
            raise RuntimeError(f"non-finite landmark in {job.image}")
        bgr = cv2.cvtColor(img, cv2.COLOR_RGB2BGR)
        ok, buf = cv2.imencode(f".{cfg.image_format}", bgr, encode_params(cfg.image_format))
        if not ok:
            raise RuntimeError(f"image encoding failed for {job.image}")
        job.image.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_bytes(job.image, buf.tobytes())
        if cfg.look != "studio":
            write_json(job.sidecar, side)
        write_pts(job.pts, lm)
        yield job


def _flags(occluded: np.ndarray) -> dict:
    """The sidecar's occlusion fields: one 0/1 per point of the .pts, in its order."""
    return {"num_points": int(len(occluded)), "occluded": [int(o) for o in occluded],
            "occluded_count": int(occluded.sum())}


def encode_params(fmt: str) -> list[int]:
    """OpenCV's encoder settings for the synthesizer's images (also used by ``bench synth``)."""
    import cv2
    if fmt == "jpg":
        return [cv2.IMWRITE_JPEG_QUALITY, 95]
    # Fast PNG: noisy 4096 px images barely compress; Huffman-only with the Up filter is ~2x faster.
    return [cv2.IMWRITE_PNG_COMPRESSION, 1, cv2.IMWRITE_PNG_STRATEGY, cv2.IMWRITE_PNG_STRATEGY_HUFFMAN_ONLY,
            cv2.IMWRITE_PNG_FILTER, cv2.IMWRITE_PNG_FILTER_UP]
