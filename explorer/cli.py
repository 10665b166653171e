"""The `score-explorer` command: the window, or `run` for a headless run (DESIGN section 5).

Exit status of `run`:
  0   done.
  1   the run could not finish for a reason outside its input: a result file could not be
      written (disk full, a folder that became unwritable: one `error:` line naming the
      file), or an unexpected failure. Rerunning after the cause is fixed works.
  2   invalid input, with one `error:` line naming the file and key (a preset key, a data
      file, a command-line value, an --out folder that cannot be written); nothing is written.
  3   the run went wrong numerically: training diverged (the last finite weights, the loss
      so far and metrics.json with "diverged" are written) or the sampler's particles blew
      up ("sampler_diverged"; no samples.npy); one `error:` line says at which step and
      what to change.
  130 interrupted by Ctrl-C, 143 by SIGTERM: what was written is kept, every file complete.
`warning:` lines (exit status unchanged) flag values float32 cannot compute with and
results that are worse than a zero score.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
from pathlib import Path

USAGE = """score-explorer [PRESET]                 open the window (optionally with a preset)
       score-explorer --version | --help
       score-explorer run PRESET [--out DIR] [--steps N] [--particles N] [--seed S]
                              [--device D] [--export FILE]
       score-explorer compare PRESET --vary KEY=V1,V2,... [--vary ...] [--seeds K]
                              [--steps N] [--out DIR] [--workers N] [--scheduler ADDRESS]
       score-explorer tradeoff PRESET [--sigmas LO:HI:N | S1,S2,...] [--train N]
                              [--trained-sigmas S1,S2,...] [--samples N] [--out DIR]
       score-explorer check objective NAME [--steps N] [--all]
       score-explorer check density NAME
       score-explorer advise PRESET           suggested NCSN noise levels and Langevin step (TOML)
       score-explorer lesson NAME | --list    play a lesson in the window; list the lessons
       score-explorer lesson NAME --headless [--scale X]   play it without a window

`check` trains an objective on Gaussians and mixtures in 1-3 dimensions against their exact
scores (or checks a density's score and samples against its log-density), exit 0 pass, 1 fail.
PRESET is a preset file, or the name of a preset that comes with the program
(`score-explorer run ddpm_moons`); `score-explorer run --help` and
`score-explorer compare --help` describe each command's options. `tradeoff` draws DSM's
bias and variance against sigma on the preset's density and network (docs/tradeoff.md)."""


EXPORT_HELP = (
    "also write FILE after the run. By extension: .mp4, .gif an animation; .png, .svg a "
    "still; .npy the samples; .csv the loss curve (or samples:FILE.csv); .npz the fields and "
    "data. WHAT chooses what is shown: particles (default) or training for an animation; "
    "particles, field, error, loss or training for a still. SIZE is 720 (1280x720, the "
    "default), 1080, screen, or WxH. Examples: --export run.mp4, --export training@1080:t.mp4, "
    "--export error:map.png")


class _ArgError(Exception):
    pass


class _Parser(argparse.ArgumentParser):
    def error(self, message):  # one clean line instead of argparse's usage dump
        raise _ArgError(message)


def _run_parser() -> argparse.ArgumentParser:
    ap = _Parser(prog="score-explorer run",
                                 description="Train and sample a preset without a window.")
    ap.add_argument("preset", help="preset file (.toml), or the name of a shipped preset "
                                   "(e.g. ddpm_moons)")
    ap.add_argument("--out", help="folder for the results (default: runs/<preset name>)")
    ap.add_argument("--steps", type=int, help="training steps (0: train nothing)")
    ap.add_argument("--particles", type=int, help="number of sampler particles")
    ap.add_argument("--seed", type=int, help="seed for training and sampling")
    ap.add_argument("--device", help="auto, cpu, cuda, cuda:N or mps")
    ap.add_argument("--export", metavar="[WHAT][@SIZE]:FILE", action="append", default=[],
                    help=EXPORT_HELP + " Give --export several times for several files.")
    ap.add_argument("--title", action="store_true",
                    help="put the preset's name above every exported frame (a slide's heading)")
    return ap


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] in ("-h", "--help"):
        print(USAGE)
        print("\nshipped presets: " + ", ".join(_shipped_names()))
        return 0
    if argv and argv[0] in ("-V", "--version"):
        from importlib.metadata import PackageNotFoundError, version
        try:
            print(f"score-explorer {version('score-explorer')}")
        except PackageNotFoundError:
            print("score-explorer (not installed)")
        return 0
    if argv and argv[0] in ("run", "compare", "check", "tradeoff"):
        report_plugin_failures()
    if argv and argv[0] == "check":
        return _main_check(argv[1:])
    if argv and argv[0] == "advise":
        return _main_advise(argv[1:])
    if argv and argv[0] == "lesson":
        return _main_lesson(argv[1:])
    if argv and argv[0] == "run":
        return _main_run(argv[1:])
    if argv and argv[0] == "compare":
        return _main_compare(argv[1:])
    if argv and argv[0] == "tradeoff":
        return _main_tradeoff(argv[1:])
    if len(argv) > 1:
        print(f"error: expected at most one preset file, got {' '.join(argv)}\n{USAGE}",
              file=sys.stderr)
        return 2
    from .core.shipped import resolve
    return _window("run a preset headless: score-explorer run PRESET --out DIR",
                   resolve(argv[0]) if argv else None)


