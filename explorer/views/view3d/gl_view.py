"""`View3D`, the OpenGL view, and `render_rgb`, which pictures any 3-D widget for export.

pyqtgraph.opengl is imported on first use, so that this module (and the projected view,
which uses `render_rgb`) imports on machines without OpenGL.
"""

from __future__ import annotations

import math

import numpy as np
import pyqtgraph as pg
from PySide6 import QtCore, QtGui, QtWidgets

from .. import common as C
from ..style import BACKGROUND, PARTICLES, SCREEN, TRUE, ViewStyle
from .capture import qimage_rgb
from .geometry import (AZIMUTH, BOX_COLOR, ELEVATION, SLICE_COLOR, axis_labels_layout, box_edges, nice_ticks, path_segments)
from .overlay import (fonts_for, particle_alpha, legend_size, mode_weights_text, paint_axis_labels, paint_legend, paint_text_box, text_box_size, wrap_lines)
from .chrome import ChromeColumn, arrange, flow_rects, flow_size
from .gl_context import PROGRAMS, gl_classes, composite_gl, grab_with_gl, render_with_gl
from .gl_items import GLItems
from .scene import AutoRotate, Scene

# ====================================================================== OpenGL view
class View3D(QtWidgets.QWidget, AutoRotate, GLItems):
    """The 3-D scene in OpenGL. Build it only when `gl_probe.gl_available()` is true.

    `self.gl` is the GL view (pyqtgraph's GLViewMixin on a QOpenGLWindow, inside
    `self.container`); `render_image(w, h)` draws the scene and its text at any size into
    an offscreen framebuffer, on screen or not (export, tests). `grab()` and `render()`
    are overridden to include the GL picture."""

    paints_with_gl = True   # gl_context.composite_gl draws its picture into grabs

    is_gl = True

    def __init__(self, parent=None, style: ViewStyle = SCREEN,
                 title: str = "Particles and scores in 3-D"):
        super().__init__(parent)
        from PySide6 import QtOpenGL
        gl, GLWindow = gl_classes()
        self._gl_mod = gl
        self._QtOpenGL = QtOpenGL
        self.style = style
        self.title = title
        self.scene = Scene()
        self._surfaces: list = []
        self._surface_key = None
        self._fbo = None

        # One context that every picture of this view shares (window and offscreen export).
        fmt = QtGui.QSurfaceFormat.defaultFormat()
        fmt.setDepthBufferSize(24)                # a QOpenGLWindow has none unless asked
        self._ctx = QtGui.QOpenGLContext()
        self._ctx.setFormat(fmt)
        if not self._ctx.create():
            raise RuntimeError("no OpenGL context could be created")
        self._surface = QtGui.QOffscreenSurface()
        self._surface.setFormat(self._ctx.format())
        self._surface.create()

        # Born with a parent so that Python does not own it: the container deletes it, and
        # PySide's exit clean-up must not delete it first (a crash in QWindowContainer).
        self._window_parent = QtGui.QWindow()
        self.gl = GLWindow(self, self._ctx, self._window_parent)
        self.gl.setFormat(fmt)
        self.gl.setBackgroundColor(BACKGROUND)
        self.gl.opts["fov"] = 45
        self.container = QtWidgets.QWidget.createWindowContainer(self.gl, self)
        self.container.setMinimumSize(160, 120)
        self.container.setFocusPolicy(QtCore.Qt.FocusPolicy.ClickFocus)
        # Title, legend and readouts in a column beside or under the picture, not over the cube.
        # (on a short screen the legend under the picture and the readouts beside it: `below`)
        self.side, self.below = ChromeColumn(), ChromeColumn()
        self._grid = QtWidgets.QGridLayout(self)
        self._grid.setContentsMargins(0, 0, 0, 0)
        self._grid.setSpacing(4)
        self._grid.setRowStretch(0, 1)
        self._grid.setColumnStretch(0, 1)
        self._grid.addWidget(self.container, 0, 0)
        self._grid.addWidget(self.side, 0, 1)
        self._grid.addWidget(self.below, 1, 0, 1, 2)
        self.below.setVisible(False)
        self.side_beside = True
        self.arrangement = "beside"
        self.setAutoFillBackground(True)
        pal = self.palette()
        pal.setColor(self.backgroundRole(), pg.mkColor(BACKGROUND))
        self.setPalette(pal)

        self.box_item = gl.GLLinePlotItem(mode="lines", color=(*np.array(BOX_COLOR) / 255, 0.8),
                                          width=1.5, antialias=True, glOptions="translucent")
        self.floor_item = gl.GLLinePlotItem(mode="lines", color=(1, 1, 1, 0.10), width=1.0,
                                            antialias=False, glOptions="translucent")
        self.density_item = gl.GLScatterPlotItem(pos=np.zeros((0, 3)), size=2.0, pxMode=True,
                                                 glOptions="additive")
        # antialiased wide lines cost ~4x in Mesa's llvmpipe: arrows are drawn without
        # depth test "less or equal": where learned and true coincide, learned (drawn after) shows
        from OpenGL import GL
        lines = {**gl.GLGraphicsItem.GLOptions["translucent"], "glDepthFunc": (GL.GL_LEQUAL,)}
        self.true_item = gl.GLLinePlotItem(mode="lines", width=style.arrow_width, antialias=False,
                                           color=(*np.array(TRUE) / 255, 0.9), glOptions=lines)
        self.learned_item = gl.GLLinePlotItem(mode="lines", width=style.arrow_width, antialias=False,
                                              glOptions=lines)
        # ODE samplers' particle paths (sampler.paths), faint under the particles
        self.paths_item = gl.GLLinePlotItem(mode="lines", width=1.0, antialias=False,
                                            color=(*np.array(PARTICLES) / 255, 0.35),
                                            glOptions="translucent")
        self.paths_shown = 0
        self.particles_item = gl.GLScatterPlotItem(pos=np.zeros((0, 3)), size=style.point_size,
                                                   pxMode=True, glOptions="translucent",
                                                   color=(*np.array(PARTICLES) / 255, 1.0))
        self.slice_item = gl.GLMeshItem(vertexes=np.zeros((4, 3)), faces=np.array([[0, 1, 2], [0, 2, 3]]),
                                        color=(*np.array(SLICE_COLOR) / 255, 0.07), smooth=False,
                                        computeNormals=False, glOptions="additive")
        self.slice_outline = gl.GLLinePlotItem(mode="lines", width=2.0, antialias=True,
                                               color=(*np.array(SLICE_COLOR) / 255, 0.75),
                                               glOptions="translucent")
        for item, depth in ((self.floor_item, -20), (self.box_item, -19), (self.density_item, -10),
                            (self.true_item, 0), (self.learned_item, 1), (self.paths_item, 1.5),
                            (self.particles_item, 2),
                            (self.slice_item, 10), (self.slice_outline, 11)):
            item.setDepthValue(depth)
            self.gl.addItem(item)
        for it in (self.true_item, self.learned_item, self.particles_item, self.density_item):
            it.setVisible(False)

        self._init_auto_rotate(33)
        self.gl.setCameraPosition(elevation=ELEVATION, azimuth=AZIMUTH)
        self.set_bounds(self.scene.bounds)
        self.apply_style(style)

    # ------------------------------------------------------------ camera
    def _fit_distance(self, w: int | None = None, h: int | None = None) -> None:
        self.gl.opts["distance"] = self._fitting_distance(w, h)
        self.gl.update()

    def frame_distance(self, w: int, h: int) -> float:
        """The camera distance for a w x h picture of the view alone: the box fits it as it
        fits the window, and the user's zoom is kept."""
        return self.gl.opts["distance"] * self._fitting_distance(w, h) / self._fitting_distance()

    def _fitting_distance(self, w: int | None = None, h: int | None = None) -> float:
        """The camera distance at which the box fills a w x h picture."""
        b = self.scene.bounds
        radius = 0.5 * float(np.linalg.norm(b[:, 1] - b[:, 0]))
        w = max(w or self.gl.width() or self.width(), 1)
        h = max(h or self.gl.height() or self.height(), 1)
        half_h = math.atan(math.tan(math.radians(self.gl.opts["fov"] / 2)) * h / w)
        half = min(half_h, math.radians(self.gl.opts["fov"] / 2))
        return 1.06 * radius / math.sin(half)

    def reset_camera(self) -> None:
        b = self.scene.bounds
        self.gl.opts["center"] = QtGui.QVector3D(*b.mean(axis=1))
        self.gl.setCameraPosition(elevation=ELEVATION, azimuth=AZIMUTH)
        self.gl.opts["fov"] = 45
        self._fit_distance()

    def camera(self) -> dict:
        o = self.gl.opts
        return {"azimuth": float(o["azimuth"]), "elevation": float(o["elevation"]),
                "distance": float(o["distance"])}

    def set_camera(self, azimuth: float | None = None, elevation: float | None = None) -> None:
        self.gl.setCameraPosition(azimuth=azimuth, elevation=elevation)

    def screen_projector(self, w: int | None = None, h: int | None = None,
                         distance: float | None = None):
        """A function (n, 3) -> (n, 2) pixel coordinates (y down) in a w x h picture of the
        current camera (default: the on-screen size; `distance`: another camera distance);
        NaN for points behind it."""
        w = max(w or self.gl.width() or self.width(), 1)
        h = max(h or self.gl.height() or self.height(), 1)
        kept = self.gl.opts["distance"]
        if distance is not None:
            self.gl.opts["distance"] = distance
        try:
            m = self.gl.projectionMatrix((0, 0, w, h), (0, 0, w, h)) * self.gl.viewMatrix()
        finally:
            self.gl.opts["distance"] = kept
        M = np.array(m.data(), dtype=np.float64).reshape(4, 4)   # column-major: this is M^T

        def proj(pts) -> np.ndarray:
            p = np.asarray(pts, dtype=np.float64).reshape(-1, 3)
            c = p @ M[:3] + M[3]
            with np.errstate(divide="ignore", invalid="ignore"):
                x = (c[:, 0] / c[:, 3] + 1) * 0.5 * w
                y = (1 - c[:, 1] / c[:, 3]) * 0.5 * h
            bad = c[:, 3] <= 1e-9
            x[bad] = np.nan
            y[bad] = np.nan
            return np.stack([x, y], axis=1)

        return proj

    def to_screen(self, pts) -> np.ndarray:
        """Pixel coordinates (y down) of 3-D points in the on-screen picture."""
        return self.screen_projector()(pts)

    def rotate_by(self, degrees: float) -> None:
        """Turn the camera about x3 (the export uses this for a rotating animation)."""
        self.gl.opts["azimuth"] = (self.gl.opts["azimuth"] + degrees) % 360.0
        self.gl.update()


    # ------------------------------------------------------------ data
    def set_bounds(self, bounds) -> None:
        s = self.scene
        s.set_bounds(bounds)
        b = s.bounds
        self.box_item.setData(pos=box_edges(b).astype(np.float32))
        segs = []
        z = b[2, 0]
        for t in nice_ticks(b[0, 0], b[0, 1]):
            segs += [(t, b[1, 0], z), (t, b[1, 1], z)]
        for t in nice_ticks(b[1, 0], b[1, 1]):
            segs += [(b[0, 0], t, z), (b[0, 1], t, z)]
        self.floor_item.setData(pos=np.asarray(segs, dtype=np.float32).reshape(-1, 3))
        self._draw_slice()
        self.gl.opts["center"] = QtGui.QVector3D(*b.mean(axis=1))
        self._surface_key = None
        self._draw_density()
        self._fit_distance()

    def set_density_points(self, points, weights=None) -> None:
        self.scene.set_density_points(points, weights)
        self._draw_density()

    def set_density_grid(self, p) -> None:
        self.scene.set_density_grid(p)
        self._surface_key = None
        self._draw_density()

    def set_density_mode(self, mode: str) -> None:
        self.scene.set_density_mode(mode)
        self._draw_density()

    def set_particles(self, x) -> None:
        changed = self.scene.set_particles(x)
        a = self.scene.particles
        if not len(a):
            self.particles_item.setVisible(False)
        else:
            if changed:
                alpha = particle_alpha(len(a))
                self.particles_item.setData(pos=a, color=(*np.array(PARTICLES) / 255, alpha))
            else:
                self.particles_item.setData(pos=a)
            self.particles_item.setVisible(True)
        self.gl.update()

    def set_paths(self, paths) -> None:
        """Whole paths, (steps + 1, k, 3) positions of k particles, as faint lines; None hides them."""
        seg = path_segments(paths)
        self.paths_item.setData(pos=seg if len(seg) else np.zeros((2, 3)))
        self.paths_item.setVisible(bool(len(seg)))
        self.paths_shown = 0 if not len(seg) else int(np.asarray(paths).shape[1])
        self.gl.update()

    def set_fields(self, points, learned=None, true=None) -> None:
        self.scene.set_fields(points, learned, true)
        self._draw_arrows()

    def set_arrow_mode(self, mode: str) -> None:
        self.scene.set_arrow_mode(mode)
        self._draw_arrows()

    def set_slice(self, axis: int, value: float) -> None:
        self.scene.set_slice(axis, value)
        self._draw_slice()

    def set_slice_visible(self, on: bool) -> None:
        self.scene.slice_visible = bool(on)
        self._draw_slice()

    def set_status(self, text: str) -> None:
        self.scene.status = text or ""
        self.gl.update()

    def set_mode_weights(self, fractions, true=None, labels=None) -> None:
        """The mixture readout (particle fraction per mode vs the truth), top right."""
        self.scene.mode_weights = mode_weights_text(fractions, true, labels)
        self.gl.update()

    def set_trails(self, enabled: bool, length: int = 8) -> None:
        """Accepted for the 2-D particle view's API; the 3-D view draws no trails."""

    def apply_style(self, style: ViewStyle) -> None:
        self.style = style
        self.particles_item.setData(size=float(style.point_size))
        self.density_item.setData(size=max(1.5, style.point_size * 0.7))
        for it in (self.true_item, self.learned_item):
            it.setData(width=float(style.arrow_width))
        self.box_item.setData(width=max(1.0, style.line_width))
        self.slice_outline.setData(width=max(1.5, style.line_width * 1.2))
        self.gl.update()

    # ------------------------------------------------------------ drawing
    def paint_overlay(self, p: QtGui.QPainter, w: int, h: int, interactive: bool = False,
                      text_boxes: bool = True) -> None:
        """Axis names and ticks, title, legend, status (and on screen the mouse hint).

        The boxes are painted once into small images (cached until their text changes) and
        drawn as images each frame: QPainter on a GL surface is slow at antialiased shapes."""
        font, bold = fonts_for(self.style)
        fm = QtGui.QFontMetricsF(font)
        layout = axis_labels_layout(self.scene.bounds, self.screen_projector(w, h), fm.height())
        p.setRenderHint(QtGui.QPainter.RenderHint.Antialiasing, False)
        p.setRenderHint(QtGui.QPainter.RenderHint.TextAntialiasing, True)
        paint_axis_labels(p, layout, font, bold)
        if not (interactive or text_boxes):
            return
        for img, pos in self._chrome(w, h, interactive):
            p.drawImage(pos, img)

    def sync_side(self) -> None:
        """Put the current legend and readouts in the side column (cheap when none of them
        changed), and the column beside or under the picture."""
        key = self._text_key()
        if key != getattr(self, "_side_key", None):
            self._side_key = key
            if key != getattr(self, "_frame_key", None):
                self._side_images = {}
                self._frame_key = key
            self._place_side(force=True)

    def _images_for_side(self, columns: int, with_title: bool = False) -> list:
        """Title (only `with_title`: the window names the view; a frame of the view alone
        shows it), legend in `columns` columns, status and mode weights."""
        cache = getattr(self, "_side_images", {})
        if columns not in cache:
            items = self._chrome(0, 0, False, boxes_only=True, legend_columns=columns)
            cache[columns] = [img for img, _pos in items]
            self._side_images = cache
        return cache[columns][0 if with_title or not self.title else 1:]

    def resizeEvent(self, ev) -> None:
        super().resizeEvent(ev)
        self._place_side()

    def _arrangement(self, w: int, h: int, with_title: bool = False,
                     mixed: bool = False) -> tuple[str, list, list]:
        """(how, pictures, pictures below) by `chrome.arrange`; under the picture the legend
        takes as many columns as the width holds; "mixed" only on screen (`mixed`)."""
        one = self._images_for_side(1, with_title)
        if not one:
            return "beside", [], []
        cols = 1
        for c in range(max(1, len(self.scene.legend_rows())), 1, -1):
            legend_w = self._images_for_side(c, True)[1 if self.title else 0].width()
            if legend_w + 8 <= w:
                cols = c
                break
        under = self._images_for_side(cols, with_title)
        legend_at = (1 if (with_title and self.title) else 0) if self.scene.legend_rows() else None
        return arrange(w, h, one, under, legend_at if mixed else None)

    def _place_side(self, force: bool = False) -> None:
        """The side column beside or under the picture, or the legend under it and the
        readouts beside: at 1280x720 all of them beside the picture left the cube a strip at
        the left edge once sampling added its readouts."""
        if getattr(self, "_side_key", None) is None:
            return
        how, images, below = self._arrangement(self.width(), self.height(), mixed=True)
        if force or images is not self.side.images_source:
            self.side.set_images(images)
            self.side.images_source = images
        if force or below != self.below.images:
            self.below.set_images(below)
        self.side.set_wrap_width(self.width() if how == "under" else 0)
        self.below.set_wrap_width(self.width())
        if how != self.arrangement:
            self.arrangement = how
            self.side_beside = how != "under"
            self._grid.removeWidget(self.side)
            self._grid.addWidget(self.side, *((1, 0, 1, 2) if how == "under" else (0, 1)))
            self._grid.removeWidget(self.below)
            self._grid.addWidget(self.below, *((2, 0, 1, 2) if how == "under" else (1, 0, 1, 2)))

    def frame_layout(self, w: int, h: int) -> tuple[QtCore.QRect, list]:
        """For a w x h picture of the view alone (export): the rectangle the cube is drawn
        in and [(image, rect)] of the text boxes beside or under it, as on screen."""
        self._side_images = {} if getattr(self, "_frame_key", None) != self._text_key() else \
            getattr(self, "_side_images", {})
        self._frame_key = self._text_key()
        how, images, _below = self._arrangement(w, h, with_title=True)
        beside = how == "beside"
        if not images:
            return QtCore.QRect(0, 0, w, h), []
        if beside:
            side_w = flow_size(images).width()
            return QtCore.QRect(side_w, 0, w - side_w, h), list(zip(images, flow_rects(images)))
        under_h = flow_size(images, w).height()
        rects = [r.translated(0, h - under_h) for r in flow_rects(images, w)]
        return QtCore.QRect(0, 0, w, h - under_h), list(zip(images, rects))

    def _text_key(self) -> tuple:
        return (self.title, self.scene.status, self.scene.mode_weights,
                tuple(self.scene.legend_rows()), self.style)

    def _chrome(self, w: int, h: int, interactive: bool, boxes_only: bool = False,
                legend_columns: int = 1) -> list:
        """(image, position) of the text boxes painted over the picture: on screen only the
        mouse hint (the rest is in the side column); in a picture of the view alone
        (`render_image`, export) all of them; `boxes_only`: title, legend, status and mode
        weights stacked from (0, 0), for the side column."""
        rows = self.scene.legend_rows()
        key = (w, h, interactive, boxes_only, legend_columns, self.title, self.scene.status,
               self.scene.mode_weights, tuple(rows), self.style)
        if key == getattr(self, "_chrome_key", None):
            return self._chrome_items
        if interactive:   # the mouse hint, only where it does not crowd the axis labels
            items = self._hint_item(w, h) if w >= 560 and h >= 300 else []
            self._chrome_key, self._chrome_items = key, items
            return items
        font, _ = fonts_for(self.style)
        tf = QtGui.QFont(font)
        tf.setPointSizeF(self.style.font_pt + 2)
        items = []

        def picture(size: QtCore.QSizeF, draw) -> QtGui.QImage:
            img = QtGui.QImage(max(1, int(math.ceil(size.width())) + 2),
                               max(1, int(math.ceil(size.height())) + 2),
                               QtGui.QImage.Format.Format_ARGB32_Premultiplied)
            img.fill(0)
            q = QtGui.QPainter(img)
            try:
                q.setRenderHint(QtGui.QPainter.RenderHint.Antialiasing, True)
                q.setRenderHint(QtGui.QPainter.RenderHint.TextAntialiasing, True)
                draw(q)
            finally:
                q.end()
            return img

        th = 0.0
        if self.title:
            size = text_box_size(self.title, tf)
            items.append((picture(size, lambda q: paint_text_box(q, self.title, QtCore.QPointF(0, 0),
                                                                 "tl", tf)),
                          QtCore.QPointF(8, 8)))
            th = size.height()
        if rows:
            size = legend_size(rows, font, legend_columns)
            items.append((picture(size, lambda q: paint_legend(q, rows, 0, 0, font, from_top=True,
                                                               columns=legend_columns)),
                          QtCore.QPointF(8, 8 + th + 6)))
        # the status wrapped at 16 font heights: a long status line widened the side column
        # when sampling started and pushed the cube aside
        status = self.scene.status
        if status:
            status = wrap_lines(status, font, 16 * QtGui.QFontMetricsF(font).height())
            size = text_box_size(status, font)
            items.append((picture(size, lambda q: paint_text_box(q, status, QtCore.QPointF(0, 0),
                                                                 "tl", font)),
                          QtCore.QPointF(w - 8 - size.width(), 8)))
        if self.scene.mode_weights:
            mono = QtGui.QFont("DejaVu Sans Mono")
            mono.setStyleHint(QtGui.QFont.StyleHint.Monospace)
            mono.setPointSizeF(self.style.font_pt)
            text = self.scene.mode_weights
            top = 8 + (text_box_size(status, font).height() + 6 if status else 0)
            size = text_box_size(text, mono)
            items.append((picture(size, lambda q: paint_text_box(q, text, QtCore.QPointF(0, 0), "tl", mono)),
                          QtCore.QPointF(w - 8 - size.width(), top)))
        if boxes_only:   # stacked top to bottom for the side column
            y = 0.0
            for i, (img, _pos) in enumerate(items):
                items[i] = (img, QtCore.QPointF(0, y))
                y += img.height() + 6
        self._chrome_key = key
        self._chrome_items = items
        return items

    def _hint_item(self, w: int, h: int) -> list:
        font, _ = fonts_for(self.style)
        hint = "drag: orbit \u00b7 wheel: zoom \u00b7 right-drag: pan \u00b7 double-click: reset"
        fm = QtGui.QFontMetricsF(font)
        size = QtCore.QSizeF(fm.horizontalAdvance(hint) + 4, fm.height() + 2)
        img = QtGui.QImage(int(math.ceil(size.width())) + 2, int(math.ceil(size.height())) + 2,
                           QtGui.QImage.Format.Format_ARGB32_Premultiplied)
        img.fill(0)
        q = QtGui.QPainter(img)
        try:
            q.setRenderHint(QtGui.QPainter.RenderHint.TextAntialiasing, True)
            q.setFont(font)
            q.setPen(QtGui.QColor(*C.HINT))
            q.drawText(QtCore.QPointF(1, fm.ascent()), hint)
        finally:
            q.end()
        return [(img, QtCore.QPointF(w - size.width() - 10, 6))]   # the top is clear of axis labels

    # ------------------------------------------------------------ pictures
    def render_image(self, w: int | None = None, h: int | None = None,
                     text_in_frame: bool = True) -> QtGui.QImage:
        """The scene and its text drawn offscreen at w x h (default: the on-screen size),
        whether or not the view is on screen. RGB32."""
        QtOpenGL = self._QtOpenGL
        from OpenGL import GL
        w = int(max(2, w or self.container.width() or self.width()))
        h = int(max(2, h or self.container.height() or self.height()))
        if not self._ctx.makeCurrent(self._surface):
            raise RuntimeError("could not make the OpenGL context current")
        try:
            PROGRAMS.activate(self._ctx)
            if self._fbo is None or (self._fbo.width(), self._fbo.height()) != (w, h):
                fmt = QtOpenGL.QOpenGLFramebufferObjectFormat()
                fmt.setAttachment(QtOpenGL.QOpenGLFramebufferObject.Attachment.CombinedDepthStencil)
                self._fbo = QtOpenGL.QOpenGLFramebufferObject(w, h, fmt)
            fbo = self._fbo
            fbo.bind()
            for item in self.gl.items:
                if not item.isInitialized():
                    item.initialize()
            cube, boxes = self.frame_layout(w, h) if text_in_frame else (QtCore.QRect(0, 0, w, h), [])
            gl_rect = (cube.x(), h - cube.y() - cube.height(), cube.width(), cube.height())  # y up
            GL.glViewport(*gl_rect)
            GL.glDisable(GL.GL_SCISSOR_TEST)
            # The box fits the cube's area as it fits the window (the user's zoom kept).
            distance = self.gl.opts["distance"]
            self.gl.opts["distance"] = self.frame_distance(cube.width(), cube.height())
            try:
                self.gl.paint(region=gl_rect, viewport=gl_rect)   # glClear clears the whole frame
                dev = QtOpenGL.QOpenGLPaintDevice(w, h)
                p = QtGui.QPainter(dev)
                try:
                    p.translate(cube.x(), cube.y())
                    self.paint_overlay(p, cube.width(), cube.height(), interactive=False,
                                       text_boxes=False)
                    p.resetTransform()
                    for img, r in boxes:        # beside or under the cube, never over it
                        p.drawImage(r.topLeft(), img)
                finally:
                    p.end()
            finally:
                self.gl.opts["distance"] = distance
            img = fbo.toImage().convertToFormat(QtGui.QImage.Format.Format_RGB32)
            fbo.release()
        finally:
            self._ctx.doneCurrent()
        return img

    def render_rgb(self, w: int | None = None, h: int | None = None) -> np.ndarray:
        """(h, w, 3) uint8 of the scene at any size (export frames)."""
        return qimage_rgb(self.render_image(w, h))

    def grab(self, rect=QtCore.QRect(0, 0, -1, -1)) -> QtGui.QPixmap:
        return grab_with_gl(self, super().grab(rect), rect)

    def render(self, target, *args, **kwargs):
        super().render(target, *args, **kwargs)
        render_with_gl(self, target, args, kwargs)

    def closeEvent(self, ev):
        self.set_auto_rotate(False)
        super().closeEvent(ev)


