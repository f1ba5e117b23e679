"""Reading a run folder's JSON files defensively, and the settings a run is compared on before it
is reused, resumed, initialised from or evaluated (:mod:`facebench.fingerprint`)."""

from __future__ import annotations

import json
from pathlib import Path

from facebench.core.errors import FacebenchError
from facebench.core.fingerprint import of_dataset
from facebench.core.io import read_json
from facebench.core.prepared import DATASET_JSON, DEFAULT_MARGIN
from facebench.method import Method
from facebench.methods import get_method
from facebench.run import folder as runfolder


def read_run_json(path: Path) -> dict:
    """A run folder's ``config.json`` / ``metrics.json`` as a dict; one clear line when it is
    missing, not JSON or not an object."""
    path = Path(path)
    try:
        obj = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise FacebenchError("missing (an incomplete run folder)", path) from None
    except (OSError, UnicodeDecodeError, ValueError) as err:
        raise FacebenchError(f"unreadable ({err.__class__.__name__}); delete the run folder or pass --force",
                             path) from None
    if not isinstance(obj, dict):
        raise FacebenchError("is not a JSON object; delete the run folder or pass --force", path)
    return obj


def run_model(run: Path) -> tuple[dict, type[Method], Path]:
    """(config, method class, model file) of a finished run folder, for loading its model outside
    the runner (``predict``, ``export``); one clear line when ``run`` is not a run folder."""
    run = Path(run)
    config_path = run / runfolder.CONFIG
    if not config_path.is_file():
        raise FacebenchError("not a run folder (no config.json)", run)
    config = read_run_json(config_path)
    cls = get_method(str(config.get("method")))
    return config, cls, Path(config["checkpoint"]) if config.get("checkpoint") else run / cls.model_file


def run_margin(config: dict) -> tuple[float, str | None]:
    """The crop margin of the dataset a run trained on (``dataset.json``), and a note for the user
    when that dataset is gone and the default margin is used instead."""
    info = Path(str(config.get("data", ""))) / DATASET_JSON
    if info.is_file():
        return float(read_json(info).get("options", {}).get("margin", DEFAULT_MARGIN)), None
    return DEFAULT_MARGIN, f"{info} not found: using the default crop margin {DEFAULT_MARGIN}"


def wanted_settings(cfg, preset_name: str, data) -> dict:
    """What a finished or interrupted run folder must match for ``cfg`` to reuse or resume it."""
    wanted = {"method": cfg.method, "preset": preset_name, "seed": cfg.seed, "norm": cfg.norm,
              "options": dict(cfg.options), "data_fingerprint": of_dataset(data.info)}
    if cfg.epochs is not None:
        wanted["epochs"] = cfg.epochs
    return wanted
