"""The lessons that come with the program: where they are, their course order, their names.

`score-explorer lesson --list`, the gallery and the tests read the list from here, so a
lesson file dropped into explorer/lessons/ is listed everywhere at once (after the ones the
course order names, by file name).
"""

from __future__ import annotations

import tomllib
from pathlib import Path

ORDER_FILE = "course.toml"


def lessons_folder() -> Path:
    from importlib import resources
    return Path(str(resources.files("explorer") / "lessons"))


def shipped_lessons(folder: Path | None = None) -> list[Path]:
    """The lesson files in the order of the course (lessons/course.toml's `order`); files it
    does not name come last, by file name."""
    folder = folder or lessons_folder()
    files = {p.stem: p for p in sorted(folder.glob("*.toml")) if p.name != ORDER_FILE}
    try:
        order = tomllib.loads((folder / ORDER_FILE).read_text(encoding="utf-8")).get("order", [])
    except (OSError, tomllib.TOMLDecodeError):
        order = []
    listed = [files.pop(n) for n in order if isinstance(n, str) and n in files]
    return listed + list(files.values())


def names() -> list[str]:
    return [p.stem for p in shipped_lessons()]


def resolve(arg: str) -> Path | None:
    """A lesson file: `arg` itself if it is a file, else the shipped lesson of that name
    (with or without .toml); None if neither."""
    p = Path(arg)
    if p.is_file():
        return p
    if len(p.parts) == 1:
        candidate = lessons_folder() / (p.name if p.suffix == ".toml" else f"{p.name}.toml")
        if candidate.is_file() and candidate.name != ORDER_FILE:
            return candidate
    return None


def title_of(path: Path) -> str:
    """The lesson's title straight from the TOML (fast: for lists); the file name if unreadable."""
    try:
        t = tomllib.loads(path.read_text(encoding="utf-8")).get("title")
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
        t = None
    return t if isinstance(t, str) and t.strip() else path.stem
