"""What a window shows, measured: where each plot's data area is, the smallest text on
screen, and every widget whose content is cut. `score-explorer shoot` writes these figures
beside its still (gui/shoot.py), and the layout tests assert on them, so that "the pictures
dominate at 720p" and "no text under 16 px on the projector" are numbers, not impressions.

Only what a viewer can see counts: a widget hidden, scrolled away inside a scroll area, or
on a tab page that is not the current one is not on screen.
"""

from __future__ import annotations

import re

import pyqtgraph as pg
from PySide6.QtCore import QPoint, QRect, QRectF
from PySide6.QtGui import QFontInfo, QFontMetrics, QImage, QPainter, QTextDocument
from PySide6.QtWidgets import (QAbstractButton, QAbstractScrollArea, QAbstractSpinBox, QCheckBox,
                               QComboBox, QGroupBox, QLabel, QLineEdit, QStyle, QStyleOptionComboBox,
                               QTabBar, QWidget)

MIN_VIEW_PX = 8   # a view box thinner than this is not a picture (a collapsed splitter pane)


# ---------------------------------------------------------------- fonts
def _pt_to_px(pt: float, dpi: float) -> float:
    return pt * dpi / 72.0


def document_font_px(doc: QTextDocument, dpi: float) -> float | None:
    """The smallest font in a rich-text document (pyqtgraph's titles and labels carry their
    size in HTML, not in the item's font)."""
    smallest = None
    block = doc.begin()
    while block.isValid():
        it = block.begin()
        while not it.atEnd():
            frag = it.fragment()
            if frag.isValid() and frag.text().strip():
                f = frag.charFormat().font()
                px = f.pixelSize() if f.pixelSize() > 0 else _pt_to_px(f.pointSizeF(), dpi)
                smallest = px if smallest is None else min(smallest, px)
            it += 1
        block = block.next()
    return smallest


def _font_px(font, dpi: float) -> float:
    if font.pixelSize() > 0:
        return float(font.pixelSize())
    return _pt_to_px(font.pointSizeF(), dpi)


def _widget_text(w: QWidget) -> str:
    if isinstance(w, QLabel):
        return w.text()
    if isinstance(w, QAbstractButton):
        return w.text()
    if isinstance(w, QComboBox):
        return w.currentText()
    if isinstance(w, QLineEdit):
        return w.text() or w.placeholderText()
    if isinstance(w, QAbstractSpinBox):
        return w.text()
    if isinstance(w, QGroupBox):
        return w.title()
    if isinstance(w, QAbstractScrollArea) and not isinstance(w, pg.GraphicsView):
        bar = w.horizontalScrollBar()
        if bar.isVisible() and bar.maximum() > 0:
            return f"needs horizontal scrolling ({bar.maximum()} px cut)"
        return None
    if isinstance(w, QTabBar):
        return " ".join(w.tabText(i) for i in range(w.count()))
    return ""


def _plain(text: str) -> str:
    return re.sub(r"<[^>]+>", "", text or "").replace("&nbsp;", " ").strip()


# ---------------------------------------------------------------- visibility
def on_screen(w: QWidget, window: QWidget) -> QRect | None:
    """The part of `w` a viewer sees, in window pixels (None: nothing of it): clipped by
    every ancestor, so a widget scrolled out of a scroll area or off the window is not seen."""
    if not w.isVisible() or w.width() <= 0 or w.height() <= 0:
        return None
    rect = QRect(w.mapTo(window, QPoint(0, 0)), w.size())
    p = w.parentWidget()
    while p is not None and p is not window:
        rect = rect.intersected(QRect(p.mapTo(window, QPoint(0, 0)), p.size()))
        p = p.parentWidget()
    rect = rect.intersected(window.rect())
    return None if rect.isEmpty() else rect


def _in_scroll_area(w: QWidget, window: QWidget) -> bool:
    p = w.parentWidget()
    while p is not None and p is not window:
        if isinstance(p, QAbstractScrollArea) and not isinstance(p, pg.GraphicsView):
            return True
        p = p.parentWidget()
    return False


