"""The prepared dataset on disk: its file names and the reader :class:`PreparedDataset` (the writer,
``prepare``, is :mod:`facebench.data.prepare`; the torch ``Dataset`` is :mod:`facebench.nn.dataset`).

A prepared dataset is a folder with ``manifest.parquet`` (one row per sample), ``dataset.json``
and ``images/<R>/<id>.tif`` (R x R, 8-bit RGB, tiled: :mod:`facebench.core.tiled`) or, for a
dataset prepared with ``--format png`` (and every dataset of facebench < 0.6), ``<id>.png``;
``dataset.json["options"]["format"]`` says which. Landmarks are stored once, in source-image pixels;
at resolution R they are ``geometry.to_crop(landmarks, box, R)``. Images in memory are always
(H, W, 3) uint8 RGB (OpenCV decodes BGR; the reader converts).

With ``prepare --upsample skip`` a sample whose crop is smaller than R has no R image: the reader
refuses to load it, and :class:`~facebench.nn.dataset.LandmarkDataset` leaves such samples out (the
user asked to skip them) and says how many in a warning.
"""

from __future__ import annotations

import json
from functools import partial
from pathlib import Path

import numpy as np
import pandas as pd

from facebench.core import geometry
from facebench.core.errors import FacebenchError
from facebench.core.pixels import resample
from facebench.core.schemes import Scheme, get_scheme
from facebench.core.tiled import (
    FORMATS,
    SUFFIX,
    TIFF_SUFFIX,
    ArrayImage,
    ImageSource,
    PyramidImage,
    TiledImage,
    decode_tiff,
)

PROXY_RES = 256
DEFAULT_MARGIN = 0.25   # crop box margin, fraction of the landmark box's longer side per edge
MANIFEST = "manifest.parquet"
DATASET_JSON = "dataset.json"
PLAN = ".prepare-plan.parquet"
IMAGES = "images"
MANIFEST_COLUMNS: tuple[str, ...] = (
    "id", "source", "subject", "sequence", "view", "split", "subset", "scheme", "rel_path",
    "src_path", "frame", "orig_w", "orig_h", "box", "crop_side", "landmarks")


