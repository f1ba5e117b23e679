import base64
import re

import pytest

from reports.build import build_report

FIGURES = ("fig6_pck", "fig7_ablation", "fig8_trained_vs_tested", "fig9_error_image", "fig3_heatmaps",
           "fig4_corrections", "fig_uncertainty_reliability")
TABLES = ("table4_nme_by_resolution", "table2_300w", "table3_300vw", "fig7_ablation", "fig8_trained_vs_tested", "runs")


@pytest.fixture(scope="module")
def report(runs_dir, tmp_path_factory):
    return build_report(runs_dir, tmp_path_factory.mktemp("report") / "out", with_paper=True, progress=False)


@pytest.mark.slow
def test_every_table_and_figure_file_is_written_and_non_empty(report):
    out = report.out_dir
    for key in TABLES:
        for ext in ("md", "csv", "tex"):
            assert (out / "tables" / f"{key}.{ext}").stat().st_size > 0, (key, ext)
    for key in FIGURES:
        png = (out / "figures" / f"{key}.png").read_bytes()
        pdf = (out / "figures" / f"{key}.pdf").read_bytes()
        assert png.startswith(b"\x89PNG") and len(png) > 5000, key
        assert pdf.startswith(b"%PDF") and len(pdf) > 1000, key
    assert [f.key for f in report.figures if f.figure is None] == []
    assert not list(out.rglob(".*tmp*")), "a temporary file was left behind"


@pytest.mark.slow
def test_index_html_is_self_contained_and_shows_everything(report):
    page = (report.out_dir / "index.html").read_text()
    for key in TABLES:
        assert f'id="{key}"' in page
    images = re.findall(r'src="data:image/png;base64,([A-Za-z0-9+/=]+)"', page)
    assert len(images) == len(FIGURES)
    embedded = {base64.b64decode(i) for i in images}
    for key in FIGURES:
        assert (report.out_dir / "figures" / f"{key}.png").read_bytes() in embedded
    assert "http://" not in page and "https://" not in page          # opens offline
    assert "OOM" in page and "CUDA out of memory" in page            # a failed run says why
    assert "incomplete" in page
    assert 'class="reported"' in page and "Reported in Chandran et al. 2020" in page


def small_runs(runs_dir, tmp_path, rels=("hg2-256", "adc-256"), data=None):
    """A copy of a few studio runs without examples.npz (fewer figures: faster), optionally
    pointed at another dataset."""
    import json
    import shutil

    runs = tmp_path / "runs"
    for rel in rels:
        shutil.copytree(runs_dir / rel, runs / rel, ignore=shutil.ignore_patterns("examples.npz"))
        if data is not None:
            cfg = runs / rel / "config.json"
            cfg.write_text(json.dumps({**json.loads(cfg.read_text()), "data": str(data)}))
    return runs


def test_report_without_the_example_dataset_skips_figure9_with_a_note(runs_dir, tmp_path):
    stale = tmp_path / "out" / "figures" / "fig9_error_image.png"      # from an earlier report
    stale.parent.mkdir(parents=True)
    stale.write_bytes(b"old")
    import hashlib
    import json

    (tmp_path / "out" / ".facebench-report-files").write_text(                                   # its list
        json.dumps({"figures/fig9_error_image.png": hashlib.sha256(b"old").hexdigest()}))
    rep = build_report(small_runs(runs_dir, tmp_path, data=tmp_path / "gone"), tmp_path / "out", progress=False)
    assert [f.key for f in rep.figures if f.figure is not None] == ["fig6_pck", "fig8_trained_vs_tested",
                                                                        "fig_uncertainty_reliability"]
    fig9 = next(f for f in rep.figures if f.key == "fig9_error_image")
    assert fig9.figure is None and "unavailable" in fig9.note
    assert not (tmp_path / "out" / "figures" / "fig9_error_image.png").exists()
    assert (tmp_path / "out" / "figures" / "fig6_pck.png").is_file()
    page = (tmp_path / "out" / "index.html").read_text()
    assert "Not drawn: skipped: the test image" in page
    assert "Not drawn: no ablation runs" in page
    assert "Reported in Chandran" not in page                      # no --with-paper
    assert [t.key for t in rep.tables] == ["table4_nme_by_resolution", "fig8_trained_vs_tested", "runs"]


def test_cli_report(runs_dir, tmp_path):
    from click.testing import CliRunner

    from facebench.cli import cli

    runs = small_runs(runs_dir, tmp_path, rels=("hg2-256",))
    ok = CliRunner().invoke(cli, ["report", str(runs), "--out", str(tmp_path / "rep"), "--with-paper"])
    assert ok.exit_code == 0, ok.output
    assert "1 runs" in ok.stdout and (tmp_path / "rep" / "index.html").is_file()
    bad = CliRunner().invoke(cli, ["report", str(tmp_path / "missing"), "--out", str(tmp_path / "rep2")])
    assert bad.exit_code == 2 and "runs folder not found" in bad.stderr and "Traceback" not in bad.output
