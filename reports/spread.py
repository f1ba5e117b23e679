"""Runs repeated over seeds, as the report sees them: one table cell, mean ± standard deviation.

``facebench reproduce --seeds N`` trains every cell of the grid N times (seeds 0 .. N-1); seed 0 keeps
the plain run folder name (``adc-512``), seed s > 0 adds ``-s<s>`` (``adc-512-s1``). The report does
not rely on the names: :func:`merge_seeds` groups finished runs that differ only in their seed —
same kind, row label, evaluation and training resolution, preset, data, epochs, method options and
whether they were initialised from another run — into one :class:`SeedRun`. Every number of its
summary is a :class:`Spread`: a float equal to the mean over the seeds that also carries the
per-seed values and their sample standard deviation (ddof = 1), so every table and figure that reads
a run's numbers shows ``mean ± std`` without knowing about seeds. A single run stays a plain
:class:`reports.runs.Run` and shows its number alone.

:func:`mark_within_spread` then marks, per table column, the cells whose mean is within the seed
spread of the column's best cell (``|Δmean| < max(std)``), and adds a note per row for neighbouring
resolutions that the spread does not separate.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from facebench.eval import metrics as M
from reports import runs as R

SEED_SUFFIX = re.compile(r"-s(\d+)$")
NEAR = "≈"        # a cell within the seed spread of its column's best
BEST = "*"        # the column's best cell (lowest NME, highest AUC)


class Spread(float):
    """A mean over seeds that remembers the per-seed values: ``float(s)`` is the mean, ``s.std`` the
    sample standard deviation (None for one value), ``format(s, ".2f")`` gives ``"3.54 ± 0.12"``."""

    values: tuple[float, ...]
    mark: str

    def __new__(cls, values) -> "Spread":
        vals = tuple(float(v) for v in values)
        if not vals:
            raise ValueError("a Spread needs at least one value")
        obj = super().__new__(cls, math.fsum(vals) / len(vals))
        obj.values, obj.mark = vals, ""
        return obj

    @property
    def n(self) -> int:
        return len(self.values)

    @property
    def std(self) -> float | None:
        return float(np.std(self.values, ddof=1)) if self.n > 1 else None

    def __mul__(self, k):               # 100.0 * spread: percent, keeping the spread
        return Spread(v * float(k) for v in self.values) if isinstance(k, (int, float)) else NotImplemented

    __rmul__ = __mul__

    def __format__(self, spec: str) -> str:
        mean = format(float(self), spec)
        std = "" if self.std is None else f" ± {format(self.std, spec)}"
        return f"{mean}{std}{(' ' + self.mark) if self.mark else ''}"

    def __repr__(self) -> str:          # the CSV's full-precision text
        return repr(float(self)) if self.std is None else f"{float(self)!r} ± {self.std!r}"

    def __reduce__(self):
        return (Spread, (self.values,))


def percent(value) -> float:
    """100 x a metric value, keeping a :class:`Spread`'s per-seed values."""
    return 100.0 * value if isinstance(value, Spread) else 100.0 * float(value)


def seed_of(run: R.Run) -> int:
    """The run's training seed (``config.json``; 0 when not recorded)."""
    try:
        return int(run.config.get("seed") or 0)
    except (TypeError, ValueError):
        return 0


def base_name(name: str) -> str:
    """``adc-512-s2`` -> ``adc-512``: the run folder name of seed 0."""
    return SEED_SUFFIX.sub("", name)


@dataclass
class SeedRun(R.Run):
    """Finished runs of one configuration with different seeds, shown as one run whose summary numbers
    are :class:`Spread` s. ``path`` / ``config`` are seed 0's (or the lowest seed's)."""

    members: list[R.Run] = field(default_factory=list)

    @property
    def seeds(self) -> list[int]:
        return [seed_of(m) for m in self.members]

    @property
    def name(self) -> str:
        return f"{base_name(self.members[0].name)} ({self.seed_text()})"

    def seed_text(self) -> str:
        return f"{len(self.members)} seeds: {', '.join(map(str, self.seeds))}"

    def predictions(self, res: int) -> tuple[pd.DataFrame, np.ndarray, np.ndarray]:
        """Every member's predictions at ``res``, one after the other, with a ``seed`` column. A
        PCK or CED of the pooled errors is the mean of the members' (they score the same images)."""
        frames, preds, gts = [], [], []
        for m in self.members:
            frame, pred, gt = m.predictions(res)
            frames.append(frame.assign(seed=seed_of(m)))
            preds.append(pred)
            gts.append(gt)
        return pd.concat(frames, ignore_index=True), np.concatenate(preds), np.concatenate(gts)

    def member_predictions(self, res: int):
        """(seed, (rows, pred, gt)) per member."""
        return [(seed_of(m), m.predictions(res)) for m in self.members]


