"""Shared pieces of the plot views: the dark density image, contours, readouts beside the plots,
axis labels and the one place that turns a `ViewStyle` into fonts and pens.

Conventions used by every view:
- bounds are ``[[xlo, xhi], [ylo, yhi]]``;
- a density on an ``n x n`` grid has its first index along x and is sampled at cell
  centres (``explorer.core.measures.grid``), so the image covers exactly the bounds;
- grid fields of ``G = n*n`` points come in the order of ``core.grid.grid_points``
  (first axis slowest); other orders are detected (see `grid_image`).
"""

from __future__ import annotations

import html
import math

import numpy as np
import pyqtgraph as pg
from PySide6 import QtCore, QtGui, QtWidgets

from .style import (BACKGROUND, DENSITY_CMAP, DENSITY_CMAP_RANGE, DENSITY_TOP_LUMINANCE, FOREGROUND, SCREEN, ViewStyle)

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


# ---------------------------------------------------------------- colours
def srgb_to_linear(rgb) -> np.ndarray:
    """sRGB 0..255 to linear light 0..1 (the IEC 61966-2-1 curve WCAG uses)."""
    c = np.asarray(rgb, dtype=np.float64) / 255.0
    return np.where(c <= 0.04045, c / 12.92, ((c + 0.055) / 1.055) ** 2.4)


def linear_to_srgb(lin) -> np.ndarray:
    c = np.clip(np.asarray(lin, dtype=np.float64), 0.0, 1.0)
    return 255.0 * np.where(c <= 0.0031308, 12.92 * c, 1.055 * c ** (1 / 2.4) - 0.055)


def relative_luminance(rgb) -> np.ndarray:
    """WCAG 2 relative luminance of sRGB colours (..., 3) in 0..255."""
    return srgb_to_linear(rgb)[..., :3] @ np.array([0.2126, 0.7152, 0.0722])


def contrast_ratio(a, b) -> np.ndarray:
    """WCAG 2 contrast ratio (1..21) between sRGB colours (..., 3)."""
    la, lb = relative_luminance(a), relative_luminance(b)
    return (np.maximum(la, lb) + 0.05) / (np.minimum(la, lb) + 0.05)


def dark_lut(name: str = DENSITY_CMAP, top_luminance: float = DENSITY_TOP_LUMINANCE,
             span=DENSITY_CMAP_RANGE, n: int = 256) -> np.ndarray:
    """The density backdrop: hues of `span` of a colour map, lightness capped so that
    arrows and particles drawn over the densest part keep their contrast.

    Level t gets the CIE lightness L* from the background's to that of `top_luminance`
    along t^0.6 (low levels, a weak mode's peak, get more of the little lightness there
    is to share), the chromaticity of the map at t, blended
    from the background's own below t = 0.35 (exactly the background at 0, no step).
    Luminance is linear in linear-light RGB, so scaling and blending keep it exact.
    """
    cm = pg.colormap.get(name)
    lin = srgb_to_linear(cm.getLookupTable(span[0], span[1], n, alpha=False))
    bg = srgb_to_linear(BACKGROUND)
    y_bg = float(bg @ np.array([0.2126, 0.7152, 0.0722]))
    t = np.linspace(0.0, 1.0, n)
    lstar = _lstar(y_bg) + (_lstar(top_luminance) - _lstar(y_bg)) * t ** 0.6
    y = _lstar_inv(lstar)[:, None]
    y_map = np.maximum(lin @ np.array([0.2126, 0.7152, 0.0722]), 1e-6)[:, None]
    w = np.minimum(1.0, t / 0.35)[:, None]
    rgb = (1.0 - w) * bg * (y / y_bg) + w * lin * (y / y_map)
    return np.clip(np.rint(linear_to_srgb(rgb)), 0, 255).astype(np.ubyte)


def _lstar(y):
    y = np.asarray(y, dtype=np.float64)
    return np.where(y > 216 / 24389, 116 * np.cbrt(y) - 16, y * 24389 / 27)


