"""`score-explorer tradeoff PRESET`: DSM's bias and variance against sigma
(docs/tradeoff.md)."""

from __future__ import annotations

import sys
from pathlib import Path

from ..core.errors import SpecError
from .common import Parser, ProgressBar, as_flag, parse

MAX_TRAIN = 10_000_000   # training.steps' own limit


def _tradeoff_parser() -> Parser:
    from ..core.measures.dsm_tradeoff import DEFAULT_SIGMAS, VARIANCE_SAMPLES
    ap = Parser(prog="score-explorer tradeoff",
                 description="DSM's bias (the Fisher divergence of its optimum, the score of "
                             "p * N(0, sigma^2 I), against the clean score) and the variance of "
                             "its loss and gradient at the preset's network, against sigma; "
                             "writes tradeoff.csv, .json, .png and .svg.")
    ap.add_argument("preset", help="preset file (.toml), or the name of a shipped preset "
                                   "(any density; the network is the preset's model)")
    ap.add_argument("--sigmas", default=DEFAULT_SIGMAS, metavar="LO:HI:N | S1,S2,...",
                    help=f"N sigmas log-spaced from LO to HI, or a comma list (default {DEFAULT_SIGMAS})")
    ap.add_argument("--train", type=int, default=0, metavar="N",
                    help="also train DSM N steps at each of --trained-sigmas and plot its "
                         "relative Fisher divergence (default 0: no training)")
    ap.add_argument("--trained-sigmas", default=None, metavar="S1,S2,...",
                    help="sigmas trained with --train (default: 4 of --sigmas, spread over the range)")
    ap.add_argument("--samples", type=int, default=VARIANCE_SAMPLES, metavar="N",
                    help=f"(x, z) pairs for the variances (default {VARIANCE_SAMPLES})")
    ap.add_argument("--out", metavar="DIR", help="folder for the files (default: runs/tradeoff-<preset name>)")
    return ap


def main(argv: list[str]) -> int:
    args = parse(_tradeoff_parser(), argv)
    if isinstance(args, int):
        return args
    return _tradeoff(args)


def _tradeoff(args) -> int:
    from ..core.measures.dsm_tradeoff import parse_sigmas, spread
    sigmas = parse_sigmas(args.sigmas, "--sigmas")
    if not 0 <= args.train <= MAX_TRAIN:
        raise SpecError("--train", f"must be between 0 and {MAX_TRAIN} steps, got {args.train}")
    if not 16 <= args.samples <= 1_000_000:
        raise SpecError("--samples", f"must be between 16 and 1000000, got {args.samples}")
    trained = []
    if args.trained_sigmas is not None:
        if not args.train:
            raise SpecError("--trained-sigmas", "needs --train N (the steps to train at each)")
        trained = parse_sigmas(args.trained_sigmas, "--trained-sigmas")
    elif args.train:
        trained = spread(sigmas, 4)
    from ..core.files import PRESET_LIMIT, output_folder, read_limited
    data = read_limited(args.preset, "", PRESET_LIMIT)
    from ..core.presets import preset as P
    from ..core.training import threads as thread_policy
    from ..core.measures.dsm_tradeoff import measure
    from ..core.measures.dsm_tradeoff_files import write
    preset = P.load_bytes(data, args.preset)
    out = Path(args.out) if args.out else Path("runs") / f"tradeoff-{Path(args.preset).stem}"
    output_folder(out)
    thread_policy.apply()
    bar = ProgressBar(sys.stderr)
    try:
        result = measure(preset, sigmas, samples=args.samples, trained_sigmas=trained,
                         train_steps=args.train, progress=bar.update)
    except SpecError as e:   # a value the flags wrote into the preset: name the flag
        raise as_flag(e, {"training.steps": "--train", "objective.sigma": "--trained-sigmas"}) from None
    bar.close()
    write(out, result)
    i = min(range(len(sigmas)), key=lambda k: abs(sigmas[k] - 0.1))
    line = [f"{len(sigmas)} sigmas in {result.seconds:.1f} s",
            f"relative bias {result.bias_relative[i]:.3g} at sigma {sigmas[i]:.3g}"]
    if result.loss_variance_slope is not None:
        line.append(f"small-sigma slopes: loss variance {result.loss_variance_slope:.2f} (theory -4), "
                    f"gradient variance {result.grad_variance_slope:.2f} (-2)")
    for t in result.trained:
        rel = t["relative_fisher_divergence"]
        line.append(f"trained at sigma {t['sigma']:.3g}: relative Fisher "
                    + ("-" if rel is None else f"{rel:.3g}"))
    print("; ".join(line), file=sys.stderr)
    print(f"wrote {out}", file=sys.stderr)
    return 0


