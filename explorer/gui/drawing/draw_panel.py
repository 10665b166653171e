"""The "draw your own density" panel: paint, place components, or load a point file.

Every finished edit (a stroke, clear, undo, a component moved, a file loaded, a blur or
bandwidth changed) emits `density_edited(dict)` with the [density] table to apply:
- Paint:      {"kind": "image", "path": <new PNG in the session folder>, "blur", "bounds"}
              (one new file per edit, so a preset made from an earlier edit keeps its PNG);
- Components: {"kind": "mixture", "weights", "means", "covariances", "bounds"};
- Points:     {"kind": "points", "path", "bandwidth"}.
Bad input (an empty canvas, no components, a point file with a NaN, 4 columns, one point,
text that is not numbers, a file that is not an image) is shown in red in the panel and
nothing is emitted: what was drawn or loaded before stays as it was.

The window decides what an edit does to training; `restart_on_edit()` is the user's
choice (restart, or go on training the same network on the new density).
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np
import pyqtgraph as pg
from PySide6 import QtCore, QtGui, QtWidgets
from PySide6.QtCore import Signal

from ...core.errors import SpecError
from ...views.style import SCREEN, TRUE, ViewStyle
from ...views import common as C
from .component_editor import ComponentEditor
from .paint_canvas import PaintCanvas

TABS = ("paint", "components", "points")
ERROR_STYLE = ("QLabel { background: #5c1f12; color: white; border-radius: 4px; padding: 4px 6px; }")
NOTE_STYLE = "QLabel { color: #aaaab2; padding: 2px 6px; }"
PREVIEW_MAX = 5000  # points drawn in the preview (a random subset beyond that)


def _dspin(lo, hi, step, decimals, value, tip, suffix="") -> QtWidgets.QDoubleSpinBox:
    s = QtWidgets.QDoubleSpinBox()
    s.setRange(lo, hi)
    s.setSingleStep(step)
    s.setDecimals(decimals)
    s.setValue(value)
    s.setKeyboardTracking(False)
    s.setToolTip(tip)
    if suffix:
        s.setSuffix(suffix)
    return s


class DrawPanel(QtWidgets.QWidget):
    density_edited = Signal(dict)
    restart_on_edit_toggled = Signal(bool)

    def __init__(self, parent=None, bounds=None, style: ViewStyle = SCREEN):
        super().__init__(parent)
        self.style = style
        self._session_dir: Path | None = None
        self._png_count = 0
        self._points_path: str | None = None
        self._points: np.ndarray | None = None
        self.last_spec: dict | None = None
        self._is_error = False

        self.tabs = QtWidgets.QTabWidget()
        self.canvas = PaintCanvas(bounds=bounds, style=style)
        self.editor = ComponentEditor(bounds=bounds, style=style)
        self.tabs.addTab(self._build_paint_tab(), "Paint")
        self.tabs.addTab(self._build_components_tab(), "Components")
        self.tabs.addTab(self._build_points_tab(), "Points file")

        self.restart_box = QtWidgets.QCheckBox("Restart training on edit")
        self.restart_box.setChecked(True)
        self.restart_box.setToolTip("Checked: each edit starts training afresh.\n"
                                    "Unchecked: the network goes on training on the edited density.")
        self.restart_box.toggled.connect(self.restart_on_edit_toggled)
        self.apply_button = QtWidgets.QPushButton("Use this drawing")
        self.apply_button.setToolTip("Make the drawing of this tab the density "
                                     "(edits are applied as you make them)")
        self.apply_button.clicked.connect(self.apply)
        self.message = QtWidgets.QLabel()
        self.message.setWordWrap(True)
        self.message.setTextInteractionFlags(QtCore.Qt.TextSelectableByMouse)
        self.message.setVisible(False)

        bottom = QtWidgets.QHBoxLayout()
        bottom.addWidget(self.restart_box)
        bottom.addStretch(1)
        bottom.addWidget(self.apply_button)
        lay = QtWidgets.QVBoxLayout(self)
        lay.setContentsMargins(4, 4, 4, 4)
        lay.addWidget(self.tabs, 1)
        lay.addWidget(self.message)
        lay.addLayout(bottom)

        self.canvas.painting_changed.connect(self._on_painting_changed)
        self.editor.components_changed.connect(self._on_components_changed)

    # ------------------------------------------------------------ tabs
    def _build_paint_tab(self) -> QtWidgets.QWidget:
        w = QtWidgets.QWidget()
        v = QtWidgets.QVBoxLayout(w)
        v.setContentsMargins(2, 4, 2, 2)
        row = QtWidgets.QHBoxLayout()
        self.brush_size = _dspin(0.02, 4.0, 0.05, 2, self.canvas.brush_radius,
                                 "Brush radius, in the units of x\u2081 and x\u2082")
        self.brush_size.valueChanged.connect(lambda r: self.canvas.set_brush(radius=r))
        self.strength = _dspin(0.05, 1.0, 0.05, 2, self.canvas.strength,
                               "How much one stroke adds (or removes): 1 paints full white")
        self.strength.valueChanged.connect(lambda s: self.canvas.set_brush(strength=s))
        self.erase_button = QtWidgets.QToolButton()
        self.erase_button.setText("Erase")
        self.erase_button.setCheckable(True)
        self.erase_button.setToolTip("Erase instead of paint (E)")
        self.erase_button.setStyleSheet("QToolButton:checked { background: #8c2f2f; color: white; }")
        self.erase_button.toggled.connect(lambda on: self.canvas.set_brush(erase=on))
        self.undo_button = QtWidgets.QToolButton()
        self.undo_button.setText("Undo")
        self.undo_button.setToolTip("Undo the last stroke (Ctrl+Z)")
        self.undo_button.clicked.connect(self.canvas.undo)
        self.clear_button = QtWidgets.QToolButton()
        self.clear_button.setText("Clear")
        self.clear_button.setToolTip("Clear the canvas (undoable)")
        self.clear_button.clicked.connect(self.canvas.clear)
        self.open_image_button = QtWidgets.QToolButton()
        self.open_image_button.setText("Open image…")
        self.open_image_button.setToolTip("Start from a picture (PNG, JPG): brighter = more mass")
        self.open_image_button.clicked.connect(self._open_image_dialog)
        for label, widget in (("Brush", self.brush_size), ("Strength", self.strength)):
            row.addWidget(QtWidgets.QLabel(label))
            row.addWidget(widget)
        for b in (self.erase_button, self.undo_button, self.clear_button):
            row.addWidget(b)
        row.addStretch(1)
        v.addLayout(row)
        row2 = QtWidgets.QHBoxLayout()
        self.blur = _dspin(0.02, 2.0, 0.02, 2, self.canvas.blur,
                           "Std of the Gaussian that smooths the painting: the density is the "
                           "blurred picture and its exact score is the true score")
        self.blur.valueChanged.connect(self._on_blur_changed)
        row2.addWidget(QtWidgets.QLabel("Blur"))
        row2.addWidget(self.blur)
        row2.addWidget(self.open_image_button)
        row2.addStretch(1)
        v.addLayout(row2)
        v.addWidget(self.canvas, 1)
        # keys act on the canvas (focused by a click on it), not inside the spin boxes
        sc = QtGui.QShortcut(QtGui.QKeySequence.Undo, self.canvas.view, context=QtCore.Qt.WidgetShortcut)
        sc.activated.connect(self.canvas.undo)
        sc = QtGui.QShortcut(QtGui.QKeySequence("E"), self.canvas.view, context=QtCore.Qt.WidgetShortcut)
        sc.activated.connect(self.erase_button.toggle)
        return w

    def _build_components_tab(self) -> QtWidgets.QWidget:
        return self.editor

    def _build_points_tab(self) -> QtWidgets.QWidget:
        w = QtWidgets.QWidget()
        v = QtWidgets.QVBoxLayout(w)
        v.setContentsMargins(2, 4, 2, 2)
        row = QtWidgets.QHBoxLayout()
        self.load_button = QtWidgets.QPushButton("Load CSV/NPY…")
        self.load_button.setToolTip("A file of n rows of 1, 2 or 3 numbers (CSV, text or .npy)")
        self.load_button.clicked.connect(self._open_points_dialog)
        self.bandwidth = _dspin(0.01, 5.0, 0.02, 3, 0.1,
                                "Bandwidth of the Gaussian kernel density: its exact score is the true score")
        self.bandwidth.valueChanged.connect(self._on_bandwidth_changed)
        row.addWidget(self.load_button)
        row.addWidget(QtWidgets.QLabel("Bandwidth"))
        row.addWidget(self.bandwidth)
        row.addStretch(1)
        v.addLayout(row)
        self.points_info = QtWidgets.QLabel("No file loaded.")
        self.points_info.setStyleSheet(NOTE_STYLE)
        self.points_info.setWordWrap(True)
        v.addWidget(self.points_info)
        # A preview, not a drawing surface, but the canvas's layout: title above, box fitted.
        self.points_view, self.points_plot, vb, self.points_title = C.make_canvas_plot(
            "Points", self.style)
        self.points_scatter = pg.ScatterPlotItem(size=4, pen=None, brush=pg.mkBrush(*TRUE, 200))
        self.points_plot.addItem(self.points_scatter)
        self.points_frame = pg.PlotCurveItem(pen=pg.mkPen(110, 110, 120, width=1, style=QtCore.Qt.DashLine))
        self.points_plot.addItem(self.points_frame)
        self.points_hint = pg.TextItem("Load a CSV of points\n(Load CSV/NPY\u2026 above)", color=C.HINT,
                                       anchor=(0.5, 0.5), fill=pg.mkBrush(*C.PANEL_FILL))
        self.points_plot.addItem(self.points_hint)
        self._frame_points_box(self.canvas.bounds())
        v.addWidget(C.titled(self.points_title, self.points_view), 1)
        return w

    def _frame_points_box(self, b) -> None:
        """Before a file is loaded, the preview shows the density box with a hint (not empty
        0..1 axes); a loaded file's points keep their own box."""
        b = C.bounds_array(b)
        self.points_frame.setData([b[0, 0], b[0, 1], b[0, 1], b[0, 0], b[0, 0]],
                                  [b[1, 0], b[1, 0], b[1, 1], b[1, 1], b[1, 0]])
        self.points_hint.setPos(b[0].mean(), b[1].mean())
        C.fit_box(self.points_plot, b)

    # ------------------------------------------------------------ public API
    def restart_on_edit(self) -> bool:
        return self.restart_box.isChecked()

    def set_restart_on_edit(self, on: bool) -> None:
        self.restart_box.setChecked(bool(on))

    def mode(self) -> str:
        return TABS[self.tabs.currentIndex()]

    def set_mode(self, mode: str) -> None:
        self.tabs.setCurrentIndex(TABS.index(mode))

    def set_bounds(self, b) -> None:
        """The density box for painting and placing components (the points keep their own)."""
        self.canvas.set_bounds(b)
        self.editor.set_bounds(b)
        if self._points_path is None:
            self._frame_points_box(b)

    def session_dir(self) -> Path:
        """Folder for the painted PNGs of this session (under the system temp folder)."""
        if self._session_dir is None or not self._session_dir.is_dir():
            self._session_dir = Path(tempfile.mkdtemp(prefix="score-explorer-drawing-"))
        return self._session_dir

    def error_text(self) -> str:
        """The error shown in the panel, or "" when there is none."""
        return self.message.text() if self._is_error else ""

    def show_error(self, text: str) -> None:
        self._is_error = True
        self.message.setStyleSheet(ERROR_STYLE)
        self.message.setText(text)
        self.message.setVisible(True)

    def show_note(self, text: str) -> None:
        self._is_error = False
        self.message.setStyleSheet(NOTE_STYLE)
        self.message.setText(text)
        self.message.setVisible(bool(text))

    def clear_error(self) -> None:
        self.show_note("")

    def current_spec(self) -> dict:
        """The [density] table of the current tab (writes a new PNG for a painting).
        Raises SpecError when there is nothing valid to apply."""
        mode = self.mode()
        if mode == "paint":
            return self._paint_spec()
        if mode == "components":
            return self.editor.density_spec()
        if self._points_path is None:
            raise SpecError("density.path", "no point file loaded: press Load CSV/NPY…")
        return self._points_spec()

    def apply(self) -> bool:
        """Emit the current tab's density; on bad input show why and emit nothing."""
        try:
            spec = self.current_spec()
        except SpecError as e:
            text = _message(e)
            if self.mode() == "paint" and self.canvas.is_empty() and self.canvas.can_undo():
                text += " (Undo brings back the last painting)"
            self.show_error(text)
            return False
        except OSError as e:
            self.show_error(f"Could not write the painting: {e.strerror or e}")
            return False
        self._emit(spec)
        return True

    def load_points(self, path) -> bool:
        """Load a CSV / NPY point file, check it by building its density, show it and emit
        the points density. A bad file is reported in the panel (nothing raised) and the
        points loaded before stay."""
        from ...core.densities import build_density

        spec = {"kind": "points", "path": str(Path(path).resolve()),
                "bandwidth": float(self.bandwidth.value())}
        try:
            dens = build_density(spec, None)
        except SpecError as e:
            self.show_error(_message(e, Path(path).name))
            return False
        self._points_path = spec["path"]
        self._points = np.asarray(dens.centres)
        self._show_points(dens)
        self.set_mode("points")
        self._emit(spec)
        return True

    def load_image(self, path) -> bool:
        """Load a picture into the canvas (undoable) and emit it; errors are shown."""
        try:
            self.canvas.load_png(path)
        except SpecError as e:
            self.show_error(_message(e, Path(path).name))
            return False
        self.set_mode("paint")
        if self.canvas.is_empty():
            self.show_error(f"{Path(path).name}: has no bright pixels: nothing to learn")
            return False
        return self.apply()

    def show_density(self, spec: dict, base_dir=None) -> bool:
        """Show a preset's [density] in the matching tab (image, 2-D mixture or points),
        without emitting. Returns False (and changes nothing) for other kinds or bad files."""
        kind = spec.get("kind")
        base = Path(base_dir) if base_dir is not None else Path.cwd()
        try:
            if kind == "image":
                p = Path(spec["path"])
                p = p if p.is_absolute() else base / p
                if spec.get("bounds") is not None:
                    self.canvas.set_bounds(spec["bounds"])
                    self.editor.set_bounds(spec["bounds"])
                from .paint_canvas import read_png
                a = read_png(p, self.canvas.array().shape)
                if spec.get("invert"):
                    a = 1.0 - a
                self.canvas.set_array(a)
                self._set_quiet(self.blur, float(spec.get("blur") or 0.1))
                self.canvas.blur = self.blur.value()
                self.set_mode("paint")
            elif kind == "mixture":
                if len(np.asarray(spec.get("means", [[0, 0]]))[0]) != 2:
                    return False
                self.editor.load_spec(spec)
                if spec.get("bounds") is not None:
                    self.canvas.set_bounds(spec["bounds"])
                self.set_mode("components")
            elif kind == "points":
                from ...core.densities import build_density
                p = Path(spec["path"])
                p = p if p.is_absolute() else base / p
                bw = float(spec.get("bandwidth") or 0.1)
                dens = build_density({"kind": "points", "path": str(p), "bandwidth": bw}, None)
                self._points_path = str(p.resolve())
                self._points = np.asarray(dens.centres)
                self._set_quiet(self.bandwidth, bw)
                self._show_points(dens)
                self.set_mode("points")
            else:
                return False
        except (SpecError, KeyError, ValueError, TypeError) as e:
            self.show_error(_message(e) if isinstance(e, SpecError) else f"cannot show this density: {e}")
            return False
        self.clear_error()
        return True

    # ------------------------------------------------------------ edits
    def _emit(self, spec: dict) -> None:
        self.clear_error()
        self.last_spec = spec
        self.density_edited.emit(spec)

    def _paint_spec(self) -> dict:
        if self.canvas.is_empty():
            self.canvas.density_spec("", write=False)  # raises the empty-canvas SpecError
        self._png_count += 1
        path = self.session_dir() / f"painting-{self._png_count:04d}.png"
        self.canvas.blur = float(self.blur.value())
        return self.canvas.density_spec(path)

    def _points_spec(self) -> dict:
        return {"kind": "points", "path": self._points_path, "bandwidth": float(self.bandwidth.value())}

    @QtCore.Slot()
    def _on_painting_changed(self) -> None:
        self.set_mode("paint")
        self.apply()

    @QtCore.Slot()
    def _on_components_changed(self) -> None:
        self.set_mode("components")
        self.apply()

    def _on_blur_changed(self, value: float) -> None:
        self.canvas.blur = float(value)
        if self.mode() == "paint" and not self.canvas.is_empty():
            self.apply()

    def _on_bandwidth_changed(self, value: float) -> None:
        if self._points_path is not None and self.mode() == "points":
            self.apply()

    def _show_points(self, dens) -> None:
        pts = np.asarray(dens.centres, dtype=np.float64)
        n, d = pts.shape
        shown = pts
        if n > PREVIEW_MAX:
            shown = pts[np.random.default_rng(0).choice(n, PREVIEW_MAX, replace=False)]
        xy = shown[:, :2] if d >= 2 else np.c_[shown[:, 0], np.zeros(len(shown))]
        self.points_scatter.setData(pos=xy)
        b = np.asarray(dens.bounds, dtype=np.float64)
        yb = b[1] if d >= 2 else np.array([-1.0, 1.0])
        C.fit_box(self.points_plot, [b[0], yb])
        self.points_frame.setData([], [])
        self.points_hint.setVisible(False)
        name = Path(self._points_path).name
        extra = "" if d == 2 else (" (showing x\u2081, x\u2082)" if d == 3 else " (1-D: along x\u2081)")
        self.points_info.setText(f"{name}: {n} points in {d}-D{extra}")
        self.points_title.setText(f"{name}: {n} points")

    def _open_points_dialog(self) -> None:
        path, _ = QtWidgets.QFileDialog.getOpenFileName(
            self, "Load points", "", "Points (*.csv *.npy *.txt);;All files (*)")
        if path:
            self.load_points(path)

    def _open_image_dialog(self) -> None:
        path, _ = QtWidgets.QFileDialog.getOpenFileName(
            self, "Open image", "", "Images (*.png *.jpg *.jpeg *.bmp);;All files (*)")
        if path:
            self.load_image(path)

    @staticmethod
    def _set_quiet(box: QtWidgets.QDoubleSpinBox, value: float) -> None:
        box.blockSignals(True)
        box.setValue(value)
        box.blockSignals(False)


def _message(e: SpecError, name: str | None = None) -> str:
    """A SpecError in the panel's words: "data.csv has 4 columns; ...", "data.csv: row 2 ..."."""
    text = e.message if e.message else str(e)
    if name:
        text = text.removesuffix(f" ({name})")
        if text.startswith(("has ", "is ", "holds ")):
            return f"{name} {text}"
        if name not in text:
            return f"{name}: {text}"
    return text[:1].upper() + text[1:]
