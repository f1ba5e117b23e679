"""Error text for the command line: always one line (docs/reliability.md)."""

from __future__ import annotations

import os
import traceback

MAX_CHARS = 400
TRACEBACK_ENV = "FACEBENCH_TRACEBACK"


def one_line(message: str) -> str:
    """The first line of ``message`` (a library's multi-line text is cut there), at most
    :data:`MAX_CHARS` characters."""
    lines = [ln.strip() for ln in str(message).splitlines() if ln.strip()]
    text = lines[0] if lines else "(no message)"
    if len(lines) > 1 and text.count("(") > text.count(")"):
        text += " ...)"
    return text if len(text) <= MAX_CHARS else text[:MAX_CHARS - 3] + "..."


def internal_error(err: BaseException) -> str:
    """The one line for an unexpected exception (a facebench bug): its class and first line; the
    traceback goes to stderr only when ``FACEBENCH_TRACEBACK=1``."""
    if os.environ.get(TRACEBACK_ENV) == "1":
        traceback.print_exception(err)
    return (f"internal error ({err.__class__.__name__}: {one_line(str(err))}); please report it "
            f"(set {TRACEBACK_ENV}=1 to see where)")
