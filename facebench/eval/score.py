"""Score landmark predictions made by any tool (``facebench score``): one ``.pts`` per image, laid out
like the original data set, against a prepared dataset's ground truth.

A sample's prediction file is ``<pred dir>/<rel_path>.pts`` with ``rel_path`` from the manifest,
e.g. ``DIR/lfpw/testset/image_0001.pts`` for 300-W, ``DIR/114/annot/000001.pts`` for 300-VW and
``DIR/s003/smile/cam2.pts`` for a studio capture. Points are in the *original image's* pixels and
in the data set's own ``.pts`` convention: 300-W / 300-VW files are 1-based like their ground truth;
studio files are 0-based when they carry facebench's tag (``facebench.pts.ZERO_BASED_TAG``), and
otherwise read like that capture's own landmark files: 1-based (iBUG) unless the capture's
``capture.json`` says ``"pts_base": 0`` — exactly how the ingest read the ground truth.

Where the errors are measured (``res``):

- ``res=None`` (default): in source-image pixels, no mapping at all. The run folder written with
  ``out`` records this as ``res = 0`` ("src" in reports).
- ``res=R``: prediction and ground truth are both mapped into the sample's prepared crop resampled
  to ``R x R`` (``geometry.to_crop(points, box, R)``), so pixel errors (PCK) are comparable with
  runs evaluated at R. The crop box is square, so this is a uniform scale per image and the NME is
  the same as in source pixels (up to float rounding); only pixel errors change.

Missing prediction files are an error that names them; files that match no sample of the split
are reported by name (``ScoreResult.extra``) and otherwise ignored.
"""

from __future__ import annotations

import datetime as _dt
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from tqdm import tqdm

from facebench import __version__
from facebench.core import geometry
from facebench.core.errors import FacebenchError
from facebench.core.io import read_json, write_json
from facebench.core.prepared import PreparedDataset
from facebench.core.pts import read_pts
from facebench.core.safety import build_beside, check_resolution
from facebench.data.ingest.studio import read_capture_json
from facebench.eval import metrics
from facebench.eval.temporal import add_jitter
from facebench.run import folder as runfolder
from facebench.run.guard import read_run_json

EXTERNAL = "external"          # config.json "method" of a scored run
SOURCE_RES = 0                 # run-folder "res" meaning "source-image pixels, no mapping"
ONE_BASED_SOURCES = ("300w", "300vw")   # their .pts files are MATLAB 1-based
_LIST = 10                     # how many file names an error message lists
MAX_OUTSIDE = 100              # a predicted coordinate beyond 100x the image size is refused (not a prediction)


@dataclass
class ScoreResult:
    """What :func:`score_predictions` found."""

    summary: dict                       # metrics.summarize(...) of the split
    per_image: dict[str, float]         # sample id -> NME (fraction)
    res: int | None                     # None: source pixels
    split: str
    extra: list[str] = field(default_factory=list)   # prediction files matching no sample (relative)
    run_dir: Path | None = None

    def to_json(self) -> dict:
        """The ``--json`` object: the summary's keys, ``per_image``, ``res``, ``split``, ``extra``."""
        return {**self.summary, "per_image": self.per_image, "res": self.res, "split": self.split,
                "extra": self.extra}


