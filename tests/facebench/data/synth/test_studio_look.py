"""The studio look is the capture as it was before the wild look existed: the same settings give
the same pixels and the same landmark files as the code at the start of the synth-domain branch
(checksums recorded with that code, commit b780922)."""

import hashlib

import cv2
import pytest

from facebench.data.synth.config import SynthConfig
from facebench.data.synth.generate import generate

# sha256 over every image's decoded pixels then its .pts bytes, in path order (decoded pixels, not
# PNG bytes, so another zlib build cannot change the answer).
RECORDED = {
    "small": (SynthConfig(subjects=2, expressions=2, cameras=2, size=160, seed=3),
              "18b7e135cc4e265661f6ed9bae1b5672b23e4051b76f876db75dbf1ea2b572e6"),
    # above 1024 px: shaded at a working resolution, composed with detail windows
    "windows": (SynthConfig(subjects=1, expressions=1, cameras=1, size=1100, seed=1, appearance="stratified",
                            annotator_noise=0.5),
                "aec3883e905e8a7462aaad16cd66fcd0fb552deddb56275efbb78e1e6d91cde3"),
}


def digest(root) -> str:
    h = hashlib.sha256()
    for p in sorted(root.rglob("*.png")):
        h.update(cv2.imread(str(p), cv2.IMREAD_UNCHANGED).tobytes())
        h.update(p.with_suffix(".pts").read_bytes())
    return h.hexdigest()


@pytest.mark.parametrize("name", sorted(RECORDED))
def test_studio_renders_are_unchanged(tmp_path, name):
    cfg, expected = RECORDED[name]
    generate(tmp_path / name, cfg, workers=1, progress=False)
    assert digest(tmp_path / name) == expected
    assert not list((tmp_path / name).rglob("*.occluded.json"))    # no sidecars in a studio capture
