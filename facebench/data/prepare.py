"""``facebench prepare``: ingest inputs, split by subject, cut square face crops, write the pyramid.

Output (docs/design.md, "Prepared dataset"): ``OUT/manifest.parquet`` (one row per sample, columns
:data:`MANIFEST_COLUMNS`), ``OUT/images/<R>/<id>.tif`` (8-bit RGB, tiled; ``.png`` with
``--format png``) and ``OUT/dataset.json``.

Decisions (also in ``facebench prepare --help``):

- **No input at all**: :func:`prepare_default` synthesizes :data:`DEFAULT_SYNTH` into
  ``data/synth-default/`` (a cache, reused when complete) and prepares it into ``data/default/``
  (``--out`` overrides), both relative to the current directory.
- **Crop**: the landmark bounding box, made square with ``margin`` (0.25) of its longer side added
  on each side, snapped to whole pixels (:mod:`facebench.core.geometry`). Pixels outside the source are
  filled by border replication. Each R is resampled from the crop itself (:mod:`facebench.pyramid`).
- **Upsampling**: a crop whose side is smaller than R is never enlarged silently. ``flag``
  (default) writes it (bilinear) and counts it in ``dataset.json["upsampled"]``; readers can keep
  ``crop_side >= R``. ``skip`` does not write it (``dataset.json["skipped"]``); the reader then
  refuses that R for those samples. Prepare prints both counts per R.
- **Resolutions**: 256 is always prepared (added if missing): every method reads the 256 proxy.
- **Splits**: studio captures by subject, ``test_fraction`` of the subjects (rounded, at least one
  per split when there are two or more) drawn with ``seed``; 300-W / 300-VW keep their official
  splits. Several ``--studio`` folders: a subject name found in more than one is taken as the same
  person (same split), so a repeated capture cannot leak a person across splits; ids that collide
  (the same ``subject/expression/camera`` twice) are refused, naming both files. A dataset where a
  subject would be in two splits is refused.
- **Schemes**: all inputs must share one landmark scheme, unless ``scheme="ibug68"`` is asked for,
  which keeps the first 68 points of studio89 captures (the same 68 iBUG points by definition).
- **Validation before writing**: every landmark file and image header is read and checked before
  the first image is written; a source damaged past its header is caught when decoded, and then
  no manifest is written.
- **Resume**: images are written to a temporary name and renamed, and skipped on a rerun when
  present at the right size; ``dataset.json`` and then ``manifest.parquet`` are written last, so
  a folder without ``manifest.parquet`` is unfinished. The planned manifest is kept as
  ``.prepare-plan.parquet`` meanwhile: a rerun with other options deletes exactly the images whose
  source or crop box changed. A *finished* dataset is never changed in place: a prepare with
  other inputs, options or split is refused unless ``force`` (``dataset.json["fingerprint"]``,
  :mod:`facebench.fingerprint`), and is then built beside it and swapped in
  (:func:`facebench.safety.build_beside`), under a lock beside ``out``.
- **Workers**: a process pool of ``workers`` (default: CPU count); one task per source file
  (image, or a whole 300-VW video), decoded once, written at every R; a tqdm bar on stderr.
"""

from __future__ import annotations

import contextlib
import math
import os
import sys
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Sequence

import numpy as np
import pandas as pd

from facebench import __version__
from facebench.core import fingerprint, geometry, safety
from facebench.core.errors import FacebenchError
from facebench.core.io import write_json, write_parquet
from facebench.core.prepared import DATASET_JSON, DEFAULT_MARGIN, IMAGES, MANIFEST, MANIFEST_COLUMNS, PLAN, PROXY_RES
from facebench.core.schemes import Scheme, get_scheme, is_prefix
from facebench.core.tiled import FORMATS, SUFFIX
from facebench.data.ingest.records import Ingested
from facebench.data.ingest.studio import ingest_studio
from facebench.data.ingest.vw300 import ingest_300vw
from facebench.data.ingest.w300 import ingest_300w
from facebench.data.pyramid import TMP_GLOB, CropJob, SourceTask, image_size, init_worker, run_task
from facebench.data.synth.appearance import suggested_split
from facebench.data.synth.config import SynthConfig
from facebench.data.synth.generate import generate