def score_predictions(data: str | Path, pred_dir: str | Path, *, split: str = "test",
                      res: int | None = None, norm: str = "inter-ocular", out: str | Path | None = None,
                      progress: bool = True) -> ScoreResult:
    """Read ``pred_dir``'s ``.pts`` files for every sample of ``split`` in the prepared dataset
    ``data``, score them with :func:`facebench.eval.metrics.summarize`, and optionally write the run
    folder ``out`` (``config.json`` with method ``external``, ``predictions.parquet``,
    ``metrics.json``) that ``facebench report`` treats like any trained method."""
    ds = PreparedDataset(Path(data))
    pred_dir = Path(pred_dir)
    if not pred_dir.is_dir():
        raise FacebenchError("prediction folder not found", pred_dir)
    if norm not in metrics.NORMS:
        raise FacebenchError(f"unknown normalisation {norm!r} (known: {', '.join(metrics.NORMS)})")
    if res is not None and res <= 0:
        raise FacebenchError(f"--res must be a positive number of pixels, got {res}")
    if res is not None:
        check_resolution(res)
    rows = ds.split(split)
    if len(rows) == 0:
        raise FacebenchError(f"the prepared dataset has no {split!r} samples", ds.root)

    wanted = [f"{rel}.pts" for rel in rows["rel_path"]]
    missing = [w for w in wanted if not (pred_dir / w).is_file()]
    if missing:
        raise FacebenchError(f"{len(missing)} of {len(wanted)} prediction files are missing: "
                             f"{_names(missing)}", pred_dir)
    found = sorted(p.relative_to(pred_dir).as_posix() for p in pred_dir.rglob("*.pts"))
    extra = sorted(set(found) - set(wanted))

    n = ds.scheme.num_points
    pred = np.empty((len(rows), n, 2), dtype=np.float64)
    bases = _pts_bases(ds, rows)
    sizes = rows[["orig_w", "orig_h"]].to_numpy().max(axis=1)
    for i, name in enumerate(tqdm(wanted, desc="read predictions", unit="file", disable=not progress)):
        pred[i] = read_pts(pred_dir / name, base=bases[i], num_points=n)
        if np.abs(pred[i]).max() > MAX_OUTSIDE * sizes[i]:
            raise FacebenchError(f"a coordinate ({np.abs(pred[i]).max():.3g}) lies more than {MAX_OUTSIDE}x the "
                                 f"image size ({sizes[i]} px) away from it; not a prediction for this image",
                                 pred_dir / name)
    if res is None:
        gt = np.stack([np.asarray(v, dtype=np.float64).reshape(n, 2) for v in rows["landmarks"]])
    else:
        boxes = np.stack([np.asarray(b, dtype=np.float64) for b in rows["box"]])   # (B, 4)
        pred = geometry.to_crop(pred, boxes, res)       # the same map the reader applies to gt
        gt = ds.landmarks(rows, res)

    ids = [str(i) for i in rows["id"]]
    subsets = [str(s) for s in rows["subset"]]
    summary = metrics.summarize(pred, gt, ds.scheme, norm=norm, subsets=subsets, ids=ids)
    if not np.isfinite(summary["nme"]):
        raise FacebenchError("the NME is not finite (a degenerate normaliser: two reference points coincide)",
                             pred_dir)
    add_jitter(summary, rows, pred, gt, metrics.normaliser(gt, ds.scheme, norm, ids))
    per = metrics.image_nmes(pred, gt, ds.scheme, norm=norm, ids=ids)["all"]
    result = ScoreResult(summary=summary, per_image={i: float(v) for i, v in zip(ids, per)},
                         res=res, split=split, extra=extra)
    if out is not None:
        norms = metrics.normaliser(gt, ds.scheme, norm, ids)
        result.run_dir = _write_run(Path(out), ds, pred_dir, split, res, norm, ids, subsets, pred, gt,
                                    norms, summary)
    return result


