"""The `score-explorer` command: the window, or a subcommand (docs/design.md §5).

Each subcommand is a row of COMMANDS: the module and function that run it (imported only
when it is used, so a bad preset is reported before torch loads) and whether it reports
plugins that failed to load. Every subcommand runs inside commands/guard.guarded, the one
place that maps errors and signals to exit statuses (docs/faults.md):

  0   done
  1   a fault during work (a file that could not be written, a plugin that raised, an
      unexpected failure): one `error:` line naming it
  2   invalid input: one `error:` line naming the file, key or flag; nothing is done
  3   `run`: training or sampling diverged (what was finished is written)
  130 Ctrl-C, 143 SIGTERM: what was finished is kept, what was half-written removed

To add a subcommand, add one row: `"name": Command("explorer.commands.name", "main")`.
"""

from __future__ import annotations

import importlib
import os
import sys
from typing import NamedTuple


class Command(NamedTuple):
    module: str              # imported when the command runs
    function: str = "main"   # function(argv: list[str]) -> int
    plugins: bool = False    # print one `error:` line per plugin that failed to load


COMMANDS: dict[str, Command] = {
    "run": Command("explorer.commands.run", plugins=True),
    "compare": Command("explorer.commands.compare"),   # reports plugins after --scheduler's probe
    "tradeoff": Command("explorer.commands.tradeoff", plugins=True),
    "check": Command("explorer.commands.check", "check", plugins=True),
    "advise": Command("explorer.commands.check", "advise"),
    "lesson": Command("explorer.commands.lesson"),
    "notebook": Command("explorer.commands.notebook"),
    "shoot": Command("explorer.gui.shoot"),     # the window offscreen: a PNG and its layout
}


USAGE = """score-explorer [PRESET | RUN_FOLDER]    open the window (a preset, or a run trained)
       score-explorer --version | --help
       score-explorer run PRESET [--out DIR] [--steps N] [--particles N] [--seed S]
                              [--device D] [--export FILE]
       score-explorer compare PRESET --vary KEY=V1,V2,... [--vary ...] [--seeds K]
                              [--steps N] [--out DIR] [--workers N] [--scheduler ADDRESS]
       score-explorer tradeoff PRESET [--sigmas LO:HI:N | S1,S2,...] [--train N]
                              [--trained-sigmas S1,S2,...] [--samples N] [--out DIR]
       score-explorer check objective NAME [--steps N] [--all]
       score-explorer check density NAME
       score-explorer advise PRESET           suggested NCSN noise levels and Langevin step (TOML)
       score-explorer lesson NAME | --list    play a lesson in the window; list the lessons
       score-explorer lesson NAME --headless [--scale X]   play it without a window
       score-explorer notebook PRESET --out FILE.ipynb [--steps N]   the session as a notebook
       score-explorer shoot PRESET --size WxH [--presenter] [--compare KEY=V1,V2,...]
                              [--train N] [--sample] --out FILE.png [--layout FILE.json]

`check` trains an objective on Gaussians and mixtures in 1-3 dimensions against their exact
scores (or checks a density's score and samples against its log-density), exit 0 pass, 1 fail.
PRESET is a preset file, or the name of a preset that comes with the program
(`score-explorer run ddpm_moons`); `score-explorer run --help` and
`score-explorer compare --help` describe each command's options. `tradeoff` draws DSM's
bias and variance against sigma on the preset's density and network (docs/tradeoff.md)."""


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] in ("-h", "--help"):
        print(USAGE)
        print("\nshipped presets: " + ", ".join(_shipped_names()))
        return 0
    if argv and argv[0] in ("-V", "--version"):
        from importlib.metadata import PackageNotFoundError, version
        try:
            print(f"score-explorer {version('score-explorer')}")
        except PackageNotFoundError:
            print("score-explorer (not installed)")
        return 0
    from .commands.guard import guarded
    command = COMMANDS.get(argv[0]) if argv else None
    if command is not None:
        return guarded(lambda rest: _dispatch(command, rest), argv[1:])
    return guarded(_open_window, argv)


def _dispatch(command: Command, argv: list[str]) -> int:
    if command.plugins:
        from .commands.common import report_plugin_failures
        report_plugin_failures()
    return getattr(importlib.import_module(command.module), command.function)(argv)


def _open_window(argv: list[str]) -> int:
    from .core.errors import SpecError
    if len(argv) > 1:
        raise SpecError("", f"expected at most one preset file, got {' '.join(argv)} "
                            f"(subcommands: {', '.join(COMMANDS)}; score-explorer --help)")
    if argv and os.path.isdir(argv[0]):   # a run folder, opened trained (docs/notebooks.md)
        from .core.run.folder import open_folder
        open_folder(argv[0], device="cpu")   # a folder that is not a run: SpecError, exit 2
        return window(f"read it from Python: explorer.api.open_run({argv[0]!r})", argv[0])
    from .core.presets.shipped import resolve
    return window("run a preset headless: score-explorer run PRESET --out DIR",
                  resolve(argv[0]) if argv else None)


def window(without: str, path: str | None = None, lesson: str | None = None) -> int:
    """Open the window (a preset, or a lesson); without a screen, one `error:` line saying
    what to do `without` one, exit 2."""
    no_screen = _no_display()
    if no_screen:
        print(f"error: no display found ({no_screen}); the window needs a screen. Without one, "
              f"{without}", file=sys.stderr)
        return 2
    from .gui.app import run_app  # Qt is imported only when a window is wanted
    return run_app(path, lesson=lesson)


def _no_display() -> str | None:
    """Why no window can open, or None. Checked before Qt is loaded: on Linux without a
    display Qt's xcb plugin aborts the process (a core dump, exit 134) with a message about
    libxcb-cursor0 that sends the user looking in the wrong place."""
    if not sys.platform.startswith("linux"):
        return None
    platform = os.environ.get("QT_QPA_PLATFORM", "")
    if platform and not platform.startswith(("xcb", "wayland")):
        return None   # offscreen, vnc, eglfs...: the user chose a platform that needs no X
    if os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"):
        return None
    return "neither DISPLAY nor WAYLAND_DISPLAY is set"


def _shipped_names() -> list[str]:
    from .core.presets.shipped import names
    return names()
