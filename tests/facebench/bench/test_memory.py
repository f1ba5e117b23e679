import json

import pytest
from click.testing import CliRunner

from facebench.bench.memory import (
    MEMORY_KEYS,
    MemorySpec,
    activation_size,
    available_mib,
    bench_memory,
    input_mib,
    memory_rows_markdown,
    project_peak,
)
from facebench.cli import cli
from facebench.core.errors import FacebenchError


def test_projection_fits_a_line_in_the_activation_size():
    # Holistic: 100 MiB at 256^2 and 400 MiB at 512^2: a = 0, b = 300 / (512^2 - 256^2) -> 1600 at 1024^2.
    assert project_peak([(256**2, 100.0), (512**2, 400.0)], 1024**2) == pytest.approx(1600.0)
    # Memory that does not grow stays where it is; a decreasing fit is not extrapolated downwards.
    assert project_peak([(1, 500.0), (2, 500.0), (3, 500.0)], 9) == pytest.approx(500.0)
    assert project_peak([(1, 510.0), (2, 490.0)], 9) == pytest.approx(500.0)
    # No slope known (one point, or equal sizes): proportional above, the largest peak at or below.
    assert project_peak([(256**2, 100.0)], 512**2) == pytest.approx(400.0)
    assert project_peak([(128**2, 300.0), (128**2, 310.0)], 256**2) == pytest.approx(1240.0)
    assert project_peak([(128**2, 300.0), (128**2, 310.0)], 128**2) == pytest.approx(310.0)
    with pytest.raises(ValueError):
        project_peak([], 256)


def test_activation_size_and_input_batch():
    # ADC's activations follow its crop (paper preset: 128 at 256 and 512, 256 at 1024 and 4096).
    assert activation_size(MemorySpec("adc", 512, 1)) == 128**2
    assert activation_size(MemorySpec("adc", 4096, 1)) == 256**2
    assert activation_size(MemorySpec("hg2", 512, 1)) == 512**2
    assert input_mib(MemorySpec("adc", 4096, 4), "cpu") == pytest.approx(192.0)   # 4 x 3 x 4096^2 bytes
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
    rows = json.loads(result.stdout)                 # progress lines go to stderr
    assert "measuring adc res=128 batch=1" in result.stderr and "not run" in result.stderr
    assert [(r["method"], r["res"], r["batch"], r["status"]) for r in rows] == [("adc", 128, 1, "ok"),
                                                                               ("adc", 256, 1, "projected")]
    assert all(set(MEMORY_KEYS) <= set(r) for r in rows)
    ok, projected = rows
    # ru_maxrss is a high-water mark: a smoke-sized step may not rise above the imports' peak.
    assert ok["peak_mib"] >= ok["baseline_mib"] > 50 and ok["params"] > 0 and ok["device"] == "cpu"
    # Same crop at 128 and 256 (smoke: 32 px): projected as the measured peak plus the larger input.
    grown = (ok["peak_mib"] - 3 * 128**2 / 2**20) + 3 * 256**2 / 2**20
    assert projected["peak_mib"] == pytest.approx(grown, abs=0.1) and projected["projected_from"] == [128]
    table = memory_rows_markdown(rows)
    assert "| adc | 256 | 1 |" in table and "projected" in table


def test_synth_bench_times_the_generator_against_writing_the_same_images():
    result = CliRunner().invoke(cli, ["bench", "synth", "--size", "128", "--expressions", "1",
                                      "--cameras", "2", "--json"])
    assert result.exit_code == 0, result.output
    r = json.loads(result.output)
    assert r["images"] == 2 and r["size"] == 128 and r["format"] == "png"
    assert r["synth_cpu_s"] > 0 and r["bare_cpu_s"] > 0
    # rendering a face costs more than encoding the finished image
    assert r["ratio"] == pytest.approx(r["synth_cpu_s"] / r["bare_cpu_s"]) and r["ratio"] > 1


@pytest.mark.slow   # a fresh process per measurement: ~5 s each
def test_speed_cli_measures_each_configuration_in_a_fresh_process():
    result = CliRunner().invoke(cli, ["bench", "speed", "-m", "adc,hg2", "--res", "128", "--preset", "smoke",
                                      "--threads", "1", "--json"])
    assert result.exit_code == 0, result.output
    rows = json.loads(result.output)
    got = {(r["kind"], r["method"], r["protocol"], r["res"]): r for r in rows}
    assert set(got) == {("inference", "adc", "native", 128), ("inference", "hg2", "upscale-256", 128),
                        ("inference", "hg2", "holistic-full", 128), ("train", "adc", "train", 128),
                        ("train", "hg2", "train", 256)}
    assert all(r["status"] == "ok" for r in rows), rows
    assert all(r["seconds_per_image"] > 0 for r in rows if r["kind"] == "inference")
    assert all(r["samples_per_second"] > 0 for r in rows if r["kind"] == "train")


def test_speed_reports_oom_and_skips_larger_resolutions_of_that_configuration(monkeypatch):
    from facebench.bench import speed as BS

    started = []

    def fake_run_spec(spec, limit):   # stands in for the child process: hg2 on a full 1024 image overflows
        started.append((spec.method, spec.protocol, spec.res))
        status = "oom" if spec.protocol == "holistic-full" and spec.res >= 1024 else "ok"
        return {"kind": spec.kind, "method": spec.method, "res": spec.res, "protocol": spec.protocol,
                "preset": spec.preset, "status": status, **({"seconds_per_image": 0.1} if status == "ok" else {})}

    monkeypatch.setattr(BS, "run_spec", fake_run_spec)
    rows = BS.bench_speed(("hg2",), (512, 1024, 4096), train=False, progress=False)
    full = {r["res"]: r["status"] for r in rows if r["protocol"] == "holistic-full"}
    assert full == {512: "ok", 1024: "oom", 4096: "oom"}
    assert ("hg2", "holistic-full", 4096) not in started          # never started after the oom
    assert {r["res"] for r in rows if r["protocol"] == "upscale-256" and r["status"] == "ok"} == {512, 1024, 4096}
