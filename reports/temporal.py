"""The temporal-jitter table (video stability, facebench/eval/temporal.py): for every run whose
metrics hold ``jitter`` (300-VW-style data), the jitter per category and over all frame pairs, in
percent of the NME normaliser, at the run's primary resolution."""

from __future__ import annotations

from reports import runs as R
from reports.tables import Cell, Row, Table

CATEGORIES = ("cat1", "cat2", "cat3")


def _value(summary: dict | None, subset: str | None = None) -> Cell:
    if summary is None:
        return None
    part = summary if subset is None else summary.get("by_subset", {}).get(subset, {})
    value = part.get("jitter")
    return None if value is None else 100.0 * float(value)


def jitter_table(runs: list[R.Run]) -> Table | None:
    """Rows: run label @ resolution; columns: categories 1-3, all pairs, number of pairs; None
    when no run has a temporal metric."""
    chosen = [r for r in runs if r.ok and r.summary is not None and "jitter" in r.summary]
    if not chosen:
        return None
    rows = []
    for run in chosen:
        cells: list[Cell] = [_value(run.summary, c) for c in CATEGORIES]
        cells += [_value(run.summary), int(run.summary.get("jitter_pairs", 0))]
        rows.append(Row(f"{run.label} @ {R.res_label(run.res)}", cells))
    return Table("table3_300vw_jitter",
                 "Temporal jitter (%) on 300-VW-style videos: frame-to-frame prediction motion beyond the "
                 "annotations' motion, normalised like the NME (docs/report.md)",
                 ["Category 1", "Category 2", "Category 3", "All", "Pairs"], rows,
                 formats=["{:.3f}", "{:.3f}", "{:.3f}", "{:.3f}", "{}"],
                 notes=["Pairs are consecutive kept frames of one video (prepare --vw-stride S keeps every "
                        "S-th annotated frame)."])