# ---------------------------------------------------------------- widgets cut
def widget_clipped(w: QWidget) -> str | None:
    """Why the content of one widget is cut, or None."""
    fm = QFontMetrics(w.font())
    if isinstance(w, QLabel):
        text = w.text()
        if not text.strip() or w.pixmap() is not None and not w.pixmap().isNull():
            return None
        cr = w.contentsRect()
        if "…" in text and getattr(w, "elided_from", None):
            return f"label {_plain(w.elided_from)[:40]!r} elided"
        if w.wordWrap():
            need = w.heightForWidth(w.width())
            if need > w.height() + 2:
                return f"label {_plain(text)[:40]!r} needs {need} px height, has {w.height()}"
            return None
        if w.textFormat() != 0 and ("<" in text):   # rich text: its ideal width
            doc = QTextDocument()
            doc.setDefaultFont(w.font())
            doc.setHtml(text)
            need_w, need_h = doc.idealWidth(), doc.size().height()
        else:
            lines = text.split("\n")
            need_w = max(fm.horizontalAdvance(line) for line in lines)
            need_h = fm.lineSpacing() * len(lines)
        if need_w > cr.width() + 2 - 2 * w.margin():
            return f"label {_plain(text)[:40]!r} is {need_w:.0f} px wide in {cr.width()} px"
        if need_h > cr.height() + 4:
            return f"label {_plain(text)[:40]!r} is {need_h:.0f} px tall in {cr.height()} px"
        return None
    if isinstance(w, QComboBox):
        opt = QStyleOptionComboBox()
        w.initStyleOption(opt)
        field = w.style().subControlRect(QStyle.CC_ComboBox, opt, QStyle.SC_ComboBoxEditField, w)
        need = fm.horizontalAdvance(w.currentText())
        if not w.itemIcon(w.currentIndex()).isNull():
            need += w.iconSize().width() + 4
        if need > field.width() + 2:
            return f"combo box {w.currentText()[:40]!r} is {need} px wide in {field.width()} px"
        return None
    if isinstance(w, QAbstractButton) and w.text():
        hint = w.sizeHint()
        if hint.width() > w.width() + 2 or (isinstance(w, QCheckBox) and hint.height() > w.height() + 4):
            return f"button {w.text()[:40]!r} needs {hint.width()} px, has {w.width()}"
        return None
    if isinstance(w, QLineEdit) and w.text():
        room = w.width() - 12   # the frame and text margins
        need = fm.horizontalAdvance(w.text())
        if need > room:
            return f"line edit {w.text()[:30]!r} is {need} px wide in {room} px"
        return None
    if isinstance(w, QAbstractSpinBox):
        hint = w.minimumSizeHint()
        if hint.width() > w.width() + 2:
            return f"spin box {w.text()[:20]!r} needs {hint.width()} px, has {w.width()}"
        return None
    if isinstance(w, QAbstractScrollArea) and not isinstance(w, pg.GraphicsView):
        bar = w.horizontalScrollBar()
        if bar.isVisible() and bar.maximum() > 0:
            return f"needs horizontal scrolling ({bar.maximum()} px cut)"
        return None
    if isinstance(w, QTabBar):
        for i in range(w.count()):
            if not w.isTabVisible(i):
                continue
            need = fm.horizontalAdvance(w.tabText(i))
            if need > w.tabRect(i).width() - 4 or w.tabRect(i).right() > w.width() + 1:
                return f"tab {w.tabText(i)[:40]!r} does not fit its tab"
        return None
    return None


# ---------------------------------------------------------------- pyqtgraph
def _scene_views(window: QWidget) -> list[pg.GraphicsView]:
    return [g for g in window.findChildren(pg.GraphicsView) if on_screen(g, window) is not None]


def _view_rect(view: pg.GraphicsView, item, rect: QRectF, window: QWidget) -> QRectF:
    """An item's rectangle in window pixels."""
    poly = view.mapFromScene(item.mapRectToScene(rect))
    r = poly.boundingRect()
    origin = view.viewport().mapTo(window, QPoint(0, 0))
    return QRectF(r).translated(origin.x(), origin.y())


def _axis_problems(view, axis: pg.AxisItem, visible: QRectF, window) -> list[str]:
    """Tick labels that overlap each other, or run outside the canvas they are drawn on."""
    if not axis.isVisible() or axis.style.get("showValues") is False:
        return []
    img = QImage(4, 4, QImage.Format_ARGB32)
    p = QPainter(img)
    try:
        if axis.style.get("tickFont") is not None:
            p.setFont(axis.style["tickFont"])
        specs = axis.generateDrawSpecs(p)
    finally:
        p.end()
    if not specs:
        return []
    texts = [(_view_rect(view, axis, r, window), s) for r, _f, s in specs[2]]
    out = []
    for i, (r, s) in enumerate(texts):
        if not visible.adjusted(-1, -1, 1, 1).contains(r):
            out.append(f"{axis.orientation} axis tick {s!r} cut at the canvas edge")
        for r2, s2 in texts[i + 1:]:
            inter = r.intersected(r2)
            if inter.width() > 1 and inter.height() > 1:
                out.append(f"{axis.orientation} axis ticks {s!r} and {s2!r} overlap")
    return out


def _text_items(scene) -> list:
    return [i for i in scene.items() if isinstance(i, pg.QtWidgets.QGraphicsTextItem)
            and i.isVisible() and i.toPlainText().strip()]


def graphics_fonts(view: pg.GraphicsView, dpi: float) -> list[tuple[float, str]]:
    """(px, what) for every text a canvas draws: titles, labels, legends, readouts, ticks."""
    out = []
    for t in _text_items(view.scene()):
        if t.sceneBoundingRect().width() < 1:
            continue
        px = document_font_px(t.document(), dpi)
        if px is None:
            px = _font_px(t.font(), dpi)
        out.append((px, t.toPlainText()[:30]))
    for a in view.scene().items():
        if isinstance(a, pg.AxisItem) and a.isVisible() and a.style.get("showValues", True):
            f = a.style.get("tickFont") or a.font()
            out.append((_font_px(f, dpi), f"{a.orientation} axis ticks"))
    return out