def _window(without: str, path: str | None = None, lesson: str | None = None) -> int:
    """Open the window (a preset, or a lesson); without a screen, one `error:` line saying
    what to do `without` one, exit 2."""
    no_screen = _no_display()
    if no_screen:
        print(f"error: no display found ({no_screen}); the window needs a screen. Without one, "
              f"{without}", file=sys.stderr)
        return 2
    from .gui.app import run_app  # Qt is imported only when a window is wanted
    return run_app(path, lesson=lesson)


def _main_advise(argv: list[str]) -> int:
    ap = _Parser(prog="score-explorer advise", description="Suggest [objective] and [sampler] "
                 "tables by Song & Ermon (2020), techniques 1, 2 and 4 (explorer/core/advisor.py).")
    ap.add_argument("preset")
    args = _parse(ap, argv)
    if not isinstance(args, argparse.Namespace):
        return args
    from .core import preset as P
    from .core.advisor import advise
    from .core.errors import SpecError
    try:
        print(advise(P.load(args.preset)).toml(), end="")
    except SpecError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    return 0


def _main_lesson(argv: list[str]) -> int:
    ap = _Parser(prog="score-explorer lesson", description="Play a lesson (explorer/lessons/, "
                 "docs/lessons.md): a sequence of presets and what to do with each. Page Down and "
                 "Page Up step through it in the window.")
    ap.add_argument("name", nargs="?", help="a shipped lesson's name, or a lesson file (.toml)")
    ap.add_argument("--list", action="store_true", help="print the shipped lessons' names, one a "
                                                       "line, in course order")
    ap.add_argument("--headless", action="store_true", help="play every step without a window "
                    "and print one line per step (a rehearsal; what the tests do)")
    ap.add_argument("--scale", type=float, default=1.0, help="with --headless: train this "
                    "fraction of every step's training steps (default 1)")
    args = _parse(ap, argv)
    if not isinstance(args, argparse.Namespace):
        return args
    from .core.lessons import catalog
    if args.list:
        for name in catalog.names():
            print(name)
        return 0
    if not args.name:
        print("error: name a lesson (score-explorer lesson --list shows them)", file=sys.stderr)
        return 2
    path = catalog.resolve(args.name)
    if path is None:
        print(f"error: {args.name}: no such lesson (shipped: {', '.join(catalog.names())})",
              file=sys.stderr)
        return 2
    if not 0 < args.scale <= 1:
        print("error: --scale: must be in (0, 1]", file=sys.stderr)
        return 2
    from .core.errors import SpecError
    from .core.lessons import load
    try:
        lesson = load(path)
    except SpecError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    if args.headless:
        from .core import threads as thread_policy
        from .core.lessons.runner import run_lesson
        thread_policy.apply()
        print(lesson.title, flush=True)
        try:
            run_lesson(lesson, scale=args.scale, on_step=lambda r: print(r.line(), flush=True))
        except KeyboardInterrupt:
            print("interrupted", file=sys.stderr)
            return 130
        return 0
    return _window(f"play it headless: score-explorer lesson {args.name} --headless", lesson=str(path))


