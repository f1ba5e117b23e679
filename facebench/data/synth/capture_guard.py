"""``facebench synth`` into a folder that already holds a capture: only the same capture may be
continued (an interrupted run) or extended; another seed, size, format, noise, look, wild_off, or fewer subjects /
expressions / cameras would leave old images beside a ``capture.json`` that no longer describes
them, so it is refused, naming what differs."""

from __future__ import annotations

import json
from pathlib import Path

from facebench.core.errors import FacebenchError

CAPTURE_JSON = "capture.json"
MUST_MATCH = ("seed", "size", "image_format", "annotator_noise", "cameras", "look",   # the rig spreads the cameras
              "wild_off")
BEFORE = {"look": "studio", "wild_off": []}    # settings that captures made before they existed had
MAY_GROW = ("subjects", "expressions")


def check_same_capture(out: Path, cfg) -> None:
    """Refuse to synthesize ``cfg`` into ``out`` when it holds a capture made with other settings."""
    path = Path(out) / CAPTURE_JSON
    if not path.exists():
        if any(Path(out).glob("*/*/*.pts")):
            raise FacebenchError("holds landmark files but no capture.json (not a facebench synth capture); "
                                 "choose an empty folder", out)
        return
    try:
        old = json.loads(path.read_text()).get("config", {})
    except (OSError, ValueError, AttributeError) as err:
        raise FacebenchError(f"unreadable ({err.__class__.__name__}); choose an empty folder", path) from None
    new = cfg.to_dict()
    old = {**BEFORE, **old}
    diff = [f"{k} {old.get(k)!r} -> {new[k]!r}" for k in MUST_MATCH if old.get(k) != new[k]]
    diff += [f"{k} {old.get(k)!r} -> {new[k]!r} (fewer)" for k in MAY_GROW
             if isinstance(old.get(k), int) and new[k] < old[k]]
    if diff:
        raise FacebenchError(f"holds a capture made with other settings ({'; '.join(diff)}); its images would "
                             "be mixed with the new ones: choose another folder or delete this one", out)