DEFAULT_RESOLUTIONS: tuple[int, ...] = (256, 512, 1024, 2048, 4096)
DEFAULT_OUT = Path("data/default")
DEFAULT_SYNTH_DIR = Path("data/synth-default")
# the capture `facebench prepare` synthesizes when given no input, sized to build in under 15 minutes
# on 2 cores: 12 subjects drawn stratified over appearance (skin tone, sex, grey hair, build) and split
# stratified, 8 train / 4 test (facebench/data/synth/appearance.py) x the first 4 expressions x 4 cameras =
# 192 images at 4096, written as JPEG (q 95) like most studio stills; docs/bench/prepare.md. Mixed look:
# each image studio or wild at random (half and half), so the studio experiments keep studio images and
# training sees the wild domain (facebench/data/synth/wild.py). Measured (quiet, 2 workers): 13 min 47 s,
# of which synthesis 9 min 24 s (BENCHMARKS.md, session 6).
DEFAULT_SYNTH = SynthConfig(subjects=12, expressions=4, cameras=4, size=4096, seed=0, image_format="jpg",
                            appearance="stratified", look="mixed")


@dataclass(frozen=True)
class PrepareOptions:
    """Everything that decides what prepare writes (recorded in ``dataset.json["options"]``)."""

    resolutions: tuple[int, ...] = DEFAULT_RESOLUTIONS
    test_fraction: float = 0.5
    seed: int = 0
    margin: float = DEFAULT_MARGIN
    vw_stride: int = 5
    upsample: str = "flag"            # flag | skip
    scheme: str | None = None         # None: the inputs' own scheme
    subject_split: tuple[tuple[str, str], ...] = ()   # (subject, train | test) pairs instead of a random split
    format: str = FORMATS[0]          # tiff | png: how the images are stored (facebench/core/tiled.py)

    def __post_init__(self) -> None:
        if not self.resolutions or any(int(r) < 1 for r in self.resolutions):
            raise FacebenchError(f"resolutions must be positive integers, got {self.resolutions}")
        if not 0.0 <= self.test_fraction <= 1.0:
            raise FacebenchError(f"--test-fraction must be in [0, 1], got {self.test_fraction}")
        if not (self.margin >= 0.0 and math.isfinite(self.margin)):
            raise FacebenchError(f"--margin must be >= 0, got {self.margin}")
        if self.vw_stride < 1:
            raise FacebenchError(f"--vw-stride must be >= 1, got {self.vw_stride}")
        if self.format not in FORMATS:
            raise FacebenchError(f"--format must be one of {', '.join(FORMATS)}, got {self.format!r}")
        if self.upsample not in ("flag", "skip"):
            raise FacebenchError(f"--upsample must be flag or skip, got {self.upsample!r}")
        if self.scheme is not None:
            get_scheme(self.scheme)
        for r in self.resolutions:
            safety.check_resolution(r, "--resolutions")
        safety.check_margin(self.margin)

    @property
    def all_resolutions(self) -> tuple[int, ...]:
        """The resolutions prepared: those asked for plus the 256 proxy, ascending."""
        return tuple(sorted({int(r) for r in self.resolutions} | {PROXY_RES}))


