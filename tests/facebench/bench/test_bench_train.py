import json

import pytest
from click.testing import CliRunner

from facebench.bench.train import ROW_KEYS, bench_train, train_rows_markdown
from facebench.cli import cli
from facebench.core.errors import FacebenchError


@pytest.fixture(scope="module")
def prepared_512(tmp_path_factory, tiny_capture):
    """The tiny capture prepared at 256 and 512: ADC at 512 reads its crops from a tiled pyramid."""
    from facebench.data.prepare import PrepareOptions, prepare

    out = tmp_path_factory.mktemp("bench_train") / "data"
    prepare(out, studio=(tiny_capture,), options=PrepareOptions(resolutions=(256, 512)), workers=1, progress=False)
    return out


@pytest.mark.slow
def test_bench_train_json_rows(prepared_512):
    result = CliRunner().invoke(cli, ["bench", "train", "-m", "adc,hg2,dlib-ert", "--res", "256,512", "--crop", "32",
                                      "--batch", "2", "--steps", "1", "-p", "smoke", "--data", str(prepared_512),
                                      "--json"])
    assert result.exit_code == 0, result.output
    rows = json.loads(result.output)
    assert [(r["method"], r["res"]) for r in rows] == [("adc", 256), ("adc", 512), ("hg2", 256), ("hg2", 512),
                                                       ("dlib-ert", 256), ("dlib-ert", 512)]
    for row in rows:
        assert set(ROW_KEYS) <= set(row)
    by = {(r["method"], r["res"]): r for r in rows}
    for key in [("adc", 256), ("adc", 512), ("hg2", 256)]:
        row = by[key]
        assert row["status"] == "ok", row
        assert row["samples_per_s"] > 0 and row["load_ms"] > 0 and row["step_ms"] > 0 and row["peak_mib"] > 100
        assert row["batch"] == 2 and row["predict_ms"] > 0
    assert by[("adc", 512)]["crop"] == 32 and by[("hg2", 256)]["crop"] is None
    assert by[("hg2", 512)]["status"] == "skipped" and by[("dlib-ert", 256)]["status"] == "skipped"
    assert "| adc | 512 | 32 | 2 |" in train_rows_markdown(rows)


def test_bench_train_refuses_unknown_methods_and_missing_resolutions(prepared_512):
    with pytest.raises(FacebenchError, match="unknown method"):
        bench_train(("nope",), (256,), data=prepared_512)
    with pytest.raises(FacebenchError, match="no 1024 px images"):
        bench_train(("adc",), (1024,), data=prepared_512)
