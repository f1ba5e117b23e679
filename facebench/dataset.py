"""The prepared dataset: reader and torch ``Dataset`` (the writer, ``prepare``, is in
:mod:`facebench.prepare` and re-exported here).

A prepared dataset is a folder with ``manifest.parquet`` (one row per sample), ``dataset.json``
and ``images/<R>/<id>.png`` (R x R, 8-bit RGB). Landmarks are stored once, in source-image pixels;
at resolution R they are ``geometry.to_crop(landmarks, box, R)``. Images in memory are always
(H, W, 3) uint8 RGB (OpenCV decodes BGR; the reader converts).

With ``prepare --upsample skip`` a sample whose crop is smaller than R has no R image: the reader
refuses to load it, and :class:`LandmarkDataset` leaves such samples out (the user asked to skip
them) and says how many in a warning.
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from facebench import geometry
from facebench.augment import apply_lut, check_augment, random_colour_lut
from facebench.errors import FacebenchError
from facebench.prepare import (DATASET_JSON, IMAGES, MANIFEST, MANIFEST_COLUMNS, PLAN, PROXY_RES,
                               prepare, prepare_default)
from facebench.prepare_bench import bench_prepare
from facebench.schemes import Scheme, get_scheme

__all__ = ["LandmarkDataset", "PreparedDataset", "bench_prepare", "prepare", "prepare_default"]


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
        self._row = {sample_id: i for i, sample_id in enumerate(self.manifest["id"])}

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
        images (:func:`facebench.geometry.to_crop` of the source landmarks and crop box)."""
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
        if not self._skip_small:
            return np.ones(len(rows), dtype=bool)
        return rows["crop_side"].to_numpy() >= int(res)

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
        return self.root / IMAGES / str(int(res)) / f"{sample_id}.png"

    def load_image(self, sample_id: str, res: int) -> np.ndarray:
        """Decode sample ``sample_id`` at ``res`` -> (res, res, 3) uint8 RGB."""
        import cv2

        path = self.image_path(sample_id, res)
        image = cv2.imread(str(path), cv2.IMREAD_COLOR)
        if image is None:
            what = "missing" if not path.exists() else "cannot be decoded"
            raise FacebenchError(f"prepared image {what}", path)
        if image.shape != (res, res, 3):
            raise FacebenchError(f"prepared image is {image.shape[1]}x{image.shape[0]}, expected {res}x{res}", path)
        return cv2.cvtColor(image, cv2.COLOR_BGR2RGB)


class LandmarkDataset(torch.utils.data.Dataset):
    """One split at one resolution, as a torch ``Dataset`` of dicts:

    ``image`` uint8 (3, R, R) RGB; ``landmarks`` float32 (N, 2) at R; ``proxy`` uint8 (3, P, P),
    the P = ``proxy_res`` (256) rendition of the same sample read from ``images/256`` (not computed
    from the R image; the same decode when R == P); ``proxy_landmarks`` float32 (N, 2) at P;
    ``box`` float64 (4,) the crop box in source pixels; ``id`` str.

    ``augment="colour"`` passes both renditions through one random colour transform per item
    (:mod:`facebench.augment`; training only); ``augment="standard"`` through one draw of the
    training recipe (:mod:`facebench.augment_recipe`). An item decodes two files (one when R == P).
    ``max_samples`` keeps that many samples evenly spaced over the split (deterministic, and every
    subject stays represented).
    """

    def __init__(self, root_or_prepared: str | Path | PreparedDataset, split: str, res: int,
                 proxy_res: int = PROXY_RES, max_samples: int | None = None, augment: str = "none") -> None:
        ds = root_or_prepared if isinstance(root_or_prepared, PreparedDataset) else PreparedDataset(root_or_prepared)
        self.prepared, self.res, self.proxy_res = ds, int(res), int(proxy_res)
        self.augment = check_augment(augment)
        for r in (self.res, self.proxy_res):
            if r not in ds.resolutions:
                prepared = ", ".join(map(str, ds.resolutions))
                raise FacebenchError(f"resolution {r} was not prepared (prepared: {prepared})", ds.root)
        rows = ds.split(split)
        keep = ds.has_image(rows, self.res) & ds.has_image(rows, self.proxy_res)
        if not keep.all():
            warnings.warn(f"{int((~keep).sum())} of {len(rows)} {split} samples have no {self.res} image "
                          "(prepared with --upsample skip) and are left out", stacklevel=2)
            rows = rows[keep].reset_index(drop=True)
        if max_samples is not None and max_samples < len(rows):
            pick = np.unique(np.linspace(0, len(rows) - 1, max(int(max_samples), 0)).round().astype(int))
            rows = rows.iloc[pick].reset_index(drop=True)
        self.rows = rows
        self.ids: list[str] = list(rows["id"])
        self._landmarks = ds.landmarks(rows, self.res).astype(np.float32)            # (B, N, 2)
        self._proxy_landmarks = ds.landmarks(rows, self.proxy_res).astype(np.float32)  # (B, N, 2)
        self._boxes = np.stack(list(rows["box"])).astype(np.float64) if len(rows) else np.zeros((0, 4))

    @property
    def scheme(self) -> Scheme:
        return self.prepared.scheme

    def __len__(self) -> int:
        return len(self.ids)

    def __getitem__(self, index: int) -> dict:
        sample_id = self.ids[index]
        image = self.prepared.load_image(sample_id, self.res)
        proxy = None if self.proxy_res == self.res else self.prepared.load_image(sample_id, self.proxy_res)
        if self.augment == "standard":   # the training recipe: see facebench/augment_recipe.py
            return self._standard_item(index, image, proxy)
        if self.augment == "colour":   # one transform for both renditions of the sample
            lut = random_colour_lut()
            image = apply_lut(image, lut)
            proxy = None if proxy is None else apply_lut(proxy, lut)
        image_t = self._tensor(image)
        return {
            "image": image_t,
            "landmarks": torch.from_numpy(self._landmarks[index].copy()),
            "proxy": image_t if proxy is None else self._tensor(proxy),
            "proxy_landmarks": torch.from_numpy(self._proxy_landmarks[index].copy()),
            "box": torch.from_numpy(self._boxes[index].copy()),
            "id": sample_id,
        }

    def _standard_item(self, index: int, image: np.ndarray, proxy: np.ndarray | None) -> dict:
        """An item through one draw of the training recipe, plus ``affine`` (2, 3) float64 (augmented
        R px -> image px, for the RoI crops) and ``degrade`` (3,) float32 (crop degradations)."""
        from facebench.augment_recipe import augment_sample

        a = augment_sample(image, proxy, self._landmarks[index], self._proxy_landmarks[index],
                           self.scheme.flip_permutation())
        image_t = self._tensor(a["image"])
        return {
            "image": image_t,
            "landmarks": torch.from_numpy(a["landmarks"].astype(np.float32)),
            "proxy": image_t if a["proxy"] is None else self._tensor(a["proxy"]),
            "proxy_landmarks": torch.from_numpy(a["proxy_landmarks"].astype(np.float32)),
            "box": torch.from_numpy(self._boxes[index].copy()),
            "id": self.ids[index],
            "affine": torch.from_numpy(a["affine"]),
            "degrade": torch.from_numpy(a["degrade"]),
        }

    @staticmethod
    def _tensor(image: np.ndarray) -> torch.Tensor:
        """(H, W, 3) uint8 -> contiguous (3, H, W) uint8 tensor."""
        return torch.from_numpy(np.ascontiguousarray(image.transpose(2, 0, 1)))
