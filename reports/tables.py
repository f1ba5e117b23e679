"""Paper-style tables built from run folders, and their Markdown / CSV / LaTeX / HTML renderings.

Every measured number is taken unchanged from a run's ``metrics.json`` (which holds exactly what
``facebench.eval.metrics.summarize`` returned) and multiplied by 100 for percent; the CSV keeps it to
full precision, the other formats round it for reading. The paper's published numbers (from
``reports/data/paper_table*.csv``) are kept verbatim as text and always come after the measured
rows, under their own heading.

Cells: a float is a measured number, a ``str`` is shown as it is (``OOM``, ``failed``, a published
value), ``None`` is a missing cell shown as ``–``.
"""

from __future__ import annotations

import csv
import html
import io
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from facebench.core.errors import FacebenchError
from facebench.core.prepared import PreparedDataset
from facebench.eval import metrics as M
from facebench.methods import ADC_FAMILY
from reports import runs as R
from reports import spread as S

Cell = float | int | str | None
MEASURED = "measured"
REPORTED = "reported in Chandran et al. 2020"
REPORTED_HEADING = "Reported in Chandran et al. 2020 (not measured here)"
DASH = "–"
PCT = "{:.2f}"


@dataclass
class Row:
    label: str
    cells: list[Cell]
    source: str = MEASURED


@dataclass
class Table:
    key: str                          # file stem
    title: str
    columns: list[str]                # value column headers
    rows: list[Row]                   # measured rows
    paper_rows: list[Row] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    formats: list[str] | None = None  # per value column, for floats; default PCT
    first_column: str = "Method"

    def fmt(self, col: int, cell: Cell) -> str:
        """Display text of one cell."""
        if cell is None:
            return DASH
        if isinstance(cell, float):
            return (self.formats[col] if self.formats else PCT).format(cell)
        return str(cell)


# ---- builders ------------------------------------------------------------------------------------

def nme_by_resolution(runs: list[R.Run], with_paper: bool = False) -> Table | None:
    """Table 4 style: NME (%) of studio runs, method x evaluation resolution (each run's primary)."""
    runs = [r for r in runs if r.kind == "studio"]
    paper = _paper("paper_table4.csv") if with_paper else None
    if not runs and paper is None:
        return None
    cells, dropped = R.grid(runs)
    upscaled = R.upscaled_cells(cells)
    res = sorted({r.res for r in runs} | {x for _, x in upscaled} | ({int(c) for c in paper[0]} if paper else set()))

    def cell(label: str, x: int) -> Cell:
        if (label, x) in upscaled:
            return _summary_value(upscaled[(label, x)].by_res.get(x), "nme")
        return _cell(cells.get((label, x)), "nme")

    rows = [Row(label, [cell(label, x) for x in res]) for label in R.row_labels(runs)]
    table = Table("table4_nme_by_resolution", "NME (%) by method and resolution (studio test set)",
                  [R.res_label(x) for x in res], rows, notes=_notes(runs, dropped))
    if paper:
        table.paper_rows = [Row(p.label, [p.cells[paper[0].index(str(x))] if str(x) in paper[0] else None
                                          for x in res], REPORTED) for p in paper[1]]
        table.notes += paper[2]
    return table


def nme_by_subset(runs: list[R.Run], kind: str, with_paper: bool = False) -> Table | None:
    """Table 2 style (``300w``: common / challenging / full) or Table 3 style (``300vw``: categories
    1-3): NME (%) of each run's primary resolution, plus a regional-landmarks-only row for the ADC
    family (the paper's "51 hi-res landmarks only")."""
    subsets = {"300w": ["common", "challenging", "full"], "300vw": ["cat1", "cat2", "cat3"]}[kind]
    headers = {"300w": ["Common", "Challenging", "Full set"], "300vw": ["Category 1", "Category 2", "Category 3"]}[kind]
    runs = [r for r in runs if r.kind == kind]
    number = "2" if kind == "300w" else "3"
    paper = _paper(f"paper_table{number}.csv") if with_paper else None
    if not runs and paper is None:
        return None
    cells, dropped = R.grid(runs)
    labels = R.row_labels(runs)
    multi_res = len({r.res for r in runs}) > 1
    rows: list[Row] = []
    for label in labels:
        for res in sorted(res for lab, res in cells if lab == label):
            run = cells[(label, res)]
            name = f"{label} @ {R.res_label(res)}" if multi_res else label
            rows.append(Row(name, [_cell(run, "nme", s) for s in subsets]))
            if run.method in ADC_FAMILY and run.ok and run.scheme is not None:
                rows.append(Row(f"{name} ({len(run.scheme.regional)} regional landmarks only)",
                                [_cell(run, "nme_regional", s) for s in subsets]))
    title = {"300w": "NME (%) on the 300-W test sets (inter-ocular normalisation)",
             "300vw": "NME (%) on the 300-VW test categories (inter-ocular normalisation)"}[kind]
    table = Table(f"table{number}_{kind}", title, headers, rows, notes=_notes(runs, dropped))
    if paper:
        table.paper_rows = [Row(p.label, p.cells, REPORTED) for p in paper[1]]
        table.notes += paper[2]
    return table


