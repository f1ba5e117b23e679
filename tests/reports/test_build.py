import base64
import re

import pytest

from reports.build import build_report

FIGURES = ("fig6_pck", "fig7_ablation", "fig8_trained_vs_tested", "fig9_error_image", "fig3_heatmaps",
           "fig4_corrections")
TABLES = ("table4_nme_by_resolution", "table2_300w", "table3_300vw", "fig7_ablation", "fig8_trained_vs_tested", "runs")


@pytest.fixture(scope="module")
def report(runs_dir, tmp_path_factory):
    return build_report(runs_dir, tmp_path_factory.mktemp("report") / "out", with_paper=True, progress=False)


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


def test_report_without_the_example_dataset_skips_figure9_with_a_note(runs_dir, tmp_path):
    import json
    import shutil

    runs = tmp_path / "runs"
    shutil.copytree(runs_dir, runs)
    for cfg in runs.rglob("config.json"):
        config = json.loads(cfg.read_text())
        config["data"] = str(tmp_path / "gone")
        cfg.write_text(json.dumps(config))
    rep = build_report(runs, tmp_path / "out", progress=False)
    fig9 = next(f for f in rep.figures if f.key == "fig9_error_image")
    assert fig9.figure is None and "unavailable" in fig9.note
    assert not (tmp_path / "out" / "figures" / "fig9_error_image.png").exists()
    page = (tmp_path / "out" / "index.html").read_text()
    assert "Not drawn: skipped: the test image" in page
    assert "Reported in Chandran" not in page                      # no --with-paper