def _group_key(run: R.Run) -> tuple:
    c = run.config
    return (run.kind, run.label, run.res, c.get("train_res"), c.get("preset"), run.data, c.get("epochs"),
            json.dumps(c.get("options") or {}, sort_keys=True), bool(c.get("init")), run.method,
            c.get("norm", "inter-ocular"), bool(c.get("checkpoint")))


def merge_seeds(runs: list[R.Run]) -> list[R.Run]:
    """``runs`` with every group of finished runs that differ only in their seed replaced by one
    :class:`SeedRun` (in the place of its first member). Of two finished runs with the same seed,
    the newer counts; unfinished runs stay as they are."""
    groups: dict[tuple, dict[int, R.Run]] = {}
    for r in runs:
        if r.ok:
            by_seed = groups.setdefault(_group_key(r), {})
            old = by_seed.get(seed_of(r))
            if old is None or str(r.config.get("created", "")) >= str(old.config.get("created", "")):
                by_seed[seed_of(r)] = r
    out: list[R.Run] = []
    placed: set[tuple] = set()
    for r in runs:
        if not r.ok:
            out.append(r)
            continue
        key = _group_key(r)
        members = [groups[key][s] for s in sorted(groups[key])]
        if len(members) == 1:
            if r is members[0]:
                out.append(r)
            continue                       # an older run of the same seed: superseded
        if key not in placed:
            placed.add(key)
            out.append(_seed_run(members))
    return out


def _seed_run(members: list[R.Run]) -> SeedRun:
    first = members[0]
    summaries = [{str(res): m.by_res[res] for res in m.by_res} for m in members]
    shared = set.intersection(*(set(s) for s in summaries))
    by_res = {res: aggregate([s[res] for s in summaries]) for res in shared}
    primary = by_res.get(str(first.res), {})
    timing = aggregate([m.metrics.get("timing") or {} for m in members])
    metrics = {"status": "ok", **primary, "by_res": by_res, "timing": timing,
               "seeds": [seed_of(m) for m in members]}
    run = SeedRun(path=first.path, config=first.config, metrics=metrics, kind=first.kind, label=first.label,
                  rel=f"{base_name(first.rel)} ({len(members)} seeds)", members=list(members))
    return run


def aggregate(dicts: list[dict]) -> dict:
    """Key by key: numbers -> :class:`Spread` (when every dict has them), nested dicts recursively,
    anything else the first dict's value."""
    out: dict = {}
    for key, value in dicts[0].items():
        others = [d.get(key) for d in dicts]
        if isinstance(value, bool) or value is None:
            out[key] = value
        elif isinstance(value, (int, float)) and all(isinstance(v, (int, float)) and not isinstance(v, bool)
                                                     for v in others):
            out[key] = Spread(others)
        elif isinstance(value, dict) and all(isinstance(v, dict) for v in others):
            out[key] = aggregate(others)
        else:
            out[key] = value
    return out


def subject_means(frame: pd.DataFrame, errors: np.ndarray, subjects: np.ndarray) -> pd.Series:
    """Mean per-image error per subject; a :class:`Spread` over seeds when ``frame`` has a ``seed``
    column with several seeds (a :class:`SeedRun`'s predictions)."""
    if "seed" not in frame or frame["seed"].nunique() < 2:
        return pd.Series(errors).groupby(subjects).mean()
    table = pd.DataFrame({"e": errors, "subject": subjects, "seed": frame["seed"].to_numpy()})
    per_seed = table.groupby(["subject", "seed"])["e"].mean()
    return pd.Series({s: Spread(per_seed[s].to_numpy()) for s in per_seed.index.get_level_values(0).unique()},
                     dtype=object)


