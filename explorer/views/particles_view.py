"""A 2-D Langevin particle cloud over the density, fast enough to animate.

Drawing. ScatterPlotItem spends ~30 ms (10k) to ~350 ms (100k) per setData on per-point
style bookkeeping, and QPainter.drawPoints with a translucent wide pen blends point by
point (~20 frames/s at 20k), so neither is used. `PointCloudItem` splats the points in
numpy (bincount per device pixel, box sum of the point size, alpha 1 - (1 - a)^k for k
overlapping points) and draws one image: on 2 cores, offscreen, with the view repainted,
~40-50 frames/s at 20,000 and ~35 at 100,000 (bench/bench_views.py). Above `max_points`
(default 250,000) the cloud is drawn as a 2-D histogram image over the bounds (np.bincount
on ~256 bins per axis, white with alpha by count), whose cost hardly grows with n.
`set_render_mode("points" | "histogram" | "auto")` overrides. Particles outside the bounds
are not in the histogram (they are off screen anyway).
"""

from __future__ import annotations

from collections import deque

import numpy as np
import pyqtgraph as pg
from PySide6 import QtCore, QtGui, QtWidgets

from .style import PARTICLES, SCREEN, TRACE, ViewStyle
from . import common as C
from . import colour as Kc
from . import legends as Lg
from . import readouts as Rd

RENDER_MODES = ("auto", "points", "histogram")