def _lstar_inv(lstar):
    lstar = np.asarray(lstar, dtype=np.float64)
    return np.where(lstar > 8, ((lstar + 16) / 116) ** 3, lstar * 27 / 24389)


def density_swatch_color() -> tuple[int, int, int]:
    lut = dark_lut()
    return tuple(int(c) for c in lut[int(0.8 * (len(lut) - 1))])


def alpha_lut(color, max_alpha: int = 255, gamma: float = 0.6, n: int = 256) -> np.ndarray:
    """RGBA lookup table: one colour, transparent at 0, opaque at the top."""
    lut = np.zeros((n, 4), dtype=np.ubyte)
    lut[:, :3] = color[:3]
    lut[:, 3] = (max_alpha * np.linspace(0.0, 1.0, n) ** gamma).astype(np.ubyte)
    return lut


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
        nx, ny = d.shape
        dx = (b[0, 1] - b[0, 0]) / nx
        dy = (b[1, 1] - b[1, 0]) / ny
        xs, ys = [], []
        self.levels = [f * top for f in fractions]
        for level in self.levels:
            for line in pg.functions.isocurve(d, level, connected=True, extendToEdge=True):
                a = np.asarray(line, dtype=np.float64)
                if len(a) < 2:
                    continue
                xs.append(b[0, 0] + (a[:, 0] + 0.5) * dx)
                ys.append(b[1, 0] + (a[:, 1] + 0.5) * dy)
                xs.append([np.nan])
                ys.append([np.nan])
        if xs:
            self.setData(np.concatenate(xs), np.concatenate(ys))
        else:
            self.setData([], [])


# ---------------------------------------------------------------- widgets and text
def make_layout_widget() -> pg.GraphicsLayoutWidget:
    w = pg.GraphicsLayoutWidget()
    w.setBackground(BACKGROUND)
    w.ci.setContentsMargins(6, 6, 6, 6)
    return w


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


def make_plot(title: str, x: str = X1, y: str = X2, style: ViewStyle = SCREEN,
              grid: bool = False) -> pg.PlotItem:
    plot = pg.PlotItem()
    plot.setMenuEnabled(True)
    plot.hideButtons()
    set_title(plot, title, style)
    label_axes(plot, x, y, style)
    if grid:
        plot.showGrid(x=True, y=True, alpha=0.15)
    apply_style(plot, style)
    return plot


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


def make_legend(style: ViewStyle = SCREEN, columns: int = 1, framed: bool = True) -> pg.LegendItem:
    legend = pg.LegendItem(
        labelTextColor=FOREGROUND, labelTextSize=f"{style.font_pt}pt", colCount=columns,
        pen=pg.mkPen(90, 90, 100) if framed else None,
        brush=pg.mkBrush(*PANEL_FILL) if framed else None, horSpacing=18)
    return legend


def style_legend(legend: pg.LegendItem, style: ViewStyle) -> None:
    legend.setLabelTextSize(f"{style.font_pt}pt")
    for _sample, label in legend.items:
        label.setText(label.text, size=f"{style.font_pt}pt", color=FOREGROUND)
    legend.updateSize()


def fit_legend_columns(legend: pg.LegendItem, width: float) -> None:
    """As many columns of legend entries as fit `width` (fewest rows, most room for the
    plot), else one: a legend wider than its view pushes the layout past the view's edge,
    where it is cut off."""
    for columns in range(max(len(legend.items), 1), 0, -1):
        legend.setColumnCount(columns)
        legend.updateSize()
        # the layout's margins and spacing and the legend's frame take ~40 px of `width`
        if columns == 1 or legend_size(legend)[0] <= width - 40:
            return


def legend_under_plot(widget, legend: pg.LegendItem) -> None:
    """The legend in row 1 of `widget`'s layout, under its plot, in as many columns as the
    widget's width takes (LegendItem.updateSize moves it to the scene's corner, so it goes
    back into its layout cell each time)."""
    fit_legend_columns(legend, widget.width())
    widget.ci.removeItem(legend)
    widget.addItem(legend, 1, 0)