@dataclass
class PrepareSummary:
    """What a prepare did, for the CLI to print."""

    out: Path
    counts: dict[str, int]
    resolutions: tuple[int, ...]
    upsample: str                     # flag | skip
    upsampled: dict[int, int]
    skipped: dict[int, int]
    written: int                      # images written by this call
    reused: int                       # images already present (an earlier, interrupted prepare)
    seconds: float
    notes: list[str] = field(default_factory=list)

    def lines(self) -> list[str]:
        """The summary as lines of text."""
        c = self.counts
        out = [f"prepared {c['total']} samples (train {c['train']}, test {c['test']}; subjects "
               f"train {c['subjects_train']}, test {c['subjects_test']}) into {self.out}",
               f"images: {self.written} written, {self.reused} already there; {self.seconds:.1f} s"]
        skip = self.upsample == "skip"
        counts = self.skipped if skip else self.upsampled
        out.append(f"crops smaller than R, {'skipped (not written)' if skip else 'upsampled (flagged)'}: "
                   + ", ".join(f"{r}: {counts[r]}" for r in self.resolutions))
        return out + self.notes


def prepare(out: str | Path, studio: Sequence[str | Path] = (), w300: str | Path | None = None,
            vw300: str | Path | None = None, options: PrepareOptions = PrepareOptions(),
            workers: int | None = None, progress: bool = True, force: bool = False) -> PrepareSummary:
    """Prepare the given inputs into ``out``; see the module docstring. Raises
    :class:`FacebenchError` on bad input, before writing anything where it can be known then."""
    start = time.perf_counter()
    out = Path(out)
    if not studio and w300 is None and vw300 is None:
        raise FacebenchError("no input: give --studio, --300w and/or --300vw folders")
    safety.check_unlocked(out, "prepare")   # a prepare is writing it: stop before reading the inputs
    inputs = [ingest_studio(d) for d in studio]
    if w300 is not None:
        inputs.append(ingest_300w(w300))
    if vw300 is not None:
        inputs.append(ingest_300vw(vw300, options.vw_stride))
    plan, scheme, notes = plan_manifest(inputs, options)
    check_out_folder(out)
    info = dataset_info(plan, scheme, inputs, options)
    info["fingerprint"] = fingerprint.dataset_fingerprint(plan, info["options"])
    with safety.folder_lock(out, "prepare"):
        # a finished dataset is never changed in place: the new one is built beside it and swapped in
        finished = (out / MANIFEST).is_file()
        if finished:
            fingerprint.check_reprepare(out / DATASET_JSON, info, force)
        with (safety.build_beside(out, seed_from_target=True) if finished else _in_place(out)) as where:
            written, reused = write_images(where, plan, options, workers or os.cpu_count() or 1, progress)
            write_json(where / DATASET_JSON, info)
            os.replace(where / PLAN, where / MANIFEST)   # last: a folder with a manifest is finished
    resolutions = options.all_resolutions
    return PrepareSummary(
        out=out, counts=info["counts"], resolutions=resolutions, upsample=options.upsample,
        upsampled={r: info["upsampled"][str(r)] for r in resolutions},
        skipped={r: info["skipped"][str(r)] for r in resolutions},
        written=written, reused=reused, seconds=time.perf_counter() - start, notes=notes)


@contextlib.contextmanager
def _in_place(out: Path):
    yield out


def prepare_default(out: str | Path = DEFAULT_OUT, synth_dir: str | Path = DEFAULT_SYNTH_DIR,
                    options: PrepareOptions = PrepareOptions(), workers: int | None = None,
                    progress: bool = True, force: bool = False) -> PrepareSummary:
    """No input given: synthesize :data:`DEFAULT_SYNTH` into ``synth_dir`` and prepare it, split by the
    capture's stratified suggestion (unless ``--test-fraction`` / ``--seed`` ask for a random split)."""
    generate(Path(synth_dir), DEFAULT_SYNTH, workers=workers or os.cpu_count() or 1, progress=progress)
    split = suggested_split(DEFAULT_SYNTH)
    if split and not options.subject_split and (options.test_fraction, options.seed) == (0.5, 0):
        options = replace(options, subject_split=tuple(sorted(split.items())))
    return prepare(out, studio=(synth_dir,), options=options, workers=workers, progress=progress, force=force)


