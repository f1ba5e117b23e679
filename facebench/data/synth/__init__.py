"""Procedural multi-view studio capture generator (``facebench synth``).

``generate.generate(out, config.SynthConfig(...))`` writes ``OUT/<subject>/<expression>/<camera>.png`` with a
sibling ``.pts`` (scheme ``studio89``, 0-based, exact sub-pixel projections) and
``OUT/capture.json``. Each subject is its own parametric 3-D head; 24 named expressions deform it;
8 calibrated cameras on an arc view it under studio lighting. See docs/landmarks.md.
"""