def _main_check(argv: list[str]) -> int:
    ap = _Parser(prog="score-explorer check", description="Check an objective or a density "
                 "against closed forms (explorer/core/oracle.py).")
    ap.add_argument("what", choices=("objective", "density"))
    ap.add_argument("name")
    ap.add_argument("--steps", type=int, default=None,
                    help="training steps per dimension of each case (default 1000)")
    ap.add_argument("--all", action="store_true", help="run every case, not only up to the first failure")
    args = _parse(ap, argv)
    if not isinstance(args, argparse.Namespace):
        return args
    from .core import oracle
    from .core import threads as thread_policy
    from .core.errors import SpecError
    thread_policy.apply()
    try:
        if args.what == "density":
            results = oracle.check_density(args.name)
            for r in results:
                print(r.line(), flush=True)
        else:
            if args.steps is not None and args.steps < 1:
                print("error: --steps must be at least 1", file=sys.stderr)
                return 2
            oracle.objective_class(args.name)   # an unknown name: one error line, nothing else
            print(f"checking objective {args.name!r} against exact scores "
                  f"(pass: relative Fisher divergence < {oracle.PASS})", flush=True)
            results = oracle.check_objective(args.name, args.steps or oracle.STEPS,
                                             progress=lambda r: print(r.line(), flush=True),
                                             keep_going=args.all)
            for r in results:
                for sigma, _, rel in r.by_level if not r.passed else []:
                    print(f"      level {sigma:.4g}: relative Fisher {rel:.3g}")
    except (SpecError, ValueError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    failed = [r for r in results if not r.passed]
    print("FAIL" if failed else "pass", flush=True)
    return 1 if failed else 0


def report_plugin_failures() -> None:
    """One `error:` line per plugin that did not load; the command goes on without it."""
    from .core.registry import failures
    for f in failures():
        print(f"error: {f.message()}", file=sys.stderr)


def _no_display() -> str | None:
    """Why no window can open, or None. Checked before Qt is loaded: on Linux without a
    display Qt's xcb plugin aborts the process (a core dump, exit 134) with a message about
    libxcb-cursor0 that sends the user looking in the wrong place."""
    if not sys.platform.startswith("linux"):
        return None
    platform = os.environ.get("QT_QPA_PLATFORM", "")
    if platform and not platform.startswith(("xcb", "wayland")):
        return None   # offscreen, vnc, eglfs...: the user chose a platform that needs no X
    if os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"):
        return None
    return "neither DISPLAY nor WAYLAND_DISPLAY is set"


def _shipped_names() -> list[str]:
    from .core.shipped import names
    return names()


def _parse(parser: argparse.ArgumentParser, argv: list[str]):
    """The parsed arguments, with a shipped preset's name (if any) turned into its path; or the exit
    status (2 after one `error:` line, 0 after --help)."""
    from .core.shipped import resolve
    try:
        args = parser.parse_args(argv)
    except _ArgError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    except SystemExit as e:  # --help
        return int(e.code or 0)
    if hasattr(args, "preset"):
        args.preset = resolve(args.preset)
    return args


def _main_run(argv: list[str]) -> int:
    args = _parse(_run_parser(), argv)
    if isinstance(args, int):
        return args

    from .core.errors import OutputError, SpecError
    terminated = []

    def on_sigterm(signum, frame):  # SIGTERM stops like Ctrl-C: complete files or none
        terminated.append(signum)
        raise KeyboardInterrupt

    try:
        previous = signal.signal(signal.SIGTERM, on_sigterm)
    except ValueError:  # not the main thread (an embedding program): leave SIGTERM alone
        previous = None
    try:
        rc = _headless(args)
        return 143 if rc == 130 and terminated else rc
    except SpecError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    except OutputError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("\ninterrupted", file=sys.stderr)
        return 143 if terminated else 130
    except Exception as e:  # an unexpected failure: say what, without a traceback
        if os.environ.get("SCORE_EXPLORER_DEBUG"):
            raise
        print(f"error: unexpected failure: {type(e).__name__}: {e} "
              f"(set SCORE_EXPLORER_DEBUG=1 for a traceback)", file=sys.stderr)
        return 1
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)


