"""``facebench predict``: landmarks for photographs of any size with a trained run's model.

For each image: find the face (dlib's frontal face detector, or a box the user gives), turn it into
the square crop ``facebench prepare`` would have cut around that face's landmarks (the landmark
box, squared, grown by the run's dataset margin on each side, snapped to whole pixels, border
replicated outside the image), resample the crop to the run's resolution with area averaging,
predict, and map the points back into the photo with ``geometry.from_crop``; by default a second
pass re-crops around the first pass's points (the detector places a turned head's crop only to
~8-17 % of its side, see docs/bench/adc.md). Writes a 0-based ``.pts`` (facebench tag) and an
overlay PNG next to the image or into ``--out``.

**Every face.** Without a box, every face the detector finds is predicted, largest first (by the
detector rectangle's area), up to ``max_faces``. The largest face keeps the single-face names
``<stem>.pts`` / ``<stem>.landmarks.png``, so a photo of one person is written as before; the
next ones are ``<stem>.face1.pts``, ``<stem>.face2.pts``, ... (and ``.face1.landmarks.png``).
A box predicts exactly that one face. Photos in which no face is found are returned in
:attr:`PredictOutcome.no_face` (the CLI names each one and exits with 1); when no photo has a
face it is an error, raised before any file is written.

**Detector calibration.** dlib's rectangle is not the landmark box: it is a fixed-size square
placed by the detector's own training convention. :data:`DLIB_CALIBRATION` maps it to the
landmark box (``geometry.calibrated_box``: centre offset and side scale, both in units of the
rectangle's side). It was measured once with :func:`calibrate_from_capture` on synthetic
renders (``facebench synth``, see ``docs/bench/adc.md`` for the command and the spread) and is
used unchanged for every run; the margin, in contrast, is each run's own dataset margin.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Iterator, NamedTuple

import numpy as np

from facebench.core import geometry
from facebench.core.errors import FacebenchError
from facebench.core.io import atomic_write_bytes
from facebench.core.pixels import crop_pixels, resample
from facebench.core.pts import PREDICTION_TAG, read_pts, write_pts
from facebench.core.safety import check_crop_side, check_image_file_pixels, quiet_stderr
from facebench.eval import uncertainty
from facebench.eval.onnx_model import OnnxLandmarker
from facebench.run.guard import run_margin, run_model

DETECT_MAX_SIDE = 1024   # photos are shrunk to this longer side for detection (faces >= 80 px remain)


@dataclass(frozen=True)
class DetectorCalibration:
    """Detector rectangle -> landmark box: centre offset (dx, dy) and side scale, in units of the
    rectangle's side; ``spread`` is the fit's median absolute deviation of the three, ``n`` the
    number of faces it was measured on."""

    offset: tuple[float, float]
    scale: float
    n: int = 0
    spread: tuple[float, float, float] = (0.0, 0.0, 0.0)


# Measured with calibrate_from_capture on a synthetic studio capture (facebench synth: 7 subjects x
# 10 expressions x 4 cameras, 1280 px; all 280 faces found); see docs/bench/adc.md.
DLIB_CALIBRATION = DetectorCalibration(offset=(0.0085, 0.1092), scale=0.9901, n=280, spread=(0.1204, 0.0288, 0.0385))


@dataclass
class Prediction:
    """What ``predict_images`` did for one face of one photo."""

    image: Path
    face: int                 # 0: the largest face found (or the --box face), 1: the next largest, ...
    faces: int                # how many faces of this photo were predicted
    points: np.ndarray        # (N, 2) in the photo's pixels, 0-based
    crop_box: np.ndarray      # (4,) the square crop that was resampled to the run's resolution
    detected: bool            # True: dlib found the face; False: --box
    pts_path: Path
    overlay_path: Path
    spread_path: Path | None = None   # <stem>.uncertainty.json (methods with an uncertainty: the ADC family)


class PredictOutcome(NamedTuple):
    """What ``predict_images`` did: one :class:`Prediction` per face, and the photos without one."""

    predictions: list[Prediction]
    no_face: list[Path]       # photos in which the detector found no face (nothing written for them)


class FaceLandmarks(NamedTuple):
    """One face predicted in a photo (:func:`predict_face`)."""

    points: np.ndarray              # (N, 2) photo px, 0-based
    crop_box: np.ndarray            # (4,) the last pass's square crop
    covs: list[np.ndarray] | None   # per stage (N, 2, 2) photo px^2 covariances; None without an uncertainty


# ---- faces --------------------------------------------------------------------------------------

def face_detector():
    """dlib's frontal (HOG) face detector."""
    import dlib

    return dlib.get_frontal_face_detector()


