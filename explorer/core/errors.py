"""Errors a user can act on.

Every invalid input (a preset key, a data file, a command-line value) surfaces as a
`SpecError` that names where the problem is, so the CLI can print one `error:` line and
the window one message, and neither ever shows a traceback.
"""

from __future__ import annotations


class SpecError(ValueError):
    """Invalid user input: `key` is the dotted preset key (or option) at fault."""

    def __init__(self, key: str, message: str, path: str | None = None):
        self.key = key
        self.message = message
        self.path = path
        super().__init__(str(self))

    def with_path(self, path) -> "SpecError":
        return SpecError(self.key, self.message, str(path))

    def __str__(self) -> str:
        where = f"{self.path}: " if self.path else ""
        key = f"{self.key}: " if self.key else ""
        return f"{where}{key}{self.message}"


class DivergedError(RuntimeError):
    """Training produced a non-finite loss or weights; the weights were rolled back."""
