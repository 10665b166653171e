"""Paint a density with the mouse: a soft round brush on a greyscale array over the bounds.

The array is kept the way the image file stores it: ``a[row, col]`` with row 0 the top of
the picture (the highest x2) and column 0 the left (the lowest x1), values in [0, 1]. Pixel
centres map to data coordinates exactly as `explorer.core.densities.datafile.image_density`
maps the pixels of the saved PNG (`PixelGrid`), so what is painted at (2, 3) is mass at (2, 3).

Strokes: within one stroke the brush footprint is the union (maximum) of the brush along
every segment between successive mouse positions, measured as the distance from each pixel
to the segment, i.e. stamps packed infinitely densely: a stroke has no gaps however fast the
mouse moves, and its strength does not depend on the speed. At the end of the stroke the
footprint is composited once onto the picture as it was before the stroke
(paint: a + (1 - a) * strength * m; erase: a * (1 - strength * m)), so a second stroke over
the first builds up, and one stroke is one undo step.

The numpy part (`PixelGrid`, `stroke_footprint`, `composite`, `paint_polyline`) has no Qt
in it and is what tests and scripts use to paint shapes without a window.
"""

from __future__ import annotations

import math
from collections import deque
from pathlib import Path

import numpy as np
import pyqtgraph as pg
from PySide6 import QtCore, QtWidgets
from PySide6.QtCore import Signal

from ...core.errors import SpecError
from ...views.style import BACKGROUND, LEARNED, SCREEN, ViewStyle
from ...views import common as C

DEFAULT_BOUNDS = [[-4.0, 4.0], [-4.0, 4.0]]
RESOLUTION = 128          # pixels along the longer side of the bounds
UNDO_LEVELS = 50
EMPTY_LEVEL = 0.5 / 255   # below this a pixel is black in the 8-bit PNG
HARDNESS = 0.5            # fraction of the radius painted at full strength
EMPTY_MESSAGE = "the canvas is empty: paint a shape first"


# ---------------------------------------------------------------- numpy brush (no Qt)
class PixelGrid:
    """Where the pixels of an (H, W) picture lie in data coordinates over `bounds`.

    The picture is fitted into the bounds with square pixels, centred (aspect kept): the
    rule of `datafile.image_density`, so a saved PNG lands where it was painted.
    """

    def __init__(self, bounds, shape):
        self.bounds = C.bounds_array(bounds)
        self.H, self.W = int(shape[0]), int(shape[1])
        b = self.bounds
        self.px = min((b[0, 1] - b[0, 0]) / self.W, (b[1, 1] - b[1, 0]) / self.H)
        self.cx, self.cy = b[0].mean(), b[1].mean()

    def centres(self) -> tuple[np.ndarray, np.ndarray]:
        """(x of each column, y of each row)."""
        x = self.cx + (np.arange(self.W) + 0.5 - self.W / 2) * self.px
        y = self.cy + (self.H / 2 - np.arange(self.H) - 0.5) * self.px
        return x, y

    def to_pixel(self, x, y) -> tuple[float, float]:
        """(row, col) as floats (pixel centres at integers)."""
        col = (x - self.cx) / self.px + self.W / 2 - 0.5
        row = self.H / 2 - 0.5 - (y - self.cy) / self.px
        return row, col

    def to_data(self, row, col) -> tuple[float, float]:
        return (self.cx + (col + 0.5 - self.W / 2) * self.px,
                self.cy + (self.H / 2 - row - 0.5) * self.px)

    def rect(self) -> QtCore.QRectF:
        w, h = self.W * self.px, self.H * self.px
        return QtCore.QRectF(self.cx - w / 2, self.cy - h / 2, w, h)


def shape_for_bounds(bounds, resolution: int = RESOLUTION) -> tuple[int, int]:
    """(H, W) with square pixels, `resolution` along the longer side of the box."""
    b = C.bounds_array(bounds)
    bx, by = b[0, 1] - b[0, 0], b[1, 1] - b[1, 0]
    if bx >= by:
        return max(8, int(round(resolution * by / bx))), int(resolution)
    return int(resolution), max(8, int(round(resolution * bx / by)))


