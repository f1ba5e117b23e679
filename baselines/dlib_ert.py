"""dlib's ensemble of regression trees (Kazemi & Sullivan, "One Millisecond Face Alignment with an
Ensemble of Regression Trees", CVPR 2014) as the ``dlib-ert`` method: trained with
``dlib.train_shape_predictor`` on the 256 px training crops, evaluated at R by the runner's
upscaling of its 256 predictions (``native_res = False``).

**The face box.** A shape predictor starts from a face rectangle, and train and test must use the
same convention. A prepared crop is the square landmark box grown by ``margin`` on every side
(``dataset.json["options"]["margin"]``), so the landmark box inside a crop is the whole crop
shrunk by that margin (``geometry.shrink_square_box``): ``box = "margin"``, the default, used at
train and test time and recorded next to the model. It uses only the crop, never the ground truth
of a test image. dlib's public 68-point model was trained on the rectangles of dlib's frontal face
detector instead: ``box = "detector"`` runs ``dlib.get_frontal_face_detector()`` on each crop (no
upsampling; the face fills most of the crop), takes the detection nearest the crop centre and
falls back to the margin box when there is none, counting the fallbacks (``detector_fallbacks``).

**Files.** ``save`` writes ``model.dat`` (dlib's own format) and a sidecar ``model.dat.json`` (the
box convention, margin, scheme and training options). A ``.dat`` without a sidecar is an external
predictor (e.g. ``shape_predictor_68_face_landmarks.dat``): it is evaluated with ``box =
"detector"`` unless told otherwise, and its scheme follows from its number of parts.

**Precision.** dlib stores landmarks and predictions as integer pixels, so training targets are
rounded to the nearest 256 px pixel and predictions come back on the integer grid (up to 0.5 px
at 256, i.e. 8 px at 4096, per axis). This is dlib's own behaviour and is kept.

Training runs in a forked child process so that Ctrl-C can stop it (dlib holds the GIL while it
trains) and so that dlib's progress output can drive a tqdm bar; it is not resumable — an
interrupted training starts again.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, fields, replace
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from baselines.dlib_train import train_shape_predictor
from facebench import __version__
from facebench.core import geometry
from facebench.core.errors import FacebenchError
from facebench.core.io import atomic_write_bytes
from facebench.core.prepared import DEFAULT_MARGIN, PreparedDataset
from facebench.core.schemes import Scheme, get_scheme, scheme_for_count
from facebench.method import Method, TrainContext
from facebench.nn.dataset import LandmarkDataset

BOX_CONVENTIONS = ("margin", "detector")


@dataclass(frozen=True)
class ERTOptions:
    """``dlib.shape_predictor_training_options`` (same names; defaults = dlib's documented ones)
    plus facebench's ``box`` convention."""

    cascade_depth: int = 10
    tree_depth: int = 4
    num_trees_per_cascade_level: int = 500
    nu: float = 0.1
    oversampling_amount: int = 20
    oversampling_translation_jitter: float = 0.0
    feature_pool_size: int = 400
    lambda_param: float = 0.1
    num_test_splits: int = 20
    feature_pool_region_padding: float = 0.0
    num_threads: int = 2          # this machine has 2 cores
    box: str = "margin"           # margin | detector (see the module docstring)
    mirror: int = 1               # 1: train on the training set plus its mirror image (flip permutation)

    def validate(self) -> "ERTOptions":
        """Raise FacebenchError for a value dlib would reject."""
        positive = ("cascade_depth", "tree_depth", "num_trees_per_cascade_level", "oversampling_amount",
                    "feature_pool_size", "num_test_splits", "num_threads")
        for name in positive:
            if getattr(self, name) < 1:
                raise FacebenchError(f"dlib-ert option {name} must be >= 1, got {getattr(self, name)}")
        if self.feature_pool_size < 2:
            raise FacebenchError(f"dlib-ert option feature_pool_size must be >= 2, got {self.feature_pool_size}")
        if not 0.0 < self.nu <= 1.0:
            raise FacebenchError(f"dlib-ert option nu must be in (0, 1], got {self.nu}")
        if self.lambda_param <= 0.0:
            raise FacebenchError(f"dlib-ert option lambda_param must be > 0, got {self.lambda_param}")
        if self.feature_pool_region_padding < 0.0 or self.oversampling_translation_jitter < 0.0:
            raise FacebenchError("dlib-ert options feature_pool_region_padding and "
                                 "oversampling_translation_jitter must be >= 0")
        if self.mirror not in (0, 1):
            raise FacebenchError(f"dlib-ert option mirror must be 0 or 1, got {self.mirror}")
        if self.box not in BOX_CONVENTIONS:
            raise FacebenchError(f"dlib-ert option box must be one of {', '.join(BOX_CONVENTIONS)}, got {self.box!r}")
        return self


# Per preset: paper and cpu = dlib's reference settings (the defaults of
# shape_predictor_training_options) on the training set and its mirror image (issue 13: the
# baseline at its own standard; the cpu preset used to cut trees to 100 and oversampling to 5);
# smoke = seconds.
PRESET_OPTIONS: dict[str, ERTOptions] = {
    "paper": ERTOptions(),
    "cpu": ERTOptions(),
    "smoke": ERTOptions(cascade_depth=2, tree_depth=2, num_trees_per_cascade_level=5, oversampling_amount=1,
                        feature_pool_size=50, num_test_splits=5),
}


def ert_options(preset: str, overrides: dict[str, Any] | None = None) -> ERTOptions:
    """The preset's options with ``overrides`` (keys = dlib's option names, or ``box``) applied."""
    if preset not in PRESET_OPTIONS:
        raise FacebenchError(f"dlib-ert has no options for preset {preset!r} (known: {', '.join(PRESET_OPTIONS)})")
    base = PRESET_OPTIONS[preset]
    types = {f.name: f.type for f in fields(ERTOptions)}
    changes: dict[str, Any] = {}
    for key, value in (overrides or {}).items():
        if key not in types:
            raise FacebenchError(f"unknown dlib-ert option {key!r} (known: {', '.join(types)})")
        changes[key] = _typed(key, value, types[key])
    return replace(base, **changes).validate()


def _typed(key: str, value: Any, kind: str) -> Any:
    """``value`` as the option's type (int / float / str), or a FacebenchError."""
    if kind == "str":
        return str(value)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not np.isfinite(value):
        raise FacebenchError(f"dlib-ert option {key} must be a number, got {value!r}")
    if kind == "int":
        if not float(value).is_integer():
            raise FacebenchError(f"dlib-ert option {key} must be an integer, got {value!r}")
        return int(value)
    return float(value)


def _dlib_options(opts: ERTOptions, seed: int, verbose: bool) -> Any:
    import dlib

    o = dlib.shape_predictor_training_options()
    for f in fields(ERTOptions):
        if f.name not in ("box", "mirror"):
            setattr(o, f.name, getattr(opts, f.name))
    o.random_seed = str(seed)
    o.be_verbose = verbose
    return o


# ---- face boxes ----------------------------------------------------------------------------------

def margin_box(size: int, margin: float) -> np.ndarray:
    """The landmark box (4,) inside a prepared ``size`` x ``size`` crop made with ``margin``."""
    return geometry.shrink_square_box(geometry.full_image_box(size), margin)


class FaceBoxes:
    """Face rectangles for dlib under one convention; counts detector fallbacks."""

    def __init__(self, convention: str, margin: float) -> None:
        import dlib

        self.convention, self.margin = convention, float(margin)
        self.detector = dlib.get_frontal_face_detector() if convention == "detector" else None
        self.fallbacks = 0

    def __call__(self, image: np.ndarray) -> Any:
        """image (S, S, 3) uint8 -> ``dlib.rectangle``."""
        import dlib

        size = image.shape[0]
        if self.detector is not None:
            found = list(self.detector(image, 0))
            if found:
                centre = (size - 1) * 0.5
                return min(found, key=lambda r: (r.center().x - centre) ** 2 + (r.center().y - centre) ** 2)
            self.fallbacks += 1
        return dlib.rectangle(*geometry.dlib_rectangle(margin_box(size, self.margin)))


# ---- the method ----------------------------------------------------------------------------------

class DlibERT(Method):
    """dlib's ensemble of regression trees; ``predict`` runs it on each crop (CPU, 2 threads)."""

    name: ClassVar[str] = "dlib-ert"
    family: ClassVar[str] = "ert"
    neural: ClassVar[bool] = False
    model_file: ClassVar[str] = "model.dat"
    native_res: ClassVar[bool] = False
    any_train_res: ClassVar[bool] = True     # trained at every R of the grid by `reproduce` (--train-res)

    def __init__(self, predictor: Any, scheme: Scheme | None, meta: dict[str, Any]) -> None:
        self.predictor = predictor
        self.meta = dict(meta)
        self.boxes = FaceBoxes(self.meta["box"], self.meta["margin"])
        self.scheme = scheme if scheme is not None else scheme_for_count(self._num_parts())

    @property
    def detector_fallbacks(self) -> int:
        """Images on which ``box = "detector"`` found no face and the margin box was used."""
        return self.boxes.fallbacks

    def run_info(self) -> dict[str, Any]:
        """What a run folder should record about this model besides its metrics."""
        return {"box": self.meta["box"], "margin": self.meta["margin"], "detector_fallbacks": self.detector_fallbacks,
                "train_detector_fallbacks": self.meta.get("train_detector_fallbacks")}

    def _num_parts(self) -> int:
        import dlib

        return self.predictor(np.zeros((32, 32, 3), np.uint8), dlib.rectangle(0, 0, 31, 31)).num_parts

    # -- train --------------------------------------------------------------------------------------

    @classmethod
    def train(cls, ctx: TrainContext) -> "DlibERT":
        """Fit on the train split's ``preset.holistic_res`` crops; options from ``ctx.options``."""
        from tqdm import tqdm

        data = PreparedDataset(ctx.data_root)
        opts = ert_options(ctx.preset.name, ctx.options)
        res = ctx.res   # the runner's training resolution: preset.holistic_res unless --train-res says otherwise
        # The same training samples as the neural baselines (LandmarkDataset's max_samples pick).
        rows = LandmarkDataset(data, "train", res, max_samples=ctx.preset.max_train_samples).rows
        if len(rows) == 0:
            raise FacebenchError("the prepared dataset has no training samples", data.root)
        margin = float(data.info["options"]["margin"])
        ids = list(rows["id"])
        images = [np.ascontiguousarray(data.load_image(i, res))
                  for i in tqdm(ids, desc="dlib-ert: load", unit="img", disable=not ctx.progress, leave=False)]
        points = np.rint(data.landmarks(rows, res)).astype(np.int64)  # (B, N, 2): dlib keeps integer parts
        boxes = FaceBoxes(opts.box, margin)
        rects = [_ltrb(boxes(im)) for im in images]
        if opts.mirror:
            images, rects, points = with_mirror_images(images, rects, points, data.scheme.flip_permutation())
        predictor = train_shape_predictor(images, rects, points, _dlib_options(opts, ctx.seed, ctx.progress),
                                          total_trees=opts.cascade_depth * opts.num_trees_per_cascade_level,
                                          progress=ctx.progress)
        meta = {"method": cls.name, "scheme": data.scheme.name, "box": opts.box, "margin": margin,
                "train_res": res, "train_samples": len(ids), "train_detector_fallbacks": boxes.fallbacks,
                "options": asdict(opts), "seed": ctx.seed, "facebench_version": __version__}
        return cls(predictor, data.scheme, meta)

    # -- files --------------------------------------------------------------------------------------

    def save(self, path: Path) -> None:
        """Write ``path`` (dlib's .dat) and ``path.json``; the sidecar first, so a .dat on disk always
        has its box convention beside it."""
        path = Path(path)
        atomic_write_bytes(_sidecar(path), (json.dumps(self.meta, indent=2, sort_keys=True) + "\n").encode())
        tmp = path.with_name(f".{path.name}.tmp{os.getpid()}")
        self.predictor.save(str(tmp))
        os.replace(tmp, path)

    @classmethod
    def load(cls, path: Path, device: str = "auto", *, box: str | None = None,
             margin: float | None = None) -> "DlibERT":
        """Load a .dat; with a sidecar (written by :meth:`save`) its box convention and margin are
        used; an external .dat defaults to ``box = "detector"`` and ``margin`` (prepare's margin of
        the data it will see, for the fallback box; prepare's default margin if not given).
        ``device`` is ignored: dlib runs on the CPU."""
        import dlib

        path = Path(path)
        if not path.is_file():
            raise FacebenchError("dlib model file not found", path)
        try:
            predictor = dlib.shape_predictor(str(path))
        except RuntimeError as err:
            raise FacebenchError(f"not a dlib shape predictor ({str(err).strip().splitlines()[0]})", path) from None
        sidecar = _sidecar(path)
        if sidecar.is_file():
            try:
                meta = json.loads(sidecar.read_text())
                scheme = get_scheme(meta["scheme"])
            except (ValueError, KeyError) as err:
                raise FacebenchError(f"unreadable dlib-ert sidecar ({err})", sidecar) from None
        else:
            meta, scheme = {"method": "external", "box": "detector", "margin": DEFAULT_MARGIN}, None
        if box is not None:
            meta["box"] = ert_options("cpu", {"box": box}).box
        if margin is not None:
            meta["margin"] = float(margin)
        model = cls(predictor, scheme, meta)
        if model.scheme.num_points != model._num_parts():
            raise FacebenchError(f"the model predicts {model._num_parts()} points but its sidecar says "
                                 f"{model.scheme.name}", path)
        return model

    @classmethod
    def load_for_data(cls, path: Path, device: str, data_options: dict, options: dict) -> "DlibERT":
        """A .dat to run on a prepared dataset: an external predictor's fallback box uses that
        dataset's margin; ``options["box"]`` (``--opt box=...``) overrides the box convention."""
        margin = data_options.get("margin") if not _sidecar(Path(path)).is_file() else None
        return cls.load(path, device, box=options.get("box"), margin=margin)

    # -- predict ------------------------------------------------------------------------------------

    def predict(self, images: np.ndarray) -> np.ndarray:
        """images (B, S, S, 3) uint8 RGB -> (B, N, 2) float64 landmarks in those images' px."""
        images = np.asarray(images)
        if images.ndim != 4 or images.shape[-1] != 3 or images.shape[1] != images.shape[2] or images.dtype != np.uint8:
            raise FacebenchError(f"dlib-ert expects (B, S, S, 3) uint8 images, got {images.shape} {images.dtype}")
        out = np.empty((len(images), self.scheme.num_points, 2), dtype=np.float64)
        for b, image in enumerate(images):
            image = np.ascontiguousarray(image)
            shape = self.predictor(image, self.boxes(image))
            out[b] = [(p.x, p.y) for p in shape.parts()]  # dlib's pixel centres are integers, as ours
        return out


def with_mirror_images(images: list[np.ndarray], rects: list[tuple[int, int, int, int]], points: np.ndarray,
                       flip_permutation: tuple[int, ...]) -> tuple[list[np.ndarray], list[tuple[int, int, int, int]],
                                                                    np.ndarray]:
    """The training set followed by its horizontal mirror image: images (S, S, 3) flipped, inclusive
    rectangles (l, t, r, b) -> (S-1-r, t, S-1-l, b), integer points (B, N, 2) x -> S-1-x and
    relabelled with the scheme's flip permutation (a left eye corner becomes a right one)."""
    side = [im.shape[1] for im in images]
    mirrored = [np.ascontiguousarray(im[:, ::-1]) for im in images]
    mrects = [(s - 1 - right, top, s - 1 - left, bottom) for s, (left, top, right, bottom) in zip(side, rects)]
    mpoints = points.copy()
    mpoints[..., 0] = np.asarray(side)[:, None] - 1 - points[..., 0]
    mpoints = mpoints[:, list(flip_permutation)]
    return images + mirrored, list(rects) + mrects, np.concatenate([points, mpoints])


def _ltrb(rect: Any) -> tuple[int, int, int, int]:
    """A dlib.rectangle's inclusive (left, top, right, bottom)."""
    return rect.left(), rect.top(), rect.right(), rect.bottom()


def _sidecar(path: Path) -> Path:
    return Path(path).with_name(Path(path).name + ".json")
