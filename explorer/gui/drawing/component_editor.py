"""Place Gaussian components with the mouse: a `mixture` density with an analytic score.

Each component is drawn as its 2-sigma ellipse with two handles:
- the round centre handle (or anywhere inside the 1-sigma ellipse): drag to move;
- the square axis handle at the end of the major axis: drag to turn and stretch the
  covariance. The handle sets the direction of that axis and its length (2 std); the std
  across it is kept.
A click on empty space adds a component there (std 0.5, weight 1) and selects it. The side
panel edits the selected component: weight, the two stds, delete.

`components_changed` is emitted when an edit is finished (mouse released, a value entered,
a component added or deleted), never while dragging; the picture follows the drag live.
"""

from __future__ import annotations

import math

import numpy as np
import pyqtgraph as pg
from PySide6 import QtCore, QtGui, QtWidgets
from PySide6.QtCore import Signal

from ...core.errors import SpecError
from ...views.style import FOREGROUND, LEARNED, SCREEN, ViewStyle
from ...views import common as C

DEFAULT_BOUNDS = [[-4.0, 4.0], [-4.0, 4.0]]
NEW_STD = 0.5
NEW_WEIGHT = 1.0
MIN_STD = 0.03
MAX_STD = 50.0
HIT_PX = 10          # how near (screen pixels) a press must be to grab a handle
IMAGE_RES = 128
SELECTED = LEARNED   # orange
NORMAL = (235, 235, 235)
NO_COMPONENT_MESSAGE = "there are no components: click on the plot to place a Gaussian"


class Component:
    """weight w, mean mu, and covariance R(angle) diag(sa^2, sb^2) R(angle)^T.

    `sa` is the std along the handle's axis (direction `angle`), `sb` the std across it.
    """

    __slots__ = ("w", "mu", "angle", "sa", "sb")

    def __init__(self, w=NEW_WEIGHT, mu=(0.0, 0.0), angle=0.0, sa=NEW_STD, sb=NEW_STD):
        self.w = float(w)
        self.mu = np.asarray(mu, dtype=np.float64).reshape(2).copy()
        self.angle = float(angle)
        self.sa = float(sa)
        self.sb = float(sb)

    @classmethod
    def from_cov(cls, w, mu, cov) -> "Component":
        lam, vec = np.linalg.eigh(np.asarray(cov, dtype=np.float64))
        major = vec[:, 1]
        angle = math.atan2(major[1], major[0])
        if abs(lam[1] - lam[0]) <= 1e-12 * max(lam[1], 1e-300):
            angle = 0.0  # isotropic: the handle points along x1
        return cls(w, mu, angle, math.sqrt(lam[1]), math.sqrt(lam[0]))

    @property
    def axes(self) -> tuple[np.ndarray, np.ndarray]:
        u = np.array([math.cos(self.angle), math.sin(self.angle)])
        return u, np.array([-u[1], u[0]])

    def cov(self) -> np.ndarray:
        u, v = self.axes
        c = self.sa ** 2 * np.outer(u, u) + self.sb ** 2 * np.outer(v, v)
        c[1, 0] = c[0, 1]
        return c

    def handle(self) -> np.ndarray:
        return self.mu + 2.0 * self.sa * self.axes[0]

    def ellipse(self, k: float = 2.0, n: int = 72) -> tuple[np.ndarray, np.ndarray]:
        t = np.linspace(0.0, 2 * np.pi, n)
        u, v = self.axes
        p = self.mu[None] + k * (np.cos(t)[:, None] * self.sa * u + np.sin(t)[:, None] * self.sb * v)
        return p[:, 0], p[:, 1]

    def mahalanobis2(self, x) -> float:
        u, v = self.axes
        d = np.asarray(x, dtype=np.float64) - self.mu
        return float((d @ u / self.sa) ** 2 + (d @ v / self.sb) ** 2)

    def copy(self) -> "Component":
        return Component(self.w, self.mu, self.angle, self.sa, self.sb)


