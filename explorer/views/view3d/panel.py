"""`View3DPanel`: a 3-D view (GL or projected) with its controls and the learned-vs-true
slice plot; `make_view3d` picks the view this machine can show."""

from __future__ import annotations

import math

import numpy as np
import pyqtgraph as pg
from PySide6 import QtCore, QtGui, QtWidgets
from PySide6.QtCore import Signal

from .. import common as C
from ..style import BACKGROUND, SCREEN, ViewStyle
from .geometry import ARROW_MODES, AXIS_NAMES, DENSITY_MODES, fit_rows, slice_grid, tick_text
from .gl_context import grab_with_gl, render_with_gl
from .gl_view import View3D, render_rgb
from .projected_view import Projected3DView, upsample

# ====================================================================== panel
class View3DPanel(QtWidgets.QWidget):
    """The 3-D view (GL or projected), its controls and the slice's learned-vs-true FieldView.

    Signals (user actions only; `set_slice` from code does not emit):
      slice_changed(axis: int, value: float)  recompute the slice fields: `slice_points(n)`
                                              gives the plane's grid, `set_slice_fields` draws it;
      arrow_points_changed(str)               "grid" or "particles": where the window should
                                              evaluate the 3-D arrows passed to `set_fields`.
    """

    slice_changed = Signal(int, float)
    arrow_points_changed = Signal(str)

    SLIDER_STEPS = 200

    def __init__(self, parent=None, view=None, style: ViewStyle = SCREEN):
        super().__init__(parent)
        from ..field_view import FieldView
        if view is None:
            view = Projected3DView(style=style)
        self.view = view
        self.is_gl = bool(getattr(view, "is_gl", False))
        self.style = style
        self.slice_n = 0

        self.rotate_button = QtWidgets.QPushButton("\u27f3 Auto-rotate")
        self.rotate_button.setCheckable(True)
        self.rotate_button.setToolTip("Turn the camera slowly about the x\u2083 axis")
        self.rotate_button.toggled.connect(self.view.set_auto_rotate)
        self.density_combo = QtWidgets.QComboBox()
        for text, mode in (("density: isosurfaces", "surface"), ("density: samples", "cloud"),
                           ("density: hidden", "off")):
            self.density_combo.addItem(text, mode)
        self.density_combo.setToolTip("How p(x) is drawn: a translucent cloud of samples, or "
                                      "surfaces where p is 8% and 50% of its maximum")
        self.density_combo.currentIndexChanged.connect(
            lambda _i: self.view.set_density_mode(self.density_combo.currentData()))
        self.arrows_combo = QtWidgets.QComboBox()
        for text, mode in (("arrows: learned + true", "both"), ("arrows: learned", "learned"),
                           ("arrows: true", "true"), ("arrows: hidden", "off")):
            self.arrows_combo.addItem(text, mode)
        self.arrows_combo.currentIndexChanged.connect(
            lambda _i: self.view.set_arrow_mode(self.arrows_combo.currentData()))
        self.where_combo = QtWidgets.QComboBox()
        self.where_combo.addItem("on a grid", "grid")
        self.where_combo.addItem("on particles", "particles")
        self.where_combo.setToolTip("Where the 3-D arrows are drawn")
        self.where_combo.currentIndexChanged.connect(
            lambda _i: self.arrow_points_changed.emit(self.where_combo.currentData()))
        self.slice_check = QtWidgets.QCheckBox("slice")
        self.slice_check.setChecked(True)
        self.slice_check.setToolTip("Show the slice plane in 3-D (its fields are on the right)")
        self.slice_check.toggled.connect(self.view.set_slice_visible)
        self.axis_combo = QtWidgets.QComboBox()
        for k, name in enumerate(AXIS_NAMES):
            self.axis_combo.addItem(f"{name} =", k)
        self.axis_combo.setCurrentIndex(2)
        self.axis_combo.currentIndexChanged.connect(self._axis_changed)
        self.slice_slider = QtWidgets.QSlider(QtCore.Qt.Orientation.Horizontal)
        self.slice_slider.setRange(0, self.SLIDER_STEPS)
        self.slice_slider.setValue(self.SLIDER_STEPS // 2)
        self.slice_slider.setMinimumWidth(120)
        self.slice_slider.valueChanged.connect(self._slider_moved)
        self.slice_label = QtWidgets.QLabel("0")
        self.slice_label.setMinimumWidth(48)

        bar = QtWidgets.QHBoxLayout()
        bar.setContentsMargins(6, 4, 6, 2)
        for w in (self.rotate_button, self.density_combo, self.arrows_combo, self.where_combo):
            bar.addWidget(w)
        bar.addSpacing(12)
        for w in (self.slice_check, self.axis_combo):
            bar.addWidget(w)
        bar.addWidget(self.slice_slider, 1)
        bar.addWidget(self.slice_label)

        self.field_view = FieldView(style=style, compact_density=True)
        self.field_view.set_mode("overlay")
        self.split = QtWidgets.QSplitter(QtCore.Qt.Orientation.Horizontal)
        self.split.addWidget(self.view)
        self.split.addWidget(self.field_view)
        self.split.setStretchFactor(0, 3)
        self.split.setStretchFactor(1, 2)
        self.split.setSizes([600, 400])
        self._narrow_sizes = None    # the splitter's sizes before set_slice_wide(True)
        lay = QtWidgets.QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.setSpacing(0)
        lay.addLayout(bar)
        lay.addWidget(self.split, 1)
        self.setAutoFillBackground(True)
        pal = self.palette()
        pal.setColor(self.backgroundRole(), pg.mkColor(BACKGROUND))
        self.setPalette(pal)
        self._label_slice_plots()
        self._sync_slice_label()

    # ------------------------------------------------------------ pictures (GL included)
    def grab(self, rect=QtCore.QRect(0, 0, -1, -1)) -> QtGui.QPixmap:
        pix = super().grab(rect)
        return grab_with_gl(self, pix, rect) if self.is_gl else pix

    def render(self, target, *args, **kwargs):
        super().render(target, *args, **kwargs)
        if self.is_gl:
            render_with_gl(self, target, args, kwargs)

    def render_rgb(self, w: int | None = None, h: int | None = None) -> np.ndarray:
        return render_rgb(self, w or self.width(), h or self.height())

    # ------------------------------------------------------------ forwarding
    def set_bounds(self, bounds) -> None:
        self.view.set_bounds(bounds)
        self._sync_slider()
        self._label_slice_plots()

    def set_density_points(self, points, weights=None) -> None:
        self.view.set_density_points(points, weights)

    def set_density_grid(self, p) -> None:
        self.view.set_density_grid(p)

    @staticmethod
    def _choose(combo: QtWidgets.QComboBox, value: str, allowed, what: str) -> None:
        i = combo.findData(value)
        if i < 0:
            raise ValueError(f"{what} must be one of {allowed}")
        combo.setCurrentIndex(i)

    def set_density_mode(self, mode: str) -> None:
        self._choose(self.density_combo, mode, DENSITY_MODES, "density mode")
        self.view.set_density_mode(mode)

    def set_particles(self, x) -> None:
        self.view.set_particles(x)

    def set_paths(self, paths) -> None:
        """ODE samplers' particle paths (sampler.paths = true), (steps + 1, k, 3); None hides them."""
        self.view.set_paths(paths)

    @property
    def paths_shown(self) -> int:
        return self.view.paths_shown

    def set_fields(self, points, learned=None, true=None) -> None:
        self.view.set_fields(points, learned, true)

    def set_arrow_mode(self, mode: str) -> None:
        self._choose(self.arrows_combo, mode, ARROW_MODES, "arrow mode")
        self.view.set_arrow_mode(mode)

    def arrow_points(self) -> str:
        return self.where_combo.currentData()

    def set_auto_rotate(self, on: bool) -> None:
        self.rotate_button.setChecked(bool(on))   # toggles the view too
        self.view.set_auto_rotate(bool(on))

    def set_status(self, text: str) -> None:
        self.view.set_status(text)

    def set_mode_weights(self, fractions, true=None, labels=None) -> None:
        self.view.set_mode_weights(fractions, true, labels)

    def set_trails(self, enabled: bool, length: int = 8) -> None:
        self.view.set_trails(enabled, length)

    def apply_style(self, style: ViewStyle) -> None:
        self.style = style
        self.view.apply_style(style)
        self.field_view.apply_style(style)
        self._label_slice_plots()

    def camera(self) -> dict:
        return self.view.camera()

    # ------------------------------------------------------------ slice
    def slice(self) -> tuple[int, float]:
        s = self.view.scene
        return s.slice_axis, s.slice_value

    def set_slice(self, axis: int, value: float) -> None:
        """Move the plane from code (no signal)."""
        self.view.set_slice(axis, value)
        for w in (self.axis_combo, self.slice_slider):
            w.blockSignals(True)
        self.axis_combo.setCurrentIndex(self.view.scene.slice_axis)
        self._sync_slider()
        for w in (self.axis_combo, self.slice_slider):
            w.blockSignals(False)
        self._label_slice_plots()

    def set_slice_visible(self, on: bool) -> None:
        self.slice_check.setChecked(bool(on))

    def slice_points(self, n: int = 24) -> np.ndarray:
        """(n*n, 3) grid on the current plane, in the order `set_slice_fields` expects."""
        axis, value = self.slice()
        return slice_grid(self.view.scene.bounds, axis, value, n)

    def set_slice_fields(self, points, learned=None, true=None, density_at_points=None,
                         density_image=None) -> None:
        """Learned vs true on the plane: 3-D points and vectors; the FieldView shows the
        in-plane components over p on the plane: `density_image` (k x k over the plane's
        bounds, first index along the first in-plane axis, e.g. p on `slice_grid(bounds,
        axis, value, 96)` reshaped) or else `density_at_points` upsampled."""
        axis, value = self.slice()
        keep = [k for k in range(3) if k != axis]
        p = C.as_points(points, 3)
        g = len(p)
        lrn = fit_rows(learned, g)
        tru = fit_rows(true, g)
        b = self.view.scene.bounds
        self.field_view.set_bounds(b[keep])
        dens = None
        if density_at_points is not None:
            dens = np.asarray(density_at_points, dtype=np.float64).ravel()
            if len(dens) != g:
                dens = None
        n = int(round(math.sqrt(g))) if g else 0
        img = None if density_image is None else np.asarray(density_image, dtype=np.float64)
        if img is not None and img.ndim == 2 and min(img.shape) > 1:
            self.field_view.set_density(np.where(np.isfinite(img), img, 0.0))
        elif dens is not None and n * n == g and n > 1:
            self.field_view.set_density(upsample(dens.reshape(n, n), max(1, 160 // n)))
        else:
            self.field_view.set_density(None)
        self.field_view.set_fields(p[:, keep], None if lrn is None else lrn[:, keep],
                                   None if tru is None else tru[:, keep], dens)
        self.slice_n = n
        # short: a pyqtgraph title is as wide as its text at least, and a long one pushed the
        # narrow slice panel past the window's edge at 1280 px (the caption says the rest)
        C.set_title(self.field_view.overlay_plot,
                    f"Scores on the slice {AXIS_NAMES[axis]} = {tick_text(value)}", self.style)
        self.field_view.set_caption(self.slice_caption())

    def set_slice_densities(self, learned, true, readout: str = "", source: str = "",
                            true_title: str = "True p") -> None:
        """The "density" page on the plane: learned beside true, (k x k) images over the
        plane's bounds (first index along the first in-plane axis; either may be None), one
        colour scale, the readout (the KL on the 3-D grid) under them. Titles are short (a
        pyqtgraph title is as wide as its text, and a wider panel gets a wider range: the two
        maps' scales would differ); `source` (how p_theta is made) and the plane go in the caption."""
        self.field_view.set_densities(learned, true, readout, "Learned pθ", true_title)
        self.field_view.set_caption(self.density_caption(source))

    def density_caption(self, source: str = "") -> str:
        axis, value = self.slice()
        keep = [k for k in range(3) if k != axis]
        return (f"Slice {AXIS_NAMES[axis]} = {tick_text(round(value, 3))}, axes "
                f"({AXIS_NAMES[keep[0]]}, {AXIS_NAMES[keep[1]]}); colour: density, one scale"
                + (f"; {source}" if source else "")
                + "; lines: contours of the true p")

    def set_slice_wide(self, wide: bool) -> None:
        """Half the panel's width for the slice (two density maps side by side need it), or
        back to the sizes before; the user's own splitter drags are kept either way."""
        saved = self._narrow_sizes
        if wide and saved is None:
            self._narrow_sizes = sizes = self.split.sizes()
            total = sum(sizes)
            self.split.setSizes([total // 2, total - total // 2])
        elif not wide and saved is not None:
            self._narrow_sizes = None
            self.split.setSizes(saved)

    def slice_caption(self) -> str:
        """What the slice's FieldView shows, e.g. to prefix the window's own caption."""
        axis, value = self.slice()
        keep = [k for k in range(3) if k != axis]
        return (f"Slice {AXIS_NAMES[axis]} = {tick_text(value)}: in-plane components "
                f"({AXIS_NAMES[keep[0]]}, {AXIS_NAMES[keep[1]]}) of the scores")

    def _value_of(self, pos: int) -> float:
        lo, hi = self.view.scene.bounds[self.view.scene.slice_axis]
        return float(lo + (hi - lo) * pos / self.SLIDER_STEPS)

    def _sync_slider(self) -> None:
        s = self.view.scene
        lo, hi = s.bounds[s.slice_axis]
        pos = int(round((s.slice_value - lo) / (hi - lo) * self.SLIDER_STEPS))
        self.slice_slider.blockSignals(True)
        self.slice_slider.setValue(int(np.clip(pos, 0, self.SLIDER_STEPS)))
        self.slice_slider.blockSignals(False)
        self._sync_slice_label()

    def _sync_slice_label(self) -> None:
        self.slice_label.setText(tick_text(round(self.view.scene.slice_value, 3)))

    def _slider_moved(self, pos: int) -> None:
        axis = self.view.scene.slice_axis
        value = self._value_of(pos)
        self.view.set_slice(axis, value)
        self._sync_slice_label()
        self.slice_changed.emit(axis, value)

    def _axis_changed(self, i: int) -> None:
        axis = int(self.axis_combo.itemData(i))
        value = float(self.view.scene.bounds[axis].mean())
        self.view.set_slice(axis, value)
        self._sync_slider()
        self._label_slice_plots()
        self.slice_changed.emit(axis, value)

    def _label_slice_plots(self) -> None:
        """Axis names of the slice's plots and their range: the two in-plane axes."""
        axis = self.view.scene.slice_axis
        keep = [k for k in range(3) if k != axis]
        fv = self.field_view
        b = self.view.scene.bounds[keep]
        if not np.allclose(fv.bounds, b):
            fv.set_bounds(b)
        for plot in (fv.learned_plot, fv.true_plot, fv.overlay_plot, fv.error_plot,
                     fv.dens_learned_plot, fv.dens_true_plot):
            C.label_axes(plot, AXIS_NAMES[keep[0]], AXIS_NAMES[keep[1]], self.style)
        # the true map shares the learned one's y axis: its name once, and room for the colour bar
        fv.dens_true_plot.getAxis("left").showLabel(False)


# ====================================================================== factory and export
def make_view3d(parent=None, style: ViewStyle = SCREEN) -> View3DPanel:
    """The panel with a `View3D` when OpenGL >= 2.1 is there, else a `Projected3DView`."""
    from ..gl_probe import gl_available
    ok, reason = gl_available()
    view = None
    if ok:
        try:
            view = View3D(style=style)
        except Exception as e:  # pyqtgraph.opengl refused after all: fall back, say why
            ok, reason = False, f"3-D view failed: {type(e).__name__}: {e}"
    if view is None:
        view = Projected3DView(style=style, reason=reason)
    return View3DPanel(parent, view=view, style=style)
