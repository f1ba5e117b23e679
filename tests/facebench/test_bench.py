import json

import pytest
from click.testing import CliRunner

from facebench.bench import MEMORY_KEYS, available_mib, bench_memory, memory_rows_markdown, project_peak
from facebench.cli import cli
from facebench.errors import FacebenchError


def test_projection_fits_a_plus_b_r_squared():
    # 100 MiB at 256 and 400 MiB at 512: a = 0, b = 300 / (512^2 - 256^2) -> 1600 MiB at 1024.
    assert project_peak([(256, 100.0), (512, 400.0)], 1024) == pytest.approx(1600.0)
    # Constant memory (ADC-like) stays constant.
    assert project_peak([(256, 500.0), (512, 500.0), (1024, 500.0)], 4096) == pytest.approx(500.0)
    # One point: everything scales with R^2 (an upper bound).
    assert project_peak([(256, 100.0)], 512) == pytest.approx(400.0)
    with pytest.raises(ValueError):
        project_peak([], 256)
    assert available_mib("cpu") > 0


def test_bad_requests_are_user_errors():
    with pytest.raises(FacebenchError, match="cannot measure"):
        bench_memory(("dlib-ert",), (256,), (1,))
    result = CliRunner().invoke(cli, ["bench", "memory", "--method", "nope", "--res", "256", "--json"])
    assert result.exit_code == 2 and "error: cannot measure nope" in result.output


@pytest.mark.slow
def test_memory_cli_measures_in_a_fresh_process_and_projects_what_does_not_fit():
    # A budget of 1 % of the available memory: the first measurement (~0.4 GiB: the torch runtime)
    # already exceeds it, so the second resolution is projected, not run.
    result = CliRunner().invoke(cli, ["bench", "memory", "--method", "adc", "--res", "128,256", "--batch", "1",
                                      "--preset", "smoke", "--budget", "0.01", "--json"])
    assert result.exit_code == 0, result.output
    rows = json.loads(result.output)
    assert [(r["method"], r["res"], r["batch"], r["status"]) for r in rows] == [("adc", 128, 1, "ok"), ("adc", 256, 1, "projected")]
    assert all(set(MEMORY_KEYS) <= set(r) for r in rows)
    ok, projected = rows
    assert ok["peak_mib"] > ok["baseline_mib"] > 50 and ok["params"] > 0 and ok["device"] == "cpu"
    assert projected["peak_mib"] == pytest.approx(ok["peak_mib"] * 4, rel=1e-3) and projected["projected_from"] == [128]
    table = memory_rows_markdown(rows)
    assert "| adc | 256 | 1 |" in table and "projected" in table
