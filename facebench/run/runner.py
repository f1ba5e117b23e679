"""One run: train (or load) a method, predict the test split, score it, write the run folder.

``run(RunConfig)`` is what ``facebench run`` calls; ``evaluate(run_dir, res)`` scores an existing
run's model at another resolution (the paper's Figure 8 protocol: trained at R, tested at 4096).

Holistic methods (``native_res = False``) are trained at ``preset.holistic_res`` (256) and their
predictions are mapped to the evaluation resolution R with ``geometry.rescale_points`` — the
paper's "upscaled manually from 256" protocol; ADC-family methods are trained and run at R.
A run whose training fails records ``status: failed`` (or ``oom``) and the reason in
``metrics.json`` so that reports show why a cell is empty.
"""

from __future__ import annotations

import datetime as _dt
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from tqdm import tqdm

from facebench import __version__
from facebench.core import fingerprint, geometry, safety
from facebench.core.errors import FacebenchError
from facebench.core.io import read_json, write_json
from facebench.core.prepared import PreparedDataset
from facebench.core.presets import get_preset
from facebench.core.schemes import is_prefix
from facebench.eval import metrics as M
from facebench.eval import uncertainty as U
from facebench.eval.temporal import add_jitter
from facebench.method import Method, TrainContext
from facebench.methods import get_method
from facebench.nn.determinism import set_thread_invariant
from facebench.nn.train import is_main_process, resolve_device, world
from facebench.run import folder as runfolder
from facebench.run.guard import read_run_json, wanted_settings


class RunFailed(FacebenchError):
    """Training or prediction failed; the run folder records why (``metrics.json``)."""


@dataclass
class RunConfig:
    method: str
    res: int
    data: Path
    preset: str = "cpu"
    epochs: int | None = None
    init: str = "auto"                  # auto | none | path to a run folder or a model file
    checkpoint: Path | None = None      # evaluate this model file instead of training
    name: str | None = None             # default: <method>-<res>
    out: Path = Path("runs")
    device: str = "auto"
    seed: int = 0
    workers: int = 0
    resume: bool = False
    force: bool = False
    norm: str = "inter-ocular"
    progress: bool = True
    options: dict = field(default_factory=dict)
    train_res: int | None = None        # holistic methods: train here instead of preset.holistic_res
    thread_invariant: bool = False      # the same numbers with any torch thread count (facebench/nn/determinism.py)
    amp: bool = False                   # CUDA only: bf16 autocast in training
    channels_last: bool = False         # CUDA only: NHWC weights in training

    @property
    def run_dir(self) -> Path:
        return Path(self.out) / (self.name or f"{self.method}-{self.res}")


def _now() -> str:
    return _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")


def run(cfg: RunConfig) -> dict:
    """Train or load ``cfg.method``, evaluate it at ``cfg.res``; returns the metrics dict."""
    cls = get_method(cfg.method)
    preset = get_preset(cfg.preset)
    data, model_res = _check_request(cfg, cls, preset)
    run_dir = cfg.run_dir
    metrics_path = run_dir / runfolder.METRICS
    done = _reusable_metrics(cfg, cls, run_dir, wanted_settings(cfg, preset.name, data))
    if done is not None:
        return done
    init = _resolve_init(cfg, cls, data.root) if cfg.checkpoint is None else None
    created = next((p for p in reversed([run_dir, *run_dir.parents]) if not p.exists()), None)   # topmost new folder
    safety.mark_run_folder(run_dir)

    epochs = cfg.epochs if cfg.epochs is not None else preset.epochs_for(cls.native_res, init is not None)
    config = {
        "method": cfg.method, "name": run_dir.name, "res": cfg.res, "train_res": model_res,
        "preset": preset.name, "data": str(Path(data.root).resolve()), "scheme": data.scheme.name,
        "seed": cfg.seed, "epochs": epochs,
        "init": str(init) if init else None,
        "checkpoint": str(Path(cfg.checkpoint).resolve()) if cfg.checkpoint else None,
        "device": cfg.device, "norm": cfg.norm, "options": cfg.options,
        **({"thread_invariant": True} if cfg.thread_invariant else {}),
        **({"amp": True} if cfg.amp else {}), **({"channels_last": True} if cfg.channels_last else {}),
        "facebench_version": __version__, "created": _now(),
        "data_fingerprint": fingerprint.of_dataset(data.info),
    }
    if is_main_process():
        write_json(run_dir / runfolder.CONFIG, config)

    t0 = time.perf_counter()
    set_thread_invariant(cfg.thread_invariant)   # each run as it asks: no setting leaks into the next run
    try:
        model = _train_or_load(cfg, cls, preset, data, model_res, init, run_dir, epochs)
    except FacebenchError:
        if created is not None:  # bad input (e.g. a model file of another scheme): nothing to record
            shutil.rmtree(created, ignore_errors=True)
        raise
    except Exception as err:  # noqa: BLE001 - recorded, then re-raised as one line
        _record_failure(run_dir, err)
        raise RunFailed(f"training failed: {_one_line(err)} (recorded in metrics.json)", run_dir) from None
    if not is_main_process():  # under torchrun, rank 0 alone evaluates and writes the run folder
        return {"status": "ok", "rank": world()[0]}
    train_seconds = time.perf_counter() - t0 if cfg.checkpoint is None else 0.0
    config["params"] = int(model.num_parameters())
    write_json(run_dir / runfolder.CONFIG, config)

    try:
        summary, per_image_s = _evaluate_model(model, cls, data, model_res, cfg.res, cfg.norm, run_dir,
                                               cfg.progress, write_examples=True)
    except Exception as err:  # noqa: BLE001
        _record_failure(run_dir, err)
        raise RunFailed(f"prediction failed: {_one_line(err)} (recorded in metrics.json)", run_dir) from None
    metrics = {"status": "ok", **summary, "by_res": {str(cfg.res): summary},
               "timing": {"train_seconds": round(train_seconds, 3),
                          "predict_seconds_per_image": round(per_image_s, 6)}}
    run_info = model.run_info()
    if run_info is not None:
        metrics["run_info"] = run_info
    write_json(metrics_path, metrics)
    return metrics


