"""The torch ``Dataset`` of one prepared split at one resolution (the reader it wraps is
:class:`facebench.core.prepared.PreparedDataset`)."""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Callable

import numpy as np
import torch
from torch.utils.data import default_collate

from facebench.core.errors import FacebenchError
from facebench.core.prepared import PROXY_RES, PreparedDataset
from facebench.core.schemes import Scheme
from facebench.core.tiled import ImageSource
from facebench.nn.augment import apply_lut, check_augment, random_colour_lut
from facebench.nn.augment_recipe import augment_sample


class LandmarkDataset(torch.utils.data.Dataset):
    """One split at one resolution, as a torch ``Dataset`` of dicts:

    ``image`` the R x R image: uint8 (3, R, R) when R <= P, else a
    :class:`~facebench.core.tiled.PyramidImage` that nothing has decoded yet (the RoI crop reads
    the windows its boxes need, at the level their detail needs: :func:`adc_model.ops.roi_crop`);
    ``landmarks`` float32 (N, 2) at R; ``proxy`` uint8 (3, P, P), the P = ``proxy_res`` (256)
    rendition of the same sample read from ``images/256`` (never computed from the R image);
    ``proxy_landmarks`` float32 (N, 2) at P; ``box`` float64 (4,) the crop box in source pixels;
    ``id`` str. Batch items with :func:`collate_items` (image sources stay a list).

    ``augment="colour"`` passes both renditions through one random colour transform per item
    (:mod:`facebench.nn.augment`; training only); ``augment="standard"`` through one draw of the
    training recipe (:mod:`facebench.nn.augment_recipe`), which adds ``affine`` (2, 3) float64
    (augmented R px -> image px, for the RoI crops) and ``degrade`` (3,) float32 (crop
    degradations). The colour table of either reaches the R image as the pyramid's look-up table,
    applied to the pixels read. ``prefetch(image, landmarks, affine)``, optional, is called on a
    lazily read R image with the item's landmarks (R px, augmented frame) and affine (or None): a
    method decodes there, in the DataLoader's workers, the tiles its crops will need
    (:func:`adc_model.ops.prefetch_crops`). ``max_samples`` keeps that many samples evenly spaced over the
    split (deterministic, and every subject stays represented).
    """

    def __init__(self, root_or_prepared: str | Path | PreparedDataset, split: str, res: int,
                 proxy_res: int = PROXY_RES, max_samples: int | None = None, augment: str = "none",
                 prefetch: Callable[[ImageSource, np.ndarray, np.ndarray | None], None] | None = None) -> None:
        ds = root_or_prepared if isinstance(root_or_prepared, PreparedDataset) else PreparedDataset(root_or_prepared)
        self.prepared, self.res, self.proxy_res = ds, int(res), int(proxy_res)
        self.augment = check_augment(augment)
        self.prefetch = prefetch
        proxy_level = ds.proxy_level(self.proxy_res)   # a smaller proxy is area-averaged from this level
        for r, level in ((self.res, self.res), (self.proxy_res, proxy_level)):
            if level not in ds.resolutions:
                prepared = ", ".join(map(str, ds.resolutions))
                raise FacebenchError(f"resolution {r} was not prepared (prepared: {prepared})", ds.root)
        rows = ds.split(split)
        keep = ds.has_image(rows, self.res) & ds.has_image(rows, proxy_level)
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

    @staticmethod
    def collate_fn(items: list[dict]) -> dict:
        """How a DataLoader batches these items (``fit`` uses it): :func:`collate_items`."""
        return collate_items(items)

    @property
    def scheme(self) -> Scheme:
        return self.prepared.scheme

    def __len__(self) -> int:
        return len(self.ids)

    def __getitem__(self, index: int) -> dict:
        sample_id = self.ids[index]
        proxy = self.prepared.load_proxy(sample_id, self.proxy_res)
        item = {"landmarks": self._landmarks[index], "proxy_landmarks": self._proxy_landmarks[index], "affine": None,
                "degrade": None, "lut": None}
        if self.augment == "standard":   # the training recipe: see facebench/nn/augment_recipe.py
            a = augment_sample(proxy, self._proxy_landmarks[index], self.res, self._landmarks[index],
                               self.scheme.flip_permutation())
            proxy = a["small"]
            item.update(landmarks=a["landmarks"], proxy_landmarks=a["small_landmarks"], affine=a["affine"],
                        degrade=a["degrade"], lut=a["lut"])
        elif self.augment == "colour":   # one transform for both renditions of the sample
            item["lut"] = random_colour_lut()
            proxy = apply_lut(proxy, item["lut"])
        proxy_t = self._tensor(proxy)
        if self.res == self.proxy_res:
            image = proxy_t
        elif self.res < self.proxy_res:   # small enough to decode whole, as cheap as the proxy
            image = self._tensor(self.prepared.open_image(sample_id, self.res, item["lut"]).read(0, None, 0, None))
        else:
            image = self.prepared.open_pyramid(sample_id, self.res, item["lut"])
            if self.prefetch is not None:
                self.prefetch(image, np.asarray(item["landmarks"], dtype=np.float64), item["affine"])
        out = {
            "image": image,
            "landmarks": torch.from_numpy(np.asarray(item["landmarks"], dtype=np.float32).copy()),
            "proxy": proxy_t,
            "proxy_landmarks": torch.from_numpy(np.asarray(item["proxy_landmarks"], dtype=np.float32).copy()),
            "box": torch.from_numpy(self._boxes[index].copy()),
            "id": sample_id,
        }
        if item["affine"] is not None:
            out["affine"] = torch.from_numpy(item["affine"])
            out["degrade"] = torch.from_numpy(item["degrade"])
        return out

    @staticmethod
    def _tensor(image: np.ndarray) -> torch.Tensor:
        """(H, W, 3) uint8 -> contiguous (3, H, W) uint8 tensor."""
        return torch.from_numpy(np.ascontiguousarray(image.transpose(2, 0, 1)))


def collate_items(items: list[dict]) -> dict:
    """A DataLoader batch of :class:`LandmarkDataset` items: torch's default collate, except that
    image sources (R > P) stay a list of B sources instead of a stacked tensor."""
    images = [item["image"] for item in items]
    batch = default_collate([{k: v for k, v in item.items() if k != "image"} for item in items])
    batch["image"] = torch.stack(images) if all(isinstance(i, torch.Tensor) for i in images) else images
    return batch
