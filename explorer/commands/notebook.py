"""`score-explorer notebook PRESET --out FILE.ipynb [--steps N]`: the session as a notebook
(written by export/notebook.py) that reproduces it through `explorer.api`; a run folder
stands for its preset.toml. Exit status as every command's (commands/guard.py): 0 written,
2 invalid input (one `error:` line naming the file or option; nothing written)."""

from __future__ import annotations

import sys
from pathlib import Path

from ..core.errors import SpecError
from .common import Parser, parse


def _parser() -> Parser:
    ap = Parser(prog="score-explorer notebook",
                description="Write a Jupyter notebook that reproduces a preset through "
                            "explorer.api: the preset inline, training with a progress bar, "
                            "the window's pictures, sampling, the metrics (docs/notebooks.md).")
    ap.add_argument("preset", help="preset file (.toml), the name of a shipped preset, or a run "
                                   "folder (its preset.toml)")
    ap.add_argument("--out", required=True, metavar="FILE.ipynb", help="the notebook to write")
    ap.add_argument("--steps", type=int, metavar="N", help="training steps (default: the preset's)")
    return ap


def main(argv: list[str]) -> int:
    args = parse(_parser(), argv)
    if isinstance(args, int):
        return args
    path = write(args.preset, args.out, args.steps)
    print(f"wrote {path} (run it with: jupyter nbconvert --execute --to notebook {path}, "
          f"or open it in Jupyter)", file=sys.stderr)
    return 0


def write(preset_arg: str, out: str, steps: int | None) -> Path:
    from ..core.presets import preset as P
    from ..core.files import PRESET_LIMIT, read_limited
    from ..export.notebook import check_notebook_path, with_steps, write_notebook
    path = check_notebook_path(out, "--out")
    if steps is not None and steps < 0:
        raise SpecError("--steps", f"must be 0 or more, got {steps}")
    source = Path(preset_arg)
    origin = f"preset {source.name}"
    if source.is_dir():
        origin, source = f"run folder {source.name}", source / "preset.toml"
    preset = P.load_bytes(read_limited(str(source), "", PRESET_LIMIT), source)
    return write_notebook(path, with_steps(preset, steps), origin=origin)
