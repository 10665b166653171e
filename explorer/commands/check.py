"""`score-explorer check objective|density NAME` (closed-form checks, explorer/core/plugins/oracle.py)
and `score-explorer advise PRESET` (suggested noise levels and step, explorer/core/noise/advisor.py)."""

from __future__ import annotations

from ..core.errors import SpecError
from .common import Parser, parse


def check(argv: list[str]) -> int:
    ap = Parser(prog="score-explorer check", description="Check an objective or a density "
                 "against closed forms (explorer/core/plugins/oracle.py).")
    ap.add_argument("what", choices=("objective", "density"))
    ap.add_argument("name")
    ap.add_argument("--steps", type=int, default=None,
                    help="training steps per dimension of each case (default 1000)")
    ap.add_argument("--all", action="store_true", help="run every case, not only up to the first failure")
    args = parse(ap, argv)
    if isinstance(args, int):
        return args
    from ..core.plugins import oracle
    from ..core.training import threads as thread_policy
    if args.steps is not None and not 1 <= args.steps <= oracle.MAX_STEPS:
        raise SpecError("--steps", f"must be between 1 and {oracle.MAX_STEPS}, got {args.steps}")
    thread_policy.apply()
    if args.what == "density":
        results = oracle.check_density(args.name)
        for r in results:
            print(r.line(), flush=True)
    else:
        try:   # an unknown name: one error line, nothing else
            oracle.objective_class(args.name)
        except ValueError as e:
            raise SpecError("", str(e)) from None
        print(f"checking objective {args.name!r} against exact scores "
              f"(pass: relative Fisher divergence < {oracle.PASS})", flush=True)
        results = oracle.check_objective(args.name, args.steps or oracle.STEPS,
                                         progress=lambda r: print(r.line(), flush=True),
                                         keep_going=args.all)
        for r in results:
            for sigma, _, rel in r.by_level if not r.passed else []:
                print(f"      level {sigma:.4g}: relative Fisher {rel:.3g}")
    failed = [r for r in results if not r.passed]
    print("FAIL" if failed else "pass", flush=True)
    return 1 if failed else 0


def advise(argv: list[str]) -> int:
    ap = Parser(prog="score-explorer advise", description="Suggest [objective] and [sampler] "
                 "tables by Song & Ermon (2020), techniques 1, 2 and 4 (explorer/core/noise/advisor.py).")
    ap.add_argument("preset")
    args = parse(ap, argv)
    if isinstance(args, int):
        return args
    from ..core.presets import preset as P
    from ..core.noise.advisor import advise as suggest
    print(suggest(P.load(args.preset)).toml(), end="")
    return 0
