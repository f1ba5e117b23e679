"""The studio look is the capture as it was before the wild look existed: the same settings give
the same pictures and the same landmarks as the code at the start of the synth-domain branch.

The reference (``studio_look_reference.npz``) holds, per capture below, every image's 32 x 32 area
average (float16) and every landmark file's points, in path order. It was recorded with the code
of 5d0500e, whose renders hashed (sha256 of decoded pixels and .pts bytes) to the digests recorded
at b780922 on the machine of that time. Exact pixel hashes are not compared: the renderer's float
arithmetic goes through numpy's and OpenCV's SIMD kernels, which are chosen per CPU, and another
machine (or OpenCV build) changes a few pixels by one grey level, which the area average keeps
below 0.1. A real change to the look (lighting, skin, geometry, framing) moves it by far more.
"""

from pathlib import Path

import cv2
import numpy as np
import pytest

from facebench.core.pts import read_pts
from facebench.data.synth.config import SynthConfig
from facebench.data.synth.generate import generate

REFERENCE = Path(__file__).with_name("studio_look_reference.npz")
THUMB = 32
CAPTURES = {
    "small": SynthConfig(subjects=2, expressions=2, cameras=2, size=160, seed=3),
    # above 1024 px: shaded at a working resolution, composed with detail windows
    "windows": SynthConfig(subjects=1, expressions=1, cameras=1, size=1100, seed=1, appearance="stratified",
                           annotator_noise=0.5),
}


def fingerprint(root: Path) -> tuple[np.ndarray, np.ndarray]:
    """(K, 32, 32, 3) float32 area averages of the K images and (K, N, 2) their landmarks, path order."""
    images = sorted(root.rglob("*.png"))
    thumbs = [cv2.resize(cv2.imread(str(p), cv2.IMREAD_UNCHANGED).astype(np.float32), (THUMB, THUMB),
                         interpolation=cv2.INTER_AREA) for p in images]
    points = [read_pts(p.with_suffix(".pts")) for p in images]
    return np.stack(thumbs), np.stack(points)


@pytest.mark.parametrize("name", sorted(CAPTURES))
def test_studio_renders_are_unchanged(tmp_path, name):
    generate(tmp_path / name, CAPTURES[name], workers=1, progress=False)
    thumbs, points = fingerprint(tmp_path / name)
    ref = np.load(REFERENCE)
    assert thumbs.shape == ref[f"{name}_thumbs"].shape
    # within half a grey level of a 32 x 32 area average
    assert np.abs(thumbs - ref[f"{name}_thumbs"].astype(np.float32)).max() < 0.5
    np.testing.assert_allclose(points, ref[f"{name}_points"], atol=1e-3)
    assert not list((tmp_path / name).rglob("*.occluded.json"))    # no sidecars in a studio capture


def test_the_fingerprint_sees_a_change_of_look(tmp_path):
    """The tolerance is not so loose that another studio capture passes: another seed fails."""
    cfg = CAPTURES["small"]
    generate(tmp_path / "other", SynthConfig(subjects=cfg.subjects, expressions=cfg.expressions,
                                             cameras=cfg.cameras, size=cfg.size, seed=cfg.seed + 1),
             workers=1, progress=False)
    thumbs, _ = fingerprint(tmp_path / "other")
    assert np.abs(thumbs - np.load(REFERENCE)["small_thumbs"].astype(np.float32)).max() > 5.0
