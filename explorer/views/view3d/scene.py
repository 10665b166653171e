"""What the 3-D views draw, validated once: both views hold a `Scene` and only redraw from
it, so a bad array is dropped in one place and the two views cannot disagree. Also the
auto-rotation both views share."""

from __future__ import annotations

import time

import numpy as np
from PySide6 import QtCore

from .. import common as C
from ..style import LEARNED, PARTICLES, TRUE
from .geometry import (ARROW_MODES, AXIS_NAMES, DENSITY_COLOR, DENSITY_MODES, ROTATE_DEG_PER_S, SLICE_COLOR, bounds3, clean3, fit_rows, grid_spacing3, reference_scale3, tick_text)

# ====================================================================== shared state
class Scene:
    """What both views draw, kept as plain arrays (so a view can be rebuilt from it)."""

    def __init__(self):
        self.bounds = bounds3([[-1, 1]] * 3)
        self.density_points = np.zeros((0, 3), np.float32)
        self.density_weights: np.ndarray | None = None
        self.density_grid: np.ndarray | None = None
        self.density_mode = "surface"    # falls back to the cloud when no grid is given
        self.particles = np.zeros((0, 3), np.float32)
        self.n_particles = 0
        self.field_points = np.zeros((0, 3))
        self.learned: np.ndarray | None = None
        self.true: np.ndarray | None = None
        self.scale = 1.0
        self.cell = 1.0
        self.arrow_mode = "both"
        self.slice_axis = 2
        self.slice_value = 0.0
        self.slice_visible = True
        self.status = ""
        self.mode_weights = ""            # plain-text table of particle fraction per mode
        self.mode_weights_rich = ""

    def set_fields(self, points, learned, true) -> None:
        p = C.as_points(points, 3)
        g = len(p)
        self.field_points = p
        self.learned = fit_rows(learned, g)
        self.true = fit_rows(true, g)
        self.scale = reference_scale3(self.learned, self.true)
        self.cell = grid_spacing3(p) if g else 1.0

    def set_bounds(self, bounds) -> None:
        self.bounds = bounds3(bounds)
        ax = self.slice_axis
        if not self.bounds[ax, 0] <= self.slice_value <= self.bounds[ax, 1]:
            self.slice_value = float(self.bounds[ax].mean())

    def set_density_points(self, points, weights=None) -> None:
        p = C.as_points(points, 3)
        w = None if weights is None else np.asarray(weights, dtype=np.float64).ravel()
        ok = np.isfinite(p).all(axis=1)
        if w is not None and len(w) == len(p):
            ok &= np.isfinite(w)
            w = w[ok]
        else:
            w = None
        self.density_points = np.ascontiguousarray(p[ok], dtype=np.float32)
        self.density_weights = w

    def set_density_grid(self, p) -> None:
        a = None if p is None else np.asarray(p, dtype=np.float64)
        self.density_grid = a if a is not None and a.ndim == 3 and min(a.shape) >= 2 else None

    def set_density_mode(self, mode: str) -> None:
        if mode not in DENSITY_MODES:
            raise ValueError(f"density mode must be one of {DENSITY_MODES}")
        self.density_mode = mode

    def set_particles(self, x) -> bool:
        """Store the particles; True if their number changed."""
        a = clean3(x)
        changed = len(a) != self.n_particles
        self.particles = a
        self.n_particles = len(a)
        return changed

    def set_arrow_mode(self, mode: str) -> None:
        if mode not in ARROW_MODES:
            raise ValueError(f"arrow mode must be one of {ARROW_MODES}")
        self.arrow_mode = mode

    def set_slice(self, axis: int, value: float) -> None:
        self.slice_axis = int(axis) % 3
        v = float(value)
        self.slice_value = v if np.isfinite(v) else float(self.bounds[self.slice_axis].mean())

    def learned_error(self) -> np.ndarray | None:
        if self.learned is None or self.true is None:
            return None
        return np.linalg.norm(self.learned - self.true, axis=1) / self.scale

    def slice_quad(self) -> np.ndarray:
        """(4, 3) corners of the slice plane, in order around it."""
        b, ax, v = self.bounds, self.slice_axis, self.slice_value
        o = [k for k in range(3) if k != ax]
        quad = np.zeros((4, 3))
        for i, (u, w) in enumerate(((0, 0), (1, 0), (1, 1), (0, 1))):
            quad[i, ax] = v
            quad[i, o[0]] = b[o[0], u]
            quad[i, o[1]] = b[o[1], w]
        return quad

    def legend_rows(self, projected: bool = False) -> list[tuple]:
        rows = []
        if self.n_particles:
            rows.append(("dot", PARTICLES, f"particles (n = {self.n_particles:,})"))
        if self.density_mode != "off" and (len(self.density_points) or self.density_grid is not None):
            what = ("projected" if projected else
                    "isosurfaces" if self.density_mode == "surface" and self.density_grid is not None
                    else "samples")
            rows.append(("dot", DENSITY_COLOR, f"{C.DENSITY_NAME}: {what}"))
        show_l = self.arrow_mode in ("both", "learned") and self.learned is not None
        show_t = self.arrow_mode in ("both", "true") and self.true is not None
        if show_t:
            rows.append(("line", TRUE, C.TRUE_NAME))
        if show_l:
            if self.true is not None:
                rows.append(("ramp", None, f"{C.LEARNED_NAME}, colour = error |s\u03b8 \u2212 \u2207log p|: "
                                           f"0 \u2026 \u2265 {self.scale:.3g}"))
            else:
                rows.append(("line", LEARNED, C.LEARNED_NAME))
        if self.slice_visible:
            rows.append(("line", SLICE_COLOR,
                         f"slice {AXIS_NAMES[self.slice_axis]} = {tick_text(self.slice_value)}"))
        return rows


class AutoRotate:
    """A camera that turns about x3 on a timer; the view supplies `rotate_by(degrees)`."""

    def _init_auto_rotate(self, interval_ms: int) -> None:
        self.rotate_speed = ROTATE_DEG_PER_S
        self._rotate_t = None
        self.rotate_timer = QtCore.QTimer(self)
        self.rotate_timer.setInterval(interval_ms)
        self.rotate_timer.timeout.connect(self._rotate_step)

    def set_auto_rotate(self, on: bool, deg_per_s: float | None = None) -> None:
        if deg_per_s is not None:
            self.rotate_speed = float(deg_per_s)
        if on and not self.rotate_timer.isActive():
            self._rotate_t = time.perf_counter()
            self.rotate_timer.start()
        elif not on:
            self.rotate_timer.stop()

    def auto_rotating(self) -> bool:
        return self.rotate_timer.isActive()

    def _rotate_step(self) -> None:
        now = time.perf_counter()
        dt = min(0.2, now - (self._rotate_t or now))
        self._rotate_t = now
        self.rotate_by(self.rotate_speed * dt)
