"""1-D densities: p(x) with a histogram of the particles (top), learned vs true score (bottom).

The density curve is normalised to integrate to 1 over the shown range (trapezoid rule);
the histogram is a density too: counts / (n * bin width) with n all finite particles, so
the bars integrate to the fraction of particles inside the range. Both plots share x.
The learned density p_theta (the normalised exponential of the learned score's integral, or
of -E for an energy model: core/measures/learned_density.py) is drawn dashed beside p, with the KL
between them on the grid in its legend entry (`set_learned_density`; a separate readout made
the top row tall enough to push the mode table off the view at 1280x720). For score SDEs and
flow matching the density by the model's ODE likelihood, exp(log p_theta), is drawn dotted
beside them (`set_ode_density`; its legend entry only while it is drawn).
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6 import QtCore, QtWidgets

from .style import LEARNED, LIKELIHOOD, PARTICLES, SCREEN, TRUE, ViewStyle
from . import common as C
from . import legends as Lg
from . import readouts as Rd
from .loss_view import _finite_xy

DENSITY_COLOR = (0, 158, 115)  # bluish green (Okabe-Ito), the density curve



def _density_curve(xs, p) -> tuple[np.ndarray, np.ndarray]:
    """A density's curve sorted by x, negatives clipped, scaled to integrate to 1 over the
    range (trapezoids), so that p and the learned density share one axis."""
    x, y = _finite_xy(xs, p)
    if len(x) < 2:
        return np.zeros(0), np.zeros(0)
    order = np.argsort(x, kind="stable")
    x, y = x[order], np.maximum(y[order], 0.0)
    area = float(np.sum(0.5 * (y[1:] + y[:-1]) * np.diff(x)))
    return x, (y / area if area > 0 else y)

TOP_TITLE = "Density p(x) and particles"


class Curve1DView(QtWidgets.QWidget):
    def __init__(self, parent=None, style: ViewStyle = SCREEN, bins: int = 80):
        super().__init__(parent)
        self.style = style
        self.bins = int(bins)
        self.bounds = np.array([[-1.0, 1.0]])
        self.xs = np.zeros(0)
        self.p = np.zeros(0)            # normalised density as drawn
        self.hist_counts = np.zeros(0, dtype=np.int64)
        self.hist_edges = np.zeros(0)
        self.hist_density = np.zeros(0)
        self.n_particles = 0
        self.status = ""
        self.learned_xs = np.zeros(0)
        self.learned_p = np.zeros(0)    # learned density as drawn (normalised on the range)
        self.learned_readout = ""
        self.ode_xs = np.zeros(0)
        self.ode_p = np.zeros(0)        # exp(log p_theta by the ODE) as drawn (None: not shown)
        self.ode_readout = ""

        self.graphics = C.make_layout_widget()
        lay = QtWidgets.QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addWidget(self.graphics)
        self.top = C.make_plot(TOP_TITLE, "x", "density", style=style, grid=True)
        self.quality = ""               # the cloud's sample-quality line, shown in the top title
        self.bottom = C.make_plot("Score: learned vs true", "x", "score d/dx log p",
                                  style=style, grid=True)
        self.graphics.addItem(self.top, 0, 0)
        self.graphics.addItem(self.bottom, 1, 0)
        self.bottom.setXLink(self.top)
        for plot in (self.top, self.bottom):
            plot.getViewBox().disableAutoRange()
            plot.getAxis("left").enableAutoSIPrefix(False)

        self.hist_item = pg.PlotDataItem(stepMode="center", fillLevel=0.0)
        self.density_item = pg.PlotDataItem()
        self.learned_density_item = pg.PlotDataItem()
        self.ode_density_item = pg.PlotDataItem()
        self.top.addItem(self.hist_item)
        self.top.addItem(self.density_item)
        self.top.addItem(self.learned_density_item)
        self.top.addItem(self.ode_density_item)
        self.true_item = pg.PlotDataItem()
        self.learned_item = pg.PlotDataItem()
        self.zero_line = pg.InfiniteLine(pos=0.0, angle=0, pen=pg.mkPen(120, 120, 130, width=1))
        self.bottom.addItem(self.zero_line)
        self.bottom.addItem(self.true_item)
        self.bottom.addItem(self.learned_item)

        self.top_legend = Lg.make_legend(style)
        self.top_legend.addItem(self.density_item, C.DENSITY_NAME)
        self.top_legend.addItem(self.hist_item, "particles (histogram)")
        self.bottom_legend = Lg.make_legend(style)
        self.bottom_legend.addItem(self.learned_item, C.LEARNED_NAME)
        self.bottom_legend.addItem(self.true_item, C.TRUE_NAME)

        # Legends and readouts in a column beside the plots, never over the curves.
        self.status_text = Rd.SideText()
        self.weights_text = Rd.SideText()
        self.graphics.addItem(Rd.ReadoutColumn(self.top_legend, self.status_text), 0, 1)
        weights = Rd.ReadoutColumn(self.bottom_legend, self.weights_text)
        weights.layout.setContentsMargins(8, 4, 4, 4)   # the mode table fits a 720p screen's row
        weights.layout.setVerticalSpacing(6)
        self.graphics.addItem(weights, 1, 1)
        self.hint = pg.TextItem("Press Play to train", color=C.HINT, anchor=(0.5, 0.5),
                                fill=pg.mkBrush(*C.PANEL_FILL))
        self.hint.setParentItem(self.bottom.getViewBox())
        self.bottom.getViewBox().sigResized.connect(self._place_hint)
        self.apply_style(style)
        self.set_bounds(self.bounds)

    # ------------------------------------------------------------ public API
    def set_bounds(self, bounds) -> None:
        self.bounds = C.bounds_array(bounds, d=1)
        lo, hi = self.bounds[0]
        self.top.getViewBox().setXRange(lo, hi, padding=0.01)
        if len(self.p):
            self._range_top()

    def set_density(self, xs, p) -> None:
        x, y = _density_curve(xs, p)
        self.xs, self.p = x, y
        self.density_item.setData(x, y)
        self._range_top()

    def set_particles(self, x) -> None:
        a = np.asarray(x if x is not None else [], dtype=np.float64)
        a = a[:, 0] if a.ndim == 2 and a.shape[1] >= 1 else a.ravel()
        a = a[np.isfinite(a)]
        self.n_particles = len(a)
        lo, hi = self.bounds[0]
        edges = np.linspace(lo, hi, self.bins + 1)
        counts = np.histogram(a, bins=edges)[0] if len(a) else np.zeros(self.bins, np.int64)
        width = (hi - lo) / self.bins
        self.hist_edges = edges
        self.hist_counts = counts
        self.hist_density = counts / (max(1, len(a)) * width)
        if len(a):
            self.hist_item.setData(edges, self.hist_density)
        else:
            self.hist_item.setData([], [])
        self.top_legend.items[1][1].setText(
            f"particles (n = {self.n_particles:,}), histogram", size=f"{self.style.font_pt}pt")
        self._range_top()

    def set_scores(self, xs, learned=None, true=None) -> None:
        x = np.asarray(xs if xs is not None else [], dtype=np.float64).ravel()

        def curve(v):
            if v is None:
                return np.zeros(0), np.zeros(0)
            v = np.asarray(v, dtype=np.float64).ravel()
            if len(v) != len(x):
                return np.zeros(0), np.zeros(0)
            ok = np.isfinite(x) & np.isfinite(v)
            return x[ok], v[ok]

        lx, ly = curve(learned)
        tx, ty = curve(true)
        self.learned_item.setData(lx, ly)
        self.true_item.setData(tx, ty)
        self.hint.setVisible(len(lx) == 0)
        vals = np.concatenate([ly, ty])
        if len(vals):
            lo, hi = np.percentile(vals, [1, 99])
            lo, hi = min(lo, 0.0), max(hi, 0.0)
            pad = 0.08 * (hi - lo) if hi > lo else 1.0
            self.bottom.getViewBox().setYRange(lo - pad, hi + pad, padding=0)

    def set_learned_density(self, xs, p, kl: float | None = None, grid_n: int | None = None) -> None:
        """The learned density at xs (None: not trained yet, nothing drawn), normalised to
        integrate to 1 over the range like p; `kl`, KL(p || p_theta) on the grid_n-point grid,
        goes into its legend entry."""
        x, y = _density_curve(xs, p) if p is not None else (np.zeros(0), np.zeros(0))
        self.learned_xs, self.learned_p = x, y
        self.learned_density_item.setData(x, y)
        label = "learned p\u03b8(x)"
        if kl is not None and len(x):
            label += f" (KL {kl:.2g})"   # KL(p || p_theta) on the grid: short, the column is narrow
        self.learned_readout = label
        # the entry only while its curve is drawn (an export before training listed a
        # "learned pθ(x)" that was nowhere on the slide)
        shown = any(sample.item is self.learned_density_item for sample, _ in self.top_legend.items)
        if len(x) and not shown:
            self.top_legend.addItem(self.learned_density_item, label)
        elif not len(x) and shown:
            Lg.remove_legend_entry(self.top_legend, self.learned_density_item)
        for sample, text in self.top_legend.items:
            if sample.item is self.learned_density_item:
                text.setText(label, size=f"{self.style.font_pt}pt")
        self._range_top()

    def set_ode_density(self, xs, logp=None, label: str = "") -> None:
        """exp(log p_theta) by the ODE's change of variables at xs (not renormalised: its mass
        on the range is the model's own), dotted; None clears it and its legend entry."""
        if logp is None:
            x, y = np.zeros(0), np.zeros(0)
        else:
            x, y = _finite_xy(xs, np.exp(np.asarray(logp, dtype=np.float64)))
            order = np.argsort(x, kind="stable")
            x, y = x[order], y[order]
        self.ode_xs, self.ode_p = x, y
        self.ode_density_item.setData(x, y)
        label = label or "pθ by the ODE"
        shown = any(sample.item is self.ode_density_item for sample, _ in self.top_legend.items)
        if len(x) and not shown:
            self.top_legend.addItem(self.ode_density_item, label)
        elif not len(x) and shown:
            Lg.remove_legend_entry(self.top_legend, self.ode_density_item)
        if len(x):
            self.top_legend.items[-1][1].setText(label, size=f"{self.style.font_pt}pt")
        self.ode_readout = label if len(x) else ""
        self._range_top()

    def set_status(self, text: str) -> None:
        self.status = text or ""
        self.status_text.set_content(self.status, style=self.style)

    def set_quality(self, text: str) -> None:
        """The cloud's sample quality (SW2 and TV beside their noise floor) after the top
        plot's title: the plot is wide, and the readout column beside it has no room left
        (one more line there pushed the mode table off the view at 720p in presenter mode)."""
        text = text or ""
        if text == self.quality:
            return
        self.quality = text
        # the particles' figures replace the title's words (a title is as wide as its text,
        # and a wider plot pushed the readout column off the view at 1280x720)
        C.set_title(self.top, f"Particles: {text}" if text else TOP_TITLE, self.style)

    def set_mode_weights(self, fractions, true=None, labels=None) -> None:
        table = Rd.mode_weights_table(fractions, true, labels, n=self.n_particles)
        if table is None:
            self.weights_text.set_content("")
        else:
            self.weights_text.set_content(table[0], table[1], style=self.style)

    def apply_style(self, style: ViewStyle) -> None:
        self.style = style
        lw = style.line_width
        for plot in (self.top, self.bottom):
            C.apply_style(plot, style)
        self.density_item.setPen(pg.mkPen(DENSITY_COLOR, width=lw * 1.5))
        self.learned_density_item.setPen(pg.mkPen(LEARNED, width=lw * 1.5, style=QtCore.Qt.PenStyle.DashLine))
        self.ode_density_item.setPen(pg.mkPen(LIKELIHOOD, width=lw * 2, style=QtCore.Qt.PenStyle.DotLine))
        self.hist_item.setPen(pg.mkPen((*PARTICLES, 150), width=1))
        self.hist_item.setBrush(pg.mkBrush(*PARTICLES, 60))
        self.true_item.setPen(pg.mkPen(TRUE, width=lw * 1.5))
        learned_pen = pg.mkPen(LEARNED, width=lw * 1.5)
        self.learned_item.setPen(learned_pen)
        for legend in (self.top_legend, self.bottom_legend):
            Lg.style_legend(legend, style)
        self.status_text.restyle(style)
        self.weights_text.restyle(style)
        f = self.hint.textItem.font()
        f.setPointSizeF(style.font_pt + 2)
        self.hint.setFont(f)

    # ------------------------------------------------------------ internals
    def _range_top(self) -> None:
        top = 0.0
        if len(self.p):
            top = float(self.p.max())
        if len(self.hist_density):
            top = max(top, float(self.hist_density.max()))
        for learned in (self.learned_p, self.ode_p):
            if len(learned):   # a learned spike may rise above p, but not flatten p to nothing
                top = max(top, min(float(learned.max()), 2.0 * top if top > 0 else np.inf))
        if not top > 0:
            top = 1.0
        self.top.getViewBox().setYRange(0.0, top * 1.3, padding=0)

    def _place_hint(self, *_):
        self.hint.setPos(self.bottom.getViewBox().boundingRect().center())
