"""Storage formats for prepared images (``facebench bench storage``): the measurements behind the
tiled TIFF of :mod:`facebench.core.tiled`.

For one R x R image (a prepared image of ``--data``, or a synthesised face rendered at R), each
candidate is written once and read back: bytes on disk, encode time, decode time of the whole image,
and the time to read a ``window`` x ``window`` region at random places (a fresh reader each time, so
no tile cache helps; median of ``repeats``). Every candidate but JPEG is lossless and checked to
read back exactly. One thread; times are wall-clock medians.
"""

from __future__ import annotations

import io
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any, Callable

import numpy as np

from facebench.core.prepared import PreparedDataset
from facebench.core.tiled import TiledImage, encode_tiff
from facebench.data.synth.config import SynthConfig
from facebench.data.synth.generate import generate


def _tiff(tile: int, compression: str, level: int | None) -> Callable[[np.ndarray], bytes]:
    def encode(image: np.ndarray) -> bytes:
        import tifffile

        if (tile, compression) == (256, "zstd") and level == 5:
            return encode_tiff(image)   # exactly what prepare writes
        buf = io.BytesIO()
        tifffile.imwrite(buf, image, photometric="rgb", tile=(tile, tile), compression=compression,
                         compressionargs={} if level is None else {"level": level}, predictor=True, metadata=None)
        return buf.getvalue()
    return encode


def _cv2(ext: str, params: list[int]) -> Callable[[np.ndarray], bytes]:
    def encode(image: np.ndarray) -> bytes:
        import cv2

        ok, data = cv2.imencode(ext, np.ascontiguousarray(image[..., ::-1]), params)
        assert ok
        return data.tobytes()
    return encode


def _read_cv2(path: Path, r0: int, r1: int, c0: int, c1: int) -> np.ndarray:
    import cv2

    return cv2.imread(str(path), cv2.IMREAD_COLOR)[r0:r1, c0:c1, ::-1]


def _read_tiff(path: Path, r0: int, r1: int, c0: int, c1: int) -> np.ndarray:
    return TiledImage(path).read(r0, r1, c0, c1)


def _read_npy(path: Path, r0: int, r1: int, c0: int, c1: int) -> np.ndarray:
    return np.array(np.load(path, mmap_mode="r")[r0:r1, c0:c1])


def _npy(image: np.ndarray) -> bytes:
    buf = io.BytesIO()
    np.save(buf, image)
    return buf.getvalue()


def candidates() -> dict[str, tuple[str, Callable[[np.ndarray], bytes], Callable, bool]]:
    """name -> (suffix, encode, read window, lossless)."""
    import cv2

    return {
        "png (cv2 default level 1: prepare --format png)": (".png", _cv2(".png", [cv2.IMWRITE_PNG_COMPRESSION, 1]),
                                                            _read_cv2, True),
        "tiff zstd-5 tile 256 (prepare's default)": (".tif", _tiff(256, "zstd", 5), _read_tiff, True),
        "tiff zstd-5 tile 128": (".tif", _tiff(128, "zstd", 5), _read_tiff, True),
        "tiff zstd-5 tile 512": (".tif", _tiff(512, "zstd", 5), _read_tiff, True),
        "tiff zstd-9 tile 256": (".tif", _tiff(256, "zstd", 9), _read_tiff, True),
        "tiff deflate-6 tile 256": (".tif", _tiff(256, "zlib", 6), _read_tiff, True),
        "raw .npy (memory-mapped)": (".npy", _npy, _read_npy, True),
        "jpeg q95 (lossy, for reference)": (".jpg", _cv2(".jpg", [cv2.IMWRITE_JPEG_QUALITY, 95]), _read_cv2, False),
    }


def _median_ms(fn: Callable[[], Any], repeats: int) -> float:
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return round(1e3 * statistics.median(times), 2)


def bench_image(res: int, data: str | Path | None = None) -> np.ndarray:
    """The (R, R, 3) RGB image to measure on: the first test image of a prepared dataset at R, or a
    face rendered by facebench's synthesizer."""
    if data is not None:
        ds = PreparedDataset(data)
        return ds.load_image(ds.manifest["id"][0], res)
    import cv2


    with tempfile.TemporaryDirectory(prefix="facebench-bench-storage-") as tmp:
        generate(Path(tmp), SynthConfig(subjects=1, expressions=1, cameras=1, size=res), progress=False)
        path = next(Path(tmp).rglob("*.png"))
        return cv2.cvtColor(cv2.imread(str(path)), cv2.COLOR_BGR2RGB)


def bench_storage(res: int = 4096, window: int = 900, repeats: int = 5, data: str | Path | None = None,
                  seed: int = 0) -> list[dict[str, Any]]:
    """One row per candidate: format, mib, encode_ms, decode_ms, region_ms, lossless."""
    import cv2

    threads = cv2.getNumThreads()
    cv2.setNumThreads(1)
    image = bench_image(res, data)
    rng = np.random.default_rng(seed)
    corners = rng.integers(0, max(1, res - window), (repeats, 2))
    rows = []
    try:
        with tempfile.TemporaryDirectory(prefix="facebench-bench-storage-") as tmp:
            for name, (suffix, encode, read, lossless) in candidates().items():
                path = Path(tmp) / f"image{suffix}"
                path.write_bytes(encode(np.ascontiguousarray(image[:64, :64])))   # warm-up: imports, codecs
                read(path, 0, 8, 0, 8)
                t0 = time.perf_counter()
                path.write_bytes(encode(image))
                encode_ms = round(1e3 * (time.perf_counter() - t0), 1)
                whole = read(path, 0, res, 0, res)
                exact = bool(np.array_equal(whole, image))
                if lossless and not exact:
                    raise AssertionError(f"{name} does not read back exactly")
                it = iter(corners)

                def region() -> np.ndarray:
                    r, c = next(it)
                    return read(path, r, r + window, c, c + window)
                rows.append({"format": name, "mib": round(path.stat().st_size / 2**20, 2), "encode_ms": encode_ms,
                             "decode_ms": _median_ms(lambda: read(path, 0, res, 0, res), repeats),
                             "region_ms": _median_ms(region, repeats), "lossless": exact})
                path.unlink()
    finally:
        cv2.setNumThreads(threads)
    return rows


def storage_rows_markdown(rows: list[dict[str, Any]], res: int, window: int) -> str:
    lines = [f"| format | MiB at {res} | encode ms | decode ms (whole) | {window}² region ms | lossless |",
             "|---|---|---|---|---|---|"]
    for r in rows:
        lines.append(f"| {r['format']} | {r['mib']} | {r['encode_ms']} | {r['decode_ms']} | {r['region_ms']} | "
                     f"{'yes' if r['lossless'] else 'no'} |")
    return "\n".join(lines)
