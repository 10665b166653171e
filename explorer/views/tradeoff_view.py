"""DSM's bias and variance against sigma on one log-log plot (core/measures/dsm_tradeoff.py).

Left axis: the relative bias of DSM's optimum (the relative Fisher divergence of
grad log p_sigma against the clean score), and as points the relative Fisher divergence that
DSM reached when trained at a few sigmas (the compare variants, each in its colour). Right
axis, in a second ViewBox sharing x: the variance of the per-sample loss and of its gradient
at a fixed network, with their reference slopes dashed (d / (2 sigma^4), c / sigma^2). The
legend sits under the plot, in as many columns as fit, so it never covers a curve.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6 import QtCore, QtWidgets

from . import common as C

from . import legends as Lg
from .style import FOREGROUND, SCREEN, TRUE, ViewStyle

TITLE = "DSM: bias and variance against σ"
BIAS = TRUE                      # sky blue
LOSS_VAR = (0, 158, 115)         # bluish green
GRAD_VAR = (204, 121, 167)       # reddish purple
TRAINED = (230, 159, 0)          # orange: points trained here (not from compare)


class TradeoffView(QtWidgets.QWidget):
    def __init__(self, style: ViewStyle = SCREEN):
        super().__init__()
        self.style = style
        self.widget = C.embed_layout(self)
        x_label, y_label = "noise level σ (log)", "relative Fisher divergence vs ∇log p (log)"
        self.plot = C.make_log_plot(TITLE, x_label, y_label, style, right=True)
        self.plot.showAxis("right")
        self.widget.addItem(self.plot, 0, 0)
        # the variances: a second ViewBox on the right axis, x linked to the plot's
        self.right = pg.ViewBox()
        self.plot.scene().addItem(self.right)
        right_axis = self.plot.getAxis("right")
        right_axis.linkToView(self.right)
        right_axis.setLogMode(True)
        self.right.setXLink(self.plot.getViewBox())
        self.plot.getViewBox().sigResized.connect(self._sync_right)
        self._label_axes()

        w = style.line_width
        self.bias = pg.PlotDataItem([], [], pen=pg.mkPen(*BIAS, width=w * 1.6), symbol="o",
                                    symbolSize=5, symbolBrush=pg.mkBrush(*BIAS), symbolPen=None)
        self.plot.addItem(self.bias)
        self.loss_var = self._right_curve(LOSS_VAR, w, symbol="s")
        self.loss_theory = self._right_curve(LOSS_VAR, w * 0.8, dashed=True)
        self.grad_var = self._right_curve(GRAD_VAR, w, symbol="t")
        self.grad_ref = self._right_curve(GRAD_VAR, w * 0.8, dashed=True)
        self._points: list[pg.PlotDataItem] = []
        self.legend = Lg.make_legend(style)
        self.widget.addItem(self.legend, 1, 0)
        self.hint = pg.TextItem("computing…", color=C.HINT, anchor=(0.5, 0.5))
        self.plot.addItem(self.hint)
        self.result = None
        self.trained: list[tuple[str, tuple, float, float]] = []
        self._rebuild_legend()

    def _label_axes(self) -> None:
        C.label_axes(self.plot, "noise level σ (log)", "relative Fisher divergence vs ∇log p (log)",
                     self.style)
        self.plot.getAxis("right").setLabel("variance per sample at a fixed network (log)", **{
            "color": pg.mkColor(FOREGROUND).name(), "font-size": f"{self.style.font_pt + 1}pt"})
        C.apply_style(self.plot, self.style)     # room for the right axis' name beside its ticks

    def _right_curve(self, colour, width, symbol=None, dashed=False) -> pg.PlotDataItem:
        pen = pg.mkPen(*colour, width=width)
        if dashed:
            pen.setStyle(QtCore.Qt.DashLine)
        item = pg.PlotDataItem([], [], pen=pen, symbol=symbol, symbolSize=5,
                               symbolBrush=pg.mkBrush(*colour) if symbol else None, symbolPen=None)
        item.setLogMode(True, True)
        self.right.addItem(item)
        return item

    def _sync_right(self) -> None:
        self.right.setGeometry(self.plot.getViewBox().sceneBoundingRect())
        self.right.linkedViewChanged(self.plot.getViewBox(), self.right.XAxis)

    # ------------------------------------------------------------------ data
    def set_result(self, result) -> None:
        """A core.dsm_tradeoff.Tradeoff (or None: nothing yet)."""
        self.result = result
        if result is None:
            for item in (self.bias, self.loss_var, self.loss_theory, self.grad_var, self.grad_ref):
                item.setData([], [])
        else:
            s = np.asarray(result.sigmas, dtype=np.float64)
            n = len(result.loss_variance)
            self.bias.setData(*_positive(s, result.bias_relative))
            self.loss_var.setData(*_positive(s[:n], result.loss_variance))
            self.loss_theory.setData(*_positive(s, result.loss_variance_theory))
            self.grad_var.setData(*_positive(s[:n], result.grad_variance))
            self.grad_ref.setData(*_positive(s, result.grad_variance_reference or []))
            title = f"{TITLE} — {result.density}, d = {result.dim}"
            if result.loss_variance_slope is not None:
                title += (f"; slopes at small σ: loss {result.loss_variance_slope:.2f}, "
                          f"gradient {result.grad_variance_slope:.2f}")
            C.set_title(self.plot, title, self.style)
            self.right.enableAutoRange()
            self.plot.getViewBox().enableAutoRange()
        self.hint.setVisible(result is None)
        self._rebuild_legend()

    def set_hint(self, text: str) -> None:
        self.hint.setText(text)
        self.hint.setVisible(bool(text))

    def set_trained(self, points: list[tuple[str, tuple, float, float]]) -> None:
        """Trained points: (name, colour, sigma, relative Fisher divergence) each."""
        points = [p for p in points if p[2] > 0 and p[3] is not None and p[3] > 0 and np.isfinite(p[3])]
        if points == self.trained:
            return
        self.trained = points
        Lg.clear_legend(self.legend)   # its entries point at the old points
        for item in self._points:
            self.plot.removeItem(item)
        C.delete_items(self._points)
        self._points = []
        for name, colour, sigma, rel in points:
            item = pg.PlotDataItem([sigma], [rel], pen=None, symbol="d", symbolSize=14,
                                   symbolBrush=pg.mkBrush(*colour[:3]),
                                   symbolPen=pg.mkPen(*FOREGROUND, width=1))
            item.trained_name = name
            self.plot.addItem(item)
            self._points.append(item)
        self._rebuild_legend()

    def _rebuild_legend(self) -> None:
        Lg.clear_legend(self.legend)
        if self.result is not None:
            self.legend.addItem(self.bias, "bias: relative F of DSM's optimum ∇log p_σ (left)")
            self.legend.addItem(self.loss_var, "Var ℓ(x, z) (right)")
            self.legend.addItem(self.loss_theory, "d / (2σ⁴): slope −4")
            self.legend.addItem(self.grad_var, "E|∇θℓ − E∇θℓ|² (right)")
            self.legend.addItem(self.grad_ref, "c / σ²: slope −2")
        for item in self._points:
            self.legend.addItem(item, f"trained: {item.trained_name}")
        Lg.style_legend(self.legend, self.style)
        self._fit_legend()

    def _fit_legend(self) -> None:
        Lg.legend_under_plot(self.widget, self.legend)

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        self._fit_legend()
        self._sync_right()

    def apply_style(self, style: ViewStyle) -> None:
        self.style = style
        C.apply_style(self.plot, style)
        self._label_axes()
        self._rebuild_legend()

    def curve_names(self) -> list[str]:
        return Lg.legend_names(self.legend)


def _positive(x, y) -> tuple[np.ndarray, np.ndarray]:
    x = np.asarray(x, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    n = min(len(x), len(y))
    x, y = x[:n], y[:n]
    ok = np.isfinite(y) & (y > 0) & (x > 0)
    return x[ok], y[ok]