def mixture_image(comps: list[Component], bounds, n: int = IMAGE_RES) -> np.ndarray:
    """The mixture density on an n x n cell-centred grid (first index x), max scaled to 1."""
    b = C.bounds_array(bounds)
    xs = b[0, 0] + (np.arange(n) + 0.5) * (b[0, 1] - b[0, 0]) / n
    ys = b[1, 0] + (np.arange(n) + 0.5) * (b[1, 1] - b[1, 0]) / n
    X, Y = np.meshgrid(xs, ys, indexing="ij")
    p = np.zeros((n, n))
    total = sum(c.w for c in comps)
    for c in comps:
        u, v = c.axes
        dx, dy = X - c.mu[0], Y - c.mu[1]
        q = ((dx * u[0] + dy * u[1]) / c.sa) ** 2 + ((dx * v[0] + dy * v[1]) / c.sb) ** 2
        p += (c.w / total) * np.exp(-0.5 * q) / (2 * np.pi * c.sa * c.sb)
    top = p.max()
    return p / top if top > 0 else p


def _spin(lo, hi, step, decimals, tip) -> QtWidgets.QDoubleSpinBox:
    s = QtWidgets.QDoubleSpinBox()
    s.setRange(lo, hi)
    s.setSingleStep(step)
    s.setDecimals(decimals)
    s.setKeyboardTracking(False)  # valueChanged on Enter / arrows / focus out, not per key
    s.setToolTip(tip)
    return s


