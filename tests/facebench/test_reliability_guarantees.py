"""One test per guarantee of docs/reliability.md. The data-loss ones each reproduce a case of
issue 11 that destroyed or overwrote a user's files before (they fail on that code)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from facebench.cli import cli
from tests.conftest import make_300w, make_studio_capture

REPO = Path(__file__).resolve().parents[2]


pytestmark = pytest.mark.usefixtures("one_thread")


def invoke(*args):
    return CliRunner().invoke(cli, [str(a) for a in args])


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    """A 2-subject capture prepared at 128 and one finished smoke run in runs/adc-128."""
    root = tmp_path_factory.mktemp("guarantees")
    cap = make_studio_capture(root / "cap", subjects=2, expressions=1, cameras=2, size=256)
    r = invoke("prepare", "--studio", cap, "--out", root / "data", "--resolutions", "128", "--workers", "1",
               "--no-progress")
    assert r.exit_code == 0, r.output
    r = invoke("run", "-m", "adc", "-r", "128", "--data", root / "data", "--preset", "smoke", "--device", "cpu",
               "--out", root / "runs")
    assert r.exit_code == 0, r.output
    return root


def tree(root: Path) -> dict:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


# ---- 1. outputs stay where they are told ---------------------------------------------------------

@pytest.mark.parametrize("name", ["..", ".", "../../x", "/abs/x"])
def test_run_name_must_be_one_plain_component(world, tmp_path, name):
    cwd = tmp_path / "home" / "work"
    runs = cwd / "runs"
    runs.mkdir(parents=True)
    (cwd / "thesis.tex").write_text("a year of work")
    (runs / "other-run").mkdir()
    (runs / "other-run" / "config.json").write_text("{}")
    before = tree(tmp_path)
    os.chdir(cwd)
    try:
        r = invoke("run", "-m", "adc", "-r", "128", "--data", world / "data", "--preset", "smoke", "--device", "cpu",
                   "--out", runs, "--name", name, "--force")
    finally:
        os.chdir(REPO)
    assert r.exit_code == 2 and "--name" in r.stderr
    assert tree(tmp_path) == before


def test_force_deletes_only_a_marked_run_folder(world, tmp_path):
    runs = tmp_path / "runs"
    (runs / "mine").mkdir(parents=True)
    (runs / "mine" / "data.csv").write_text("the user's")
    r = invoke("run", "-m", "adc", "-r", "128", "--data", world / "data", "--preset", "smoke", "--device", "cpu",
               "--out", runs, "--name", "mine", "--force")
    assert r.exit_code == 2 and "not a facebench run folder" in r.stderr
    assert (runs / "mine" / "data.csv").read_text() == "the user's"
    assert (world / "runs" / "adc-128" / ".facebench-run").is_file()          # a run folder is marked


def test_report_keeps_the_users_files_in_out(world, tmp_path):
    out = tmp_path / "report"
    for rel in ("figures/my_plot.png", "tables/my_table.md"):
        (out / rel).parent.mkdir(parents=True, exist_ok=True)
        (out / rel).write_text("mine")
    r = invoke("report", world / "runs", "--out", out)
    assert r.exit_code == 0, r.output
    assert (out / "figures" / "my_plot.png").read_text() == "mine"
    assert (out / "tables" / "my_table.md").read_text() == "mine"
    (out / "index.html").unlink()
    (out / "index.html").write_text("my own page")       # now a file of the user's where the report writes
    r = invoke("report", world / "runs", "--out", out)
    assert r.exit_code == 2 and "index.html" in r.stderr
    assert (out / "index.html").read_text() == "my own page"


def test_predict_never_overwrites_an_annotation(world, tmp_path):
    cap = make_studio_capture(tmp_path / "cap", subjects=1, expressions=1, cameras=1, size=256)
    image = cap / "s00" / "e0" / "cam0.png"
    annotation = image.with_suffix(".pts").read_bytes()      # synth / studio files carry facebench's 0-based tag
    r = invoke("predict", image, "--run", world / "runs" / "adc-128", "--device", "cpu", "--box", "60,60,200,200")
    assert r.exit_code == 2 and "cam0.pts" in r.stderr
    assert image.with_suffix(".pts").read_bytes() == annotation
    assert sorted(p.name for p in image.parent.iterdir()) == ["cam0.png", "cam0.pts"]
    w300 = make_300w(tmp_path / "w300", per_folder=1)
    image = w300 / "afw" / "afw_0.jpg"
    before = image.with_suffix(".pts").read_bytes()
    r = invoke("predict", image, "--run", world / "runs" / "adc-128", "--device", "cpu", "--box", "30,30,150,130")
    assert r.exit_code == 2 and image.with_suffix(".pts").read_bytes() == before


def test_a_prediction_is_never_read_as_an_annotation(world, tmp_path):
    cap = make_studio_capture(tmp_path / "cap", subjects=2, expressions=1, cameras=1, size=256)
    image = cap / "s00" / "e0" / "cam0.png"
    image.with_suffix(".pts").unlink()                     # an image not annotated yet
    r = invoke("predict", image, "--run", world / "runs" / "adc-128", "--device", "cpu", "--box", "60,60,200,200")
    assert r.exit_code == 0, r.output
    r = invoke("prepare", "--studio", cap, "--out", tmp_path / "out", "--resolutions", "128", "--workers", "1")
    assert r.exit_code == 2 and "cam0.pts" in r.stderr and "facebench predict" in r.stderr


def test_predict_replaces_its_own_output(world, tmp_path):
    from facebench.core.pts import PREDICTION_TAG

    capture = make_studio_capture(tmp_path / "cap", subjects=1, expressions=1, cameras=1, size=256)
    photo = capture / "s00" / "e0" / "cam0.png"
    for _ in range(2):
        r = invoke("predict", photo, "--run", world / "runs" / "adc-128", "--device", "cpu", "--box", "60,60,200,200",
                   "--passes", "1", "--out", tmp_path / "pred")
        assert r.exit_code == 0, r.output
    assert PREDICTION_TAG in (tmp_path / "pred" / "cam0.pts").read_text()


def test_failed_score_out_leaves_the_good_folder_as_it_was(world, tmp_path):
    from facebench.core.prepared import PreparedDataset
    from facebench.core.pts import write_pts

    pred = tmp_path / "pred"
    rows = PreparedDataset(world / "data").split("test")
    for rel, lm in zip(rows["rel_path"], rows["landmarks"]):
        (pred / rel).parent.mkdir(parents=True, exist_ok=True)
        write_pts(pred / f"{rel}.pts", np.asarray(lm).reshape(-1, 2) + 1.0)
    r = invoke("score", "--data", world / "data", "--pred", pred, "--out", tmp_path / "scored")
    assert r.exit_code == 0, r.output
    good = tree(tmp_path / "scored")
    bad = tmp_path / "bad"
    bad.mkdir()
    for p in pred.rglob("*.pts"):
        target = bad / p.relative_to(pred)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(p.read_text())
    first = next(bad.rglob("*.pts"))
    first.write_text(first.read_text().replace("\n{\n", "\n{\n1e300 3\n", 1).replace("n_points: 89", "n_points: 90"))
    lines = first.read_text().splitlines()
    lines.pop(lines.index("{") + 2)                      # still 89 points, the first one 1e300
    first.write_text("\n".join(lines).replace("n_points: 90", "n_points: 89") + "\n")
    r = invoke("score", "--data", world / "data", "--pred", bad, "--out", tmp_path / "scored")
    assert r.exit_code == 2 and first.name in r.stderr and "Traceback" not in r.output
    assert tree(tmp_path / "scored") == good


def test_failed_reprepare_leaves_the_good_dataset_as_it_was(world, tmp_path):
    import shutil

    data = tmp_path / "data"
    shutil.copytree(world / "data", data)
    good = tree(data)
    cap = tmp_path / "cap"
    shutil.copytree(world / "cap", cap)
    image = cap / "s00" / "e0" / "cam0.png"
    b = image.read_bytes()
    image.write_bytes(b[: len(b) // 2] + bytes(4000) + b[len(b) // 2 + 4000:])    # damaged past the header
    args = ("prepare", "--studio", cap, "--out", data, "--resolutions", "128", "--workers", "1", "--no-progress")
    r = invoke(*args)                                     # the inputs changed: refused (before: all deleted)
    assert r.exit_code == 2 and tree(data) == good
    r = invoke(*args, "--force")                          # built beside: the damage is found there
    assert r.exit_code == 2 and "cam0.png" in r.stderr
    assert tree(data) == good
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cap", "data"]        # no build folder left


# ---- 2. no silent leakage ------------------------------------------------------------------------

def test_reprepare_with_another_seed_is_refused_and_runs_notice(world, tmp_path):
    import shutil

    data = tmp_path / "data"
    shutil.copytree(world / "data", data)
    runs = tmp_path / "runs"
    shutil.copytree(world / "runs", runs)
    cfg = json.loads((runs / "adc-128" / "config.json").read_text())
    cfg["data"] = str(data.resolve())
    (runs / "adc-128" / "config.json").write_text(json.dumps(cfg))
    args = ("prepare", "--studio", world / "cap", "--out", data, "--resolutions", "128", "--workers", "1",
            "--no-progress", "--seed", "1")
    r = invoke(*args)
    assert r.exit_code == 2 and "seed 0 -> 1" in r.stderr and "--force" in r.stderr
    assert invoke(*args, "--force").exit_code == 0
    run = ("run", "-m", "adc", "-r", "128", "--data", data, "--preset", "smoke", "--device", "cpu", "--out", runs)
    r = invoke(*run)
    assert r.exit_code == 2 and "cannot reuse" in r.stderr and "dataset" in r.stderr
    r = invoke(*run[:4], "256", *run[5:])                 # --init auto would pick adc-128
    assert r.exit_code == 2 and "--init auto" in r.stderr
    r = invoke("evaluate", runs / "adc-128", "-r", "128")
    assert r.exit_code == 2 and "prepared again" in r.stderr


def test_resume_with_another_seed_is_refused(world, tmp_path):
    import shutil

    runs = tmp_path / "runs"
    shutil.copytree(world / "runs", runs)
    (runs / "adc-128" / "metrics.json").unlink()
    r = invoke("run", "-m", "adc", "-r", "128", "--data", world / "data", "--preset", "smoke", "--device", "cpu",
               "--out", runs, "--resume", "--seed", "4")
    assert r.exit_code == 2 and "seed 0 -> 4" in r.stderr


def test_fingerprint_is_stable_and_records_the_split(world):
    from facebench.core.fingerprint import differences

    fp = json.loads((world / "data" / "dataset.json").read_text())["fingerprint"]
    assert set(fp) == {"inputs", "options", "split", "all"}
    assert differences(fp, {**fp, "split": "x"}) == ["train/test split"]


def test_symlinked_and_nfd_subjects_are_refused(tmp_path):
    cap = make_studio_capture(tmp_path / "cap", subjects=2, expressions=1, cameras=1, size=256)
    os.symlink(cap / "s00", cap / "s99")
    r = invoke("prepare", "--studio", cap, "--out", tmp_path / "out", "--resolutions", "128", "--workers", "1")
    assert r.exit_code == 2 and "'s00' and 's99' are the same folder" in r.stderr
    (cap / "s99").unlink()
    os.rename(cap / "s00", cap / "Jos\u00e9")
    os.rename(cap / "s01", cap / "Jose\u0301")
    r = invoke("prepare", "--studio", cap, "--out", tmp_path / "out", "--resolutions", "128", "--workers", "1")
    assert r.exit_code == 2 and "two Unicode forms" in r.stderr
    assert not (tmp_path / "out").exists()


def test_non_ascii_subject_names_get_distinct_stable_ids():
    from facebench.data.ingest.records import safe_id

    a, b = safe_id("J\u00fcrgen", "e0", "cam0"), safe_id("J\u00f6rgen", "e0", "cam0")
    assert a != b and a == safe_id("Ju\u0308rgen", "e0", "cam0")          # NFD spelling: the same id
    assert safe_id("s000", "neutral", "cam0") == "s000_neutral_cam0"       # ASCII ids unchanged


@pytest.mark.parametrize("epochs", ["0", "-3"])
def test_epochs_below_one_are_refused(world, tmp_path, epochs):
    r = invoke("run", "-m", "adc", "-r", "128", "--data", world / "data", "--preset", "smoke", "--epochs", epochs,
               "--out", tmp_path / "runs")
    assert r.exit_code == 2 and "--epochs" in r.stderr and not (tmp_path / "runs").exists()


def test_synth_into_a_capture_with_other_settings_is_refused(tmp_path):
    base = ("synth", tmp_path / "s", "--subjects", "1", "--expressions", "1", "--cameras", "1", "--size", "64",
            "--quiet")
    assert invoke(*base).exit_code == 0
    before = tree(tmp_path / "s")
    for extra, said in ((("--seed", "2"), "seed 0 -> 2"), (("--size", "96"), "size 64 -> 96"),
                        (("--format", "jpg"), "image_format 'png' -> 'jpg'")):
        r = invoke(*base, *extra)
        assert r.exit_code == 2 and said in r.stderr
    assert tree(tmp_path / "s") == before


def test_300w_image_without_pts_is_noted(tmp_path):
    w300 = make_300w(tmp_path / "w300", per_folder=1)
    (w300 / "afw" / "afw_0.jpg").rename(w300 / "afw" / "lonely.jpg")
    (w300 / "afw" / "afw_0.pts").unlink()
    (w300 / "afw" / "x.jpg").write_bytes((w300 / "ibug" / "ibug_0.jpg").read_bytes())
    (w300 / "afw" / "x.pts").write_bytes((w300 / "ibug" / "ibug_0.pts").read_bytes())
    r = invoke("prepare", "--300w", w300, "--out", tmp_path / "out", "--resolutions", "128", "--workers", "1",
               "--no-progress")
    assert r.exit_code == 0 and "1 image(s) without a .pts file" in r.output and "lonely.jpg" in r.output


# ---- 3. bounded sizes ----------------------------------------------------------------------------

def test_sizes_are_checked_before_allocating(world, tmp_path, monkeypatch):
    from tests.facebench.reliability_catalogue import png_header_only

    cap = make_studio_capture(tmp_path / "cap", subjects=2, expressions=1, cameras=1, size=256)
    (cap / "s00" / "e0" / "cam0.png").write_bytes(png_header_only(20000, 20000))
    r = invoke("prepare", "--studio", cap, "--out", tmp_path / "o", "--resolutions", "128")
    assert r.exit_code == 2 and "400 MP" in r.stderr and "FACEBENCH_MAX_IMAGE_PIXELS" in r.stderr
    r = invoke("prepare", "--studio", world / "cap", "--out", tmp_path / "o", "--resolutions", "256,40960")
    assert r.exit_code == 2 and "FACEBENCH_MAX_RESOLUTION" in r.stderr
    monkeypatch.setenv("FACEBENCH_MAX_RESOLUTION", "50000")
    from facebench.core.safety import check_resolution

    check_resolution(40960)                                   # raised by the variable
    r = invoke("prepare", "--studio", world / "cap", "--out", tmp_path / "o", "--margin", "1000")
    assert r.exit_code == 2 and "--margin" in r.stderr
    r = invoke("predict", make_studio_capture(tmp_path / "p", 1, 1, 1, 256) / "s00" / "e0" / "cam0.png",
               "--run", world / "runs" / "adc-128", "--box", "-1e9,-1e9,1e9,1e9", "--out", tmp_path / "po")
    assert r.exit_code == 2 and "limit" in r.stderr and not (tmp_path / "po").exists()


# ---- 4. processes --------------------------------------------------------------------------------

def _prepare_cmd(cap: Path, out: Path, workers: int) -> list[str]:
    return [sys.executable, "-m", "facebench", "prepare", "--studio", str(cap), "--out", str(out), "--resolutions",
            "256,512,1024", "--workers", str(workers), "--no-progress"]


def _children(pid: int) -> list[int]:
    out = subprocess.run(["ps", "-o", "pid=", "--ppid", str(pid)], capture_output=True, text=True).stdout
    return [int(p) for p in out.split()]


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    stat = Path(f"/proc/{pid}/stat")
    return not (stat.exists() and stat.read_text().split(")")[-1].split()[0] == "Z")


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="prctl(PR_SET_PDEATHSIG) is Linux's")
def test_kill_9_of_prepare_leaves_no_worker(tmp_path):
    cap = make_studio_capture(tmp_path / "cap", subjects=4, expressions=2, cameras=2, size=1024)
    env = {**os.environ, "PYTHONPATH": str(REPO), "OMP_NUM_THREADS": "1"}
    proc = subprocess.Popen(_prepare_cmd(cap, tmp_path / "out", 2), env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    workers: list[int] = []
    for _ in range(300):                                  # until the pool is up
        workers = _children(proc.pid)
        if len(workers) >= 2:
            break
        time.sleep(0.05)
    assert workers, "the pool never started"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    deadline = time.time() + 10
    while time.time() < deadline and any(_alive(p) for p in workers):
        time.sleep(0.1)
    assert not any(_alive(p) for p in workers)


def test_second_prepare_into_one_out_stops_at_once(tmp_path):
    cap = make_studio_capture(tmp_path / "cap", subjects=4, expressions=2, cameras=2, size=1024)
    env = {**os.environ, "PYTHONPATH": str(REPO), "OMP_NUM_THREADS": "1"}
    first = subprocess.Popen(_prepare_cmd(cap, tmp_path / "out", 1), env=env, stdout=subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL)
    lock = tmp_path / ".out.lock"
    for _ in range(400):
        if lock.exists():
            break
        time.sleep(0.05)
    second = subprocess.run(_prepare_cmd(cap, tmp_path / "out", 1), env=env, capture_output=True, text=True)
    assert first.wait() == 0
    assert second.returncode == 2 and f"pid {first.pid}" in second.stderr
    assert len(second.stderr.strip().splitlines()) == 1


def test_stale_lock_is_taken_over(world, tmp_path):
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    (tmp_path / ".out.lock").write_text(f"{dead.pid} facebench prepare\n")
    r = invoke("prepare", "--studio", world / "cap", "--out", tmp_path / "out", "--resolutions", "128",
               "--workers", "1", "--no-progress")
    assert r.exit_code == 0 and not (tmp_path / ".out.lock").exists()


# ---- 5. one line ---------------------------------------------------------------------------------

def test_an_unexpected_exception_is_one_line(monkeypatch):
    import facebench.data.prepare as prep

    def boom(*a, **k):
        raise ZeroDivisionError("a bug\nsecond line")

    monkeypatch.setattr(prep, "prepare_default", boom)
    r = invoke("prepare")
    assert r.exit_code == 2 and r.stderr.strip().splitlines() == [
        "error: internal error (ZeroDivisionError: a bug); please report it (set FACEBENCH_TRACEBACK=1 to see where)"]
