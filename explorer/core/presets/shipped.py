"""The presets that come with the program: where they are, their course order, and names.

A newcomer types `score-explorer run ddpm_moons` before knowing where pip put the package, so
a preset argument that is not a file but the name of a shipped preset means that preset. The
gallery, the command line and the tests all read the list from here.
"""

from __future__ import annotations

from pathlib import Path


def presets_folder() -> Path:
    from importlib import resources
    return Path(str(resources.files("explorer") / "presets"))


def course_order(folder: Path | None = None) -> list[tuple[str, list[Path]]]:
    """The shipped presets as [(section title, preset files)] in the order of the course
    (presets/course/order.toml); presets it does not list come last, by file name."""
    import tomllib
    folder = folder or presets_folder()
    files = {p.stem: p for p in sorted(folder.glob("*.toml"))}
    sections = []
    try:
        course = tomllib.loads((folder / "course" / "order.toml").read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError):
        course = {}
    for sec in course.get("section", []):
        listed = [files.pop(n) for n in sec.get("presets", []) if n in files]
        if listed:
            sections.append((str(sec.get("title", "")), listed))
    if files:
        sections.append(("More presets", list(files.values())))
    return sections


def shipped_presets() -> list[Path]:
    """The preset files that come with the program, in the order of the course."""
    return [p for _title, paths in course_order() for p in paths]


def resolve(arg: str) -> str:
    """`arg` itself if it names a file (or anything that is not a bare preset name), else the
    shipped preset of that name (with or without .toml); the caller reports what is missing."""
    p = Path(arg)
    if p.exists() or len(p.parts) != 1:
        return arg
    candidate = presets_folder() / (p.name if p.suffix == ".toml" else f"{p.name}.toml")
    return str(candidate) if candidate.is_file() else arg


def names() -> list[str]:
    return [p.stem for p in shipped_presets()]
