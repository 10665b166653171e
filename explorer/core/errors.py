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
        # Always one line: a key or file name typed with a newline is shown escaped.
        where = f"{_printable(str(self.path))}: " if self.path else ""
        key = f"{_printable(self.key)}: " if self.key else ""
        return f"{where}{key}{' '.join(str(self.message).splitlines())}"


def _printable(s: str) -> str:
    return s if s.isprintable() else repr(s)[1:-1]


class DivergedError(RuntimeError):
    """Training produced a non-finite loss or weights; the weights were rolled back.

    `step` is the step whose loss was not finite, `reason` what happened, in words."""

    def __init__(self, message: str, step: int | None = None, reason: str | None = None):
        super().__init__(message)
        self.step = step
        self.reason = reason


class OutputError(OSError):
    """A result file could not be written (disk full, read-only, ...): the input was fine,
    the place it goes was not, so the CLI names the file and the cause, without a traceback."""

    def __init__(self, path, cause: OSError):
        super().__init__(cause.errno, cause.strerror)
        self.path = str(path)
        self.cause = cause

    def __str__(self) -> str:
        import errno
        if self.cause.errno == errno.ENOSPC:
            return f"no space left on device writing {self.path}"
        return f"cannot write {self.path}: {self.cause.strerror or self.cause}"


class PluginFault(RuntimeError):
    """A plugin that loaded but then computed nonsense (a NaN score, NaN weights, samples of
    the wrong shape): the message names the plugin and its entry point. Exit status 1."""
