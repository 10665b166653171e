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
       score-explorer run PRESET [--out DIR] [--steps N] [--particles N] [--seed S]
                              [--device D] [--export FILE]"""


class _ArgError(Exception):
    pass


class _Parser(argparse.ArgumentParser):
    def error(self, message):  # one clean line instead of argparse's usage dump
        raise _ArgError(message)


def _run_parser() -> argparse.ArgumentParser:
    ap = _Parser(prog="score-explorer run",
                                 description="Train and sample a preset without a window.")
    ap.add_argument("preset", help="preset file (.toml)")
    ap.add_argument("--out", help="folder for the results (default: runs/<preset name>)")
    ap.add_argument("--steps", type=int, help="training steps (0: train nothing)")
    ap.add_argument("--particles", type=int, help="number of sampler particles")
    ap.add_argument("--seed", type=int, help="seed for training and sampling")
    ap.add_argument("--device", help="auto, cpu, cuda, cuda:N or mps")
    ap.add_argument("--export", help="also write an animation (.mp4, .gif) or a still (.png, .svg)")
    return ap


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] in ("-h", "--help"):
        print(USAGE)
        return 0
    if argv and argv[0] == "run":
        return _main_run(argv[1:])
    if len(argv) > 1:
        print(f"error: expected at most one preset file, got {' '.join(argv)}\n{USAGE}",
              file=sys.stderr)
        return 2
    from .gui.app import run_app  # Qt is imported only when a window is wanted
    return run_app(argv[0] if argv else None)


def _main_run(argv: list[str]) -> int:
    ap = _run_parser()
    try:
        args = ap.parse_args(argv)
    except _ArgError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    except SystemExit as e:  # --help
        return int(e.code or 0)

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

    exporter = None
    if args.export:  # checked before anything is written, so a bad path leaves nothing
        from .export import check_export_path
        target = Path(args.export.rsplit(":", 1)[-1]).resolve()
        if out.resolve() in target.parents:  # an export into the results folder
            make_out()
        exporter = check_export_path(args.export, "--export")
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
        summary.append(f"relative Fisher divergence {rel:.4f}")
    if "mode_weights" in m:
        summary.append("mode weights " + ", ".join(f"{w:.3f}" for w in m["mode_weights"])
                       + " (true " + ", ".join(f"{w:.3f}" for w in m["true_weights"]) + ")")
    print("; ".join(summary), file=sys.stderr)
    if result.failure is None:
        for w in metric_warnings(m):
            print(f"warning: {w}", file=sys.stderr)
    if exporter is not None and not result.interrupted and result.failure is None:
        exporter(result, preset, progress=ProgressBar(sys.stderr, "export").update)
    print(f"wrote {out}", file=sys.stderr)
    if result.failure is not None and not result.interrupted:
        print(f"error: {' '.join(result.failure.splitlines())}", file=sys.stderr)
        return 3
    return 130 if result.interrupted else 0


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
    d = preset.to_dict()
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
    """A one-line progress bar on a terminal; silent when output is not a terminal."""

    def __init__(self, stream, label: str | None = None):
        self.stream = stream
        self.label = label
        self.tty = hasattr(stream, "isatty") and stream.isatty()
        self.last = None

    def update(self, phase: str, done: int, total: int) -> None:
        if not self.tty or total <= 0:
            return
        frac = done / total
        width = 30
        filled = int(frac * width)
        line = f"\r{self.label or phase:>7} [{'#' * filled}{'.' * (width - filled)}] {done}/{total}"
        if line != self.last:
            self.stream.write(line)
            self.stream.flush()
            self.last = line
        if done >= total:
            self.stream.write("\n")
            self.last = None

    def close(self) -> None:
        if self.tty and self.last is not None:
            self.stream.write("\n")