def rename_legend_entry(legend: pg.LegendItem, index: int, name: str,
                        style: ViewStyle = SCREEN) -> None:
    """A new text for entry `index` (the density's, when the slider picks p_σ)."""
    if index < len(legend.items):
        legend.items[index][1].setText(name, size=f"{style.font_pt}pt", color=FOREGROUND)
        legend.updateSize()


def legend_size(legend: pg.LegendItem) -> tuple[float, float]:
    """The legend's own size (its rectangle stretches with the layout cell it is in)."""
    m = legend.layout.minimumSize()
    return m.width(), m.height()


def legend_names(legend: pg.LegendItem) -> list[str]:
    return [label.text for _sample, label in legend.items]


def swatch(color, symbol: str = "s", size: float = 12) -> pg.BarGraphItem:
    """A stand-in item that only provides a legend sample: a filled square of `color`
    (an empty BarGraphItem: the legend draws its brush; nothing is drawn in the plot)."""
    return pg.BarGraphItem(x=[], height=[], width=1, brush=pg.mkBrush(*color[:3]), pen=None)


def line_swatch(color, width: float = 2.0, alpha: int = 255, style=None) -> pg.PlotDataItem:
    pen = pg.mkPen((*color[:3], alpha), width=width)
    if style is not None:
        pen.setStyle(style)
    return pg.PlotDataItem([], [], pen=pen)


class SideText(pg.LabelItem):
    """A readout (sampler status, mode table) in the view's layout, beside or under a plot,
    never inside it: a text box inside the view box covers data (a mode, the curves).

    `set_content(plain, rich)` shows text (rich: HTML, e.g. a table). Empty, it takes no room
    in the layout (a hidden item of a QGraphicsGridLayout keeps its size, so its size hints
    drop to zero). Plain text wider than `wrap_em` font heights wraps.
    """

    def __init__(self, wrap_em: float = 12.0):
        super().__init__("", justify="left", color=FOREGROUND)
        self.wrap_em = wrap_em
        self.plain_text = ""
        self.rich_text = ""
        self._content = None
        self.setVisible(False)
        self._collapse()

    def _collapse(self) -> None:
        self._sizeHint = {h: (0, 0) for h in (QtCore.Qt.SizeHint.MinimumSize,
                                              QtCore.Qt.SizeHint.PreferredSize,
                                              QtCore.Qt.SizeHint.MaximumSize)}
        self.setMinimumSize(0, 0)
        self.setMaximumSize(0, 0)
        self.updateGeometry()

    def restyle(self, style: ViewStyle) -> None:
        if self.plain_text and self._content is not None:
            # the rich text as given (None for plain text, which wraps): passing the escaped
            # plain text back as "rich" stopped it wrapping in presenter sizes
            plain, rich, _ = self._content
            self.set_content(plain, rich, style)

    def set_wrap_px(self, px: float | None) -> None:
        """Wrap plain text at `px` pixels (None: at wrap_em font heights): a readout under
        a plot wraps at the plot's width, whatever the font."""
        if px == getattr(self, "wrap_px", None):
            return
        self.wrap_px = px
        if self._content is not None and self.plain_text:
            plain, rich, style = self._content
            self._content = None
            self.set_content(plain, None if rich is None else rich, style)

    def set_content(self, plain: str, rich: str | None = None, style: ViewStyle = SCREEN) -> None:
        if (plain or "", rich, style) == self._content:
            return   # unchanged: re-laying out rich text is a real part of a particle frame
        self._content = (plain or "", rich, style)
        self.plain_text = plain or ""
        if not self.plain_text:
            self.rich_text = ""
            self.item.setHtml("")
            self.setVisible(False)
            self._collapse()
            return
        font = QtGui.QFont()
        font.setPointSizeF(float(style.font_pt))
        self.item.setFont(font)
        self.item.setTextWidth(-1)
        wraps = rich is None      # plain text wraps; a table keeps its columns
        if rich is None:
            rich = html.escape(self.plain_text).replace("\n", "<br>")
        self.rich_text = rich
        self.setMaximumSize(1e6, 1e6)
        self.setText(f'<div style="color:{pg.mkColor(FOREGROUND).name()}">{rich}</div>')
        wrap = self.wrap_em * QtGui.QFontMetricsF(font).height()
        if getattr(self, "wrap_px", None):
            wrap = self.wrap_px
        if wraps and self.item.boundingRect().width() > wrap:
            self.item.setTextWidth(wrap)
            self.updateMin()
        self.setVisible(True)


