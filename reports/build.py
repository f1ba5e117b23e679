"""``facebench report``: every table and figure the run folders allow, written to one folder.

``OUT/tables/<key>.{md,csv,tex}``, ``OUT/figures/<key>.{png,pdf}`` and ``OUT/index.html``. Each
file is written to a temporary name and renamed. Figures that the runs cannot support are listed
in the report with the reason instead of failing it. Figures are ``matplotlib.figure.Figure``
objects saved through the Agg canvas (PNG) and the PDF backend: no pyplot, no display needed.
"""

from __future__ import annotations

import datetime as _dt
import io
from dataclasses import dataclass, field
from pathlib import Path

from tqdm import tqdm

from facebench import __version__
from facebench.core.io import atomic_write_bytes
from reports import example_figures, figure8, figure_sets, temporal, uncertainty
from reports import html as H
from reports import runs as R
from reports import spread as S
from reports import tables as T
from reports.publish import publish, staging, unreadable_predictions

PNG_DPI = 130


@dataclass
class Report:
    out_dir: Path
    runs: list[R.Run]
    tables: list[T.Table]
    figures: list[figure_sets.FigureOut]
    files: list[Path] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def build_report(runs_dir: str | Path, out_dir: str | Path, *, with_paper: bool = False,
                 progress: bool = True) -> Report:
    """Read every run folder under ``runs_dir`` and write the report to ``out_dir``: built in a
    folder beside it, then moved in, replacing only files an earlier report wrote
    (:mod:`reports.publish`)."""
    with staging(Path(out_dir)) as stage:
        report = _build_report(runs_dir, stage, with_paper=with_paper, progress=progress)
        report.files = publish(stage, Path(out_dir), report.files)
        report.out_dir = Path(out_dir)
    report.notes += unreadable_predictions(report.runs)
    return report


def _build_report(runs_dir: str | Path, out_dir: str | Path, *, with_paper: bool = False,
                  progress: bool = True) -> Report:
    all_runs = R.load_runs(runs_dir)
    runs = S.merge_seeds(all_runs)   # runs repeated over seeds -> one run of mean ± std (reports/spread.py)
    out_dir = Path(out_dir)
    tables = [t for t in (T.nme_by_resolution(runs, with_paper), T.nme_by_subset(runs, "300w", with_paper),
                          T.nme_by_subset(runs, "300vw", with_paper), T.ablation(runs),
                          figure8.table(runs), T.nme_by_subject(runs)) if t is not None]
    for t in tables:
        S.mark_within_spread(t)
    tables += [t for t in (temporal.jitter_table(runs),) if t is not None]
    tables.append(T.runs_overview(all_runs))   # every run folder, each seed on its own row
    report = Report(out_dir, all_runs, tables, [])
    for t in tables:
        for ext, render in (("md", T.to_markdown), ("csv", T.to_csv), ("tex", T.to_latex)):
            report.files.append(_write(out_dir / "tables" / f"{t.key}.{ext}", render(t).encode("utf-8")))

    builders = (figure_sets.figure6_pck, figure_sets.figure7_ablation, figure8.figure,
                figure_sets.figure9_error_image, example_figures.figure3_heatmaps,
                example_figures.figure4_corrections, uncertainty.reliability_diagram)
    embedded = []
    for build in tqdm(builders, desc="figures", unit="fig", disable=not progress):
        fig = build(runs)
        report.figures.append(fig)
        png, files = None, []
        if fig.figure is not None:
            png = _render(fig.figure, "png")
            for ext, data in (("png", png), ("pdf", _render(fig.figure, "pdf"))):
                report.files.append(_write(out_dir / "figures" / f"{fig.key}.{ext}", data))
                files.append(f"figures/{fig.key}.{ext}")
        else:
            report.notes.append(f"{fig.title} not drawn: {fig.note}")
        embedded.append((fig.key, fig.title, fig.caption, png, fig.note, files))

    report.notes += [f"run {r.name} ({r.method} @ {R.res_label(r.res)}): {r.status_text()}"
                     + (f" — {r.error}" if r.error else "") for r in runs if not r.ok]
    counts = {s: sum(r.status == s for r in all_runs) for s in dict.fromkeys(r.status for r in all_runs)}
    intro = [f"{len(all_runs)} run folders under {Path(runs_dir).resolve()} ("
             + ", ".join(f"{n} {s}" for s, n in counts.items()) + ")."
             + S.intro_sentence(runs),
             "NME is the mean per-image error normalised by the inter-ocular (outer eye corner) distance "
             "unless a run says otherwise; all numbers are percent. AUC@T and FR@T use the CED of "
             "per-image NME up to T (see docs/report.md).",
             f"Generated {_dt.datetime.now(_dt.timezone.utc).isoformat(timespec='seconds')} by facebench "
             f"{__version__}."]
    page = H.render("facebench report", intro, tables, embedded, report.notes)
    report.files.append(_write(out_dir / "index.html", page.encode("utf-8")))
    _remove_stale(out_dir, report.files)
    return report


def _remove_stale(out_dir: Path, written: list[Path]) -> None:
    """Delete tables / figures an earlier report left in ``out_dir`` that this one did not write (a
    figure now skipped, say), so that the folder never mixes two reports."""
    keep = set(written)
    for sub, exts in (("tables", ("md", "csv", "tex")), ("figures", ("png", "pdf"))):
        for ext in exts:
            for path in (out_dir / sub).glob(f"*.{ext}"):
                if path not in keep:
                    path.unlink()


def _render(fig, fmt: str) -> bytes:
    buf = io.BytesIO()
    # Fixed metadata so the same runs give the same PDF bytes.
    meta = {"CreationDate": None} if fmt == "pdf" else {"Software": None}
    fig.savefig(buf, format=fmt, dpi=PNG_DPI, metadata=meta)
    return buf.getvalue()


def _write(path: Path, data: bytes) -> Path:
    atomic_write_bytes(path, data)
    return path