def pck_band(run: R.Run, res: int, max_px: float, steps: int) -> tuple[np.ndarray, np.ndarray] | None:
    """(low, high) PCK fractions, mean ± std over a :class:`SeedRun`'s seeds at each threshold of the
    figure's grid; None for a single run."""
    if not isinstance(run, SeedRun):
        return None
    curves = []
    for _, (_, pred, gt) in run.member_predictions(res):
        _, frac = M.ced(M.per_landmark_error(pred, gt), max_px, max_px / steps)
        curves.append(np.asarray(frac, dtype=np.float64))
    stack = np.stack(curves)
    mean, std = stack.mean(axis=0), stack.std(axis=0, ddof=1)
    return np.clip(mean - std, 0.0, 1.0), np.clip(mean + std, 0.0, 1.0)


# ---- which differences lie within the seed spread -----------------------------------------------

def _higher_is_better(column: str) -> bool:
    return column.upper().startswith("AUC")


def mark_within_spread(table) -> None:
    """Mark ``table`` (a :class:`reports.tables.Table`) in place: per column, the best measured cell
    gets :data:`BEST` and every cell whose mean lies within the seed spread of it (``|Δmean| <`` the
    larger of the two standard deviations) gets :data:`NEAR`; a note explains both and lists, per
    row, neighbouring columns of a resolution table that the spread does not separate. Tables
    without any multi-seed cell are left as they are."""
    spreads = [c for row in table.rows for c in row.cells if isinstance(c, Spread) and c.std is not None]
    if not spreads:
        return
    n_seeds = sorted({c.n for c in spreads})
    for j, column in enumerate(table.columns):
        cells = [row.cells[j] for row in table.rows if isinstance(row.cells[j], Spread)]
        if len(cells) < 2:
            continue
        best = max(cells, key=float) if _higher_is_better(column) else min(cells, key=float)
        best.mark = BEST
        for c in cells:
            if c is not best and within(c, best):
                c.mark = NEAR
    table.notes.append(
        f"mean ± standard deviation over {'/'.join(map(str, n_seeds))} seeds; {BEST}: the column's best; "
        f"{NEAR}: within the seed spread of it (|Δmean| < the larger std), i.e. not separated by these seeds. "
        "Single-seed cells show no spread and are never marked.")
    resolution_columns = all(c.split()[-1].isdigit() for c in table.columns)
    if resolution_columns:
        for row in table.rows:
            pairs = [f"{a} / {b}" for (a, x), (b, y) in zip(zip(table.columns, row.cells),
                                                           list(zip(table.columns, row.cells))[1:])
                     if isinstance(x, Spread) and isinstance(y, Spread) and x.values != y.values
                     and within(x, y)]   # (equal values: one model upscaled, not a difference)
            if pairs:
                table.notes.append(f"{row.label}: {', '.join(pairs)} within the seed spread of each other")


def within(a: Spread, b: Spread) -> bool:
    """Whether the means of ``a`` and ``b`` differ by less than the larger of their standard deviations
    (False when neither has a spread)."""
    stds = [s for s in (a.std, b.std) if s is not None]
    return bool(stds) and abs(float(a) - float(b)) < max(stds)


def seed_path(path: Path | str, seed: int) -> str:
    """Run folder name for ``seed``: the name itself for seed 0, ``<name>-s<seed>`` otherwise."""
    name = str(path)
    return name if seed == 0 else f"{name}-s{seed}"


def intro_sentence(runs: list[R.Run]) -> str:
    """A sentence for the report's introduction about the runs repeated over seeds ('' if none)."""
    merged = [r for r in runs if isinstance(r, SeedRun)]
    if not merged:
        return ""
    counts = sorted({len(r.members) for r in merged})
    return (f" {len(merged)} configurations were trained with {'/'.join(map(str, counts))} seeds each: their "
            "table cells are mean ± standard deviation over the seeds (sample std), their PCK curves the "
            "mean with a band of ± one std, their bars and points carry ± one std error bars.")
