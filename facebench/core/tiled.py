"""Images that can be read a window at a time: the tiled TIFF format of prepared datasets and the
image sources the RoI crop reads from.

**The format.** A prepared image at resolution R is an R x R x 3 uint8 RGB baseline TIFF cut into
256 x 256 tiles, each compressed on its own (Zstandard, level 5, after TIFF's horizontal-difference
predictor): lossless, so a window read from it equals the same window of the PNG it replaces, and
any TIFF reader opens it. A window is read by decoding only the tiles it overlaps: for a 900 x 900
region of a 4096 image that is 16-25 tiles out of 256 (docs/design.md, "Storage formats", has the
measurements behind the choice of format, codec and tile size).

**Image sources.** :class:`TiledImage` (a file) and :class:`ArrayImage` (a decoded array) share one
interface: ``height``, ``width`` and ``read(r0, r1, c0, c1) -> (r1 - r0, c1 - c0, 3) uint8``, with an
optional colour look-up table applied to what is read (the training recipe's colour change, applied
to the pixels a crop needs instead of the whole R-pixel image). A :class:`TiledImage` keeps the
tiles it decoded, so overlapping windows (the eye and nose boxes) decode each tile once; it can be
sent to another process (a DataLoader worker) with the tiles it holds, and ``prefetch`` decodes the
tiles under given windows ahead of time.
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Callable, Protocol

import numpy as np

from facebench.core.errors import FacebenchError

TILE = 256                 # tile side, px (measured against 128 and 512: docs/design.md)
CODEC = "zstd"             # imagecodecs' Zstandard; lossless
CODEC_LEVEL = 5
TIFF_SUFFIX = ".tif"
FORMATS = ("tiff", "png")  # how a prepared dataset stores its images (prepare --format); the first is the default
SUFFIX = {"tiff": TIFF_SUFFIX, "png": ".png"}


def encode_tiff(image: np.ndarray) -> bytes:
    """An (H, W, 3) uint8 RGB image as the bytes of a tiled, compressed TIFF (see the module doc)."""
    import tifffile

    if image.dtype != np.uint8 or image.ndim != 3 or image.shape[2] != 3:
        raise ValueError(f"expected an (H, W, 3) uint8 image, got {image.shape} {image.dtype}")
    buf = io.BytesIO()
    tifffile.imwrite(buf, np.ascontiguousarray(image), photometric="rgb", tile=(TILE, TILE),
                     compression=CODEC, compressionargs={"level": CODEC_LEVEL}, predictor=True,
                     metadata=None)
    return buf.getvalue()


def decode_tiff(path: Path) -> np.ndarray:
    """The whole image of a TIFF file -> (H, W, 3) uint8 RGB."""
    return TiledImage(path).read(0, None, 0, None)


def tiff_size(path: Path) -> tuple[int, int] | None:
    """(width, height) of a readable tiled RGB TIFF, or None when the file is missing or not one."""
    try:
        image = TiledImage(path)
    except FacebenchError:
        return None
    return image.width, image.height


class ImageSource(Protocol):
    """What the RoI crop reads pixels from: an image's size and windows of it."""

    height: int
    width: int

    def read(self, r0: int, r1: int | None, c0: int, c1: int | None) -> np.ndarray:
        """Rows [r0, r1) x columns [c0, c1) (None: to the edge) -> (h, w, 3) uint8."""

    def prefetch(self, windows: list[tuple[int, int, int, int]]) -> None:
        """Make the windows (r0, r1, c0, c1) ready to read (decode what they need now)."""


class ArrayImage:
    """A decoded (H, W, 3) uint8 image behind the image-source interface (see the module doc)."""

    def __init__(self, pixels: np.ndarray, lut: np.ndarray | None = None) -> None:
        self.pixels, self.lut = pixels, lut
        self.height, self.width = int(pixels.shape[0]), int(pixels.shape[1])

    def prefetch(self, windows: list[tuple[int, int, int, int]]) -> None:
        """Nothing to do: the pixels are decoded already."""

    def read(self, r0: int, r1: int | None, c0: int, c1: int | None) -> np.ndarray:
        window = self.pixels[r0:r1, c0:c1]
        return _apply_lut(window, self.lut)


