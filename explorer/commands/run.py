"""`score-explorer run PRESET`: train and sample without a window (docs/design.md §5).

Exit status (guard.py maps the errors): 0 done; 1 a result file could not be written (the
file named) or an unexpected failure; 2 invalid input, nothing written; 3 training or
sampling diverged (what was finished is written, one `error:` line says what to change);
130 Ctrl-C, 143 SIGTERM: what was written is kept, every file complete. `warning:` lines
(status unchanged) flag values float32 cannot compute with and results worse than a zero
score.
"""

from __future__ import annotations

import sys
from pathlib import Path

from ..core.errors import SpecError
from .common import Parser, ProgressBar, as_flag, parse

EXPORT_HELP = (
    "also write FILE after the run. By extension: .mp4, .gif an animation; .png, .svg a "
    "still; .npy the samples; .csv the loss curve (or samples:FILE.csv); .npz the fields and "
    "data. WHAT chooses what is shown: particles (default) or training for an animation; "
    "particles, field, error, loss or training for a still. SIZE is 720 (1280x720, the "
    "default), 1080, screen, or WxH. Examples: --export run.mp4, --export training@1080:t.mp4, "
    "--export error:map.png")

def _run_parser() -> Parser:
    ap = Parser(prog="score-explorer run",
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


def main(argv: list[str]) -> int:
    args = parse(_run_parser(), argv)
    if isinstance(args, int):
        return args
    return _headless(args)


def _headless(args) -> int:
    from ..core.files import PRESET_LIMIT, output_folder, read_limited
    # read before torch is imported: a FIFO, a device or a huge file fails within a second
    data = read_limited(args.preset, "", PRESET_LIMIT)

    from ..core.presets import preset as P
    from ..core.presets.numerics import preset_warnings
    from ..core.run.headless import metric_warnings, train_and_sample, write_outputs

    preset = P.load_bytes(data, args.preset)
    preset = apply_overrides(preset, args)
    out = Path(args.out) if args.out else Path("runs") / Path(args.preset).stem
    if out.exists() and not out.is_dir():
        raise SpecError("--out", f"{out} exists and is not a folder")

    def make_out():
        output_folder(out)

    exporters = []
    for spec in args.export:  # all checked before anything is written: a bad path leaves nothing
        from ..export import check_export_path
        target = Path(spec.rsplit(":", 1)[-1]).resolve()
        if out.resolve() in target.parents:  # an export into the results folder
            make_out()
        exporters.append(check_export_path(spec, "--export"))
    make_out()
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
        from ..core.measures.sample_quality import describe as describe_quality
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


def apply_overrides(preset, args):
    """Command-line values replace preset keys and are validated like them."""
    from ..core.presets.edits import with_changes
    flags = {"training.steps": args.steps, "sampler.particles": args.particles,
             "training.seed": args.seed, "sampler.seed": args.seed, "training.device": args.device}
    try:
        return with_changes(preset, {k: v for k, v in flags.items() if v is not None})
    except SpecError as e:
        raise as_flag(e, {"training.steps": "--steps", "sampler.particles": "--particles",
                          "training.seed": "--seed", "sampler.seed": "--seed",
                          "training.device": "--device"}) from None


