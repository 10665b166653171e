"""The relative Fisher divergence of a noise-conditional model at each of its noise levels.

One curve, relative F against the noise std of the level (sigma for NCSN, sqrt(1 - alpha_bar_t)
for DDPM), both axes logarithmic, with a marker at every level measured and a vertical line
at the level the noise slider shows. Where the curve rises the model is wrong at that noise:
typically at the finest levels, where the perturbed density has the least mass between modes.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6 import QtWidgets

from . import common as C
from .style import FISHER, FOREGROUND, SCREEN, ViewStyle

TITLE = "Error per noise level"


class NoiseErrorView(QtWidgets.QWidget):
    def __init__(self, style: ViewStyle = SCREEN):
        super().__init__()
        self.style = style
        self.widget = C.embed_layout(self)
        self.plot = C.make_log_plot(TITLE, "noise std σ (log)", "relative F (log)", style)
        self.widget.addItem(self.plot, 0, 0)
        self.curve = pg.PlotDataItem(pen=pg.mkPen(*FISHER, width=style.line_width * 1.3),
                                     symbol="o", symbolSize=6, symbolBrush=pg.mkBrush(*FISHER),
                                     symbolPen=None)
        self.plot.addItem(self.curve)
        self.marker = pg.InfiniteLine(angle=90, pen=pg.mkPen(*FOREGROUND, width=1, style=pg.QtCore.Qt.DashLine))
        self.marker.setVisible(False)
        self.plot.addItem(self.marker)
        self.hint = pg.TextItem("measured every few seconds while training", color=C.HINT,
                                anchor=(0.5, 0.5))
        self.plot.addItem(self.hint)
        self.noise = np.zeros(0)
        self.relative = np.zeros(0)

    def set_errors(self, noise_std, relative, what: str = "") -> None:
        """Relative F at levels of noise std `noise_std` (any order); `what` names the ladder
        in the title ("NCSN σ levels", "DDPM steps")."""
        x = np.asarray(noise_std, dtype=np.float64)
        y = np.asarray(relative, dtype=np.float64)
        ok = np.isfinite(x) & np.isfinite(y) & (x > 0) & (y > 0)
        order = np.argsort(x[ok])
        self.noise, self.relative = x[ok][order], y[ok][order]
        self.curve.setData(self.noise, self.relative)
        self.hint.setVisible(len(self.noise) == 0)
        C.set_title(self.plot, f"{TITLE} ({what})" if what else TITLE, self.style)

    def clear(self) -> None:
        self.set_errors([], [])

    def set_level(self, noise_std: float | None) -> None:
        """The noise slider's level (None: the finest, unmarked)."""
        if noise_std is None or not noise_std > 0:
            self.marker.setVisible(False)
            return
        self.marker.setPos(np.log10(noise_std))
        self.marker.setVisible(True)

    def apply_style(self, style: ViewStyle) -> None:
        self.style = style
        C.apply_style(self.plot, style)
        self.curve.setPen(pg.mkPen(*FISHER, width=style.line_width * 1.3))
