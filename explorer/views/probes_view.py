"""The Hutchinson likelihood estimator's variance against its number of probes k, log-log
(core/measures/hutchinson.py variance_by_k), with the exact-trace NLL beside the estimate.

Why a picture: the estimator's cost grows with k and its variance falls as 1/k; the measured
variance between disjoint groups of probes lying on the predicted 1/k line, and the exact
NLL inside the estimate's error bar, are what a researcher checks before trusting
nll_hutchinson on a model whose exact trace is too dear. The same figures as run's
likelihood_probes.png (core/measures/hutchinson_plot.py), drawn live in the window.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6 import QtWidgets

from . import common as C
from . import legends as Lg
from .style import SCREEN, ViewStyle

TITLE = "Hutchinson NLL: variance against the number of probes k"
PREDICTED = (0, 114, 178)       # blue: Σ v_i / (k n² d²) from the per-point spread
OBSERVED = (213, 94, 0)         # vermillion: between disjoint groups of k probes


class ProbesView(QtWidgets.QWidget):
    def __init__(self, style: ViewStyle = SCREEN):
        super().__init__()
        self.style = style
        self.widget = C.embed_layout(self)
        self.plot = C.make_log_plot(TITLE, "probes k (log)",
                                    "Var of the NLL estimate, (nats/dim)² (log)", style)
        self.widget.addItem(self.plot, 0, 0)
        w = style.line_width
        self.predicted = pg.PlotDataItem([], [], pen=pg.mkPen(*PREDICTED, width=w * 1.6))
        self.observed = pg.PlotDataItem([], [], pen=None, symbol="o", symbolSize=11,
                                        symbolBrush=pg.mkBrush(*OBSERVED), symbolPen=None)
        self.plot.addItem(self.predicted)
        self.plot.addItem(self.observed)
        self.legend = Lg.make_legend(style)
        self.widget.addItem(self.legend, 1, 0)
        self.hint = pg.TextItem("computing…", color=C.HINT, anchor=(0.5, 0.5))
        self.plot.addItem(self.hint)
        self.metrics: dict | None = None
        self._rebuild_legend()

    def set_metrics(self, metrics: dict | None) -> None:
        """model_likelihood.nll_metrics' dict (nll, nll_hutchinson, _se, _variance_by_k, ...)."""
        self.metrics = metrics
        vk = (metrics or {}).get("nll_hutchinson_variance_by_k")
        if not vk:
            self.predicted.setData([], [])
            self.observed.setData([], [])
        else:
            self.predicted.setData(*_positive(vk["k"], vk["predicted"]))
            self.observed.setData(*_positive(vk["k"], vk["observed"]))
            self.plot.getViewBox().enableAutoRange()
            if self.predicted.xData is None or not len(self.predicted.xData):
                self.set_hint("zero variance: the probes give the exact trace here")
            else:
                self.set_hint("")
        self._rebuild_legend()

    def set_hint(self, text: str) -> None:
        self.hint.setText(text)
        self.hint.setVisible(bool(text))
        if text:
            self.hint.setPos(0.5, 0.5)     # the middle of an empty view (log coordinates)

    def _rebuild_legend(self) -> None:
        Lg.clear_legend(self.legend)
        if self.metrics is not None:
            self.legend.addItem(self.predicted, "predicted  Σᵢ vᵢ / (k n² d²), vᵢ the spread at point i")
            self.legend.addItem(self.observed, "observed between disjoint groups of k probes")
        Lg.style_legend(self.legend, self.style)
        Lg.legend_under_plot(self.widget, self.legend)

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        Lg.legend_under_plot(self.widget, self.legend)

    def apply_style(self, style: ViewStyle) -> None:
        self.style = style
        C.apply_style(self.plot, style)
        self._rebuild_legend()

    def curve_names(self) -> list[str]:
        return Lg.legend_names(self.legend)


def _positive(x, y) -> tuple[np.ndarray, np.ndarray]:
    """The points a log-log plot can draw: finite, positive (None: no estimate at that k)."""
    x = np.asarray(x, dtype=np.float64)
    y = np.asarray([np.nan if v is None else v for v in y], dtype=np.float64)
    ok = np.isfinite(y) & (y > 0) & (x > 0)
    return x[ok], y[ok]
