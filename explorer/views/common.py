"""Shared pieces of the plot views: the dark density image, contours, axis labels, plot
factories and the one place that turns a `ViewStyle` into fonts and pens (colour science in
colour.py, legends in legends.py, readouts beside the plots in readouts.py).

Conventions used by every view:
- bounds are ``[[xlo, xhi], [ylo, yhi]]``;
- a density on an ``n x n`` grid has its first index along x and is sampled at cell
  centres (``explorer.core.measures.grid``), so the image covers exactly the bounds;
- grid fields of ``G = n*n`` points come in the order of ``core.grid.grid_points``
  (first axis slowest); other orders are detected (see `grid_image`).
"""

from __future__ import annotations

import math

import contourpy
import numpy as np
import pyqtgraph as pg
import shiboken6
from PySide6 import QtCore, QtGui, QtWidgets

from .colour import dark_lut
from .style import (BACKGROUND, FOREGROUND, SCREEN, ViewStyle)

# Extra Okabe-Ito colours used only by the views.
ISM_SHIFTED = (204, 121, 167)   # reddish purple
CONTOUR = (235, 235, 235)
HINT = (170, 170, 178)
PANEL_FILL = (20, 20, 24, 190)  # translucent background of legends and hints

X1 = "x\u2081"
X2 = "x\u2082"
LEARNED_NAME = "learned s\u03b8(x)"
TRUE_NAME = "true \u2207log p(x)"
DENSITY_NAME = "density p(x)"
BLOCK = "\u2588"


# ---------------------------------------------------------------- array hygiene
def as_points(x, d: int = 2) -> np.ndarray:
    """(n, d) float array from anything array-like; (n,) becomes (n, 1); empty is (0, d)."""
    if x is None:
        return np.zeros((0, d))
    a = np.asarray(x, dtype=np.float64)
    if a.size == 0:
        return np.zeros((0, d))
    if a.ndim == 1:
        a = a[:, None] if d == 1 else a.reshape(-1, d) if a.size % d == 0 else np.zeros((0, d))
    if a.shape[1] < d:
        a = np.concatenate([a, np.zeros((a.shape[0], d - a.shape[1]))], axis=1)
    return a[:, :d]


def finite_rows(a: np.ndarray) -> np.ndarray:
    """The rows of `a` with no NaN or inf. Checking the whole array first is 40x faster
    than a per-row check on 100,000 particles, and nearly every frame is all finite."""
    if np.isfinite(a).all():
        return a
    return a[np.isfinite(a).all(axis=1)]