def _headless(args) -> int:
    from .core.files import PRESET_LIMIT, read_limited
    # read before torch is imported: a FIFO, a device or a huge file fails within a second
    data = read_limited(args.preset, "", PRESET_LIMIT)

    from .core import preset as P
    from .core.errors import SpecError
    from .core.numerics import preset_warnings
    from .core.run import metric_warnings, train_and_sample, write_outputs

    preset = P.load_bytes(data, args.preset)
    preset = apply_overrides(preset, args)
    out = Path(args.out) if args.out else Path("runs") / Path(args.preset).stem
    if out.exists() and not out.is_dir():
        raise SpecError("--out", f"{out} exists and is not a folder")

    def make_out():
        try:
            out.mkdir(parents=True, exist_ok=True)
        except OSError as e:
            raise SpecError("--out", f"cannot create {out}: {e.strerror}") from None

    exporters = []
    for spec in args.export:  # all checked before anything is written: a bad path leaves nothing
        from .export import check_export_path
        target = Path(spec.rsplit(":", 1)[-1]).resolve()
        if out.resolve() in target.parents:  # an export into the results folder
            make_out()
        exporters.append(check_export_path(spec, "--export"))
    make_out()
    _probe_writable(out)
    for w in preset_warnings(preset):
        print(f"warning: {w}", file=sys.stderr)

    bar = ProgressBar(sys.stderr)
    result = train_and_sample(preset, progress=bar.update)
    bar.close()
    write_outputs(result, preset, out)
    m = result.metrics
    if "device_note" in m:
        print(f"note: {m['device_note']}", file=sys.stderr)
    rel = m.get("relative_fisher_divergence")
    summary = [f"{m['steps']} steps", f"{m['steps_per_second'] or 0:.0f} steps/s on {m['device']}"]
    if rel is not None:
        on = m.get("fisher_measured_on", "p")
        summary.append(f"relative Fisher divergence {rel:.4f}" + ("" if on == "p" else f" (on {on})"))
    if "mode_weights" in m:
        summary.append("mode weights " + ", ".join(f"{w:.3f}" for w in m["mode_weights"])
                       + " (true " + ", ".join(f"{w:.3f}" for w in m["true_weights"]) + ")")
    if m.get("nll") is not None:   # sde, flow_matching: by the ODE
        true = m.get("nll_true")
        summary.append(f"NLL {m['nll']:.4f} nats/dim" + ("" if true is None else f" (true {true:.4f})"))
    print("; ".join(summary), file=sys.stderr)
    if m.get("sample_metrics"):
        from .core.sample_quality import describe as describe_quality
        print("samples against the density: " + describe_quality(m["sample_metrics"]), file=sys.stderr)
    if result.failure is None:
        for w in metric_warnings(m):
            print(f"warning: {w}", file=sys.stderr)
    if not result.interrupted and result.failure is None:
        for exporter in exporters:
            bar = ProgressBar(sys.stderr, "export")
            exporter(result, preset, progress=bar.update,
                     title=preset.name if args.title else None)
            bar.close()
    print(f"wrote {out}", file=sys.stderr)
    if result.failure is not None and not result.interrupted:
        print(f"error: {' '.join(result.failure.splitlines())}", file=sys.stderr)
        return 3
    return 130 if result.interrupted else 0


