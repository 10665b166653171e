"""What the subcommands share: an argument parser that fails in one line, the progress bar,
and the flag named instead of the preset key a command-line value was written into."""

from __future__ import annotations

import argparse
import sys

from ..core.errors import SpecError


class ArgError(Exception):
    pass


class Parser(argparse.ArgumentParser):
    def error(self, message):  # one clean line instead of argparse's usage dump
        raise ArgError(message)


def parse(parser: argparse.ArgumentParser, argv: list[str]):
    """The parsed arguments, with a shipped preset's name (if any) turned into its path; or the
    exit status (0 after --help). A bad argument is a SpecError (exit 2, one line)."""
    from ..core.presets.shipped import resolve
    try:
        args = parser.parse_args(argv)
    except ArgError as e:
        raise SpecError("", str(e)) from None
    except SystemExit as e:  # --help
        return int(e.code or 0)
    if getattr(args, "preset", None) is not None:
        args.preset = resolve(args.preset)
    return args


def as_flag(error: SpecError, flags: dict[str, str]) -> SpecError:
    """A SpecError on a preset key that a flag set (training.steps from --steps) named as the
    flag: the user typed the flag, not the key."""
    flag = flags.get(error.key)
    return SpecError(flag, error.message) if flag else error


def report_plugin_failures() -> None:
    """One `warning:` line per plugin that did not load; the command goes on without it (a
    preset that asks for it is an `error:` naming it, core/plugins/registry.unknown_kind_message)."""
    from ..core.plugins.registry import failures
    for f in failures():
        print(f"warning: {f.message()}", file=sys.stderr)


class ProgressBar:
    """A live progress line per phase (train, sample, export) on a terminal, drawn by tqdm
    (rate and time left included); nothing when stderr is not a terminal (tqdm's
    disable=None), so logs and pipes stay clean."""

    def __init__(self, stream, label: str | None = None):
        self.stream = stream
        self.label = label
        self.bar = None
        self.phase = None

    def update(self, phase: str, done: int, total: int) -> None:
        if total <= 0:
            return
        if self.bar is None or phase != self.phase:
            from tqdm import tqdm
            self.close()
            self.phase = phase
            self.bar = tqdm(total=total, desc=self.label or phase, file=self.stream, disable=None,
                            unit="step", dynamic_ncols=True, leave=True)
        self.bar.update(max(0, done - self.bar.n))
        if done >= total:
            self.close()

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None
