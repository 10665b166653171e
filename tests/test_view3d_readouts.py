"""The 3-D view's readouts on a 1280x720 screen (issue 24): the projected view's readout column
fits its view and keeps its width when sampling starts (the cube does not move); the status
is wrapped rather than widening the column; the GL view's text boxes are arranged so that the
cube keeps the larger square (chrome.arrange)."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("pytestqt")

from PySide6 import QtGui  # noqa: E402

from explorer.gui.shoot_measure import graphics_clipped  # noqa: E402
from explorer.views.view3d import chrome  # noqa: E402
from explorer.views.view3d.overlay import wrap_lines  # noqa: E402
from explorer.views.view3d.projected_view import Projected3DView  # noqa: E402

STATUS = ("annealed Langevin, step 1000/1000, 1,000 NFE, σ = 0.3\n1 of 3,000 particles outside "
          "the box\nSW₂ 0.28 · TV 0.07 (floor of exact samples: 0.4 · 0.03)")
MODES = ([0.514, 0.288, 0.199], [0.5, 0.3, 0.2], ["(-3, -2, -1.5)", "(3, -1, 1.5)", "(0, 3, 0)"])


def _settle(qtbot, ms=150):
    qtbot.wait(ms)


@pytest.mark.parametrize("size", [(589, 358), (765, 358)], ids=["drawer-open", "drawer-closed"])
def test_projected_readouts_fit_and_the_cube_stays_put_when_sampling_starts(qtbot, size):
    """The sizes the 3-D view has in the window at 1280x720 (shoot's figures). Before the
    fix the status line ran unwrapped off the canvas and the column cut the note."""
    v = Projected3DView(reason="no OpenGL under the offscreen platform")
    qtbot.addWidget(v)
    v.resize(*size)
    v.show()
    qtbot.waitExposed(v)
    b = np.array([[-7.0, 7.0], [-7.0, 7.0], [-7.0, 7.0]])
    v.set_bounds(b)
    v.set_particles(np.random.default_rng(0).normal(size=(500, 3)) * 3)
    _settle(qtbot)
    before = v.vb.sceneBoundingRect()
    v.set_status(STATUS)
    v.set_mode_weights(*MODES)
    _settle(qtbot)
    after = v.vb.sceneBoundingRect()
    assert abs(after.left() - before.left()) < 2 and abs(after.width() - before.width()) < 2, \
        (before, after)
    assert graphics_clipped(v.graphics, v, "projected") == []
    col = v.readouts.geometry()
    assert col.right() <= v.width() + 1 and col.width() >= 180, col
    assert "particle fraction per mode" in v.status_text.plain_text


def test_wrap_lines_breaks_long_lines_at_spaces_and_keeps_every_word():
    font = QtGui.QFont()
    font.setPointSizeF(10)
    fm = QtGui.QFontMetricsF(font)
    width = 150.0
    out = wrap_lines(STATUS, font, width)
    assert out.split() == STATUS.split()                      # same words, same order
    for line in out.split("\n"):
        assert fm.horizontalAdvance(line) <= width or " " not in line, line
    assert len(out.split("\n")) > len(STATUS.split("\n"))
    assert wrap_lines("short", font, width) == "short"


def _img(w, h):
    return QtGui.QImage(w, h, QtGui.QImage.Format.Format_ARGB32)


def test_arrange_puts_the_legend_under_and_the_readouts_beside_on_a_short_screen():
    """A wide legend and two readouts at 590x330: all beside leaves the cube 590 - 431 px
    wide; all under, 330 minus three rows; legend under and readouts beside leaves more."""
    legend, status, table = _img(425, 100), _img(270, 90), _img(260, 100)
    how, images, below = chrome.arrange(590, 330, [legend, status, table],
                                        [legend, status, table], legend_at=0)
    assert how == "mixed" and images == [status, table] and below == [legend]
    room = {"beside": min(590 - chrome.flow_size([legend, status, table]).width(), 330),
            "under": min(590, 330 - chrome.flow_size([legend, status, table], 590).height()),
            "mixed": min(590 - chrome.flow_size([status, table]).width(),
                         330 - chrome.flow_size([legend], 590).height())}
    assert room["mixed"] == max(room.values()), room
    # without the mixed option (an exported frame) it is beside or under, as before
    how, _images, below = chrome.arrange(590, 330, [legend, status, table], [legend, status, table])
    assert how in ("beside", "under") and below == []
    # on a wide screen the column beside wins
    how, _images, _below = chrome.arrange(1400, 700, [legend, status, table],
                                          [legend, status, table], legend_at=0)
    assert how == "beside"