def _check_request(cfg: RunConfig, cls: type[Method], preset) -> tuple[PreparedDataset, int]:
    """Refuse a bad run request before anything is written; returns the prepared dataset and the
    resolution the model runs at."""
    if cfg.name is not None:
        safety.check_run_name(cfg.name)
    safety.check_resolution(cfg.res)
    if cfg.epochs is not None and cfg.epochs < 1:
        raise FacebenchError(f"--epochs must be at least 1, got {cfg.epochs}")
    if cfg.workers < 0:
        raise FacebenchError(f"--workers must be 0 or more, got {cfg.workers}")
    device = resolve_device(cfg.device)   # an unknown device: refused before the run folder exists
    if (cfg.amp or cfg.channels_last) and device.type != "cuda":
        raise FacebenchError("--amp and --channels-last are for CUDA devices (on the CPU they only slow training); "
                             f"--device {cfg.device} is {device.type}")
    data = PreparedDataset(cfg.data)
    if cfg.train_res is not None and not cls.any_train_res and cfg.train_res != (
            cfg.res if cls.native_res else preset.holistic_res):
        raise FacebenchError(f"--train-res: {cfg.method} trains at "
                             f"{'--res' if cls.native_res else preset.holistic_res} only (dlib-ert trains at any R)")
    model_res = cfg.res if cls.native_res else (cfg.train_res or preset.holistic_res)
    for r in {cfg.res, model_res}:
        if r not in data.resolutions:
            raise FacebenchError(f"the prepared dataset has no {r} px images (it has "
                                 f"{', '.join(map(str, data.resolutions))}); re-run prepare with --resolutions",
                                 cfg.data)
    if cfg.checkpoint is not None and not Path(cfg.checkpoint).is_file():
        raise FacebenchError("model file not found", cfg.checkpoint)
    return data, model_res


def _reusable_metrics(cfg: RunConfig, cls: type[Method], run_dir: Path, wanted: dict) -> dict | None:
    """The metrics of a finished run with the same settings (to reuse), or None once it is checked
    that the run folder may be written: ``--force`` removes only a marked run folder, ``--resume``
    continues only a run of the same settings, and a folder that is not a run folder is never used."""
    metrics_path = run_dir / runfolder.METRICS
    if metrics_path.exists() and not cfg.force:
        done = read_run_json(metrics_path)
        if done.get("status") == "ok":
            fingerprint.check_run_matches(run_dir, read_run_json(run_dir / runfolder.CONFIG), wanted, "reuse",
                                          "pass --force to train it again, or choose another --name")
            return done
    if cfg.force and (run_dir.exists() or run_dir.is_symlink()):
        safety.remove_run_folder(run_dir)
    if run_dir.exists() and not run_dir.is_dir():
        raise FacebenchError("run folder path exists and is not a folder", run_dir)
    if cfg.resume and (run_dir / runfolder.CONFIG).is_file():
        fingerprint.check_run_matches(run_dir, read_run_json(run_dir / runfolder.CONFIG), wanted, "resume",
                                      "pass --force to start again instead")
    if (run_dir / "checkpoints").is_dir() and any((run_dir / "checkpoints").iterdir()) and not cfg.resume \
            and not (run_dir / cls.model_file).exists():
        raise FacebenchError("holds checkpoints of an interrupted run: pass --resume to continue it "
                             "or --force to start again", run_dir)
    if run_dir.is_dir() and not safety.is_run_folder(run_dir) and any(run_dir.iterdir()):
        raise FacebenchError("exists and is not a facebench run folder; choose another --name or --out", run_dir)
    return None

