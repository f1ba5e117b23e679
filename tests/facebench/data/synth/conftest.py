"""Shared, session-cached synthetic faces for the synth tests (building one takes ~0.5 s)."""

from __future__ import annotations

import pytest

from facebench.data.synth.render import make_assets, mesh_spacing
from facebench.data.synth.rig import make_rig
from facebench.data.synth.subject import make_subject


@pytest.fixture(scope="session")
def assets384():
    """Subject 0 of seed 0, prepared for 384 px renders, and the 8-camera rig at 384 px."""
    rig = make_rig(8, 384, 0)
    return make_assets(0, make_subject(0, 0), mesh_spacing(384, rig[0]), 384), rig
