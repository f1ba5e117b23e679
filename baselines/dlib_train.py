"""``dlib.train_shape_predictor`` in a forked child process, with a progress bar and Ctrl-C.

dlib's trainer is one long C++ call that holds the GIL, so inside the calling process neither a
progress bar nor Ctrl-C can run until it returns. The child inherits the training data through
``fork`` (no copy, no pickling), sends dlib's own progress line (``Progress: k/n``, written to
stderr) through a pipe, and writes the predictor to a temporary file that the parent loads.
Where ``fork`` does not exist (Windows) the training runs in-process without a bar.
"""

from __future__ import annotations

import multiprocessing
import os
import re
import sys
import tempfile
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from baselines.dlib_memory import check_fits

_PROGRESS = re.compile(rb"Progress: (\d+)/(\d+)")


def _objects(rects: Sequence[tuple[int, int, int, int]], points: np.ndarray) -> list[list[Any]]:
    """One ``dlib.full_object_detection`` per image from inclusive rectangles and (B, N, 2) int points."""
    import dlib

    return [[dlib.full_object_detection(dlib.rectangle(*map(int, r)), [dlib.point(int(x), int(y)) for x, y in p])]
            for r, p in zip(rects, points)]


def train_shape_predictor(images: list[np.ndarray], rects: Sequence[tuple[int, int, int, int]],
                          points: np.ndarray, options: Any, total_trees: int, progress: bool = True) -> Any:
    """Train a ``dlib.shape_predictor``.

    images: B arrays (S, S, 3) uint8 RGB; rects: B inclusive (left, top, right, bottom) face
    rectangles; points: (B, N, 2) integer landmarks; options: ``dlib.shape_predictor_training_options``
    (``be_verbose`` drives the bar); total_trees: cascade depth x trees per level (the bar's total).
    """
    import dlib

    check_fits(images)   # MemoryError (recorded as oom) before dlib holds a set too large for the machine
    if "fork" not in multiprocessing.get_all_start_methods():
        return dlib.train_shape_predictor(images, _objects(rects, points), options)
    from tqdm import tqdm

    with tempfile.TemporaryDirectory(prefix="facebench-dlib-") as tmp:
        out = Path(tmp) / "predictor.dat"
        read_end, write_end = os.pipe()
        proc = multiprocessing.get_context("fork").Process(
            target=_child, args=(images, rects, points, options, str(out), write_end), daemon=True)
        proc.start()
        os.close(write_end)
        tail = b""
        try:
            with tqdm(total=total_trees, desc="dlib-ert: fit", unit="tree", file=sys.stderr,
                      disable=not progress, leave=False) as bar:
                while chunk := os.read(read_end, 4096):
                    tail = (tail + chunk)[-4096:]
                    found = _PROGRESS.findall(tail)
                    if found:
                        bar.n = min(total_trees, int(found[-1][0]))
                        bar.refresh()
            proc.join()
        except BaseException:  # Ctrl-C or anything else: do not leave dlib running
            proc.terminate()
            proc.join()
            raise
        finally:
            os.close(read_end)
        if proc.exitcode != 0 or not out.is_file():
            text = tail.decode(errors="replace")
            at = text.rfind("\nERROR: ")
            reason = (" ".join(text[at + 8:].split())[:400] if at >= 0
                      else f"the training process exited with code {proc.exitcode}")
            raise RuntimeError(f"dlib.train_shape_predictor failed: {reason}")
        return dlib.shape_predictor(str(out))


def _child(images: list[np.ndarray], rects: Sequence[tuple[int, int, int, int]], points: np.ndarray,
           options: Any, out: str, write_end: int) -> None:
    """Forked: train, save to ``out``; dlib's stderr (progress) goes to the pipe, stdout is dropped."""
    os.dup2(write_end, 2)
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 1)
    try:
        import dlib

        dlib.train_shape_predictor(images, _objects(rects, points), options).save(out)
    except BaseException as err:  # noqa: BLE001 - reported to the parent through the pipe
        os.write(2, f"\nERROR: {type(err).__name__}: {str(err).strip()}\n".encode())
        os._exit(1)
    os._exit(0)  # skip the parent's atexit handlers (pytest, tqdm) inherited through fork
