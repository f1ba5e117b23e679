"""``facebench export RUN --onnx FILE``: a trained ADC-family run as one ONNX graph (global stage,
region boxes, RoI crops, regional stage; :class:`adc_model.export_graph.PortableADC`) that takes the
full-resolution image, (1, R, R, 3) uint8 RGB, and returns ``landmarks`` (1, N, 2) float64 in its
pixels, plus ``coarse`` (1, N, 2), ``boxes`` (1, 4, 4) and the covariances ``cov_global`` /
``cov_regional`` (1, N, 2, 2). See docs/export.md.

Exporter: torch's TorchScript-based exporter (``torch.onnx.export(..., dynamo=False)``). The graph
has static shapes only (R is fixed at export), which is what tracing records exactly; the
dynamo-based exporter (torch's default since 2.9) would also need the onnxscript package.
"""

from __future__ import annotations

import os
import warnings
from pathlib import Path

import torch

from adc_model.export_graph import OUTPUT_NAMES, PortableADC, proxy_factor
from facebench import __version__
from facebench.core.errors import FacebenchError
from facebench.eval.onnx_model import META_PREFIX, require
from facebench.run.guard import run_margin, run_model

try:
    import onnx
except ImportError:   # the optional extra is not installed: said by export_onnx
    onnx = None

OPSET = 17


def export_onnx(run: Path, out: Path, res: int | None = None) -> dict[str, str]:
    """Write ``run``'s ADC model as an ONNX graph for (1, R, R, 3) uint8 images to ``out``
    (R: ``res`` or the run's resolution); returns the metadata stored in the file."""
    require(onnx, "onnx")
    config, cls, model_file = run_model(run)
    if cls.family != "adc":
        raise FacebenchError(f"only ADC-family runs can be exported to ONNX, this is a {cls.name} run", run)
    method = cls.load(model_file, device="cpu")
    res = int(config["res"]) if res is None else int(res)
    try:
        proxy_factor(res, method.config.model.proxy)
    except ValueError as err:
        raise FacebenchError(str(err)) from None
    margin, _ = run_margin(config)
    meta = {"res": str(res), "margin": repr(margin), "method": cls.name, "scheme": method.scheme.name,
            "num_points": str(method.scheme.num_points), "input": "image (1, R, R, 3) uint8 RGB",
            "outputs": ", ".join(OUTPUT_NAMES), "version": __version__, "run": str(run)}
    graph = PortableADC(method.net.cpu().eval(), res)
    example = torch.full((1, res, res, 3), 128, dtype=torch.uint8)
    out = Path(out)
    if out.is_dir():
        raise FacebenchError("--onnx must be a file name, and this is a folder", out)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.name}.tmp{os.getpid()}")
    try:
        with warnings.catch_warnings(), torch.no_grad():
            warnings.simplefilter("ignore")   # the legacy exporter's deprecation and tracer notes
            torch.onnx.export(graph, (example,), str(tmp), dynamo=False, opset_version=OPSET,
                              input_names=["image"], output_names=list(OUTPUT_NAMES))
        model = onnx.load(str(tmp))
        for key, value in meta.items():
            model.metadata_props.add(key=META_PREFIX + key, value=value)
        onnx.save(model, str(tmp))
        os.replace(tmp, out)
    finally:
        tmp.unlink(missing_ok=True)
    return meta