def ablation(runs: list[R.Run]) -> Table | None:
    """Figure 7's numbers: NME and AUC (%) of the ablation methods at the ablation resolution."""
    res, chosen = R.ablation_runs(runs)
    if res is None:
        return None
    cells, dropped = R.grid(chosen)
    keys = ["nme", "auc@0.08", "auc@0.1"]
    rows = [Row(label, [_cell(cells.get((label, res)), k) for k in keys]) for label in R.row_labels(chosen)]
    return Table("fig7_ablation", f"Ablation at {R.res_label(res)} px: NME and AUC (%)",
                 ["NME", "AUC@0.08", "AUC@0.1"], rows, notes=_notes(chosen, dropped))



def nme_by_subject(runs: list[R.Run]) -> Table | None:
    """NME (%) of each finished studio run at its primary resolution, by test subject (from the
    prepared dataset's manifest): with a handful of test subjects, one unlike the training ones can
    dominate the mean, and this is where it shows."""
    runs = [r for r in runs if r.kind == "studio" and r.ok]
    subject_of: dict[str, dict[str, str]] = {}   # data folder -> sample id -> subject
    per_run: list[tuple[R.Run, pd.Series]] = []
    notes = []
    for r in runs:
        if r.data not in subject_of:
            try:
                manifest = PreparedDataset(r.data).manifest
                subject_of[r.data] = dict(zip(manifest["id"], manifest["subject"]))
            except FacebenchError as err:
                subject_of[r.data] = {}
                notes.append(f"runs on {r.data}: subjects unknown ({err})")
        if not subject_of[r.data]:
            continue
        try:
            frame, pred, gt = r.predictions(r.res)
        except FacebenchError as err:
            notes.append(str(err))
            continue
        if len(frame) == 0:
            continue
        errors = M.nme(pred, gt, frame["norm"].to_numpy())   # per image, with the run's own normaliser
        subjects = frame["id"].map(subject_of[r.data])
        per_run.append((r, S.subject_means(frame, errors, subjects.to_numpy())))   # ± over seeds
    if not per_run:
        return None
    subjects = sorted(set().union(*(set(s.index) for _, s in per_run)))
    rows = [Row(r.rel, [S.percent(s[x]) if x in s.index else None for x in subjects]
                + [_summary_value(r.summary, "nme")]) for r, s in per_run]
    return Table("nme_by_subject", "NME (%) by test subject (each run at its primary resolution)",
                 [*subjects, "all"], rows, notes=notes, first_column="Run")


def runs_overview(runs: list[R.Run]) -> Table:
    """Every run folder: status, primary metrics, size and timing (the failed ones say why)."""
    cols = ["kind", "method", "res", "train res", "status", "n", "NME", "NME regional", "NME global",
            "AUC@0.08", "FR@0.08", "AUC@0.1", "FR@0.1", "params", "train s", "predict ms/img", "error"]
    fmts = ["{}"] * 6 + [PCT] * 7 + ["{:.0f}", "{:.0f}", "{:.1f}", "{}"]
    rows = []
    for r in runs:
        s = r.summary or {}
        timing = r.metrics.get("timing") or {}
        predict = timing.get("predict_seconds_per_image")
        rows.append(Row(r.rel, [
            r.kind, r.method, R.res_label(r.res), r.train_res, r.status_text(), s.get("n"),
            *[_summary_value(s, k) for k in ("nme", "nme_regional", "nme_global", "auc@0.08", "fr@0.08",
                                             "auc@0.1", "fr@0.1")],
            r.config.get("params"), _float(timing.get("train_seconds")),
            None if predict is None else 1000.0 * float(predict), r.error or None,
        ]))
    return Table("runs", "All runs (metrics in %, at each run's primary resolution)", cols, rows,
                 formats=fmts, first_column="Run")


# ---- helpers -------------------------------------------------------------------------------------

def _summary_value(summary: dict | None, key: str, subset: str | None = None) -> float | None:
    """100 x ``summary[key]`` (or of ``summary["by_subset"][subset]``), None when absent."""
    if summary is None:
        return None
    if subset is not None:
        summary = summary.get("by_subset", {}).get(subset)
        if summary is None:
            return None
    value = summary.get(key)
    return None if value is None else S.percent(value)   # keeps a mean ± std over seeds


def _cell(run: R.Run | None, key: str, subset: str | None = None) -> Cell:
    """A table cell for ``run``: its number, its status (``OOM`` ...) or None (no run)."""
    if run is None:
        return None
    if not run.ok:
        return run.status_text()
    return _summary_value(run.summary, key, subset)


def _float(value) -> float | None:
    return None if value is None else float(value)