def evaluate(run_dir: Path, res: int, progress: bool = True) -> dict:
    """Score an existing run's model at resolution ``res``; adds ``by_res[res]`` to metrics.json."""
    run_dir = Path(run_dir)
    if not (run_dir / runfolder.CONFIG).is_file():
        raise FacebenchError("not a run folder (no config.json)", run_dir)
    config = read_run_json(run_dir / runfolder.CONFIG)
    metrics = read_run_json(run_dir / runfolder.METRICS) if (run_dir / runfolder.METRICS).exists() else {}
    if metrics.get("status") != "ok":
        raise FacebenchError(f"the run did not finish (status {metrics.get('status', 'missing')})", run_dir)
    safety.check_resolution(res)
    cls = get_method(str(config.get("method")))
    if not isinstance(config.get("data"), str):
        raise FacebenchError("config.json names no dataset (\"data\")", run_dir / runfolder.CONFIG)
    data = PreparedDataset(Path(config["data"]))
    if config.get("method") != "external":
        fingerprint.check_run_matches(run_dir, config, {"data_fingerprint": fingerprint.of_dataset(data.info)},
                                      "evaluate",
                                      f"the dataset {data.root} was prepared again since; train the run again")
    if res not in data.resolutions:
        raise FacebenchError(f"the prepared dataset has no {res} px images", data.root)
    model_file = Path(config["checkpoint"]) if config.get("checkpoint") else run_dir / cls.model_file
    model = _load_model(cls, model_file, config.get("device", "auto"), data, config.get("options", {}))
    model_res = res if cls.native_res else int(config["train_res"])
    summary, _ = _evaluate_model(model, cls, data, model_res, res, config.get("norm", "inter-ocular"),
                                 run_dir, progress, write_examples=False)
    metrics.setdefault("by_res", {})[str(res)] = summary
    write_json(run_dir / runfolder.METRICS, metrics)
    return summary


def _resolve_init(cfg: RunConfig, cls: type[Method], data_root: Path) -> Path | None:
    """``--init``: a model file, a run folder, ``none``, or ``auto`` = the same method's finished
    run at the next lower resolution on the same data, looked up in ``cfg.out``."""
    if not cls.native_res or cfg.init == "none":
        return None
    if cfg.init != "auto":
        p = Path(cfg.init)
        p = p / cls.model_file if p.is_dir() else p
        if not p.is_file():
            raise FacebenchError("--init: no model file there", cfg.init)
        return p
    best: tuple[int, Path] | None = None
    for config_path in Path(cfg.out).glob(f"*/{runfolder.CONFIG}"):
        try:
            other = read_json(config_path)
            ok = read_json(config_path.parent / runfolder.METRICS).get("status") == "ok"
        except (OSError, ValueError):
            continue
        model_file = config_path.parent / cls.model_file
        if (ok and other.get("method") == cfg.method and other.get("preset") == cfg.preset
                and Path(other.get("data", "")) == Path(data_root).resolve()
                and int(other.get("train_res", 0)) < cfg.res and model_file.is_file()
                and not other.get("checkpoint") and int(other.get("seed") or 0) == cfg.seed):   # seeds stay apart
            if best is None or int(other["train_res"]) > best[0]:
                best = (int(other["train_res"]), model_file, other)
    if best is None:
        return None
    wanted = {"data_fingerprint": fingerprint.of_dataset(PreparedDataset(data_root).info)}
    fingerprint.check_run_matches(best[1].parent, best[2], wanted, "initialise (--init auto) from",
                                  "pass --init none, or train that run again")
    return best[1]


