"""Soak: the window training and sampling for a long time; does its memory grow?

    python bench/bench_soak.py [--minutes 30] [--every 30]

Runs the real main window (offscreen) on a preset with a budget of ten million steps,
training all the time and restarting the Langevin animation (20,000 particles, exact score)
whenever it ends, and samples the resident memory (RSS) of the window's process and of its
training process every `--every` seconds. Prints the samples, then the growth from the
first minute's level to the end, for each process and in total (issue 16: under 50 MB over
30 minutes), with the number of steps trained.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("SCORE_EXPLORER_SETTINGS", os.path.join(tempfile.mkdtemp(), "s.ini"))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

from explorer.core.presets import preset as P  # noqa: E402
from explorer.views.application import make_app  # noqa: E402
from explorer.gui.main_window import MainWindow  # noqa: E402

PRESET = {
    "name": "soak",
    "density": {"kind": "mixture", "weights": [0.2, 0.8], "means": [[-5.0, -5.0], [5.0, 5.0]],
                "stds": [1.0, 1.0], "bounds": [[-8.0, 8.0], [-8.0, 8.0]]},
    "objective": {"kind": "ssm_vr"},
    "training": {"steps": 10_000_000, "device": "cpu"},
    "sampler": {"kind": "langevin", "score": "true", "step_size": 0.05, "steps": 2000,
                "particles": 20_000},
}


def rss_mb(pid: int) -> float:
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return float("nan")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--minutes", type=float, default=30.0)
    ap.add_argument("--every", type=float, default=30.0)
    args = ap.parse_args()
    app = make_app()
    w = MainWindow(P.parse(PRESET))
    w.resize(1600, 980)
    w.show()
    w.play()
    t0 = time.time()
    samples = []
    next_sample = t0
    while time.time() - t0 < args.minutes * 60:
        app.processEvents()
        if w.session.sampling is None or (not w.session.sampling.playing):
            w.toggle_sampling()
        now = time.time()
        if now >= next_sample:
            child = w.session.training_process.process.pid if w.session.training_process else None
            row = (now - t0, rss_mb(os.getpid()), rss_mb(child) if child else float("nan"),
                   w.trainer.step_count)
            samples.append(row)
            print(f"{row[0]:7.0f} s  window {row[1]:7.1f} MB  training process {row[2]:7.1f} MB"
                  f"  {row[3]:,} steps", flush=True)
            next_sample = now + args.every
        time.sleep(0.005)
    w.close()
    app.processEvents()
    base = [r for r in samples if r[0] >= 60] or samples
    first, last = base[0], samples[-1]
    print(f"growth from {first[0]:.0f} s to {last[0]:.0f} s: window {last[1] - first[1]:+.1f} MB, "
          f"training process {last[2] - first[2]:+.1f} MB, total "
          f"{last[1] + last[2] - first[1] - first[2]:+.1f} MB over {last[3] - first[3]:,} steps")


if __name__ == "__main__":
    main()
