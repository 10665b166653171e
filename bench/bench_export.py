"""Offline rendering speed of exported animations at 1280x720 (issue 10: at least 15 frames/s
on 2 cores).

    python bench/bench_export.py [--preset two_modes_annealed] [--repeats 3]

Renders the particle animation and the training animation of a preset to MP4 at 1280x720,
as `score-explorer run --export` and the window's Export dialog do, and prints for each the
frames per second of the whole export (sampling or training between frames, drawing,
encoding) and of the drawing alone (time spent in Scene.render), medians over the repeats,
the two kinds alternated, with the machine's load average before and after.

Torch gets the thread count that `score-explorer run` gives it (core/training/threads.py: one thread
unless OMP_NUM_THREADS says otherwise; the window sets one too). With torch's default two
threads the trainer's barriers spin against the encoder process on 2 cores and a training
step took 66 ms instead of 3 (profiled), which is not what an export runs at. torch.optim's
first use imports torch._dynamo (about 2 s); a run has done that before it exports, so it
is done here before the clock starts.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

from explorer.core.presets import preset as P  # noqa: E402
from explorer.core.training import threads  # noqa: E402
from explorer.core.presets.shipped import resolve  # noqa: E402
from explorer.core.training.trainer import Trainer  # noqa: E402
from explorer.export import frames as F  # noqa: E402
from explorer.views.style import SLIDE_720  # noqa: E402

SIZE = (1280, 720)


def _timed_render():
    spent = [0.0, 0]
    original = F.Scene.render

    def render(self, *a, **k):
        t0 = time.perf_counter()
        try:
            return original(self, *a, **k)
        finally:
            spent[0] += time.perf_counter() - t0
            spent[1] += 1
    F.Scene.render = render
    return spent, original


def one(kind: str, preset, out: Path) -> tuple[float, float, int]:
    F.ensure_qapp()
    spent, original = _timed_render()
    trainer = Trainer(preset)
    t0 = time.perf_counter()
    try:
        if kind == "particles":
            F.particle_animation(out, preset, trainer.true_score(), trainer.device, trainer.density,
                                 SLIDE_720, SIZE)
        else:
            F.training_animation(out, preset, trainer.density, SLIDE_720, SIZE)
    finally:
        F.Scene.render = original
    total = time.perf_counter() - t0
    frames = spent[1]
    return frames / total, frames / max(spent[0], 1e-9), frames


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--preset", default="two_modes_annealed")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--train-steps", type=int, default=300,
                    help="training steps of the training animation (the frames are the same)")
    args = ap.parse_args()
    p = P.load(resolve(args.preset))
    d = p.to_dict()
    d["training"]["steps"] = args.train_steps
    d["sampler"]["score"] = "true"
    preset = P.parse(d, p.base_dir, p.source)
    n_threads = threads.apply()
    _ = Trainer(preset).optimizer   # the one-off torch._dynamo import, as after a run
    load0 = os.getloadavg()
    res = {"particles": [], "training": []}
    with tempfile.TemporaryDirectory() as tmp:
        for r in range(args.repeats):
            for kind in ("particles", "training") if r % 2 == 0 else ("training", "particles"):
                res[kind].append(one(kind, preset, Path(tmp) / f"{kind}{r}.mp4"))
    load1 = os.getloadavg()
    print(f"{args.preset}, MP4 {SIZE[0]}x{SIZE[1]}, medians of {args.repeats}, "
          f"{os.cpu_count()} cores, torch threads {n_threads}, load average (1 min) "
          f"{load0[0]:.1f} before, {load1[0]:.1f} after")
    for kind, runs in res.items():
        whole = statistics.median(a for a, _, _ in runs)
        draw = statistics.median(b for _, b, _ in runs)
        print(f"  {kind:9s} {runs[0][2]:4d} frames: {whole:5.1f} frames/s whole export, "
              f"{draw:5.1f} frames/s drawing alone")


if __name__ == "__main__":
    main()
