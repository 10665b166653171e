"""Offline frame rendering: a run replayed step by step and drawn with the window's views.

Two halves that meet in `render_animation`:

- *Snapshots* (plain numpy, no Qt): `particle_snapshots` re-creates the run's `Sampler`
  from the preset (same seed, same particles) and yields its state every k steps;
  `training_snapshots` trains a fresh `Trainer` from the preset's seed and yields the
  learned field and the loss curves every k steps. The step k is fixed by the length of
  the schedule and the format, never by a clock, so the same run gives the same frames.
- *Scenes* (Qt, GUI thread only): the views of `explorer.views` at the export size
  and style, fed a snapshot and rendered to an RGB array.

The command line runs both halves in its one thread; the window's export dialog runs
the snapshots in a worker thread and hands each frame to the GUI thread to draw
(`render_call`), so the window stays responsive and widgets are only touched where Qt
allows it.
"""

from __future__ import annotations

import math
import os
import sys
from pathlib import Path
from typing import Callable, Iterable, Iterator

import numpy as np
import torch

from ..core.measures.grid import grid_points
from ..core.presets.preset import Preset
from ..core.samplers import build_sampler, sampler_class
from ..core.scores import LearnedScore, TrueScore
from ..core.session.captions import field_caption, mode_readout, sampler_status
from ..core.training.trainer import Trainer
from .encode import check_cancel, open_sink, MP4_FPS, GIF_FPS
from .painting import grab_rgb, paint_on_request_only

# Animation length: about 5 s of motion, then the last frame held for about 1 s.
MOTION_FRAMES = {".mp4": 150, ".gif": 60}
HOLD_FRAMES = {".mp4": MP4_FPS, ".gif": round(GIF_FPS)}
DENSITY_RES = 200          # pixels per side of the density image behind the particles
FIELD_GRID_MAX = 32        # arrows per axis on a slide (the preset's grid, capped)
CLOUD_SAMPLES = 20_000     # samples of a 3-D density for its projected shadow
ELEVATION = math.radians(25)

RenderCall = Callable[..., object]   # render_call(fn, *args) runs fn(*args) in the GUI thread


def _direct(fn, *args):
    return fn(*args)


# ===================================================================== Qt plumbing

_APP = None


def ensure_qapp():
    """The QApplication, created if needed (offscreen when there is no display)."""
    global _APP
    from PySide6.QtWidgets import QApplication
    app = QApplication.instance()
    if app is not None:
        return app
    if not os.environ.get("QT_QPA_PLATFORM") and not (os.environ.get("DISPLAY")
                                                      or os.environ.get("WAYLAND_DISPLAY")):
        os.environ["QT_QPA_PLATFORM"] = "offscreen"
    try:
        from ..views.application import make_app
        _APP = make_app([sys.argv[0] if sys.argv else "score-explorer"])
    except ImportError:  # pragma: no cover - the window's module is part of the package
        _APP = QApplication([sys.argv[0] if sys.argv else "score-explorer"])
    return _APP


def _prepare(widget, size: tuple[int, int]) -> None:
    """Lay a widget out at exactly `size` without putting it on screen."""
    from PySide6.QtCore import Qt
    from PySide6.QtWidgets import QApplication
    w, h = size
    widget.setAttribute(Qt.WA_DontShowOnScreen, True)
    widget.setFixedSize(w, h)
    if not widget.isVisible():
        widget.show()
    QApplication.processEvents()


def _view(name: str):
    """A view class of explorer.views, imported when first needed."""
    import importlib
    module = {"FieldView": "field_view", "ParticlesView": "particles_view",
              "LossView": "loss_view", "Curve1DView": "curve1d_view"}[name]
    return getattr(importlib.import_module(f"..views.{module}", __package__), name)


