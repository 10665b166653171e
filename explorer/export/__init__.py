"""Exports: animations (MP4, GIF), stills (PNG, SVG) and data (NPY, NPZ, CSV) of a run.

`check_export_path(path, key)` validates a destination before any work is done and
returns an exporter, `exporter(result, preset, progress=None, cancel=None) -> Path`, that
the command line calls after the run (`score-explorer run P --export FILE`). The
destination may carry what to draw and at which size in front of the file name:

    [WHAT][@SIZE]:FILE      WHAT  particles (default for .mp4/.gif/.png/.svg), training,
                                  field, error, loss (stills), samples (.csv/.npy), loss (.csv)
                            SIZE  720 (1280x720 slide, the default), 1080 (1920x1080 slide),
                                  screen (960x540, screen style) or WxH

for example `training@1080:train.mp4` or `field:field.svg`. Animations are rendered
offline, frame by frame at a fixed sampler (or training) step, so the same run gives the
same file. Every file is written to a temporary name in the destination folder and
renamed at the end: a cancelled or failed export leaves nothing.
"""

from __future__ import annotations

import os
import re
import tempfile
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Callable

from ..core.errors import SpecError

ANIMATIONS = (".mp4", ".gif")
STILLS = (".png", ".svg")
DATA = (".npy", ".npz", ".csv")
SUPPORTED = ANIMATIONS + STILLS + DATA

ANIMATION_WHATS = ("particles", "training")
STILL_WHATS = ("particles", "field", "error", "loss", "training")
KNOWN_WHATS = ("particles", "training", "field", "error", "loss", "samples", "data")
SIZES = {"720": (1280, 720), "1080": (1920, 1080), "screen": (960, 540)}
DEFAULT_SIZE = "720"


@dataclass(frozen=True)
class ExportSpec:
    """What to export, where, and how large."""

    path: Path
    what: str = "particles"
    size: tuple[int, int] = SIZES[DEFAULT_SIZE]
    style: str = "slide_720"     # screen | slide_720 | slide_1080

    @property
    def ext(self) -> str:
        return self.path.suffix.lower()

    @property
    def is_animation(self) -> bool:
        return self.ext in ANIMATIONS

    def view_style(self):
        from ..views import style as S
        return {"screen": S.SCREEN, "slide_720": S.SLIDE_720, "slide_1080": S.SLIDE_1080}[self.style]


def style_for_size(size: tuple[int, int]) -> str:
    w, h = size
    if w >= 1700 or h >= 1000:
        return "slide_1080"
    if w >= 1100 or h >= 640:
        return "slide_720"
    return "screen"


_PREFIX = re.compile(r"^(?P<what>[a-z]+)?(?:@(?P<size>\d+x\d+|720|1080|screen))?:(?P<file>.+)$")


def parse_export_arg(text: str, key: str = "--export") -> ExportSpec:
    """Split `[WHAT][@SIZE]:FILE` and check what, size and extension (not the folder)."""
    text = str(text)
    what = None
    size_name = None
    m = _PREFIX.match(text)
    if m and (m.group("what") or m.group("size")) and (m.group("what") or "particles") in KNOWN_WHATS:
        what, size_name, text = m.group("what"), m.group("size"), m.group("file")
    path = Path(text).expanduser()
    ext = path.suffix.lower()
    if not text.strip() or not path.name:
        raise SpecError(key, "needs a file name")
    if ext not in SUPPORTED:
        got = f"{ext!r}" if ext else "no extension"
        raise SpecError(key, f"unsupported file type {got} for {text} "
                             f"(supported: {', '.join(SUPPORTED)})")
    if what is None:
        what = {".csv": "loss", ".npy": "samples", ".npz": "data"}.get(ext, "particles")
    allowed = (ANIMATION_WHATS if ext in ANIMATIONS else STILL_WHATS if ext in STILLS
               else {".csv": ("loss", "samples"), ".npy": ("samples",), ".npz": ("data", "field")}[ext])
    if what not in allowed:
        raise SpecError(key, f"cannot export {what!r} as {ext} (choose one of: {', '.join(allowed)})")
    if size_name is None:
        size = SIZES[DEFAULT_SIZE]
    elif size_name in SIZES:
        size = SIZES[size_name]
    else:
        w, h = (int(v) for v in size_name.split("x"))
        if not (64 <= w <= 7680 and 64 <= h <= 4320):
            raise SpecError(key, f"size {w}x{h} out of range (64x64 to 7680x4320)")
        size = (w, h)
    if ext == ".mp4":
        from .encode import even_size
        size = even_size(*size)
    style = "screen" if size_name == "screen" else style_for_size(size)
    return ExportSpec(path=path, what=what, size=size, style=style)


def check_writable(path: Path, key: str) -> None:
    """The folder exists, is a folder, and a file can be created in it; path is not a folder."""
    parent = path.parent if str(path.parent) else Path(".")
    if path.is_dir():
        raise SpecError(key, f"{path} is a folder; give a file name")
    if not parent.exists():
        raise SpecError(key, f"cannot write {path}: the folder {parent} does not exist")
    if not parent.is_dir():
        raise SpecError(key, f"cannot write {path}: {parent} is not a folder")
    try:  # the only reliable test (root ignores permission bits, read-only mounts do not)
        fd, probe = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".probe", dir=parent)
    except OSError as e:
        raise SpecError(key, f"cannot write in {parent}: {e.strerror or e}") from None
    os.close(fd)
    try:
        os.unlink(probe)
    except OSError:
        pass
    if path.exists() and not os.access(path, os.W_OK):
        raise SpecError(key, f"cannot overwrite {path}: permission denied")


Progress = Callable[[str, int, int], None]


class Exporter:
    """Callable returned by `check_export_path`: writes the export of a finished run."""

    def __init__(self, spec: ExportSpec):
        self.spec = spec

    @property
    def path(self) -> Path:
        return self.spec.path

    def __call__(self, result, preset, progress: Progress | None = None, cancel=None,
                 title: str | None = None) -> Path:
        """Write the export of `result` (a core.run.RunResult) for `preset`; returns the path.
        `title` (the preset's name, say) heads every frame."""
        from .run_export import export_run
        return export_run(self.spec, result, preset, progress=progress, cancel=cancel,
                          title=title)

    def __repr__(self) -> str:
        s = self.spec
        return f"Exporter({s.what} -> {s.path}, {s.size[0]}x{s.size[1]})"


def check_export_path(path, key: str = "--export") -> Exporter:
    """Validate an export destination now (before any training); return its exporter.

    Raises SpecError (named after `key`) for an unsupported extension, a missing folder,
    a path that is a folder, or a folder where no file can be created.
    """
    spec = parse_export_arg(str(path), key)
    check_writable(spec.path, key)
    return Exporter(spec)


def with_path(spec: ExportSpec, path) -> ExportSpec:
    return replace(spec, path=Path(path))


__all__ = ["check_export_path", "parse_export_arg", "Exporter", "ExportSpec", "SUPPORTED",
           "ANIMATIONS", "STILLS", "DATA", "SIZES"]
