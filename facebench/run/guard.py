"""Reading a run folder's JSON files defensively, and the settings a run is compared on before it
is reused, resumed, initialised from or evaluated (:mod:`facebench.fingerprint`)."""

from __future__ import annotations

import json
from pathlib import Path

from facebench.core.errors import FacebenchError
from facebench.core.fingerprint import of_dataset


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


def wanted_settings(cfg, preset_name: str, data) -> dict:
    """What a finished or interrupted run folder must match for ``cfg`` to reuse or resume it."""
    wanted = {"method": cfg.method, "preset": preset_name, "seed": cfg.seed, "norm": cfg.norm,
              "options": dict(cfg.options), "data_fingerprint": of_dataset(data.info)}
    if cfg.epochs is not None:
        wanted["epochs"] = cfg.epochs
    return wanted
