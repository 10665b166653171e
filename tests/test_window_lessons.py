"""The lesson panel in the window, offscreen: Page Down enters the next step (its preset,
its training and sampling), Page Up returns; the panel sits beside the views, not on them."""

from __future__ import annotations

import pytest

pytest.importorskip("pytestqt")

from PySide6.QtCore import QPoint, QRect, Qt  # noqa: E402

from small_preset import small_preset  # noqa: E402


@pytest.fixture
def lesson_file(tmp_path):
    (tmp_path / "a.toml").write_text(small_preset("Preset A", steps=50, grid=12))
    (tmp_path / "b.toml").write_text(small_preset("Preset B", steps=50, particles=300,
                                                  sampler_steps=40, grid=12))
    f = tmp_path / "lesson.toml"
    f.write_text('''title = "A test lesson"
[[step]]
title = "First"
preset = "a.toml"
text = "The score $s_{θ}(x) = ∇ₓ log p(x)$, **step one**."
view = "field"

[[step]]
title = "Second"
preset = "b.toml"
text = "Train, then sample to step 5."
train = 20
sample = 5

[[step]]
title = "Third"
text = "Fewer particles, the error map, one arrow scale."
arrows = "shared"
compare = "error"
[step.overrides]
"sampler.particles" = 100
''')
    return f


@pytest.fixture
def window(open_main_window):
    return open_main_window()


def _rect_in_window(widget, window) -> QRect:
    return QRect(widget.mapTo(window, QPoint(0, 0)), widget.size())


def test_page_down_enters_the_next_step_and_page_up_returns(window, lesson_file, qtbot):
    w = window
    assert not w.act_lesson_next.isEnabled()          # no lesson: the keys stay the widgets'
    assert w.open_lesson(str(lesson_file))
    panel = w.lesson_panel
    assert panel.isVisible() and not w.lesson.isVisible() and not w.left.isVisible()
    assert panel.count.text() == "Step 1 of 3" and w.preset.name == "Preset A"
    assert "<sub>θ</sub>" in panel.body.text() and "<b>step one</b>" in panel.body.text()
    assert not panel.back_button.isEnabled() and panel.next_button.isEnabled()

    qtbot.keyClick(w, Qt.Key_PageDown)
    assert panel.count.text() == "Step 2 of 3" and w.preset.name == "Preset B"
    # trains its 20 steps in the background, then samples and pauses at the cloud's step 5
    qtbot.waitUntil(lambda: w.session.sampling is not None
                    and w.session.sampling.sampler.done_steps == 5
                    and not w.session.sampling_playing, timeout=60000)
    assert w.trainer.step_count == 20
    qtbot.waitUntil(lambda: "Sampled 5 of 40" in panel.status.text(), timeout=5000)

    qtbot.keyClick(w, Qt.Key_PageDown)
    assert panel.count.text() == "Step 3 of 3" and not panel.next_button.isEnabled()
    assert w.preset.sampler["particles"] == 100 and w.preset.name == "Preset B"
    assert w.trainer.step_count == 20                 # a sampler edit keeps the weights
    assert w.views.arrow_combo.currentData() == "shared"
    assert w.views.mode_combo.currentData() == "error"

    qtbot.keyClick(w, Qt.Key_PageUp)
    assert panel.count.text() == "Step 2 of 3" and w.preset.sampler["particles"] == 300
    panel.back_button.click()
    assert panel.count.text() == "Step 1 of 3" and w.preset.name == "Preset A"
    panel.next_button.click()
    assert panel.count.text() == "Step 2 of 3"