def plan_manifest(inputs: list[Ingested], options: PrepareOptions) -> tuple[pd.DataFrame, Scheme, list[str]]:
    """Validated manifest rows (plus a ``_pts`` column naming each landmark file), the scheme and
    notes: one scheme, unique ids, crop boxes, splits, no subject in two splits."""
    scheme = _common_scheme(inputs, options.scheme)
    records = [r for i in inputs for r in i.records]
    notes = [n for i in inputs for n in i.notes]
    seen: dict[str, str] = {}
    for r in records:
        if r.id in seen:
            raise FacebenchError(f"duplicate sample id {r.id!r} (also made from {seen[r.id]})", r.pts_path)
        seen[r.id] = r.pts_path

    points = np.stack([r.landmarks[:scheme.num_points] for r in records])            # (B, N, 2)
    boxes = geometry.square_box(geometry.points_box(points), margin=options.margin)  # (B, 4)
    boxes = np.stack([geometry.snap_to_pixels(b) for b in boxes])
    sides = [geometry.pixel_window(b)[2] for b in boxes]
    biggest = int(np.argmax(sides))
    safety.check_crop_side(sides[biggest], records[biggest].pts_path, "crop (--margin around the landmarks)")
    studio_split = split_subjects(sorted({r.subject for r in records if r.source == "studio"}),
                                  options.test_fraction, options.seed)
    if options.subject_split:   # a given split (the default capture's stratified one)
        given = dict(options.subject_split)
        missing = sorted(set(studio_split) - set(given))
        if missing:
            raise FacebenchError(f"the given subject split does not place subject(s) {', '.join(missing)}")
        studio_split = {s: given[s] for s in studio_split}
    plan = pd.DataFrame({
        "id": [r.id for r in records], "source": [r.source for r in records],
        "subject": [r.subject for r in records], "sequence": [r.sequence for r in records],
        "view": [r.view for r in records],
        "split": [studio_split[r.subject] if r.source == "studio" else r.split for r in records],
        "subset": [r.subset for r in records], "scheme": scheme.name,
        "rel_path": [r.rel_path for r in records], "src_path": [r.src_path for r in records],
        "frame": np.array([r.frame for r in records], dtype=np.int64),
        "orig_w": np.array([r.orig_w for r in records], dtype=np.int64),
        "orig_h": np.array([r.orig_h for r in records], dtype=np.int64),
        "box": list(boxes), "crop_side": np.array(sides, dtype=np.int64),
        "landmarks": [p.reshape(-1) for p in points],
        "_pts": [r.pts_path for r in records],
    })
    check_subject_splits(plan)
    for name in ("train", "test"):
        if not (plan["split"] == name).any():
            notes.append(f"note: the {name} split is empty")
    return plan, scheme, notes


def split_subjects(subjects: list[str], test_fraction: float, seed: int) -> dict[str, str]:
    """subject -> ``train`` / ``test``: ``round(test_fraction * n)`` test subjects (at least one
    per split when n >= 2 and 0 < test_fraction < 1), drawn by a permutation seeded with ``seed``."""
    n = len(subjects)
    n_test = math.floor(test_fraction * n + 0.5)
    if n >= 2 and 0.0 < test_fraction < 1.0:
        n_test = min(max(n_test, 1), n - 1)
    order = np.random.default_rng(seed).permutation(n)
    test = {subjects[i] for i in order[:n_test]}
    return {s: ("test" if s in test else "train") for s in subjects}


def check_subject_splits(plan: pd.DataFrame) -> None:
    """Refuse a manifest where one subject is in two splits, naming one file of each side."""
    per_subject = plan.groupby("subject")["split"].nunique()
    for subject in per_subject[per_subject > 1].index:
        rows = plan[plan["subject"] == subject]
        train = rows[rows["split"] == "train"]["_pts"].iloc[0]
        test = rows[rows["split"] == "test"]["_pts"].iloc[0]
        raise FacebenchError(f"subject {subject!r} would be in both splits (train: {train}); "
                             "a subject may be in one split only", test)


