"""A landmark model exported by ``facebench export --onnx`` (:mod:`facebench.run.export`), run with
onnxruntime: no torch model code is involved. The file carries what ``facebench predict`` needs
beside the graph in its metadata (``facebench.*`` keys): the resolution R the graph takes, the run's
dataset crop margin, the method and the landmark scheme.

onnxruntime is an optional dependency (``pip install 'facebench[onnx]'``); without it the first use
says so in one line.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from facebench.core.errors import FacebenchError

try:
    import onnxruntime
except ImportError:   # the optional extra is not installed: said when an ONNX file is used
    onnxruntime = None

INSTALL_HINT = "pip install 'facebench[onnx]' (or: pip install onnx onnxruntime)"
META_PREFIX = "facebench."


def require(package: object, name: str) -> None:
    """FacebenchError naming the missing package and how to install it when ``package`` is None."""
    if package is None:
        raise FacebenchError(f"ONNX support needs the {name} package, which is not installed: {INSTALL_HINT}")


class OnnxLandmarker:
    """``predict(images (B, R, R, 3) uint8) -> (B, N, 2)`` float64, like a facebench Method."""

    def __init__(self, path: Path) -> None:
        require(onnxruntime, "onnxruntime")
        path = Path(path)
        if not path.is_file():
            raise FacebenchError("ONNX model file not found", path)
        try:
            self.session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
        except Exception as err:   # noqa: BLE001 - a foreign or truncated file: one line for the user
            raise FacebenchError(f"cannot load the ONNX model ({type(err).__name__}: {str(err)[:200]})", path) from None
        meta = {k[len(META_PREFIX):]: v for k, v in self.session.get_modelmeta().custom_metadata_map.items()
                if k.startswith(META_PREFIX)}
        if "res" not in meta or "margin" not in meta:
            raise FacebenchError("not an ONNX model written by `facebench export` (no facebench metadata)", path)
        self.path = path
        self.meta = meta
        self.res = int(meta["res"])
        self.margin = float(meta["margin"])
        self.input_name = self.session.get_inputs()[0].name
        self.output_names = [o.name for o in self.session.get_outputs()]

    def run(self, image: np.ndarray) -> dict[str, np.ndarray]:
        """Every output of the graph for one image (R, R, 3) uint8, by name."""
        if image.shape != (self.res, self.res, 3) or image.dtype != np.uint8:
            raise ValueError(f"expected a ({self.res}, {self.res}, 3) uint8 image, got {image.shape} {image.dtype}")
        outputs = self.session.run(None, {self.input_name: np.ascontiguousarray(image)[None]})
        return {name: value[0] for name, value in zip(self.output_names, outputs)}

    def predict_spread(self, images: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
        """(landmarks, global covariance, regional covariance) like ``Method.predict_spread``; None for
        a graph exported without the covariance outputs."""
        if not {"cov_global", "cov_regional"} <= set(self.output_names):
            return None
        outs = [self.run(img) for img in images]
        points, cov_global, cov_regional = (np.stack([o[k].astype(np.float64) for o in outs])
                                            for k in ("landmarks", "cov_global", "cov_regional"))
        return points, cov_global, cov_regional

    def predict(self, images: np.ndarray) -> np.ndarray:
        return np.stack([self.run(img)["landmarks"].astype(np.float64) for img in images])
