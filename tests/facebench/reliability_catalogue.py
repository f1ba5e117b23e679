"""The bad-input catalogue of docs/reliability.md, as data: every case is a command line run on
tiny data through click's CliRunner, with what its one line of error output must name.

``test_reliability_catalogue.py`` runs every case and checks: the exit code (non-zero, or zero for
inputs that are legitimately fine), exactly one line on stderr starting ``error:`` (no traceback,
no "internal error"), the named file or option in it, and nothing written or changed anywhere
(the case's own folder and the shared tiny data alike).

``python -m tests.facebench.reliability_catalogue`` runs the catalogue and rewrites
docs/reliability.md's table from the messages it got, so the document's list and count are
the tested ones.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import struct
import subprocess
import sys
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np

from tests.conftest import face_points, make_300w, make_studio_capture, render_face

# ---- the shared tiny data ------------------------------------------------------------------------


@dataclass
class World:
    root: Path
    cap: Path        # studio capture: 2 subjects x 1 expression x 2 cameras, 256 px
    data: Path       # cap prepared at 128 (+256)
    runs: Path       # runs/adc-128: one smoke epoch
    run: Path
    w300: Path       # 300-W layout, one image per folder
    photo: Path      # a photo of a face for predict
    preds: Path      # predictions (the ground truth) laid out for `facebench score`


def build_world(root: Path) -> World:
    """Make the tiny data every case reads (about 10 s: one smoke training run)."""
    import cv2
    import torch
    from click.testing import CliRunner

    from facebench.cli import cli
    from facebench.core.prepared import PreparedDataset
    from facebench.core.pts import write_pts

    root.mkdir(parents=True, exist_ok=True)
    cap = make_studio_capture(root / "cap", subjects=2, expressions=1, cameras=2, size=256)
    data = root / "data"
    runner = CliRunner()
    r = runner.invoke(cli, ["prepare", "--studio", str(cap), "--out", str(data), "--resolutions", "128",
                            "--workers", "1", "--no-progress"])
    assert r.exit_code == 0, r.output
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    r = runner.invoke(cli, ["run", "-m", "adc", "-r", "128", "--data", str(data), "--preset", "smoke",
                            "--out", str(root / "runs"), "--device", "cpu"])
    torch.set_num_threads(threads)
    assert r.exit_code == 0, r.output
    w300 = make_300w(root / "w300", per_folder=1)
    rng = np.random.default_rng(3)
    pts = face_points(rng, 320, 288)
    photo = root / "photos" / "photo.png"
    photo.parent.mkdir()
    cv2.imwrite(str(photo), render_face(rng, 320, 288, pts))
    preds = root / "preds"
    ds = PreparedDataset(data)
    for _, row in ds.split("test").iterrows():
        target = preds / f"{row['rel_path']}.pts"
        target.parent.mkdir(parents=True, exist_ok=True)
        write_pts(target, np.asarray(row["landmarks"]).reshape(-1, 2))
    assert (preds / "s00" / "e0" / "cam0.pts").is_file()   # SCORE_PTS is a test sample
    return World(root, cap, data, root / "runs", root / "runs" / "adc-128", w300, photo, preds)


# ---- helpers for the cases -----------------------------------------------------------------------

PTS0 = "s00/e0/cam0.pts"          # a studio landmark file
IMG0 = "s00/e0/cam0.png"
W300_PTS = "afw/afw_0.pts"
W300_IMG = "afw/afw_0.jpg"


def copy(src: Path, tmp: Path, name: str | None = None) -> Path:
    dst = tmp / (name or src.name)
    shutil.copytree(src, dst, symlinks=True)
    return dst


def pts_text(n: int = 89, first: str | None = None, header: str | None = None) -> str:
    body = [f"{10 + i % 50}.5 {20 + i // 2}.25" for i in range(n)]
    if first is not None:
        body[0] = first
    head = header if header is not None else f"n_points: {n}"
    return "version: 1\n// facebench: 0-based, pixel centres at integer coordinates\n" + head + "\n{\n" \
        + "\n".join(body) + "\n}\n"


def png_header_only(width: int, height: int) -> bytes:
    """A PNG whose header declares width x height (one tiny IDAT, then IEND): nothing to decode."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\0" * 16)) + chunk(b"IEND", b"")


def _write(path: Path, content: str | bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.is_dir():
        shutil.rmtree(path)
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content)


# Landmark files that are not landmark files: name -> (content for a studio 89-point file, for a
# 68-point 300-W / score file). Each is a case for prepare --studio, prepare --300w and score.
PTS_DAMAGE: dict[str, tuple[str, Callable[[int], str | bytes]]] = {
    "empty": ("an empty .pts file", lambda n: ""),
    "binary": ("a .pts file of binary garbage", lambda n: b"\xff\xfe\x00\x81garbage\x00"),
    "no-braces": ("no '{ ... }' block", lambda n: pts_text(n).replace("{", "").replace("}", "")),
    "reversed-braces": ("'}' before '{'", lambda n: pts_text(n).replace("{", "<").replace("}", "{").replace("<", "}")),
    "nan": ("a NaN coordinate", lambda n: pts_text(n, first="nan 3")),
    "inf": ("an infinite coordinate", lambda n: pts_text(n, first="inf 3")),
    "text": ("a non-numeric coordinate", lambda n: pts_text(n, first="abc 3")),
    "three-fields": ("a point with three numbers", lambda n: pts_text(n, first="1 2 3")),
    "one-field": ("a point with one number", lambda n: pts_text(n, first="5")),
    "count-header": ("n_points disagreeing with the points", lambda n: pts_text(n, header=f"n_points: {n + 1}")),
    "count-not-int": ("n_points not an integer", lambda n: pts_text(n, header="n_points: many")),
    "too-few": ("one point too few", lambda n: pts_text(n - 1)),
    "too-many": ("one point too many", lambda n: pts_text(n + 1)),
    "far-outside": ("a point a million px outside the image", lambda n: pts_text(n, first="1e6 3")),
    "huge": ("a 1e300 coordinate", lambda n: pts_text(n, first="1e300 3")),
    "huge-200": ("a 1e200 coordinate", lambda n: pts_text(n, first="-1e200 1e200")),
    "latin1": ("a .pts file that is not UTF-8", lambda n: pts_text(n).replace("version: 1", "version: 1 \xe9").encode("latin-1")),
}


def _png_bytes(path: Path) -> bytes:
    return path.read_bytes()


