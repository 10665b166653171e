"""Sample quality against cost in the compare window: one curve per sampler kind and score
(solid exact, dashed learned) through the sampled variants, x their score evaluations (NFE,
log axis), y the metric picked: the largest mode-weight error, or SW2 / TV over their noise
floor, or MMD^2 (the rows of compare's quality_vs_nfe.csv; core/compare/quality_vs_nfe.py)."""

from __future__ import annotations

import numpy as np
from PySide6 import QtWidgets

from ..core.compare.quality_vs_nfe import LABELS, curves, ratio
from . import common as C
from .compare_views import Curve, CurvesView, variant_colour

METRICS = ("weight_error", "sliced_wasserstein", "tv_grid", "mmd")


class QualityNfeView(QtWidgets.QWidget):
    def __init__(self):
        super().__init__()
        lay = QtWidgets.QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        self.metric = QtWidgets.QComboBox()
        for m in METRICS:
            self.metric.addItem(LABELS[m], m)
        self.metric.setToolTip("What is drawn against the score evaluations; SW2 and TV are "
                               "divided by their noise floor (exact samples against exact "
                               "samples: 1 is as good as can be told); MMD^2 is the unbiased "
                               "estimate, which scatters around 0 for clouds from nearly the "
                               "same law: a value below 0 is noise, read it as 0")
        self.metric.currentIndexChanged.connect(lambda _i: self.set_rows(self.rows))
        self.curves = CurvesView("Sample quality against cost", "score evaluations (NFE)",
                                 LABELS[METRICS[0]],
                                 note="Sample all; vary sampler.kind, .steps, .score")
        self.curves.plot.setLogMode(x=True, y=False)
        # errors of 0.02 must read 0.02, not "20" under a "(x0.001)" the label does not show
        self.curves.plot.getAxis("left").enableAutoSIPrefix(False)
        lay.addWidget(self.metric)
        lay.addWidget(self.curves)
        self.rows: list[dict] = []

    def set_rows(self, rows: list[dict]) -> None:
        """Rows of quality_vs_nfe.point (the lab's quality_points)."""
        self.rows = list(rows)
        m = self.metric.currentData()
        x_label, _ = self.curves.plot.axis_labels
        C.label_axes(self.curves.plot, x_label, LABELS[m], self.curves.style)
        out = []
        for i, ((kind, score), rs) in enumerate(sorted(curves(self.rows).items())):
            ys = np.array([np.nan if (v := (r["weight_error"] if m == "weight_error" else ratio(r, m)))
                           is None else v for r in rs], dtype=np.float64)
            xs = np.array([r["nfe"] for r in rs], dtype=np.float64)   # the plot's log x does the log
            out.append(Curve(f"{kind} ({score})", variant_colour(i), xs, ys, dashed=score != "true"))
        self.curves.set_curves(out)
        for c, (line, _a, _b) in zip(out, self.curves._items_of):   # a point per variant
            line.setSymbol("o")
            line.setSymbolSize(7)
            line.setSymbolBrush(c.colour)
            line.setSymbolPen(None)