class PreparedDataset:
    """A prepared dataset folder. Raises :class:`FacebenchError` if ``root`` is not one.

    Attributes: ``root``, ``manifest`` (DataFrame, :data:`MANIFEST_COLUMNS`), ``scheme``,
    ``resolutions`` (ascending), ``info`` (``dataset.json``).
    """

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)
        if not self.root.is_dir():
            raise FacebenchError("prepared dataset folder not found (make one with `facebench prepare`)", self.root)
        if not (self.root / MANIFEST).is_file():
            unfinished = (self.root / PLAN).exists() or (self.root / IMAGES).is_dir()
            hint = ("an unfinished `facebench prepare`: run the same command again to finish it"
                    if unfinished else "make one with `facebench prepare`")
            raise FacebenchError(f"not a prepared dataset: no {MANIFEST} ({hint})", self.root)
        try:
            self.info: dict = json.loads((self.root / DATASET_JSON).read_text())
            self.manifest: pd.DataFrame = pd.read_parquet(self.root / MANIFEST)
        except FileNotFoundError as err:
            raise FacebenchError(f"not a prepared dataset: no {Path(err.filename).name}", self.root) from None
        except Exception as err:  # noqa: BLE001 - any parse failure is a damaged dataset
            raise FacebenchError(f"damaged prepared dataset ({err.__class__.__name__}: {err})", self.root) from None
        missing = [c for c in MANIFEST_COLUMNS if c not in self.manifest.columns]
        if missing:
            raise FacebenchError(f"manifest lacks column(s) {', '.join(missing)}", self.root / MANIFEST)
        self.scheme: Scheme = get_scheme(self.info["scheme"])
        self.resolutions: tuple[int, ...] = tuple(sorted(int(r) for r in self.info["resolutions"]))
        self._skip_small = self.info.get("options", {}).get("upsample") == "skip"
        self.format: str = str(self.info.get("options", {}).get("format", "png"))
        if self.format not in FORMATS:
            raise FacebenchError(f"unknown image format {self.format!r} in {DATASET_JSON} (known: "
                                 f"{', '.join(FORMATS)})", self.root)
        self._row = {sample_id: i for i, sample_id in enumerate(self.manifest["id"])}
        self._crop_side = self.manifest["crop_side"].to_numpy()   # per-sample lookups without pandas

    @property
    def options(self) -> dict:
        """The options prepare was run with (``dataset.json["options"]``: margin, upsample, ...)."""
        return dict(self.info.get("options", {}))

    def __len__(self) -> int:
        return len(self.manifest)

    def split(self, name: str) -> pd.DataFrame:
        """Rows of split ``name`` (``train`` / ``test``) in manifest order, index reset."""
        if name not in ("train", "test"):
            raise FacebenchError(f"unknown split {name!r} (known: train, test)", self.root)
        return self.manifest[self.manifest["split"] == name].reset_index(drop=True)

    def landmarks(self, rows: pd.DataFrame, res: int) -> np.ndarray:
        """Landmarks (B, N, 2) float64 of manifest ``rows`` in the pixels of their R = ``res``
        images (:func:`facebench.core.geometry.to_crop` of the source landmarks and crop box)."""
        n = self.scheme.num_points
        if len(rows) == 0:
            return np.zeros((0, n, 2))
        points = np.stack([np.asarray(v, dtype=np.float64) for v in rows["landmarks"]]).reshape(len(rows), n, 2)
        boxes = np.stack([np.asarray(v, dtype=np.float64) for v in rows["box"]])       # (B, 4)
        return geometry.to_crop(points, boxes, float(res))

    def has_image(self, rows: pd.DataFrame, res: int) -> np.ndarray:
        """(B,) bool: whether each row has an R = ``res`` image (False only for crops smaller than
        R in a dataset prepared with ``--upsample skip``, or for an R not prepared)."""
        if int(res) not in self.resolutions:
            return np.zeros(len(rows), dtype=bool)
        return self._has_level(rows["crop_side"].to_numpy(), int(res))

    def _has_level(self, crop_side: np.ndarray | int, res: int) -> np.ndarray:
        """Whether samples of these crop sides have an image at a prepared ``res`` (all of them,
        unless the dataset was prepared with ``--upsample skip``)."""
        return np.logical_or(not self._skip_small, np.asarray(crop_side) >= res)

    def image_path(self, sample_id: str, res: int) -> Path:
        """Path of sample ``sample_id``'s image at ``res``; refuses unknown ids and resolutions."""
        row = self._row.get(sample_id)
        if row is None:
            raise FacebenchError(f"no sample {sample_id!r} in this dataset", self.root / MANIFEST)
        if int(res) not in self.resolutions:
            prepared = ", ".join(map(str, self.resolutions))
            raise FacebenchError(f"resolution {res} was not prepared (prepared: {prepared})", self.root)
        side = int(self.manifest["crop_side"].iat[row])
        if self._skip_small and side < int(res):
            raise FacebenchError(f"sample {sample_id!r} has no {res} image: its crop is {side} px and "
                                 "the dataset was prepared with --upsample skip", self.root)
        return self.root / IMAGES / str(int(res)) / f"{sample_id}{SUFFIX[self.format]}"

    def load_image(self, sample_id: str, res: int) -> np.ndarray:
        """Decode sample ``sample_id`` at ``res`` -> (res, res, 3) uint8 RGB."""
        return read_prepared_image(self.image_path(sample_id, res), int(res))

    def proxy_level(self, side: int) -> int | None:
        """The prepared level a ``side`` x ``side`` proxy is read from: ``side`` itself when prepared,
        else the smallest prepared level above it (area-averaged down by :meth:`load_proxy`); None
        when every prepared level is smaller."""
        above = [r for r in self.resolutions if r >= int(side)]
        return min(above) if above else None

    def load_proxy(self, sample_id: str, side: int) -> np.ndarray:
        """Sample ``sample_id`` at ``side`` (a proxy smaller than the smallest prepared level, e.g.
        ADC's ``-o proxy=128``): decoded from :meth:`proxy_level` and area-averaged as ``prepare``
        resamples -> (side, side, 3) uint8 RGB."""
        level = self.proxy_level(side)
        if level is None:
            raise FacebenchError(f"no prepared resolution is at least {side} (prepared: "
                                 f"{', '.join(map(str, self.resolutions))})", self.root)
        return resample(self.load_image(sample_id, level), int(side))

    def open_image(self, sample_id: str, res: int, lut: np.ndarray | None = None) -> ImageSource:
        """Sample ``sample_id`` at ``res`` as an image source read by windows (a tiled file decodes
        only the tiles a window needs; a PNG is decoded whole), ``lut`` applied to what is read."""
        return open_level(self.image_path(sample_id, res), self.format, int(res), lut)

    def open_pyramid(self, sample_id: str, res: int, lut: np.ndarray | None = None) -> PyramidImage:
        """Sample ``sample_id`` at ``res`` with its prepared levels below ``res`` (those it has an
        image at), for crops read at the level their detail needs (:class:`PyramidImage`). Nothing
        is opened until a crop reads it; the object is small enough to pass between processes."""
        index = self._row.get(sample_id)
        if index is None:
            raise FacebenchError(f"no sample {sample_id!r} in this dataset", self.root / MANIFEST)
        levels = {r: partial(open_level, self.image_path(sample_id, r), self.format, r, lut)
                  for r in self.resolutions
                  if r <= int(res) and self._has_level(self._crop_side[index], r)}
        if int(res) not in levels:
            self.image_path(sample_id, res)   # raises the reason (not prepared, or skipped)
        return PyramidImage(int(res), levels)


def read_prepared_image(path: Path, res: int) -> np.ndarray:
    """Decode a prepared image (TIFF or PNG, by its suffix) -> (res, res, 3) uint8 RGB; one-line
    errors naming the file."""
    import cv2

    if path.suffix == TIFF_SUFFIX:
        image = decode_tiff(path)
    else:
        image = cv2.imread(str(path), cv2.IMREAD_COLOR)
        if image is None:
            what = "missing" if not path.exists() else "cannot be decoded"
            raise FacebenchError(f"prepared image {what}", path)
        image = cv2.cvtColor(image, cv2.COLOR_BGR2RGB)
    if image.shape != (res, res, 3):
        raise FacebenchError(f"prepared image is {image.shape[1]}x{image.shape[0]}, expected {res}x{res}", path)
    return image


def open_level(path: Path, fmt: str, res: int, lut: np.ndarray | None = None) -> ImageSource:
    """One prepared image as an image source: a TIFF by windows, a PNG decoded whole."""
    if fmt == "tiff":
        source = TiledImage(path, lut)
        if (source.height, source.width) != (res, res):
            raise FacebenchError(f"prepared image is {source.width}x{source.height}, expected {res}x{res}", path)
        return source
    return ArrayImage(read_prepared_image(path, res), lut)