def _write_run(run_dir: Path, ds, pred_dir: Path, split: str, res: int | None, norm: str,
               ids: list[str], subsets: list[str], pred: np.ndarray, gt: np.ndarray,
               norms: np.ndarray, summary: dict) -> Path:
    """Write (or add a resolution to) the run folder of scored predictions; metrics.json last."""
    r = SOURCE_RES if res is None else int(res)
    config = {
        "method": EXTERNAL, "name": run_dir.name, "res": r, "train_res": None, "preset": None,
        "data": str(Path(ds.root).resolve()), "scheme": ds.scheme.name, "seed": None, "params": 0,
        "pred_dir": str(pred_dir.resolve()), "split": split, "norm": norm,
        "facebench_version": __version__,
        "created": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
    }
    by_res: dict = {}
    old_config = run_dir / runfolder.CONFIG
    if run_dir.exists() and (not run_dir.is_dir() or (any(run_dir.iterdir()) and not old_config.is_file())):
        raise FacebenchError("exists and is not a run folder; --out must be a new folder or an earlier "
                             "`facebench score` output", run_dir)
    if old_config.is_file():
        try:
            old = read_json(old_config)
        except ValueError:
            raise FacebenchError("exists but its config.json is unreadable; choose another --out", run_dir) from None
        if old.get("method") != EXTERNAL:
            raise FacebenchError(f"holds a {old.get('method')!r} run; --out must be a new folder or "
                                 "an earlier `facebench score` output", run_dir)
        same = all(old.get(k) == config[k] for k in ("data", "pred_dir", "split", "norm"))
        metrics_path = run_dir / runfolder.METRICS
        if same and metrics_path.is_file():
            by_res = dict(read_run_json(metrics_path).get("by_res", {}))
        # other predictions: the run's files are started again (in the new folder) rather than mixed
    else:
        same = False
    target = run_dir
    with build_beside(target, seed_from_target=same) as run_dir:   # a failure leaves the old folder as it was
        write_json(run_dir / runfolder.CONFIG, config)
        runfolder.merge_predictions(run_dir, runfolder.predictions_frame(ids, r, pred, gt, subsets, norms))
        by_res[str(r)] = summary
        write_json(run_dir / runfolder.METRICS, {
            "status": "ok", **summary, "by_res": by_res,
            "timing": {"train_seconds": None, "predict_seconds_per_image": None},
        })
    return target


def format_table(result: ScoreResult) -> str:
    """A plain-text table of the result (percent), one row for all images and one per subset."""
    where = "source pixels" if result.res is None else f"{result.res} px crops"
    s = result.summary
    lines = [f"{s['n']} {result.split} images, NME normalised by {s['norm']}, errors in {where}"]
    keys = ("nme", "nme_regional", "nme_global", "auc@0.08", "fr@0.08", "auc@0.1", "fr@0.1")
    keys += ("jitter",) if "jitter" in s else ()
    head = f"{'subset':<12} {'n':>6} " + " ".join(f"{k + ' %':>15}" for k in keys)
    lines += [head, "-" * len(head)]
    for name, row in [("all", s), *s["by_subset"].items()]:
        cells = " ".join(f"{'–':>15}" if row.get(k) is None else f"{100 * row[k]:15.3f}" for k in keys)
        lines.append(f"{name:<12} {row['n']:>6} {cells}")
    if result.run_dir is not None:
        lines.append(f"run folder: {result.run_dir}")
    return "\n".join(lines)


def _pts_bases(ds, rows) -> list[int]:
    """The index base of each row's untagged .pts file (a tagged file is 0-based whatever this says):
    1 for 300-W / 300-VW; for studio samples, the ``pts_base`` of the capture folder (from
    dataset.json's inputs) the sample came from, 1 when it has none or is no longer there."""
    studio_roots = [Path(i["path"]) for i in ds.info.get("inputs", []) if i.get("kind") == "studio"]
    base_of_root: dict[Path, int] = {}
    for root in studio_roots:
        try:
            base_of_root[root] = int(read_capture_json(root).get("pts_base", 1))
        except FacebenchError:
            base_of_root[root] = 1
    bases = []
    for source, src in zip(rows["source"], rows["src_path"]):
        if source in ONE_BASED_SOURCES:
            bases.append(1)
            continue
        root = next((r for r in studio_roots if Path(src).is_relative_to(r)), None)
        bases.append(base_of_root.get(root, 1))
    return bases


def _names(names: list[str]) -> str:
    """The first few names of a list, and how many more there are."""
    shown = ", ".join(names[:_LIST])
    return shown + (f", ... ({len(names) - _LIST} more)" if len(names) > _LIST else "")