def graphics_clipped(view: pg.GraphicsView, window: QWidget, where: str) -> list[str]:
    """Texts and legends of one canvas cut at its edge, ticks overlapping, titles wider than
    their cell."""
    visible = QRectF(on_screen(view.viewport(), window) or QRect())
    out = []
    scene = view.scene()
    for item in scene.items():
        if not item.isVisible():
            continue
        if isinstance(item, pg.AxisItem):
            out += [f"{where}: {m}" for m in _axis_problems(view, item, visible, window)]
        elif isinstance(item, pg.LegendItem):
            m = item.layout.minimumSize()
            if m.width() < 2:
                continue
            r = _view_rect(view, item, QRectF(0, 0, m.width(), m.height()), window)
            if not visible.adjusted(-1, -1, 1, 1).contains(r):
                out.append(f"{where}: legend outside its canvas")
    for t in _text_items(scene):
        r = _view_rect(view, t, t.boundingRect(), window)
        if r.width() < 1:
            continue
        label = t.toPlainText()[:40]
        if not visible.adjusted(-2, -2, 2, 2).contains(r):
            out.append(f"{where}: text {label!r} cut at the canvas edge")
        parent = t.parentItem()
        if isinstance(parent, pg.LabelItem) and parent.isVisible():
            cell = parent.geometry() if hasattr(parent, "geometry") else None
            if cell is not None and cell.width() > 2 and t.boundingRect().width() > cell.width() + 2:
                out.append(f"{where}: title {label!r} wider than its place "
                           f"({t.boundingRect().width():.0f} > {cell.width():.0f} px)")
    return out


def view_rects(window: QWidget, names: dict) -> dict[str, list[int]]:
    """[x, y, w, h] in window pixels of each plot's data area (its ViewBox) on screen.
    `names` maps PlotItem -> name; unnamed plots are named after their title."""
    out: dict[str, list[int]] = {}
    for view in _scene_views(window):
        visible = QRectF(on_screen(view.viewport(), window) or QRect())
        for item in view.scene().items():
            if (not isinstance(item, pg.PlotItem) or isinstance(item, pg.ColorBarItem)
                    or not item.isVisible()):
                continue
            vb = item.getViewBox()
            r = _view_rect(view, vb, vb.rect(), window).intersected(visible)
            if r.width() < MIN_VIEW_PX or r.height() < MIN_VIEW_PX:
                continue
            name = names.get(item) or _slug(getattr(item, "title_text", "") or
                                            item.titleLabel.text or "plot")
            key, k = name, 2
            while key in out:
                key, k = f"{name}_{k}", k + 1
            out[key] = [round(r.x()), round(r.y()), round(r.width()), round(r.height())]
    return out


def _slug(text: str) -> str:
    s = re.sub(r"[^0-9a-zA-Z]+", "_", _plain(text)).strip("_").lower()
    return s[:40] or "plot"


def measure(window: QWidget, names: dict) -> dict:
    """The figures of `window` as it is now (see the module docstring)."""
    dpi = window.logicalDpiX() or 96
    fonts: list[tuple[float, str]] = []
    clipped: list[str] = []
    wrect = window.rect()
    for w in window.findChildren(QWidget):
        if not w.isVisible() or w.window() is not window:
            continue
        seen = on_screen(w, window)
        text = _plain(_widget_text(w))
        if seen is not None and text:
            fonts.append((QFontInfo(w.font()).pixelSize() or _font_px(w.font(), dpi),
                          f"{type(w).__name__} {text[:30]!r}"))
        if seen is None:
            continue
        why = widget_clipped(w) if text or isinstance(w, QAbstractScrollArea) else None
        if why is None and text and not _in_scroll_area(w, window):
            full = QRect(w.mapTo(window, QPoint(0, 0)), w.size())
            if not wrect.contains(full) and not isinstance(w, QTabBar):
                why = f"{type(w).__name__} {text[:30]!r} runs off the window"
        if why:
            clipped.append(f"{_where(w)}: {why}")
    for view in _scene_views(window):
        fonts += graphics_fonts(view, dpi)
        clipped += graphics_clipped(view, window, _where(view))
    hint = window.minimumSizeHint()
    if hint.width() > window.width() or hint.height() > window.height():
        clipped.append(f"window: needs at least {hint.width()}x{hint.height()}, "
                       f"has {window.width()}x{window.height()}")
    small = min(fonts, default=(0.0, ""))
    return {"window": [window.width(), window.height()],
            "views": view_rects(window, names),
            "min_font_px": round(small[0], 1),
            "min_font_what": small[1],
            "clipped": sorted(set(clipped))}


def _where(w: QWidget) -> str:
    """A widget's place, by the nearest named ancestor (objectName or its class)."""
    parts = []
    while w is not None and len(parts) < 3:
        parts.append(w.objectName() or type(w).__name__)
        w = w.parentWidget()
    return "/".join(reversed(parts))