class ComponentEditor(QtWidgets.QWidget):
    """A 2-D Gaussian mixture drawn and edited with the mouse."""

    components_changed = Signal()
    selection_changed = Signal(int)  # index of the selected component, -1 for none

    def __init__(self, parent=None, bounds=None, style: ViewStyle = SCREEN):
        super().__init__(parent)
        self.style = style
        self._bounds = C.bounds_array(DEFAULT_BOUNDS if bounds is None else bounds)
        self._comps: list[Component] = []
        self._selected: int | None = None
        self._drag: str | None = None          # "move" | "axis" | None
        self._grab = np.zeros(2)               # offset from the centre where a move grabbed
        self._drag_changed = False
        self._labels: list[pg.TextItem] = []

        self.view, self.plot, self.vb, self.canvas_title = C.make_canvas_plot(
            "Place Gaussians (click to add)", style)

        self.image = C.DensityImage()
        self.plot.addItem(self.image)
        self.frame = pg.PlotCurveItem(pen=pg.mkPen(110, 110, 120, width=1, style=QtCore.Qt.DashLine))
        self.plot.addItem(self.frame)
        self.ellipses = pg.PlotCurveItem(connect="finite", antialias=True,
                                         pen=pg.mkPen(*NORMAL, 200, width=1.5))
        self.sel_ellipse = pg.PlotCurveItem(antialias=True, pen=pg.mkPen(*SELECTED, width=2.5))
        self.axis_lines = pg.PlotCurveItem(connect="pairs", antialias=True,
                                           pen=pg.mkPen(*NORMAL, 160, width=1, style=QtCore.Qt.DashLine))
        self.centres = pg.ScatterPlotItem(size=11, pxMode=True, antialias=True)
        self.handles = pg.ScatterPlotItem(size=10, symbol="s", pxMode=True, antialias=True)
        for z, it in enumerate((self.ellipses, self.axis_lines, self.sel_ellipse, self.centres,
                                self.handles)):
            it.setZValue(10 + z)
            self.plot.addItem(it)
        self.hint = pg.TextItem("Click to place a Gaussian", color=C.HINT, anchor=(0.5, 0.5),
                                fill=pg.mkBrush(*C.PANEL_FILL))
        self.hint.setZValue(90)
        self.plot.addItem(self.hint)

        self._build_side()
        self.canvas = C.titled(self.canvas_title, self.view)
        self._box = QtWidgets.QBoxLayout(QtWidgets.QBoxLayout.Direction.LeftToRight, self)
        self._box.setContentsMargins(0, 0, 0, 0)
        self._box.addWidget(self.canvas, 1)
        self._box.addWidget(self.side, 0)
        self.side_beside = True
        self.view.setToolTip("Click: add a Gaussian. Drag the centre or inside: move. "
                             "Drag the square handle: turn and stretch. Delete: remove selected.")

        vp = self.view.viewport()
        vp.setMouseTracking(True)
        vp.installEventFilter(self)
        self.view.setFocusPolicy(QtCore.Qt.StrongFocus)
        for key in (QtGui.QKeySequence.Delete, QtGui.QKeySequence(QtCore.Qt.Key_Backspace)):
            # on the plot only: Delete in a spin box edits its text
            sc = QtGui.QShortcut(key, self.view, context=QtCore.Qt.WidgetShortcut)
            sc.activated.connect(self.delete_selected)
        self._layout_bounds()
        self._redraw()

    # ------------------------------------------------------------ side panel
    def _build_side(self) -> None:
        self.side = QtWidgets.QFrame()
        v = QtWidgets.QVBoxLayout(self.side)
        v.setContentsMargins(6, 6, 6, 6)
        self.title = QtWidgets.QLabel()
        self.title.setWordWrap(True)
        self.form = QtWidgets.QGridLayout()
        self.form.setHorizontalSpacing(6)
        self.weight_box = _spin(0.01, 1000.0, 0.1, 2, "Weight of the selected component "
                                "(the weights are normalised to sum 1)")
        self.major_box = _spin(MIN_STD, MAX_STD, 0.05, 3, "Std along the handle's axis")
        self.minor_box = _spin(MIN_STD, MAX_STD, 0.05, 3, "Std across the handle's axis")
        self.angle_box = _spin(-180.0, 180.0, 5.0, 1, "Direction of the handle's axis, degrees from x\u2081")
        self.angle_box.setWrapping(True)
        self._fields = [(QtWidgets.QLabel(text), box) for text, box in (
            ("Weight", self.weight_box), ("Std along", self.major_box),
            ("Std across", self.minor_box), ("Angle °", self.angle_box))]
        self.share = QtWidgets.QLabel()
        self.share.setWordWrap(True)
        self.delete_button = QtWidgets.QPushButton("Delete")
        self.delete_button.setToolTip("Remove the selected component (Delete)")
        self.delete_button.clicked.connect(self.delete_selected)
        self.clear_button = QtWidgets.QPushButton("Remove all")
        self.clear_button.clicked.connect(self.clear)
        self.help = QtWidgets.QLabel("Click: add a Gaussian<br>Drag ● or inside: move<br>"
                                     "Drag ■: turn and stretch<br>Delete: remove selected")
        self.help.setStyleSheet("color: #aaaab2;")
        self.help.setWordWrap(True)
        v.addWidget(self.title)
        v.addLayout(self.form)
        v.addWidget(self.share)
        row = QtWidgets.QHBoxLayout()
        row.addWidget(self.delete_button)
        row.addWidget(self.clear_button)
        v.addLayout(row)
        v.addStretch(1)
        v.addWidget(self.help)
        self._arrange_side(beside=True)
        self.weight_box.valueChanged.connect(lambda x: self._edit_selected("w", x))
        self.major_box.valueChanged.connect(lambda x: self._edit_selected("sa", x))
        self.minor_box.valueChanged.connect(lambda x: self._edit_selected("sb", x))
        self.angle_box.valueChanged.connect(lambda x: self._edit_selected("angle", math.radians(x)))

    def _arrange_side(self, beside: bool) -> None:
        """Beside the canvas: one field a row, help text shown. Under it: two fields a row,
        help in the canvas's tooltip, so the canvas keeps most of the height."""
        for label, box in self._fields:
            self.form.removeWidget(label)
            self.form.removeWidget(box)
        cols = 1 if beside else 2
        for i, (label, box) in enumerate(self._fields):
            r, c = divmod(i, cols)
            self.form.addWidget(label, r, 2 * c)
            self.form.addWidget(box, r, 2 * c + 1)
        self.help.setVisible(beside)
        if beside:
            self.side.setMinimumWidth(170)
            self.side.setMaximumWidth(220)
        else:
            self.side.setMinimumWidth(0)
            self.side.setMaximumWidth(16777215)

    def resizeEvent(self, ev) -> None:
        super().resizeEvent(ev)
        self._place_side()

    def _place_side(self) -> None:
        """Side panel beside the canvas or under it, whichever leaves the larger square
        canvas (the Draw tab is narrow: at 1280 x 720 under it wins)."""
        w, h = self.width(), self.height()
        line = self.fontMetrics().height() + 12
        side_w = 190
        side_h = 7 * line   # two lines of title, two rows of fields, share, buttons
        beside = min(w - side_w, h) >= min(w, h - side_h)
        if beside == self.side_beside:
            return
        self.side_beside = beside
        self._arrange_side(beside)
        self._box.setDirection(QtWidgets.QBoxLayout.Direction.LeftToRight if beside
                               else QtWidgets.QBoxLayout.Direction.TopToBottom)

    def _sync_side(self) -> None:
        k = self._selected
        has = k is not None
        for w in (self.weight_box, self.major_box, self.minor_box, self.angle_box, self.delete_button):
            w.setEnabled(has)
        self.clear_button.setEnabled(bool(self._comps))
        n = len(self._comps)
        if not has:
            self.title.setText(f"<b>{n} component{'s' if n != 1 else ''}</b><br>none selected"
                               if n else "<b>No components</b>")
            self.share.setText("")
            return
        c = self._comps[k]
        self.title.setText(f"<b>Component {k + 1} of {n}</b><br>mean ({c.mu[0]:.2f}, {c.mu[1]:.2f})")
        total = sum(q.w for q in self._comps)
        self.share.setText(f"share of the mass: {c.w / total:.3f}")
        for box, val in ((self.weight_box, c.w), (self.major_box, c.sa), (self.minor_box, c.sb),
                         (self.angle_box, math.degrees(_wrap(c.angle)))):
            box.blockSignals(True)
            box.setValue(val)
            box.blockSignals(False)

    def _edit_selected(self, attr: str, value: float) -> None:
        if self._selected is None:
            return
        c = self._comps[self._selected]
        if attr == "w":
            value = max(0.01, float(value))
        elif attr in ("sa", "sb"):
            value = float(np.clip(value, MIN_STD, MAX_STD))
        if getattr(c, attr) == value:
            return
        setattr(c, attr, float(value))
        self._redraw()
        self.components_changed.emit()

    # ------------------------------------------------------------ public state
    def components(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(weights (K,), means (K, 2), covariances (K, 2, 2)); weights as entered (not normalised)."""
        K = len(self._comps)
        if K == 0:
            return np.zeros(0), np.zeros((0, 2)), np.zeros((0, 2, 2))
        return (np.array([c.w for c in self._comps]), np.stack([c.mu for c in self._comps]),
                np.stack([c.cov() for c in self._comps]))

    def set_components(self, weights, means, covs=None) -> None:
        """Replace all components. covs: (K, 2, 2) covariances, or (K,) isotropic stds, or None
        (std 0.5). SpecError for shapes that do not fit or a covariance that is not positive
        definite. Emits nothing."""
        m = np.asarray(means, dtype=np.float64)
        if m.size == 0:
            m = m.reshape(0, 2)
        if m.ndim != 2 or m.shape[1] != 2:
            raise SpecError("density.means", f"the editor places 2-D components; got shape {m.shape}")
        K = m.shape[0]
        w = np.ones(K) if weights is None else np.asarray(weights, dtype=np.float64).reshape(-1)
        if w.shape[0] != K or not np.all(w > 0) or not np.all(np.isfinite(w)):
            raise SpecError("density.weights", f"expected {K} positive weights")
        if not np.all(np.isfinite(m)):
            raise SpecError("density.means", "must be finite")
        if covs is None:
            c = np.full(K, NEW_STD)
        else:
            c = np.asarray(covs, dtype=np.float64)
        comps = []
        for k in range(K):
            if c.ndim == 1:
                if not c[k] > 0:
                    raise SpecError(f"density.stds[{k}]", "must be positive")
                comps.append(Component(w[k], m[k], 0.0, c[k], c[k]))
                continue
            ck = c[k]
            if ck.shape != (2, 2) or not np.all(np.isfinite(ck)) or abs(ck[0, 1] - ck[1, 0]) > 1e-9 * (1 + abs(ck).max()):
                raise SpecError(f"density.covariances[{k}]", "expected a symmetric 2 x 2 matrix")
            if np.linalg.eigvalsh(ck)[0] <= 0:
                raise SpecError(f"density.covariances[{k}]", "is not positive definite")
            comp = Component.from_cov(w[k], m[k], ck)
            comp.sa, comp.sb = (float(np.clip(s, MIN_STD, MAX_STD)) for s in (comp.sa, comp.sb))
            comps.append(comp)
        self._end_drag(emit=False)
        self._comps = comps
        self._selected = (K - 1) if K else None
        self._redraw()

    def load_spec(self, spec: dict) -> None:
        """Show a 2-D mixture [density] table (weights, means, stds or covariances, bounds)."""
        if spec.get("bounds") is not None:
            self.set_bounds(spec["bounds"])
        means = spec.get("means", [])
        covs = spec.get("covariances")
        if covs is None:
            stds = spec.get("stds")
            covs = None if stds is None else np.asarray(stds, dtype=np.float64)
        self.set_components(spec.get("weights"), means, covs)

    def count(self) -> int:
        return len(self._comps)

    def selected(self) -> int | None:
        return self._selected

    def select(self, k: int | None) -> None:
        self._selected = None if k is None or not 0 <= k < len(self._comps) else int(k)
        self._redraw()
        self.selection_changed.emit(-1 if self._selected is None else self._selected)

    def bounds(self) -> list[list[float]]:
        return [[float(lo), float(hi)] for lo, hi in self._bounds]

    def set_bounds(self, b) -> None:
        self._bounds = C.bounds_array(b)
        self._layout_bounds()
        self._redraw()

    def add_component(self, x: float, y: float, std: float = NEW_STD, weight: float = NEW_WEIGHT,
                      emit: bool = True) -> int:
        self._comps.append(Component(weight, (x, y), 0.0, std, std))
        self._selected = len(self._comps) - 1
        self._redraw()
        self.selection_changed.emit(self._selected)
        if emit:
            self.components_changed.emit()
        return self._selected

    def delete_selected(self) -> None:
        if self._selected is None:
            return
        self._end_drag(emit=False)
        del self._comps[self._selected]
        self._selected = (len(self._comps) - 1) if self._comps else None
        self._redraw()
        self.selection_changed.emit(-1 if self._selected is None else self._selected)
        self.components_changed.emit()

    def clear(self) -> None:
        if not self._comps:
            return
        self._end_drag(emit=False)
        self._comps = []
        self._selected = None
        self._redraw()
        self.components_changed.emit()

    def density_spec(self) -> dict:
        """{"kind": "mixture", "weights", "means", "covariances", "bounds"}; SpecError if empty."""
        if not self._comps:
            raise SpecError("density", NO_COMPONENT_MESSAGE)
        w, m, c = self.components()
        r = lambda a: np.round(a, 6).tolist()  # noqa: E731
        return {"kind": "mixture", "weights": r(w), "means": r(m), "covariances": r(c),
                "bounds": self.bounds()}

    # ------------------------------------------------------------ drawing
    def _layout_bounds(self) -> None:
        b = self._bounds
        self.frame.setData([b[0, 0], b[0, 1], b[0, 1], b[0, 0], b[0, 0]],
                           [b[1, 0], b[1, 0], b[1, 1], b[1, 1], b[1, 0]])
        C.fit_box(self.vb, b)
        self.hint.setPos(b[0].mean(), b[1].mean())

    def _redraw(self, image: bool = True) -> None:
        comps = self._comps
        sel = self._selected
        if image:
            if comps:
                self.image.set_density(mixture_image(comps, self._bounds), self._bounds)
            else:
                self.image.set_density(None)
        xs, ys, lx, ly = [], [], [], []
        for k, c in enumerate(comps):
            ex, ey = c.ellipse()
            if k != sel:
                xs += [ex, [np.nan]]
                ys += [ey, [np.nan]]
            h = c.handle()
            lx += [c.mu[0], h[0]]
            ly += [c.mu[1], h[1]]
        self.ellipses.setData(np.concatenate(xs) if xs else [], np.concatenate(ys) if ys else [])
        if sel is not None:
            self.sel_ellipse.setData(*comps[sel].ellipse())
        else:
            self.sel_ellipse.setData([], [])
        self.axis_lines.setData(np.asarray(lx), np.asarray(ly))
        pen_n, pen_s = pg.mkPen(20, 20, 24, width=1.5), pg.mkPen(20, 20, 24, width=1.5)
        spots_c = [{"pos": tuple(c.mu), "brush": pg.mkBrush(*(SELECTED if k == sel else NORMAL)),
                    "pen": pen_s if k == sel else pen_n} for k, c in enumerate(comps)]
        spots_h = [{"pos": tuple(c.handle()), "brush": pg.mkBrush(*(SELECTED if k == sel else NORMAL)),
                    "pen": pen_s if k == sel else pen_n} for k, c in enumerate(comps)]
        self.centres.setData(spots_c)
        self.handles.setData(spots_h)
        self._update_labels()
        self.hint.setVisible(not comps)
        self._sync_side()

    def _update_labels(self) -> None:
        comps = self._comps
        while len(self._labels) < len(comps):
            t = pg.TextItem(color=FOREGROUND, anchor=(0.5, 1.25))
            t.setZValue(30)
            self.plot.addItem(t)
            self._labels.append(t)
        total = sum(c.w for c in comps) or 1.0
        for k, t in enumerate(self._labels):
            if k < len(comps):
                c = comps[k]
                t.setText(f"{c.w / total:.2f}")
                t.setColor(SELECTED if k == self._selected else FOREGROUND)
                t.setPos(c.mu[0], c.mu[1])
                t.setVisible(True)
            else:
                t.setVisible(False)

    # ------------------------------------------------------------ mouse
    def _to_data(self, pos) -> np.ndarray:
        p = self.vb.mapSceneToView(self.view.mapToScene(pos.toPoint()))
        return np.array([p.x(), p.y()])

    def map_data_to_viewport(self, x: float, y: float) -> QtCore.QPoint:
        """Viewport pixel of a data point (for synthetic mouse events in tests)."""
        return self.view.mapFromScene(self.vb.mapViewToScene(QtCore.QPointF(float(x), float(y))))

    def viewport(self) -> QtWidgets.QWidget:
        return self.view.viewport()

    def _screen(self, p) -> QtCore.QPointF:
        return self.vb.mapViewToScene(QtCore.QPointF(float(p[0]), float(p[1])))

    def hit_test(self, scene_pos: QtCore.QPointF, data_pos: np.ndarray) -> tuple[str | None, int | None]:
        """("axis" | "move" | None, index): handles first (the selected component's first),
        then the inside of a 1-sigma ellipse (the smallest such component)."""
        order = list(range(len(self._comps)))[::-1]
        if self._selected is not None:
            order.remove(self._selected)
            order.insert(0, self._selected)

        def near(p):
            s = self._screen(p)
            return math.hypot(s.x() - scene_pos.x(), s.y() - scene_pos.y()) <= HIT_PX

        for kind, where in (("axis", lambda c: c.handle()), ("move", lambda c: c.mu)):
            for k in order:
                if near(where(self._comps[k])):
                    return kind, k
        inside = [(c.sa * c.sb, k) for k in order
                  if (c := self._comps[k]).mahalanobis2(data_pos) <= 1.0]
        if inside:
            return "move", min(inside)[1]
        return None, None

    def eventFilter(self, obj, ev) -> bool:
        E = QtCore.QEvent.Type
        t = ev.type()
        if t == E.MouseButtonPress and ev.button() == QtCore.Qt.LeftButton:
            self.view.setFocus(QtCore.Qt.MouseFocusReason)
            pos = ev.position()
            scene = self.view.mapToScene(pos.toPoint())
            p = self._to_data(pos)
            kind, k = self.hit_test(QtCore.QPointF(scene), p)
            if kind is None:
                k = self.add_component(p[0], p[1], emit=False)
                kind = "move"
                self._drag_changed = True   # the add itself is the edit
            else:
                if k != self._selected:
                    self._selected = k
                    self._redraw(image=False)
                    self.selection_changed.emit(k)
                self._drag_changed = False
            self._drag = kind
            self._grab = p - self._comps[k].mu
            return True
        if t == E.MouseMove:
            if self._drag is not None:
                self._drag_to(self._to_data(ev.position()))
                return True
            return False
        if t == E.MouseButtonRelease and ev.button() == QtCore.Qt.LeftButton:
            if self._drag is not None:
                self._drag_to(self._to_data(ev.position()))
                self._end_drag(emit=True)
            return True
        if t == E.MouseButtonDblClick and ev.button() == QtCore.Qt.LeftButton:
            return True
        return False

    def _drag_to(self, p: np.ndarray) -> None:
        if self._selected is None:
            return
        c = self._comps[self._selected]
        if self._drag == "move":
            new = p - self._grab
            if np.allclose(new, c.mu):
                return
            c.mu = new
        elif self._drag == "axis":
            v = p - c.mu
            r = float(np.hypot(*v))
            if r < 1e-6:
                return
            angle, sa = math.atan2(v[1], v[0]), float(np.clip(r / 2.0, MIN_STD, MAX_STD))
            if angle == c.angle and sa == c.sa:
                return
            c.angle, c.sa = angle, sa
        else:
            return
        self._drag_changed = True
        self._redraw()

    def _end_drag(self, emit: bool) -> None:
        changed = self._drag is not None and self._drag_changed
        self._drag = None
        self._drag_changed = False
        if changed and emit:
            self.components_changed.emit()


def _wrap(a: float) -> float:
    return (a + math.pi) % (2 * math.pi) - math.pi
