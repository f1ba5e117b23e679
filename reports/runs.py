"""Loading run folders for the report: what each run is, its status, and which table cell it fills.

A run folder is any folder under the runs directory that holds ``config.json`` (folders nested
inside a run folder are not runs). ``metrics.json`` says whether the run finished (``ok``), failed
(``failed`` / ``oom``, with a one-line ``error``); a run without it is ``incomplete`` (still
running, or interrupted). Only ``facebench.run.folder``'s files are read, never a model.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import numpy as np
import pandas as pd

from facebench.core.errors import FacebenchError
from facebench.core.io import read_json
from facebench.core.prepared import MANIFEST
from facebench.core.schemes import Scheme, get_scheme
from facebench.methods import ADC_FAMILY
from facebench.run import folder as runfolder

# Display names; the paper's names where it has one.
METHOD_LABELS: dict[str, str] = {
    "dlib-ert": "DLIB (ERT)",
    "hg2": "Hourglass (2 stages)",
    "fan4": "FAN (4 stages)",
    "cpm6": "CPM (6 stages)",
    "cnn67": "CNN 6/7 (6 stages)",
    "adc-cpm": "ADC-CPM",
    "adc-cnn67": "ADC-CNN 6/7",
    "adc-stack2": "ADC + 2nd regional stage",
    "adc-light": "ADC light (ours)",
    "adc": "ADC (ours)",
}
METHOD_ORDER: tuple[str, ...] = tuple(METHOD_LABELS)   # table rows: baselines first, ADC last
SOURCE_RES = 0          # `facebench score` without --res: errors in source-image pixels

# Which benchmark a run belongs to, from the subsets its summary holds.
KIND_SUBSETS = {"300w": ("common", "challenging"), "300vw": ("cat1", "cat2", "cat3")}


def res_label(res: int) -> str:
    """Column label of an evaluation resolution (``0`` is source pixels)."""
    return "src" if int(res) == SOURCE_RES else str(int(res))


@dataclass
class Run:
    """One run folder, as the report sees it."""

    path: Path
    config: dict
    metrics: dict            # {} when metrics.json is missing
    kind: str = "studio"     # studio | 300w | 300vw (set by load_runs)
    label: str = ""          # table row label (set by load_runs)
    rel: str = ""            # folder relative to the runs directory (set by load_runs)

    @property
    def name(self) -> str:
        return str(self.config.get("name") or self.path.name)

    @property
    def method(self) -> str:
        return str(self.config.get("method", "?"))

    @property
    def res(self) -> int:
        return int(self.config.get("res") or 0)

    @property
    def train_res(self) -> int | None:
        value = self.config.get("train_res")
        return None if value is None else int(value)

    @property
    def trained_at(self) -> int:
        """The resolution the model was trained at (``train_res``, else ``res``)."""
        return self.train_res or self.res

    @property
    def data(self) -> str:
        return str(self.config.get("data", ""))

    @property
    def status(self) -> str:
        return str(self.metrics.get("status", "incomplete"))

    @property
    def ok(self) -> bool:
        return self.status == "ok"

    @property
    def error(self) -> str:
        return str(self.metrics.get("error", "")) if not self.ok else ""

    @property
    def scheme(self) -> Scheme | None:
        try:
            return get_scheme(str(self.config.get("scheme")))
        except FacebenchError:
            return None

    @cached_property
    def by_res(self) -> dict[int, dict]:
        """Evaluation resolution -> summary (``metrics.summarize`` output); empty unless ok."""
        if not self.ok:
            return {}
        out = {int(r): s for r, s in self.metrics.get("by_res", {}).items()}
        out.setdefault(self.res, {k: v for k, v in self.metrics.items() if k not in ("status", "by_res", "timing")})
        return out

    @property
    def summary(self) -> dict | None:
        """The primary resolution's summary, or None for a run that did not finish."""
        return self.by_res.get(self.res)

    def status_text(self) -> str:
        """What a table cell shows for a run without numbers: ``OOM``, ``failed``, ``incomplete``."""
        return {"oom": "OOM"}.get(self.status, self.status)

    @property
    def has_examples(self) -> bool:
        return (self.path / runfolder.EXAMPLES).is_file()

    def predictions(self, res: int) -> tuple[pd.DataFrame, np.ndarray, np.ndarray]:
        """(rows, pred (B, N, 2), gt (B, N, 2)) at evaluation resolution ``res``."""
        path = self.path / runfolder.PREDICTIONS
        if not path.is_file():
            raise FacebenchError("run has no predictions.parquet", self.path)
        return runfolder.read_predictions(self.path, res)


def load_runs(runs_dir: str | Path) -> list[Run]:
    """Every run folder under ``runs_dir``, sorted by (kind, method order, res, name), with its
    benchmark ``kind`` and table row ``label`` set."""
    runs_dir = Path(runs_dir)
    if not runs_dir.is_dir():
        raise FacebenchError("runs folder not found", runs_dir)
    folders: list[Path] = []
    for cfg in sorted(runs_dir.rglob(runfolder.CONFIG)):
        folder = cfg.parent
        if not any(parent in folders for parent in folder.parents):
            folders.append(folder)
    if not folders:
        raise FacebenchError("holds no run folders (folders with config.json)", runs_dir)
    runs = [Run(path=f, config=_read(f / runfolder.CONFIG),
                metrics=_read(f / runfolder.METRICS) if (f / runfolder.METRICS).is_file() else {})
            for f in folders]
    for r in runs:
        r.rel = r.path.relative_to(runs_dir).as_posix()
    _set_kinds(runs)
    _set_labels(runs)
    return sorted(runs, key=lambda r: (r.kind, method_rank(r.method), r.label, r.res, r.name))