def _titled(widget, title: str, style=None):
    """The widget under a title line (the preset's name, for a slide), in the slide's font."""
    from PySide6.QtCore import Qt
    from PySide6.QtWidgets import QLabel, QVBoxLayout, QWidget
    from ..views.style import FOREGROUND
    box = QWidget()
    _dark(box)
    lay = QVBoxLayout(box)
    lay.setContentsMargins(0, 6, 0, 0)
    lay.setSpacing(2)
    label = QLabel(title)
    label.setAlignment(Qt.AlignCenter)
    f = label.font()
    f.setPointSizeF(float(getattr(style, "font_pt", 12)) + 6)
    f.setBold(True)
    label.setFont(f)
    label.setStyleSheet("color: rgb(%d, %d, %d);" % tuple(FOREGROUND[:3]))
    lay.addWidget(label)
    lay.addWidget(widget, 1)
    box.title_label = label
    return box


def _dark(widget) -> None:
    from PySide6.QtGui import QColor, QPalette
    from ..views.style import BACKGROUND
    pal = widget.palette()
    pal.setColor(QPalette.Window, QColor(*BACKGROUND))
    widget.setPalette(pal)
    widget.setAutoFillBackground(True)


# ===================================================================== numbers (no Qt)

def _np(t: torch.Tensor) -> np.ndarray:
    return t.detach().to("cpu", torch.float32).numpy()


def _eval_field(fn, pts: np.ndarray, device) -> np.ndarray:
    x = torch.from_numpy(np.ascontiguousarray(pts, dtype=np.float32)).to(device)
    with torch.no_grad():
        return np.concatenate([_np(fn(b)) for b in torch.split(x, 8192)]) if len(x) else \
            np.zeros((0, pts.shape[1]), np.float32)


def density_image(density, bounds, n: int = DENSITY_RES) -> np.ndarray:
    """p on an n x n grid over 2-D bounds (first index x), scaled to max 1 (the window's own)."""
    from ..core.measures.pictures import density_image as image
    return image(density, bounds, n)


def density_curve(density, bounds, n: int = 400) -> tuple[np.ndarray, np.ndarray]:
    """(xs, p) for a 1-D density, normalised over the range (the window's own)."""
    from ..core.measures.pictures import density_curve as curve
    return curve(density, bounds, n)


def field_grid(preset: Preset) -> tuple[np.ndarray, int]:
    n = int(min(preset.view["grid"], FIELD_GRID_MAX)) if preset.dim > 1 else 200
    if preset.dim == 3:
        n = min(n, 24)
    return grid_points(preset.density["bounds"], n), n