def detect_faces(image: np.ndarray, detector: Any = None, max_side: int = DETECT_MAX_SIDE) -> list[np.ndarray]:
    """Every frontal face in an (H, W, 3) uint8 RGB image as dlib's rectangle -> box (4,) in the
    image's pixels, largest first (ties: left to right); [] when there is none. Large photos are
    shrunk to ``max_side`` for the detector; small ones get one 2x upsampling pass when nothing is
    found at their own size."""
    import cv2

    detector = detector or face_detector()
    height, width = image.shape[:2]
    factor = min(1.0, max_side / max(height, width))
    size = (max(1, round(width * factor)), max(1, round(height * factor)))
    small = image if factor == 1.0 else cv2.resize(image, size, interpolation=cv2.INTER_AREA)
    small = np.ascontiguousarray(small)
    upsample_passes = (0, 1) if max(small.shape[:2]) < 640 else (0,)
    for upsample in upsample_passes:
        rects = sorted(detector(small, upsample), key=lambda r: (-r.width() * r.height(), r.left(), r.top()))
        if rects:
            sizes = (np.array([small.shape[1], small.shape[0]], float), np.array([width, height], float))
            return [geometry.rescale_boxes(geometry.box_from_dlib_rectangle(r.left(), r.top(), r.right(), r.bottom()),
                                           *sizes) for r in rects]
    return []


def detect_face(image: np.ndarray, detector: Any = None, max_side: int = DETECT_MAX_SIDE) -> np.ndarray | None:
    """The largest face of :func:`detect_faces`, or None."""
    faces = detect_faces(image, detector, max_side)
    return faces[0] if faces else None


def landmark_box(detection: np.ndarray, calibration: DetectorCalibration = DLIB_CALIBRATION) -> np.ndarray:
    """A detector rectangle (4,) -> the (square) box of the face's landmarks it predicts."""
    return geometry.calibrated_box(detection, calibration.offset, calibration.scale)


def face_crop_box(points_box: np.ndarray, margin: float) -> np.ndarray:
    """The crop ``facebench prepare`` cuts around a landmark box (4,): squared, ``margin`` of its
    longer side added on each side, snapped to whole pixels."""
    return geometry.snap_to_pixels(geometry.square_box(points_box, margin=margin))


def crop_face(image: np.ndarray, crop_box: np.ndarray, res: int) -> np.ndarray:
    """The pixels of a pixel-aligned square crop box (border replicated) at ``res x res``,
    resampled exactly as ``facebench prepare`` does (area averaging down)."""
    return np.ascontiguousarray(resample(crop_pixels(image, crop_box), res))


# ---- calibration --------------------------------------------------------------------------------

def calibrate_detector(samples: Iterable[tuple[np.ndarray, np.ndarray]], detector: Any = None) -> DetectorCalibration:
    """Fit :class:`DetectorCalibration` from (image (H, W, 3) RGB, landmarks (N, 2)) pairs: the
    median over faces of (landmark-box centre - rectangle centre) / side and of landmark-box
    longer side / rectangle side. Faces the detector misses are skipped."""
    detector = detector or face_detector()
    rows = []
    for image, points in samples:
        det = detect_face(image, detector)
        if det is None:
            continue
        tight = geometry.points_box(np.asarray(points, dtype=np.float64))
        side = float(det[2] - det[0])
        rows.append(((tight[0] + tight[2] - det[0] - det[2]) * 0.5 / side,
                     (tight[1] + tight[3] - det[1] - det[3]) * 0.5 / side,
                     max(tight[2] - tight[0], tight[3] - tight[1]) / side))
    if not rows:
        raise FacebenchError("the detector found no face in any calibration image")
    a = np.asarray(rows)
    med = np.median(a, axis=0)
    mad = np.median(np.abs(a - med), axis=0)
    return DetectorCalibration(offset=(round(float(med[0]), 4), round(float(med[1]), 4)), scale=round(float(med[2]), 4),
                               n=len(rows), spread=tuple(round(float(v), 4) for v in mad))


