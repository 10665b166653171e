"""Issue 24's smaller items, each on its own widget (no window, no training): the 1-D
legend lists only drawn curves, the wheel does not change an unfocused control, a traced
path's running mean, the gallery's titles uncut."""

import numpy as np
import pytest


@pytest.fixture(scope="module")
def app():
    from explorer.views.application import make_app
    return make_app()


def test_1d_legend_lists_learned_density_only_while_it_is_drawn(app):
    from explorer.views.curve1d_view import Curve1DView
    v = Curve1DView()

    def names():
        return [label.text for _s, label in v.top_legend.items]
    assert not any("learned" in n for n in names())
    xs = np.linspace(-3, 3, 50)
    v.set_learned_density(xs, np.exp(-xs ** 2 / 2), kl=0.01)
    assert any(n.startswith("learned pθ(x) (KL 0.01)") for n in names())
    v.set_learned_density(xs, None)
    assert not any("learned" in n for n in names())


def _wheel(widget, dy=120):
    from PySide6.QtCore import QPoint, QPointF, Qt
    from PySide6.QtGui import QWheelEvent
    from PySide6.QtWidgets import QApplication
    centre = QPointF(widget.width() / 2, widget.height() / 2)
    ev = QWheelEvent(centre, QPointF(widget.mapToGlobal(centre.toPoint())), QPoint(0, 0),
                     QPoint(0, dy), Qt.NoButton, Qt.NoModifier, Qt.NoScrollPhase, False)
    QApplication.sendEvent(widget, ev)


def test_wheel_changes_a_spin_box_only_once_it_has_the_focus(app):
    from PySide6.QtWidgets import QDoubleSpinBox, QVBoxLayout, QWidget
    from explorer.gui.controls.wheel_guard import guard_wheel
    root = QWidget()
    box = QDoubleSpinBox(root)
    QVBoxLayout(root).addWidget(box)
    box.setValue(2.0)
    guard_wheel(root)
    root.show()
    app.processEvents()
    root.setFocus()
    _wheel(box)
    assert box.value() == 2.0, "scrolled past, not changed"
    box.setFocus()
    app.processEvents()
    if box.hasFocus():   # the offscreen platform gives focus to a shown window's widget
        _wheel(box)
        assert box.value() != 2.0, "clicked into, the wheel steps it"
    root.close()


def test_running_mean_of_a_path():
    from explorer.views.particles_view import running_mean
    rng = np.random.default_rng(0)
    path = rng.normal(size=(101, 2)).cumsum(0)
    k = 5
    m = running_mean(path, k)
    want = np.stack([np.convolve(path[:, j], np.ones(k) / k, mode="valid") for j in range(2)], 1)
    assert np.allclose(m[1:-1], want)
    assert np.array_equal(m[0], path[0]) and np.array_equal(m[-1], path[-1])
    assert running_mean(path, 1) is path


def test_gallery_titles_are_not_elided(app):
    from PySide6.QtCore import QRect, Qt
    from explorer.gui.gallery import PresetGallery
    g = PresetGallery(None)
    fm = g.list.fontMetrics()
    grid = g.list.gridSize()
    assert g.list.textElideMode() == Qt.ElideNone
    for i in range(g.list.count()):
        text = g.list.item(i).text()
        need = fm.boundingRect(QRect(0, 0, grid.width() - 12, 10_000), Qt.TextWordWrap, text)
        assert need.height() + g.list.iconSize().height() <= grid.height(), text
    g.close()