def _common_scheme(inputs: list[Ingested], wanted: str | None) -> Scheme:
    """The dataset's scheme: ``wanted`` or the inputs' one; refuses inputs that cannot share it."""
    if wanted is None:
        names = {i.scheme.name for i in inputs}
        if len(names) > 1:
            listing = ", ".join(f"{i.root} is {i.scheme.name}" for i in inputs)
            raise FacebenchError(f"inputs use different landmark schemes ({listing}); pass "
                                 "--scheme ibug68 to keep the 68 iBUG points of every input")
        return inputs[0].scheme
    target = get_scheme(wanted)
    for i in inputs:
        if i.scheme != target and not is_prefix(target, i.scheme):
            raise FacebenchError(f"cannot turn {i.scheme.name} landmarks into {target.name}", i.root)
    return target


def check_out_folder(out: Path) -> None:
    """Refuse an output folder that holds anything but a (possibly unfinished) prepared dataset."""
    if out.exists() and not out.is_dir():
        raise FacebenchError("output exists and is not a folder", out)
    if out.is_dir():
        ours = {IMAGES, MANIFEST, DATASET_JSON, PLAN}
        other = sorted(p.name for p in out.iterdir() if p.name not in ours and not p.name.startswith("."))
        if other:
            raise FacebenchError(f"output folder is not a prepared dataset (it holds {other[0]!r}); "
                                 "choose another --out", out)


def write_images(out: Path, plan: pd.DataFrame, options: PrepareOptions, workers: int,
                 progress: bool) -> tuple[int, int]:
    """Write every missing image of ``plan``; returns (written, already present)."""
    resolutions = options.all_resolutions
    try:
        for res in resolutions:
            (out / IMAGES / str(res)).mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise FacebenchError(f"cannot create the output folder ({err.strerror})", out) from None
    for tmp in (out / IMAGES).glob(f"*/{TMP_GLOB}"):   # left by a killed prepare
        tmp.unlink(missing_ok=True)
    previous = _read_plan(out)
    write_parquet(out / PLAN, plan[list(MANIFEST_COLUMNS)])
    if previous is not None:
        _drop_changed_images(out, previous, plan)
    (out / MANIFEST).unlink(missing_ok=True)

    tasks: list[SourceTask] = []
    videos: dict[str, list[CropJob]] = {}
    reused = 0
    for row in plan.itertuples(index=False):
        targets = []
        for res in resolutions:
            path = out / IMAGES / str(res) / f"{row.id}{SUFFIX[options.format]}"
            for other in set(SUFFIX.values()) - {path.suffix}:   # from an earlier prepare in another format
                path.with_suffix(other).unlink(missing_ok=True)
            if row.crop_side < res and options.upsample == "skip":
                path.unlink(missing_ok=True)   # from an earlier prepare with --upsample flag
            elif image_size(path) == (res, res):
                reused += 1
            else:
                targets.append((res, str(path)))
        if not targets:
            continue
        job = CropJob(box=tuple(float(v) for v in row.box), targets=tuple(targets), frame=row.frame)
        if row.source == "300vw":
            videos.setdefault(row.src_path, []).append(job)
        else:
            tasks.append(SourceTask(src_path=row.src_path, size=(row.orig_w, row.orig_h), jobs=(job,)))
    sizes = dict(zip(plan["src_path"], zip(plan["orig_w"], plan["orig_h"])))
    # videos first: the longest tasks, so the pool does not end waiting on one of them
    tasks = [SourceTask(src_path=v, size=tuple(int(s) for s in sizes[v]),
                        jobs=tuple(sorted(jobs, key=lambda j: j.frame)), video=True)
             for v, jobs in videos.items()] + tasks
    _run(tasks, workers, progress)
    return sum(len(j.targets) for t in tasks for j in t.jobs), reused