IMAGE_DAMAGE: dict[str, tuple[str, Callable[[bytes], bytes]]] = {
    "text": ("an image file holding text", lambda b: b"hello, not an image\n"),
    "zero-bytes": ("an empty image file", lambda b: b""),
    "truncated": ("an image cut in half (truncated)", lambda b: b[: len(b) // 2]),
    "header-only": ("only the first 40 bytes of the image", lambda b: b[:40]),
    "bomb": ("a PNG header declaring 20000 x 20000 px (400 MP)", lambda b: png_header_only(20000, 20000)),
    "wide-bomb": ("a PNG header declaring 1000000 x 300 px", lambda b: png_header_only(1_000_000, 300)),
}


# ---- the catalogue -------------------------------------------------------------------------------

Argv = Callable[[World, Path], list]


@dataclass(frozen=True)
class Case:
    id: str
    area: str                     # the command
    what: str                     # the input, in words
    argv: Argv                    # builds the case's files under its folder; returns the arguments
    names: str | None = None      # text the one error line must contain (a file or option)
    ok: bool = False              # legitimately fine: exit 0
    check: Callable | None = None  # ok cases: (world, tmp) -> None, asserts what must hold afterwards


CASES: list[Case] = []


def case(area: str, id: str, what: str, argv: Argv, names: str | None = None, ok: bool = False,
         check: Callable | None = None) -> None:
    CASES.append(Case(f"{area}-{id}", area, what, argv, names, ok, check))


def _run(w: World, tmp: Path, *extra: str, out: Path | None = None) -> list:
    return ["run", "-m", "adc", "-r", "128", "--data", str(w.data), "--preset", "smoke", "--device", "cpu",
            "--out", str(out or tmp / "runs"), *extra]


def _prep(tmp: Path, *inputs: str, out: Path | None = None, res: str = "128") -> list:
    return ["prepare", "--out", str(out or tmp / "out"), "--resolutions", res, "--workers", "1", "--no-progress",
            *inputs]


def _score(w: World, pred: Path, *extra: str) -> list:
    return ["score", "--data", str(w.data), "--pred", str(pred), *extra]


def _predict(w: World, *extra: str, image: Path | None = None) -> list:
    return ["predict", str(image or w.photo), "--run", str(w.run), "--device", "cpu", *extra]


def _damaged_run(w: World, tmp: Path, name: str, content: str | bytes | None) -> Path:
    run = copy(w.run, tmp, "run")
    if content is None:
        (run / name).unlink()
    else:
        _write(run / name, content)
    return run


def _config_with(w: World, tmp: Path, **changes) -> Path:
    run = copy(w.run, tmp, "run")
    cfg = json.loads((run / "config.json").read_text())
    for k, v in changes.items():
        if v is None:
            cfg.pop(k, None)
        else:
            cfg[k] = v
    (run / "config.json").write_text(json.dumps(cfg))
    return run


# -- global ---------------------------------------------------------------------------------------
case("cli", "unknown-command", "an unknown command", lambda w, t: ["frobnicate"], "frobnicate")
case("cli", "unknown-option", "an unknown option", lambda w, t: ["prepare", "--frobnicate"], "--frobnicate")
case("cli", "bench-unknown", "an unknown bench command", lambda w, t: ["bench", "nope"], "nope")

# -- run: options ----------------------------------------------------------------------------------
for _id, _args, _name in [
    ("no-method", ["run", "-r", "128"], "--method"),
    ("no-res", ["run", "-m", "adc"], "--res"),
]:
    case("run", _id, f"missing {_name}", lambda w, t, a=_args: a, _name)
for _v, _what in [("abc", "not a number"), ("1.5", "not an integer"), ("0", "zero"), ("-256", "negative"),
                  ("40960", "above the resolution limit"), ("1000000", "a million px"), ("512", "not prepared")]:
    case("run", f"res-{_v}", f"--res {_v} ({_what})",
         lambda w, t, v=_v: ["run", "-m", "adc", "-r", v, "--data", str(w.data), "--preset", "smoke",
                             "--out", str(t / "runs")], "--res" if _v not in ("512",) else "512")
for _v in ["nope", "", "ADC", "adc;rm"]:
    case("run", f"method-{_v or 'empty'}", f"--method {_v!r} (unknown)",
         lambda w, t, v=_v: ["run", "-m", v, "-r", "128", "--data", str(w.data), "--out", str(t / "runs")],
         "unknown method")
for _v in ["0", "-3", "x", "1.5"]:
    case("run", f"epochs-{_v}", f"--epochs {_v}", lambda w, t, v=_v: _run(w, t, "--epochs", v), "--epochs")
for _opt, _v in [("--preset", "huge"), ("--norm", "pupils"), ("--threads", "0"), ("--threads", "-2"),
                 ("--seed", "x"), ("--workers", "-1"), ("--workers", "x"), ("--device", "bogus"),
                 ("--device", "cuda:x"), ("--option", "noequals"), ("--option", "=5")]:
    case("run", f"{_opt[2:]}-{_v}", f"{_opt} {_v}", lambda w, t, o=_opt, v=_v: _run(w, t, o, v),
         _opt if _opt not in ("--device",) else "device")
for _name, _what in [("..", "the parent folder"), (".", "the runs folder itself"), ("../../x", "a path upwards"),
                     ("/abs", "an absolute path"), ("a/b", "two components"), (".hidden", "a hidden name"),
                     ("", "empty"), (" x", "leading space"), ("a\\b", "a backslash"), ("x\ny", "a newline")]:
    for _force in (False, True):
        case("run", f"name-{_name.encode().hex()}{'-force' if _force else ''}",
             f"--name {_name!r} ({_what}){' with --force' if _force else ''}",
             lambda w, t, n=_name, f=_force: _run(w, t, "--name", n, *(["--force"] if f else []), out=w.runs),
             "--name")
case("run", "force-user-folder", "--force on a folder that is not a run folder (the user's files)",
     lambda w, t: (_write(t / "runs" / "mine" / "thesis.tex", "year of work"),
                   _run(w, t, "--name", "mine", "--force"))[1], "not a facebench run folder")
case("run", "name-user-folder", "--name of an existing folder of the user's files (no --force)",
     lambda w, t: (_write(t / "runs" / "mine" / "thesis.tex", "year of work"),
                   _run(w, t, "--name", "mine"))[1], "not a facebench run folder")
case("run", "run-dir-is-file", "the run folder path is a file",
     lambda w, t: (_write(t / "runs" / "adc-128", "a file"), _run(w, t))[1], "adc-128")
for _id, _what, _make in [
    ("data-missing", "--data folder missing", lambda w, t: t / "nothere"),
    ("data-file", "--data is a file", lambda w, t: (_write(t / "f", "x"), t / "f")[1]),
    ("data-empty", "--data an empty folder", lambda w, t: (t / "empty").mkdir() or t / "empty"),
    ("data-capture", "--data a capture, not a prepared dataset", lambda w, t: w.cap),
    ("data-no-json", "--data without dataset.json", lambda w, t: (os.remove(copy(w.data, t) / "dataset.json"), t / "data")[1]),
    ("data-bad-json", "--data with a garbage dataset.json", lambda w, t: (_write(copy(w.data, t) / "dataset.json", "{garbage"), t / "data")[1]),
    ("data-bad-manifest", "--data with a garbage manifest.parquet", lambda w, t: (_write(copy(w.data, t) / "manifest.parquet", b"PAR1junk"), t / "data")[1]),
    ("data-unfinished", "--data an unfinished prepare (no manifest)", lambda w, t: (os.remove(copy(w.data, t) / "manifest.parquet"), t / "data")[1]),
]:
    case("run", _id, _what, lambda w, t, m=_make: ["run", "-m", "adc", "-r", "128", "--data", str(m(w, t)),
                                                   "--preset", "smoke", "--out", str(t / "runs")],
         "data" if _id != "data-capture" else "cap")
case("run", "checkpoint-missing", "--checkpoint names no file", lambda w, t: _run(w, t, "--checkpoint", str(t / "no.pt")), "no.pt")
case("run", "checkpoint-garbage", "--checkpoint a garbage model file",
     lambda w, t: (_write(t / "bad.pt", b"garbage"), _run(w, t, "--checkpoint", str(t / "bad.pt")))[1], "bad.pt")
case("run", "init-missing", "--init names no file", lambda w, t: _run(w, t, "--init", str(t / "no.pt")), "--init")
case("run", "init-garbage", "--init a garbage model file",
     lambda w, t: (_write(t / "bad.pt", b"garbage"), _run(w, t, "--init", str(t / "bad.pt")))[1], "bad.pt")


def _finished_copy(w: World, tmp: Path, **changes) -> list:
    runs = tmp / "runs"
    runs.mkdir()
    copy(w.run, runs)
    return runs


case("run", "reuse-other-seed", "a finished run of that name, asked for with another --seed",
     lambda w, t: _run(w, t, "--seed", "3", out=_finished_copy(w, t)), "seed 0 -> 3")
case("run", "reuse-other-preset", "a finished run of that name, asked for with another --preset",
     lambda w, t: ["run", "-m", "adc", "-r", "128", "--data", str(w.data), "--preset", "cpu",
                   "--out", str(_finished_copy(w, t))], "preset")
case("run", "reuse-other-options", "a finished run of that name, asked for with another --option",
     lambda w, t: _run(w, t, "-o", "augment=colour", out=_finished_copy(w, t)), "options")
case("run", "reuse-other-norm", "a finished run of that name, asked for with another --norm",
     lambda w, t: _run(w, t, "--norm", "bbox", out=_finished_copy(w, t)), "norm")
case("run", "reuse-same", "a finished run asked for again with the same settings (reused)",
     lambda w, t: _run(w, t, out=_finished_copy(w, t)), ok=True)
case("run", "reuse-garbage-metrics", "a run folder whose metrics.json is garbage",
     lambda w, t: (_write(_finished_copy(w, t) / "adc-128" / "metrics.json", "{oops"), _run(w, t))[1], "metrics.json")
case("run", "reuse-garbage-config", "a finished run folder whose config.json is garbage",
     lambda w, t: (_write(_finished_copy(w, t) / "adc-128" / "config.json", "[1, 2"), _run(w, t))[1], "config.json")
case("run", "reuse-list-metrics", "a run folder whose metrics.json is a list",
     lambda w, t: (_write(_finished_copy(w, t) / "adc-128" / "metrics.json", "[1]"), _run(w, t))[1], "metrics.json")


def _other_data_runs(w: World, tmp: Path) -> tuple[Path, Path]:
    """A copy of the data re-prepared with another seed (other split) and a copy of the run on it."""
    from click.testing import CliRunner

    from facebench.cli import cli

    data = copy(w.data, tmp, "data")
    r = CliRunner().invoke(cli, _prep(tmp, "--studio", str(w.cap), "--seed", "1", "--force", out=data))
    assert r.exit_code == 0, r.output
    runs = tmp / "runs"
    runs.mkdir()
    run = copy(w.run, runs)
    cfg = json.loads((run / "config.json").read_text())
    cfg["data"] = str(data.resolve())
    (run / "config.json").write_text(json.dumps(cfg))
    return data, runs


case("run", "reuse-reprepared", "a finished run whose dataset was prepared again with another --seed",
     lambda w, t: (lambda d, r: ["run", "-m", "adc", "-r", "128", "--data", str(d), "--preset", "smoke",
                                 "--out", str(r)])(*_other_data_runs(w, t)), "the dataset")
case("run", "init-auto-reprepared", "--init auto would start from a run trained before the data was re-split",
     lambda w, t: (lambda d, r: ["run", "-m", "adc", "-r", "256", "--data", str(d), "--preset", "smoke",
                                 "--out", str(r)])(*_other_data_runs(w, t)), "--init auto")
case("run", "resume-reprepared", "--resume of a run whose dataset was prepared again",
     lambda w, t: (lambda d, r: (os.remove(r / "adc-128" / "metrics.json"),
                                 ["run", "-m", "adc", "-r", "128", "--data", str(d), "--preset", "smoke",
                                  "--out", str(r), "--resume"])[1])(*_other_data_runs(w, t)), "resume")
case("run", "resume-other-seed", "--resume with another --seed",
     lambda w, t: (os.remove(_finished_copy(w, t) / "adc-128" / "metrics.json"),
                   _run(w, t, "--resume", "--seed", "9"))[1], "seed 0 -> 9")

# -- evaluate --------------------------------------------------------------------------------------
case("evaluate", "missing", "a run folder that does not exist", lambda w, t: ["evaluate", str(t / "none"), "-r", "128"], "none")
case("evaluate", "not-run", "a folder without config.json", lambda w, t: ["evaluate", str(w.cap), "-r", "128"], "config.json")
case("evaluate", "no-res", "no --res", lambda w, t: ["evaluate", str(w.run)], "--res")
for _v in ["abc", "0", "-1", "40960"]:
    case("evaluate", f"res-{_v}", f"--res {_v}", lambda w, t, v=_v: ["evaluate", str(copy(w.run, t)), "-r", v], "--res")
case("evaluate", "res-unprepared", "--res not prepared", lambda w, t: ["evaluate", str(copy(w.run, t)), "-r", "512"], "512")
for _file, _content, _what in [("config.json", "{garbage", "garbage config.json"), ("config.json", "[]", "config.json a list"),
                               ("config.json", "", "empty config.json"), ("metrics.json", "{garbage", "garbage metrics.json"),
                               ("metrics.json", '"ok"', "metrics.json a string"),
                               ("metrics.json", None, "no metrics.json (unfinished)"),
                               ("metrics.json", '{"status": "failed"}', "a failed run"),
                               ("model.pt", b"garbage", "a garbage model file"), ("model.pt", None, "no model file"),
                               ("model.pt", b"", "an empty model file")]:
    case("evaluate", f"{_file.split('.')[0]}-{(_what.split()[0] + _what.split()[-1]).lower()}", _what,
         lambda w, t, f=_file, c=_content: ["evaluate", str(_damaged_run(w, t, f, c)), "-r", "128"],
         _file if "failed" not in _what and "unfinished" not in _what else "run")
for _key, _val, _what, _names in [("method", "nope", "config.json names an unknown method", "unknown method"),
                                  ("data", "/nonexistent/data", "config.json names a dataset that is gone", "nonexistent"),
                                  ("data", None, "config.json names no dataset", "data"),
                                  ("data", 5, "config.json's data is a number", "data")]:
    case("evaluate", f"config-{_key}-{str(_val).strip('/').split('/')[-1]}", _what,
         lambda w, t, k=_key, v=_val: ["evaluate", str(_config_with(w, t, **{k: v})), "-r", "128"], _names)
case("evaluate", "reprepared", "a run whose dataset was prepared again with another --seed",
     lambda w, t: ["evaluate", str(_other_data_runs(w, t)[1] / "adc-128"), "-r", "128"], "prepared again")

# -- prepare: options ------------------------------------------------------------------------------
case("prepare", "studio-missing", "--studio folder missing", lambda w, t: _prep(t, "--studio", str(t / "nothere")), "nothere")
case("prepare", "studio-file", "--studio is a file", lambda w, t: (_write(t / "f.txt", "x"), _prep(t, "--studio", str(t / "f.txt")))[1], "f.txt")
case("prepare", "studio-empty", "--studio an empty folder", lambda w, t: ((t / "e").mkdir(), _prep(t, "--studio", str(t / "e")))[1], "e")
case("prepare", "300w-missing", "--300w folder missing", lambda w, t: _prep(t, "--300w", str(t / "nothere")), "nothere")
case("prepare", "300w-empty", "--300w folder without its sub-folders", lambda w, t: _prep(t, "--300w", str(w.cap)), "300-W")
case("prepare", "300vw-missing", "--300vw folder missing", lambda w, t: _prep(t, "--300vw", str(t / "nothere")), "nothere")
case("prepare", "300vw-capture", "--300vw given a studio capture", lambda w, t: _prep(t, "--300vw", str(w.cap)), "cap")
for _v, _what in [("", "empty"), ("a,b", "not numbers"), ("0", "zero"), ("-256", "negative"), ("256,40960", "above the limit"),
                  ("9000", "just above the limit"), ("1e3", "not an integer"), (",,", "only commas")]:
    case("prepare", f"resolutions-{_v or 'empty'}", f"--resolutions {_v!r} ({_what})",
         lambda w, t, v=_v: ["prepare", "--studio", str(w.cap), "--out", str(t / "out"), "--resolutions", v], "--resolutions")
for _opt, _v in [("--test-fraction", "1.5"), ("--test-fraction", "-0.1"), ("--test-fraction", "nan"), ("--test-fraction", "x"),
                 ("--margin", "-1"), ("--margin", "1000"), ("--margin", "nan"), ("--margin", "inf"), ("--margin", "2.5"),
                 ("--vw-stride", "0"), ("--vw-stride", "-1"), ("--upsample", "maybe"), ("--scheme", "dlib5"),
                 ("--workers", "x"), ("--seed", "1.5")]:
    case("prepare", f"{_opt[2:]}-{_v}", f"{_opt} {_v}", lambda w, t, o=_opt, v=_v: _prep(t, "--studio", str(w.cap), o, v), _opt)
case("prepare", "out-file", "--out is a file", lambda w, t: (_write(t / "out", "x"), _prep(t, "--studio", str(w.cap)))[1], "out")
case("prepare", "out-user-folder", "--out holds the user's own files",
     lambda w, t: (_write(t / "out" / "notes.txt", "mine"), _prep(t, "--studio", str(w.cap)))[1], "notes.txt")
case("prepare", "reprepare-seed", "into a finished dataset with another --seed",
     lambda w, t: _prep(t, "--studio", str(w.cap), "--seed", "5", out=w.data), "seed 0 -> 5")
case("prepare", "reprepare-margin", "into a finished dataset with another --margin",
     lambda w, t: _prep(t, "--studio", str(w.cap), "--margin", "0.3", out=w.data), "margin 0.25 -> 0.3")
case("prepare", "reprepare-fraction", "into a finished dataset with another --test-fraction",
     lambda w, t: _prep(t, "--studio", str(w.cap), "--test-fraction", "0.4", out=w.data), "test_fraction")
case("prepare", "reprepare-resolutions", "into a finished dataset with other --resolutions",
     lambda w, t: _prep(t, "--studio", str(w.cap), out=w.data, res="128,512"), "resolutions")
case("prepare", "reprepare-inputs", "into a finished dataset from other inputs",
     lambda w, t: _prep(t, "--300w", str(w.w300), out=w.data), "input files")
case("prepare", "reprepare-same", "the same prepare again (nothing to do)",
     lambda w, t: _prep(t, "--studio", str(w.cap), out=w.data), ok=True)


def _check_replaced(w: World, tmp: Path) -> None:
    info = json.loads((tmp / "data" / "dataset.json").read_text())
    assert info["options"]["seed"] == 5 and not list(tmp.glob(".data.*"))


case("prepare", "reprepare-force", "into a finished dataset with another --seed and --force (replaced)",
     lambda w, t: _prep(t, "--studio", str(w.cap), "--seed", "5", "--force", out=copy(w.data, t)), ok=True,
     check=_check_replaced)


def _damaged_capture_over_good(w: World, tmp: Path) -> list:
    data = copy(w.data, tmp)
    cap = copy(w.cap, tmp)
    b = (cap / IMG0).read_bytes()
    mid = len(b) // 2
    (cap / IMG0).write_bytes(b[:mid] + bytes(4000) + b[mid + 4000:])   # damaged past the header, IEND kept
    return _prep(tmp, "--studio", str(cap), "--force", out=data)


case("prepare", "reprepare-damaged", "--force over a good dataset from a capture with an image damaged mid-file",
     _damaged_capture_over_good, "cam0.png")


def _live_lock(w: World, tmp: Path) -> list:
    _write(tmp / ".out.lock", "1 facebench prepare\n")   # pid 1 is always alive
    return _prep(tmp, "--studio", str(w.cap))


def _stale_lock(w: World, tmp: Path) -> list:
    p = subprocess.Popen([sys.executable, "-c", "pass"])
    p.wait()
    _write(tmp / ".out.lock", f"{p.pid} facebench prepare\n")   # that process is gone
    return _prep(tmp, "--studio", str(w.cap))


case("prepare", "locked", "--out is being written by another prepare (a live lock)", _live_lock, "pid 1")
case("prepare", "stale-lock", "a lock left by a prepare that was killed (taken over)", _stale_lock, ok=True,
     check=lambda w, t: None if (t / "out" / "manifest.parquet").is_file() and not (t / ".out.lock").exists() else 1 / 0)

# -- prepare: damaged studio captures --------------------------------------------------------------
for _key, (_what, _content) in PTS_DAMAGE.items():
    case("prepare", f"studio-pts-{_key}", f"studio landmark file: {_what}",
         lambda w, t, c=_content: (_write(copy(w.cap, t) / PTS0, c(89)), _prep(t, "--studio", str(t / "cap")))[1],
         "cam0.pts")
    case("prepare", f"300w-pts-{_key}", f"300-W landmark file: {_what}",
         lambda w, t, c=_content: (_write(copy(w.w300, t) / W300_PTS, c(68)), _prep(t, "--300w", str(t / "w300")))[1],
         "afw_0.pts")
for _key, (_what, _damage) in IMAGE_DAMAGE.items():
    case("prepare", f"studio-image-{_key}", f"studio image: {_what}",
         lambda w, t, d=_damage: (lambda c: (_write(c / IMG0, d((c / IMG0).read_bytes())),
                                             _prep(t, "--studio", str(c)))[1])(copy(w.cap, t)), "cam0.png")
    case("prepare", f"300w-image-{_key}", f"300-W image: {_what}",
         lambda w, t, d=_damage: (lambda c: (_write(c / W300_IMG, d((c / W300_IMG).read_bytes())),
                                             _prep(t, "--300w", str(c)))[1])(copy(w.w300, t)), "afw_0.jpg")


def _cap_edit(edit: Callable[[Path], None]) -> Argv:
    def argv(w: World, tmp: Path) -> list:
        cap = copy(w.cap, tmp)
        edit(cap)
        return _prep(tmp, "--studio", str(cap))
    return argv


for _id, _what, _edit, _names in [
    ("capture-json-garbage", "capture.json is not JSON", lambda c: _write(c / "capture.json", "{scheme"), "capture.json"),
    ("capture-json-list", "capture.json is a list", lambda c: _write(c / "capture.json", "[]"), "capture.json"),
    ("capture-json-scheme", "capture.json names an unknown scheme", lambda c: _write(c / "capture.json", '{"scheme": "dlib5"}'), "capture.json"),
    ("capture-json-base", "capture.json pts_base 2", lambda c: _write(c / "capture.json", '{"pts_base": 2}'), "capture.json"),
    ("mixed-schemes", "one 68-point file in an 89-point capture", lambda c: _write(c / PTS0, pts_text(68)), "cam0.pts"),
    ("stray-pts", "a .pts outside the <subject>/<expression>/<camera> layout", lambda c: _write(c / "s00" / "x.pts", pts_text(89)), "x.pts"),
    ("deep-pts", "a .pts one folder too deep", lambda c: _write(c / "s00" / "e0" / "d" / "cam9.pts", pts_text(89)), "cam9.pts"),
    ("pts-no-image", "a .pts without its image", lambda c: os.remove(c / IMG0), "cam0.pts"),
    ("two-images", "two images for one .pts", lambda c: shutil.copy(c / IMG0, c / "s00/e0/cam0.jpg"), "cam0.pts"),
    ("pts-is-folder", "a folder named like a landmark file", lambda c: (os.remove(c / PTS0), (c / PTS0).mkdir()), "cam0.pts"),
    ("symlink-subject", "a subject folder that is a link to another (ln -s s00 s99)", lambda c: os.symlink(c / "s00", c / "s99"), "s99"),
    ("nfd-subject", "one subject name in NFC and NFD Unicode", lambda c: (shutil.copytree(c / "s00", c / "Jos\u00e9"), shutil.copytree(c / "s01", c / "Jose\u0301")), "Jos"),
    ("tiny-image", "an image of 4 x 4 px (its landmarks lie outside)", lambda c: _write(c / IMG0, png_header_only(4, 4)), "cam0.pts"),
]:
    case("prepare", _id, _what, _cap_edit(_edit), _names)


def _as_prediction(path: Path) -> None:
    from facebench.core.pts import PREDICTION_TAG

    path.write_text(path.read_text().replace("n_points", f"// {PREDICTION_TAG}\nn_points", 1))


case("prepare", "studio-prediction", "a studio landmark file written by `facebench predict`",
     _cap_edit(lambda c: _as_prediction(c / PTS0)), "cam0.pts")
case("prepare", "300w-prediction", "a 300-W landmark file written by `facebench predict`",
     lambda w, t: (_as_prediction(copy(w.w300, t) / W300_PTS), _prep(t, "--300w", str(t / "w300")))[1], "afw_0.pts")
case("prepare", "out-dot", "--out . in a folder of the user's files",
     lambda w, t: (_write(t / "notes.txt", "mine"), _prep(t, "--studio", str(w.cap), out=Path(".")))[1], "notes.txt")
case("prepare", "out-link-same", "the same prepare again through a link to the dataset (fine)",
     lambda w, t: (os.symlink(copy(w.data, t), t / "link"), _prep(t, "--studio", str(w.cap), out=t / "link"))[1], ok=True,
     check=lambda w, t: None if (t / "link").is_symlink() and (t / "data" / "manifest.parquet").is_file() else 1 / 0)


def _two_captures(w: World, tmp: Path) -> list:
    return _prep(tmp, "--studio", str(w.cap), "--studio", str(copy(w.cap, tmp, "cap2")))


case("prepare", "duplicate-ids", "the same capture given twice (duplicate sample ids)", _two_captures, "duplicate sample id")
case("prepare", "mixed-inputs", "a studio89 capture and 300-W (ibug68) without --scheme",
     lambda w, t: _prep(t, "--studio", str(w.cap), "--300w", str(w.w300)), "--scheme")
case("prepare", "mixed-inputs-ibug68", "a studio89 capture and 300-W with --scheme ibug68 (fine)",
     lambda w, t: _prep(t, "--studio", str(w.cap), "--300w", str(w.w300), "--scheme", "ibug68"), ok=True)
case("prepare", "non-ascii-subjects", "two non-ASCII subject names (distinct ids, fine)",
     _cap_edit(lambda c: (os.rename(c / "s00", c / "J\u00fcrgen"), os.rename(c / "s01", c / "J\u00f6rgen"))), ok=True,
     check=lambda w, t: None if len(set(__import__("pandas").read_parquet(t / "out" / "manifest.parquet")["id"])) == 4 else 1 / 0)
case("prepare", "300w-loose-image", "a 300-W image without its .pts (fine, noted)",
     lambda w, t: (shutil.copy(copy(w.w300, t) / W300_IMG, t / "w300" / "afw" / "extra.jpg"),
                   _prep(t, "--300w", str(t / "w300")))[1], ok=True)

# -- score -----------------------------------------------------------------------------------------
SCORE_PTS = "s00/e0/cam0.pts"   # a test-split sample of the tiny data (checked in build_world)


def _pred_copy(w: World, tmp: Path) -> Path:
    return copy(w.preds, tmp)


case("score", "pred-missing", "--pred folder missing", lambda w, t: _score(w, t / "none"), "none")
case("score", "pred-file", "--pred is a file", lambda w, t: (_write(t / "p", "x"), _score(w, t / "p"))[1], "p")
case("score", "pred-empty", "--pred folder with no prediction files", lambda w, t: ((t / "p").mkdir(), _score(w, t / "p"))[1], "missing")
case("score", "pred-one-missing", "one prediction file missing",
     lambda w, t: (os.remove(_pred_copy(w, t) / SCORE_PTS), _score(w, t / "preds"))[1], "cam0.pts")
case("score", "no-pred", "no --pred", lambda w, t: ["score", "--data", str(w.data)], "--pred")
case("score", "data-missing", "--data missing", lambda w, t: ["score", "--data", str(t / "nd"), "--pred", str(w.preds)], "nd")
for _key, (_what, _content) in PTS_DAMAGE.items():
    if _key in ("too-few", "too-many"):
        def _content(n, k=_key):
            return pts_text(88 if k == "too-few" else 90)
    case("score", f"pts-{_key}", f"prediction file: {_what}",
         lambda w, t, c=_content: (_write(_pred_copy(w, t) / SCORE_PTS, c(89)), _score(w, t / "preds"))[1], "cam0.pts")
for _opt, _v in [("--res", "0"), ("--res", "-5"), ("--res", "abc"), ("--res", "40960"), ("--split", "val"),
                 ("--norm", "pupils")]:
    case("score", f"{_opt[2:]}-{_v}", f"{_opt} {_v}", lambda w, t, o=_opt, v=_v: _score(w, w.preds, o, v), _opt)
case("score", "out-file", "--out is a file", lambda w, t: (_write(t / "o", "x"), _score(w, w.preds, "--out", str(t / "o")))[1], "o")
case("score", "out-user-folder", "--out holds the user's own files",
     lambda w, t: (_write(t / "o" / "mine.txt", "x"), _score(w, w.preds, "--out", str(t / "o")))[1], "o")
case("score", "out-trained-run", "--out is a trained run folder",
     lambda w, t: _score(w, w.preds, "--out", str(copy(w.run, t))), "adc")
case("score", "out-garbage-config", "--out is a score folder whose config.json is garbage",
     lambda w, t: (_write(t / "o" / "config.json", "{x"), _score(w, w.preds, "--out", str(t / "o")))[1], "config.json")


def _good_score_then_huge(w: World, tmp: Path) -> list:
    from click.testing import CliRunner

    from facebench.cli import cli

    r = CliRunner().invoke(cli, _score(w, w.preds, "--out", str(tmp / "scored")))
    assert r.exit_code == 0, r.output
    pred = _pred_copy(w, tmp)
    _write(pred / SCORE_PTS, pts_text(89, first="1e300 3"))
    return _score(w, pred, "--out", str(tmp / "scored"))


case("score", "out-over-good-huge", "--out over a good score folder, with a 1e300 coordinate", _good_score_then_huge, "cam0.pts")
case("score", "extra-file", "a prediction file matching no sample (fine, listed as a warning)",
     lambda w, t: (_write(_pred_copy(w, t) / "zz" / "e0" / "cam0.pts", pts_text(89)), _score(w, t / "preds"))[1], ok=True)

# -- report ----------------------------------------------------------------------------------------


def _runs_copy(w: World, tmp: Path) -> Path:
    runs = tmp / "runs"
    runs.mkdir()
    copy(w.run, runs)
    return runs


case("report", "runs-missing", "RUNS folder missing", lambda w, t: ["report", str(t / "none"), "--out", str(t / "r")], "none")
case("report", "runs-empty", "RUNS folder with no run folders", lambda w, t: ["report", str(w.cap), "--out", str(t / "r")], "cap")
case("report", "no-out", "no --out", lambda w, t: ["report", str(w.runs)], "--out")
for _file, _content, _what in [("config.json", "{garbage", "garbage config.json"), ("config.json", "[1]", "config.json a list"),
                               ("metrics.json", "{garbage", "garbage metrics.json"), ("metrics.json", "7", "metrics.json a number"),
                               ("predictions.parquet", b"PAR1\x00\x00truncated", "truncated predictions.parquet"),
                               ("predictions.parquet", b"", "empty predictions.parquet")]:
    _ok = _file == "predictions.parquet"   # the report is still made; a note names the damaged file
    case("report", f"{_file.split('.')[0]}-{(_what.split()[0] + _what.split()[-1]).lower()}",
         f"a run with {_what}" + (" (report made, a note names the file)" if _ok else ""),
         lambda w, t, f=_file, c=_content: (_write(_runs_copy(w, t) / "adc-128" / f, c),
                                            ["report", str(t / "runs"), "--out", str(t / "r")])[1],
         None if _ok else _file, ok=_ok)
case("report", "out-file", "--out is a file", lambda w, t: (_write(t / "r", "x"), ["report", str(w.runs), "--out", str(t / "r")])[1], "r")
case("report", "out-user-index", "--out holds the user's own index.html",
     lambda w, t: (_write(t / "r" / "index.html", "<p>mine</p>"), ["report", str(w.runs), "--out", str(t / "r")])[1], "index.html")
case("report", "out-user-table", "--out holds a user's file where the report writes a table",
     lambda w, t: (_write(t / "r" / "tables" / "runs.md", "mine"), ["report", str(w.runs), "--out", str(t / "r")])[1], "runs.md")
case("report", "out-user-files-kept", "--out/figures holds the user's own figure (kept, fine)",
     lambda w, t: (_write(t / "r" / "figures" / "mine.png", "mine"), ["report", str(w.runs), "--out", str(t / "r")])[1],
     ok=True, check=lambda w, t: None if (t / "r" / "figures" / "mine.png").read_text() == "mine" else 1 / 0)

# -- predict ---------------------------------------------------------------------------------------
case("predict", "image-missing", "an image that does not exist", lambda w, t: _predict(w, image=t / "no.png"), "no.png")
case("predict", "no-run", "no --run", lambda w, t: ["predict", str(w.photo)], "--run")
case("predict", "run-missing", "--run folder missing", lambda w, t: ["predict", str(w.photo), "--run", str(t / "r")], "r")
case("predict", "run-not-run", "--run a folder that is not a run", lambda w, t: ["predict", str(w.photo), "--run", str(w.cap)], "config.json")
case("predict", "run-garbage-config", "--run with a garbage config.json",
     lambda w, t: ["predict", str(w.photo), "--run", str(_damaged_run(w, t, "config.json", "{x")), "--box", "1,1,100,100"], "config.json")
case("predict", "run-garbage-model", "--run with a garbage model file",
     lambda w, t: ["predict", str(w.photo), "--run", str(_damaged_run(w, t, "model.pt", b"x")), "--box", "1,1,100,100"], "model.pt")
case("predict", "run-no-model", "--run without its model file",
     lambda w, t: ["predict", str(w.photo), "--run", str(_damaged_run(w, t, "model.pt", None)), "--box", "1,1,100,100"], "model.pt")
for _v, _what in [("1,2,3", "three numbers"), ("a,b,c,d", "not numbers"), ("10,10,5,50", "x2 < x1"), ("10,50,50,10", "y2 < y1"),
                  ("nan,1,2,3", "NaN"), ("-1e9,-1e9,1e9,1e9", "a billion px"), ("5000,5000,5100,5100", "outside the image"),
                  ("-900,-900,-800,-800", "outside, negative"), ("0,0,0,0", "empty"), ("", "empty text")]:
    case("predict", f"box-{_what.replace(' ', '-').replace(',', '')}", f"--box {_v!r} ({_what})",
         lambda w, t, v=_v: _predict(w, "--box", v, "--out", str(t / "o")), "--box" if "billion" not in _what else "limit")
for _key, (_what, _damage) in IMAGE_DAMAGE.items():
    case("predict", f"image-{_key}", f"image: {_what}",
         lambda w, t, d=_damage: (_write(t / "img.png", d(w.photo.read_bytes())),
                                  _predict(w, "--box", "60,60,260,260", image=t / "img.png"))[1], "img.png")
case("predict", "passes-0", "--passes 0", lambda w, t: _predict(w, "--passes", "0"), "--passes")
case("predict", "out-file", "--out names a file",
     lambda w, t: (_write(t / "o", "x"), _predict(w, "--box", "60,60,260,260", "--out", str(t / "o")))[1], "--out")
case("predict", "annotation-beside", "no --out, and the studio image's ground-truth .pts is beside it",
     lambda w, t: _predict(w, "--box", "60,60,200,200", image=copy(w.cap, t) / IMG0), "cam0.pts")
case("predict", "annotation-beside-untagged", "no --out, and a 1-based iBUG annotation is beside the image",
     lambda w, t: _predict(w, "--box", "60,60,200,200", image=copy(w.w300, t) / W300_IMG), "afw_0.pts")
case("predict", "same-stem", "two images with one stem into one folder",
     lambda w, t: (shutil.copy(w.photo, t / "photo.jpg"),
                   _predict(w, str(t / "photo.jpg"), "--box", "60,60,260,260", "--out", str(t / "o")))[1], "photo")
case("predict", "out-pts-is-folder", "--out holds a folder where the .pts goes",
     lambda w, t: ((t / "o" / "photo.pts").mkdir(parents=True), _predict(w, "--box", "60,60,260,260", "--out", str(t / "o")))[1], "photo.pts")
case("predict", "again-over-own", "predict twice into one --out (replaces its own output, fine)",
     lambda w, t: (__import__("click.testing").testing.CliRunner().invoke(
         __import__("facebench.cli").cli.cli, _predict(w, "--box", "60,60,260,260", "--passes", "1", "--out", str(t / "o"))),
         _predict(w, "--box", "60,60,260,260", "--passes", "1", "--out", str(t / "o")))[1], ok=True)

case("predict", "max-faces-0", "--max-faces 0", lambda w, t: _predict(w, "--max-faces", "0"), "--max-faces")
case("predict", "no-face", "an image without a face, and no --box",
     lambda w, t: (_write_blank(t / "blank.png"), _predict(w, image=t / "blank.png"))[1], "blank.png")
case("predict", "no-face-in-any", "two images, neither with a face",
     lambda w, t: (_write_blank(t / "a.png"), _write_blank(t / "b.png"), _predict(w, str(t / "b.png"), image=t / "a.png"))[2],
     "--box")


def _write_blank(path: Path) -> None:
    import cv2

    cv2.imwrite(str(path), np.full((200, 200, 3), 90, np.uint8))


# -- bench real-photos ------------------------------------------------------------------------------
case("bench", "real-photos-run-missing", "real-photos: --run folder missing",
     lambda w, t: ["bench", "real-photos", "--run", str(t / "r")], "r")
case("bench", "real-photos-sizes-0", "real-photos: --sizes 0",
     lambda w, t: ["bench", "real-photos", "--run", str(w.run), "--sizes", "0"], "--sizes")
case("bench", "real-photos-lfw-101", "real-photos: --lfw 101",
     lambda w, t: ["bench", "real-photos", "--run", str(w.run), "--lfw", "101"], "--lfw")

# -- synth -----------------------------------------------------------------------------------------


def _synth(tmp: Path, *extra: str, out: Path | None = None) -> list:
    return ["synth", str(out or tmp / "s"), "--subjects", "1", "--expressions", "1", "--cameras", "1", "--size", "64",
            "--quiet", *extra]


for _opt, _v in [("--size", "10"), ("--size", "x"), ("--subjects", "0"), ("--expressions", "30"), ("--expressions", "0"),
                 ("--cameras", "0"), ("--cameras", "65"), ("--seed", "-1"), ("--format", "gif"), ("--workers", "0"),
                 ("--annotator-noise", "-1"), ("--annotator-noise", "nan")]:
    case("synth", f"{_opt[2:]}-{_v}", f"{_opt} {_v}", lambda w, t, o=_opt, v=_v: _synth(t, o, v), _opt[2:].split("-")[0])
case("synth", "out-file", "OUT is a file", lambda w, t: (_write(t / "s", "x"), _synth(t))[1], "s")


def _synth_then(*extra: str) -> Argv:
    def argv(w: World, tmp: Path) -> list:
        from click.testing import CliRunner

        from facebench.cli import cli

        r = CliRunner().invoke(cli, _synth(tmp, "--subjects", "2"))
        assert r.exit_code == 0, r.output
        return _synth(tmp, *extra)
    return argv


case("synth", "other-seed", "into an existing capture with another --seed", _synth_then("--subjects", "2", "--seed", "4"), "seed 0 -> 4")
case("synth", "other-size", "into an existing capture with another --size", _synth_then("--subjects", "2", "--size", "96"), "size 64 -> 96")
case("synth", "other-format", "into an existing capture with another --format", _synth_then("--subjects", "2", "--format", "jpg"), "image_format")
case("synth", "other-cameras", "into an existing capture with another --cameras", _synth_then("--subjects", "2", "--cameras", "2"), "cameras")
case("synth", "other-noise", "into an existing capture with another --annotator-noise", _synth_then("--subjects", "2", "--annotator-noise", "1"), "annotator_noise")
case("synth", "fewer-subjects", "into an existing capture with fewer --subjects", _synth_then("--subjects", "1"), "subjects 2 -> 1")
case("synth", "same-again", "the same synth again (kept, fine)", _synth_then("--subjects", "2"), ok=True)
case("synth", "more-subjects", "the same capture with more --subjects (extended, fine)", _synth_then("--subjects", "3"), ok=True)
case("synth", "into-capture", "into a folder of annotations that has no capture.json",
     lambda w, t: (os.remove(copy(w.cap, t) / "capture.json"), _synth(t, out=t / "cap"))[1], "capture.json")

# -- bench / reproduce (option checks only: these commands measure for minutes) --------------------
for _cmd, _opt, _v in [("memory", "--res", "x"), ("memory", "--batch", "0"), ("memory", "--budget", "2"),
                       ("memory", "--preset", "huge"), ("speed", "--threads", "-1"), ("speed", "--budget", "0"),
                       ("speed", "--res", "0"), ("prepare", "--images", "0"), ("prepare", "--size", "10"),
                       ("prepare", "--repeats", "0"), ("synth", "--size", "10"), ("synth", "--format", "gif"),
                       ("synth", "--cameras", "99")]:
    _pre = ["-m", "adc", "--res", "256"] if _cmd == "memory" and _opt != "--res" else (["-m", "adc"] if _cmd == "memory" else [])
    case("bench", f"{_cmd}-{_opt[2:]}-{_v}", f"bench {_cmd} {_opt} {_v}", lambda w, t, c=_cmd, o=_opt, v=_v, p=_pre: ["bench", c, *p, o, v], _opt)
case("bench", "memory-method", "bench memory of an unknown method", lambda w, t: ["bench", "memory", "-m", "nope", "--res", "256"], "nope")
for _opt, _v in [("--preset", "huge"), ("--jobs", "0"), ("--threads", "0"), ("--workers", "x")]:
    case("reproduce", f"{_opt[2:]}-{_v}", f"reproduce {_opt} {_v}", lambda w, t, o=_opt, v=_v: ["reproduce", o, v, "--out", str(t / "r")], _opt)


# ---- running one case and the document -----------------------------------------------------------

_TQDM = re.compile(r"\d+%\||\d+it \[|it/s\]|s/it\]|\?it/s")


def stderr_lines(text: str) -> list[str]:
    """stderr's lines without progress-bar redraws."""
    return [ln for ln in re.split(r"[\r\n]+", text) if ln.strip() and not _TQDM.search(ln)]


def snapshot(*roots: Path) -> dict:
    """Every file and folder under ``roots`` -> (size, mtime_ns, kind)."""
    out = {}
    for root in roots:
        for dirpath, dirnames, filenames in os.walk(root):
            for name in dirnames + filenames:
                p = Path(dirpath) / name
                st = p.lstat()
                out[str(p)] = (st.st_size if name in filenames else 0, st.st_mtime_ns if name in filenames else 0,
                               "l" if p.is_symlink() else ("d" if name in dirnames else "f"))
    return out


@dataclass
class Outcome:
    exit_code: int
    lines: list[str]
    exception: BaseException | None


def run_case(c: Case, w: World, tmp: Path) -> Outcome:
    """Build the case's files in ``tmp`` (its own empty folder, also the working directory) and run it."""
    from click.testing import CliRunner

    from facebench.cli import cli

    cwd = os.getcwd()
    os.chdir(tmp)
    try:
        argv = [str(a) for a in c.argv(w, tmp)]
        before = snapshot(w.root, tmp)
        result = CliRunner().invoke(cli, argv, catch_exceptions=True)
        after = snapshot(w.root, tmp)
    finally:
        os.chdir(cwd)
    outcome = Outcome(result.exit_code, stderr_lines(result.stderr), result.exception)
    outcome.changed = sorted(set(before.items()) ^ set(after.items()))   # type: ignore[attr-defined]
    return outcome


def normalise(line: str, w: World, tmp: Path) -> str:
    """A message with the machine's paths and process ids replaced, for the document."""
    line = line.replace(str(tmp), "<case>").replace(str(w.root), "<data>")
    return re.sub(r"pid \d+", "pid N", line)


DOC = Path(__file__).resolve().parents[2] / "docs" / "reliability.md"
TABLE_START = "<!-- catalogue:start -->"
TABLE_END = "<!-- catalogue:end -->"


def table(rows: list[tuple[Case, str]]) -> str:
    lines = [f"{len(rows)} cases, every one handled cleanly ({sum(not c.ok for c, _ in rows)} refused with one "
             f"line and exit code 2, {sum(c.ok for c, _ in rows)} legitimately fine, exit code 0).", "",
             "| # | command | case | message (exit code) |", "|---|---|---|---|"]
    for i, (c, message) in enumerate(rows, 1):
        cell = message.replace("|", "\\|")
        lines.append(f"| {i} | {c.area} | {c.what.replace('|', chr(92) + '|')} | {cell} |")
    return "\n".join(lines)


def doc_rows() -> list[str]:
    """The case column of the document's table, in order."""
    text = DOC.read_text()
    body = text[text.index(TABLE_START):text.index(TABLE_END)]
    return [ln.split(" | ")[2] for ln in body.splitlines() if re.match(r"\| \d+ \|", ln)]


def write_doc(rows: list[tuple[Case, str]]) -> None:
    text = DOC.read_text()
    head, rest = text.split(TABLE_START)
    _, tail = rest.split(TABLE_END)
    DOC.write_text(f"{head}{TABLE_START}\n{table(rows)}\n{TABLE_END}{tail}")


def main() -> None:
    import tempfile

    with tempfile.TemporaryDirectory() as d:
        w = build_world(Path(d) / "world")
        rows = []
        for i, c in enumerate(CASES):
            tmp = Path(d) / f"case{i}"
            tmp.mkdir()
            o = run_case(c, w, tmp)
            msg = "ok (0)" if c.ok and o.exit_code == 0 else (normalise(o.lines[0], w, tmp) + f" ({o.exit_code})"
                                                              if o.lines else f"(no message) ({o.exit_code})")
            rows.append((c, msg))
        write_doc(rows)
        print(f"{len(rows)} cases written to {DOC}")


if __name__ == "__main__":
    main()