def _train_or_load(cfg: RunConfig, cls: type[Method], preset, data, model_res: int,
                   init: Path | None, run_dir: Path, epochs: int) -> Method:
    if cfg.checkpoint is not None or (run_dir / cls.model_file).exists():
        # a model file to evaluate, or a run trained already whose prediction step was interrupted
        model_file = Path(cfg.checkpoint) if cfg.checkpoint is not None else run_dir / cls.model_file
        return _load_model(cls, model_file, cfg.device, data, cfg.options)
    ctx = TrainContext(data_root=Path(data.root), res=model_res, preset=preset, run_dir=run_dir,
                       device=cfg.device, epochs=epochs, init=init, resume=cfg.resume,
                       seed=cfg.seed, workers=cfg.workers, progress=cfg.progress, options=dict(cfg.options),
                       amp=cfg.amp, channels_last=cfg.channels_last)
    model = cls.train(ctx)
    if is_main_process():
        model.save(run_dir / cls.model_file)
    return model


def _evaluate_model(model: Method, cls: type[Method], data, model_res: int, res: int, norm: str,
                    run_dir: Path, progress: bool, write_examples: bool) -> tuple[dict, float]:
    """Predict the test split at ``model_res``, map to ``res``, score, write predictions."""
    rows = data.split("test")
    if len(rows) == 0:
        raise FacebenchError("the prepared dataset has no test samples", data.root)
    ids = list(rows["id"])
    batch = 8 if model_res <= 1024 else 2
    preds, spreads, seconds = [], [], 0.0
    for start in tqdm(range(0, len(ids), batch), desc=f"predict {cls.name} @{model_res}", unit="batch",
                      disable=not progress, leave=False):
        t0 = time.perf_counter()   # reading the prepared images included: what a prediction costs
        points, spread = model.predict_prepared(data, ids[start:start + batch], model_res)  # spread None: none
        seconds += time.perf_counter() - t0
        preds.append(points)
        spreads.append(spread)
    pred = np.concatenate(preds)
    if model_res != res:
        pred = geometry.rescale_points(pred, model_res, res)
    scheme = _eval_scheme(model, data.scheme)
    gt = data.landmarks(rows, res)[:, :scheme.num_points]
    if not np.isfinite(pred).all():
        raise FacebenchError(f"{cls.name} predicted non-finite landmarks")
    subsets = list(rows["subset"]) if "subset" in rows else None
    summary = M.summarize(pred, gt, scheme, norm=norm, subsets=subsets, ids=ids)
    norms = M.normaliser(gt, scheme, norm)
    add_jitter(summary, rows, pred, gt, norms)
    frame = runfolder.predictions_frame(ids, res, pred, gt, subsets, norms)
    if spreads and all(s is not None for s in spreads):
        covs = [np.concatenate([s[k] for s in spreads]) * (res / model_res) ** 2 for k in (0, 1)]
        summary.update(U.uncertainty_metrics(pred, gt, *covs))
        frame = U.add_columns(frame, *covs)
    runfolder.merge_predictions(run_dir, frame)
    if write_examples and model.writes_examples:
        k = min(4, len(ids))
        images = np.stack([data.load_image(i, res) for i in ids[:k]])
        model.write_examples(run_dir / runfolder.EXAMPLES, images, gt[:k], ids[:k])
    return summary, seconds / max(1, len(ids))


def _load_model(cls: type[Method], model_file: Path, device: str, data, options: dict) -> Method:
    """Load ``model_file`` to run on ``data``. The model must predict the data's landmark scheme; a
    68-point model on 89-point data is scored on the data's first 68 points, which mean the same
    (``schemes.is_prefix``)."""
    model = cls.load_for_data(model_file, device, data.options, options)
    ms, scheme = getattr(model, "scheme", None), data.scheme
    if ms is None or ms.name == scheme.name or is_prefix(ms, scheme):
        return model
    raise FacebenchError(f"the model predicts {ms.num_points} points ({ms.name}) but the data has "
                         f"{scheme.num_points} ({scheme.name})", model_file)


def _eval_scheme(model: Method, scheme):
    """The scheme predictions are scored in: the data's, or the model's when it is a prefix of it."""
    ms = getattr(model, "scheme", None)
    return ms if ms is not None and is_prefix(ms, scheme) else scheme


def _record_failure(run_dir: Path, err: BaseException) -> None:
    status = "oom" if _is_oom(err) else "failed"
    write_json(run_dir / runfolder.METRICS, {"status": status, "error": _one_line(err)})


def _is_oom(err: BaseException) -> bool:
    import torch

    return isinstance(err, (MemoryError, torch.OutOfMemoryError)) or "out of memory" in str(err).lower()


def _one_line(err: BaseException) -> str:
    text = str(err).strip().splitlines()
    return f"{err.__class__.__name__}: {text[0] if text else ''}"[:300]