def _compare_parser() -> argparse.ArgumentParser:
    ap = _Parser(prog="score-explorer compare",
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


def _main_compare(argv: list[str]) -> int:
    args = _parse(_compare_parser(), argv)
    if isinstance(args, int):
        return args
    from .core.compare import run_compare
    from .core.errors import SpecError
    try:
        outcome = run_compare(args.preset, args.vary, seeds=args.seeds, steps=args.steps,
                              out=args.out, workers=args.workers, scheduler=args.scheduler)
    except SpecError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("\ninterrupted", file=sys.stderr)
        return 130
    except Exception as e:  # an unexpected failure: say what, without a traceback
        if os.environ.get("SCORE_EXPLORER_DEBUG"):
            raise
        print(f"error: unexpected failure: {type(e).__name__}: {e}", file=sys.stderr)
        return 1
    for run, why in outcome.failed:
        print(f"error: {run.folder}: {why}", file=sys.stderr)
    return 130 if outcome.interrupted else 1 if outcome.failed else 0


def _tradeoff_parser() -> argparse.ArgumentParser:
    from .core.dsm_tradeoff import DEFAULT_SIGMAS, VARIANCE_SAMPLES
    ap = _Parser(prog="score-explorer tradeoff",
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


def _main_tradeoff(argv: list[str]) -> int:
    args = _parse(_tradeoff_parser(), argv)
    if isinstance(args, int):
        return args
    from .core.errors import SpecError
    try:
        return _tradeoff(args)
    except SpecError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("\ninterrupted", file=sys.stderr)
        return 130
    except Exception as e:  # an unexpected failure: say what, without a traceback
        if os.environ.get("SCORE_EXPLORER_DEBUG"):
            raise
        print(f"error: unexpected failure: {type(e).__name__}: {e} "
              f"(set SCORE_EXPLORER_DEBUG=1 for a traceback)", file=sys.stderr)
        return 1


def _tradeoff(args) -> int:
    from .core.dsm_tradeoff import parse_sigmas, spread
    from .core.errors import SpecError
    sigmas = parse_sigmas(args.sigmas, "--sigmas")
    if args.train < 0:
        raise SpecError("--train", f"must be 0 or more steps, got {args.train}")
    if not 16 <= args.samples <= 1_000_000:
        raise SpecError("--samples", f"must be between 16 and 1000000, got {args.samples}")
    trained = []
    if args.trained_sigmas is not None:
        if not args.train:
            raise SpecError("--trained-sigmas", "needs --train N (the steps to train at each)")
        trained = parse_sigmas(args.trained_sigmas, "--trained-sigmas")
    elif args.train:
        trained = spread(sigmas, 4)
    from .core.files import PRESET_LIMIT, read_limited
    data = read_limited(args.preset, "", PRESET_LIMIT)
    from .core import preset as P
    from .core import threads as thread_policy
    from .core.dsm_tradeoff import measure
    from .core.dsm_tradeoff_files import write
    preset = P.load_bytes(data, args.preset)
    out = Path(args.out) if args.out else Path("runs") / f"tradeoff-{Path(args.preset).stem}"
    if out.exists() and not out.is_dir():
        raise SpecError("--out", f"{out} exists and is not a folder")
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise SpecError("--out", f"cannot create {out}: {e.strerror}") from None
    _probe_writable(out)
    thread_policy.apply()
    bar = ProgressBar(sys.stderr)
    result = measure(preset, sigmas, samples=args.samples, trained_sigmas=trained,
                     train_steps=args.train, progress=bar.update)
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


def _probe_writable(out: Path) -> None:
    """Fail before training, not after it, when --out cannot take a file."""
    from .core.errors import SpecError
    probe = out / f".score-explorer-probe-{os.getpid()}"
    try:
        probe.write_bytes(b"probe")
    except OSError as e:
        raise SpecError("--out", f"cannot write in {out}: {e.strerror or e}") from None
    finally:
        try:
            probe.unlink(missing_ok=True)
        except OSError:
            pass


def apply_overrides(preset, args):
    """Command-line values replace preset keys and are validated like them."""
    from .core import preset as P
    from .core.errors import SpecError
    from .core.derived_keys import drop_derived
    d = drop_derived(preset.to_dict(), preset.given)   # derived keys: derived again
    if args.steps is not None:
        d["training"]["steps"] = args.steps
    if args.particles is not None:
        d["sampler"]["particles"] = args.particles
    if args.seed is not None:
        d["training"]["seed"] = args.seed
        d["sampler"]["seed"] = args.seed
    if args.device is not None:
        d["training"]["device"] = args.device
    try:
        return P.parse(d, preset.base_dir, preset.source)
    except SpecError as e:
        flag = {"training.steps": "--steps", "sampler.particles": "--particles",
                "training.seed": "--seed", "sampler.seed": "--seed",
                "training.device": "--device"}.get(e.key)
        raise (SpecError(flag, e.message) if flag else e) from None


class ProgressBar:
    """A live progress line per phase (train, sample, export) on a terminal, drawn by tqdm
    (rate and time left included); nothing when stderr is not a terminal (tqdm's
    disable=None), so logs and pipes stay clean."""

    def __init__(self, stream, label: str | None = None):
        self.stream = stream
        self.label = label
        self.bar = None
        self.phase = None

    def update(self, phase: str, done: int, total: int) -> None:
        if total <= 0:
            return
        if self.bar is None or phase != self.phase:
            from tqdm import tqdm
            self.close()
            self.phase = phase
            self.bar = tqdm(total=total, desc=self.label or phase, file=self.stream, disable=None,
                            unit="step", dynamic_ncols=True, leave=True)
        self.bar.update(max(0, done - self.bar.n))
        if done >= total:
            self.close()

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None
