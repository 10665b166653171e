"""Training loss and Fisher divergence against the training step, each on an axis of its own.

- left axis, the loss: raw (thin translucent line) and smoothed (exponential moving
  average, debiased, weight `smoothing` per recorded point, default 0.98, about a 50-point
  window). Logarithmic when every loss is positive (ESM, DSM, NCSN, DDPM: the curve falls by
  orders of magnitude and a linear axis flattens it to a line), linear otherwise (ISM, SSM,
  SSM-VR go negative);
- right axis, logarithmic, in green: the Fisher divergence F = 1/2 E|s_theta - grad log p|^2
  where given, with markers; and with `ism_constant` C = 1/2 E_p|grad log p|^2 given, the
  smoothed loss + C, labelled "aligns with Fisher": ISM (and SSM, SSM-VR, equal to ISM in
  expectation) differs from F only by this constant, so on this axis the two curves coincide.
  Sharing one axis with the loss, a Fisher divergence of thousands (DDPM at small t) flattened
  the loss to a line.

Ranges. The x axis spans the run. The loss axis spans the whole curve but not single spikes:
from the lowest to the highest median of blocks of 1% of the points (and the 1st-99th
percentiles of the raw loss after its first 3 points), padded by 8%. Zooming by hand stops the
automatic loss range; the "A" button at the bottom left brings it back. The Fisher axis ranges
itself over its curves. Long runs arrive decimated (core/training/history.py) and pyqtgraph downsamples
further for display (peak mode, clip to view).
"""

from __future__ import annotations

import math

import numpy as np
import pyqtgraph as pg
from PySide6 import QtCore, QtGui, QtWidgets

from ..core.objectives import short_label
from ..core.plugins.registry import objectives
from .style import FISHER, LOSS, SCREEN, ViewStyle
from . import common as C
from . import legends as Lg

FISHER_NAME = "Fisher divergence F"
FISHER_LEGEND = "Fisher F"


def objective_is_positive(objective: str | None) -> bool:
    """A squared-error loss (ESM, DSM, NCSN, DDPM: the class says) is never negative."""
    cls = objectives().get(str(objective or ""))
    return bool(cls is not None and cls.positive_loss)


def objective_name(objective: str | None) -> str:
    return short_label(objective) if objective else ""


def ema_raw(x, weight: float, prev: float = 0.0) -> np.ndarray:
    """m_t = w m_{t-1} + (1 - w) x_t from m_-1 = prev, vectorised in blocks
    (within a block: m_j = w^(j+1) prev + (1-w) w^j cumsum(w^-i x_i))."""
    x = np.asarray(x, dtype=np.float64).ravel()
    n = len(x)
    if n == 0 or not (0.0 < weight < 1.0):
        return x.copy()
    block = max(1, min(n, int(20.0 / -math.log(weight))))
    k = np.arange(block, dtype=np.float64)
    pw = weight ** k
    inv = 1.0 / pw
    pw1 = pw * weight
    out = np.empty(n)
    for s in range(0, n, block):
        xb = x[s:s + block]
        m = len(xb)
        cur = np.cumsum(xb * inv[:m])
        cur *= (1.0 - weight) * pw[:m]
        cur += pw1[:m] * prev
        out[s:s + m] = cur
        prev = cur[-1]
    return out


def debias(m: np.ndarray, weight: float) -> np.ndarray:
    if not (0.0 < weight < 1.0) or len(m) == 0:
        return m.copy()
    t = np.arange(1, len(m) + 1, dtype=np.float64)
    with np.errstate(under="ignore"):
        return m / -np.expm1(t * math.log(weight))


def ema(x, weight: float = 0.98) -> np.ndarray:
    """Debiased exponential moving average (TensorBoard-style smoothing):
    m_t = w m_{t-1} + (1 - w) x_t, m_-1 = 0, out_t = m_t / (1 - w^(t+1)).
    The weights of each output sum to one, so ema(x + c) = ema(x) + c."""
    return debias(ema_raw(x, weight, 0.0), weight)


def _finite_xy(x, y):
    x = np.asarray(x if x is not None else [], dtype=np.float64).ravel()
    y = np.asarray(y if y is not None else [], dtype=np.float64).ravel()
    n = min(len(x), len(y))
    x, y = x[:n], y[:n]
    ok = np.isfinite(x) & np.isfinite(y)
    return x[ok], y[ok]