def brush_profile(d: np.ndarray, radius: float) -> np.ndarray:
    """Soft round brush: 1 inside HARDNESS * radius, a smooth step down to 0 at the radius."""
    inner = HARDNESS * radius
    t = np.clip((radius - d) / max(radius - inner, 1e-12), 0.0, 1.0)
    return t * t * (3.0 - 2.0 * t)


def stroke_footprint(grid: PixelGrid, p0, p1, radius: float):
    """Brush footprint of the segment p0 -> p1 (data coordinates) on the pixels it touches.

    Returns (row slice, col slice, values) or None when the segment misses the picture.
    The radius is at least one pixel, so a thin brush still leaves a connected line.
    """
    r = max(float(radius), grid.px)
    (r0, c0), (r1, c1) = grid.to_pixel(*p0), grid.to_pixel(*p1)
    rp = r / grid.px + 1
    rlo = max(0, int(math.floor(min(r0, r1) - rp)))
    rhi = min(grid.H, int(math.ceil(max(r0, r1) + rp)) + 1)
    clo = max(0, int(math.floor(min(c0, c1) - rp)))
    chi = min(grid.W, int(math.ceil(max(c0, c1) + rp)) + 1)
    if rlo >= rhi or clo >= chi:
        return None
    xs, ys = grid.centres()
    X, Y = np.meshgrid(xs[clo:chi], ys[rlo:rhi])          # (rows, cols)
    a = np.asarray(p0, dtype=np.float64)
    v = np.asarray(p1, dtype=np.float64) - a
    vv = float(v @ v)
    if vv > 0:
        t = np.clip(((X - a[0]) * v[0] + (Y - a[1]) * v[1]) / vv, 0.0, 1.0)
    else:
        t = 0.0
    d = np.hypot(X - (a[0] + t * v[0]), Y - (a[1] + t * v[1]))
    m = brush_profile(d, r)
    return slice(rlo, rhi), slice(clo, chi), m


def composite(base: np.ndarray, mask: np.ndarray, strength: float, erase: bool) -> np.ndarray:
    s = float(np.clip(strength, 0.0, 1.0)) * mask
    return base * (1.0 - s) if erase else base + (1.0 - base) * s


def paint_polyline(array: np.ndarray, bounds, points, radius: float, strength: float = 1.0,
                   erase: bool = False) -> np.ndarray:
    """One stroke along `points` ((n, 2) data coordinates) on a copy of `array`: the code
    the canvas runs for a mouse stroke, for scripts and tests."""
    a = np.asarray(array, dtype=np.float32)
    grid = PixelGrid(bounds, a.shape)
    pts = np.asarray(points, dtype=np.float64).reshape(-1, 2)
    mask = np.zeros(a.shape, dtype=np.float32)
    segs = list(zip(pts[:-1], pts[1:])) if len(pts) > 1 else [(pts[0], pts[0])]
    for p0, p1 in segs:
        fp = stroke_footprint(grid, p0, p1, radius)
        if fp is not None:
            rs, cs, m = fp
            np.maximum(mask[rs, cs], m, out=mask[rs, cs])
    return np.clip(composite(a, mask, strength, erase), 0.0, 1.0).astype(np.float32)


def write_png(array: np.ndarray, path) -> Path:
    """8-bit greyscale PNG, row 0 at the top; written to a temporary name and renamed."""
    from PIL import Image

    from ...core.files import write_atomic

    path = Path(path)
    a = np.clip(np.nan_to_num(np.asarray(array, dtype=np.float64)), 0.0, 1.0)
    img = Image.fromarray(np.rint(a * 255).astype(np.uint8), mode="L")
    write_atomic(path, lambda tmp: img.save(tmp, format="PNG"))   # never through a planted link
    return path


def read_png(path, shape=None) -> np.ndarray:
    """A picture file as a float32 array in [0, 1] (grey level times alpha), resized to
    `shape` (H, W) if given. Raises SpecError (density.path) if it is not an image."""
    from PIL import Image

    from ...core.densities.datafile import load_image_mass, resolve_path

    p = resolve_path(str(path), None)
    a = load_image_mass(p, max_side=1 << 16)
    if shape is not None and a.shape != tuple(shape):
        im = Image.fromarray(a.astype(np.float32), mode="F")
        a = np.asarray(im.resize((shape[1], shape[0]), Image.Resampling.BILINEAR))
    return np.clip(a, 0.0, 1.0).astype(np.float32)