def _notes(runs: list[R.Run], dropped: list[R.Run]) -> list[str]:
    """Why cells are empty or what was left out."""
    notes = [f"{r.name}: {r.status_text()}" + (f" — {r.error}" if r.error else "") for r in runs if not r.ok]
    notes += [f"{r.name}: not shown, a newer run fills the same cell" for r in dropped]
    notes += [f"{r.name}: NME normalised by {r.summary['norm']}, not inter-ocular" for r in runs
              if r.ok and r.summary.get("norm", "inter-ocular") != "inter-ocular"]
    return notes


@dataclass
class _PaperRow:
    label: str
    cells: list[str]


def _paper(filename: str) -> tuple[list[str], list[_PaperRow], list[str]]:
    """(value column names, rows, notes) of a published-numbers CSV shipped in reports/data."""
    # Next to this file (package data), which also holds for an editable install.
    text = (Path(__file__).parent / "data" / filename).read_text(encoding="utf-8")
    frame = pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False)
    cols = [c for c in frame.columns if c not in ("method", "source", "note")]
    rows = [_PaperRow(m, [v if v not in ("", "-") else None for v in vals])
            for m, vals in zip(frame["method"], frame[cols].itertuples(index=False))]
    notes = [f"{m} (reported): {n}" for m, n in zip(frame["method"], frame["note"]) if n]
    return cols, rows, notes


# ---- renderings ----------------------------------------------------------------------------------

def to_markdown(t: Table) -> str:
    head = [t.first_column, *t.columns]
    lines = [f"**{t.title}**", "", "| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    lines += ["| " + " | ".join([r.label, *(t.fmt(i, c) for i, c in enumerate(r.cells))]) + " |" for r in t.rows]
    if t.paper_rows:
        lines.append(f"| **{REPORTED_HEADING}** |" + " |" * len(t.columns))
        lines += ["| *" + r.label + "* | " + " | ".join(t.fmt(i, c) for i, c in enumerate(r.cells)) + " |"
                  for r in t.paper_rows]
    lines += [""] + [f"- {n}" for n in t.notes]
    return "\n".join(lines).rstrip() + "\n"


def to_csv(t: Table) -> str:
    """Measured rows then reported rows; floats at full precision (``repr``), missing cells empty."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow([t.first_column.lower(), "source", *t.columns])
    for r in [*t.rows, *t.paper_rows]:
        w.writerow([r.label, r.source, *("" if c is None else repr(c) if isinstance(c, float) else c
                                         for c in r.cells)])
    return buf.getvalue()


_TEX = {"\\": r"\textbackslash{}", "&": r"\&", "%": r"\%", "_": r"\_", "#": r"\#", "$": r"\$",
        "{": r"\{", "}": r"\}", "~": r"\textasciitilde{}", "^": r"\textasciicircum{}", "–": "--", "—": "---"}


def _tex(text: str) -> str:
    """LaTeX-escaped text."""
    return "".join(_TEX.get(ch, ch) for ch in text)


def to_latex(t: Table) -> str:
    n = len(t.columns) + 1
    lines = [f"% {t.title}", r"\begin{tabular}{l" + "r" * len(t.columns) + "}", r"\toprule",
             " & ".join(_tex(h) for h in [t.first_column, *t.columns]) + r" \\", r"\midrule"]
    lines += [" & ".join(_tex(x) for x in [r.label, *(t.fmt(i, c) for i, c in enumerate(r.cells))]) + r" \\"
              for r in t.rows]
    if t.paper_rows:
        lines += [r"\midrule", rf"\multicolumn{{{n}}}{{l}}{{\emph{{{_tex(REPORTED_HEADING)}}}}} \\"]
        lines += [" & ".join(_tex(x) for x in [r.label, *(t.fmt(i, c) for i, c in enumerate(r.cells))]) + r" \\"
                  for r in t.paper_rows]
    lines += [r"\bottomrule", r"\end{tabular}"]
    return "\n".join(lines) + "\n"


def to_html(t: Table) -> str:
    e = html.escape
    head = "".join(f"<th>{e(h)}</th>" for h in [t.first_column, *t.columns])
    out = [f'<table class="results" id="{e(t.key)}"><caption>{e(t.title)}</caption>',
           f"<thead><tr>{head}</tr></thead>", '<tbody class="measured">']
    out += ["<tr><th>" + e(r.label) + "</th>" + "".join(f"<td>{e(t.fmt(i, c))}</td>" for i, c in enumerate(r.cells))
            + "</tr>" for r in t.rows]
    out.append("</tbody>")
    if t.paper_rows:
        out += ['<tbody class="reported">',
                f'<tr><th colspan="{len(t.columns) + 1}">{e(REPORTED_HEADING)}</th></tr>']
        out += ["<tr><th>" + e(r.label) + "</th>" + "".join(f"<td>{e(t.fmt(i, c))}</td>" for i, c in enumerate(r.cells))
                + "</tr>" for r in t.paper_rows]
        out.append("</tbody>")
    out.append("</table>")
    if t.notes:
        out.append('<ul class="notes">' + "".join(f"<li>{e(n)}</li>" for n in t.notes) + "</ul>")
    return "\n".join(out)
