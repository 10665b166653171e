"""A widget drawn into an RGB array, painted once per frame (GUI thread only).

Why this module exists. An export scene is a real top-level widget (shown with
`WA_DontShowOnScreen`, so that its layouts run). A shown widget repaints its backing store
whenever its contents change, and the frame was then drawn a second time by
`QWidget.render`: every view painted twice per frame, half the drawing time thrown away.
Disabling updates (`setUpdatesEnabled(False)`) also stops `render` and gives empty frames.
`paint_on_request_only` instead swallows the widget's UpdateRequest events, which are what
make Qt repaint the backing store: layouts and events still run, and `render` paints the
one picture that is kept.

One thing the backing-store paint did on the side: some items size themselves while they
paint (a pyqtgraph axis without a fixed width widens for its tick labels, e.g. the loss
view's Fisher axis on its first frame), and the layout follows at the next event
processing. `paint_settled` therefore paints, lets Qt process what the painting asked
for, and paints again only when that moved anything (a handful of frames per animation),
so every frame shows the layout its own content asks for. (The old double paint showed a
layout one frame late at those frames.)
"""

from __future__ import annotations

import numpy as np

SETTLE_PASSES = 3   # paints at most per frame; a layout settles after one re-paint in practice


def _swallower():
    from PySide6.QtCore import QEvent, QObject

    class UpdateRequestSwallower(QObject):
        """Event filter: drops UpdateRequest (the backing-store repaint) of one widget."""

        def eventFilter(self, obj, ev):
            return ev.type() == QEvent.Type.UpdateRequest

    return UpdateRequestSwallower


def paint_on_request_only(widget) -> None:
    """Stop Qt from repainting `widget`'s backing store; `render` still draws it.

    For offscreen scenes only: a widget on screen would stop updating. The filter is a
    child of the widget, so it lives and dies with it."""
    if getattr(widget, "_export_swallower", None) is not None:
        return
    f = _swallower()(widget)
    widget.installEventFilter(f)
    widget._export_swallower = f


def layout_key(widget) -> tuple:
    """Geometry of every child widget and every layout item (QGraphicsWidget) of the
    widget's graphics scenes: equal keys mean nothing moved or resized."""
    from PySide6.QtWidgets import QGraphicsView, QGraphicsWidget, QWidget
    key = [widget.geometry().getRect()]
    key += [w.geometry().getRect() for w in widget.findChildren(QWidget)]
    for view in widget.findChildren(QGraphicsView):
        scene = view.scene()
        if scene is not None:
            key += [it.geometry().getRect() for it in scene.items()
                    if isinstance(it, QGraphicsWidget)]
    return tuple(key)


def _background_image(w: int, h: int):
    from PySide6.QtGui import QColor, QImage

    from ..views.style import BACKGROUND
    img = QImage(w, h, QImage.Format.Format_ARGB32_Premultiplied)
    img.setDevicePixelRatio(1.0)
    img.fill(QColor(*BACKGROUND))
    return img


def _render_into(widget, img) -> None:
    from PySide6.QtCore import QPoint
    from PySide6.QtGui import QPainter
    from PySide6.QtWidgets import QWidget
    painter = QPainter(img)
    try:
        widget.render(painter, QPoint(0, 0), renderFlags=QWidget.RenderFlag.DrawWindowBackground
                      | QWidget.RenderFlag.DrawChildren)
    finally:
        painter.end()


def paint_settled(widget, size: tuple[int, int] | None = None):
    """The widget drawn into a QImage (ARGB32 premultiplied, 1:1 pixels) once its layout has
    settled: processes pending events, paints, and re-paints only if painting changed the
    layout (see the module docstring)."""
    from PySide6.QtWidgets import QApplication
    QApplication.processEvents()
    w, h = size if size is not None else (widget.width(), widget.height())
    img = None
    for _ in range(SETTLE_PASSES):
        before = layout_key(widget)
        img = _background_image(w, h)
        _render_into(widget, img)
        QApplication.processEvents()
        if layout_key(widget) == before:
            break
    return img


def qimage_to_rgb(img) -> np.ndarray:
    """H x W x 3 uint8 copy of a QImage (the QImage's memory goes with it)."""
    from PySide6.QtGui import QImage
    img = img.convertToFormat(QImage.Format.Format_RGB888)
    w, h, bpl = img.width(), img.height(), img.bytesPerLine()
    buf = np.frombuffer(img.constBits(), np.uint8, count=bpl * h).reshape(h, bpl)
    return buf[:, : w * 3].reshape(h, w, 3).copy()


def grab_rgb(widget, size: tuple[int, int] | None = None) -> np.ndarray:
    """The widget drawn into an H x W x 3 uint8 array at 1:1 pixels (no screen scaling)."""
    return qimage_to_rgb(paint_settled(widget, size))