class LossView(QtWidgets.QWidget):
    def __init__(self, parent=None, style: ViewStyle = SCREEN, smoothing: float = 0.98):
        super().__init__(parent)
        self.style = style
        self.smoothing = float(smoothing)
        self.objective = ""
        self.fisher_at = ""
        self.ism_constant = None
        self.auto_y = True
        self.y_range = (0.0, 1.0)
        self.data: dict[str, tuple[np.ndarray, np.ndarray]] = {}

        self.graphics = C.make_layout_widget()
        lay = QtWidgets.QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addWidget(self.graphics)
        self.plot = C.make_plot("Training loss", "training step", "loss",
                                style=style, grid=True)
        self.graphics.addItem(self.plot, 0, 0)
        self.plot.showButtons()   # the "A" (auto range) button, on hover
        self.plot.getAxis("left").enableAutoSIPrefix(False)
        self.plot.getAxis("bottom").enableAutoSIPrefix(False)
        vb = self.plot.getViewBox()
        vb.enableAutoRange(x=True, y=False)
        vb.setMouseEnabled(x=True, y=True)
        self.loss_log = False

        self.raw_item = pg.PlotDataItem()
        self.ema_item = pg.PlotDataItem()
        # PlotItem.addItem imposes the plot's own downsampling settings on its items.
        self.plot.setDownsampling(auto=True, mode="peak")
        self.plot.setClipToView(True)
        for item in (self.raw_item, self.ema_item):
            self.plot.addItem(item)
            item.opts["autoDownsampleFactor"] = 1.5   # samples per pixel (default 5)

        # the Fisher divergence on a logarithmic axis of its own, on the right
        self.fisher_vb = pg.ViewBox()
        # labels at 1, 2, 5 x 10^k only: across less than two decades pyqtgraph labelled
        # every minor tick and they ran into each other
        self.plot.setAxisItems({"right": C.SparseLogAxis("right")})
        self.plot.showAxis("right")
        right = self.plot.getAxis("right")
        right.linkToView(self.fisher_vb)
        right.setLogMode(True)
        right.enableAutoSIPrefix(False)
        self.plot.scene().addItem(self.fisher_vb)
        self.fisher_vb.setXLink(self.plot)
        self.fisher_item = pg.PlotDataItem()
        self.shifted_item = pg.PlotDataItem()
        for item in (self.shifted_item, self.fisher_item):
            item.setLogMode(False, True)
            self.fisher_vb.addItem(item)
        vb.sigResized.connect(self._sync_fisher_box)
        self._sync_fisher_box()
        self.setToolTip("Fisher divergence F = \u00bd E\u209a|s\u03b8(x) \u2212 \u2207log p(x)|\u00b2 "
                        "(right axis, log scale), estimated on 10,000 samples of p; "
                        "the training loss on the left axis")
        # below the plot, as in the other views: inside it, it covered the Fisher curve
        # where it flattens, at the top right, just where a lecturer points
        self.legend = Lg.make_legend(style, columns=2)
        self.graphics.addItem(self.legend, 1, 0)
        self._legend_key = None
        self.hint = pg.TextItem("no training yet", color=C.HINT, anchor=(0.5, 0.5))
        self.hint.setParentItem(vb)
        vb.sigResized.connect(self._place_hint)
        vb.sigRangeChangedManually.connect(self._user_zoomed)
        self.plot.autoBtn.clicked.connect(self._auto_clicked)
        self.apply_style(style)
        self.set_curves([], [], [], [], None, "")

    # ------------------------------------------------------------ public API
    def set_curves(self, steps, loss, fisher_steps=None, fisher=None,
                   ism_constant: float | None = None, objective: str = "",
                   fisher_at: str = "") -> None:
        """`fisher_at` says where a noise-conditional model's F is measured ("t = 27")."""
        self.objective = objective or ""
        self.fisher_at = fisher_at
        name = objective_name(objective) or "training"
        C.set_title(self.plot, f"Training loss ({name})" if objective else "Training loss",
                    self.style)
        self._hide_title_if_compact()
        s, y = _finite_xy(steps, loss)
        order = np.argsort(s, kind="stable") if len(s) and np.any(np.diff(s) < 0) else None
        if order is not None:
            s, y = s[order], y[order]
        sm = self._smoothed(s, y)
        fs, fy = _finite_xy(fisher_steps, fisher)
        c = None
        if ism_constant is not None and np.isfinite(ism_constant):
            c = float(ism_constant)
        self.ism_constant = c
        self.data = {"loss": (s, y), "smoothed": (s, sm), "fisher": (fs, fy)}
        self._set_loss_log(objective_is_positive(objective) and len(y) > 0 and bool(np.all(y > 0)))
        self.raw_item.setData(s, y)
        self.ema_item.setData(s, sm)
        self.fisher_item.setData(fs, fy)
        if len(fs) > 300:
            self.fisher_item.setSymbol(None)
        if c is not None:
            self.data["shifted"] = (s, sm + c)
            self.shifted_item.setData(s, sm + c)
        else:
            self.shifted_item.setData([], [])
        self.shifted_item.setVisible(c is not None)
        self.fisher_item.setVisible(len(fs) > 0)
        self.plot.getAxis("right").setVisible(len(fs) > 0 or c is not None)
        self._update_legend(name, has_fisher=len(fs) > 0, has_shift=c is not None,
                            has_loss=len(s) > 0)
        self.hint.setVisible(len(s) == 0 and len(fs) == 0)
        if self.auto_y:
            self._apply_y_range()

    def _set_loss_log(self, on: bool) -> None:
        if on == self.loss_log:
            return
        self.loss_log = on
        self.plot.setLogMode(False, on)
        C.label_axes(self.plot, "training step", "loss (log)" if on else "loss", self.style)
        self._label_fisher_axis()

    def _label_fisher_axis(self) -> None:
        self.plot.getAxis("right").setLabel(
            "Fisher F (log)",
            **{"color": pg.mkColor(FISHER).name(), "font-size": f"{self.style.font_pt + 1}pt"})

    def _sync_fisher_box(self, *_) -> None:
        vb = self.plot.getViewBox()
        self.fisher_vb.setGeometry(vb.sceneBoundingRect())
        self.fisher_vb.linkedViewChanged(vb, self.fisher_vb.XAxis)

    def set_smoothing(self, weight: float) -> None:
        self.smoothing = float(weight)
        self._ema_cache = None

    def _smoothed(self, s: np.ndarray, y: np.ndarray) -> np.ndarray:
        """EMA of y; when the new series extends the previous one (the usual live case)
        only the new tail is computed."""
        cache = getattr(self, "_ema_cache", None)
        n = len(y)
        if cache is not None:
            cs, cy, cm, w = cache
            k = len(cy)
            if (w == self.smoothing and 0 < k <= n and s[k - 1] == cs[-1] and y[k - 1] == cy[-1]
                    and y[0] == cy[0] and s[0] == cs[0]):
                tail = ema_raw(y[k:], w, cm[-1])
                m = np.concatenate([cm, tail])
                self._ema_cache = (s, y, m, w)
                return debias(m, w)
        m = ema_raw(y, self.smoothing, 0.0)
        self._ema_cache = (s, y, m, self.smoothing)
        return debias(m, self.smoothing)

    def apply_style(self, style: ViewStyle) -> None:
        self.style = style
        C.apply_style(self.plot, style)
        lw = style.line_width
        self.raw_item.setPen(pg.mkPen((*LOSS, 70), width=max(1.0, lw * 0.6)))
        self.ema_item.setPen(pg.mkPen(LOSS, width=lw * 1.4))
        self.fisher_item.setPen(pg.mkPen(FISHER, width=lw * 1.4))
        self.fisher_item.setSymbol("o")
        self.fisher_item.setSymbolSize(3 + 2 * style.point_size)
        self.fisher_item.setSymbolBrush(pg.mkBrush(FISHER))
        self.fisher_item.setSymbolPen(None)
        shift_pen = pg.mkPen(C.ISM_SHIFTED, width=lw * 1.4)
        shift_pen.setStyle(QtCore.Qt.PenStyle.DashLine)
        self.shifted_item.setPen(shift_pen)
        C.label_axes(self.plot, "training step", "loss (log)" if self.loss_log else "loss", style)
        self._hide_title_if_compact()
        self._label_fisher_axis()
        Lg.style_legend(self.legend, style)
        self._fit_legend()
        f = self.hint.textItem.font()
        f.setPointSizeF(style.font_pt + 2)
        self.hint.setFont(f)

    def set_compact(self, compact: bool) -> None:
        """No title row (the window's tab says "Loss (NCSN)"): at 720p the row took a
        sixth of the plot's height."""
        self.compact = bool(compact)
        C.set_title(self.plot, getattr(self.plot, "title_text", "Training loss"), self.style)
        self._hide_title_if_compact()

    def _hide_title_if_compact(self) -> None:
        if getattr(self, "compact", False):
            self.plot.setTitle(None)
            self.plot.getAxis("bottom").showLabel(False)   # "training step": the ticks say it
            fm = QtGui.QFontMetrics(self.plot.getAxis("bottom").style["tickFont"] or QtGui.QFont())
            self.plot.getAxis("bottom").setHeight(fm.height() + 16)

    # ------------------------------------------------------------ internals
    def legend_labels(self) -> list[str]:
        return Lg.legend_names(self.legend)

    def _update_legend(self, name, has_fisher, has_shift, has_loss) -> None:
        key = (name, has_fisher, has_shift, has_loss, self.fisher_at)
        if key == self._legend_key:
            return
        self._legend_key = key
        Lg.clear_legend(self.legend)
        # Filled row by row: in two columns the loss curves stand on the left and the two
        # that should meet (the shifted loss, Fisher) on the right, which also keeps the
        # two long labels in one column so that two columns fit a narrow view.
        entries = []
        if has_loss:
            entries.append((self.raw_item, "loss (raw)"))
        if has_shift:
            entries.append((self.shifted_item,
                            "loss + \u00bd E|\u2207log p|\u00b2 (aligns with Fisher)"))
        if has_loss:
            entries.append((self.ema_item, "loss (smoothed)"))
        if has_fisher:   # short: with the two loss labels it fits two columns at 720p
            entries.append((self.fisher_item, FISHER_LEGEND + (f" (at {self.fisher_at})"
                                                               if self.fisher_at else "")))
        for item, label in entries:
            self.legend.addItem(item, label)
        Lg.style_legend(self.legend, self.style)
        self.legend.setVisible(bool(self.legend.items))
        self._fit_legend()

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        self._fit_legend()

    def _fit_legend(self) -> None:
        """Under the plot in as many columns as fit; in a wide, short view (a 3-D layout, or
        presenter fonts) beside it, where a row of legend would leave the plot no height."""
        w, h = self.graphics.width(), self.graphics.height()
        self.legend.setColumnCount(1)
        self.legend.updateSize()
        lw, lh = Lg.legend_size(self.legend)
        beside = w > 2.5 * h and h < 320 and lw < 0.45 * w and lh < h - 12
        if beside != getattr(self, "_legend_beside", False):
            self._legend_beside = beside
            self.graphics.ci.removeItem(self.legend)
            self.graphics.addItem(self.legend, *((0, 1) if beside else (1, 0)))
        if beside:
            self.legend.setColumnCount(1)
            self.legend.updateSize()
            # its own height, not the cell's: stretched to the plot's height, the rows drew
            # each label far above its line
            self.legend.setMaximumHeight(lh)
            self.graphics.ci.layout.setAlignment(self.legend, QtCore.Qt.AlignTop)
        else:
            self.legend.setMaximumHeight(16777215)
            Lg.fit_legend_columns(self.legend, w)

    def robust_y_range(self) -> tuple[float, float]:
        """The loss axis's range (in log10 units on a log axis): the whole curve, not single
        spikes. Block medians follow the early descent, which percentiles of the whole run
        cut off; the first 3 points (often thousands of times the rest) are left out."""
        s, y = self.data.get("loss", (np.zeros(0), np.zeros(0)))
        if self.loss_log:
            y = np.log10(y[y > 0])
        if len(y) == 0:
            return (0.0, 1.0)
        tail = y[3:] if len(y) > 10 else (y[1:] if len(y) > 3 else y)
        if len(tail) > 20000:
            tail = tail[:: len(tail) // 20000 + 1]
        lo, hi = np.percentile(tail, [1, 99])
        block = max(1, len(tail) // 100)
        k = len(tail) // block
        if k:
            med = np.median(tail[: k * block].reshape(k, block), axis=1)
            lo, hi = min(lo, float(med.min())), max(hi, float(med.max()))
        lo, hi = float(lo), float(hi)
        if not hi > lo:
            pad = max(abs(lo) * 0.1, 1e-3)
            return lo - pad, hi + pad
        pad = 0.08 * (hi - lo)
        return lo - pad, hi + pad

    def fisher_y_range(self) -> tuple[float, float]:
        """The Fisher axis's range in log10 units: the Fisher values, half a decade of margin.
        The shifted loss (a noisy estimate of the same F) may dip out of it where it is close
        to zero; without Fisher values it ranges over the shifted curve's upper 95%."""
        fy = self.data.get("fisher", (None, np.zeros(0)))[1]
        v = np.log10(fy[fy > 0]) if len(fy) else np.zeros(0)
        if len(v) == 0 and "shifted" in self.data:
            sh = self.data["shifted"][1]
            sh = np.log10(sh[sh > 0])
            v = np.percentile(sh, [5, 100]) if len(sh) else v
        if len(v) == 0:
            return (-1.0, 1.0)
        return float(v.min()) - 0.5, float(v.max()) + 0.5

    def _apply_y_range(self) -> None:
        self.y_range = self.robust_y_range()
        vb = self.plot.getViewBox()
        vb.enableAutoRange(x=True, y=False)
        vb.setYRange(*self.y_range, padding=0)
        self.fisher_vb.setYRange(*self.fisher_y_range(), padding=0)

    def _user_zoomed(self, *_):
        self.auto_y = False

    def _auto_clicked(self, *_):
        self.auto_y = True
        self._apply_y_range()

    def set_hint(self, text: str) -> None:
        """What the empty plot says ("no training yet"; a preset with the exact score, which
        trains nothing, says so rather than promising curves)."""
        if text != self.hint.textItem.toPlainText():
            self.hint.setText(text)
            self._place_hint()

    def _place_hint(self, *_):
        r = self.plot.getViewBox().boundingRect()
        self.hint.setPos(r.center())
