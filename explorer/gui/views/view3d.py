"""The 3-D view: particle cloud, density, learned and true score arrows, a slice plane.

Two widgets with one API, and a panel around either:

- `View3D` draws with pyqtgraph.opengl: pyqtgraph's GLViewMixin on a QOpenGLWindow in a
  window container (it draws straight into its native window: about twice the frame
  rate of a QOpenGLWidget under Mesa, which composes the whole top-level every frame).
  Drag to orbit, wheel to zoom, right- or middle-drag (or ctrl-drag) to pan, double-click
  to reset; `set_auto_rotate`. Axis names, ticks, legend and status are painted with
  QPainter after the scene. `render_image(w, h)` draws the same into an offscreen
  framebuffer at any size, on screen or not; `grab()` and `render()` are overridden to
  use it, so the exporter's `widget.render(painter)` captures the GL picture too.
- `Projected3DView` draws the same scene with 2-D pyqtgraph plots: an orthographic
  projection turning about x3 at a fixed elevation, with a visible note that OpenGL is
  not available. It is used when `gl_probe.gl_available()` says no (offscreen tests,
  remote sessions, old drivers), so there is never a blank widget.
- `View3DPanel` holds one of them, the controls (auto-rotate, density, arrows, slice
  axis and position) and a `FieldView` of learned vs true on the slice plane; it emits
  `slice_changed(axis, value)` and `arrow_points_changed("grid" | "particles")` so the
  window (which owns the model) recomputes fields there.

`make_view3d()` builds the panel with the right view; `render_rgb(widget, w, h)` returns
an RGB frame of any of them for export.

Shared API of both views and the panel (numpy arrays, any float dtype; NaN rows dropped):
    set_bounds((3, 2)), set_density_points((m, 3), weights=(m,) | None),
    set_density_grid((n, n, n) | None), set_density_mode("cloud" | "surface" | "off"),
    set_particles((n, 3)), set_fields((G, 3), learned (G, 3) | None, true (G, 3) | None),
    set_arrow_mode("both" | "learned" | "true" | "off"), set_auto_rotate(bool),
    set_slice(axis, value), set_slice_visible(bool), set_status(str),
    set_mode_weights(fractions, true, labels), set_trails(...) (ignored), apply_style(style),
    reset_camera(), rotate_by(degrees), camera() -> {"azimuth", "elevation", "distance"}.
Grid helpers for the window: `coarse_grid`, `grid_subset` (thin an n^3 field for arrows),
`grid_slice` (the n x n plane of an n^3 field nearest a slice), `slice_grid`.

Arrows: a vector v at p becomes a shaft from p to p + u, u = v / scale * 0.9 * cell with
|u| clipped to 1.2 cell (as `quiver.QuiverItem`), scale = `reference_scale3` (95th percentile) of
learned and true together, cell = the grid spacing (or (volume / G)^(1/3) for scattered
points); a head of four barbs. Learned arrows are coloured by their error
|s_theta - grad log p| / scale: orange (accurate) to magenta (off by a typical score or more).
"""

from __future__ import annotations

import html
import math
import time

import numpy as np
import pyqtgraph as pg
from PySide6 import QtCore, QtGui, QtWidgets
from PySide6.QtCore import Signal

from ..style import BACKGROUND, FOREGROUND, LEARNED, PARTICLES, SCREEN, TRUE, ViewStyle
from . import common as C
from .quiver import CLIP_CELLS, HEAD_FRACTION, HEAD_MAX_CELLS, TYPICAL_FRACTION

AXIS_NAMES = ("x\u2081", "x\u2082", "x\u2083")
DENSITY_MODES = ("cloud", "surface", "off")
ARROW_MODES = ("both", "learned", "true", "off")
NO_GL_NOTE = "OpenGL not available: projected 2-D view"
HEAD_ANGLE = math.radians(24.0)
ERROR_STOPS = np.array([[0.0, *LEARNED], [0.5, 240.0, 86.0, 60.0], [1.0, 255.0, 64.0, 200.0]])
ERROR_HIGH = tuple(int(c) for c in ERROR_STOPS[-1, 1:])
ERROR_MID = tuple(int(c) for c in ERROR_STOPS[1, 1:])
DENSITY_COLOR = (72, 190, 160)     # the cloud / surfaces when no weights are given
SLICE_COLOR = (235, 235, 235)
BOX_COLOR = (150, 150, 160)
ROTATE_DEG_PER_S = 24.0
SURFACE_LEVELS = ((0.08, 0.09), (0.5, 0.2))   # (fraction of max p, alpha) per isosurface
SURFACE_GRID_MAX = 32                         # density grids are subsampled to this per axis
ELEVATION = 22.0                   # default camera elevation, degrees
AZIMUTH = -60.0


# ====================================================================== numbers (no Qt)
def bounds3(bounds) -> np.ndarray:
    return C.bounds_array(bounds, 3)


def clean3(x) -> np.ndarray:
    """(n, 3) float32, finite rows only (2-D input is padded with zeros)."""
    a = C.as_points(x, 3)
    if len(a) and not np.isfinite(a).all():
        a = a[np.isfinite(a).all(axis=1)]
    return np.ascontiguousarray(a, dtype=np.float32)


def fit_rows(a, g: int) -> np.ndarray | None:
    """(g, 3) float64 or None when missing or of the wrong length."""
    if a is None:
        return None
    a = np.asarray(a, dtype=np.float64)
    if a.size == 0 or g == 0:
        return None
    a = C.as_points(a, 3)
    return a if len(a) == g else None


def reference_scale3(*vector_sets, q: float = 95.0) -> float:
    """`quiver.reference_scale` for 3-D vectors: the q-th percentile of all finite norms."""
    norms = [np.linalg.norm(C.as_points(v, 3), axis=1) for v in vector_sets if v is not None]
    allv = np.concatenate(norms) if norms else np.zeros(0)
    allv = allv[np.isfinite(allv) & (allv > 0)]
    if allv.size == 0:
        return 1.0
    s = float(np.percentile(allv, q))
    return s if s > 0 else float(allv.max())


def grid_spacing3(points) -> float:
    """The spacing of a regular grid of points, or (volume / G)^(1/3) * 0.6 for scattered ones."""
    p = np.asarray(points, dtype=np.float64)
    p = p[np.isfinite(p).all(axis=1)] if len(p) else p
    if len(p) < 2:
        return 1.0
    steps = []
    sizes = []
    for k in range(3):
        u = np.unique(p[:, k])
        sizes.append(len(u))
        if len(u) > 1:
            steps.append(float(np.min(np.diff(u))))
    if int(np.prod(sizes)) == len(p) and steps:   # a full grid (or a plane of one)
        return min(steps)
    ext = np.ptp(p, axis=0)
    ext = ext[ext > 0]
    if not len(ext):
        return 1.0
    vol = float(np.prod(ext)) if len(ext) == 3 else float(np.prod(ext)) * float(ext.mean())
    return 0.6 * (vol / len(p)) ** (1.0 / 3.0)


def arrow_segments(points, vectors, scale: float, cell: float) -> tuple[np.ndarray, np.ndarray]:
    """Line-segment vertices (k * 10, 3) float32 for the drawable arrows and the (G,) mask of
    which rows were drawn: per arrow the shaft, then four barbs of the head."""
    p = np.asarray(points, dtype=np.float64)
    v = np.asarray(vectors, dtype=np.float64)
    norm = np.linalg.norm(v, axis=1)
    ok = np.isfinite(norm) & (norm > 0) & np.isfinite(p).all(axis=1)
    if not ok.any():
        return np.zeros((0, 3), np.float32), ok
    p0, n0 = p[ok], norm[ok]
    d = v[ok] / n0[:, None]
    length = np.minimum(n0 / scale * TYPICAL_FRACTION * cell, CLIP_CELLS * cell)
    tip = p0 + d * length[:, None]
    head = np.minimum(HEAD_FRACTION * length, HEAD_MAX_CELLS * cell)[:, None]
    # two unit vectors perpendicular to d
    e = np.zeros_like(d)
    e[np.arange(len(d)), np.argmin(np.abs(d), axis=1)] = 1.0
    a = np.cross(d, e)
    a /= np.linalg.norm(a, axis=1, keepdims=True)
    b = np.cross(d, a)
    c, s = math.cos(HEAD_ANGLE), math.sin(HEAD_ANGLE)
    seg = np.empty((len(p0), 10, 3))
    seg[:, 0] = p0
    seg[:, 1] = tip
    for i, side in enumerate((a, -a, b, -b)):
        seg[:, 2 + 2 * i] = tip
        seg[:, 3 + 2 * i] = tip + head * (-c * d + s * side)
    return np.ascontiguousarray(seg.reshape(-1, 3), dtype=np.float32), ok


def error_colors(frac) -> np.ndarray:
    """(k, 3) float in 0..1: orange at 0, red at 0.5, magenta at >= 1."""
    t = np.clip(np.nan_to_num(np.asarray(frac, dtype=np.float64), nan=1.0), 0.0, 1.0)
    out = np.empty((len(t), 3))
    for k in range(3):
        out[:, k] = np.interp(t, ERROR_STOPS[:, 0], ERROR_STOPS[:, k + 1])
    return out / 255.0


def slice_grid(bounds, axis: int, value: float, n: int = 24) -> np.ndarray:
    """(n*n, 3) float32 cell-centred points on the plane x_axis = value; the two other
    axes in increasing order, the first slowest (the order of `core.grid.grid_points`)."""
    b = bounds3(bounds)
    others = [k for k in range(3) if k != axis]
    axes = [b[k, 0] + (b[k, 1] - b[k, 0]) / n * (np.arange(n) + 0.5) for k in others]
    U, V = np.meshgrid(*axes, indexing="ij")
    pts = np.empty((n * n, 3))
    pts[:, axis] = value
    pts[:, others[0]] = U.ravel()
    pts[:, others[1]] = V.ravel()
    return pts.astype(np.float32)


def coarse_grid(bounds, n: int = 9) -> np.ndarray:
    """(n**3, 3) float32 cell-centred grid, x1 slowest: a good place for 3-D arrows."""
    from ...core.grid import grid_points
    return grid_points(bounds3(bounds), n)