class TiledImage:
    """A tiled TIFF read by windows (see the module doc). Opening reads only the header."""

    def __init__(self, path: str | Path, lut: np.ndarray | None = None) -> None:
        import tifffile

        self.path, self.lut = Path(path), lut
        self._tiles: dict[int, np.ndarray] = {}
        try:
            with tifffile.TiffFile(self.path) as tif:
                page = tif.pages.first
                if not page.is_tiled or page.shape[-1:] != (3,) or page.dtype != np.uint8 or page.planarconfig != 1:
                    raise FacebenchError(f"not a tiled 8-bit RGB TIFF (shape {page.shape}, {page.dtype})", self.path)
                self.height, self.width = int(page.imagelength), int(page.imagewidth)
                self.tile_h, self.tile_w = int(page.tilelength), int(page.tilewidth)
                self._offsets = np.asarray(page.dataoffsets, dtype=np.int64)
                self._counts = np.asarray(page.databytecounts, dtype=np.int64)
                self._compression, self._predictor = int(page.compression), int(page.predictor)
        except FileNotFoundError:
            raise FacebenchError("prepared image missing", self.path) from None
        except FacebenchError:
            raise
        except Exception as err:  # noqa: BLE001 - any parse failure: a damaged file, one line
            raise FacebenchError(f"image cannot be decoded (not a TIFF: {type(err).__name__}: {err})",
                                 self.path) from None
        self._across = -(-self.width // self.tile_w)

    def __getstate__(self) -> dict:   # pickled into / out of DataLoader workers with its tiles
        return dict(self.__dict__)

    def tiles_for(self, r0: int, r1: int, c0: int, c1: int) -> list[int]:
        """Indices of the tiles a window [r0, r1) x [c0, c1) overlaps."""
        rows = range(r0 // self.tile_h, (r1 - 1) // self.tile_h + 1)
        cols = range(c0 // self.tile_w, (c1 - 1) // self.tile_w + 1)
        return [ty * self._across + tx for ty in rows for tx in cols]

    def prefetch(self, windows: list[tuple[int, int, int, int]]) -> None:
        """Decode the tiles under ``windows`` (r0, r1, c0, c1) now (clipped to the image)."""
        needed: set[int] = set()
        for r0, r1, c0, c1 in windows:
            r0, c0 = max(0, r0), max(0, c0)
            r1, c1 = min(self.height, r1), min(self.width, c1)
            if r1 > r0 and c1 > c0:
                needed.update(self.tiles_for(r0, r1, c0, c1))
        self._decode(sorted(needed - set(self._tiles)))

    def read(self, r0: int, r1: int | None, c0: int, c1: int | None) -> np.ndarray:
        """Rows [r0, r1) x columns [c0, c1) (None: to the edge) -> uint8 (h, w, 3), the look-up
        table applied. The window must lie inside the image."""
        r1 = self.height if r1 is None else r1
        c1 = self.width if c1 is None else c1
        if not (0 <= r0 < r1 <= self.height and 0 <= c0 < c1 <= self.width):
            raise ValueError(f"window rows {r0}:{r1}, cols {c0}:{c1} outside the {self.width}x{self.height} image")
        wanted = self.tiles_for(r0, r1, c0, c1)
        self._decode([i for i in wanted if i not in self._tiles])
        out = np.empty((r1 - r0, c1 - c0, 3), dtype=np.uint8)
        for i in wanted:
            ty, tx = divmod(i, self._across)
            y0, x0 = ty * self.tile_h, tx * self.tile_w
            ys, ye = max(r0, y0), min(r1, y0 + self.tile_h)
            xs, xe = max(c0, x0), min(c1, x0 + self.tile_w)
            out[ys - r0:ye - r0, xs - c0:xe - c0] = self._tiles[i][ys - y0:ye - y0, xs - x0:xe - x0]
        return _apply_lut(out, self.lut)

    def _decode(self, indices: list[int]) -> None:
        """Decode tiles ``indices`` into the cache (one open of the file for all of them)."""
        if not indices:
            return
        try:
            with open(self.path, "rb") as f:
                for i in indices:
                    f.seek(int(self._offsets[i]))
                    self._tiles[i] = self._decode_tile(f.read(int(self._counts[i])))
        except FileNotFoundError:
            raise FacebenchError("prepared image missing", self.path) from None
        except (OSError, ValueError, RuntimeError) as err:
            raise FacebenchError(f"image cannot be decoded (damaged tile: {type(err).__name__}: {err})",
                                 self.path) from None

    def _decode_tile(self, data: bytes) -> np.ndarray:
        """One compressed tile -> (tile_h, tile_w, 3) uint8 (undoing the predictor)."""
        import imagecodecs

        if self._compression == 50000:     # Zstandard
            raw = imagecodecs.zstd_decode(data)
        elif self._compression in (8, 32946):   # Deflate
            raw = imagecodecs.zlib_decode(data)
        elif self._compression == 1:
            raw = data
        else:
            raise ValueError(f"TIFF compression {self._compression} is not one facebench writes")
        tile = np.frombuffer(raw, dtype=np.uint8)
        if tile.size != self.tile_h * self.tile_w * 3:
            raise ValueError(f"tile decodes to {tile.size} bytes, expected {self.tile_h * self.tile_w * 3}")
        tile = tile.reshape(self.tile_h, self.tile_w, 3)
        if self._predictor == 2:           # horizontal differencing, per row and channel, modulo 256
            tile = imagecodecs.delta_decode(tile, axis=-2)   # = np.cumsum(axis=1) in uint8, 4x faster
        elif self._predictor != 1:
            raise ValueError(f"TIFF predictor {self._predictor} is not one facebench writes")
        return tile


def _apply_lut(image: np.ndarray, lut: np.ndarray | None) -> np.ndarray:
    """(h, w, 3) uint8 through a per-channel (256, 1, 3) table (``cv2.LUT``'s layout), or unchanged."""
    if lut is None:
        return image
    import cv2

    return cv2.LUT(np.ascontiguousarray(image), lut)


class PyramidImage:
    """One sample's image at resolution ``res`` together with its lower-resolution renditions (the
    levels of a prepared dataset), for crops that need less detail than R has.

    A crop of ``size`` px from a box of ``s`` R px averages about (s / size)^2 R pixels per output
    pixel; the same average is available, already computed, from a level L < R where the box still
    spans at least two pixels per output pixel. :func:`adc_model.ops.roi_crop` asks
    :meth:`level_for` which level to read, so what it decodes and samples is bounded by the crop
    size, not by R: the tiled-pyramid reading of whole-slide imaging. ``levels`` maps each level's
    side to a zero-argument function that opens it as an image source (opened on first use, once).
    """

    def __init__(self, res: int, levels: dict[int, Callable[[], ImageSource]]) -> None:
        if res not in levels:
            raise ValueError(f"the pyramid has no level {res} (levels: {sorted(levels)})")
        self.res = int(res)
        self.height = self.width = self.res
        self._open = {int(r): f for r, f in levels.items() if int(r) <= self.res}
        self._sources: dict[int, ImageSource] = {}

    @property
    def levels(self) -> tuple[int, ...]:
        return tuple(sorted(self._open))

    def level_for(self, downsample: float) -> int:
        """The smallest level L with R / L <= ``downsample`` (R itself when ``downsample`` < 2)."""
        fit = [r for r in self._open if self.res / r <= downsample + 1e-9]
        return min(fit) if fit else self.res

    def source(self, level: int) -> ImageSource:
        """The image source of ``level`` (opened on first use)."""
        if level not in self._sources:
            self._sources[level] = self._open[level]()
        return self._sources[level]

    def read(self, r0: int, r1: int | None, c0: int, c1: int | None) -> np.ndarray:
        """A window of the R level itself."""
        return self.source(self.res).read(r0, r1, c0, c1)

    def prefetch(self, windows: list[tuple[int, int, int, int]]) -> None:
        self.source(self.res).prefetch(windows)
