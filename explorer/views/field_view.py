"""Learned score vs true score on a 2-D grid: side by side, overlaid, or as an error map.

Modes (`set_mode`):
- "side":    two linked plots, "Learned score s_theta(x)" and "True score grad log p(x)",
             each over the density, with one shared arrow scale;
- "overlay": one plot, both quivers (learned orange, true sky blue), a legend;
- "error":   heat map of |s_theta - grad log p| on the grid (colour bar with numbers)
             under contours of p, so the error is seen to be large where p is small;
             `set_error_weighted(True)` shows p(x) |s_theta - grad log p| instead.
- "density": the learned density p_theta (an energy model's exp(-E), a score model's exp(phi),
             phi its least-squares potential: core/measures/learned_density.py) beside the true p, one
             colour scale for both, contours of p over the learned one, and a readout (the
             KL on the grid, the curl fraction); fed by `set_densities`, not by the arrows.
Before any field arrives the density is shown with the hint "Press Play to train".

Arrows (`set_arrow_mode`): "per_panel" (the default: side by side, each panel's lengths on its
own scale, so a weak learned field still shows its directions; overlay uses one scale),
"shared" (one scale: equal vectors, equal arrows) or "direction" (equal lengths, colour by
|s| on one shared scale, with a colour key). The grid is thinned so that arrows stay at
least `MIN_ARROW_PX` pixels apart: at presenter size a dense grid of thick arrows would
become a solid block that hides the density.
"""

from __future__ import annotations

import html
import math

import numpy as np
import pyqtgraph as pg
from PySide6.QtWidgets import QSizePolicy
from PySide6 import QtWidgets

from .style import BACKGROUND, ERROR_CMAP, FOREGROUND, LEARNED, SCREEN, TRUE, ViewStyle
from . import common as C
from . import colour as Kc
from . import legends as Lg
from . import readouts as Rd
from .quiver import QuiverItem, reference_scale

MODES = ("side", "overlay", "error", "density")
LEARNED_TITLE = "Learned score s\u03b8(x)"
TRUE_TITLE = "True score \u2207\u2093log p(x)"
ERROR_TITLE = "Score error |s\u03b8(x) \u2212 \u2207log p(x)|"
WEIGHTED_TITLE = "Density-weighted score error p(x)\u00b7|s\u03b8(x) \u2212 \u2207log p(x)|"
HINT_TEXT = "Press Play to train"
DENSITY_LEARNED_TITLE = "Learned density p\u03b8(x)"
DENSITY_TRUE_TITLE = "True density p(x)"
DENSITY_CMAP = "viridis"      # perceptually uniform, dark (low) to light (high)
ARROW_MODES = ("per_panel", "shared", "direction")
MAGNITUDE_CMAP = "cividis"    # colour-blind safe, dark to light
MAGNITUDE_BINS = 8
TRUE_UNDER = 2.5              # overlay: the true arrows this many px wider than the learned
MIN_ARROW_PX = 16             # at least this far apart (or 6 arrow widths)


class _Hint(pg.TextItem):
    """A centred grey hint in data coordinates (the middle of the bounds)."""

    def __init__(self, text: str):
        super().__init__(text=text, color=C.HINT, anchor=(0.5, 0.5),
                         fill=pg.mkBrush(*C.PANEL_FILL))
        self.setZValue(900)

    def place(self, bounds) -> None:
        b = C.bounds_array(bounds)
        self.setPos(b[0].mean(), b[1].mean())

    def set_style(self, style: ViewStyle) -> None:
        f = self.textItem.font()
        f.setPointSizeF(style.font_pt + 3)
        self.setFont(f)


def _field_plot(title: str, style: ViewStyle) -> pg.PlotItem:
    plot = C.make_plot(title, style=style)
    plot.setAspectLocked(True)
    plot.getViewBox().disableAutoRange()
    return plot


