"""The compare lab's pictures: curves of several variants overlaid, and small multiples.

- `CurvesView`: one curve per variant (its colour, its name in a legend beside the plot,
  never over it), a translucent band between `low` and `high` (the spread over seeds),
  optionally a dashed companion curve (ISM's loss + constant, which estimates F). Log y for
  the Fisher divergence, which spans decades.
- `FieldGrid`: one small plot per variant of the error |s_theta - grad log p| on the view
  grid over the box, every plot on one colour scale (one colour bar), with the variant's
  particles when it has sampled. Same box, same scale: the eye compares them directly.

Both are fed plain arrays; they know nothing of sessions.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pyqtgraph as pg
from PySide6 import QtCore, QtWidgets

from . import common as C

from . import legends as Lg
from .style import ERROR_CMAP, SCREEN, ViewStyle

# Okabe-Ito: distinguishable with the common colour-vision deficiencies, on a dark background
VARIANT_COLOURS = [(230, 159, 0), (86, 180, 233), (0, 158, 115), (240, 228, 66),
                   (213, 94, 0), (204, 121, 167), (0, 114, 178), (190, 190, 190)]


def variant_colour(index: int) -> tuple[int, int, int]:
    return VARIANT_COLOURS[index % len(VARIANT_COLOURS)]


@dataclass
class Curve:
    name: str
    colour: tuple
    x: np.ndarray
    centre: np.ndarray
    low: np.ndarray | None = None     # the band (None or equal to centre: no band)
    high: np.ndarray | None = None
    dashed: bool = False


# How the compare window draws the variants' losses. As they are, DSM's loss (about 100:
# its target's variance) set the axis and the other variants were flat lines at 0; minus
# its final value, every loss ends at 0 and ESM and ISM (which differ by a constant) meet.
LOSS_SCALES = {"shift_log": "Loss − final value, log axis", "shift": "Loss − final value",
               "raw": "Loss as it is"}


def rescaled_loss(curve: Curve, scale: str) -> Curve:
    """`curve` with `scale` applied ("raw", "shift", "shift_log": the log is the axis's)."""
    if scale == "raw" or len(curve.centre) == 0:
        return curve
    final = float(np.asarray(curve.centre)[-1])

    def shift(a):
        return None if a is None else np.asarray(a, dtype=np.float64) - final
    return Curve(curve.name, curve.colour, curve.x, shift(curve.centre), shift(curve.low),
                 shift(curve.high), curve.dashed)


class CurvesView(QtWidgets.QWidget):
    """Curves of several variants on one plot, the legend in a column at its right."""

    def __init__(self, title: str, x_label: str, y_label: str, log_y: bool = False,
                 note: str = ""):
        super().__init__()
        self.style = SCREEN
        self.log_y = log_y
        self.title, self.note = title, note
        self.widget = C.make_layout_widget()
        lay = QtWidgets.QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addWidget(self.widget)
        self.plot = C.make_plot(title, x_label, y_label, self.style, grid=True)
        self.plot.setAxisItems({"left": C.SparseLogAxis("left")})   # labels 1, 2, 5 in log mode
        C.label_axes(self.plot, x_label, y_label, self.style)
        C.apply_style(self.plot, self.style)
        for name in ("left", "bottom"):   # "training step (x0.001)" read as nonsense
            self.plot.getAxis(name).enableAutoSIPrefix(False)
        self.plot.setLogMode(y=log_y)
        self.empty_hint = pg.TextItem("no variants yet: Add variant… or Add ESM, ISM, SSM-VR, DSM",
                                      color=C.HINT, anchor=(0.5, 0.5))
        self.empty_hint.setParentItem(self.plot.getViewBox())
        self.plot.getViewBox().sigResized.connect(self._place_hint)
        self._set_title()
        self.widget.addItem(self.plot, 0, 0)
        self.legend = Lg.make_legend(self.style)
        self.widget.addItem(self.legend, 0, 1)
        self._items: list = []
        self._items_of: list[tuple] = []    # (line, band low, band high) per curve
        self.curves: list[Curve] = []

    def _set_title(self) -> None:
        """The note (what the line and band are) on a second, smaller line: on one line with
        the title it made the plot wider than a half-window pane, and the pane cut it off."""
        C.set_title(self.plot, self.title, self.style)
        if self.note:
            self.plot.setTitle(f"{self.title}<br><span style='font-size:{self.style.font_pt}pt; "
                               f"color:#b8b8c0'>{self.note}</span>",
                               size=f"{self.style.font_pt + 2}pt", color=C.FOREGROUND)

    def _place_hint(self, *_) -> None:
        r = self.plot.getViewBox().boundingRect()
        self.empty_hint.setPos(r.center())

    def set_log_y(self, on: bool, y_label: str | None = None) -> None:
        self.log_y = bool(on)
        self.plot.setLogMode(y=self.log_y)
        if y_label is not None:
            x, _ = self.plot.axis_labels
            C.label_axes(self.plot, x, y_label, self.style)
        self._key = None
        self.set_curves(self.curves)

    def set_title(self, title: str, note: str) -> None:
        self.title, self.note = title, note
        self._set_title()

    def set_x_label(self, text: str) -> None:
        x, y = self.plot.axis_labels
        C.label_axes(self.plot, text, y, self.style)

    def set_curves(self, curves: list[Curve]) -> None:
        """Draw `curves`; the items are made again only when the set of curves changes
        (names, colours, dashes): between two snapshots only their data moves, and making
        pyqtgraph items and legend rows anew each time cost a third of a second."""
        self.curves = list(curves)
        empty = not any(len(c.x) for c in curves)
        self.empty_hint.setVisible(empty)
        for name in ("left", "bottom"):   # no numbers on an axis with nothing on it
            self.plot.getAxis(name).setStyle(showValues=not empty)
        if empty:
            self.plot.getViewBox().setRange(xRange=(0, 1), yRange=(0, 1) if not self.log_y else (-1, 0),
                                            padding=0)
        elif getattr(self, "_was_empty", True):
            self.plot.enableAutoRange()
        self._was_empty = empty
        key = [(c.name, tuple(c.colour), c.dashed) for c in curves]
        if key != getattr(self, "_key", None):
            self._rebuild(curves)
            self._key = key
        for c, (line, a, b) in zip(curves, self._items_of):
            x = np.asarray(c.x, dtype=np.float64)
            y = np.asarray(c.centre, dtype=np.float64)
            ok = np.isfinite(x) & np.isfinite(y) & ((y > 0) if self.log_y else True)
            line.setData(x[ok], y[ok])
            banded = c.low is not None and c.high is not None and not np.array_equal(c.low, c.centre)
            lo = np.asarray(c.low)[ok] if banded else y[ok]
            hi = np.asarray(c.high)[ok] if banded else y[ok]
            if self.log_y and ok.any():
                lo = np.maximum(lo, y[ok].min() * 1e-3)
            a.setData(x[ok], lo)
            b.setData(x[ok], hi)

    def _rebuild(self, curves: list[Curve]) -> None:
        Lg.clear_legend(self.legend)   # its entries point at the old curves
        for item in self._items:
            self.plot.removeItem(item)
        C.delete_items(self._items)
        self._items, self._items_of = [], []
        w = self.style.line_width
        for c in curves:
            pen = pg.mkPen(*c.colour, width=w * (0.8 if c.dashed else 1.3))
            if c.dashed:
                pen.setStyle(QtCore.Qt.DashLine)
            line = pg.PlotDataItem([], [], pen=pen)
            a = pg.PlotDataItem([], [], pen=None)
            b = pg.PlotDataItem([], [], pen=None)
            band = pg.FillBetweenItem(a, b, brush=pg.mkBrush(*c.colour, 60))
            for item in (band, a, b, line):
                self.plot.addItem(item)
            self._items += [band, a, b, line]
            self._items_of.append((line, a, b))
            self.legend.addItem(line, c.name)
        Lg.style_legend(self.legend, self.style)
        self.legend.setVisible(bool(self.legend.items))
        self._fit_legend()

    def _fit_legend(self) -> None:
        Lg.legend_under_plot(self.widget, self.legend)

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        self._fit_legend()

    def apply_style(self, style: ViewStyle) -> None:
        self.style = style
        C.apply_style(self.plot, style)
        self._set_title()
        self._key = None
        self.set_curves(self.curves)


def grid_columns(n: int, width: float, height: float, bar: float = 90, axis: float = 28,
                 chrome_h: float = 50) -> int:
    """Columns for n square maps in width x height (a colour bar `bar` wide beside them,
    each map's axis and title around it): the fewest columns that give the largest maps."""
    best, best_side = 1, -1.0
    for cols in range(1, n + 1):
        rows = math.ceil(n / cols)
        side = min((width - bar) / cols - axis, height / rows - chrome_h)
        if side > best_side + 1:
            best, best_side = cols, side
    return best


class FieldGrid(QtWidgets.QWidget):
    """Small multiples: each variant's error map on one shared colour scale."""

    def __init__(self):
        super().__init__()
        self.style = SCREEN
        self.widget = C.make_layout_widget()
        lay = QtWidgets.QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addWidget(self.widget)
        self.bounds = np.array([[-1.0, 1.0], [-1.0, 1.0]])
        self.density: np.ndarray | None = None
        self.plots: list[pg.PlotItem] = []
        self.images: list[pg.ImageItem] = []
        self.scatters: list[pg.ScatterPlotItem] = []
        self.levels = (0.0, 1.0)
        self.colorbar = pg.ColorBarItem(values=(0.0, 1.0), colorMap=pg.colormap.get(ERROR_CMAP),
                                        label="|sθ − ∇log p|", interactive=False, width=14)
        C.park(self.widget, self.colorbar)   # in the scene until the first variants replace it
        self._names: list[str] = []
        self._colours: list[tuple] = []

    def set_bounds(self, bounds) -> None:
        self.bounds = C.bounds_array(bounds)
        for plot in self.plots:
            C.fit_box(plot, self.bounds)

    def set_variants(self, names: list[str], colours: list[tuple]) -> None:
        """One plot per variant, laid out in the grid that best fits the widget's shape."""
        if names == self._names and len(self.plots) == len(names):
            return
        self._names, self._colours = list(names), list(colours)
        old = [*self.widget.ci.items, self.colorbar]
        self.widget.clear()
        C.delete_items(old)   # taken out of the scene: deleted now, not by the collector
        self._cols = grid_columns(max(len(names), 1), self.width(), self.height())
        self.plots, self.images, self.scatters = [], [], []
        n = max(len(names), 1)
        cols = self._cols
        for i, (name, colour) in enumerate(zip(names, colours)):
            plot = C.make_plot(name, "", "", self.style)
            plot.titleLabel.setText(name, size=f"{self.style.font_pt + 1}pt", color=colour)
            plot.title_text = None   # coloured by hand above; apply_style must not reset it
            plot.setAspectLocked(True)
            plot.getAxis("left").setWidth(28)   # two maps and a colour bar in 700 px at 720p
            plot.getAxis("bottom").setHeight(24)
            image = pg.ImageItem()
            image.setOpts(axisOrder="col-major")
            plot.addItem(image)
            scatter = pg.ScatterPlotItem(size=2.5, pen=None, brush=pg.mkBrush(240, 240, 240, 170))
            plot.addItem(scatter)
            self.widget.addItem(plot, i // cols, i % cols)
            C.fit_box(plot, self.bounds)
            self.plots.append(plot)
            self.images.append(image)
            self.scatters.append(scatter)
        if names:
            self.colorbar = pg.ColorBarItem(values=self.levels, colorMap=pg.colormap.get(ERROR_CMAP),
                                            label="|sθ − ∇log p|", interactive=False, width=12)
            self.widget.addItem(self.colorbar, 0, cols, rowspan=math.ceil(n / cols))
            C.apply_style_colorbar(self.colorbar, self.style)
            self._equalise()

    def _equalise(self) -> None:
        """The maps' columns equally wide (left alone, the layout gave the first one less)."""
        lay = self.widget.ci.layout
        cols = getattr(self, "_cols", 1)
        share = max(1.0, (self.width() - 100) / cols)
        for c in range(cols):
            lay.setColumnStretchFactor(c, 1)
            lay.setColumnPreferredWidth(c, share)
            lay.setColumnMinimumWidth(c, 0.9 * share)
        lay.setColumnStretchFactor(cols, 0)

    def resizeEvent(self, event) -> None:
        """Another shape (the window maximised, a splitter dragged): the arrangement that
        gives the largest maps now, with the maps drawn again."""
        super().resizeEvent(event)
        n = len(self._names)
        if n and grid_columns(n, self.width(), self.height()) == getattr(self, "_cols", None):
            self._equalise()
        elif n:
            names, self._names = self._names, []
            self.set_variants(names, self._colours)
            if getattr(self, "_last_errors", None) is not None:
                self.set_errors(*self._last_errors)
            if getattr(self, "_last_particles", None) is not None:
                self.set_particles(self._last_particles)

    def set_errors(self, grid: np.ndarray, errors: list[np.ndarray | None]) -> None:
        """The error of each variant at the grid points (None: not trained yet); the colour
        scale runs from 0 to the 99th percentile of all of them, shared."""
        self._last_errors = (grid, errors)
        finite = [e[np.isfinite(e)] for e in errors if e is not None]
        top = C.robust_max(np.concatenate(finite)) if finite and any(len(f) for f in finite) else 1.0
        self.levels = (0.0, max(float(top), 1e-12))
        cmap = pg.colormap.get(ERROR_CMAP)
        for image, err in zip(self.images, errors):
            if err is None:
                image.setVisible(False)
                continue
            arranged = C.grid_image(grid, err)
            if arranged is None:
                continue
            img, rect = arranged
            image.setImage(np.nan_to_num(img, nan=0.0).astype(np.float32), levels=self.levels,
                           autoLevels=False)
            image.setLookupTable(cmap.getLookupTable(nPts=256))
            image.setRect(rect)
            image.setVisible(True)
        self.colorbar.setLevels(self.levels)

    def set_particles(self, particles: list[np.ndarray | None]) -> None:
        self._last_particles = particles
        for scatter, x in zip(self.scatters, particles):
            if x is None or len(x) == 0:
                scatter.setData([], [])
            else:
                x = C.finite_rows(C.as_points(x, 2))[:4000]
                scatter.setData(x[:, 0], x[:, 1])

    def apply_style(self, style: ViewStyle) -> None:
        self.style = style
        names, self._names = self._names, []
        self.set_variants(names, self._colours)
