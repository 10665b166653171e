"""`score-explorer lesson NAME`: play a lesson in the window, or `--headless` without one
(docs/lessons.md). Headless, Ctrl-C ends it with 130 and SIGTERM with 143 (guard.py)."""

from __future__ import annotations

from ..core.errors import SpecError
from .common import Parser, parse


def main(argv: list[str]) -> int:
    ap = Parser(prog="score-explorer lesson", description="Play a lesson (explorer/lessons/, "
                 "docs/lessons.md): a sequence of presets and what to do with each. Page Down and "
                 "Page Up step through it in the window.")
    ap.add_argument("name", nargs="?", help="a shipped lesson's name, or a lesson file (.toml)")
    ap.add_argument("--list", action="store_true", help="print the shipped lessons, one a line "
                                                       "in course order: name, then title")
    ap.add_argument("--headless", action="store_true", help="play every step without a window "
                    "and print one line per step (a rehearsal; what the tests do)")
    ap.add_argument("--scale", type=float, default=1.0, help="with --headless: train this "
                    "fraction of every step's training steps (default 1)")
    args = parse(ap, argv)
    if isinstance(args, int):
        return args
    from ..core.lessons import catalog
    if args.list:   # "name  title": the name to type, the title that says what it teaches
        paths = catalog.shipped_lessons()
        width = max((len(p.stem) for p in paths), default=0)
        for p in paths:
            print(f"{p.stem:<{width}}  {catalog.title_of(p)}")
        return 0
    if not args.name:
        raise SpecError("", "name a lesson (score-explorer lesson --list shows them)")
    path = catalog.resolve(args.name)
    if path is None:
        raise SpecError("", f"no such lesson (shipped: {', '.join(catalog.names())})", args.name)
    if not 0 < args.scale <= 1:
        raise SpecError("--scale", f"must be in (0, 1], got {args.scale:g}")
    from ..core.lessons import load
    lesson = load(path)
    if not args.headless:
        from ..cli import window
        return window(f"play it headless: score-explorer lesson {args.name} --headless",
                      lesson=str(path))
    from ..core.training import threads as thread_policy
    from ..core.lessons.runner import run_lesson
    thread_policy.apply()
    print(lesson.title, flush=True)
    run_lesson(lesson, scale=args.scale, on_step=lambda r: print(r.line(), flush=True))
    return 0