def test_the_panel_is_beside_the_views_at_1280x720(window, lesson_file, qtbot):
    w = window
    w.open_lesson(str(lesson_file))
    qtbot.wait(300)
    panel = _rect_in_window(w.lesson_panel, w)
    views = _rect_in_window(w.views, w)
    assert not panel.intersects(views)
    assert panel.right() <= w.width() and panel.bottom() <= w.height()
    assert views.width() >= 800                       # the settings panel made room
    for b in (w.lesson_panel.back_button, w.lesson_panel.next_button):
        r = _rect_in_window(b, w)
        assert r.bottom() <= w.height() and b.isVisible()
    # presenter mode: larger text, still beside the views
    w.set_presenter(True)
    qtbot.wait(300)
    assert w.lesson_panel.isVisible()
    assert not _rect_in_window(w.lesson_panel, w).intersects(_rect_in_window(w.views, w))
    w.set_presenter(False)


def test_closing_the_lesson_gives_the_keys_back(window, lesson_file, qtbot):
    w = window
    w.open_lesson(str(lesson_file))
    w.lesson_panel.closed.emit()
    assert not w.lesson_panel.isVisible() and not w.act_lesson_next.isEnabled()
    name = w.preset.name
    qtbot.keyClick(w, Qt.Key_PageDown)
    assert w.preset.name == name


def test_a_bad_lesson_is_one_message_and_nothing_changes(window, tmp_path):
    w = window
    name = w.preset.name
    f = tmp_path / "bad.toml"
    f.write_text('title = "x"\n[[step]]\npreset = "langevin_1d"\nsample = 5000\n')
    assert not w.open_lesson(str(f))
    assert w.banner.isVisible() and "bad.toml" in w.last_error and "step[1].sample" in w.last_error
    assert w.preset.name == name and not w.lesson_panel.isVisible()


def test_a_shipped_lesson_by_name(window, qtbot):
    w = window
    assert w.open_lesson("langevin")
    assert w.lesson_panel.count.text() == "Step 1 of 4"
    assert w.preset.sampler["particles"] == 10_000
    qtbot.waitUntil(lambda: w.session.sampling is not None
                    and w.session.sampling.sampler.done_steps == 1, timeout=30000)


def test_training_until_a_fisher_divergence_pauses_at_it(window, tmp_path, qtbot):
    (tmp_path / "a.toml").write_text(small_preset("Preset A", steps=50, grid=12))
    f = tmp_path / "until.toml"
    f.write_text('title = "Until"\n[[step]]\npreset = "a.toml"\ntrain = 100000\n'
                 'until_fisher = 50.0\ntext = "Train until F/C <= 50."\n')
    w = window
    assert w.open_lesson(str(f))
    qtbot.waitUntil(lambda: w.lesson_panel.status.text().startswith("Trained"), timeout=120000)
    assert not w.session.playing and 0 < w.trainer.step_count < 100000
    assert w.trainer.fisher and w.trainer.fisher[-1][2] <= 50.0


def test_back_to_a_step_retrains_what_the_steps_before_it_trained(window, tmp_path, qtbot):
    """Step 2 shows step 1's trained network; reached by Back from another preset, its
    weights are fresh, so the window first trains the 20 steps step 1 would have."""
    (tmp_path / "a.toml").write_text(small_preset("Preset A", steps=50, grid=12))
    (tmp_path / "b.toml").write_text(small_preset("Preset B", steps=50, grid=12))
    f = tmp_path / "back.toml"
    f.write_text('title = "Back"\n[[step]]\npreset = "a.toml"\ntrain = 20\ntext = "1"\n'
                 '[[step]]\ncompare = "error"\ntext = "2"\n'
                 '[[step]]\npreset = "b.toml"\ntext = "3"\n')
    w = window
    w.open_lesson(str(f))
    qtbot.waitUntil(lambda: w.trainer.step_count == 20 and not w.session.playing, timeout=120000)
    qtbot.keyClick(w, Qt.Key_PageDown)
    qtbot.keyClick(w, Qt.Key_PageDown)
    assert w.preset.name == "Preset B" and w.trainer.step_count == 0
    qtbot.keyClick(w, Qt.Key_PageUp)
    assert w.preset.name == "Preset A" and w.lesson_panel.count.text() == "Step 2 of 3"
    qtbot.waitUntil(lambda: w.trainer.step_count == 20 and not w.session.playing, timeout=120000)
