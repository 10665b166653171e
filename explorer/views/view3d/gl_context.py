"""OpenGL plumbing of the 3-D view: one shader-program cache per GL context, the
QOpenGLWidget subclass made on first use (so that machines without OpenGL import this
package), and compositing GL widgets into grabs and renders of their parents."""

from __future__ import annotations

import time

from PySide6 import QtCore, QtGui, QtWidgets


class _ProgramCache:
    """pyqtgraph.opengl keeps compiled shader programs in class attributes, valid in one
    OpenGL share group only: a second GL view in another top-level window (an export, a
    test, a rebuilt window) would draw with the first one's program ids ("invalid value"
    from glUseProgram, nothing drawn). Before each paint the ids of the current context's
    share group are swapped in; a destroyed context's ids are dropped."""

    def __init__(self):
        self.current = None
        self.saved: dict = {}

    @staticmethod
    def _holders():
        import pyqtgraph.opengl as gl
        from pyqtgraph.opengl import shaders
        out = [(cls, "_shaderProgram") for cls in (gl.GLScatterPlotItem, gl.GLLinePlotItem,
                                                     gl.GLImageItem)]
        for prog in getattr(shaders, "Shaders", []):
            out.append((prog, "prog"))
            for sh in getattr(prog, "shaders", []):
                out.append((sh, "compiled"))
        return out

    @staticmethod
    def _key(ctx) -> int:
        from shiboken6 import getCppPointer
        return int(getCppPointer(ctx.shareGroup())[0])

    def activate(self, ctx) -> None:
        if ctx is None:
            return
        key = self._key(ctx)
        if key == self.current:
            return
        holders = self._holders()
        if self.current is not None:
            self.saved[self.current] = [getattr(o, a, None) for o, a in holders]
        values = self.saved.get(key)
        for i, (o, a) in enumerate(holders):
            setattr(o, a, values[i] if values is not None and i < len(values) else None)
        self.current = key
        ctx.aboutToBeDestroyed.connect(lambda k=key: self.forget(k))

    def forget(self, key: int) -> None:
        self.saved.pop(key, None)
        if self.current == key:
            for o, a in self._holders():
                setattr(o, a, None)
            self.current = None


PROGRAMS = _ProgramCache()


def gl_classes():
    """pyqtgraph.opengl imported on first use (it needs PyOpenGL, and the fallback does not)."""
    import pyqtgraph.opengl as gl
    from pyqtgraph.opengl.GLViewWidget import GLViewMixin
    from PySide6 import QtOpenGL

    class _GLWindow(GLViewMixin, QtOpenGL.QOpenGLWindow):
        """pyqtgraph's GL view as a QOpenGLWindow (drawn straight into its native window:
        no per-frame composition of the whole top-level, ~2x the frame rate of a
        QOpenGLWidget under Mesa), with right-drag pan, double-click reset, and the text
        overlay painted with QPainter after the scene."""

        def __init__(self, owner, share, parent):
            super().__init__(share, QtOpenGL.QOpenGLWindow.UpdateBehavior.NoPartialUpdate, parent)
            self.owner = owner
            self.paint_count = 0
            self.last_paint_s = 0.0

        def devicePixelRatioF(self):          # GLViewMixin asks the QWidget spelling
            return self.devicePixelRatio()

        def initializeGL(self):
            PROGRAMS.activate(self.context())
            super().initializeGL()

        def paint(self, *, region, viewport, useItemNames=False):
            PROGRAMS.activate(QtGui.QOpenGLContext.currentContext())
            super().paint(region=region, viewport=viewport, useItemNames=useItemNames)

        def paintGL(self):
            t = time.perf_counter()
            w, h = self.width(), self.height()
            self.paint(region=(0, 0, w, h), viewport=(0, 0, w, h))
            self.owner.sync_side()
            p = QtGui.QPainter(self)
            try:
                self.owner.paint_overlay(p, w, h, interactive=True)
            finally:
                p.end()
            self.paint_count += 1
            self.last_paint_s = time.perf_counter() - t

        def resizeGL(self, w, h):
            self.owner._fit_distance()

        def mouseMoveEvent(self, ev):
            if ev.buttons() == QtCore.Qt.MouseButton.RightButton:
                lpos = ev.position()
                if not hasattr(self, "mousePos"):
                    self.mousePos = lpos
                diff = lpos - self.mousePos
                self.mousePos = lpos
                self.pan(diff.x(), diff.y(), 0, relative="view-upright")
                return
            super().mouseMoveEvent(ev)

        def mouseDoubleClickEvent(self, ev):
            self.owner.reset_camera()

    return gl, _GLWindow


def composite_gl(root: QtWidgets.QWidget, painter: QtGui.QPainter, offset=QtCore.QPoint()) -> None:
    """Draw the GL pictures of `root` (a View3D or a widget holding some) where their
    windows sit: QWidget.grab()/render() cannot read a native GL window. A GL view is a
    widget with `paints_with_gl` (View3D), found without importing it."""
    views = [root] if getattr(root, "paints_with_gl", False) else []
    views += [w for w in root.findChildren(QtWidgets.QWidget) if getattr(w, "paints_with_gl", False)]
    for v in views:
        if v is not root and not v.isVisibleTo(root):
            continue
        c = v.container
        w, h = c.width(), c.height()
        if w < 2 or h < 2:
            continue
        pos = c.mapTo(root, QtCore.QPoint(0, 0)) + offset
        painter.drawImage(QtCore.QRect(pos, QtCore.QSize(w, h)), v.render_image(w, h, text_in_frame=False))


def _composite_onto(widget, device, offset: QtCore.QPoint) -> None:
    """`composite_gl` onto a painter, or onto a paint device through a painter of its own."""
    if isinstance(device, QtGui.QPainter):
        composite_gl(widget, device, offset)
        return
    p = QtGui.QPainter(device)
    try:
        composite_gl(widget, p, offset)
    finally:
        p.end()


def render_with_gl(widget, target, args, kwargs) -> None:
    """After QWidget.render(target, offset, ...): the GL pictures on top (see `composite_gl`)."""
    offset = args[0] if args else kwargs.get("targetOffset", QtCore.QPoint())
    _composite_onto(widget, target, QtCore.QPoint(int(offset.x()), int(offset.y())))


def grab_with_gl(widget, pix: QtGui.QPixmap, rect) -> QtGui.QPixmap:
    """After QWidget.grab(rect): the GL pictures on top (see `composite_gl`)."""
    _composite_onto(widget, pix, -QtCore.QRect(rect).topLeft())
    return pix
