"""Frame rates of the plot views, offscreen (software rendering).

    python bench/bench_views.py [--seconds 3]

Prints:
- ParticlesView.set_particles + a forced repaint (widget.grab()) of a 900 x 600 view with
  random-walking particles, at 20,000 and 100,000 particles, in the default "auto" render
  mode (numpy-splatted points up to 250,000, a 2-D histogram above), forced "histogram",
  and with trails;
- QuiverItem.set_data alone and FieldView.set_fields + grab at 32 x 32 and 40 x 40 arrows;
- LossView.set_curves + grab with 100,000 loss points (growing, as during training).
Targets (docs/design.md §6): 20,000 particles >= 30 frames/s, 100,000 >= 10, on a 2-core CPU.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

import numpy as np  # noqa: E402
import pyqtgraph as pg  # noqa: E402

from explorer.views.field_view import FieldView  # noqa: E402
from explorer.views.loss_view import LossView  # noqa: E402
from explorer.views.particles_view import ParticlesView  # noqa: E402
from explorer.views.quiver import QuiverItem  # noqa: E402

BOUNDS = np.array([[-8.0, 8.0], [-8.0, 8.0]])
M = np.array([[-5.0, -5.0], [5.0, 5.0]])
W = np.array([0.2, 0.8])


def grid(n):
    ax = -8 + 16 / n * (np.arange(n) + 0.5)
    X, Y = np.meshgrid(ax, ax, indexing="ij")
    return np.stack([X.ravel(), Y.ravel()], axis=1)


def mixture(x):
    d = x[:, None, :] - M[None]
    c = W * np.exp(-0.5 * (d ** 2).sum(-1)) / (2 * np.pi)
    p = c.sum(1)
    return p, -((c / p[:, None])[..., None] * d).sum(1)


def bench_particles(app, n, mode, seconds, trails=False):
    v = ParticlesView()
    v.resize(900, 600)
    v.show()
    v.set_bounds(BOUNDS)
    v.set_density(mixture(grid(128))[0].reshape(128, 128))
    v.set_render_mode(mode)
    v.set_trails(trails)
    v.set_status("Langevin, step 0")
    rng = np.random.default_rng(0)
    x = rng.uniform(-8, 8, (n, 2)).astype(np.float32)
    noise = rng.standard_normal((64, n, 2)).astype(np.float32) * 0.05
    app.processEvents()
    v.set_particles(x)
    v.grab()
    frames, t0 = 0, time.perf_counter()
    while time.perf_counter() - t0 < seconds:
        x += noise[frames % 64]
        v.set_particles(x)
        v.set_status(f"Langevin, step {frames}")
        v.grab()
        app.processEvents()
        frames += 1
    fps = frames / (time.perf_counter() - t0)
    used = v.render_used
    v.close()
    v.deleteLater()
    app.processEvents()
    return fps, used


def bench_quiver(app, n, repeats=100):
    pts = grid(n)
    p, s = mixture(pts)
    lrn = s * 0.8 + 0.3
    q = QuiverItem()
    q.set_data(pts, s)
    t0 = time.perf_counter()
    for i in range(repeats):
        q.set_data(pts, s * (1 + 0.01 * (i % 3)))
    t_set = (time.perf_counter() - t0) / repeats * 1e3
    pw = pg.PlotWidget()
    pw.resize(600, 600)
    pw.setAspectLocked(True)
    pw.show()
    pw.addItem(q)
    pw.setRange(xRange=(-8, 8), yRange=(-8, 8))
    app.processEvents()
    pw.grab()
    t0 = time.perf_counter()
    for i in range(repeats // 4):
        q.set_data(pts, s * (1 + 0.01 * (i % 3)))
        pw.grab()
    t_draw = (time.perf_counter() - t0) / (repeats // 4) * 1e3
    pw.close()
    v = FieldView()
    v.resize(900, 600)
    v.show()
    v.set_bounds(BOUNDS)
    v.set_density(mixture(grid(128))[0].reshape(128, 128))
    app.processEvents()
    out = {}
    for mode in ("side", "overlay", "error"):
        v.set_mode(mode)
        v.set_fields(pts, lrn, s, p)
        v.grab()
        t0 = time.perf_counter()
        k = 10
        for i in range(k):
            v.set_fields(pts, lrn * (1 + 0.01 * i), s, p)
            v.grab()
        out[mode] = (time.perf_counter() - t0) / k * 1e3
    v.close()
    return t_set, t_draw, out


def bench_loss(app, n=100_000, chunk=2000):
    v = LossView()
    v.resize(900, 600)
    v.show()
    rng = np.random.default_rng(0)
    steps = np.arange(n)
    fisher = 5 * np.exp(-steps / (n / 8)) + 0.05
    loss = fisher - 2.0 + 0.5 * rng.standard_normal(n)
    times = []
    for k in range(chunk, n + 1, chunk):
        t0 = time.perf_counter()
        v.set_curves(steps[:k], loss[:k], steps[:k:100], fisher[:k:100], 2.0, "ism")
        v.grab()
        times.append(time.perf_counter() - t0)
    v.close()
    return np.mean(times[-5:]) * 1e3


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=float, default=3.0)
    args = ap.parse_args()
    app = pg.mkQApp()
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, "
          f"Qt platform {os.environ.get('QT_QPA_PLATFORM')}, python {platform.python_version()}, "
          f"pyqtgraph {pg.__version__}")
    print("ParticlesView.set_particles + grab(), 900x600, random walk:")
    for n in (20_000, 100_000):
        for mode, trails in (("auto", False), ("histogram", False), ("auto", True)):
            fps, used = bench_particles(app, n, mode, args.seconds, trails)
            target = 30 if n == 20_000 else 10
            print(f"  n={n:>7,}  mode={mode:<9} trails={'on ' if trails else 'off'} "
                  f"drawn as {used:<9}  {fps:6.1f} frames/s  (target >= {target})")
    print("Quiver (2 x G arrows in side/overlay):")
    for n in (32, 40):
        t_set, t_draw, modes = bench_quiver(app, n)
        print(f"  {n}x{n}: QuiverItem.set_data {t_set:5.2f} ms; set_data + grab (600x600) "
              f"{t_draw:5.1f} ms; FieldView.set_fields + grab: "
              + ", ".join(f"{m} {t:5.1f} ms" for m, t in modes.items()))
    print(f"LossView.set_curves + grab at 100,000 points (ISM, shifted, Fisher): "
          f"{bench_loss(app):5.1f} ms")


if __name__ == "__main__":
    main()