def _read(path: Path) -> dict:
    """A run's JSON file; a clear error for a corrupt one (writes are atomic, so it is not a partial write)."""
    try:
        obj = read_json(path)
    except (ValueError, OSError) as err:
        raise FacebenchError(f"unreadable ({err.__class__.__name__}: {err})", path) from None
    if not isinstance(obj, dict):
        raise FacebenchError("is not a JSON object", path)
    return obj


def _kind_of_summary(summary: dict | None) -> str | None:
    subsets = set((summary or {}).get("by_subset", {}))
    for kind, names in KIND_SUBSETS.items():
        if subsets & set(names):
            return kind
    return None if summary is None else "studio"


def _set_kinds(runs: list[Run]) -> None:
    """Kind from a run's own summary, else from a finished run on the same data, else from the
    dataset's manifest if it is still there, else ``studio``."""
    by_data: dict[str, str] = {}
    for r in runs:
        kind = _kind_of_summary(r.summary)
        if kind is not None:
            r.kind = kind
            by_data.setdefault(r.data, kind)
    for r in runs:
        if _kind_of_summary(r.summary) is None:
            r.kind = by_data.get(r.data) or _kind_from_manifest(r.data) or "studio"


def _kind_from_manifest(data: str) -> str | None:
    """The benchmark of a prepared dataset from its manifest's ``source`` column, if readable."""
    try:
        sources = set(pd.read_parquet(Path(data) / MANIFEST, columns=["source"])["source"])
    except Exception:  # noqa: BLE001 - the dataset may be gone; the caller falls back
        return None
    return next((k for k in ("300w", "300vw") if k in sources), "studio" if sources else None)


def method_rank(method: str) -> int:
    return METHOD_ORDER.index(method) if method in METHOD_ORDER else -1   # external runs first


def _set_labels(runs: list[Run]) -> None:
    """Row label: the method's display name (the run's name for scored predictions), plus the
    dataset's folder name when runs of one kind use several datasets."""
    datasets: dict[str, set[str]] = {}
    for r in runs:
        datasets.setdefault(r.kind, set()).add(r.data)
    for r in runs:
        base = METHOD_LABELS.get(r.method, r.name)
        r.label = base if len(datasets[r.kind]) == 1 else f"{base} [{Path(r.data).name}]"


def grid(runs: list[Run]) -> tuple[dict[tuple[str, int], Run], list[Run]]:
    """``(label, res) -> run`` for table cells, and the runs left out because a newer run (by
    ``config.created``) fills the same cell; finished runs win over unfinished ones."""
    cells: dict[tuple[str, int], Run] = {}
    dropped: list[Run] = []
    for r in sorted(runs, key=lambda r: (r.ok, str(r.config.get("created", ""))), reverse=True):
        key = (r.label, r.res)
        if key in cells:
            dropped.append(r)
        else:
            cells[key] = r
    return cells, dropped


def upscaled_cells(cells: dict[tuple[str, int], Run]) -> dict[tuple[str, int], Run]:
    """``(label, res) -> run`` for the resolutions a finished upscaled method (trained at 256, not
    the ADC family) was also scored at, where no run of its own fills the cell: the paper's protocol
    puts those methods at every resolution. An ADC run's extra ``by_res`` entries are Figure 8's."""
    return {(r.label, x): r for r in cells.values() if r.ok and r.method not in ADC_FAMILY
            for x in r.by_res if (r.label, x) not in cells}


def row_labels(runs: list[Run]) -> list[str]:
    """Distinct row labels in table order (``runs`` is already sorted by :func:`load_runs`)."""
    return list(dict.fromkeys(r.label for r in runs))


# ---- which runs a figure uses (shared by its figure and its table) -------------------------------

ABLATION_METHODS: tuple[str, ...] = ("adc", "adc-stack2", "cpm6", "adc-cpm", "cnn67", "adc-cnn67")
ABLATION_RES = 1024                      # the paper's Section 4.5
FIGURE8_METHODS: tuple[str, ...] = ("adc", "adc-light")
FIGURE8_RES = 4096


def ablation_runs(runs: list[Run]) -> tuple[int | None, list[Run]]:
    """(resolution, studio runs of the ablation methods at it). The resolution is 1024 when an
    ablation-only method (not plain ``adc``) ran there, else the one where most of them ran (ties:
    the highest); ``(None, [])`` without any ablation-only run."""
    pool = [r for r in runs if r.kind == "studio" and r.method in ABLATION_METHODS]
    counts: dict[int, int] = {}
    for r in pool:
        if r.method != "adc":
            counts[r.res] = counts.get(r.res, 0) + 1
    if not counts:
        return None, []
    res = ABLATION_RES if ABLATION_RES in counts else max(counts, key=lambda x: (counts[x], x))
    return res, [r for r in pool if r.res == res]


def figure8_runs(runs: list[Run]) -> tuple[int | None, list[Run]]:
    """(test resolution, finished studio ADC / ADC-light runs evaluated there): 4096 when any
    such run has ``by_res["4096"]``, else the highest resolution in their ``by_res``. Of two runs
    with the same label and training resolution, the newer one."""
    pool = [r for r in runs if r.kind == "studio" and r.method in FIGURE8_METHODS and r.ok]
    tested = {x for r in pool for x in r.by_res if x != SOURCE_RES}
    if not tested:
        return None, []
    target = FIGURE8_RES if FIGURE8_RES in tested else max(tested)
    chosen: dict[tuple[str, int], Run] = {}
    for r in sorted(pool, key=lambda r: str(r.config.get("created", ""))):
        if target in r.by_res:
            chosen[(r.label, r.trained_at)] = r
    return target, sorted(chosen.values(), key=lambda r: (method_rank(r.method), r.trained_at))