def _read_plan(out: Path) -> pd.DataFrame | None:
    """The manifest of the last prepare into ``out`` (finished or not), if any."""
    for name in (MANIFEST, PLAN):
        if (out / name).exists():
            try:
                return pd.read_parquet(out / name, columns=["id", "src_path", "frame", "box"])
            except Exception as err:  # noqa: BLE001 - any unreadable file: treat every image as stale
                raise FacebenchError(f"cannot read the previous prepare's {name} ({err.__class__.__name__}); "
                                     "delete the output folder and run again", out / name) from None
    return None


def _drop_changed_images(out: Path, previous: pd.DataFrame, plan: pd.DataFrame) -> None:
    """Delete the images of samples whose source, frame or crop box differ from ``previous``."""
    old = {r.id: (r.src_path, r.frame, tuple(r.box)) for r in previous.itertuples(index=False)}
    folders = [p for p in (out / IMAGES).iterdir() if p.is_dir()]
    for r in plan.itertuples(index=False):
        if r.id in old and old[r.id] != (r.src_path, r.frame, tuple(r.box)):
            for folder in folders:
                for suffix in SUFFIX.values():
                    (folder / f"{r.id}{suffix}").unlink(missing_ok=True)


def _run(tasks: list[SourceTask], workers: int, progress: bool) -> None:
    """Run tasks in-process (one worker) or in a process pool, with a progress bar on stderr."""
    from tqdm import tqdm

    if not tasks:
        return
    bar = tqdm(total=sum(len(t.jobs) for t in tasks), unit="sample", desc="prepare",
               disable=not progress, file=sys.stderr)
    try:
        if workers <= 1:
            import cv2

            threads = cv2.getNumThreads()
            cv2.setNumThreads(1)   # the same conditions as one pool worker
            try:
                for task in tasks:
                    bar.update(run_task(task))
            finally:
                cv2.setNumThreads(threads)
            return
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor, as_completed

        # "spawn", as the synthesizer's pool: a forked worker inherits OpenCV's thread pool in whatever
        # state the parent left it, and init_worker's cv2.setNumThreads(1) can then wait forever on
        # one of its locks (seen when the parent had run OpenCV with several threads before).
        context = multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(min(workers, len(tasks)), mp_context=context, initializer=init_worker) as pool:
            futures = [pool.submit(run_task, t) for t in tasks]
            try:
                for future in as_completed(futures):
                    bar.update(future.result())
            except BaseException:
                for future in futures:   # let the running tasks finish their files, start no more
                    future.cancel()
                raise
    finally:
        bar.close()


def dataset_info(plan: pd.DataFrame, scheme: Scheme, inputs: list[Ingested],
                 options: PrepareOptions) -> dict:
    """The contents of ``dataset.json``."""
    resolutions = options.all_resolutions
    small = {r: int((plan["crop_side"] < r).sum()) for r in resolutions}
    flag = options.upsample == "flag"
    subjects = plan.groupby("split")["subject"].nunique()
    return {
        "facebench_version": __version__,
        "scheme": scheme.name,
        "resolutions": list(resolutions),
        "inputs": [{"kind": i.kind, "path": str(i.root), "samples": len(i.records)} for i in inputs],
        "options": {"margin": options.margin, "test_fraction": options.test_fraction,
                    "seed": options.seed, "vw_stride": options.vw_stride,
                    "upsample": options.upsample, "scheme": options.scheme, "format": options.format,
                    "requested_resolutions": sorted(int(r) for r in options.resolutions),
                    **({"subject_split": dict(options.subject_split)} if options.subject_split else {}),
                    "border": "replicate", "resampling": "INTER_AREA down, INTER_LINEAR up"},
        "counts": {"total": len(plan), "train": int((plan["split"] == "train").sum()),
                   "test": int((plan["split"] == "test").sum()),
                   "subjects_train": int(subjects.get("train", 0)),
                   "subjects_test": int(subjects.get("test", 0))},
        "subsets": {k: int(v) for k, v in plan["subset"].value_counts().sort_index().items() if k},
        "upsampled": {str(r): (small[r] if flag else 0) for r in resolutions},
        "skipped": {str(r): (0 if flag else small[r]) for r in resolutions},
    }