def capture_samples(folder: Path, limit: int | None = None) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """(image RGB, landmarks) of a studio capture laid out as ``<subject>/<expression>/<camera>``."""
    images = sorted(p for p in Path(folder).glob("*/*/*")
                    if p.suffix.lower() in (".png", ".jpg", ".jpeg", ".tif", ".tiff"))
    for path in images[:limit]:
        yield read_rgb(path), read_pts(path.with_suffix(".pts"))


def calibrate_from_capture(folder: Path, limit: int | None = None) -> DetectorCalibration:
    """:func:`calibrate_detector` over a studio capture folder (e.g. ``facebench synth`` output)."""
    return calibrate_detector(capture_samples(folder, limit))


# ---- photos and runs ----------------------------------------------------------------------------

def read_rgb(path: Path) -> np.ndarray:
    """Decode an image file -> (H, W, 3) uint8 RGB; a clear error when it cannot be read."""
    import cv2

    if not Path(path).is_file():
        raise FacebenchError("image not found", path)
    check_image_file_pixels(Path(path))   # before decoding: a header may declare 400 MP
    with quiet_stderr():   # libpng's own error lines would break the one-line message
        image = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if image is None:
        raise FacebenchError("cannot decode image (corrupt or not an image)", path)
    return cv2.cvtColor(image, cv2.COLOR_BGR2RGB)


def parse_box(text: str) -> np.ndarray:
    """``"x1,y1,x2,y2"`` -> box (4,); FacebenchError when malformed."""
    try:
        values = [float(v) for v in text.split(",")]
    except ValueError:
        values = []
    if len(values) != 4 or not np.isfinite(values).all() or values[2] <= values[0] or values[3] <= values[1]:
        raise FacebenchError(f"--box must be x1,y1,x2,y2 with x2 > x1 and y2 > y1, got {text!r}")
    return np.asarray(values, dtype=np.float64)


@dataclass
class LoadedRun:
    model: Any               # a facebench.methods.Method
    res: int                 # the side the model is fed (the run's resolution; 256 for holistic methods)
    margin: float            # the run's dataset crop margin
    note: str | None = None  # said to the user (e.g. a margin fallback)


def load_run(run: Path, device: str = "auto") -> LoadedRun:
    """The model of a run folder, the resolution it is fed at and its dataset's crop margin."""
    config, cls, model_file = run_model(run)
    model = cls.load(model_file, device=device)
    res = int(config["res"]) if cls.native_res else int(config.get("train_res", 256))
    margin, note = run_margin(config)
    return LoadedRun(model, res, margin, note)


def load_onnx(path: Path) -> LoadedRun:
    """A model exported by ``facebench export --onnx``, run by onnxruntime (no torch model code)."""
    model = OnnxLandmarker(path)
    return LoadedRun(model, model.res, model.margin)


def output_paths(image: Path, out: Path | None, face: int = 0) -> tuple[Path, Path]:
    """(``.pts``, overlay) paths of face ``face`` of ``image``: ``<stem>.pts`` and
    ``<stem>.landmarks.png`` for the largest face, ``<stem>.face<k>.pts`` and
    ``<stem>.face<k>.landmarks.png`` for the k-th next one; beside the image or in ``out``."""
    folder = image.parent if out is None else out
    stem = image.stem if face == 0 else f"{image.stem}.face{face}"
    return folder / f"{stem}.pts", folder / f"{stem}.landmarks.png"


def _check_out_folder(out: Path | None) -> None:
    if out is not None and Path(out).exists() and not Path(out).is_dir():
        raise FacebenchError("--out must be a folder, and this is a file", out)