class FieldView(QtWidgets.QWidget):
    """`compact_density`: the "density" page without the contour legend (the owner's caption
    says what the contours are) and with the readout alone under the maps: in the 3-D
    window's slice panel the legend beside the readout was wider than the panel at 1280x720."""

    def __init__(self, parent=None, style: ViewStyle = SCREEN, compact_density: bool = False):
        super().__init__(parent)
        self.style = style
        self.compact_density = bool(compact_density)
        self.mode = "side"
        self.error_weighted = False
        self.bounds = C.bounds_array([[-1, 1], [-1, 1]])
        self.density = None
        self.points = np.zeros((0, 2))
        self.learned = None
        self.true = None
        self.density_at_points = None
        self.error_values = np.zeros(0)   # what the error image shows, per grid point
        self.error_image = np.zeros((0, 0))
        self.shared_scale = 1.0
        self.arrow_mode = "per_panel"
        self.thinning = 1             # every k-th grid point along each axis has an arrow
        self.caption = ""
        self.compact = False
        self.density_name = C.DENSITY_NAME

        self.stack = QtWidgets.QStackedWidget()
        self.caption_label = QtWidgets.QLabel()
        self.caption_label.setWordWrap(True)
        self.caption_label.setContentsMargins(10, 2, 10, 4)
        self.caption_label.setVisible(False)
        lay = QtWidgets.QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.setSpacing(0)
        lay.addWidget(self.stack, 1)
        lay.addWidget(self.caption_label, 0)
        self.setAutoFillBackground(True)
        pal = self.palette()
        pal.setColor(self.backgroundRole(), pg.mkColor(BACKGROUND))
        pal.setColor(self.foregroundRole(), pg.mkColor(FOREGROUND))
        self.setPalette(pal)

        self._build_side()
        self._build_overlay()
        self._build_error()
        self._build_density()
        self.pages = {"side": self.side_widget, "overlay": self.overlay_widget,
                      "error": self.error_widget, "density": self.density_widget}
        for m in MODES:
            self.stack.addWidget(self.pages[m])
        self.apply_style(style)
        self.set_bounds(self.bounds)
        self._refresh()

    # ------------------------------------------------------------ construction
    def _build_side(self) -> None:
        w = C.make_layout_widget()
        self.side_widget = w
        self.learned_plot = _field_plot(LEARNED_TITLE, self.style)
        self.true_plot = _field_plot(TRUE_TITLE, self.style)
        w.addItem(self.learned_plot, 0, 0)
        w.addItem(self.true_plot, 0, 1)
        self.true_plot.setXLink(self.learned_plot)
        self.true_plot.setYLink(self.learned_plot)
        self.side_density = [C.DensityImage(), C.DensityImage()]
        self.learned_plot.addItem(self.side_density[0])
        self.true_plot.addItem(self.side_density[1])
        self.side_learned = QuiverItem(LEARNED, self.style.arrow_width, name=C.LEARNED_NAME)
        self.side_true = QuiverItem(TRUE, self.style.arrow_width, name=C.TRUE_NAME)
        self.learned_plot.addItem(self.side_learned)
        self.true_plot.addItem(self.side_true)
        self.side_hint = _Hint(HINT_TEXT)
        self.side_true_hint = _Hint("true score not available")
        self.learned_plot.addItem(self.side_hint)
        self.true_plot.addItem(self.side_true_hint)
        self.side_legend = Lg.make_legend(self.style, columns=3)
        w.addItem(self.side_legend, 1, 0, 1, 2)
        self.arrow_key = pg.ColorBarItem(values=(0.0, 1.0), colorMap=pg.colormap.get(MAGNITUDE_CMAP),
                                         interactive=False, width=14, colorMapMenu=False,
                                         label="|s(x)|")
        C.park(w, self.arrow_key)      # in the scene from the start, shown in direction mode
        self.arrow_key_shown = False
        for plot in (self.learned_plot,):
            plot.getViewBox().sigResized.connect(self._on_resized)
        self.side_legend.addItem(Lg.swatch(Kc.density_swatch_color()), C.DENSITY_NAME)
        self.side_legend.addItem(self.side_learned, C.LEARNED_NAME)
        self.side_legend.addItem(self.side_true, C.TRUE_NAME)

    def _build_overlay(self) -> None:
        w = C.make_layout_widget()
        self.overlay_widget = w
        self.overlay_plot = _field_plot("Learned and true score", self.style)
        w.addItem(self.overlay_plot, 0, 0)
        self.overlay_density = C.DensityImage()
        self.overlay_plot.addItem(self.overlay_density)
        self.overlay_true = QuiverItem(TRUE, self.style.arrow_width, name=C.TRUE_NAME)
        self.overlay_learned = QuiverItem(LEARNED, self.style.arrow_width, name=C.LEARNED_NAME)
        self.overlay_plot.addItem(self.overlay_true)
        self.overlay_plot.addItem(self.overlay_learned)
        self.overlay_hint = _Hint(HINT_TEXT)
        self.overlay_plot.addItem(self.overlay_hint)
        self.overlay_legend = Lg.make_legend(self.style, columns=3)
        w.addItem(self.overlay_legend, 1, 0)
        self.overlay_plot.getViewBox().sigResized.connect(self._on_resized)
        self.overlay_legend.addItem(Lg.swatch(Kc.density_swatch_color()), C.DENSITY_NAME)
        self.overlay_legend.addItem(self.overlay_learned, C.LEARNED_NAME)
        self.overlay_legend.addItem(self.overlay_true, C.TRUE_NAME)

    def _build_error(self) -> None:
        w = C.make_layout_widget()
        self.error_widget = w
        self.error_plot = _field_plot(ERROR_TITLE, self.style)
        w.addItem(self.error_plot, 0, 0)
        self.error_item = pg.ImageItem(axisOrder="col-major")
        self.error_item.setZValue(-50)
        self.error_plot.addItem(self.error_item)
        self.error_contours = C.ContourItem(width=self.style.line_width * 0.8)
        self.error_plot.addItem(self.error_contours)
        self.error_hint = _Hint(HINT_TEXT)
        self.error_plot.addItem(self.error_hint)
        self.colorbar = pg.ColorBarItem(values=(0.0, 1.0), colorMap=pg.colormap.get(ERROR_CMAP),
                                        interactive=False, width=18, rounding=1e-6,
                                        colorMapMenu=False)
        # Inserted in the plot's own layout: the bar spans exactly the view box height.
        self.colorbar.setImageItem(self.error_item, insert_in=self.error_plot)
        self.error_legend = Lg.make_legend(self.style, columns=2)
        w.addItem(self.error_legend, 1, 0)
        self.error_legend.addItem(
            Lg.line_swatch(C.CONTOUR, width=1.5, alpha=170), "contours of p(x): 2, 10, 30, 60% of max")

    def _build_density(self) -> None:
        """Learned | true density, linked, one colour bar (beside the true panel) for both."""
        w = C.make_layout_widget()
        self.density_widget = w
        self.dens_learned_plot = _field_plot(DENSITY_LEARNED_TITLE, self.style)
        self.dens_true_plot = _field_plot(DENSITY_TRUE_TITLE, self.style)
        w.addItem(self.dens_learned_plot, 0, 0)
        w.addItem(self.dens_true_plot, 0, 1)
        self.dens_true_plot.setXLink(self.dens_learned_plot)
        self.dens_true_plot.setYLink(self.dens_learned_plot)
        self.dens_learned_item = pg.ImageItem(axisOrder="col-major")
        self.dens_true_item = pg.ImageItem(axisOrder="col-major")
        for plot, item in ((self.dens_learned_plot, self.dens_learned_item),
                           (self.dens_true_plot, self.dens_true_item)):
            item.setZValue(-50)
            plot.addItem(item)
        self.dens_contours = C.ContourItem(width=self.style.line_width * 0.8)
        self.dens_learned_plot.addItem(self.dens_contours)
        self.dens_hint = _Hint(HINT_TEXT)
        self.dens_learned_plot.addItem(self.dens_hint)
        self.dens_true_hint = _Hint("true density not available")
        self.dens_true_plot.addItem(self.dens_true_hint)
        compact = self.compact_density
        self.dens_colorbar = pg.ColorBarItem(values=(0.0, 1.0), colorMap=pg.colormap.get(DENSITY_CMAP),
                                             interactive=False, width=12 if compact else 18,
                                             rounding=1e-9, colorMapMenu=False)
        # in a column of its own: both panels get the same width (inserted in the true
        # panel, it made that one narrower than the learned one). In the compact page (a
        # narrow panel) without its axis label: the caption says what the colour is. (A
        # horizontal bar under the maps took their height and its ticks bunched at one end.)
        self.dens_colorbar.setImageItem([self.dens_learned_item, self.dens_true_item])
        w.addItem(self.dens_colorbar, 0, 2)
        if not compact:
            self.dens_colorbar.axis.setLabel("density")
        else:   # the true map shares the learned one's axes (linked): its own would not fit
            self.dens_true_plot.hideAxis("left")
        # the legend and the readout share one row of their own under all three columns:
        # in the panels' columns their widths made the learned panel wider than the true one
        below = w.addLayout(row=1, col=0, colspan=3)
        self.dens_legend = Lg.make_legend(self.style, columns=1)
        self.dens_legend.addItem(Lg.line_swatch(C.CONTOUR, width=1.5, alpha=170),
                                 "contours of p(x): 2, 10, 30, 60% of max")
        self.dens_readout = Rd.SideText(wrap_em=28)
        if self.compact_density:
            self.dens_legend.setVisible(False)
            below.addItem(self.dens_readout, 0, 0)
        else:
            below.addItem(self.dens_legend, 0, 0)
            below.addItem(self.dens_readout, 0, 1)
        below.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Maximum)
        for col, plot in enumerate((self.dens_learned_plot, self.dens_true_plot)):
            w.ci.layout.setColumnStretchFactor(col, 1)
            plot.setPreferredWidth(200)   # not the titles' widths: the two panels share alike
        w.ci.layout.setRowStretchFactor(0, 1)
        self.learned_density_image = None   # (n, n) as drawn (first index x), or None
        self.true_density_image = None
        self.density_readout = ""

    # ------------------------------------------------------------ public API
    def set_densities(self, learned, true, readout: str = "", learned_title: str | None = None,
                      true_title: str | None = None) -> None:
        """The "density" page: learned and true densities as (n, n) images over the view's
        bounds (first index x; either may be None), drawn on one colour scale so that equal
        colours are equal densities; `readout` (the grid KL, the curl fraction) under them."""
        def image(a):
            if a is None:
                return None
            a = np.asarray(a, dtype=np.float64)
            return a if a.ndim == 2 and min(a.shape) > 1 else None

        self.learned_density_image = image(learned)
        self.true_density_image = image(true)
        self.density_readout = readout or ""
        C.set_title(self.dens_learned_plot, learned_title or DENSITY_LEARNED_TITLE, self.style)
        C.set_title(self.dens_true_plot, true_title or DENSITY_TRUE_TITLE, self.style)
        if self.mode == "density":
            self._refresh_density()

    def set_bounds(self, bounds) -> None:
        self.bounds = C.bounds_array(bounds)
        b = self.bounds
        for plot in (self.learned_plot, self.true_plot, self.overlay_plot, self.error_plot,
                     self.dens_learned_plot, self.dens_true_plot):
            C.fit_box(plot, b)
        for hint in (self.side_hint, self.side_true_hint, self.overlay_hint, self.error_hint,
                     self.dens_hint, self.dens_true_hint):
            hint.place(b)
        if self.mode == "density":
            self._refresh_density()
        if self.density is not None:
            self.set_density(self.density)

    def set_density(self, density) -> None:
        d = None if density is None else np.asarray(density, dtype=np.float64)
        self.density = d if d is not None and d.ndim == 2 and d.size else None
        for img in (*self.side_density, self.overlay_density):
            img.set_density(self.density, self.bounds)
        self.error_contours.set_contours(self.density, self.bounds)

    def set_fields(self, points, learned=None, true=None, density_at_points=None) -> None:
        p = C.as_points(points, 2)
        g = len(p)

        def fit(a, d):
            if a is None:
                return None
            a = np.asarray(a, dtype=np.float64)
            if a.size == 0 or g == 0:
                return None
            a = a.reshape(len(a), -1)[:, :d] if a.ndim > 1 else a.reshape(-1, 1)[:, :d]
            return a if len(a) == g else None

        self.points = p
        self.learned = fit(learned, 2)
        self.true = fit(true, 2)
        dp = fit(density_at_points, 1)
        self.density_at_points = None if dp is None else dp[:, 0]
        self._refresh()

    def set_mode(self, mode: str) -> None:
        if mode not in MODES:
            raise ValueError(f"mode must be one of {MODES}, not {mode!r}")
        self.mode = mode
        self.stack.setCurrentWidget(self.pages[mode])
        self._show_caption()
        self._refresh()

    def set_arrow_mode(self, mode: str) -> None:
        if mode not in ARROW_MODES:
            raise ValueError(f"arrow mode must be one of {ARROW_MODES}, not {mode!r}")
        self.arrow_mode = mode
        colors = None
        if mode == "direction":
            colors = pg.colormap.get(MAGNITUDE_CMAP).getLookupTable(0.15, 1.0, MAGNITUDE_BINS,
                                                                      alpha=False)
        for q in (self.side_learned, self.side_true):
            q.set_magnitude_colors(colors)
        if (mode == "direction") != self.arrow_key_shown:
            self.arrow_key_shown = mode == "direction"
            if self.arrow_key_shown:
                self.side_widget.addItem(self.arrow_key, 0, 2)
                self.arrow_key.show()
            else:
                C.park(self.side_widget, self.arrow_key)
        self._refresh()

    def set_error_weighted(self, weighted: bool) -> None:
        self.error_weighted = bool(weighted)
        self._refresh()

    def set_caption(self, text: str) -> None:
        self.caption = text or ""
        self._show_caption()

    def _show_caption(self) -> None:
        text = html.escape(self.caption)
        if self.compact and self.mode == "side":   # the legend row's words, in the caption
            def key(colour, name):
                return f"<span style='color:{pg.mkColor(colour).name()}'>■ {html.escape(name)}</span>"
            text = " · ".join([key(LEARNED, C.LEARNED_NAME), key(TRUE, C.TRUE_NAME),
                               f"backdrop: {html.escape(self.density_name)}"]) + (
                "<br>" + text if text else "")
        self.caption_label.setText(text)
        self.caption_label.setVisible(bool(text))

    def set_density_name(self, name: str) -> None:
        """What the backdrop is (p(x), or p_σ at the slider's noise level): the legends
        and the caption say it."""
        self.density_name = name
        for legend in (self.side_legend, self.overlay_legend, self.error_legend):
            if legend is not self.error_legend:   # the error map's first entry: contours of p
                Lg.rename_legend_entry(legend, 0, name, self.style)
        self._show_caption()

    def apply_style(self, style: ViewStyle) -> None:
        self.style = style
        for plot in (self.learned_plot, self.true_plot, self.overlay_plot, self.error_plot,
                     self.dens_learned_plot, self.dens_true_plot):
            C.apply_style(plot, style)
        for q in (self.side_learned, self.side_true, self.overlay_learned, self.overlay_true):
            q.set_pen(width=style.arrow_width)
        self.error_contours.set_width(max(1.0, style.line_width * 0.8))
        self.dens_contours.set_width(max(1.0, style.line_width * 0.8))
        for legend in (self.side_legend, self.overlay_legend, self.error_legend, self.dens_legend):
            Lg.style_legend(legend, style)
        for hint in (self.side_hint, self.side_true_hint, self.overlay_hint, self.error_hint,
                     self.dens_hint, self.dens_true_hint):
            hint.set_style(style)
        C.apply_style_colorbar(self.colorbar, style)
        C.apply_style_colorbar(self.arrow_key, style)
        C.apply_style_colorbar(self.dens_colorbar, style)
        self.dens_readout.restyle(style)
        # The colour bar's axis label sits at the very right edge: leave it room.
        for page in (self.error_widget, self.density_widget):
            page.ci.setContentsMargins(6, 6, 6 + int(1.5 * style.font_pt), 6)
        font = self.caption_label.font()
        font.setPointSizeF(float(style.font_pt))
        self.caption_label.setFont(font)
        self.caption_label.setStyleSheet(
            f"color: {pg.mkColor(FOREGROUND).name()}; background: {pg.mkColor(BACKGROUND).name()};")

    def set_compact(self, compact: bool) -> None:
        """The window's panels: no axis names, and side by side no legend row, the titles
        in the arrows' colours instead (orange learned, sky blue true) and the backdrop
        named by the caption; at 720p the legend row and the names took a fifth of the
        panels' height. Exports and the 3-D slice keep the full form."""
        self.compact = bool(compact)
        for plot in self.all_plots():
            plot.axis_names_shown = not self.compact
        self.learned_plot.title_color = LEARNED if self.compact else FOREGROUND
        self.true_plot.title_color = TRUE if self.compact else FOREGROUND
        ci = self.side_widget.ci
        if self.compact and self.side_legend in ci.items:
            C.park(self.side_widget, self.side_legend)
        elif not self.compact and self.side_legend not in ci.items:
            self.side_widget.addItem(self.side_legend, 1, 0, 1, 2)
            self.side_legend.setVisible(True)
        self.apply_style(self.style)
        self._show_caption()

    def all_plots(self) -> list[pg.PlotItem]:
        return [self.learned_plot, self.true_plot, self.overlay_plot, self.error_plot,
                self.dens_learned_plot, self.dens_true_plot]

    # ------------------------------------------------------------ drawing
    def current_plots(self) -> list[pg.PlotItem]:
        return {"side": [self.learned_plot, self.true_plot], "overlay": [self.overlay_plot],
                "error": [self.error_plot],
                "density": [self.dens_learned_plot, self.dens_true_plot]}[self.mode]

    def _refresh(self) -> None:
        """Redraw the visible page only (switching mode redraws the new one)."""
        p, lrn, tru = self.points, self.learned, self.true
        has_any = len(p) > 0 and (lrn is not None or tru is not None)
        self.shared_scale = reference_scale(lrn, tru)
        if self.mode == "error":
            self._refresh_error()
            return
        if self.mode == "density":
            self._refresh_density()
            return
        keep, cell = self._thinned()
        p = p[keep]
        lrn = None if lrn is None else lrn[keep]
        tru = None if tru is None else tru[keep]
        w = self.style.arrow_width
        if self.mode == "side":
            per_panel = self.arrow_mode == "per_panel"
            for q, v in ((self.side_learned, lrn), (self.side_true, tru)):
                if v is None:
                    q.clear_arrows()
                else:
                    scale = reference_scale(v) if per_panel else self.shared_scale
                    q.set_data(p, v, scale=scale, width=w, cell=cell)
            self.arrow_key.setLevels((0.0, self.shared_scale))
            self.side_hint.setVisible(lrn is None)
            self.side_hint.setText(HINT_TEXT)
            self.side_true_hint.setVisible(tru is None and has_any)
        else:
            # the true arrows wider, under the learned ones: where the two agree (DDPM at
            # t = 0, a trained model) the learned arrows covered the true ones whole
            for q, v, k in ((self.overlay_learned, lrn, 0.0), (self.overlay_true, tru, TRUE_UNDER)):
                if v is None:
                    q.clear_arrows()
                else:
                    q.set_data(p, v, scale=self.shared_scale, width=w + k, cell=cell)
            self.overlay_hint.setVisible(not has_any)

    def _thinned(self) -> tuple[np.ndarray, float | None]:
        """(indices of the grid points that get an arrow, their spacing): every k-th point
        along each axis, k the smallest that puts arrows MIN_ARROW_PX pixels apart."""
        p = self.points
        n = int(round(math.sqrt(len(p))))
        cell = C.grid_cell(p) if len(p) else None
        self.thinning = 1
        if n < 2 or n * n != len(p) or cell is None:
            return np.arange(len(p)), cell
        vb = self.current_plots()[0].getViewBox()
        if not self.isVisible() or vb.width() < 20:   # not laid out yet: a resize follows
            return np.arange(len(p)), cell
        cell_px = cell / vb.viewPixelSize()[0]
        min_px = max(MIN_ARROW_PX, 6 * self.style.arrow_width)
        k = max(1, math.ceil(min_px / cell_px)) if cell_px > 0 else 1
        self.thinning = k
        idx = np.arange(((n - 1) % k) // 2, n, k)   # centred in the box
        keep = (idx[:, None] * n + idx[None, :]).ravel()
        return keep, cell * k

    def _on_resized(self, *_) -> None:
        self._fit_legends()
        if self.mode != "error" and len(self.points):
            self._refresh()

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        self._fit_legends()

    def _fit_legends(self) -> None:
        width = self.stack.currentWidget().width() if self.stack.currentWidget() else self.width()
        for legend in (self.side_legend, self.overlay_legend, self.error_legend, self.dens_legend):
            Lg.fit_legend_columns(legend, min(width, self.width()))

    def _refresh_error(self) -> None:
        weighted = self.error_weighted
        C.set_title(self.error_plot, WEIGHTED_TITLE if weighted else ERROR_TITLE, self.style)
        self.colorbar.axis.setLabel(
            "p(x)\u00b7|s\u03b8 \u2212 \u2207log p|" if weighted else "|s\u03b8 \u2212 \u2207log p|",
            **{"color": pg.mkColor(FOREGROUND).name(), "font-size": f"{self.style.font_pt + 1}pt"})
        if self.learned is None or self.true is None or len(self.points) == 0:
            self.error_values = np.zeros(0)
            self.error_image = np.zeros((0, 0))
            self.error_item.clear()
            self.error_hint.setText(HINT_TEXT if self.learned is None else
                                    "error needs the true score")
            self.error_hint.setVisible(True)
            return
        err = np.linalg.norm(self.learned - self.true, axis=1)
        if weighted:
            w = self.density_at_points
            if w is None:
                w = self._density_at(self.points)
            err = err * w if w is not None else err
        self.error_values = err
        arranged = C.grid_image(self.points, err)
        if arranged is None:
            self.error_item.clear()
            self.error_hint.setVisible(True)
            return
        img, rect = arranged
        self.error_image = img
        top = C.robust_max(img, 99.5)
        shown = np.where(np.isfinite(img), img, 0.0).astype(np.float32)
        self.error_item.setImage(shown, autoLevels=False)
        self.error_item.setRect(rect)
        self.colorbar.setLevels((0.0, top))
        self.error_hint.setVisible(False)

    def _refresh_density(self) -> None:
        """Both images on one linear scale, 0 to the larger maximum (a learned density that
        piles its mass into a spike shows as such, and the true one looks faint beside it)."""
        b = self.bounds
        tops = []
        for item, img in ((self.dens_learned_item, self.learned_density_image),
                          (self.dens_true_item, self.true_density_image)):
            if img is None:
                item.clear()
                item.setVisible(False)
                continue
            shown = np.where(np.isfinite(img) & (img > 0), img, 0.0)
            tops.append(float(shown.max()))
            item.setImage(shown.astype(np.float32), autoLevels=False)
            item.setRect(C.image_rect(b))
            item.setVisible(True)
        top = max(tops) if tops and max(tops) > 0 else 1.0
        for item in (self.dens_learned_item, self.dens_true_item):
            item.setLevels((0.0, top))
        self.dens_colorbar.setLevels((0.0, top))
        self.dens_contours.set_contours(self.true_density_image, b)
        self.dens_hint.setVisible(self.learned_density_image is None)
        self.dens_true_hint.setVisible(self.true_density_image is None
                                       and self.learned_density_image is not None)
        self.dens_readout.set_content(self.density_readout, style=self.style)

    def _density_at(self, pts) -> np.ndarray | None:
        """p at points by nearest grid cell of the density image (when not given)."""
        if self.density is None:
            return None
        d = self.density
        b = self.bounds
        nx, ny = d.shape
        ix = np.clip(((pts[:, 0] - b[0, 0]) / (b[0, 1] - b[0, 0]) * nx).astype(int), 0, nx - 1)
        iy = np.clip(((pts[:, 1] - b[1, 0]) / (b[1, 1] - b[1, 0]) * ny).astype(int), 0, ny - 1)
        return np.where(np.isfinite(d[ix, iy]), d[ix, iy], 0.0)