def mid_slice(pts: np.ndarray, n: int) -> np.ndarray:
    """Indices of the middle x3-slice of an n^3 grid."""
    return np.arange(len(pts)).reshape(n, n, n)[:, :, n // 2].ravel()


def motion_frames(ext: str) -> int:
    return MOTION_FRAMES.get(ext, 60)


def hold_frames(ext: str) -> int:
    return HOLD_FRAMES.get(ext, 15)


def _advance(step: Callable[[int], None], n: int, cancel) -> None:
    """n steps, checking for cancel before each: a frame of a long export can span tens of
    thousands of steps, and Cancel or closing the window must take effect within a second."""
    for _ in range(n):
        check_cancel(cancel)
        step(1)


def particle_snapshots(preset: Preset, score, device, density, frames: int,
                       particles: int | None = None, cancel=None) -> Iterator[dict]:
    """The sampler of the run, replayed: its state after 0, k, 2k, ... steps and at the end."""
    sampler = build_sampler(preset, score, device, particles=particles)
    total = sampler.total
    k = max(1, math.ceil(total / max(frames - 1, 1)))
    kind, src = preset.sampler["kind"], preset.sampler["score"]
    while True:
        check_cancel(cancel)
        x = sampler.numpy()
        yield {"x": x, "step": sampler.done_steps, "total": total, "sigma": sampler.sigma,
               "status": sampler_status(kind, sampler.done_steps, total, sigma=sampler.sigma,
                                        t=sampler.t, nfe=sampler.nfe, score=src),
               "modes": mode_readout(x, density), "paths": sampler.paths_so_far()}
        if sampler.done:
            return
        _advance(sampler.advance, k, cancel)


def count_particle_frames(preset: Preset, frames: int) -> int:
    total = sampler_class(preset.sampler["kind"]).total_steps(preset)
    k = max(1, math.ceil(total / max(frames - 1, 1)))
    return 1 + math.ceil(total / k)


def training_state(trainer: Trainer, preset: Preset, pts: np.ndarray, true_on_grid: np.ndarray,
                   model=None, fisher_abs: list | None = None) -> dict:
    """The picture of a trainer now: learned field on the grid, loss and Fisher curves."""
    learned = LearnedScore(model if model is not None else trainer.model, preset)
    step = trainer.step_count
    if fisher_abs is None:  # the trainer records (step, F, relative F)
        fisher_abs = [(s, f) for s, f, _ in list(trainer.fisher)]
    obj = preset.objective["kind"]
    return {
        "step": step,
        "budget": trainer.budget,
        "learned": _eval_field(learned.field, pts, trainer.device),
        "true": true_on_grid,
        "loss": np.asarray(trainer.losses[:step], dtype=np.float64),
        "fisher_steps": np.asarray([s for s, _ in fisher_abs], dtype=np.float64),
        "fisher": np.asarray([f for _, f in fisher_abs], dtype=np.float64),
        "ism_constant": trainer.ism_constant(),
        "objective": obj,
    }


def training_snapshots(preset: Preset, frames: int, density=None, device=None,
                       cancel=None) -> Iterator[dict]:
    """Train from the preset's seed and yield the state after 0, k, 2k, ... steps."""
    trainer = Trainer(preset, density=density, device=device)
    pts, _ = field_grid(preset)
    true = _eval_field(trainer.true_score().field, pts, trainer.device)
    steps = trainer.budget
    k = max(1, math.ceil(steps / max(frames - 1, 1)))
    fisher: list[tuple[int, float]] = []
    due = [0]   # the next frame with a Fisher evaluation

    def snap():
        # F on 10,000 samples costs more than drawing a frame: evaluated on frames spaced
        # evenly on a log scale of the frame number (about 2 per doubling), and at the end,
        # which is what the curve's log axis can show
        i = trainer.step_count // k
        if i >= due[0] or trainer.step_count >= steps:
            ev = trainer.evaluate()
            fisher.append((trainer.step_count, ev["fisher_divergence"]))
            due[0] = max(i + 1, int(math.ceil(i * 1.5)))
        return training_state(trainer, preset, pts, true, fisher_abs=fisher)

    check_cancel(cancel)
    trainer.optimizer  # its first use imports torch._dynamo (seconds): before frame 0, not mid-frame
    yield snap()
    while trainer.step_count < steps:
        _advance(trainer.step, min(k, steps - trainer.step_count), cancel)
        yield snap()


def count_training_frames(preset: Preset, frames: int) -> int:
    steps = int(preset.training["steps"])
    k = max(1, math.ceil(steps / max(frames - 1, 1)))
    return 1 + math.ceil(steps / k)


# ===================================================================== scenes (Qt, GUI thread)

class Scene:
    """A widget at a fixed size and style; `render(snap, i, n)` returns an RGB frame."""

    def __init__(self, widget, size: tuple[int, int], title: str | None = None, style=None):
        if title:
            widget = _titled(widget, title, style)
        self.widget = widget
        self.size = (int(size[0]), int(size[1]))
        _prepare(widget, self.size)
        paint_on_request_only(widget)   # each frame is painted once, by render()

    def update(self, snap: dict, i: int = 0, n: int = 1) -> None:
        raise NotImplementedError

    def render(self, snap: dict, i: int = 0, n: int = 1) -> np.ndarray:
        self.update(snap, i, n)
        return grab_rgb(self.widget, self.size)

    # a 3-D scene turns while the last frame is held; a flat one does not change
    moving_hold = False

    def close(self) -> None:
        """Delete the widgets now, in the GUI thread (call it there).

        A worker thread may hold the last Python reference to a scene; deleting the C++
        widgets here means dropping that reference later never deletes a widget off the
        GUI thread.
        """
        w, self.widget = self.widget, None
        if w is None:
            return
        import shiboken6
        if shiboken6.isValid(w):
            w.close()
            shiboken6.delete(w)


class ParticleScene(Scene):
    """The particle cloud over the density: 2-D directly, 3-D as a turning projection, 1-D curves."""

    def __init__(self, preset: Preset, density, size, style, learned=None, device="cpu",
                 title: str | None = None):
        self.preset, self.density, self.dim = preset, density, preset.dim
        b = np.asarray(preset.density["bounds"], dtype=np.float64)
        view = _view("Curve1DView" if self.dim == 1 else "ParticlesView")()
        view.apply_style(style)
        super().__init__(view, size, title, style)
        self.view = view
        if self.dim == 1:
            xs, p = density_curve(density, b)
            view.set_bounds(b)
            view.set_density(xs, p)
            xs32 = xs.astype(np.float32)[:, None]
            true = _eval_field(TrueScore(density, preset).field, xs32, "cpu")[:, 0]
            lrn = None if learned is None else _eval_field(learned.field, xs32, device)[:, 0]
            view.set_scores(xs, lrn, true)
        elif self.dim == 2:
            view.set_bounds(b)
            view.set_density(density_image(density, b))
        else:
            self.moving_hold = True
            self.centre = b.mean(1)
            r = float(np.linalg.norm((b[:, 1] - b[:, 0]) / 2))
            self.proj_bounds = np.array([[-r, r], [-r, r]])
            cloud = density.sample(CLOUD_SAMPLES, torch.Generator().manual_seed(0))
            self.cloud = _np(cloud).astype(np.float64)
            view.set_bounds(self.proj_bounds)
            plot = getattr(view, "plot", None)
            if plot is not None:  # the axes of a turning projection are not x1 and x2
                plot.setLabel("bottom", "across the view (turning about x₃)")
                plot.setLabel("left", f"x₃, seen from {math.degrees(ELEVATION):.0f}° above")
                plot.setTitle("Particles (3-D, orthographic projection)")

    def project(self, x: np.ndarray, angle: float) -> np.ndarray:
        """Orthographic view of 3-D points turning about the vertical (x3) axis, seen from above."""
        y = np.asarray(x, dtype=np.float64) - self.centre
        c, s = math.cos(angle), math.sin(angle)
        u = c * y[:, 0] - s * y[:, 1]
        depth = s * y[:, 0] + c * y[:, 1]
        v = math.cos(ELEVATION) * y[:, 2] + math.sin(ELEVATION) * depth
        return np.stack([u, v], 1).astype(np.float32)

    def update(self, snap, i=0, n=1):
        v = self.view
        x = snap["x"]
        status = snap.get("status", "")
        paths = snap.get("paths")       # ODE samplers with sampler.paths: (steps + 1, k, d)
        if self.dim == 1:
            v.set_particles(x[:, 0])
        elif self.dim == 2:
            v.set_paths(paths)
            v.set_particles(x)
        else:
            angle = 2 * math.pi * i / max(n, 1)
            pc = self.project(self.cloud, angle)
            r = self.proj_bounds
            h, _, _ = np.histogram2d(pc[:, 0], pc[:, 1], bins=120, range=r)
            h = _blur(h, 1.0)
            v.set_density(h / max(h.max(), 1e-12))
            v.set_particles(self.project(x, angle))
            if paths is not None:      # projected like the particles, as the view turns
                a = np.asarray(paths)
                v.set_paths(self.project(a.reshape(-1, 3), angle).reshape(a.shape[0], a.shape[1], 2))
            status += f"  ·  view turned {math.degrees(angle) % 360:.0f}°"
        v.set_status(status)
        if snap.get("modes") is not None and hasattr(v, "set_mode_weights"):
            v.set_mode_weights(*snap["modes"])
        self._centre()

    def _centre(self) -> None:
        """The plot and its readouts as one block in the middle of the frame, the readout
        column as wide as what it shows: the column took the right half of a slide, and the
        plot stood in the left half."""
        v = self.view
        from ..views.legends import legend_size
        if self.dim == 1:     # the curves take the width the readout column leaves
            texts = [t.itemRect().width() for t in (v.status_text, v.weights_text) if t.plain_text]
            legends = [legend_size(g)[0] for g in (v.top_legend, v.bottom_legend)]
            column = max([*legends, *texts]) + 16 + 12
            for row in (0, 1):
                v.graphics.ci.getItem(row, 1).setMaximumWidth(column)
            return
        if not getattr(v, "_readouts_beside", False):
            return
        texts = [t.itemRect().width() for t in (v.status_text, v.weights_text) if t.plain_text]
        legend = legend_size(v.legend)[0] if v.legend.isVisible() else 0.0
        column = max([legend, *texts]) + 16 + 12          # the column's own margins
        box = v.plot.getViewBox().height()                 # the density's square box
        plot = v.plot.getAxis("left").width() + box + 24
        margin = max(0.0, (self.size[0] - plot - column) / 2)
        if abs(margin - getattr(self, "_margin", -1.0)) < 2:
            return
        self._margin = margin
        v.readouts.setMaximumWidth(column)
        v.graphics.ci.layout.setContentsMargins(margin, 0, margin, 0)


class TrainingScene(Scene):
    """Learned vs true field (or the 1-D score curves) beside the loss curves, or either alone."""

    def __init__(self, preset: Preset, density, size, style, show: str = "training",
                 field_mode: str = "overlay", title: str | None = None):
        from PySide6.QtWidgets import QHBoxLayout, QWidget
        self.preset, self.density, self.dim, self.show = preset, density, preset.dim, show
        b = np.asarray(preset.density["bounds"], dtype=np.float64)
        self.pts, self.n = field_grid(preset)
        self.field = self.loss = None
        box = QWidget()
        _dark(box)
        lay = QHBoxLayout(box)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.setSpacing(0)
        if show in ("training", "field", "error"):
            if self.dim == 1:
                self.field = _view("Curve1DView")()
                self.field.set_bounds(b)
                xs, p = density_curve(density, b)
                self.field.set_density(xs, p)
                # no particles in a training frame: neither in the legend nor the title
                from ..views.legends import remove_legend_entry
                remove_legend_entry(self.field.top_legend, self.field.hist_item)
                self.field.top.title_text = "Density p(x)"
            else:
                self.field = _view("FieldView")()
                b2 = b[:2]
                self.field.set_bounds(b2)
                if self.dim == 2:
                    self.field.set_density(density_image(density, b2))
                    self.p_at = _density_at(density, self.pts)
                else:
                    idx = mid_slice(self.pts, self.n)
                    self.slice_idx = idx
                    self.p_at = _density_at(density, self.pts[idx])
                    self.field.set_density(_slice_image(density, b, DENSITY_RES // 2))
                self.field.set_mode("error" if show == "error" else field_mode)
            self.field.apply_style(style)
            lay.addWidget(self.field, 1)
        if show in ("training", "loss"):
            self.loss = _view("LossView")()
            self.loss.apply_style(style)
            lay.addWidget(self.loss, 1)
        super().__init__(box, size, title, style)

    def update(self, snap, i=0, n=1):
        if self.field is not None:
            learned, true = snap["learned"], snap["true"]
            if self.dim == 1:
                self.field.set_scores(self.pts[:, 0], learned[:, 0], true[:, 0])
                self.field.set_status(f"training step {snap['step']}/{snap['budget']}")
            else:
                pts = self.pts
                if self.dim == 3:
                    idx = self.slice_idx
                    pts, learned, true = pts[idx], learned[idx], true[idx]
                self.field.set_fields(pts[:, :2], learned[:, :2], true[:, :2], self.p_at)
                cap = field_caption(self.preset, self.density, step=snap["step"], budget=snap["budget"])
                if self.dim == 3:
                    cap += f"; slice x3 = {float(self.pts[self.slice_idx[0], 2]):.2g}"
                self.field.set_caption(cap)
        if self.loss is not None:
            loss = snap["loss"]
            steps = snap.get("loss_steps")
            if steps is None:
                steps = np.arange(1, len(loss) + 1)
            self.loss.set_curves(steps, loss, snap["fisher_steps"],
                                 snap["fisher"], snap["ism_constant"], snap["objective"])


def _blur(a: np.ndarray, sigma: float) -> np.ndarray:
    """A separable Gaussian blur (sigma in cells) for the projected shadow of a 3-D density."""
    r = max(1, int(3 * sigma))
    k = np.exp(-0.5 * (np.arange(-r, r + 1) / sigma) ** 2)
    k /= k.sum()
    a = np.apply_along_axis(lambda v: np.convolve(v, k, mode="same"), 0, a)
    return np.apply_along_axis(lambda v: np.convolve(v, k, mode="same"), 1, a)


def _density_at(density, pts: np.ndarray) -> np.ndarray:
    with torch.no_grad():
        lp = density.log_prob(torch.from_numpy(np.ascontiguousarray(pts, np.float32))).double().numpy()
    lp = np.where(np.isfinite(lp), lp, -np.inf)
    if not np.isfinite(lp).any():
        return np.zeros(len(pts), np.float32)
    return np.exp(lp - lp.max()).astype(np.float32)


def _slice_image(density, bounds, n: int) -> np.ndarray:
    """p on the middle x3-plane of a 3-D box, n x n (first index x1)."""
    b = np.asarray(bounds)
    g = grid_points(b[:2], n)
    z = np.full((len(g), 1), b[2].mean(), np.float32)
    p = _density_at(density, np.concatenate([g, z], 1))
    return p.reshape(n, n)


# ===================================================================== the pipeline

def render_animation(path, snapshots: Iterable[dict], make_scene: Callable[[], Scene],
                     motion: int, hold: int, cancel=None, progress=None,
                     render_call: RenderCall = _direct) -> Path:
    """Draw each snapshot, add `hold` copies of the last frame, encode; nothing left on failure."""
    total = motion + hold
    sink = open_sink(path, cancel=cancel, progress=progress, total=total)
    scene = None
    try:
        scene = render_call(make_scene)
        i = 0
        last_snap = last = None
        for snap in snapshots:
            check_cancel(cancel)
            last = render_call(scene.render, snap, i, total)
            last_snap = snap
            sink.write(last)
            i += 1
        if last is None:
            raise RuntimeError("nothing to draw")
        for _ in range(hold):
            check_cancel(cancel)
            if scene.moving_hold:
                last = render_call(scene.render, last_snap, i, total)
            sink.write(last)
            i += 1
        return sink.close()
    except BaseException:
        sink.abort()
        raise
    finally:
        if scene is not None:  # queued, not awaited: after a cancel the worker must not wait
            getattr(render_call, "post", render_call)(scene.close)


def particle_animation(path, preset: Preset, score, device, density, style, size,
                       cancel=None, progress=None, render_call: RenderCall = _direct,
                       learned=None, title: str | None = None) -> Path:
    ext = Path(path).suffix.lower()
    motion = motion_frames(ext)
    n = count_particle_frames(preset, motion)
    snaps = particle_snapshots(preset, score, device, density, motion, cancel=cancel)
    return render_animation(
        path, snaps, lambda: ParticleScene(preset, density, size, style, learned, device, title),
        n, hold_frames(ext), cancel, progress, render_call)


def training_animation(path, preset: Preset, density, style, size, device=None, cancel=None,
                       progress=None, render_call: RenderCall = _direct,
                       title: str | None = None) -> Path:
    ext = Path(path).suffix.lower()
    motion = motion_frames(ext)
    n = count_training_frames(preset, motion)
    snaps = training_snapshots(preset, motion, density=density, device=device, cancel=cancel)
    return render_animation(path, snaps,
                            lambda: TrainingScene(preset, density, size, style, title=title),
                            n, hold_frames(ext), cancel, progress, render_call)