# ---------------------------------------------------------------- the widget
def _grey_lut(n: int = 256) -> np.ndarray:
    bg = np.asarray(BACKGROUND, dtype=np.float64)
    top = np.asarray((245, 245, 240), dtype=np.float64)
    t = np.linspace(0.0, 1.0, n)[:, None]
    return np.clip(bg + (top - bg) * t, 0, 255).astype(np.ubyte)


def _circle(cx: float, cy: float, r: float, n: int = 64) -> tuple[np.ndarray, np.ndarray]:
    t = np.linspace(0.0, 2 * np.pi, n)
    return cx + r * np.cos(t), cy + r * np.sin(t)


class PaintCanvas(QtWidgets.QWidget):
    """A greyscale picture over the density bounds, painted with the mouse.

    Left drag paints (or erases in erase mode); the brush radius is in data units. One
    stroke is one undo step. `painting_changed` is emitted when a stroke ends, and after
    `clear` and `undo`; never while the mouse moves.
    """

    painting_changed = Signal()

    def __init__(self, parent=None, bounds=None, resolution: int = RESOLUTION,
                 style: ViewStyle = SCREEN):
        super().__init__(parent)
        self.style = style
        self.resolution = int(resolution)
        self.brush_radius = 0.35
        self.strength = 1.0
        self.erase = False
        self.blur = 0.1
        self._bounds = C.bounds_array(DEFAULT_BOUNDS if bounds is None else bounds)
        self._array = np.zeros(shape_for_bounds(self._bounds, self.resolution), np.float32)
        self._grid = PixelGrid(self._bounds, self._array.shape)
        self._undo: deque[np.ndarray] = deque(maxlen=UNDO_LEVELS)
        self._stroke_base: np.ndarray | None = None
        self._stroke_mask: np.ndarray | None = None
        self._last: tuple[float, float] | None = None

        self.view, self.plot, self.vb, self.title = C.make_canvas_plot(
            "Paint the density (brighter = more mass)", style)

        self.image = pg.ImageItem(axisOrder="row-major")
        self.image.setLookupTable(_grey_lut())
        self.image.setZValue(-100)
        self.plot.addItem(self.image)
        self.frame = pg.PlotCurveItem(pen=pg.mkPen(110, 110, 120, width=1, style=QtCore.Qt.DashLine))
        self.plot.addItem(self.frame)
        self.cursor = pg.PlotCurveItem(pen=pg.mkPen(*LEARNED, width=1.5), antialias=True)
        self.cursor.setZValue(100)
        self.cursor.setVisible(False)
        self.plot.addItem(self.cursor)
        self.hint = pg.TextItem("Drag with the left button to paint", color=C.HINT,
                                anchor=(0.5, 0.5), fill=pg.mkBrush(*C.PANEL_FILL))
        self.hint.setZValue(90)
        self.plot.addItem(self.hint)

        lay = QtWidgets.QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.setSpacing(0)
        lay.addWidget(self.title)
        lay.addWidget(self.view, 1)
        self.view.viewport().setMouseTracking(True)
        self.view.viewport().installEventFilter(self)
        self.view.viewport().setCursor(QtCore.Qt.CrossCursor)
        self.view.setFocusPolicy(QtCore.Qt.StrongFocus)
        self._layout_bounds()
        self._show()

    # ------------------------------------------------------------ state
    def array(self) -> np.ndarray:
        """A copy of the picture: float32 (H, W) in [0, 1], row 0 at the top (highest x2)."""
        return self._array.copy()

    def set_array(self, a, undoable: bool = True) -> None:
        """Replace the picture (any H x W; values clipped to [0, 1], NaN -> 0). Undoable;
        emits nothing (it is not a user's stroke)."""
        a = np.asarray(a, dtype=np.float32)
        if a.ndim != 2 or min(a.shape) < 2:
            raise ValueError(f"expected a 2-D picture, got shape {a.shape}")
        self._end_stroke(emit=False)
        if undoable:
            self._undo.append(self._array.copy())
        self._array = np.clip(np.nan_to_num(a, nan=0.0, posinf=1.0, neginf=0.0), 0, 1).astype(np.float32)
        self._grid = PixelGrid(self._bounds, self._array.shape)
        self._layout_bounds()
        self._show()

    def bounds(self) -> list[list[float]]:
        return [[float(lo), float(hi)] for lo, hi in self._bounds]

    def set_bounds(self, b) -> None:
        """A new box. If its aspect needs a different pixel shape the picture is resampled
        (stretched) to it; otherwise the pixels stay as they are."""
        self._end_stroke(emit=False)
        self._bounds = C.bounds_array(b)
        shape = shape_for_bounds(self._bounds, self.resolution)
        if shape != self._array.shape:
            from PIL import Image
            im = Image.fromarray(self._array, mode="F")
            self._array = np.clip(np.asarray(im.resize((shape[1], shape[0]),
                                                       Image.Resampling.BILINEAR)), 0, 1).astype(np.float32)
        self._grid = PixelGrid(self._bounds, self._array.shape)
        self._layout_bounds()
        self._show()

    def pixel_grid(self) -> PixelGrid:
        return self._grid

    def is_empty(self) -> bool:
        return not bool(np.any(self._array > EMPTY_LEVEL))

    def can_undo(self) -> bool:
        return len(self._undo) > 0

    def set_brush(self, radius: float | None = None, strength: float | None = None,
                  erase: bool | None = None) -> None:
        if radius is not None:
            self.brush_radius = max(1e-3, float(radius))
        if strength is not None:
            self.strength = float(np.clip(strength, 0.0, 1.0))
        if erase is not None:
            self.erase = bool(erase)

    def clear(self) -> None:
        self._end_stroke(emit=False)
        if self.is_empty() and not np.any(self._array):
            return
        self._undo.append(self._array.copy())
        self._array = np.zeros_like(self._array)
        self._show()
        self.painting_changed.emit()

    def undo(self) -> bool:
        """Back to the picture before the last stroke (or clear). False if nothing to undo."""
        self._end_stroke(emit=False)
        if not self._undo:
            return False
        prev = self._undo.pop()
        reshaped = prev.shape != self._array.shape
        self._array = prev
        if reshaped:  # a picture from before the box changed its aspect
            self._grid = PixelGrid(self._bounds, prev.shape)
            self._layout_bounds()
        self._show()
        self.painting_changed.emit()
        return True

    # ------------------------------------------------------------ strokes (data coordinates)
    def begin_stroke(self, x: float, y: float) -> None:
        self._end_stroke(emit=False)
        self._stroke_base = self._array.copy()
        self._stroke_mask = np.zeros_like(self._array)
        self._last = (float(x), float(y))
        self._add_segment(self._last, self._last)

    def extend_stroke(self, x: float, y: float) -> None:
        if self._stroke_base is None:
            return self.begin_stroke(x, y)
        p = (float(x), float(y))
        self._add_segment(self._last, p)
        self._last = p

    def end_stroke(self) -> None:
        self._end_stroke(emit=True)

    def stroke(self, points, erase: bool | None = None) -> None:
        """Paint one stroke along (n, 2) data points, as if dragged with the mouse."""
        pts = np.asarray(points, dtype=np.float64).reshape(-1, 2)
        if len(pts) == 0:
            return
        old = self.erase
        if erase is not None:
            self.erase = bool(erase)
        try:
            self.begin_stroke(*pts[0])
            for p in pts[1:]:
                self.extend_stroke(*p)
            self.end_stroke()
        finally:
            self.erase = old

    def _add_segment(self, p0, p1) -> None:
        fp = stroke_footprint(self._grid, p0, p1, self.brush_radius)
        if fp is None:
            return
        rs, cs, m = fp
        np.maximum(self._stroke_mask[rs, cs], m, out=self._stroke_mask[rs, cs])
        self._array[rs, cs] = np.clip(composite(self._stroke_base[rs, cs], self._stroke_mask[rs, cs],
                                                self.strength, self.erase), 0, 1)
        self._show()

    def _end_stroke(self, emit: bool) -> None:
        base = self._stroke_base
        if base is None:
            return
        self._stroke_base = self._stroke_mask = None
        self._last = None
        if np.array_equal(base, self._array):
            return  # the stroke changed nothing (erasing nothing, painting off the canvas)
        self._undo.append(base)
        if emit:
            self.painting_changed.emit()

    # ------------------------------------------------------------ files and specs
    def save_png(self, path) -> Path:
        """8-bit greyscale PNG, row 0 = top = highest x2 (what `image` densities read)."""
        return write_png(self._array, path)

    def load_png(self, path) -> None:
        """Load a picture into the canvas (resized to the canvas); undoable. SpecError if the
        file is not an image."""
        self.set_array(read_png(path, self._array.shape))

    def density_spec(self, png_path, write: bool = True) -> dict:
        """The [density] table of this painting: {"kind": "image", "path", "blur", "bounds"}.
        Writes the PNG to `png_path` unless write=False. SpecError if nothing is painted."""
        if self.is_empty():
            raise SpecError("density", EMPTY_MESSAGE)
        if write:
            self.save_png(png_path)
        return {"kind": "image", "path": str(png_path), "blur": float(self.blur),
                "bounds": self.bounds()}

    # ------------------------------------------------------------ drawing
    def _layout_bounds(self) -> None:
        b = self._bounds
        self.image.setRect(self._grid.rect())
        self.frame.setData([b[0, 0], b[0, 1], b[0, 1], b[0, 0], b[0, 0]],
                           [b[1, 0], b[1, 0], b[1, 1], b[1, 1], b[1, 0]])
        C.fit_box(self.vb, b)
        self.hint.setPos(b[0].mean(), b[1].mean())

    def _show(self) -> None:
        self.image.setImage(np.flipud(self._array), levels=(0.0, 1.0), autoLevels=False)
        self.image.setRect(self._grid.rect())
        self.hint.setVisible(self.is_empty() and self._stroke_base is None)

    def _update_cursor(self, x: float | None, y: float | None = None) -> None:
        if x is None:
            self.cursor.setVisible(False)
            return
        cx, cy = _circle(x, y, max(self.brush_radius, self._grid.px))
        self.cursor.setData(cx, cy)
        self.cursor.setPen(pg.mkPen(*((200, 90, 90) if self.erase else LEARNED), width=1.5))
        self.cursor.setVisible(True)

    # ------------------------------------------------------------ mouse
    def _to_data(self, pos) -> tuple[float, float]:
        p = self.vb.mapSceneToView(self.view.mapToScene(pos.toPoint() if hasattr(pos, "toPoint") else pos))
        return float(p.x()), float(p.y())

    def eventFilter(self, obj, ev) -> bool:
        t = ev.type()
        E = QtCore.QEvent.Type
        if t == E.MouseButtonPress and ev.button() == QtCore.Qt.LeftButton:
            self.view.setFocus(QtCore.Qt.MouseFocusReason)
            x, y = self._to_data(ev.position())
            self.begin_stroke(x, y)
            self._update_cursor(x, y)
            return True
        if t == E.MouseMove:
            x, y = self._to_data(ev.position())
            if self._stroke_base is not None:
                self.extend_stroke(x, y)
            self._update_cursor(x, y)
            return self._stroke_base is not None
        if t == E.MouseButtonRelease and ev.button() == QtCore.Qt.LeftButton:
            if self._stroke_base is not None:
                x, y = self._to_data(ev.position())
                self.extend_stroke(x, y)
                self.end_stroke()
            return True
        if t == E.MouseButtonDblClick and ev.button() == QtCore.Qt.LeftButton:
            return True
        if t == E.Leave:
            self._update_cursor(None)
        return False

    def map_data_to_viewport(self, x: float, y: float) -> QtCore.QPoint:
        """Viewport pixel of a data point (for synthetic mouse events in tests)."""
        sp = self.vb.mapViewToScene(QtCore.QPointF(x, y))
        return self.view.mapFromScene(sp)

    def viewport(self) -> QtWidgets.QWidget:
        return self.view.viewport()
