"""Compare mode's figures (issue 11): several variants training at once, and the window meanwhile.

1. Throughput: N = 4 variants (ESM, ISM, SSM-VR, DSM on the bench preset), --steps each,
   training at once in the compare lab (total steps / wall time from Play to the end),
   against the same four trained one after another headless as `score-explorer run` trains
   them (Fisher evaluation every 100 steps, the thread policy). Aimed at: at least 0.9.
   The two are taken alternately, --rounds times, and the median ratio is printed.
2. The window: the compare window with those four variants training and the main window's
   Langevin animation (20,000 particles) running, a 5 ms QTimer records how late each tick
   fires. Aimed at: p95 under 30 ms, max under 100 ms.

    python bench/bench_compare_lab.py [--steps 1500] [--seconds 8] [--rounds 3]
    python bench/bench_compare_lab.py --quit-only [--rounds 3]   # 3. quitting the window (bar: 2 s)
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("SCORE_EXPLORER_SETTINGS", os.path.join(tempfile.mkdtemp(), "s.ini"))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

import torch  # noqa: E402

from explorer.core.presets import preset as P  # noqa: E402
from explorer.core.training import threads  # noqa: E402
from explorer.core.compare.lab import CompareLab  # noqa: E402
from explorer.core.compare.plan import variant_preset  # noqa: E402
from explorer.core.session import EVAL_EVERY  # noqa: E402
from explorer.core.training.trainer import Trainer  # noqa: E402

KINDS = ("esm", "ism", "ssm_vr", "dsm")
PRESET = {
    "name": "bench",
    "density": {"kind": "mixture", "weights": [0.2, 0.8], "means": [[-5.0, -5.0], [5.0, 5.0]],
                "stds": [1.0, 1.0], "bounds": [[-8.0, 8.0], [-8.0, 8.0]]},
    "training": {"steps": 1_000_000, "device": "cpu"},
    "sampler": {"kind": "langevin", "score": "true", "step_size": 0.05, "steps": 1_000_000,
                "particles": 20000},
}


def sequential(base, steps: int) -> float:
    """Total steps/s of the four variants one after another, each trained for `steps` as
    `score-explorer run` trains (Session.train_here: chunks of EVAL_EVERY steps, a Fisher
    evaluation after each), on the thread count of core/training/threads.py."""
    threads.apply()
    done, t0 = 0, time.perf_counter()
    for kind in KINDS:
        t = Trainer(variant_preset(base, {"objective.kind": kind}))
        t.preset.training["steps"] = steps
        while t.step_count < steps:
            t.step(min(EVAL_EVERY - t.step_count % EVAL_EVERY, steps - t.step_count))
            t.evaluate()
        done += t.step_count
    return done / (time.perf_counter() - t0)


def side_by_side(base, steps: int) -> float:
    """Total steps/s of the four variants training at once in the lab, `steps` each, from
    Play to the last one's end (the training process started and torch imported before)."""
    lab = CompareLab(base)
    lab.set_budget("steps", steps)
    try:
        for kind in KINDS:
            lab.add({"objective.kind": kind})
        sessions = [v.sessions[0] for v in lab.variants]
        deadline = time.perf_counter() + 120
        while not all(s.training.reported_lr is not None for s in sessions):
            if time.perf_counter() > deadline:
                raise SystemExit("the training process did not load the variants within 120 s")
            time.sleep(0.05)   # the child has imported torch and loaded every session
        t0 = time.perf_counter()
        lab.play()
        while not lab.finished:
            time.sleep(0.01)
        return sum(s.trainer.step_count for s in sessions) / (time.perf_counter() - t0)
    finally:
        lab.close()


def _window_with_variants(base, sampling: bool):
    """The main window at 1280x720 with its compare window, the four variants training and,
    when `sampling`, the main window's Langevin animation running."""
    from PySide6.QtCore import QEventLoop, QTimer
    from explorer.gui.main_window import MainWindow
    from explorer.views.application import make_app

    app = make_app()
    win = MainWindow(base)
    win.resize(1280, 720)
    win.show()
    compare = win.open_compare()
    compare.resize(1280, 720)
    for kind in KINDS:
        compare.lab.add({"objective.kind": kind})
    compare.toggle_play()
    if sampling:
        win.run_bar.speed.setValue(1)
        win.toggle_sampling()
    loop = QEventLoop()
    deadline = time.perf_counter() + 120
    while not all(v.sessions[0].trainer.step_count > 0 for v in compare.lab.variants):
        if time.perf_counter() > deadline:
            raise SystemExit("the variants did not start training within 120 s")
        QTimer.singleShot(100, loop.quit)   # the variants load and start
        loop.exec()
    return app, win, compare, loop


def window_latency(base, seconds: float, sampling: bool = True) -> tuple[float, float, float]:
    from PySide6.QtCore import QTimer
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    from bench_window import LatencyProbe

    app, win, compare, loop = _window_with_variants(base, sampling)
    compare.redraw()   # the plots of the variants are made once; then only their data moves
    probe = LatencyProbe()
    probe.start()
    s0 = sum(v.sessions[0].trainer.step_count for v in compare.lab.variants)
    QTimer.singleShot(int(seconds * 1000), loop.quit)
    loop.exec()
    p95, worst = probe.stop()
    s1 = sum(v.sessions[0].trainer.step_count for v in compare.lab.variants)
    win.close()
    app.processEvents()
    return p95, worst, (s1 - s0) / seconds


def quit_time(base) -> tuple[float, bool]:
    """Seconds from closing the main window (what Ctrl+Q does) with the four variants training
    and particles sampling to every run joined and both training processes ended; and whether
    any child process is left."""
    import multiprocessing
    app, win, compare, loop = _window_with_variants(base, sampling=True)
    t0 = time.perf_counter()
    win.close()
    app.processEvents()
    seconds = time.perf_counter() - t0
    return seconds, bool(multiprocessing.active_children())


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seconds", type=float, default=8.0, help="of the window's latency probe")
    ap.add_argument("--steps", type=int, default=1500, help="trained by each variant")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--quit-only", action="store_true", help="only time quitting (--rounds times)")
    args = ap.parse_args()
    base = P.parse(PRESET)
    torch.set_num_threads(1)
    print(f"machine: {os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f}")
    if args.quit_only:
        times = []
        for r in range(args.rounds):
            seconds, left = quit_time(base)
            times.append(seconds)
            print(f"round {r + 1}: quit with 4 variants training and particles sampling "
                  f"{seconds:.2f} s{'; a child process is left' if left else ''}")
        print(f"quit: median {statistics.median(times):.2f} s (aimed at < 2 s); load average "
              f"{os.getloadavg()[0]:.1f}")
        return
    ratios = []
    for r in range(args.rounds):
        one = sequential(base, args.steps)
        both = side_by_side(base, args.steps)
        ratios.append(both / one)
        print(f"round {r + 1}: one after another {one:7.1f} steps/s   four at once {both:7.1f} "
              f"steps/s   ratio {both / one:.2f}")
    print(f"4 variants at once / one after another: median {statistics.median(ratios):.2f} "
          f"(aimed at >= 0.9)")
    p95, worst, rate = window_latency(base, args.seconds)
    print(f"window with 4 variants training and 20,000 particles sampling: event-loop latency "
          f"p95 {p95:.1f} ms, max {worst:.1f} ms (aimed at < 30, < 100); {rate:.0f} steps/s "
          f"in all; load average {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
