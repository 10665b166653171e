"""`score-explorer notebook PRESET --out FILE.ipynb`, and the check of `score-explorer DIR`.

Kept out of cli.py (which only dispatches here): the notebook is written by
export/notebook.py, a run folder is read by core/run_folder.py. Exit status: 0 written,
2 invalid input (one `error:` line naming the file or option; nothing written).
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path


class _ArgError(Exception):
    pass


class _Parser(argparse.ArgumentParser):
    def error(self, message):   # one clean line instead of argparse's usage dump
        raise _ArgError(message)


def _parser() -> argparse.ArgumentParser:
    ap = _Parser(prog="score-explorer notebook",
                 description="Write a Jupyter notebook that reproduces a preset through "
                             "explorer.api: the preset inline, training with a progress bar, "
                             "the window's pictures, sampling, the metrics (docs/notebooks.md).")
    ap.add_argument("preset", help="preset file (.toml), the name of a shipped preset, or a run "
                                   "folder (its preset.toml)")
    ap.add_argument("--out", required=True, metavar="FILE.ipynb", help="the notebook to write")
    ap.add_argument("--steps", type=int, metavar="N", help="training steps (default: the preset's)")
    return ap


def dispatch(argv: list[str], open_window) -> int:
    """`notebook ...`, or a folder: opened in the window by `open_window(without, path)`
    (cli._window) when it is a run, else exit 2 after one `error:` line."""
    if argv[0] == "notebook":
        return main_notebook(argv[1:])
    if len(argv) > 1:
        print(f"error: expected one run folder, got {' '.join(argv)}", file=sys.stderr)
        return 2
    rc = check_folder(argv[0])
    if rc is not None:
        return rc
    return open_window(f"read it from Python: explorer.api.open_run({argv[0]!r})", argv[0])


def check_folder(folder: str) -> int | None:
    from .core.errors import SpecError
    from .core.run_folder import open_folder
    try:
        open_folder(folder, device="cpu")
    except SpecError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    return None


def main_notebook(argv: list[str]) -> int:
    try:
        args = _parser().parse_args(argv)
    except _ArgError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    except SystemExit as e:   # --help
        return int(e.code or 0)
    from .core.errors import SpecError
    try:
        path = write(args.preset, args.out, args.steps)
    except SpecError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    except Exception as e:   # an unexpected failure: say what, without a traceback
        if os.environ.get("SCORE_EXPLORER_DEBUG"):
            raise
        print(f"error: unexpected failure: {type(e).__name__}: {e}", file=sys.stderr)
        return 1
    print(f"wrote {path} (run it with: jupyter nbconvert --execute --to notebook {path}, "
          f"or open it in Jupyter)", file=sys.stderr)
    return 0


def write(preset_arg: str, out: str, steps: int | None) -> Path:
    from .core import preset as P
    from .core.errors import SpecError
    from .core.files import PRESET_LIMIT, read_limited
    from .core.shipped import resolve
    from .export.notebook import check_notebook_path, with_steps, write_notebook
    path = check_notebook_path(out, "--out")
    if steps is not None and steps < 0:
        raise SpecError("--steps", f"must be 0 or more, got {steps}")
    source = Path(resolve(preset_arg))
    origin = f"preset {source.name}"
    if source.is_dir():
        origin, source = f"run folder {source.name}", source / "preset.toml"
    preset = P.load_bytes(read_limited(str(source), "", PRESET_LIMIT), source)
    preset = with_steps(preset, steps)
    return write_notebook(path, preset, origin=origin)
