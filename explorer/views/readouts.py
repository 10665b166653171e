"""Readouts beside the plots: text columns that wrap to the room they have, and the table of
particle fraction per mode against the truth."""

from __future__ import annotations

import html
import math

import numpy as np
import pyqtgraph as pg
from PySide6 import QtCore, QtGui, QtWidgets

from .common import BLOCK
from .style import FOREGROUND, SCREEN, ViewStyle


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
            plain, rich, _, wrap = self._content
            self.set_content(plain, rich, style, wrap)

    def set_wrap_px(self, px: float | None) -> None:
        """Wrap plain text at `px` pixels (None: at wrap_em font heights): a readout under
        a plot wraps at the plot's width, whatever the font."""
        if px == getattr(self, "wrap_px", None):
            return
        self.wrap_px = px
        if self._content is not None and self.plain_text:
            plain, rich, style, wrap = self._content
            self._content = None
            self.set_content(plain, rich, style, wrap)

    def set_content(self, plain: str, rich: str | None = None, style: ViewStyle = SCREEN,
                    wrap: bool | None = None) -> None:
        """`wrap`: wrap at the column's width (default: plain text wraps, rich text such as a
        table keeps its lines; True wraps rich text too, e.g. a bold line over a long status)."""
        if (plain or "", rich, style, wrap) == self._content:
            return   # unchanged: re-laying out rich text is a real part of a particle frame
        self._content = (plain or "", rich, style, wrap)
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
        wraps = rich is None if wrap is None else wrap   # plain text wraps; a table keeps its columns
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
