"""How exported frames use a slide (issue 24): a particle slide is centred, not a plot in
the left half; where the learned and the true score agree both sets of arrows still show;
a 1-D training frame, which has no particles, does not list them; tick labels stand apart."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("pytestqt")

from explorer.core.run.headless import train_and_sample  # noqa: E402
from explorer.views.style import BACKGROUND, LEARNED, SLIDE_720, TRUE  # noqa: E402
from small_preset import shipped  # noqa: E402


def _drawn_columns(frame: np.ndarray) -> np.ndarray:
    """Columns of the frame with anything but the background in them."""
    diff = np.abs(frame.astype(int) - np.asarray(BACKGROUND, int)).max(axis=2) > 40
    return np.flatnonzero(diff.any(axis=0))


def _near(frame: np.ndarray, rgb, tol: int = 30) -> int:
    return int((np.abs(frame.astype(int) - np.asarray(rgb, int)).max(axis=2) <= tol).sum())


def test_a_particle_slide_is_centred(qapp):
    from explorer.export.frames import ParticleScene, mode_readout
    preset = shipped("two_modes_annealed", training={"steps": 5},
                    sampler={"particles": 300, "steps": 10})
    result = train_and_sample(preset)
    density = result.trainer.density
    scene = ParticleScene(preset, density, (1280, 720), SLIDE_720, title="Two modes")
    try:
        frame = scene.render({"x": result.samples, "status": "annealed Langevin, step 10/10",
                              "modes": mode_readout(result.samples, density)})
        cols = _drawn_columns(frame[80:])            # under the title line
        left, right = cols.min(), 1280 - 1 - cols.max()
        # before: the plot from x = 10, the readout column's legend box to the right edge
        assert left > 60 and right > 60, (left, right)
        assert abs(left - right) < 0.1 * 1280, (left, right)
    finally:
        scene.close()


def test_learned_arrows_equal_to_the_true_ones_leave_the_true_ones_visible(qtbot):
    from explorer.views.field_view import FieldView
    v = FieldView()
    qtbot.addWidget(v)
    v.resize(700, 600)
    v.show()
    qtbot.waitExposed(v)
    v.set_bounds(np.array([[-3.0, 3.0], [-3.0, 3.0]]))
    v.set_mode("overlay")
    g = np.linspace(-2.5, 2.5, 12)
    pts = np.stack(np.meshgrid(g, g), -1).reshape(-1, 2).astype(np.float32)
    field = -pts                                      # learned exactly the true score
    v.set_fields(pts, field, field)
    qtbot.wait(100)
    img = v.grab().toImage().convertToFormat(v.grab().toImage().Format.Format_RGB888)
    a = np.frombuffer(img.constBits(), np.uint8).reshape(img.height(), img.bytesPerLine())
    a = a[:, : img.width() * 3].reshape(img.height(), img.width(), 3)
    blue, orange = _near(a, TRUE), _near(a, LEARNED)
    assert orange > 300, orange
    assert blue > 0.3 * orange, (blue, orange)       # before: the orange covered the blue


def test_a_1d_training_frame_lists_no_particles(qapp):
    from explorer.export.frames import TrainingScene
    from explorer.views.legends import legend_names
    preset = shipped("langevin_1d", training={"steps": 5})
    density = preset.build_density()
    scene = TrainingScene(preset, density, (1280, 720), SLIDE_720, show="training")
    try:
        names = legend_names(scene.field.top_legend)
        assert names and not any("particles" in n for n in names), names
        assert "particles" not in scene.field.top.title_text
    finally:
        scene.close()


def test_tick_labels_on_a_slide_stand_apart(qtbot):
    """Bounds [-8, 8] over 580 px at the slide font: pyqtgraph labelled every unit."""
    from PySide6 import QtGui
    from explorer.views.particles_view import ParticlesView
    v = ParticlesView()
    qtbot.addWidget(v)
    v.apply_style(SLIDE_720)
    for name in ("bottom", "left"):
        ax = v.plot.getAxis(name)
        # every tick pyqtgraph may label: those of all levels
        values = sorted({round(float(t), 9) for _spacing, ts in ax.tickValues(-8.0, 8.0, 580)
                         for t in ts})
        fm = QtGui.QFontMetricsF(ax.style["tickFont"])
        widest = max(fm.horizontalAdvance(f"{t:g}") for t in values)
        gaps = np.diff(values) * 580 / 16
        assert len(values) <= 9 and gaps.min() >= (widest if name == "bottom" else 0) + fm.height(), \
            (name, values)


def test_a_1d_particle_slide_gives_the_curves_the_width(qapp):
    from explorer.export.frames import ParticleScene, mode_readout
    preset = shipped("langevin_1d", training={"steps": 5}, sampler={"particles": 300, "steps": 10})
    result = train_and_sample(preset)
    density = result.trainer.density
    scene = ParticleScene(preset, density, (1280, 720), SLIDE_720)
    try:
        scene.render({"x": result.samples, "status": "Langevin (true score), step 10/10",
                      "modes": mode_readout(result.samples, density)})
        width = scene.view.top.getViewBox().width()
        assert width >= 0.55 * 1280, width          # before: 525 px, the readouts the rest
    finally:
        scene.close()