def grid_subset(n: int, max_per_axis: int = 9) -> np.ndarray:
    """Indices into an n**3 grid in `core.grid` order keeping every k-th point per axis
    (k = ceil(n / max_per_axis)): 3-D arrows on a coarser grid than the field's."""
    k = max(1, int(math.ceil(n / max_per_axis)))
    keep = np.arange(n)[(k - 1) // 2::k] if k > 1 else np.arange(n)
    i, j, m = np.meshgrid(keep, keep, keep, indexing="ij")
    return ((i * n + j) * n + m).ravel()


def grid_slice(bounds, n: int, axis: int, value: float) -> tuple[np.ndarray, float]:
    """The plane of an n**3 cell-centred grid (`core.grid` order) nearest to x_axis = value:
    (indices of its n*n points, in `slice_grid` order; the plane's x_axis)."""
    b = bounds3(bounds)
    lo, hi = b[axis]
    step = (hi - lo) / n
    k = int(np.clip(np.floor((value - lo) / step), 0, n - 1))
    idx = np.arange(n ** 3).reshape(n, n, n)
    plane = np.take(idx, k, axis=axis).ravel()
    return plane, float(lo + (k + 0.5) * step)


def nice_ticks(lo: float, hi: float, target: int = 4) -> list[float]:
    span = hi - lo
    if not span > 0:
        return [lo]
    raw = span / target
    mag = 10 ** math.floor(math.log10(raw))
    step = min((m * mag for m in (1, 2, 2.5, 5, 10) if m * mag >= raw), default=10 * mag)
    first = math.ceil(lo / step - 1e-9) * step
    ticks = []
    t = first
    while t <= hi + 1e-9 * span:
        ticks.append(0.0 if abs(t) < 1e-12 * span else t)
        t += step
    return ticks


def tick_text(v: float) -> str:
    return f"{v:.3g}".replace("-", "\u2212")


def view_basis(azimuth: float, elevation: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Screen right, screen up and toward-camera unit vectors for a camera at (azimuth,
    elevation) degrees looking at the centre (the conventions of GLViewWidget)."""
    a, e = math.radians(azimuth), math.radians(elevation)
    toward = np.array([math.cos(e) * math.cos(a), math.cos(e) * math.sin(a), math.sin(e)])
    right = np.array([-math.sin(a), math.cos(a), 0.0])
    up = np.cross(toward, right)
    return right, up, toward


def project(points, centre, azimuth: float, elevation: float) -> np.ndarray:
    """Orthographic (u, v) of 3-D points seen from (azimuth, elevation), v up."""
    p = np.asarray(points, dtype=np.float64).reshape(-1, 3) - centre
    r, u, _ = view_basis(azimuth, elevation)
    return np.stack([p @ r, p @ u], axis=1)


def box_corners(b: np.ndarray) -> np.ndarray:
    idx = np.array([[i, j, k] for i in (0, 1) for j in (0, 1) for k in (0, 1)])
    return np.stack([b[0, idx[:, 0]], b[1, idx[:, 1]], b[2, idx[:, 2]]], axis=1)


def box_edges(b: np.ndarray) -> np.ndarray:
    """(24, 3) vertices: the 12 edges of the box as segment pairs."""
    c = box_corners(b)
    segs = []
    for i in range(8):
        for j in range(i + 1, 8):
            if bin(i ^ j).count("1") == 1:
                segs += [c[i], c[j]]
    return np.asarray(segs)


def axis_labels_layout(b: np.ndarray, to_screen, font_px: float):
    """Where to write the axis names and ticks, in screen coordinates (y down).

    `to_screen((n, 3)) -> (n, 2)` (called twice, batched). x1 and x2 go on their lowest
    edge on screen, x3 on its leftmost vertical edge, each pushed outward from the box
    centre; tick labels that would overlap one already placed are left out. Returns a
    list of ("name" | "tick", text, (x, y), (dx, dy) outward direction).
    """
    corners = box_corners(b)                        # index i*4 + j*2 + k for (x_i, y_j, z_k)
    cs = to_screen(np.vstack([corners, b.mean(axis=1)[None]]))
    centre_s = cs[8]
    cs = cs[:8]
    chosen = []
    for ax in range(3):
        best = None
        for i in (0, 1):
            for j in (0, 1):
                bits = [0, 0, 0]
                others = [k for k in range(3) if k != ax]
                bits[others[0]], bits[others[1]] = i, j
                lo = list(bits)
                hi = list(bits)
                lo[ax], hi[ax] = 0, 1
                s0 = cs[lo[0] * 4 + lo[1] * 2 + lo[2]]
                s1 = cs[hi[0] * 4 + hi[1] * 2 + hi[2]]
                if not (np.isfinite(s0).all() and np.isfinite(s1).all()):
                    continue
                mid = (s0 + s1) / 2
                key = -mid[0] if ax == 2 else mid[1]
                if best is None or key > best[0]:
                    p0 = corners[lo[0] * 4 + lo[1] * 2 + lo[2]]
                    best = (key, p0, mid)
        chosen.append(best)
    tick_pts, tick_meta = [], []
    for ax, best in enumerate(chosen):
        if best is None:
            continue
        for t in nice_ticks(b[ax, 0], b[ax, 1]):
            q = best[1].copy()
            q[ax] = t
            tick_pts.append(q)
            tick_meta.append((ax, t))
    ts = to_screen(np.asarray(tick_pts)) if tick_pts else np.zeros((0, 2))

    out = []
    placed: list[np.ndarray] = []

    def free(at) -> bool:
        if any(np.all(np.abs(at - q) < (font_px * 1.3, font_px * 1.0)) for q in placed):
            return False
        placed.append(at)
        return True

    dirs = {}
    for ax, best in enumerate(chosen):
        if best is None:
            continue
        mid = best[2]
        out_dir = mid - centre_s
        n = float(np.hypot(*out_dir))
        out_dir = out_dir / n if n > 0 and np.isfinite(n) else np.array([0.0, 1.0])
        dirs[ax] = out_dir
        ticks = [t for a, t in tick_meta if a == ax]
        # the name beyond the tick labels: half a label's extent along out_dir, plus room
        half = max((len(tick_text(t)) for t in ticks), default=1) * 0.3 * font_px
        reach = abs(out_dir[0]) * half + abs(out_dir[1]) * 0.5 * font_px
        name_at = mid + out_dir * (font_px * 2.2 + reach)
        placed.append(name_at)
        out.append(("name", AXIS_NAMES[ax], (float(name_at[0]), float(name_at[1])),
                    (float(out_dir[0]), float(out_dir[1]))))
    for (ax, t), sp in zip(tick_meta, ts):
        d = dirs[ax]
        if np.isfinite(sp).all() and free(sp + d * font_px):
            out.append(("tick", tick_text(t), (float(sp[0]), float(sp[1])), (float(d[0]), float(d[1]))))
    return out


# ====================================================================== shared state
class _Scene:
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


def text_box_size(text: str, font: QtGui.QFont) -> QtCore.QSizeF:
    fm = QtGui.QFontMetricsF(font)
    lines = text.split("\n")
    return QtCore.QSizeF(max(fm.horizontalAdvance(s) for s in lines) + 16, fm.height() * len(lines) + 10)


def legend_size(rows, font: QtGui.QFont) -> QtCore.QSizeF:
    fm = QtGui.QFontMetricsF(font)
    sw = fm.height() * 2.0
    return QtCore.QSizeF(max(fm.horizontalAdvance(r[2]) for r in rows) + sw + 22,
                         fm.height() * 1.25 * len(rows) + 10)


def mode_weights_text(fractions, true=None, labels=None) -> str:
    """Particle fraction per mode (and the truth) as aligned plain text, or ""."""
    if fractions is None:
        return ""
    f = [float(v) for v in np.asarray(fractions, dtype=np.float64).ravel()]
    if not f:
        return ""
    t = None if true is None else [float(v) for v in np.asarray(true, dtype=np.float64).ravel()]
    labels = [str(v) for v in labels] if labels is not None else []
    rows = ["particle fraction per mode", "mode   particles" + ("   true" if t is not None else "")]
    for i, v in enumerate(f):
        name = labels[i] if i < len(labels) else str(i + 1)
        row = f"{name:<6}{v:>10.3f}" if np.isfinite(v) else f"{name:<6}{'-':>10}"
        if t is not None and i < len(t):
            row += f"{t[i]:>7.3f}"
        rows.append(row)
    return "\n".join(rows)


def _paint_panel(p: QtGui.QPainter, rect: QtCore.QRectF) -> None:
    p.setPen(QtGui.QPen(QtGui.QColor(90, 90, 100)))
    p.setBrush(QtGui.QColor(*C.PANEL_FILL))
    p.drawRoundedRect(rect, 4, 4)


def paint_legend(p: QtGui.QPainter, rows, x: float, y: float, font: QtGui.QFont,
                 from_top: bool = False) -> float:
    """The legend box with its bottom-left (or top-left) corner at (x, y); returns its height."""
    if not rows:
        return 0.0
    fm = QtGui.QFontMetricsF(font)
    lh = fm.height() * 1.25
    sw = fm.height() * 2.0
    width = max(fm.horizontalAdvance(r[2]) for r in rows) + sw + 22
    height = lh * len(rows) + 10
    top = y if from_top else y - height
    _paint_panel(p, QtCore.QRectF(x, top, width, height))
    p.setFont(font)
    for i, (kind, color, text) in enumerate(rows):
        cy = top + 5 + lh * (i + 0.5)
        sx = x + 8
        if kind == "dot":
            p.setPen(QtCore.Qt.PenStyle.NoPen)
            p.setBrush(QtGui.QColor(*color))
            r = fm.height() * 0.22
            p.drawEllipse(QtCore.QPointF(sx + sw / 2, cy), r, r)
        elif kind == "line":
            p.setPen(QtGui.QPen(QtGui.QColor(*color), 2.5))
            p.drawLine(QtCore.QPointF(sx, cy), QtCore.QPointF(sx + sw, cy))
        else:
            grad = QtGui.QLinearGradient(sx, cy, sx + sw, cy)
            for t, *rgb in ERROR_STOPS:
                grad.setColorAt(float(t), QtGui.QColor(*(int(c) for c in rgb)))
            p.setPen(QtCore.Qt.PenStyle.NoPen)
            p.setBrush(QtGui.QBrush(grad))
            p.drawRect(QtCore.QRectF(sx, cy - fm.height() * 0.18, sw, fm.height() * 0.36))
        p.setPen(QtGui.QColor(*FOREGROUND))
        p.drawText(QtCore.QPointF(sx + sw + 8, cy + fm.ascent() / 2 - fm.descent() / 2), text)
    return height


def paint_text_box(p: QtGui.QPainter, text: str, anchor: QtCore.QPointF, corner: str,
                   font: QtGui.QFont, color=FOREGROUND) -> float:
    """Multi-line text on a panel, with `corner` ("tl", "tr", "bl", "br") at `anchor`;
    returns its height."""
    if not text:
        return 0.0
    fm = QtGui.QFontMetricsF(font)
    lines = text.split("\n")
    w = max(fm.horizontalAdvance(s) for s in lines) + 16
    h = fm.height() * len(lines) + 10
    x = anchor.x() - (w if corner[1] == "r" else 0)
    y = anchor.y() - (h if corner[0] == "b" else 0)
    _paint_panel(p, QtCore.QRectF(x, y, w, h))
    p.setFont(font)
    p.setPen(QtGui.QColor(*color))
    for i, s in enumerate(lines):
        p.drawText(QtCore.QPointF(x + 8, y + 5 + fm.ascent() + i * fm.height()), s)
    return h


def paint_axis_labels(p: QtGui.QPainter, layout, font: QtGui.QFont, bold: QtGui.QFont) -> None:
    fm = QtGui.QFontMetricsF(font)
    fmb = QtGui.QFontMetricsF(bold)
    for kind, text, (x, y), (dx, dy) in layout:
        if kind == "tick":
            p.setPen(QtGui.QPen(QtGui.QColor(*BOX_COLOR), 1.2))
            p.drawLine(QtCore.QPointF(x, y), QtCore.QPointF(x + 5 * dx, y + 5 * dy))
            cx, cy = x + dx * fm.height() * 1.0, y + dy * fm.height() * 1.0
            w = fm.horizontalAdvance(text)
            p.setFont(font)
            p.setPen(QtGui.QColor(*FOREGROUND))
            p.drawText(QtCore.QPointF(cx - w / 2, cy + fm.ascent() / 2 - fm.descent() / 2), text)
        else:
            w = fmb.horizontalAdvance(text)
            p.setFont(bold)
            p.setPen(QtGui.QColor(*FOREGROUND))
            p.drawText(QtCore.QPointF(x - w / 2, y + fmb.ascent() / 2 - fmb.descent() / 2), text)


def _fonts(style: ViewStyle) -> tuple[QtGui.QFont, QtGui.QFont]:
    f = QtGui.QFont()
    f.setPointSizeF(float(style.font_pt))
    b = QtGui.QFont(f)
    b.setPointSizeF(float(style.font_pt) + 3)
    b.setBold(True)
    return f, b


def _particle_alpha(n: int) -> float:
    return float(np.clip(math.sqrt(2000.0 / max(n, 1)), 0.3, 1.0))


# ====================================================================== OpenGL view
class _ProgramCache:
    """pyqtgraph.opengl keeps compiled shader programs in class attributes, valid in one
    OpenGL share group only: a second GL view in another top-level window (an export, a
    test, a rebuilt window) would draw with the first one's program ids ("invalid value"
    from glUseProgram, nothing drawn). Before each paint the ids of the current context's
    share group are swapped in; a destroyed context's ids are dropped."""

    def __init__(self):
        self.current = None
        self.saved: dict = {}

    @staticmethod
    def _holders():
        import pyqtgraph.opengl as gl
        from pyqtgraph.opengl import shaders
        out = [(cls, "_shaderProgram") for cls in (gl.GLScatterPlotItem, gl.GLLinePlotItem,
                                                     gl.GLImageItem)]
        for prog in getattr(shaders, "Shaders", []):
            out.append((prog, "prog"))
            for sh in getattr(prog, "shaders", []):
                out.append((sh, "compiled"))
        return out

    @staticmethod
    def _key(ctx) -> int:
        from shiboken6 import getCppPointer
        return int(getCppPointer(ctx.shareGroup())[0])

    def activate(self, ctx) -> None:
        if ctx is None:
            return
        key = self._key(ctx)
        if key == self.current:
            return
        holders = self._holders()
        if self.current is not None:
            self.saved[self.current] = [getattr(o, a, None) for o, a in holders]
        values = self.saved.get(key)
        for i, (o, a) in enumerate(holders):
            setattr(o, a, values[i] if values is not None and i < len(values) else None)
        self.current = key
        ctx.aboutToBeDestroyed.connect(lambda k=key: self.forget(k))

    def forget(self, key: int) -> None:
        self.saved.pop(key, None)
        if self.current == key:
            for o, a in self._holders():
                setattr(o, a, None)
            self.current = None


_PROGRAMS = _ProgramCache()


def _gl_classes():
    """pyqtgraph.opengl imported on first use (it needs PyOpenGL, and the fallback does not)."""
    import pyqtgraph.opengl as gl
    from pyqtgraph.opengl.GLViewWidget import GLViewMixin
    from PySide6 import QtOpenGL

    class _GLWindow(GLViewMixin, QtOpenGL.QOpenGLWindow):
        """pyqtgraph's GL view as a QOpenGLWindow (drawn straight into its native window:
        no per-frame composition of the whole top-level, ~2x the frame rate of a
        QOpenGLWidget under Mesa), with right-drag pan, double-click reset, and the text
        overlay painted with QPainter after the scene."""

        def __init__(self, owner, share, parent):
            super().__init__(share, QtOpenGL.QOpenGLWindow.UpdateBehavior.NoPartialUpdate, parent)
            self.owner = owner
            self.paint_count = 0
            self.last_paint_s = 0.0

        def devicePixelRatioF(self):          # GLViewMixin asks the QWidget spelling
            return self.devicePixelRatio()

        def initializeGL(self):
            _PROGRAMS.activate(self.context())
            super().initializeGL()

        def paint(self, *, region, viewport, useItemNames=False):
            _PROGRAMS.activate(QtGui.QOpenGLContext.currentContext())
            super().paint(region=region, viewport=viewport, useItemNames=useItemNames)

        def paintGL(self):
            t = time.perf_counter()
            w, h = self.width(), self.height()
            self.paint(region=(0, 0, w, h), viewport=(0, 0, w, h))
            p = QtGui.QPainter(self)
            try:
                self.owner.paint_overlay(p, w, h, interactive=True)
            finally:
                p.end()
            self.paint_count += 1
            self.last_paint_s = time.perf_counter() - t

        def resizeGL(self, w, h):
            self.owner._fit_distance()

        def mouseMoveEvent(self, ev):
            if ev.buttons() == QtCore.Qt.MouseButton.RightButton:
                lpos = ev.position()
                if not hasattr(self, "mousePos"):
                    self.mousePos = lpos
                diff = lpos - self.mousePos
                self.mousePos = lpos
                self.pan(diff.x(), diff.y(), 0, relative="view-upright")
                return
            super().mouseMoveEvent(ev)

        def mouseDoubleClickEvent(self, ev):
            self.owner.reset_camera()

    return gl, _GLWindow


def _composite_gl(root: QtWidgets.QWidget, painter: QtGui.QPainter, offset=QtCore.QPoint()) -> None:
    """Draw the GL pictures of `root` (a View3D or a widget holding some) where their
    windows sit: QWidget.grab()/render() cannot read a native GL window."""
    views = [root] if isinstance(root, View3D) else []
    views += root.findChildren(View3D)
    for v in views:
        if v is not root and not v.isVisibleTo(root):
            continue
        c = v.container
        w, h = c.width(), c.height()
        if w < 2 or h < 2:
            continue
        pos = c.mapTo(root, QtCore.QPoint(0, 0)) + offset
        painter.drawImage(QtCore.QRect(pos, QtCore.QSize(w, h)), v.render_image(w, h))


def _render_with_gl(widget, target, args, kwargs) -> None:
    """After QWidget.render(target, offset, ...): the GL pictures on top (see `_composite_gl`)."""
    offset = args[0] if args else kwargs.get("targetOffset", QtCore.QPoint())
    offset = QtCore.QPoint(int(offset.x()), int(offset.y()))
    if isinstance(target, QtGui.QPainter):
        _composite_gl(widget, target, offset)
    else:
        p = QtGui.QPainter(target)
        try:
            _composite_gl(widget, p, offset)
        finally:
            p.end()


class _AutoRotate:
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


class View3D(QtWidgets.QWidget, _AutoRotate):
    """The 3-D scene in OpenGL. Build it only when `gl_probe.gl_available()` is true.

    `self.gl` is the GL view (pyqtgraph's GLViewMixin on a QOpenGLWindow, inside
    `self.container`); `render_image(w, h)` draws the scene and its text at any size into
    an offscreen framebuffer, on screen or not (export, tests). `grab()` and `render()`
    are overridden to include the GL picture."""

    is_gl = True

    def __init__(self, parent=None, style: ViewStyle = SCREEN,
                 title: str = "Particles and scores in 3-D"):
        super().__init__(parent)
        from PySide6 import QtOpenGL
        gl, GLWindow = _gl_classes()
        self._gl_mod = gl
        self._QtOpenGL = QtOpenGL
        self.style = style
        self.title = title
        self.scene = _Scene()
        self._surfaces: list = []
        self._surface_key = None
        self._fbo = None

        # One context that every picture of this view shares (window and offscreen export).
        fmt = QtGui.QSurfaceFormat.defaultFormat()
        fmt.setDepthBufferSize(24)                # a QOpenGLWindow has none unless asked
        self._ctx = QtGui.QOpenGLContext()
        self._ctx.setFormat(fmt)
        if not self._ctx.create():
            raise RuntimeError("no OpenGL context could be created")
        self._surface = QtGui.QOffscreenSurface()
        self._surface.setFormat(self._ctx.format())
        self._surface.create()

        # Born with a parent so that Python does not own it: the container deletes it, and
        # PySide's exit clean-up must not delete it first (a crash in QWindowContainer).
        self._window_parent = QtGui.QWindow()
        self.gl = GLWindow(self, self._ctx, self._window_parent)
        self.gl.setFormat(fmt)
        self.gl.setBackgroundColor(BACKGROUND)
        self.gl.opts["fov"] = 45
        self.container = QtWidgets.QWidget.createWindowContainer(self.gl, self)
        self.container.setMinimumSize(160, 120)
        self.container.setFocusPolicy(QtCore.Qt.FocusPolicy.ClickFocus)
        lay = QtWidgets.QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addWidget(self.container)
        self.setAutoFillBackground(True)
        pal = self.palette()
        pal.setColor(self.backgroundRole(), pg.mkColor(BACKGROUND))
        self.setPalette(pal)

        self.box_item = gl.GLLinePlotItem(mode="lines", color=(*np.array(BOX_COLOR) / 255, 0.8),
                                          width=1.5, antialias=True, glOptions="translucent")
        self.floor_item = gl.GLLinePlotItem(mode="lines", color=(1, 1, 1, 0.10), width=1.0,
                                            antialias=False, glOptions="translucent")
        self.density_item = gl.GLScatterPlotItem(pos=np.zeros((0, 3)), size=2.0, pxMode=True,
                                                 glOptions="additive")
        # antialiased wide lines cost ~4x in Mesa's llvmpipe: arrows are drawn without
        # depth test "less or equal": where learned and true coincide, learned (drawn after) shows
        from OpenGL import GL
        lines = {**gl.GLGraphicsItem.GLOptions["translucent"], "glDepthFunc": (GL.GL_LEQUAL,)}
        self.true_item = gl.GLLinePlotItem(mode="lines", width=style.arrow_width, antialias=False,
                                           color=(*np.array(TRUE) / 255, 0.9), glOptions=lines)
        self.learned_item = gl.GLLinePlotItem(mode="lines", width=style.arrow_width, antialias=False,
                                              glOptions=lines)
        self.particles_item = gl.GLScatterPlotItem(pos=np.zeros((0, 3)), size=style.point_size,
                                                   pxMode=True, glOptions="translucent",
                                                   color=(*np.array(PARTICLES) / 255, 1.0))
        self.slice_item = gl.GLMeshItem(vertexes=np.zeros((4, 3)), faces=np.array([[0, 1, 2], [0, 2, 3]]),
                                        color=(*np.array(SLICE_COLOR) / 255, 0.07), smooth=False,
                                        computeNormals=False, glOptions="additive")
        self.slice_outline = gl.GLLinePlotItem(mode="lines", width=2.0, antialias=True,
                                               color=(*np.array(SLICE_COLOR) / 255, 0.75),
                                               glOptions="translucent")
        for item, depth in ((self.floor_item, -20), (self.box_item, -19), (self.density_item, -10),
                            (self.true_item, 0), (self.learned_item, 1), (self.particles_item, 2),
                            (self.slice_item, 10), (self.slice_outline, 11)):
            item.setDepthValue(depth)
            self.gl.addItem(item)
        for it in (self.true_item, self.learned_item, self.particles_item, self.density_item):
            it.setVisible(False)

        self._init_auto_rotate(33)
        self.gl.setCameraPosition(elevation=ELEVATION, azimuth=AZIMUTH)
        self.set_bounds(self.scene.bounds)
        self.apply_style(style)

    # ------------------------------------------------------------ camera
    def _fit_distance(self, w: int | None = None, h: int | None = None) -> None:
        b = self.scene.bounds
        radius = 0.5 * float(np.linalg.norm(b[:, 1] - b[:, 0]))
        w = max(w or self.gl.width() or self.width(), 1)
        h = max(h or self.gl.height() or self.height(), 1)
        half_h = math.atan(math.tan(math.radians(self.gl.opts["fov"] / 2)) * h / w)
        half = min(half_h, math.radians(self.gl.opts["fov"] / 2))
        self.gl.opts["distance"] = 1.06 * radius / math.sin(half)
        self.gl.update()

    def reset_camera(self) -> None:
        b = self.scene.bounds
        self.gl.opts["center"] = QtGui.QVector3D(*b.mean(axis=1))
        self.gl.setCameraPosition(elevation=ELEVATION, azimuth=AZIMUTH)
        self.gl.opts["fov"] = 45
        self._fit_distance()

    def camera(self) -> dict:
        o = self.gl.opts
        return {"azimuth": float(o["azimuth"]), "elevation": float(o["elevation"]),
                "distance": float(o["distance"])}

    def set_camera(self, azimuth: float | None = None, elevation: float | None = None) -> None:
        self.gl.setCameraPosition(azimuth=azimuth, elevation=elevation)

    def screen_projector(self, w: int | None = None, h: int | None = None):
        """A function (n, 3) -> (n, 2) pixel coordinates (y down) in a w x h picture of the
        current camera (default: the on-screen size); NaN for points behind it."""
        w = max(w or self.gl.width() or self.width(), 1)
        h = max(h or self.gl.height() or self.height(), 1)
        m = self.gl.projectionMatrix((0, 0, w, h), (0, 0, w, h)) * self.gl.viewMatrix()
        M = np.array(m.data(), dtype=np.float64).reshape(4, 4)   # column-major: this is M^T

        def proj(pts) -> np.ndarray:
            p = np.asarray(pts, dtype=np.float64).reshape(-1, 3)
            c = p @ M[:3] + M[3]
            with np.errstate(divide="ignore", invalid="ignore"):
                x = (c[:, 0] / c[:, 3] + 1) * 0.5 * w
                y = (1 - c[:, 1] / c[:, 3]) * 0.5 * h
            bad = c[:, 3] <= 1e-9
            x[bad] = np.nan
            y[bad] = np.nan
            return np.stack([x, y], axis=1)

        return proj

    def to_screen(self, pts) -> np.ndarray:
        """Pixel coordinates (y down) of 3-D points in the on-screen picture."""
        return self.screen_projector()(pts)

    def rotate_by(self, degrees: float) -> None:
        """Turn the camera about x3 (the export uses this for a rotating animation)."""
        self.gl.opts["azimuth"] = (self.gl.opts["azimuth"] + degrees) % 360.0
        self.gl.update()


    # ------------------------------------------------------------ data
    def set_bounds(self, bounds) -> None:
        s = self.scene
        s.set_bounds(bounds)
        b = s.bounds
        self.box_item.setData(pos=box_edges(b).astype(np.float32))
        segs = []
        z = b[2, 0]
        for t in nice_ticks(b[0, 0], b[0, 1]):
            segs += [(t, b[1, 0], z), (t, b[1, 1], z)]
        for t in nice_ticks(b[1, 0], b[1, 1]):
            segs += [(b[0, 0], t, z), (b[0, 1], t, z)]
        self.floor_item.setData(pos=np.asarray(segs, dtype=np.float32).reshape(-1, 3))
        self._draw_slice()
        self.gl.opts["center"] = QtGui.QVector3D(*b.mean(axis=1))
        self._surface_key = None
        self._draw_density()
        self._fit_distance()

    def set_density_points(self, points, weights=None) -> None:
        self.scene.set_density_points(points, weights)
        self._draw_density()

    def set_density_grid(self, p) -> None:
        self.scene.set_density_grid(p)
        self._surface_key = None
        self._draw_density()

    def set_density_mode(self, mode: str) -> None:
        self.scene.set_density_mode(mode)
        self._draw_density()

    def set_particles(self, x) -> None:
        changed = self.scene.set_particles(x)
        a = self.scene.particles
        if not len(a):
            self.particles_item.setVisible(False)
        else:
            if changed:
                alpha = _particle_alpha(len(a))
                self.particles_item.setData(pos=a, color=(*np.array(PARTICLES) / 255, alpha))
            else:
                self.particles_item.setData(pos=a)
            self.particles_item.setVisible(True)
        self.gl.update()

    def set_fields(self, points, learned=None, true=None) -> None:
        self.scene.set_fields(points, learned, true)
        self._draw_arrows()

    def set_arrow_mode(self, mode: str) -> None:
        self.scene.set_arrow_mode(mode)
        self._draw_arrows()

    def set_slice(self, axis: int, value: float) -> None:
        self.scene.set_slice(axis, value)
        self._draw_slice()

    def set_slice_visible(self, on: bool) -> None:
        self.scene.slice_visible = bool(on)
        self._draw_slice()

    def set_status(self, text: str) -> None:
        self.scene.status = text or ""
        self.gl.update()

    def set_mode_weights(self, fractions, true=None, labels=None) -> None:
        """The mixture readout (particle fraction per mode vs the truth), top right."""
        self.scene.mode_weights = mode_weights_text(fractions, true, labels)
        self.gl.update()

    def set_trails(self, enabled: bool, length: int = 8) -> None:
        """Accepted for the 2-D particle view's API; the 3-D view draws no trails."""

    def apply_style(self, style: ViewStyle) -> None:
        self.style = style
        self.particles_item.setData(size=float(style.point_size))
        self.density_item.setData(size=max(1.5, style.point_size * 0.7))
        for it in (self.true_item, self.learned_item):
            it.setData(width=float(style.arrow_width))
        self.box_item.setData(width=max(1.0, style.line_width))
        self.slice_outline.setData(width=max(1.5, style.line_width * 1.2))
        self.gl.update()

    # ------------------------------------------------------------ drawing
    def paint_overlay(self, p: QtGui.QPainter, w: int, h: int, interactive: bool = False) -> None:
        """Axis names and ticks, title, legend, status (and on screen the mouse hint).

        The boxes are painted once into small images (cached until their text changes) and
        drawn as images each frame: QPainter on a GL surface is slow at antialiased shapes."""
        font, bold = _fonts(self.style)
        fm = QtGui.QFontMetricsF(font)
        layout = axis_labels_layout(self.scene.bounds, self.screen_projector(w, h), fm.height())
        p.setRenderHint(QtGui.QPainter.RenderHint.Antialiasing, False)
        p.setRenderHint(QtGui.QPainter.RenderHint.TextAntialiasing, True)
        paint_axis_labels(p, layout, font, bold)
        for img, pos in self._chrome(w, h, interactive):
            p.drawImage(pos, img)

    def _chrome(self, w: int, h: int, interactive: bool) -> list:
        rows = self.scene.legend_rows()
        key = (w, h, interactive, self.title, self.scene.status, self.scene.mode_weights,
               tuple(rows), self.style)
        if key == getattr(self, "_chrome_key", None):
            return self._chrome_items
        font, _ = _fonts(self.style)
        tf = QtGui.QFont(font)
        tf.setPointSizeF(self.style.font_pt + 2)
        items = []

        def picture(size: QtCore.QSizeF, draw) -> QtGui.QImage:
            img = QtGui.QImage(max(1, int(math.ceil(size.width())) + 2),
                               max(1, int(math.ceil(size.height())) + 2),
                               QtGui.QImage.Format.Format_ARGB32_Premultiplied)
            img.fill(0)
            q = QtGui.QPainter(img)
            try:
                q.setRenderHint(QtGui.QPainter.RenderHint.Antialiasing, True)
                q.setRenderHint(QtGui.QPainter.RenderHint.TextAntialiasing, True)
                draw(q)
            finally:
                q.end()
            return img

        th = 0.0
        if self.title:
            size = text_box_size(self.title, tf)
            items.append((picture(size, lambda q: paint_text_box(q, self.title, QtCore.QPointF(0, 0),
                                                                 "tl", tf)),
                          QtCore.QPointF(8, 8)))
            th = size.height()
        if rows:
            size = legend_size(rows, font)
            items.append((picture(size, lambda q: paint_legend(q, rows, 0, 0, font, from_top=True)),
                          QtCore.QPointF(8, 8 + th + 6)))
        if self.scene.status:
            size = text_box_size(self.scene.status, font)
            items.append((picture(size, lambda q: paint_text_box(q, self.scene.status, QtCore.QPointF(0, 0),
                                                                 "tl", font)),
                          QtCore.QPointF(w - 8 - size.width(), 8)))
        if self.scene.mode_weights:
            mono = QtGui.QFont("DejaVu Sans Mono")
            mono.setStyleHint(QtGui.QFont.StyleHint.Monospace)
            mono.setPointSizeF(self.style.font_pt)
            text = self.scene.mode_weights
            top = 8 + (text_box_size(self.scene.status, font).height() + 6 if self.scene.status else 0)
            size = text_box_size(text, mono)
            items.append((picture(size, lambda q: paint_text_box(q, text, QtCore.QPointF(0, 0), "tl", mono)),
                          QtCore.QPointF(w - 8 - size.width(), top)))
        if interactive:
            hint = "drag: orbit \u00b7 wheel: zoom \u00b7 right-drag: pan \u00b7 double-click: reset"
            fm = QtGui.QFontMetricsF(font)
            size = QtCore.QSizeF(fm.horizontalAdvance(hint) + 4, fm.height() + 2)

            def draw_hint(q):
                q.setFont(font)
                q.setPen(QtGui.QColor(*C.HINT))
                q.drawText(QtCore.QPointF(1, fm.ascent()), hint)
            items.append((picture(size, draw_hint),
                          QtCore.QPointF(w - size.width() - 10, h - size.height() - 6)))
        self._chrome_key = key
        self._chrome_items = items
        return items

    def _draw_slice(self) -> None:
        s = self.scene
        quad = s.slice_quad().astype(np.float32)
        self.slice_item.setMeshData(vertexes=quad, faces=np.array([[0, 1, 2], [0, 2, 3]]),
                                    color=(*np.array(SLICE_COLOR) / 255, 0.07), smooth=False)
        loop = quad[[0, 1, 1, 2, 2, 3, 3, 0]]
        self.slice_outline.setData(pos=loop)
        for it in (self.slice_item, self.slice_outline):
            it.setVisible(s.slice_visible)
        self.gl.update()

    def _draw_arrows(self) -> None:
        s = self.scene
        show_l = s.arrow_mode in ("both", "learned") and s.learned is not None
        show_t = s.arrow_mode in ("both", "true") and s.true is not None
        if show_t:
            seg, _ = arrow_segments(s.field_points, s.true, s.scale, s.cell)
            self.true_item.setData(pos=seg if len(seg) else np.zeros((2, 3), np.float32))
        self.true_item.setVisible(show_t)
        if show_l:
            seg, ok = arrow_segments(s.field_points, s.learned, s.scale, s.cell)
            err = s.learned_error()
            if err is None:
                rgb = np.tile(np.array(LEARNED) / 255.0, (int(ok.sum()), 1))
            else:
                rgb = error_colors(err[ok])
            col = np.ones((len(rgb), 4), np.float32)
            col[:, :3] = rgb
            col = np.repeat(col, 10, axis=0)
            if len(seg):
                self.learned_item.setData(pos=seg, color=col)
            else:
                self.learned_item.setData(pos=np.zeros((2, 3), np.float32),
                                          color=np.zeros((2, 4), np.float32))
        self.learned_item.setVisible(show_l)
        self.gl.update()

    def _draw_density(self) -> None:
        s = self.scene
        mode = s.density_mode
        if mode == "surface" and s.density_grid is None and len(s.density_points):
            mode = "cloud"
        if mode == "cloud" and not len(s.density_points) and s.density_grid is not None:
            mode = "surface"
        pts = s.density_points
        if mode == "cloud" and len(pts):
            col = np.empty((len(pts), 4), np.float32)
            if s.density_weights is not None:
                w = np.clip(s.density_weights / max(float(np.max(s.density_weights)), 1e-300), 0, 1)
                lut = pg.colormap.get("viridis").getLookupTable(0.0, 1.0, 256, alpha=False) / 255.0
                idx = (np.sqrt(w) * 255).astype(int)
                col[:, :3] = lut[idx]
                col[:, 3] = ((0.04 + 0.12 * np.sqrt(w))
                             * float(np.clip(math.sqrt(20000.0 / len(pts)), 0.3, 2.5)))
            else:
                col[:, :3] = np.array(DENSITY_COLOR) / 255.0
                col[:, 3] = float(np.clip(0.11 * math.sqrt(20000.0 / len(pts)), 0.04, 0.3))
            self.density_item.setData(pos=pts, color=col)
            self.density_item.setVisible(True)
        else:
            self.density_item.setVisible(False)
        self._draw_surfaces(mode == "surface")
        self.gl.update()

    def _draw_surfaces(self, show: bool) -> None:
        s = self.scene
        key = (id(s.density_grid), s.bounds.tobytes())
        if show and s.density_grid is not None and key != self._surface_key:
            for m in self._surfaces:
                self.gl.removeItem(m)
            self._surfaces = []
            self._surface_key = key
            gl = self._gl_mod
            d = np.where(np.isfinite(s.density_grid), s.density_grid, 0.0)
            n = np.array(d.shape, dtype=np.float64)
            f = max(1, int(math.ceil(max(d.shape) / SURFACE_GRID_MAX)))
            d = d[::f, ::f, ::f]          # triangles cost frames in software GL
            top = float(d.max())
            if top > 0:
                b = s.bounds
                step = (b[:, 1] - b[:, 0]) / n
                lut = pg.colormap.get("viridis")
                for frac, alpha in SURFACE_LEVELS:
                    verts, faces = pg.isosurface(d / top, frac)
                    if not len(faces):
                        continue
                    verts = b[:, 0] + (np.asarray(verts) * f + 0.5) * step
                    c = lut.map(0.3 + 0.7 * frac, mode="float")
                    md = gl.MeshData(vertexes=verts.astype(np.float32), faces=np.asarray(faces))
                    item = gl.GLMeshItem(meshdata=md, color=(c[0], c[1], c[2], alpha),
                                         shader="shaded", smooth=True, glOptions="additive")
                    item.setDepthValue(-9)
                    self.gl.addItem(item)
                    self._surfaces.append(item)
        for m in self._surfaces:
            m.setVisible(show)

    # ------------------------------------------------------------ pictures
    def render_image(self, w: int | None = None, h: int | None = None) -> QtGui.QImage:
        """The scene and its text drawn offscreen at w x h (default: the on-screen size),
        whether or not the view is on screen. RGB32."""
        QtOpenGL = self._QtOpenGL
        from OpenGL import GL
        w = int(max(2, w or self.container.width() or self.width()))
        h = int(max(2, h or self.container.height() or self.height()))
        if not self._ctx.makeCurrent(self._surface):
            raise RuntimeError("could not make the OpenGL context current")
        try:
            _PROGRAMS.activate(self._ctx)
            if self._fbo is None or (self._fbo.width(), self._fbo.height()) != (w, h):
                fmt = QtOpenGL.QOpenGLFramebufferObjectFormat()
                fmt.setAttachment(QtOpenGL.QOpenGLFramebufferObject.Attachment.CombinedDepthStencil)
                self._fbo = QtOpenGL.QOpenGLFramebufferObject(w, h, fmt)
            fbo = self._fbo
            fbo.bind()
            for item in self.gl.items:
                if not item.isInitialized():
                    item.initialize()
            GL.glViewport(0, 0, w, h)
            GL.glDisable(GL.GL_SCISSOR_TEST)
            self.gl.paint(region=(0, 0, w, h), viewport=(0, 0, w, h))
            dev = QtOpenGL.QOpenGLPaintDevice(w, h)
            p = QtGui.QPainter(dev)
            try:
                self.paint_overlay(p, w, h, interactive=False)
            finally:
                p.end()
            img = fbo.toImage().convertToFormat(QtGui.QImage.Format.Format_RGB32)
            fbo.release()
        finally:
            self._ctx.doneCurrent()
        return img

    def render_rgb(self, w: int | None = None, h: int | None = None) -> np.ndarray:
        """(h, w, 3) uint8 of the scene at any size (export frames)."""
        return _qimage_rgb(self.render_image(w, h))

    def grab(self, rect=QtCore.QRect(0, 0, -1, -1)) -> QtGui.QPixmap:
        pix = super().grab(rect)
        p = QtGui.QPainter(pix)
        try:
            _composite_gl(self, p, -QtCore.QRect(rect).topLeft())
        finally:
            p.end()
        return pix

    def render(self, target, *args, **kwargs):
        super().render(target, *args, **kwargs)
        _render_with_gl(self, target, args, kwargs)

    def closeEvent(self, ev):
        self.set_auto_rotate(False)
        super().closeEvent(ev)


# ====================================================================== projected fallback
class _OrbitViewBox(pg.ViewBox):
    """Left-drag turns the projection (azimuth, elevation); the wheel zooms."""

    def __init__(self, owner):
        super().__init__(lockAspect=True, enableMenu=False)
        self.owner = owner

    def mouseDragEvent(self, ev, axis=None):
        if ev.button() != QtCore.Qt.MouseButton.LeftButton:
            return super().mouseDragEvent(ev, axis)
        ev.accept()
        d = ev.screenPos() - ev.lastScreenPos()
        self.owner.orbit(-d.x() * 0.5, d.y() * 0.5)

    def mouseDoubleClickEvent(self, ev):
        self.owner.reset_camera()


class Projected3DView(QtWidgets.QWidget, _AutoRotate):
    """The 3-D scene as an orthographic 2-D projection (no OpenGL needed)."""

    is_gl = False

    def __init__(self, parent=None, style: ViewStyle = SCREEN, reason: str = "",
                 title: str = "Particles and scores in 3-D (projected)"):
        super().__init__(parent)
        from .particles_view import PointCloudItem
        self.style = style
        self.scene = _Scene()
        self.reason = reason
        self.azimuth = AZIMUTH
        self.elevation = ELEVATION
        self.n_learned_bins = 6

        self.graphics = C.make_layout_widget()
        lay = QtWidgets.QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addWidget(self.graphics)
        self.vb = _OrbitViewBox(self)
        self.plot = pg.PlotItem(viewBox=self.vb)
        self.plot.hideButtons()
        for ax in ("left", "bottom"):
            self.plot.hideAxis(ax)
        C.set_title(self.plot, title, style)
        self.graphics.addItem(self.plot, 0, 0)
        self.vb.disableAutoRange()

        self.density_img = C.DensityImage()
        self.plot.addItem(self.density_img)
        self.box_curve = pg.PlotCurveItem(connect="pairs", pen=pg.mkPen((*BOX_COLOR, 200), width=1.5))
        self.plot.addItem(self.box_curve)
        self.slice_poly = QtWidgets.QGraphicsPolygonItem()
        self.slice_poly.setBrush(pg.mkBrush(*SLICE_COLOR, 22))
        self.slice_poly.setPen(pg.mkPen((*SLICE_COLOR, 190), width=1.5, cosmetic=True))
        self.slice_poly.setZValue(30)
        self.plot.addItem(self.slice_poly)
        self.true_curve = pg.PlotCurveItem(connect="pairs",
                                           pen=pg.mkPen((*TRUE, 220), width=style.arrow_width))
        self.true_curve.setZValue(10)
        self.plot.addItem(self.true_curve)
        self.learned_curves = []
        for i in range(self.n_learned_bins):
            t = (i + 0.5) / self.n_learned_bins
            rgb = tuple(int(c) for c in error_colors([t])[0] * 255)
            c = pg.PlotCurveItem(connect="pairs", pen=pg.mkPen(rgb, width=style.arrow_width))
            c.setZValue(11)
            self.plot.addItem(c)
            self.learned_curves.append(c)
        self.points_item = PointCloudItem(size=style.point_size)
        self.points_item.setZValue(20)
        self.plot.addItem(self.points_item)
        self.label_items: list[pg.TextItem] = []

        self.note = C.CornerText(self.plot, "tl")
        self.status_text = C.CornerText(self.plot, "tr")
        self.status_text.setVisible(False)
        self.legend_label = pg.LabelItem(justify="left")
        self.graphics.addItem(self.legend_label, 1, 0)
        self.legend_plain = ""

        self._init_auto_rotate(40)
        self.apply_style(style)
        self.set_bounds(self.scene.bounds)

    # ------------------------------------------------------------ camera
    def camera(self) -> dict:
        return {"azimuth": float(self.azimuth), "elevation": float(self.elevation), "distance": 0.0}

    def set_camera(self, azimuth: float | None = None, elevation: float | None = None) -> None:
        if azimuth is not None:
            self.azimuth = float(azimuth) % 360.0
        if elevation is not None:
            self.elevation = float(np.clip(elevation, -90, 90))
        self._redraw()

    def orbit(self, dazim: float, delev: float) -> None:
        self.set_camera(self.azimuth + dazim, self.elevation + delev)

    def reset_camera(self) -> None:
        self.azimuth, self.elevation = AZIMUTH, ELEVATION
        self._fit_range()
        self._redraw()

    def rotate_by(self, degrees: float) -> None:
        self.set_camera(azimuth=self.azimuth + degrees)


    def _centre(self) -> np.ndarray:
        return self.scene.bounds.mean(axis=1)

    def _proj(self, pts) -> np.ndarray:
        return project(pts, self._centre(), self.azimuth, self.elevation)

    def _fit_range(self) -> None:
        b = self.scene.bounds
        r = 0.5 * float(np.linalg.norm(b[:, 1] - b[:, 0]))
        self.radius = r
        self.vb.setRange(xRange=(-1.05 * r, 1.05 * r), yRange=(-1.12 * r, 1.05 * r), padding=0)

    # ------------------------------------------------------------ data (same API as View3D)
    def set_bounds(self, bounds) -> None:
        self.scene.set_bounds(bounds)
        self._fit_range()
        self._redraw()

    def set_density_points(self, points, weights=None) -> None:
        self.scene.set_density_points(points, weights)
        self._redraw_density()

    def set_density_grid(self, p) -> None:
        self.scene.set_density_grid(p)
        self._redraw_density()

    def set_density_mode(self, mode: str) -> None:
        self.scene.set_density_mode(mode)
        self._redraw_density()
        self._draw_legend()

    def set_particles(self, x) -> None:
        changed = self.scene.set_particles(x)
        self._redraw_particles()
        if changed:
            self._draw_legend()

    def set_fields(self, points, learned=None, true=None) -> None:
        self.scene.set_fields(points, learned, true)
        self._redraw_arrows()
        self._draw_legend()

    def set_arrow_mode(self, mode: str) -> None:
        self.scene.set_arrow_mode(mode)
        self._redraw_arrows()
        self._draw_legend()

    def set_slice(self, axis: int, value: float) -> None:
        self.scene.set_slice(axis, value)
        self._redraw_slice()
        self._draw_legend()

    def set_slice_visible(self, on: bool) -> None:
        self.scene.slice_visible = bool(on)
        self._redraw_slice()
        self._draw_legend()

    def set_status(self, text: str) -> None:
        self.scene.status = text or ""
        self._draw_status()

    def set_mode_weights(self, fractions, true=None, labels=None) -> None:
        self.scene.mode_weights = mode_weights_text(fractions, true, labels)
        table = C.mode_weights_table(fractions, true, labels)
        self.scene.mode_weights_rich = "" if table is None else table[1]
        self._draw_status()

    def set_trails(self, enabled: bool, length: int = 8) -> None:
        """Accepted for the 2-D particle view's API; the 3-D view draws no trails."""

    def _draw_status(self) -> None:
        s = self.scene
        plain = "\n".join(t for t in (s.status, s.mode_weights) if t)
        rich = "<br>".join(t for t in (html.escape(s.status).replace("\n", "<br>"), s.mode_weights_rich) if t)
        self.status_text.set_content(plain, rich or None, style=self.style)

    def apply_style(self, style: ViewStyle) -> None:
        self.style = style
        C.set_title(self.plot, self.plot.title_text, style)
        self.points_item.set_look(size=style.point_size)
        self.true_curve.setPen(pg.mkPen((*TRUE, 220), width=style.arrow_width))
        for i, c in enumerate(self.learned_curves):
            rgb = tuple(int(v) for v in error_colors([(i + 0.5) / self.n_learned_bins])[0] * 255)
            c.setPen(pg.mkPen(rgb, width=style.arrow_width))
        note = NO_GL_NOTE + (f"\n({self.reason})" if self.reason else "")
        self.note.set_content(note, f"<b>{NO_GL_NOTE}</b>"
                              + (f"<br><span style='color:#aaaab2'>{self.reason}</span>"
                                 if self.reason else ""), style=style)
        self._draw_status()
        self._draw_labels()
        self._draw_legend()

    def note_text(self) -> str:
        return self.note.plain_text

    # ------------------------------------------------------------ drawing
    def _redraw(self) -> None:
        self._redraw_density()
        self._redraw_particles()
        self._redraw_arrows()
        self._redraw_slice()
        self.box_curve.setData(*self._proj(box_edges(self.scene.bounds)).T, connect="pairs")
        self._draw_labels()

    def _redraw_density(self) -> None:
        s = self.scene
        pts, w = s.density_points, s.density_weights
        if not len(pts) and s.density_grid is not None:
            g = s.density_grid
            n = g.shape
            b = s.bounds
            axes = [b[k, 0] + (b[k, 1] - b[k, 0]) / n[k] * (np.arange(n[k]) + 0.5) for k in range(3)]
            mesh = np.meshgrid(*axes, indexing="ij")
            pts = np.stack([m.ravel() for m in mesh], axis=1)
            w = np.where(np.isfinite(g.ravel()), g.ravel(), 0.0)
        if s.density_mode == "off" or not len(pts):
            self.density_img.set_density(None)
            return
        r = getattr(self, "radius", 1.0) * 1.05
        uv = self._proj(pts)
        bins = 160
        h, _, _ = np.histogram2d(uv[:, 0], uv[:, 1], bins=bins, range=[[-r, r], [-r, r]], weights=w)
        h = _blur(h)
        self.density_img.set_density(h / max(h.max(), 1e-300), [[-r, r], [-r, r]])

    def _redraw_particles(self) -> None:
        s = self.scene
        if not len(s.particles):
            self.points_item.set_points(np.zeros((0, 2)))
            return
        self.points_item.set_look(alpha=int(255 * _particle_alpha(len(s.particles)) ** 1.5))
        self.points_item.set_points(self._proj(s.particles))

    def _redraw_arrows(self) -> None:
        s = self.scene
        show_l = s.arrow_mode in ("both", "learned") and s.learned is not None
        show_t = s.arrow_mode in ("both", "true") and s.true is not None
        if show_t:
            seg, _ = arrow_segments(s.field_points, s.true, s.scale, s.cell)
            uv = self._proj(seg)
            self.true_curve.setData(uv[:, 0], uv[:, 1], connect="pairs")
        else:
            self.true_curve.setData([], [])
        for c in self.learned_curves:
            c.setData([], [])
        if show_l:
            seg, ok = arrow_segments(s.field_points, s.learned, s.scale, s.cell)
            uv = self._proj(seg).reshape(-1, 10, 2)
            err = s.learned_error()
            if err is None:
                bins = np.zeros(len(uv), int)
                self.learned_curves[0].setPen(pg.mkPen(LEARNED, width=self.style.arrow_width))
            else:
                bins = np.clip((np.nan_to_num(err[ok], nan=1.0) * self.n_learned_bins).astype(int),
                               0, self.n_learned_bins - 1)
                rgb = tuple(int(v) for v in error_colors([0.5 / self.n_learned_bins])[0] * 255)
                self.learned_curves[0].setPen(pg.mkPen(rgb, width=self.style.arrow_width))
            for i, c in enumerate(self.learned_curves):
                part = uv[bins == i].reshape(-1, 2)
                if len(part):
                    c.setData(part[:, 0], part[:, 1], connect="pairs")

    def _redraw_slice(self) -> None:
        s = self.scene
        self.slice_poly.setVisible(s.slice_visible)
        if not s.slice_visible:
            return
        uv = self._proj(s.slice_quad())
        self.slice_poly.setPolygon(QtGui.QPolygonF([QtCore.QPointF(float(u), float(v)) for u, v in uv]))

    def _draw_labels(self) -> None:
        for it in self.label_items:
            self.plot.removeItem(it)
        self.label_items = []
        font, bold = _fonts(self.style)
        # layout in a y-down pixel-like frame: v flipped; 1 unit = 1 data unit scaled to px
        px = self._pixels_per_unit()
        to_screen = lambda p: self._proj(p) * np.array([px, -px])  # noqa: E731
        for kind, text, (x, y), (dx, dy) in axis_labels_layout(self.scene.bounds, to_screen,
                                                               QtGui.QFontMetricsF(font).height()):
            if kind == "tick":
                fm = QtGui.QFontMetricsF(font).height()
                x, y = x + dx * fm, y + dy * fm
            item = pg.TextItem(text, color=FOREGROUND, anchor=(0.5, 0.5))
            item.setFont(bold if kind == "name" else font)
            item.setPos(x / px, -y / px)
            item.setZValue(40)
            self.plot.addItem(item)
            self.label_items.append(item)

    def _pixels_per_unit(self) -> float:
        w = self.vb.width()
        xr = self.vb.viewRange()[0]
        span = xr[1] - xr[0]
        return float(w / span) if w > 0 and span > 0 else 40.0

    def resizeEvent(self, ev):
        super().resizeEvent(ev)
        QtCore.QTimer.singleShot(0, self._draw_labels)

    def _draw_legend(self) -> None:
        rows = self.scene.legend_rows(projected=True)
        if not rows:
            self.legend_plain = ""
            self.legend_label.setText("")
            return
        plain = "\n".join(r[2] for r in rows)
        html_rows = []
        for kind, color, text in rows:
            if kind == "ramp":
                sw = ("<span style='color:#e69f00'>\u2501</span><span style='color:#f0563c'>\u2501"
                      "</span><span style='color:#ff40c8'>\u2501</span>")
            else:
                hexc = pg.mkColor(*color).name()
                mark = "\u25cf" if kind == "dot" else "\u2501\u2501"
                sw = f"<span style='color:{hexc}'>{mark}</span>"
            html_rows.append(f"{sw}&nbsp;{text}")
        self.legend_plain = plain
        half = (len(html_rows) + 1) // 2
        cell = "<td style='padding-right:18px'>{}</td>"
        table = "".join("<tr>" + cell.format(html_rows[i])
                        + (cell.format(html_rows[i + half]) if i + half < len(html_rows) else "")
                        + "</tr>" for i in range(half))
        self.legend_label.setText(f"<table>{table}</table>", size=f"{self.style.font_pt}pt",
                                  color=pg.mkColor(FOREGROUND).name())

    def render_rgb(self, w: int | None = None, h: int | None = None) -> np.ndarray:
        return render_rgb(self, w or self.width(), h or self.height())


def upsample(img: np.ndarray, k: int) -> np.ndarray:
    """A cell-centred (n, m) image at k times the resolution, bilinear (for display)."""
    a = np.where(np.isfinite(img), img, 0.0)
    if k <= 1:
        return a
    for axis in (0, 1):
        n = a.shape[axis]
        src = np.arange(n) + 0.5
        dst = (np.arange(n * k) + 0.5) / k
        a = np.apply_along_axis(lambda v: np.interp(dst, src, v), axis, a)
    return a


def _blur(h: np.ndarray) -> np.ndarray:
    k = np.array([1.0, 4.0, 6.0, 4.0, 1.0]) / 16.0
    for axis in (0, 1):
        h = np.apply_along_axis(lambda m: np.convolve(m, k, mode="same"), axis, h)
    return h


# ====================================================================== panel
class View3DPanel(QtWidgets.QWidget):
    """The 3-D view (GL or projected), its controls and the slice's learned-vs-true FieldView.

    Signals (user actions only; `set_slice` from code does not emit):
      slice_changed(axis: int, value: float)  recompute the slice fields: `slice_points(n)`
                                              gives the plane's grid, `set_slice_fields` draws it;
      arrow_points_changed(str)               "grid" or "particles": where the window should
                                              evaluate the 3-D arrows passed to `set_fields`.
    """

    slice_changed = Signal(int, float)
    arrow_points_changed = Signal(str)

    SLIDER_STEPS = 200

    def __init__(self, parent=None, view=None, style: ViewStyle = SCREEN):
        super().__init__(parent)
        from .field_view import FieldView
        if view is None:
            view = Projected3DView(style=style)
        self.view = view
        self.is_gl = bool(getattr(view, "is_gl", False))
        self.style = style
        self.slice_n = 0

        self.rotate_button = QtWidgets.QPushButton("\u27f3 Auto-rotate")
        self.rotate_button.setCheckable(True)
        self.rotate_button.setToolTip("Turn the camera slowly about the x\u2083 axis")
        self.rotate_button.toggled.connect(self.view.set_auto_rotate)
        self.density_combo = QtWidgets.QComboBox()
        for text, mode in (("density: isosurfaces", "surface"), ("density: samples", "cloud"),
                           ("density: hidden", "off")):
            self.density_combo.addItem(text, mode)
        self.density_combo.setToolTip("How p(x) is drawn: a translucent cloud of samples, or "
                                      "surfaces where p is 8% and 50% of its maximum")
        self.density_combo.currentIndexChanged.connect(
            lambda _i: self.view.set_density_mode(self.density_combo.currentData()))
        self.arrows_combo = QtWidgets.QComboBox()
        for text, mode in (("arrows: learned + true", "both"), ("arrows: learned", "learned"),
                           ("arrows: true", "true"), ("arrows: hidden", "off")):
            self.arrows_combo.addItem(text, mode)
        self.arrows_combo.currentIndexChanged.connect(
            lambda _i: self.view.set_arrow_mode(self.arrows_combo.currentData()))
        self.where_combo = QtWidgets.QComboBox()
        self.where_combo.addItem("on a grid", "grid")
        self.where_combo.addItem("on particles", "particles")
        self.where_combo.setToolTip("Where the 3-D arrows are drawn")
        self.where_combo.currentIndexChanged.connect(
            lambda _i: self.arrow_points_changed.emit(self.where_combo.currentData()))
        self.slice_check = QtWidgets.QCheckBox("slice")
        self.slice_check.setChecked(True)
        self.slice_check.setToolTip("Show the slice plane in 3-D (its fields are on the right)")
        self.slice_check.toggled.connect(self.view.set_slice_visible)
        self.axis_combo = QtWidgets.QComboBox()
        for k, name in enumerate(AXIS_NAMES):
            self.axis_combo.addItem(f"{name} =", k)
        self.axis_combo.setCurrentIndex(2)
        self.axis_combo.currentIndexChanged.connect(self._axis_changed)
        self.slice_slider = QtWidgets.QSlider(QtCore.Qt.Orientation.Horizontal)
        self.slice_slider.setRange(0, self.SLIDER_STEPS)
        self.slice_slider.setValue(self.SLIDER_STEPS // 2)
        self.slice_slider.setMinimumWidth(120)
        self.slice_slider.valueChanged.connect(self._slider_moved)
        self.slice_label = QtWidgets.QLabel("0")
        self.slice_label.setMinimumWidth(48)

        bar = QtWidgets.QHBoxLayout()
        bar.setContentsMargins(6, 4, 6, 2)
        for w in (self.rotate_button, self.density_combo, self.arrows_combo, self.where_combo):
            bar.addWidget(w)
        bar.addSpacing(12)
        for w in (self.slice_check, self.axis_combo):
            bar.addWidget(w)
        bar.addWidget(self.slice_slider, 1)
        bar.addWidget(self.slice_label)

        self.field_view = FieldView(style=style)
        self.field_view.set_mode("overlay")
        self.split = QtWidgets.QSplitter(QtCore.Qt.Orientation.Horizontal)
        self.split.addWidget(self.view)
        self.split.addWidget(self.field_view)
        self.split.setStretchFactor(0, 3)
        self.split.setStretchFactor(1, 2)
        self.split.setSizes([600, 400])
        lay = QtWidgets.QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.setSpacing(0)
        lay.addLayout(bar)
        lay.addWidget(self.split, 1)
        self.setAutoFillBackground(True)
        pal = self.palette()
        pal.setColor(self.backgroundRole(), pg.mkColor(BACKGROUND))
        self.setPalette(pal)
        self._label_slice_plots()
        self._sync_slice_label()

    # ------------------------------------------------------------ pictures (GL included)
    def grab(self, rect=QtCore.QRect(0, 0, -1, -1)) -> QtGui.QPixmap:
        pix = super().grab(rect)
        if self.is_gl:
            p = QtGui.QPainter(pix)
            try:
                _composite_gl(self, p, -QtCore.QRect(rect).topLeft())
            finally:
                p.end()
        return pix

    def render(self, target, *args, **kwargs):
        super().render(target, *args, **kwargs)
        if self.is_gl:
            _render_with_gl(self, target, args, kwargs)

    def render_rgb(self, w: int | None = None, h: int | None = None) -> np.ndarray:
        return render_rgb(self, w or self.width(), h or self.height())

    # ------------------------------------------------------------ forwarding
    def set_bounds(self, bounds) -> None:
        self.view.set_bounds(bounds)
        self._sync_slider()
        self._label_slice_plots()

    def set_density_points(self, points, weights=None) -> None:
        self.view.set_density_points(points, weights)

    def set_density_grid(self, p) -> None:
        self.view.set_density_grid(p)

    def set_density_mode(self, mode: str) -> None:
        i = self.density_combo.findData(mode)
        if i < 0:
            raise ValueError(f"density mode must be one of {DENSITY_MODES}")
        self.density_combo.setCurrentIndex(i)
        self.view.set_density_mode(mode)

    def set_particles(self, x) -> None:
        self.view.set_particles(x)

    def set_fields(self, points, learned=None, true=None) -> None:
        self.view.set_fields(points, learned, true)

    def set_arrow_mode(self, mode: str) -> None:
        i = self.arrows_combo.findData(mode)
        if i < 0:
            raise ValueError(f"arrow mode must be one of {ARROW_MODES}")
        self.arrows_combo.setCurrentIndex(i)
        self.view.set_arrow_mode(mode)

    def arrow_points(self) -> str:
        return self.where_combo.currentData()

    def set_auto_rotate(self, on: bool) -> None:
        self.rotate_button.setChecked(bool(on))   # toggles the view too
        self.view.set_auto_rotate(bool(on))

    def set_status(self, text: str) -> None:
        self.view.set_status(text)

    def set_mode_weights(self, fractions, true=None, labels=None) -> None:
        self.view.set_mode_weights(fractions, true, labels)

    def set_trails(self, enabled: bool, length: int = 8) -> None:
        self.view.set_trails(enabled, length)

    def apply_style(self, style: ViewStyle) -> None:
        self.style = style
        self.view.apply_style(style)
        self.field_view.apply_style(style)
        self._label_slice_plots()

    def camera(self) -> dict:
        return self.view.camera()

    # ------------------------------------------------------------ slice
    def slice(self) -> tuple[int, float]:
        s = self.view.scene
        return s.slice_axis, s.slice_value

    def set_slice(self, axis: int, value: float) -> None:
        """Move the plane from code (no signal)."""
        self.view.set_slice(axis, value)
        for w in (self.axis_combo, self.slice_slider):
            w.blockSignals(True)
        self.axis_combo.setCurrentIndex(self.view.scene.slice_axis)
        self._sync_slider()
        for w in (self.axis_combo, self.slice_slider):
            w.blockSignals(False)
        self._label_slice_plots()

    def set_slice_visible(self, on: bool) -> None:
        self.slice_check.setChecked(bool(on))

    def slice_points(self, n: int = 24) -> np.ndarray:
        """(n*n, 3) grid on the current plane, in the order `set_slice_fields` expects."""
        axis, value = self.slice()
        return slice_grid(self.view.scene.bounds, axis, value, n)

    def set_slice_fields(self, points, learned=None, true=None, density_at_points=None,
                         density_image=None) -> None:
        """Learned vs true on the plane: 3-D points and vectors; the FieldView shows the
        in-plane components over p on the plane: `density_image` (k x k over the plane's
        bounds, first index along the first in-plane axis, e.g. p on `slice_grid(bounds,
        axis, value, 96)` reshaped) or else `density_at_points` upsampled."""
        axis, value = self.slice()
        keep = [k for k in range(3) if k != axis]
        p = C.as_points(points, 3)
        g = len(p)
        lrn = fit_rows(learned, g)
        tru = fit_rows(true, g)
        b = self.view.scene.bounds
        self.field_view.set_bounds(b[keep])
        dens = None
        if density_at_points is not None:
            dens = np.asarray(density_at_points, dtype=np.float64).ravel()
            if len(dens) != g:
                dens = None
        n = int(round(math.sqrt(g))) if g else 0
        img = None if density_image is None else np.asarray(density_image, dtype=np.float64)
        if img is not None and img.ndim == 2 and min(img.shape) > 1:
            self.field_view.set_density(np.where(np.isfinite(img), img, 0.0))
        elif dens is not None and n * n == g and n > 1:
            self.field_view.set_density(upsample(dens.reshape(n, n), max(1, 160 // n)))
        else:
            self.field_view.set_density(None)
        self.field_view.set_fields(p[:, keep], None if lrn is None else lrn[:, keep],
                                   None if tru is None else tru[:, keep], dens)
        self.slice_n = n
        C.set_title(self.field_view.overlay_plot,
                    f"Learned and true score on the slice {AXIS_NAMES[axis]} = {tick_text(value)}",
                    self.style)
        self.field_view.set_caption(self.slice_caption())

    def slice_caption(self) -> str:
        """What the slice's FieldView shows, e.g. to prefix the window's own caption."""
        axis, value = self.slice()
        keep = [k for k in range(3) if k != axis]
        return (f"Slice {AXIS_NAMES[axis]} = {tick_text(value)}: in-plane components "
                f"({AXIS_NAMES[keep[0]]}, {AXIS_NAMES[keep[1]]}) of the scores")

    def _value_of(self, pos: int) -> float:
        lo, hi = self.view.scene.bounds[self.view.scene.slice_axis]
        return float(lo + (hi - lo) * pos / self.SLIDER_STEPS)

    def _sync_slider(self) -> None:
        s = self.view.scene
        lo, hi = s.bounds[s.slice_axis]
        pos = int(round((s.slice_value - lo) / (hi - lo) * self.SLIDER_STEPS))
        self.slice_slider.blockSignals(True)
        self.slice_slider.setValue(int(np.clip(pos, 0, self.SLIDER_STEPS)))
        self.slice_slider.blockSignals(False)
        self._sync_slice_label()

    def _sync_slice_label(self) -> None:
        self.slice_label.setText(tick_text(round(self.view.scene.slice_value, 3)))

    def _slider_moved(self, pos: int) -> None:
        axis = self.view.scene.slice_axis
        value = self._value_of(pos)
        self.view.set_slice(axis, value)
        self._sync_slice_label()
        self.slice_changed.emit(axis, value)

    def _axis_changed(self, i: int) -> None:
        axis = int(self.axis_combo.itemData(i))
        value = float(self.view.scene.bounds[axis].mean())
        self.view.set_slice(axis, value)
        self._sync_slider()
        self._label_slice_plots()
        self.slice_changed.emit(axis, value)

    def _label_slice_plots(self) -> None:
        """Axis names of the slice's plots and their range: the two in-plane axes."""
        axis = self.view.scene.slice_axis
        keep = [k for k in range(3) if k != axis]
        fv = self.field_view
        b = self.view.scene.bounds[keep]
        if not np.allclose(fv.bounds, b):
            fv.set_bounds(b)
        for plot in (fv.learned_plot, fv.true_plot, fv.overlay_plot, fv.error_plot):
            C.label_axes(plot, AXIS_NAMES[keep[0]], AXIS_NAMES[keep[1]], self.style)


# ====================================================================== factory and export
def make_view3d(parent=None, style: ViewStyle = SCREEN) -> View3DPanel:
    """The panel with a `View3D` when OpenGL >= 2.1 is there, else a `Projected3DView`."""
    from ..gl_probe import gl_available
    ok, reason = gl_available()
    view = None
    if ok:
        try:
            view = View3D(style=style)
        except Exception as e:  # pyqtgraph.opengl refused after all: fall back, say why
            ok, reason = False, f"3-D view failed: {type(e).__name__}: {e}"
    if view is None:
        view = Projected3DView(style=style, reason=reason)
    return View3DPanel(parent, view=view, style=style)


def _qimage_rgb(img: QtGui.QImage) -> np.ndarray:
    img = img.convertToFormat(QtGui.QImage.Format.Format_RGB888)
    w, h, bpl = img.width(), img.height(), img.bytesPerLine()
    buf = np.frombuffer(img.constBits(), np.uint8, count=bpl * h).reshape(h, bpl)
    return buf[:, : w * 3].reshape(h, w, 3).copy()


def bgra_to_rgb(a: np.ndarray) -> np.ndarray:
    """pyqtgraph's `renderToArray` returns BGRA; this is the RGB of it."""
    return np.ascontiguousarray(np.asarray(a)[..., [2, 1, 0]])


def render_rgb(widget, w: int, h: int) -> np.ndarray:
    """(h, w, 3) uint8 picture of `widget` for export: a View3D, Projected3DView,
    View3DPanel or any widget holding them.

    A `View3D` is drawn straight at w x h into an offscreen framebuffer (any size, on
    screen or not). Other widgets are laid out at w x h when they are top-level (else
    their picture is scaled), grabbed, and the GL pictures of the View3Ds inside are drawn
    where their windows sit (QWidget.grab cannot read a native GL window).
    (pyqtgraph's `GLViewWidget.renderToArray` would do too, but returns BGRA: see
    `bgra_to_rgb`; it tiles through a 1024^2 texture and is ~4x slower.)
    """
    w, h = int(w), int(h)
    if isinstance(widget, View3D):
        return widget.render_rgb(w, h)
    app = QtWidgets.QApplication.instance()
    old = widget.size()
    resized = False
    if (widget.width(), widget.height()) != (w, h) and widget.parentWidget() is None:
        widget.resize(w, h)
        resized = True
    if app is not None:
        app.processEvents()
    pix = QtWidgets.QWidget.grab(widget)
    pix.setDevicePixelRatio(1.0)
    p = QtGui.QPainter(pix)
    try:
        dpr = widget.devicePixelRatioF()
        if dpr != 1.0:
            p.scale(dpr, dpr)
        _composite_gl(widget, p)
    finally:
        p.end()
    out = _qimage_rgb(pix.toImage())
    if resized:
        widget.resize(old)
    if out.shape[:2] != (h, w):
        qi = QtGui.QImage(out.data, out.shape[1], out.shape[0], 3 * out.shape[1],
                          QtGui.QImage.Format.Format_RGB888)
        out = _qimage_rgb(qi.scaled(w, h, QtCore.Qt.AspectRatioMode.IgnoreAspectRatio,
                                    QtCore.Qt.TransformationMode.SmoothTransformation))
    return out