class ReadoutColumn(pg.GraphicsLayout):
    """Readouts (and legends) stacked top to bottom in a column of a view's layout, beside its plot."""

    def __init__(self, *items: pg.GraphicsWidget):
        super().__init__()
        self.layout.setContentsMargins(8, 8, 4, 8)
        self.layout.setVerticalSpacing(10)
        for i, t in enumerate(items):
            self.addItem(t, i, 0)
        filler = pg.GraphicsWidget()   # pushes the readouts to the top of the column
        filler.setSizePolicy(QtWidgets.QSizePolicy.Policy.Minimum,
                             QtWidgets.QSizePolicy.Policy.Expanding)
        self.addItem(filler, len(items), 0)


def mode_weights_table(fractions, true=None, labels=None, n: int | None = None
                       ) -> tuple[str, str] | None:
    """(plain text, HTML table) of particle fraction per mode vs the truth, or None.

    A fraction is flagged (orange, "*") only when it is further from the truth than sampling
    noise explains: 3 binomial standard errors sqrt(w (1 - w) / n) for n particles (0.03 when
    n is not known). A flag means the sampler, not chance, got the weight wrong.
    """
    if fractions is None:
        return None
    f = [float(v) for v in np.asarray(fractions, dtype=np.float64).ravel()]
    if not f:
        return None
    t = None if true is None else [float(v) for v in np.asarray(true, dtype=np.float64).ravel()]
    labels = list(labels) if labels is not None else []
    rows_plain = ["mode  particles" + ("  true" if t is not None else "")]
    head = "<tr><th align='left'>mode&nbsp;</th><th align='right'>particles</th>"
    if t is not None:
        head += "<th align='right'>&nbsp;true</th>"
    head += "<th></th></tr>"
    rows = [head]
    flagged = False

    def fmt(v):
        return "  -  " if not np.isfinite(v) else f"{v:.3f}"

    for i, v in enumerate(f):
        name = str(labels[i]) if i < len(labels) else str(i + 1)
        tv = t[i] if (t is not None and i < len(t)) else None
        off = False
        if tv is not None and np.isfinite(v) and np.isfinite(tv):
            noise = 3 * math.sqrt(max(tv * (1 - tv), 1e-12) / n) if n else 0.03
            off = abs(v - tv) > noise
        flagged |= off
        rows_plain.append(f"{name}  {fmt(v)}{' *' if off else ''}"
                          + (f"  {fmt(tv)}" if tv is not None else ""))
        bar = int(round(6 * min(1.0, max(0.0, v)))) if np.isfinite(v) else 0
        shown = f"<b style='color:#e69f00'>{fmt(v)}*</b>" if off else fmt(v)
        row = (f"<tr><td>{html.escape(name)}&nbsp;</td><td align='right'>{shown}</td>")
        if t is not None:
            row += f"<td align='right'>&nbsp;{fmt(tv) if tv is not None else ''}</td>"
        row += "<td>&nbsp;<span style='color:#56b4e9'>" + BLOCK * bar + "</span></td></tr>"
        rows.append(row)
    note = "* beyond sampling noise (3 s.e.)" if flagged else ""
    rich = ("<b>particle fraction per mode</b><table cellspacing='0' cellpadding='1'>"
            + "".join(rows) + "</table>" + (f"<small>{note}</small>" if note else ""))
    plain = "particle fraction per mode\n" + "\n".join(rows_plain) + (f"\n{note}" if note else "")
    return plain, rich


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
