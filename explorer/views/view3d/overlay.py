"""The 2-D text drawn over a 3-D picture with QPainter: axis names and ticks, the legend,
the status and mode-weight boxes. The GL view paints it after the scene; the projected
view and the exporter use the same functions, so every picture is labelled the same way."""

from __future__ import annotations

import math

import numpy as np
from PySide6 import QtCore, QtGui

from .. import common as C
from ..style import FOREGROUND, ViewStyle
from .geometry import BOX_COLOR, ERROR_STOPS

def text_box_size(text: str, font: QtGui.QFont) -> QtCore.QSizeF:
    fm = QtGui.QFontMetricsF(font)
    lines = text.split("\n")
    return QtCore.QSizeF(max(fm.horizontalAdvance(s) for s in lines) + 16, fm.height() * len(lines) + 10)


def wrap_lines(text: str, font: QtGui.QFont, width: float) -> str:
    """`text` with each line wider than `width` pixels broken at spaces (a word wider than
    that stays whole)."""
    fm = QtGui.QFontMetricsF(font)
    out = []
    for line in text.split("\n"):
        cur = ""
        for word in line.split(" "):
            trial = f"{cur} {word}" if cur else word
            if cur and fm.horizontalAdvance(trial) > width:
                out.append(cur)
                cur = word
            else:
                cur = trial
        out.append(cur)
    return "\n".join(out)


def legend_size(rows, font: QtGui.QFont, columns: int = 1) -> QtCore.QSizeF:
    widths, n = _legend_columns(rows, font, columns)
    fm = QtGui.QFontMetricsF(font)
    return QtCore.QSizeF(sum(widths) + 8, fm.height() * 1.25 * n + 10)


def _legend_columns(rows, font: QtGui.QFont, columns: int) -> tuple[list[float], int]:
    """Widths of the legend's columns (rows filled column by column) and rows per column."""
    fm = QtGui.QFontMetricsF(font)
    sw = fm.height() * 2.0
    n = max(1, math.ceil(len(rows) / max(1, columns)))
    cols = [rows[i:i + n] for i in range(0, len(rows), n)]
    return [max(fm.horizontalAdvance(r[2]) for r in col) + sw + 22 for col in cols], n


def mode_weights_text(fractions, true=None, labels=None) -> str:
    """Particle fraction per mode (and the truth) as aligned plain text, or ""."""
    if fractions is None:
        return ""
    f = [float(v) for v in np.asarray(fractions, dtype=np.float64).ravel()]
    if not f:
        return ""
    t = None if true is None else [float(v) for v in np.asarray(true, dtype=np.float64).ravel()]
    labels = [str(v) for v in labels] if labels is not None else []
    rows = ["particle fraction per mode", "mode   particles" + ("   true" if t is not None else "")]
    for i, v in enumerate(f):
        name = labels[i] if i < len(labels) else str(i + 1)
        row = f"{name:<6}{v:>10.3f}" if np.isfinite(v) else f"{name:<6}{'-':>10}"
        if t is not None and i < len(t):
            row += f"{t[i]:>7.3f}"
        rows.append(row)
    return "\n".join(rows)


def _paint_panel(p: QtGui.QPainter, rect: QtCore.QRectF) -> None:
    p.setPen(QtGui.QPen(QtGui.QColor(90, 90, 100)))
    p.setBrush(QtGui.QColor(*C.PANEL_FILL))
    p.drawRoundedRect(rect, 4, 4)