class PointCloudItem(pg.GraphicsObject):
    """Many equal square points, composited in numpy ("splatting").

    On a raster device (the screen, a pixmap, an exported frame) each paint maps the
    points to device pixels with the painter's transform, counts the points covering each
    pixel (np.bincount, then a box sum of the point size), turns k overlapping points into
    the alpha of k stacked translucent points, 1 - (1 - a)^k, and draws ONE image. This is
    what QPainter.drawPoints with a translucent wide pen draws, at a fraction of the cost
    (Qt blends such points one by one: ~20 frames/s at 20k). On vector devices (SVG) or
    rotated views it falls back to drawPoints on a QPolygonF filled from numpy.
    """

    def __init__(self, color=PARTICLES, size: float = 3.0):
        super().__init__()
        self._xy = np.zeros((0, 2))
        self._poly = None
        self._rect = QtCore.QRectF()
        self.color = tuple(color[:3])
        self.alpha = 255
        self.size = float(size)
        self._lut = None
        self.last_paint = ""          # "splat" or "drawPoints" (for tests and benchmarks)

    def set_look(self, size: float | None = None, alpha: int | None = None, color=None) -> None:
        if size is not None:
            self.size = float(size)
        if alpha is not None:
            self.alpha = int(np.clip(alpha, 1, 255))
        if color is not None:
            self.color = tuple(color[:3])
        self._lut = None
        self.update()

    def set_points(self, xy: np.ndarray) -> None:
        """xy: (n, 2) finite floats."""
        xy = np.asarray(xy, dtype=np.float64).reshape(-1, 2)
        self._xy = xy
        self._poly = None
        if len(xy):
            lo, hi = C.column_range(xy)
            rect = QtCore.QRectF(lo[0], lo[1], max(hi[0] - lo[0], 1e-9), max(hi[1] - lo[1], 1e-9))
        else:
            rect = QtCore.QRectF()
        if rect != self._rect:
            self.prepareGeometryChange()
            self._rect = rect
        self.update()

    def point_count(self) -> int:
        return len(self._xy)

    def points(self) -> np.ndarray:
        return self._xy.copy()

    def boundingRect(self) -> QtCore.QRectF:
        return self._rect

    def dataBounds(self, ax, frac=1.0, orthoRange=None):
        if not len(self._xy):
            return None
        r = self._rect
        return (r.left(), r.right()) if ax == 0 else (r.top(), r.bottom())

    # -------------------------------------------------------------- painting
    def _alpha_lut(self) -> np.ndarray:
        """premultiplied ARGB32 colour for 0..65535 overlapping points (clipped)."""
        if self._lut is None:
            a = self.alpha / 255.0
            k = np.arange(256, dtype=np.float64)
            alpha = 1.0 - (1.0 - a) ** k
            r, g, b = (np.rint(c * alpha).astype(np.uint32) for c in self.color)
            A = np.rint(255 * alpha).astype(np.uint32)
            self._lut = (A << 24) | (r << 16) | (g << 8) | b
        return self._lut

    def paint(self, p, *args) -> None:
        if not len(self._xy):
            return
        tr = p.deviceTransform()
        engine = p.paintEngine()
        raster = engine is not None and engine.type() in (
            QtGui.QPaintEngine.Type.Raster, QtGui.QPaintEngine.Type.X11,
            QtGui.QPaintEngine.Type.CoreGraphics, QtGui.QPaintEngine.Type.Windows)
        if raster and tr.m12() == 0 and tr.m21() == 0 and self._splat(p, tr):
            self.last_paint = "splat"
            return
        self.last_paint = "drawPoints"
        if self._poly is None:
            self._poly = pg.functions.create_qpolygonf(len(self._xy))
            pg.functions.ndarray_from_qpolygonf(self._poly)[:] = self._xy
        pen = QtGui.QPen(QtGui.QColor(*self.color, int(self.alpha)))
        pen.setWidthF(max(1.0, self.size))
        pen.setCosmetic(True)
        pen.setCapStyle(QtCore.Qt.PenCapStyle.SquareCap)
        p.setRenderHint(QtGui.QPainter.RenderHint.Antialiasing, False)
        p.setPen(pen)
        p.drawPoints(self._poly)

    def _splat(self, p, tr) -> bool:
        dev = p.device()
        dpr = dev.devicePixelRatioF() if hasattr(dev, "devicePixelRatioF") else 1.0
        # The widget may paint into a larger surface (a window's backing store, a grab of the
        # whole window) at an offset: `base` maps logical widget pixels to device pixels.
        p.save()
        p.resetTransform()
        base = p.deviceTransform()
        p.restore()
        # Device-pixel area to fill: the clip (the view box), the points, the device.
        area = base.mapRect(QtCore.QRectF(0, 0, dev.width(), dev.height()))
        if p.hasClipping():
            area = area.intersected(tr.mapRect(p.clipBoundingRect()))
        area = area.intersected(tr.mapRect(self._rect).adjusted(-8, -8, 8, 8))
        x0, y0 = int(np.floor(area.left())), int(np.floor(area.top()))
        w, h = int(np.ceil(area.right())) - x0, int(np.ceil(area.bottom())) - y0
        if w <= 0 or h <= 0:
            return True
        if w * h > 16_000_000:
            return False
        k = max(1, int(round(self.size * dpr)))
        lo = (k - 1) // 2
        # Pixel (of the padded image) holding each point's top-left covered pixel.
        px = np.floor(self._xy[:, 0] * tr.m11() + (tr.dx() - x0)).astype(np.int64) - lo
        py = np.floor(self._xy[:, 1] * tr.m22() + (tr.dy() - y0)).astype(np.int64) - lo
        ok = (px > -k) & (px < w) & (py > -k) & (py < h)
        wp, hp = w + k, h + k                       # room for points hanging over the edge
        counts = np.bincount((py[ok] + k) * wp + (px[ok] + k), minlength=wp * hp)
        counts = counts.reshape(hp, wp).astype(np.uint16, copy=False)
        if k > 1:                                   # box sum: each point covers k x k pixels
            c = counts.copy()
            for s in range(1, k):
                c[:, s:] += counts[:, :-s]
            counts = c.copy()
            for s in range(1, k):
                counts[s:, :] += c[:-s, :]
        counts = counts[k:, k:]
        np.minimum(counts, 255, out=counts)
        argb = np.ascontiguousarray(self._alpha_lut()[counts])
        img = QtGui.QImage(argb.data, w, h, 4 * w, QtGui.QImage.Format.Format_ARGB32_Premultiplied)
        inverse, ok = base.inverted()
        if not ok:
            return False
        p.save()
        p.resetTransform()
        p.drawImage(inverse.mapRect(QtCore.QRectF(x0, y0, w, h)), img)
        p.restore()
        return True