def _check_outputs(faces: list[tuple[Path, int]], out: Path | None) -> None:
    """Refuse before any file is written: two (photo, face) pairs writing one file, or clobbering
    a .pts not ours."""
    seen: dict[Path, Path] = {}
    for image, face in faces:
        pts, overlay = output_paths(image, out, face)
        if pts in seen:
            raise FacebenchError(f"{seen[pts]} and {image} would both write {pts.name} (use separate --out folders)",
                                 image)
        seen[pts] = image
        if pts.is_dir() or overlay.is_dir():
            raise FacebenchError("is a folder where predict writes a file; use --out DIR",
                                 pts if pts.is_dir() else overlay)
        if pts.exists() and PREDICTION_TAG not in pts.read_text(errors="replace"):
            raise FacebenchError(f"{pts} was not written by `facebench predict` (an annotation?); "
                                 "refusing to overwrite it, use --out DIR", image)


def overlay_sizes(shape: tuple[int, ...], side: float) -> tuple[int, int]:
    """(marker radius, line width) in px for an overlay of an image of ``shape`` (H, W, ...) whose
    face crop is ``side`` px: proportional to the image's longer side (2 px per 1000 px, so the
    points stay visible when a 4K photo is shown whole), but a radius of at most side / 100 so the
    68+ markers of a small face in a large photo do not merge into one blob."""
    scale = max(shape[0], shape[1]) / 1000.0
    radius = max(1, min(round(2 * scale), round(side / 100)))
    return radius, max(1, round(2 * scale))


def draw_overlay(image: np.ndarray, points: np.ndarray, crop_box: np.ndarray,
                 cov: np.ndarray | None = None) -> np.ndarray:
    """(H, W, 3) RGB copy of ``image`` with the crop box and the landmarks drawn, markers and lines
    sized with the image (:func:`overlay_sizes`); with ``cov`` (N, 2, 2) photo px, each point's
    1-sigma uncertainty ellipse too."""
    import cv2

    canvas = np.ascontiguousarray(image.copy())
    radius, thick = overlay_sizes(image.shape, float(crop_box[2] - crop_box[0]))
    c0, r0, w, h = geometry.pixel_window(crop_box)
    cv2.rectangle(canvas, (c0, r0), (c0 + w - 1, r0 + h - 1), (255, 200, 0), thick)
    for x, y in points:
        cv2.circle(canvas, (int(round(x * 16)), int(round(y * 16))), radius * 16, (0, 255, 0), -1, cv2.LINE_AA, 4)
    if cov is not None:
        uncertainty.draw_ellipses(canvas, points, cov, thick)
    return canvas


def predict_face(photo: np.ndarray, face: np.ndarray, loaded: LoadedRun, passes: int = 2,
                 path: Path | None = None) -> FaceLandmarks:
    """Landmarks of the face whose landmark box (4,) is ``face`` in an (H, W, 3) RGB photo:
    ``passes`` 1 predicts on the crop ``face`` places; each further pass re-crops around the
    previous pass's landmarks as ``facebench prepare`` crops around annotated ones. ``path``
    names the photo in errors."""
    if passes < 1:
        raise FacebenchError(f"passes must be >= 1, got {passes}")
    crop_box = face_crop_box(face, loaded.margin)
    check_crop_side(float(crop_box[2] - crop_box[0]), path, "face crop (--box plus the margin)")
    for done in range(1, passes + 1):
        crop = crop_face(photo, crop_box, loaded.res)
        with_spread = loaded.model.predict_spread(crop[None])   # None: no uncertainty (e.g. dlib, ONNX)
        in_crop = loaded.model.predict(crop[None])[0] if with_spread is None else with_spread[0][0]
        points = geometry.from_crop(in_crop, crop_box, loaded.res)  # (N, 2) photo px
        covs = None if with_spread is None else [c[0] * ((crop_box[2] - crop_box[0]) / loaded.res) ** 2
                                                 for c in with_spread[1:]]
        if done < passes:
            # Re-crop around these landmarks: the crop prepare would cut around them (the
            # detector places the crop only to ~8 % of its side, docs/bench/adc.md) -- unless
            # the points are implausibly spread, when the crop they give is no better.
            again = face_crop_box(geometry.points_box(points), loaded.margin)
            if not 0.5 <= (again[2] - again[0]) / (crop_box[2] - crop_box[0]) <= 2.0:
                break
            crop_box = again
    return FaceLandmarks(points, crop_box, covs)


