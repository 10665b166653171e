"""The window under load: responsiveness, training throughput and animation frame rate.

Runs the real main window (offscreen unless a display is set) and measures, with
training and the Langevin particle animation running together:

- event-loop latency: a 5 ms QTimer records how late each tick fires (p95 and max);
- training steps/s in the window (its training process) against a headless Trainer on the
  same preset, measured just before; the training process uses one torch thread fewer
  than headless (the window keeps a core), so the headless rate on that many threads is
  printed as well;
- animation frames/s (frames actually drawn by the particles view) at 20,000 and 100,000
  particles, Langevin steps live on the exact score, and how many sample-quality readouts
  (the cloud against exact samples, issue 12) reach the view a second.

    python bench/bench_window.py [--seconds 10]
    xvfb-run -a -s "-screen 0 1600x1000x24" env QT_QPA_PLATFORM=xcb python bench/bench_window.py
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("SCORE_EXPLORER_SETTINGS", os.path.join(tempfile.mkdtemp(), "s.ini"))

import numpy as np  # noqa: E402
from PySide6.QtCore import QElapsedTimer, QEventLoop, QTimer  # noqa: E402

from explorer.core.presets import preset as P  # noqa: E402
from explorer.core.training.trainer import Trainer  # noqa: E402
from explorer.views.application import make_app  # noqa: E402
from explorer.gui.main_window import MainWindow  # noqa: E402

PRESET = {
    "name": "bench",
    "density": {"kind": "mixture", "weights": [0.2, 0.8], "means": [[-5.0, -5.0], [5.0, 5.0]],
                "stds": [1.0, 1.0], "bounds": [[-8.0, 8.0], [-8.0, 8.0]]},
    "objective": {"kind": "ssm_vr"},
    "training": {"steps": 1_000_000, "device": "cpu"},
    "sampler": {"kind": "langevin", "score": "true", "step_size": 0.05, "steps": 1_000_000},
}


def headless_rate(seconds: float) -> float:
    t = Trainer(P.parse(PRESET))
    t.step(5)
    t0 = time.perf_counter()
    n = 0
    while time.perf_counter() - t0 < seconds:
        t.step(20)
        n += 20
    return n / (time.perf_counter() - t0)


class LatencyProbe:
    def __init__(self, interval_ms: int = 5):
        self.interval = interval_ms
        self.late: list[float] = []
        self.clock = QElapsedTimer()
        self.timer = QTimer()
        self.timer.setInterval(interval_ms)
        self.timer.timeout.connect(self._tick)

    def start(self):
        self.late.clear()
        self.clock.start()
        self.timer.start()

    def _tick(self):
        elapsed = self.clock.nsecsElapsed() / 1e6
        self.late.append(max(0.0, elapsed - self.interval))
        self.clock.restart()

    def stop(self):
        self.timer.stop()
        a = np.asarray(self.late)
        return float(np.percentile(a, 95)), float(a.max())


def spin(app, seconds: float) -> None:
    """Run the event loop for `seconds`, as app.exec() runs it (no busy polling)."""
    loop = QEventLoop()
    QTimer.singleShot(int(seconds * 1000), loop.quit)
    loop.exec()


def measure(app, particles: int, seconds: float, sample: bool = True) -> dict:
    d = dict(PRESET)
    d["sampler"] = {**PRESET["sampler"], "particles": particles}
    win = MainWindow(P.parse(d))
    win.resize(1600, 1000)
    win.show()
    spin(app, 1.0)
    view = win.particles_view
    frames = [0]
    orig = view.set_particles

    def counting(x):
        frames[0] += 1
        orig(x)
    view.set_particles = counting
    readouts = [0]   # sample-quality readouts (MMD², SW₂, TV, KL against exact samples)
    show = win.views.show_particles

    def counting_readouts(snap):
        readouts[0] += snap.get("quality") is not None
        show(snap)
    win.views.show_particles = counting_readouts
    win.run_bar.speed.setValue(1)
    win.play()
    if sample:
        win.toggle_sampling()
    spin(app, 1.0)
    probe = LatencyProbe()
    s0, f0, q0 = win.trainer.step_count, frames[0], readouts[0]
    t0 = time.perf_counter()
    probe.start()
    spin(app, seconds)
    p95, worst = probe.stop()
    dt = time.perf_counter() - t0
    rate = (win.trainer.step_count - s0) / dt
    fps = (frames[0] - f0) / dt
    win.close()
    return {"p95": p95, "max": worst, "steps_per_s": rate, "fps": fps,
            "readouts": (readouts[0] - q0) / dt}


def headless_pair(seconds: float, threads: int) -> tuple[float, float]:
    """Headless steps/s on `threads` torch threads and on one fewer (as the window's training
    process), measured just before a window run: a shared host's speed drifts by a third
    from minute to minute."""
    import torch
    torch.set_num_threads(threads)
    full = headless_rate(seconds)
    torch.set_num_threads(max(1, threads - 1))
    less = headless_rate(seconds)
    torch.set_num_threads(1)  # as run_app does for the window
    return full, less


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=float, default=10.0)
    args = ap.parse_args()
    import torch
    threads = torch.get_num_threads()
    app = make_app()
    print(f"platform {app.platformName()}, {os.cpu_count()} CPUs, Python {sys.version.split()[0]}; "
          f"headless on {threads} torch threads (and {max(1, threads - 1)}), SSM-VR, batch 512, "
          f"128x128, measured before each window run")
    for n in (0, 20_000, 100_000):
        head, head_less = headless_pair(args.seconds / 2, threads)
        r = measure(app, max(n, 1000), args.seconds, sample=n > 0)
        what = f"training + Langevin on {n:,} particles" if n else "training only"
        print(f"window, {what}: latency p95 {r['p95']:.1f} ms, max {r['max']:.1f} ms; "
              f"training {r['steps_per_s']:.0f} steps/s, "
              f"{100 * r['steps_per_s'] / head:.0f}% of headless ({head:.0f}), "
              f"{100 * r['steps_per_s'] / head_less:.0f}% of headless on the same threads "
              f"({head_less:.0f})" + (f"; animation {r['fps']:.1f} frames/s, sample-quality "
                                      f"readout {r['readouts']:.1f}/s" if n else ""))


if __name__ == "__main__":
    main()