def paint_legend(p: QtGui.QPainter, rows, x: float, y: float, font: QtGui.QFont,
                 from_top: bool = False, columns: int = 1) -> float:
    """The legend box with its bottom-left (or top-left) corner at (x, y), its rows filled
    column by column into `columns` columns; returns its height."""
    if not rows:
        return 0.0
    fm = QtGui.QFontMetricsF(font)
    lh = fm.height() * 1.25
    sw = fm.height() * 2.0
    widths, per_col = _legend_columns(rows, font, columns)
    size = legend_size(rows, font, columns)
    top = y if from_top else y - size.height()
    _paint_panel(p, QtCore.QRectF(x, top, size.width(), size.height()))
    p.setFont(font)
    for i, (kind, color, text) in enumerate(rows):
        col, k = divmod(i, per_col)
        cy = top + 5 + lh * (k + 0.5)
        sx = x + 8 + sum(widths[:col])
        if kind == "dot":
            p.setPen(QtCore.Qt.PenStyle.NoPen)
            p.setBrush(QtGui.QColor(*color))
            r = fm.height() * 0.22
            p.drawEllipse(QtCore.QPointF(sx + sw / 2, cy), r, r)
        elif kind == "line":
            p.setPen(QtGui.QPen(QtGui.QColor(*color), 2.5))
            p.drawLine(QtCore.QPointF(sx, cy), QtCore.QPointF(sx + sw, cy))
        else:
            grad = QtGui.QLinearGradient(sx, cy, sx + sw, cy)
            for t, *rgb in ERROR_STOPS:
                grad.setColorAt(float(t), QtGui.QColor(*(int(c) for c in rgb)))
            p.setPen(QtCore.Qt.PenStyle.NoPen)
            p.setBrush(QtGui.QBrush(grad))
            p.drawRect(QtCore.QRectF(sx, cy - fm.height() * 0.18, sw, fm.height() * 0.36))
        p.setPen(QtGui.QColor(*FOREGROUND))
        p.drawText(QtCore.QPointF(sx + sw + 8, cy + fm.ascent() / 2 - fm.descent() / 2), text)
    return size.height()


def paint_text_box(p: QtGui.QPainter, text: str, anchor: QtCore.QPointF, corner: str,
                   font: QtGui.QFont, color=FOREGROUND) -> float:
    """Multi-line text on a panel, with `corner` ("tl", "tr", "bl", "br") at `anchor`;
    returns its height."""
    if not text:
        return 0.0
    fm = QtGui.QFontMetricsF(font)
    lines = text.split("\n")
    w = max(fm.horizontalAdvance(s) for s in lines) + 16
    h = fm.height() * len(lines) + 10
    x = anchor.x() - (w if corner[1] == "r" else 0)
    y = anchor.y() - (h if corner[0] == "b" else 0)
    _paint_panel(p, QtCore.QRectF(x, y, w, h))
    p.setFont(font)
    p.setPen(QtGui.QColor(*color))
    for i, s in enumerate(lines):
        p.drawText(QtCore.QPointF(x + 8, y + 5 + fm.ascent() + i * fm.height()), s)
    return h


def paint_axis_labels(p: QtGui.QPainter, layout, font: QtGui.QFont, bold: QtGui.QFont) -> None:
    fm = QtGui.QFontMetricsF(font)
    fmb = QtGui.QFontMetricsF(bold)
    for kind, text, (x, y), (dx, dy) in layout:
        if kind == "tick":
            p.setPen(QtGui.QPen(QtGui.QColor(*BOX_COLOR), 1.2))
            p.drawLine(QtCore.QPointF(x, y), QtCore.QPointF(x + 5 * dx, y + 5 * dy))
            cx, cy = x + dx * fm.height() * 1.0, y + dy * fm.height() * 1.0
            w = fm.horizontalAdvance(text)
            p.setFont(font)
            p.setPen(QtGui.QColor(*FOREGROUND))
            p.drawText(QtCore.QPointF(cx - w / 2, cy + fm.ascent() / 2 - fm.descent() / 2), text)
        else:
            w = fmb.horizontalAdvance(text)
            p.setFont(bold)
            p.setPen(QtGui.QColor(*FOREGROUND))
            p.drawText(QtCore.QPointF(x - w / 2, y + fmb.ascent() / 2 - fmb.descent() / 2), text)


def fonts_for(style: ViewStyle) -> tuple[QtGui.QFont, QtGui.QFont]:
    f = QtGui.QFont()
    f.setPointSizeF(float(style.font_pt))
    b = QtGui.QFont(f)
    b.setPointSizeF(float(style.font_pt) + 3)
    b.setBold(True)
    return f, b


def particle_alpha(n: int) -> float:
    return float(np.clip(math.sqrt(2000.0 / max(n, 1)), 0.3, 1.0))
