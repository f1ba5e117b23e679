"""Guards that keep a user's files safe (docs/reliability.md): run-folder names and markers,
build-beside-and-swap replacement of output folders, lock files, size limits checked before any
allocation, and pool workers that die with their parent.

Every function raises :class:`FacebenchError` (one line, naming the file or option) on refusal.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import sys
import unicodedata
from pathlib import Path
from typing import Iterator

from facebench.core.errors import FacebenchError

RUN_MARKER = ".facebench-run"          # written into every run folder when it is created
RUN_FILES = frozenset({"config.json", "metrics.json", "predictions.parquet", "train_log.csv",
                       "examples.npz", "model.pt", "model.dat", "checkpoints", RUN_MARKER})

# Size limits (each can be raised through the environment variable named in its message).
MAX_IMAGE_PIXELS_ENV = "FACEBENCH_MAX_IMAGE_PIXELS"
MAX_IMAGE_PIXELS = 200_000_000        # 200 MP: a 14142 x 14142 image, above any studio camera of 2026
MAX_RESOLUTION_ENV = "FACEBENCH_MAX_RESOLUTION"
MAX_RESOLUTION = 8192                 # twice the paper's largest R
MAX_MARGIN = 2.0                      # the crop is then 5x the landmark box


def _limit(env: str, default: int) -> int:
    value = os.environ.get(env)
    if value is None:
        return default
    try:
        limit = int(value)
    except ValueError:
        raise FacebenchError(f"environment variable {env} must be an integer, got {value!r}") from None
    if limit < 1:
        raise FacebenchError(f"environment variable {env} must be positive, got {limit}")
    return limit


def max_image_pixels() -> int:
    return _limit(MAX_IMAGE_PIXELS_ENV, MAX_IMAGE_PIXELS)


def max_resolution() -> int:
    return _limit(MAX_RESOLUTION_ENV, MAX_RESOLUTION)


def check_image_pixels(width: int, height: int, path: str | Path | None = None) -> None:
    """Refuse an image larger than :func:`max_image_pixels` (read from its header, before decoding)."""
    limit = max_image_pixels()
    if int(width) * int(height) > limit:
        raise FacebenchError(f"image is {width}x{height} = {int(width) * int(height) / 1e6:.0f} MP, above the "
                             f"limit of {limit / 1e6:.0f} MP (raise it with {MAX_IMAGE_PIXELS_ENV}=N)", path)


def check_resolution(res: int, option: str = "--res") -> None:
    """Refuse a resolution R outside 1 .. :func:`max_resolution`."""
    limit = max_resolution()
    if int(res) < 1:
        raise FacebenchError(f"{option}: a resolution must be a positive number of pixels, got {res}")
    if int(res) > limit:
        raise FacebenchError(f"{option}: resolution {res} is above the limit of {limit} px "
                             f"(raise it with {MAX_RESOLUTION_ENV}=N)")


def check_margin(margin: float) -> None:
    if not 0.0 <= margin <= MAX_MARGIN:
        raise FacebenchError(f"--margin must be in [0, {MAX_MARGIN:g}] (a fraction of the landmark box's "
                             f"longer side added on each side), got {margin}")


def check_crop_side(side: float, path: str | Path | None = None, what: str = "crop") -> None:
    """Refuse a square crop whose pixels would exceed the image pixel limit (checked before cutting it)."""
    limit = max_image_pixels()
    if not side == side or side * side > limit:   # NaN or too large
        raise FacebenchError(f"the {what} would be {side:.0f} px square, above the limit of {limit / 1e6:.0f} MP "
                             f"(raise it with {MAX_IMAGE_PIXELS_ENV}=N)", path)


# ---- names ----------------------------------------------------------------------------------------

def check_run_name(name: str) -> str:
    """``--name`` must be one plain path component: not empty, not ``.`` / ``..``, no separator."""
    bad = (not name or name.strip() != name or name in (".", "..") or "/" in name or "\\" in name
           or "\0" in name or name.startswith(".") or os.path.isabs(name) or any(ord(c) < 32 for c in name))
    if bad:
        raise FacebenchError(f"--name must be one plain folder name (no '/', not '.' or '..', not hidden), "
                             f"got {name!r}")
    return name


def nfc(name: str) -> str:
    return unicodedata.normalize("NFC", name)


# ---- run folders ----------------------------------------------------------------------------------

def mark_run_folder(run_dir: Path) -> None:
    """Create ``run_dir`` (if needed) and mark it as a run folder facebench may later delete."""
    run_dir = Path(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    marker = run_dir / RUN_MARKER
    if not marker.exists():
        marker.write_text("a facebench run folder: `facebench run --force` may delete it\n")


def is_run_folder(run_dir: Path) -> bool:
    """A folder facebench marked, or (made before markers) one holding nothing but run files."""
    run_dir = Path(run_dir)
    if not run_dir.is_dir() or run_dir.is_symlink():
        return False
    if (run_dir / RUN_MARKER).is_file():
        return True
    names = [p.name for p in run_dir.iterdir()]
    return "config.json" in names and all(n in RUN_FILES or n.startswith(".") for n in names)


def remove_run_folder(run_dir: Path) -> None:
    """``--force``: delete ``run_dir`` only when facebench marked it as a run folder (a folder made
    before markers existed is recognised by :func:`is_run_folder` for reuse, but never deleted)."""
    run_dir = Path(run_dir)
    if not run_dir.exists() and not run_dir.is_symlink():
        return
    if run_dir.is_symlink() or not (run_dir / RUN_MARKER).is_file():   # the marker only: deletion is never inferred
        raise FacebenchError("--force: not a facebench run folder (no .facebench-run marker); "
                             "refusing to delete it", run_dir)
    shutil.rmtree(run_dir)


# ---- build beside, swap at the end ----------------------------------------------------------------

@contextlib.contextmanager
def build_beside(target: Path, seed_from_target: bool = False) -> Iterator[Path]:
    """Yield a fresh hidden sibling folder of ``target`` to build in; on success it replaces
    ``target`` (rename, rename, delete the old one), on any failure it is deleted and ``target``
    is left exactly as it was. ``seed_from_target`` first fills it with hard links (copies across
    file systems) of ``target``'s files, so unchanged files cost nothing."""
    target = Path(os.path.realpath(target))   # "." and a link to the dataset: build beside the real folder
    target.parent.mkdir(parents=True, exist_ok=True)
    build = target.parent / f".{target.name}.new-{os.getpid()}"
    if build.exists():
        shutil.rmtree(build)
    if seed_from_target and target.is_dir():
        shutil.copytree(target, build, copy_function=_link_or_copy, symlinks=True)
    else:
        build.mkdir()
    try:
        yield build
    except BaseException:
        shutil.rmtree(build, ignore_errors=True)
        raise
    swap_in(build, target)


