"""`score-explorer compare PRESET --vary KEY=V1,V2 ...`: many headless runs side by side
(explorer/core/compare/). Exit 0 when every run finished, 1 when one failed (each named),
130/143 when interrupted (the finished runs and the summary are kept)."""

from __future__ import annotations

import sys

from .common import Parser, parse, report_plugin_failures


def _compare_parser() -> Parser:
    ap = Parser(prog="score-explorer compare",
                 description="Run a preset with every combination of the --vary values and seeds.")
    ap.add_argument("preset", help="preset file (.toml), or the name of a shipped preset")
    ap.add_argument("--vary", action="append", default=[], metavar="KEY=V1,V2,...",
                    help="a dotted preset key and its values (TOML), e.g. objective.kind=esm,ism")
    ap.add_argument("--seeds", type=int, default=1, metavar="K",
                    help="seeds 0..K-1, added to the preset's (default 1)")
    ap.add_argument("--steps", type=int, metavar="N", help="training steps of every run")
    ap.add_argument("--out", metavar="DIR",
                    help="folder for the results (default: runs/compare-<preset name>)")
    ap.add_argument("--workers", type=int, metavar="N",
                    help="local worker processes (default: one per core)")
    ap.add_argument("--scheduler", metavar="ADDRESS", help="run on a Dask cluster: tcp://HOST:PORT")
    return ap


def main(argv: list[str]) -> int:
    args = parse(_compare_parser(), argv)
    if isinstance(args, int):
        return args
    if args.scheduler is not None:   # within seconds, before torch and Dask are imported
        from ..core.compare.scheduler_address import check_address, probe_scheduler, require_dask
        address = check_address(args.scheduler)
        require_dask()
        probe_scheduler(address)
    report_plugin_failures()
    from ..core.compare import run_compare
    outcome = run_compare(args.preset, args.vary, seeds=args.seeds, steps=args.steps,
                          out=args.out, workers=args.workers, scheduler=args.scheduler)
    for run, why in outcome.failed:
        print(f"error: {run.folder}: {why}", file=sys.stderr)
    return 130 if outcome.interrupted else 1 if outcome.failed else 0