def render_rgb(widget, w: int, h: int) -> np.ndarray:
    """(h, w, 3) uint8 picture of `widget` for export: a View3D, Projected3DView,
    View3DPanel or any widget holding them.

    A `View3D` is drawn straight at w x h into an offscreen framebuffer (any size, on
    screen or not). Other widgets are laid out at w x h when they are top-level (else
    their picture is scaled), grabbed, and the GL pictures of the View3Ds inside are drawn
    where their windows sit (QWidget.grab cannot read a native GL window).
    (pyqtgraph's `GLViewWidget.renderToArray` would do too, but returns BGRA: see
    `bgra_to_rgb`; it tiles through a 1024^2 texture and is ~4x slower.)
    """
    w, h = int(w), int(h)
    if isinstance(widget, View3D):
        return widget.render_rgb(w, h)
    app = QtWidgets.QApplication.instance()
    old = widget.size()
    resized = False
    if (widget.width(), widget.height()) != (w, h) and widget.parentWidget() is None:
        widget.resize(w, h)
        resized = True
    if app is not None:
        app.processEvents()
    pix = QtWidgets.QWidget.grab(widget)
    pix.setDevicePixelRatio(1.0)
    p = QtGui.QPainter(pix)
    try:
        dpr = widget.devicePixelRatioF()
        if dpr != 1.0:
            p.scale(dpr, dpr)
        composite_gl(widget, p)
    finally:
        p.end()
    out = qimage_rgb(pix.toImage())
    if resized:
        widget.resize(old)
    if out.shape[:2] != (h, w):
        qi = QtGui.QImage(out.data, out.shape[1], out.shape[0], 3 * out.shape[1],
                          QtGui.QImage.Format.Format_RGB888)
        out = qimage_rgb(qi.scaled(w, h, QtCore.Qt.AspectRatioMode.IgnoreAspectRatio,
                                    QtCore.Qt.TransformationMode.SmoothTransformation))
    return out
