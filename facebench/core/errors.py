"""The one exception type for user mistakes: the CLI prints it as one line and exits non-zero."""

from __future__ import annotations

from pathlib import Path


class FacebenchError(Exception):
    """A problem with the user's input (a file, an option, a folder), said in one line.

    ``path`` names the offending file or folder when there is one; ``str(err)`` is the whole
    message, path first, e.g. ``data/s01/neutral/cam0.pts: expected 68 points, found 67``.
    """

    def __init__(self, message: str, path: str | Path | None = None) -> None:
        self.path = None if path is None else str(path)
        self.message = message
        super().__init__(f"{self.path}: {message}" if self.path else message)
