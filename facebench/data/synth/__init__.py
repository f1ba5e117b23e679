"""Procedural multi-view studio capture generator (``facebench synth``).

``generate(out, SynthConfig(...))`` writes ``OUT/<subject>/<expression>/<camera>.png`` with a
sibling ``.pts`` (scheme ``studio89``, 0-based, exact sub-pixel projections) and
``OUT/capture.json``. Each subject is its own parametric 3-D head; 24 named expressions deform it;
8 calibrated cameras on an arc view it under studio lighting. See docs/landmarks.md.
"""

from facebench.synth.config import SynthConfig
from facebench.synth.expressions import EXPRESSION_NAMES
from facebench.synth.generate import generate

__all__ = ["SynthConfig", "generate", "EXPRESSION_NAMES"]