class TrailItem(pg.GraphicsObject):
    """Fading segments between the last few positions of (up to `max_particles`) particles."""

    def __init__(self, color=PARTICLES, width: float = 1.0):
        super().__init__()
        self.color = tuple(color[:3])
        self.width = width
        self.paths: list[tuple[QtGui.QPainterPath, int]] = []
        self._rect = QtCore.QRectF()

    def set_history(self, history, max_jump: float) -> None:
        paths = []
        rect = QtCore.QRectF()
        hist = list(history)
        ages = len(hist) - 1
        for a in range(ages):
            p0, p1 = hist[a], hist[a + 1]
            k = min(len(p0), len(p1))
            if k == 0:
                continue
            seg = np.empty((k, 2, 2))
            seg[:, 0] = p0[:k]
            seg[:, 1] = p1[:k]
            jump = np.linalg.norm(seg[:, 1] - seg[:, 0], axis=1)
            keep = np.isfinite(jump) & (jump < max_jump) & (jump > 0)
            seg = seg[keep]
            if not len(seg):
                continue
            flat = seg.reshape(-1, 2)
            path = pg.functions.arrayToQPath(flat[:, 0], flat[:, 1], connect="pairs")
            alpha = int(120 * (a + 1) / ages)  # oldest faintest
            paths.append((path, alpha))
            rect = rect.united(path.boundingRect())
        self.prepareGeometryChange()
        self.paths = paths
        self._rect = rect
        self.update()

    def clear_trails(self) -> None:
        self.prepareGeometryChange()
        self.paths = []
        self._rect = QtCore.QRectF()
        self.update()

    def boundingRect(self) -> QtCore.QRectF:
        return self._rect

    def paint(self, p, *args) -> None:
        p.setRenderHint(QtGui.QPainter.RenderHint.Antialiasing, False)
        for path, alpha in self.paths:
            pen = QtGui.QPen(QtGui.QColor(*self.color, alpha))
            pen.setWidthF(self.width)
            pen.setCosmetic(True)
            p.setPen(pen)
            p.drawPath(path)


class ParticleHistogram(pg.ImageItem):
    """The particle cloud as counts on a grid over the bounds, white with alpha by count."""

    def __init__(self, color=PARTICLES, bins: int = 256):
        super().__init__(axisOrder="col-major")
        self.bins = bins
        self.counts = np.zeros((0, 0))
        self.setLookupTable(Kc.alpha_lut(color, max_alpha=240, gamma=0.55))
        self.setZValue(-10)

    def set_points(self, xy: np.ndarray, bounds: np.ndarray) -> None:
        b = C.bounds_array(bounds)
        w, h = b[:, 1] - b[:, 0]
        nx = self.bins if w >= h else max(16, int(round(self.bins * w / h)))
        ny = self.bins if h >= w else max(16, int(round(self.bins * h / w)))
        ix = np.floor((xy[:, 0] - b[0, 0]) * (nx / w)).astype(np.int64)
        iy = np.floor((xy[:, 1] - b[1, 0]) * (ny / h)).astype(np.int64)
        ok = (ix >= 0) & (ix < nx) & (iy >= 0) & (iy < ny)
        counts = np.bincount(ix[ok] * ny + iy[ok], minlength=nx * ny).reshape(nx, ny)
        self.counts = counts
        nz = counts[counts > 0]
        top = float(np.percentile(nz, 99.5)) if nz.size else 1.0
        self.setImage(counts.astype(np.float32), levels=(0.0, max(1.0, top)), autoLevels=False)
        self.setRect(C.image_rect(b))


def running_mean(path: np.ndarray, k: int) -> np.ndarray:
    """The mean of each k consecutive points (the ends kept), k >= 1."""
    if k <= 1 or len(path) <= k:
        return path
    c = np.cumsum(np.vstack([np.zeros((1, path.shape[1])), path]), axis=0)
    mean = (c[k:] - c[:-k]) / k
    return np.vstack([path[:1], mean, path[-1:]])


MIN_BOX = 80   # pixels: a plot smaller than this shows nothing