def swap_in(build: Path, target: Path) -> None:
    """Replace ``target`` by the folder ``build`` (two renames; the old one is deleted last)."""
    old = target.parent / f".{target.name}.old-{os.getpid()}"
    if target.exists():
        os.replace(target, old)
    os.replace(build, target)
    if old.exists():
        shutil.rmtree(old, ignore_errors=True)


def _link_or_copy(src: str, dst: str) -> None:
    try:
        os.link(src, dst)
    except OSError:
        shutil.copy2(src, dst)


# ---- locks ----------------------------------------------------------------------------------------

def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _lock_path(target: Path) -> Path:
    target = Path(os.path.realpath(target))
    return target.parent / f".{target.name}.lock"


def _holder(lock: Path) -> int | None:
    """The pid of a live process holding ``lock``, or None (no lock, or its process is gone)."""
    try:
        pid = int(lock.read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return None
    return pid if pid > 0 and pid != os.getpid() and _alive(pid) else None


def check_unlocked(target: Path, what: str = "prepare") -> None:
    """Stop at once (before reading any input) when a live process holds ``target``'s lock."""
    lock = _lock_path(target)
    pid = _holder(lock)
    if pid is not None:
        raise FacebenchError(f"another `facebench {what}` (pid {pid}) is writing this folder; "
                             f"wait for it to finish (lock {lock.name})", target)


@contextlib.contextmanager
def folder_lock(target: Path, what: str = "prepare") -> Iterator[Path]:
    """Hold ``.<name>.lock`` beside ``target`` while a command writes it. A lock held by a live
    process stops the caller at once, naming that process; a lock left by a dead one is taken over."""
    target = Path(os.path.realpath(target))
    target.parent.mkdir(parents=True, exist_ok=True)
    lock = target.parent / f".{target.name}.lock"
    for _ in range(3):
        try:
            fd = os.open(lock, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
        except FileExistsError:
            try:
                pid = int(lock.read_text().split()[0])
            except (OSError, ValueError, IndexError):
                pid = -1
            if pid > 0 and pid != os.getpid() and _alive(pid):
                raise FacebenchError(f"another `facebench {what}` (pid {pid}) is writing this folder; "
                                     f"wait for it to finish (lock {lock.name})", target) from None
            lock.unlink(missing_ok=True)   # stale: its process is gone
            continue
        with os.fdopen(fd, "w") as f:
            f.write(f"{os.getpid()} facebench {what}\n")
        break
    else:
        raise FacebenchError(f"cannot take the lock {lock.name}", target)
    try:
        yield lock
    finally:
        lock.unlink(missing_ok=True)


# ---- processes ------------------------------------------------------------------------------------

PR_SET_PDEATHSIG = 1


def die_with_parent() -> None:
    """In a pool worker: ask the kernel to kill this process when its parent dies (Linux
    ``prctl(PR_SET_PDEATHSIG, SIGKILL)``), so a ``kill -9`` of the parent leaves no orphan."""
    parent = os.getppid()
    if sys.platform.startswith("linux"):
        try:
            import ctypes

            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
        except (OSError, AttributeError):
            pass
    if os.getppid() != parent or parent == 1:   # the parent died before the prctl took effect
        os._exit(1)


def image_header(path: Path) -> tuple[int, int, str]:
    """(width, height, format) of an image file from its header alone (nothing decoded), with PIL's
    own decompression-bomb refusal lifted so that facebench's limit decides; PIL's errors pass."""
    from PIL import Image

    limit = Image.MAX_IMAGE_PIXELS
    Image.MAX_IMAGE_PIXELS = None
    try:
        with Image.open(path) as im:
            return im.size[0], im.size[1], im.format or ""
    finally:
        Image.MAX_IMAGE_PIXELS = limit


def check_image_file_pixels(path: Path) -> None:
    """Refuse an image file whose header declares more pixels than allowed (nothing decoded);
    files PIL cannot parse are left to the decoder's own error."""
    try:
        width, height, _ = image_header(path)
    except Exception:  # noqa: BLE001 - not parseable here: the decoder says why
        return
    check_image_pixels(width, height, path)


@contextlib.contextmanager
def quiet_stderr() -> Iterator[None]:
    """Silence file descriptor 2 while a C library decodes (libpng prints "libpng error: ..." lines
    of its own for a damaged file); facebench then says what is wrong in its one line."""
    try:
        sys.stderr.flush()
        saved = os.dup(2)
    except (OSError, ValueError):
        yield
        return
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)
