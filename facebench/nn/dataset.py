"""The torch ``Dataset`` of one prepared split at one resolution (the reader it wraps is
:class:`facebench.core.prepared.PreparedDataset`)."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import torch

from facebench.core.errors import FacebenchError
from facebench.core.prepared import PROXY_RES, PreparedDataset
from facebench.core.schemes import Scheme
from facebench.nn.augment import apply_lut, check_augment, random_colour_lut
from facebench.nn.augment_recipe import augment_sample


class LandmarkDataset(torch.utils.data.Dataset):
    """One split at one resolution, as a torch ``Dataset`` of dicts:

    ``image`` uint8 (3, R, R) RGB; ``landmarks`` float32 (N, 2) at R; ``proxy`` uint8 (3, P, P),
    the P = ``proxy_res`` (256) rendition of the same sample read from ``images/256`` (not computed
    from the R image; the same decode when R == P); ``proxy_landmarks`` float32 (N, 2) at P;
    ``box`` float64 (4,) the crop box in source pixels; ``id`` str.

    ``augment="colour"`` passes both renditions through one random colour transform per item
    (:mod:`facebench.nn.augment`; training only); ``augment="standard"`` through one draw of the
    training recipe (:mod:`facebench.nn.augment_recipe`). An item decodes two files (one when R == P).
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
        if self.augment == "standard":   # the training recipe: see facebench/nn/augment_recipe.py
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