def _faces_of(path: Path, box: np.ndarray | None, detector: Any, max_faces: int | None) -> list[np.ndarray]:
    """The landmark boxes to predict in one photo: ``box`` (checked against the photo) or the
    detector's faces, largest first, at most ``max_faces``."""
    photo = read_rgb(path)
    if box is not None:
        if box[2] <= 0 or box[3] <= 0 or box[0] >= photo.shape[1] or box[1] >= photo.shape[0]:
            raise FacebenchError(f"--box lies outside the {photo.shape[1]}x{photo.shape[0]} image", path)
        return [box]
    return [landmark_box(found) for found in detect_faces(photo, detector)[:max_faces]]


def predict_images(images: list[Path], run: Path | None, out: Path | None = None, box: np.ndarray | None = None,
                   device: str = "auto", passes: int = 2, progress: bool = True,
                   onnx: Path | None = None, max_faces: int | None = None) -> PredictOutcome:
    """Landmarks for every face of each photo with ``run``'s model; writes ``<stem>.pts`` and
    ``<stem>.landmarks.png`` (the largest face) and ``<stem>.face<k>.pts`` /
    ``<stem>.face<k>.landmarks.png`` (the k-th next largest) next to each photo or into ``out``.
    ``box``: the face's landmark box (x1, y1, x2, y2) in photo pixels for every photo instead of
    detecting faces (exactly that one face). ``max_faces``: predict at most that many faces per
    photo (the largest). ``passes``: see :func:`predict_face`. ``onnx``: an exported model file
    (``facebench export --onnx``) that predicts instead of ``run``'s model.

    Every photo is read and searched for faces, and every output path checked, before the first
    file is written; when no photo has a face that is a FacebenchError."""
    if passes < 1:
        raise FacebenchError(f"passes must be >= 1, got {passes}")
    if max_faces is not None and max_faces < 1:
        raise FacebenchError(f"max_faces must be >= 1, got {max_faces}")
    import cv2
    from tqdm import tqdm

    images = [Path(p) for p in images]
    for image in images:
        if not image.is_file():
            raise FacebenchError("image not found", image)
    _check_out_folder(out)
    _check_outputs([(image, 0) for image in images], out)   # cheap checks first: before the detector runs
    loaded = load_run(run, device) if onnx is None else load_onnx(onnx)
    if loaded.note and progress:
        print(f"note: {loaded.note}", file=sys.stderr)
    detector = None if box is not None else face_detector()
    bar = dict(file=sys.stderr, disable=not progress or len(images) < 2, unit="image")
    faces = {path: _faces_of(path, box, detector, max_faces) for path in tqdm(images, desc="detect", **bar)}
    no_face = [path for path in images if not faces[path]]
    if len(no_face) == len(images):
        hint = "give the face's landmark box with --box x1,y1,x2,y2"
        if len(images) == 1:
            raise FacebenchError(f"no face found ({hint})", images[0])
        raise FacebenchError(f"no face found in any of the {len(images)} images ({hint})")
    _check_outputs([(path, k) for path in images for k in range(len(faces[path]))], out)
    results = []
    for path in tqdm([p for p in images if faces[p]], desc="predict", **bar):
        photo = read_rgb(path)
        for k, face in enumerate(faces[path]):
            found = predict_face(photo, face, loaded, passes, path)
            pts_path, overlay_path = output_paths(path, out, k)
            pts_path.parent.mkdir(parents=True, exist_ok=True)   # only now: a refused input leaves no folder
            write_pts(pts_path, found.points, comment=PREDICTION_TAG)
            spread_path = None if found.covs is None else pts_path.with_suffix(".uncertainty.json")
            if found.covs is not None:
                uncertainty.write_sidecar(spread_path, found.points, *found.covs)
            final = None if found.covs is None else uncertainty.final_covariance(*found.covs)
            overlay = draw_overlay(photo, found.points, found.crop_box, final)
            ok, png = cv2.imencode(".png", cv2.cvtColor(overlay, cv2.COLOR_RGB2BGR))
            if not ok:
                raise FacebenchError("cannot encode the overlay image", overlay_path)
            atomic_write_bytes(overlay_path, png.tobytes())
            results.append(Prediction(path, k, len(faces[path]), found.points, found.crop_box, box is None,
                                      pts_path, overlay_path, spread_path))
    return PredictOutcome(results, no_face)