def column_range(a: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-column min and max of an (n, d) array, column by column: numpy's reduction
    along axis 0 of a C-ordered (n, 2) array is 40x slower (2.5 ms at 100,000 rows)."""
    lo = np.array([a[:, k].min() for k in range(a.shape[1])])
    hi = np.array([a[:, k].max() for k in range(a.shape[1])])
    return lo, hi


def bounds_array(bounds, d: int = 2) -> np.ndarray:
    """(d, 2) bounds with lo < hi and finite; a broken box becomes [-1, 1]."""
    b = np.asarray(bounds, dtype=np.float64).reshape(-1, 2)[:d]
    out = np.tile([[-1.0, 1.0]], (d, 1))
    for i in range(min(d, len(b))):
        lo, hi = b[i]
        if np.isfinite(lo) and np.isfinite(hi) and hi > lo:
            out[i] = lo, hi
    return out


def robust_max(values, q: float = 99.0) -> float:
    v = np.asarray(values, dtype=np.float64).ravel()
    v = v[np.isfinite(v)]
    if v.size == 0:
        return 1.0
    m = float(np.percentile(v, q))
    if not m > 0:
        m = float(v.max())
    return m if m > 0 else 1.0


# ---------------------------------------------------------------- images
def image_rect(bounds) -> QtCore.QRectF:
    b = bounds_array(bounds)
    return QtCore.QRectF(b[0, 0], b[1, 0], b[0, 1] - b[0, 0], b[1, 1] - b[1, 0])


class DensityImage(pg.ImageItem):
    """The density p(x) as a dark background image over the bounds.

    Shown with a square-root stretch so the tails (where the score is hard to learn)
    stay visible. `density` keeps the values as given (NaN and negatives set to 0).
    """

    def __init__(self, lut: np.ndarray | None = None, gamma: float = 0.5):
        super().__init__(axisOrder="col-major")
        self.gamma = gamma
        self.density = np.zeros((0, 0))
        self.bounds = bounds_array([[-1, 1], [-1, 1]])
        self.setLookupTable(dark_lut() if lut is None else lut)
        self.setZValue(-100)

    def set_density(self, density, bounds=None) -> None:
        if bounds is not None:
            self.bounds = bounds_array(bounds)
        d = np.asarray(density, dtype=np.float64) if density is not None else np.zeros((0, 0))
        if d.ndim != 2 or d.size == 0:
            self.density = np.zeros((0, 0))
            self.clear()
            self.setVisible(False)
            return
        d = np.where(np.isfinite(d) & (d > 0), d, 0.0)
        self.density = d
        top = d.max()
        shown = (d / top) ** self.gamma if top > 0 else d
        self.setImage(shown.astype(np.float32), levels=(0.0, 1.0), autoLevels=False)
        self.setRect(image_rect(self.bounds))
        self.setVisible(True)


def grid_image(points, values) -> tuple[np.ndarray, QtCore.QRectF] | None:
    """Arrange values at G grid points as an (nx, ny) image (first index x) and the
    rectangle it covers (cell-centred points: each value fills its cell).

    Accepts the core's order (x slowest), the transposed order (y slowest) and, for any
    other layout, bins the points on a sqrt(G) x sqrt(G) grid (mean per bin).
    """
    p = as_points(points, 2)
    v = np.asarray(values, dtype=np.float64).ravel()
    g = len(p)
    if g == 0 or len(v) != g:
        return None
    xs = np.unique(p[:, 0])
    ys = np.unique(p[:, 1])
    nx, ny = len(xs), len(ys)
    if nx * ny == g and nx > 1 and ny > 1:
        dx = (xs[-1] - xs[0]) / (nx - 1)
        dy = (ys[-1] - ys[0]) / (ny - 1)
        rect = QtCore.QRectF(xs[0] - dx / 2, ys[0] - dy / 2, dx * nx, dy * ny)
        ix = np.clip(np.rint((p[:, 0] - xs[0]) / dx).astype(int), 0, nx - 1)
        iy = np.clip(np.rint((p[:, 1] - ys[0]) / dy).astype(int), 0, ny - 1)
        img = np.full((nx, ny), np.nan)
        img[ix, iy] = v
        return img, rect
    # Scattered points: bin them.
    ok = np.isfinite(p).all(axis=1)
    if not ok.any():
        return None
    n = max(2, int(round(math.sqrt(g))))
    lo = p[ok].min(axis=0)
    hi = p[ok].max(axis=0)
    hi = np.where(hi > lo, hi, lo + 1.0)
    s = np.zeros((n, n))
    c = np.zeros((n, n))
    ij = np.clip(((p[ok] - lo) / (hi - lo) * n).astype(int), 0, n - 1)
    vv = np.where(np.isfinite(v[ok]), v[ok], 0.0)
    np.add.at(s, (ij[:, 0], ij[:, 1]), vv)
    np.add.at(c, (ij[:, 0], ij[:, 1]), 1.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        img = np.where(c > 0, s / c, np.nan)
    return img, QtCore.QRectF(lo[0], lo[1], hi[0] - lo[0], hi[1] - lo[1])


def grid_cell(points) -> float | None:
    """Spacing of a regular grid of points (the smaller of the x and y steps)."""
    p = as_points(points, 2)
    p = p[np.isfinite(p).all(axis=1)]
    steps = []
    for k in range(2):
        u = np.unique(p[:, k])
        if len(u) > 1:
            steps.append(float(np.min(np.diff(u))))
    return min(steps) if steps else None


class ContourItem(pg.PlotCurveItem):
    """Iso-lines of a gridded density as one curve (NaN-separated), in data units."""

    def __init__(self, color=CONTOUR, alpha: int = 150, width: float = 1.0):
        super().__init__(connect="finite", antialias=True)
        self._color = color
        self._alpha = alpha
        self.set_width(width)
        self.levels: list[float] = []

    def set_width(self, width: float) -> None:
        self.setPen(pg.mkPen((*self._color[:3], self._alpha), width=width))

    def set_contours(self, density, bounds, fractions=(0.02, 0.1, 0.3, 0.6)) -> None:
        d = np.asarray(density, dtype=np.float64) if density is not None else np.zeros((0, 0))
        if d.ndim != 2 or min(d.shape, default=0) < 2:
            self.setData([], [])
            self.levels = []
            return
        d = np.where(np.isfinite(d), d, 0.0)
        b = bounds_array(bounds)
        top = d.max()
        if not top > 0:
            self.setData([], [])
            self.levels = []
            return
        # contourpy (matplotlib's) traces all levels in C++, ~10x pyqtgraph's isocurve. The
        # density is sampled at cell centres; padded with its edge values at the box's edges,
        # a line that meets the border reaches the box rather than stopping half a cell short.
        nx, ny = d.shape
        xs = np.concatenate([[b[0, 0]], b[0, 0] + (np.arange(nx) + 0.5) * (b[0, 1] - b[0, 0]) / nx,
                             [b[0, 1]]])
        ys = np.concatenate([[b[1, 0]], b[1, 0] + (np.arange(ny) + 0.5) * (b[1, 1] - b[1, 0]) / ny,
                             [b[1, 1]]])
        self.levels = [f * top for f in fractions]
        gen = contourpy.contour_generator(xs, ys, np.pad(d, 1, mode="edge").T,
                                          line_type=contourpy.LineType.ChunkCombinedNan)
        lines = [chunk for (chunks,) in gen.multi_lines(self.levels) for chunk in chunks
                 if chunk is not None and len(chunk)]
        if lines:   # one NaN-separated curve: a NaN row between the levels' curves
            sep = np.full((1, 2), np.nan)
            a = np.concatenate([part for c in lines for part in (c, sep)])
            self.setData(a[:, 0], a[:, 1])
        else:
            self.setData([], [])


# ---------------------------------------------------------------- widgets and text
def make_layout_widget() -> pg.GraphicsLayoutWidget:
    w = pg.GraphicsLayoutWidget()
    w.setBackground(BACKGROUND)
    w.ci.setContentsMargins(6, 6, 6, 6)
    return w


def delete_items(items) -> None:
    """Delete graphics items a view has taken out of its scene and drops, now, in C++: Qt
    deletes their children with them and the wrappers are told. Left to Python, the cyclic
    collector could free a parent before its child and the child twice (a segfault)."""
    for item in items:
        if shiboken6.isValid(item):
            shiboken6.delete(item)


def park(widget: pg.GraphicsLayoutWidget, item) -> None:
    """Take `item` out of `widget`'s layout, hidden but still in its scene (addItem puts
    it back). Taken out of the scene, an item and its children would belong to Python
    alone, and a collection of the view's cyclic garbage that freed them in the wrong
    order would free a child twice (a segfault)."""
    if item in widget.ci.items:
        widget.ci.removeItem(item)
    item.setParentItem(None)
    widget.scene().addItem(item)
    item.hide()


def set_title(plot: pg.PlotItem, text: str, style: ViewStyle = SCREEN) -> None:
    """Title in the foreground colour; the plain text is kept on the plot (`title_text`)."""
    plot.title_text = text
    color = pg.mkColor(getattr(plot, "title_color", FOREGROUND)).name()
    plot.setTitle(text, size=f"{style.font_pt + 2}pt", color=color)


def label_axes(plot: pg.PlotItem, x: str = X1, y: str = X2, style: ViewStyle = SCREEN) -> None:
    plot.axis_labels = (x, y)
    for name, text in (("bottom", x), ("left", y)):
        plot.getAxis(name).setLabel(text, **{"color": pg.mkColor(FOREGROUND).name(),
                                             "font-size": f"{style.font_pt + 1}pt"})


class ReadableAxis(pg.AxisItem):
    """A linear axis whose labelled ticks stand at least a label and two font heights apart:
    pyqtgraph labelled every unit of a 16-unit box at slide fonts (-8 -7 ... 8, no space
    between), and nine labels across a 313 px field panel."""

    def tickSpacing(self, minVal, maxVal, size):
        levels = super().tickSpacing(minVal, maxVal, size)
        if self.logMode or not levels or not maxVal > minVal or size <= 0:
            return levels
        fm = QtGui.QFontMetricsF(self.style.get("tickFont") or QtGui.QFont())
        px = size / (maxVal - minVal)
        horizontal = self.orientation in ("bottom", "top")

        def room(spacing: float) -> float:
            """Pixels a label at this spacing needs: its widest label and a gap (across),
            or two lines (up the side)."""
            if not horizontal:
                return 2.2 * fm.height()
            first = math.ceil(minVal / spacing)
            values = [k * spacing for k in range(first, int(math.floor(maxVal / spacing)) + 1)]
            strings = self.tickStrings(values, self.scale, spacing) if values else ["0"]
            return max(fm.horizontalAdvance(t) for t in strings) + 2 * fm.height()

        if all(spacing * px >= room(spacing) for spacing, _ in levels):
            return levels
        major = min(spacing for spacing, _ in levels)     # the finest nice step that fits
        while major * px < room(major):
            mantissa = major / 10 ** math.floor(math.log10(major) + 1e-9)
            major *= 2.5 if round(mantissa) == 2 else 2.0     # 1 -> 2 -> 5 -> 10
        return [(major, 0.0)]


def make_plot(title: str, x: str = X1, y: str = X2, style: ViewStyle = SCREEN,
              grid: bool = False) -> pg.PlotItem:
    plot = pg.PlotItem(axisItems={"bottom": ReadableAxis("bottom"), "left": ReadableAxis("left")})
    plot.setMenuEnabled(True)
    plot.hideButtons()
    set_title(plot, title, style)
    label_axes(plot, x, y, style)
    if grid:
        plot.showGrid(x=True, y=True, alpha=0.15)
    apply_style(plot, style)
    return plot


def make_log_plot(title: str, x: str, y: str, style: ViewStyle = SCREEN, right: bool = False
                  ) -> pg.PlotItem:
    """A grid plot with both axes (and the right one, if asked) logarithmic, its tick labels
    kept sparse (SparseLogAxis): the trade-off, the error per noise level, the probes."""
    plot = make_plot(title, x, y, style, grid=True)
    axes = {"left": SparseLogAxis("left"), "bottom": SparseLogAxis("bottom")}
    if right:
        axes["right"] = SparseLogAxis("right")
    for axis in axes.values():   # "2, 1, 0.5 (x0.001)" on a log axis reads as a linear scale
        axis.enableAutoSIPrefix(False)
    plot.setAxisItems(axes)
    plot.setLogMode(x=True, y=True)
    apply_style(plot, style)     # the new axes' names, fonts and pens
    return plot


def embed_layout(owner: QtWidgets.QWidget) -> pg.GraphicsLayoutWidget:
    """A layout widget filling `owner` edge to edge (a view's plots and legend live in it)."""
    widget = make_layout_widget()
    lay = QtWidgets.QVBoxLayout(owner)
    lay.setContentsMargins(0, 0, 0, 0)
    lay.addWidget(widget)
    return widget


def apply_style(plot: pg.PlotItem, style: ViewStyle = SCREEN) -> None:
    """Fonts (ticks, axis labels, title) and axis pens of one plot."""
    font = QtGui.QFont()
    font.setPointSizeF(float(style.font_pt))
    pen = pg.mkPen(FOREGROUND, width=max(1.0, style.line_width * 0.67))
    for name in ("bottom", "left", "top", "right"):
        ax = plot.getAxis(name)
        ax.setPen(pen)
        ax.setTextPen(pg.mkPen(FOREGROUND))
        ax.setStyle(tickFont=font, tickTextOffset=4)
    x, y = getattr(plot, "axis_labels", (None, None))
    if x is not None:
        label_axes(plot, x, y, style)
    if getattr(plot, "title_text", None) is not None:
        set_title(plot, plot.title_text, style)
    # Room for the tick labels at larger fonts so nothing is clipped (and for the axis
    # names where they are shown: a compact plot leaves them to its title and caption).
    fm = QtGui.QFontMetrics(font)
    named = 1 if getattr(plot, "axis_names_shown", True) else 0
    if named:
        plot.getAxis("left").setWidth(fm.horizontalAdvance("-00.00") + fm.height() + 14)
    else:   # just the tick labels' width (the axis grows to its widest label)
        plot.getAxis("left").setWidth(None)
    plot.getAxis("bottom").setHeight((1 + named) * fm.height() + 16)
    right = plot.getAxis("right")
    if named and right.isVisible() and right.labelText:   # a named right axis (the trade-off's)
        right.setWidth(fm.horizontalAdvance("-00.00") + fm.height() + 14)
    for name in ("bottom", "left"):
        plot.getAxis(name).showLabel(bool(named))


def show_axis_names(plot: pg.PlotItem, shown: bool, style: ViewStyle = SCREEN) -> None:
    """Axis names (x₁, x₂) on or off: off, the axes keep only their tick labels and give
    their room to the data (the window's panels on a 720p screen)."""
    plot.axis_names_shown = bool(shown)
    apply_style(plot, style)


def fit_box(plot, bounds, padding: float = 0.02) -> None:
    """Show exactly `bounds` in a plot with a locked aspect ratio, now and after every resize.

    With a locked aspect, a range set before the plot has its final size is stretched on
    both axes when the layout settles (a [-8, 8] box drawn in a third of a +-30 plot); setting
    it again on each resize keeps the box filling the plot's height or width. `plot` is a
    PlotItem or its ViewBox.
    """
    vb = plot if isinstance(plot, pg.ViewBox) else plot.getViewBox()
    vb.fit_bounds = bounds_array(bounds)
    vb.fit_padding = padding
    if not getattr(vb, "fit_connected", False):
        vb.sigResized.connect(_refit)
        vb.fit_connected = True
    _refit(vb)


def _refit(vb: pg.ViewBox) -> None:
    b = vb.fit_bounds
    vb.setRange(xRange=tuple(b[0]), yRange=tuple(b[1]), padding=vb.fit_padding)


def box_fill_fraction(plot: pg.PlotItem, bounds) -> float:
    """The larger of (box width / view width, box height / view height) in pixels: how well
    the density box fills its plot (1 when it spans the plot's width or height)."""
    vb = plot.getViewBox()
    b = bounds_array(bounds)
    box = vb.mapViewToScene(image_rect(b)).boundingRect()
    view = vb.sceneBoundingRect()
    if view.width() <= 0 or view.height() <= 0:
        return 0.0
    shown = box.intersected(view)
    return max(shown.width() / view.width(), shown.height() / view.height())






def image_is_uniform(widget) -> bool:
    """True when a grab of the widget has a single colour (used by tests and checks)."""
    img = widget.grab().toImage().convertToFormat(QtGui.QImage.Format.Format_RGB32)
    w, h = img.width(), img.height()
    if w == 0 or h == 0:
        return True
    ptr = img.constBits()
    a = np.frombuffer(ptr, dtype=np.uint32, count=img.bytesPerLine() * h // 4)
    return bool(np.all(a == a[0]))


def apply_style_colorbar(bar: pg.ColorBarItem, style: ViewStyle = SCREEN) -> None:
    font = QtGui.QFont()
    font.setPointSizeF(float(style.font_pt))
    ax = bar.axis
    ax.enableAutoSIPrefix(False)
    ax.setPen(pg.mkPen(FOREGROUND))
    ax.setTextPen(pg.mkPen(FOREGROUND))
    ax.setStyle(tickFont=font)
    if ax.labelText:
        ax.setLabel(ax.labelText, **{"color": pg.mkColor(FOREGROUND).name(),
                                     "font-size": f"{style.font_pt + 1}pt"})
    fm = QtGui.QFontMetrics(font)
    ax.setWidth(fm.horizontalAdvance("0.0000") + fm.height() + 12)


class CanvasTitle(QtWidgets.QLabel):
    """A drawing surface's title as a word-wrapping Qt label above its plot.

    A pyqtgraph title's minimum width is its text's width; in the narrow Draw tab that made
    the plot wider than its GraphicsView, whose viewport then cut off the title, the
    right part of the density box and what was placed there (a component at (5, 5) in
    [-8, 8]^2). A label wraps instead and lets the plot shrink to the space it has.
    """

    def __init__(self, text: str, style: ViewStyle = SCREEN):
        super().__init__(text)
        self.setWordWrap(True)
        self.setAlignment(QtCore.Qt.AlignmentFlag.AlignCenter)
        self.setSizePolicy(QtWidgets.QSizePolicy.Policy.Ignored,
                           QtWidgets.QSizePolicy.Policy.Minimum)
        self.restyle(style)

    def restyle(self, style: ViewStyle) -> None:
        fg, bg = pg.mkColor(FOREGROUND).name(), pg.mkColor(BACKGROUND).name()
        self.setStyleSheet(f"QLabel {{ color: {fg}; background: {bg}; "
                           f"font-size: {style.font_pt + 2}pt; padding: 4px 6px 0px 6px; }}")


def make_canvas_plot(title: str, style: ViewStyle = SCREEN):
    """(layout widget, plot, view box, title label) for a drawing surface: square pixels,
    no pan or zoom, no context menu, so that every mouse drag draws. The caller puts the
    title label (a `CanvasTitle`) above the layout widget."""
    view = make_layout_widget()
    plot = make_plot("", style=style)
    plot.setTitle(None)
    plot.title_text = None
    plot.setMenuEnabled(False)
    plot.setAspectLocked(True)
    vb = plot.getViewBox()
    vb.setMouseEnabled(False, False)
    vb.disableAutoRange()
    view.addItem(plot)
    view.setMinimumSize(120, 120)
    return view, plot, vb, CanvasTitle(title, style)


def titled(title: QtWidgets.QWidget, view: QtWidgets.QWidget) -> QtWidgets.QWidget:
    """The title label stacked on its canvas, with no gap between them."""
    w = QtWidgets.QWidget()
    lay = QtWidgets.QVBoxLayout(w)
    lay.setContentsMargins(0, 0, 0, 0)
    lay.setSpacing(0)
    lay.addWidget(title)
    lay.addWidget(view, 1)
    return w


class SparseLogAxis(pg.AxisItem):
    """A log axis that labels only 1, 2 and 5 times a power of ten: across less than two
    decades pyqtgraph labels every minor tick (0.06 0.07 0.08 0.09), and they overlap."""

    def logTickStrings(self, values, scale, spacing):
        strings = super().logTickStrings(values, scale, spacing)
        mantissas = ["%0.1e" % v for v in 10 ** np.asarray(values, dtype=float) * scale]
        return [s if m[0] in "125" and m[1:3] == ".0" else "" for s, m in zip(strings, mantissas)]