class ParticlesView(QtWidgets.QWidget):
    def __init__(self, parent=None, style: ViewStyle = SCREEN, max_points: int = 250_000,
                 title: str = "Particles"):
        super().__init__(parent)
        self.style = style
        self.max_points = int(max_points)
        self.render_mode = "auto"
        self.render_used = "points"
        self.bounds = C.bounds_array([[-1, 1], [-1, 1]])
        self.n_particles = 0      # rows given to set_particles
        self.n_drawn = 0          # finite rows drawn (as points or counted in the histogram)
        self.trails_enabled = False
        self.trace = None
        self.trail_length = 8
        self.trail_max_particles = 2000
        self.history: deque = deque(maxlen=self.trail_length)
        self.status = ""
        self._last = np.zeros((0, 2))

        self.graphics = C.make_layout_widget()
        lay = QtWidgets.QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addWidget(self.graphics)
        self.plot = C.make_plot(title, style=style)
        self.plot.setAspectLocked(True)
        self.plot.getViewBox().disableAutoRange()
        self.graphics.addItem(self.plot, 0, 0)
        self.density_item = C.DensityImage()
        self.plot.addItem(self.density_item)
        self.histogram_item = ParticleHistogram()
        self.histogram_item.setVisible(False)
        self.plot.addItem(self.histogram_item)
        self.trail_item = TrailItem()
        self.plot.addItem(self.trail_item)
        # ODE samplers' particle paths (sampler.paths): one polyline per particle, thin, under
        # the particles; a single curve with a connect mask costs ~1 ms for 200 x 100 points
        self.paths_item = pg.PlotCurveItem(pen=pg.mkPen((*PARTICLES[:3], 90), width=1))
        self.paths_item.setVisible(False)
        self.plot.addItem(self.paths_item)
        self.paths_shown = 0      # particles whose paths are drawn
        # one particle's path from a clicked point (yellow, Okabe-Ito), its start a ring
        self.trace_item = pg.PlotDataItem(pen=pg.mkPen(TRACE, width=2.5))
        self.trace_start = pg.ScatterPlotItem(size=12, pen=pg.mkPen(TRACE, width=2), brush=None)
        self.trace_end = pg.ScatterPlotItem(size=9, pen=None, brush=pg.mkBrush(TRACE))
        self.trace_raw = pg.PlotDataItem(pen=pg.mkPen((*TRACE, 80), width=1))
        self.trace_start_label = pg.TextItem("start", color=TRACE, anchor=(-0.15, 1.1))
        self.trace_end_label = pg.TextItem("end", color=TRACE, anchor=(-0.15, -0.1))
        for item in (self.trace_raw, self.trace_item, self.trace_start, self.trace_end,
                     self.trace_start_label, self.trace_end_label):
            item.setZValue(20)
            self.plot.addItem(item)
        for label in (self.trace_start_label, self.trace_end_label):
            label.setVisible(False)
        self.points_item = PointCloudItem(size=style.point_size)
        self.plot.addItem(self.points_item)
        # Readouts beside the plot, never over the particles.
        # The legend heads the column: under the plot it took a row a 720p screen cannot spare.
        self.status_text = Rd.SideText()
        self.weights_text = Rd.SideText()
        self.legend = Lg.make_legend(style, columns=1)
        self.readouts = Rd.ReadoutColumn(self.legend, self.status_text, self.weights_text)
        self.graphics.addItem(self.readouts, 0, 1)
        self._readouts_beside = True
        self._particle_swatch = Lg.swatch(PARTICLES, size=8)
        self.legend.addItem(Lg.swatch(Kc.density_swatch_color()), C.DENSITY_NAME)
        self.legend.addItem(self._particle_swatch, "particles")
        self._legend_label: tuple | None = None
        self.apply_style(style)
        self.set_bounds(self.bounds)

    # ------------------------------------------------------------ public API
    def set_bounds(self, bounds) -> None:
        self.bounds = C.bounds_array(bounds)
        b = self.bounds
        C.fit_box(self.plot, b)
        self.density_item.set_density(self.density_item.density, b)

    def set_density(self, density) -> None:
        self.density_item.set_density(density, self.bounds)

    def set_particles(self, x) -> None:
        a = np.asarray(x, dtype=np.float64) if x is not None else np.zeros((0, 2))
        if a.size == 0:
            xy = np.zeros((0, 2))
            self.n_particles = 0
        else:
            if a.ndim == 1:
                a = a[:, None]
            self.n_particles = len(a)
            xy = C.finite_rows(C.as_points(a, 2))
        self.n_drawn = len(xy)
        self._last = xy
        use_hist = (self.render_mode == "histogram"
                    or (self.render_mode == "auto" and len(xy) > self.max_points))
        if use_hist:
            self.render_used = "histogram"
            self.points_item.set_points(np.zeros((0, 2)))
            self.points_item.setVisible(False)
            self.histogram_item.set_points(xy, self.bounds)
            self.histogram_item.setVisible(True)
        else:
            self.render_used = "points"
            self.histogram_item.setVisible(False)
            self.points_item.set_look(alpha=self._alpha_for(len(xy)))
            self.points_item.set_points(xy)
            self.points_item.setVisible(True)
        self._update_trails(a if a.size else np.zeros((0, 2)))
        label = f"particles (n = {self.n_particles:,})" + (" as a 2-D histogram" if use_hist else "")
        key = (label, self.style.font_pt)
        if key != self._legend_label:   # setText re-lays out the legend: only on a change
            self._legend_label = key
            self.legend.items[-1][1].setText(label, size=f"{self.style.font_pt}pt")

    def set_render_mode(self, mode: str) -> None:
        if mode not in RENDER_MODES:
            raise ValueError(f"render mode must be one of {RENDER_MODES}")
        self.render_mode = mode
        self.set_particles(self._last)

    def set_trace(self, path) -> None:
        """Draw one particle's path (k x 2), or clear it with None."""
        labels = (self.trace_start_label, self.trace_end_label)
        for label in labels:
            label.setVisible(path is not None and len(path) > 0)
        if path is None or len(path) == 0:
            for item in (self.trace_raw, self.trace_item, self.trace_start, self.trace_end):
                item.setData([], [])
            self.trace = None
            return
        path = np.asarray(path, dtype=np.float64)[:, :2]
        self.trace = path
        # a thousand noisy steps are a tangle: the steps faint, their running mean (the
        # drift the score gives) bold, the start a ring and the end a dot, both named
        self.trace_raw.setData(path[:, 0], path[:, 1])
        smooth = running_mean(path, max(1, len(path) // 40))
        self.trace_item.setData(smooth[:, 0], smooth[:, 1])
        self.trace_start.setData([path[0, 0]], [path[0, 1]])
        self.trace_end.setData([path[-1, 0]], [path[-1, 1]])
        self.trace_start_label.setPos(path[0, 0], path[0, 1])
        self.trace_end_label.setPos(path[-1, 0], path[-1, 1])

    def set_paths(self, paths) -> None:
        """Draw whole paths, (steps + 1, k, d) positions of k particles (d >= 2: the first two
        coordinates), or hide them with None."""
        if paths is None or len(paths) < 2:
            self.paths_item.setData([], [])
            self.paths_item.setVisible(False)
            self.paths_shown = 0
            return
        a = np.asarray(paths, dtype=np.float64)
        steps, k = a.shape[0], a.shape[1]
        xy = C.as_points(a.transpose(1, 0, 2).reshape(steps * k, -1), 2)   # particle by particle
        connect = np.ones(steps * k, dtype=bool)
        connect[steps - 1::steps] = False         # no segment from one particle's end to the next
        ok = np.isfinite(xy).all(1)
        connect &= ok & np.roll(ok, -1)
        xy = np.where(ok[:, None], xy, 0.0)
        self.paths_item.setData(xy[:, 0], xy[:, 1], connect=connect)
        self.paths_item.setVisible(True)
        self.paths_shown = k

    def set_trails(self, enabled: bool, length: int = 8) -> None:
        self.trails_enabled = bool(enabled)
        self.trail_length = max(2, int(length))
        self.history = deque(list(self.history)[-self.trail_length:], maxlen=self.trail_length)
        if not self.trails_enabled:
            self.history.clear()
            self.trail_item.clear_trails()
        self.trail_item.setVisible(self.trails_enabled)

    def set_status(self, text: str) -> None:
        self.status = text or ""
        self.status_text.set_content(self.status, style=self.style)
        self._place_readouts()

    def resizeEvent(self, ev) -> None:
        super().resizeEvent(ev)
        self._place_readouts()

    def _place_readouts(self) -> None:
        """Readouts beside the plot or under it, whichever leaves the larger square box."""
        compact = getattr(self, "compact", False)
        if compact and self.width() > 0:   # under the plot: wrap at the view's width
            wrap = max(120.0, float(self.width() - 40))
            for t in (self.status_text, self.weights_text):
                if abs((getattr(t, "wrap_px", None) or 0) - wrap) > 8:
                    t.set_wrap_px(wrap)
        texts = [t for t in (self.status_text, self.weights_text) if t.plain_text]
        sizes = [(t.itemRect().width(), t.itemRect().height()) for t in texts]
        legend = Lg.legend_size(self.legend)
        # What the plot's axes and title take around the box.
        over_w = self.plot.getAxis("left").width() + 24
        over_h = self.plot.titleLabel.height() + self.plot.getAxis("bottom").height() + 24

        def boxes(items):
            need_w = max((w for w, _ in items), default=0) + 16
            need_h = sum(h for _, h in items) + 10 * len(items) + 16
            beside = min(self.width() - over_w - need_w, self.height() - over_h)
            below = min(self.width() - over_w, self.height() - over_h - need_h)
            return ((beside, self.height() >= need_h and beside >= MIN_BOX),
                    (below, self.width() >= need_w and below >= MIN_BOX))
        # The legend (the particles' colour and count, also in the status) gives way first
        # when the readouts would not fit the view's height or width otherwise.
        (bs, b_fit), (us, u_fit) = boxes(sizes + [legend])
        with_legend = (b_fit or u_fit or not sizes) and not getattr(self, "compact", False)
        if not with_legend:
            (bs, b_fit), (us, u_fit) = boxes(sizes)
        # both fit, or neither: the larger box (beside, the readouts that do not fit are cut
        # at the bottom; below, the plot would vanish)
        beside = (bs >= us if b_fit == u_fit else b_fit) or not (b_fit or u_fit)
        if compact and not (b_fit or u_fit):   # the window's column: under, wrapped
            beside = False
        self.legend.setVisible(with_legend)
        self.legend.setMaximumHeight(1e6 if with_legend else 0)
        # under the plot the readouts take their own height, the plot the rest (their
        # column's filler would otherwise share the height with the plot)
        self.readouts.setMaximumHeight(1e6 if beside else self._readouts_height())
        if beside == self._readouts_beside:
            self._fit_canvas()
            return
        self._readouts_beside = beside
        self.graphics.ci.removeItem(self.readouts)
        self.graphics.addItem(self.readouts, *((0, 1) if beside else (2, 0)))
        self._fit_canvas()

    def _fit_canvas(self) -> None:
        """The canvas as large as the view again: it was sized while its minimum width was
        larger (readouts beside, or wrapped wider), and a QGraphicsWidget's geometry never
        goes under its minimum, nor comes back when the minimum drops; the plot then ran
        off the view's right edge (painted_heart at 1280x720)."""
        view = QtCore.QRectF(self.graphics.viewport().rect())
        if view.width() > 0 and self.graphics.ci.geometry().width() > view.width() + 1:
            self.graphics.ci.setGeometry(view)

    def _readouts_height(self) -> float:
        items = [t for t in (self.legend, self.status_text, self.weights_text)
                 if t.isVisible() and t.maximumHeight() > 0]
        heights = [Lg.legend_size(t)[1] if t is self.legend else t.itemRect().height() for t in items]
        return sum(heights) + 10 * max(len(items) - 1, 0) + 16

    def set_mode_weights(self, fractions, true=None, labels=None) -> None:
        table = Rd.mode_weights_table(fractions, true, labels, n=self.n_drawn)
        if table is None:
            self.weights_text.set_content("")
        else:
            self.weights_text.set_content(table[0], table[1], style=self.style)
        self._place_readouts()

    def set_density_name(self, name: str) -> None:
        """What the backdrop is: p(x), or p_σ at the window's noise level."""
        Lg.rename_legend_entry(self.legend, 0, name, self.style)

    def set_compact(self, compact: bool) -> None:
        """The window's column at 720p: no axis names and no legend (the status says what
        the points are, the field panels' caption what the backdrop is); the readouts wrap
        at the column's width rather than at 12 em, so they take fewer lines under the plot."""
        self.compact = bool(compact)
        C.show_axis_names(self.plot, not compact, self.style)
        for t in (self.status_text, self.weights_text):
            t.wrap_em = 20.0 if compact else 12.0
        self._readouts_beside = None
        self._place_readouts()

    def apply_style(self, style: ViewStyle) -> None:
        self.style = style
        C.apply_style(self.plot, style)
        Lg.style_legend(self.legend, style)
        self.points_item.set_look(size=style.point_size)
        self.trail_item.width = max(1.0, style.line_width * 0.67)
        self.status_text.restyle(style)
        self.weights_text.restyle(style)
        self._readouts_beside = None   # larger text may need the other place
        self._place_readouts()

    # ------------------------------------------------------------ internals
    @staticmethod
    def _alpha_for(n: int) -> int:
        """Opaque for a few hundred points, translucent for dense clouds."""
        if n <= 0:
            return 255
        return int(np.clip(255 * np.sqrt(800.0 / n), 10, 255))

    def _update_trails(self, a: np.ndarray) -> None:
        if not self.trails_enabled:
            return
        k = min(len(a), self.trail_max_particles)
        cur = C.as_points(a[:k], 2).astype(np.float32) if k else np.zeros((0, 2), np.float32)
        if self.history and len(self.history[-1]) != len(cur):
            self.history.clear()
        self.history.append(cur)
        diag = float(np.hypot(*(self.bounds[:, 1] - self.bounds[:, 0])))
        self.trail_item.set_history(self.history, max_jump=0.15 * diag)
