"""The σ trade-off dialog, offscreen: opened from compare mode, it draws the bias and both
variance curves (computed in a thread), overlays the DSM variants as points, reports a bad σ
list in words, and joins its thread when compare mode closes."""

import threading

import numpy as np
import pytest

pytest.importorskip("pytestqt")

from small_preset import small_preset  # noqa: E402

SMALL = small_preset("Small mixture", steps=20, particles=100, sampler_steps=10, grid=8)


@pytest.fixture
def window(open_main_window, tmp_path):
    f = tmp_path / "small.toml"
    f.write_text(SMALL)
    return open_main_window(f, size=None)


def _threads():
    return [t for t in threading.enumerate() if t.name == "dsm-tradeoff" and t.is_alive()]


def test_compare_mode_opens_the_tradeoff_plot_with_the_dsm_variants(window, qtbot):
    compare = window.open_compare()
    qtbot.addWidget(compare)
    compare.lab.add({"objective.kind": "dsm", "objective.sigma": 0.05})
    compare.lab.add({"objective.kind": "dsm", "objective.sigma": 0.5})
    compare.lab.add({"objective.kind": "ism"})               # not DSM: no point
    compare.toggle_play()
    qtbot.waitUntil(lambda: compare.lab.finished, timeout=60_000)

    dialog = compare.open_tradeoff()
    dialog.sigmas.setText("0.02:1:4")
    dialog.samples.setValue(128)
    dialog.compute()
    qtbot.waitUntil(lambda: dialog.result is not None, timeout=60_000)
    view = dialog.view
    for item in (view.bias, view.loss_var, view.grad_var, view.loss_theory, view.grad_ref):
        x, y = item.getData()
        assert len(x) == 4 and np.all(np.isfinite(y)), item
    x, y = view.bias.getData()                               # log-mode data: log10 values
    assert np.allclose(10 ** x, [0.02, 0.02 * 50 ** (1 / 3), 0.02 * 50 ** (2 / 3), 1.0])
    assert np.all(np.diff(y) > 0)                            # the bias grows with sigma
    dialog.refresh_points()
    assert sorted(p[2] for p in view.trained) == [0.05, 0.5]
    names = view.curve_names()
    assert any(n.startswith("bias") for n in names) and any("Var" in n for n in names)
    assert sum(n.startswith("trained:") for n in names) == 2
    assert "slopes at small σ" in view.plot.title_text

    dialog.sigmas.setText("2:1:3")                           # a bad range: said, nothing runs
    dialog.compute()
    assert "--sigmas" not in dialog.status.text() and "lo < hi" in dialog.status.text()
    dialog.sigmas.setText("0.01:1:30")
    dialog.samples.setValue(100_000)
    dialog.compute()                                          # long: closing must stop it
    assert _threads()
    compare.close()
    assert not _threads(), "the measuring thread outlived compare mode"


def test_view_menu_opens_it_for_the_preset_on_screen(window, qtbot):
    dialog = window.open_tradeoff()
    qtbot.addWidget(dialog)
    assert dialog.busy()
    dialog.reject()                                            # Escape: stopped and joined
    assert not _threads()


def test_a_lesson_step_with_tradeoff_opens_it_and_leaving_the_step_closes_it(window, tmp_path, qtbot):
    from PySide6.QtCore import Qt
    (tmp_path / "a.toml").write_text(SMALL)
    f = tmp_path / "lesson.toml"
    f.write_text('title = "Trade-off"\n[[step]]\npreset = "a.toml"\ntext = "one"\n'
                 '[[step]]\ntext = "the picture"\ntradeoff = true\n'
                 '[[step]]\ntext = "after"\n')
    assert window.open_lesson(str(f))
    assert getattr(window, "tradeoff_dialog", None) is None
    qtbot.keyClick(window, Qt.Key_PageDown)
    dialog = window.tradeoff_dialog
    assert dialog is not None and dialog.isVisible()
    qtbot.keyClick(dialog, Qt.Key_PageDown)                    # the lesson's keys work on it
    assert window.lesson_panel.count.text() == "Step 3 of 3"
    assert window.tradeoff_dialog is None and not dialog.isVisible() and not _threads()
