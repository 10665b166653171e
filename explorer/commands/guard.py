"""The one wrapper every subcommand runs in: errors and signals to exit statuses.

    0    done
    1    a fault during work: a file that could not be written (named), a plugin that raised
         (named, with its entry point), an unexpected failure; one `error:` line
    2    invalid input: one `error:` line naming the file, key or flag; nothing is done
    3    (run) training or sampling diverged
    130  Ctrl-C; 143 SIGTERM: what was finished is kept, what was half-written removed

SIGTERM is turned into an exception in the main thread (`Terminated`, a KeyboardInterrupt),
so it takes the same path as Ctrl-C: each command's interrupt handling runs (workers are
told to stop and are joined, temporary files removed), then the status is 143. A command
that handles the interrupt itself and returns 130 gets 143 when SIGTERM caused it.
No traceback reaches the user; SCORE_EXPLORER_DEBUG=1 lets it through.
"""

from __future__ import annotations

import os
import signal
import sys
from typing import Callable

from ..core.errors import OutputError, PluginFault, SpecError


class Terminated(KeyboardInterrupt):
    """SIGTERM, raised where Ctrl-C would be."""


class _Signals:
    def __init__(self):
        self.terminated = False
        self.previous = None

    def on_sigterm(self, signum, frame):
        if self.terminated:   # a second SIGTERM while cleaning up: let the cleanup finish
            return
        self.terminated = True
        raise Terminated()

    def __enter__(self):
        try:
            self.previous = signal.signal(signal.SIGTERM, self.on_sigterm)
        except ValueError:   # not the main thread (an embedding program): leave SIGTERM alone
            self.previous = None
        return self

    def __exit__(self, *exc):
        if self.previous is not None:
            signal.signal(signal.SIGTERM, self.previous)
        return False


def one_line(text: object, limit: int = 600) -> str:
    line = " ".join(str(text).split())
    return line if len(line) <= limit else line[:limit - 3] + "..."


def error(text: object) -> None:
    print(f"error: {one_line(text, 2000)}", file=sys.stderr, flush=True)


def guarded(command: Callable[[list[str]], int], argv: list[str]) -> int:
    with _Signals() as signals:
        try:
            rc = command(argv)
            return 143 if rc == 130 and signals.terminated else rc
        except SpecError as e:
            error(e)
            return 2
        except (OutputError, PluginFault) as e:
            error(e)
            return 1
        except KeyboardInterrupt:
            _quietly(lambda: print("\ninterrupted", file=sys.stderr, flush=True))
            return 143 if signals.terminated else 130
        except RecursionError:
            # every reader of user input refuses deep nesting first; this is the last net
            error("input nested too deeply to process (arrays or tables inside each other)")
            return 2
        except MemoryError:
            error("out of memory; use fewer particles, a coarser view.grid or fewer components")
            return 1
        except Exception as e:  # noqa: BLE001 - an unexpected failure: say what, no traceback
            if os.environ.get("SCORE_EXPLORER_DEBUG"):
                raise
            error(describe_failure(e) + " (set SCORE_EXPLORER_DEBUG=1 for a traceback)")
            return 1


def describe_failure(e: BaseException) -> str:
    """`plugin objective 'x' from pkg (entry point ...) failed: ValueError: ...` when a plugin
    raised it; else `unexpected failure: ValueError: ...`."""
    from ..core.plugins.blame import describe, plugin_of
    entry = plugin_of(e)
    what = f"{type(e).__name__}: {one_line(e)}"
    return f"{describe(entry)} failed: {what}" if entry else f"unexpected failure: {what}"


def _quietly(fn) -> None:
    try:
        fn()
    except (OSError, ValueError):   # stderr closed: the status still says it
        pass
