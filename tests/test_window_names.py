"""What the window calls what it shows (issue 24): the last step of a lesson offers the
course's next lesson and Page Down opens it; a density drawn in the Draw tab renames the
window, the lesson card and an exported slide's title."""

from __future__ import annotations

import pytest

pytest.importorskip("pytestqt")

from small_preset import small_preset  # noqa: E402


@pytest.fixture
def course(tmp_path, monkeypatch):
    """A course of two lessons in course order ("one" then "two"), in a folder that stands
    for the shipped lessons."""
    from explorer.core.lessons import catalog
    (tmp_path / "presets").mkdir()      # not a lesson: every .toml beside course.toml is one
    (tmp_path / "presets" / "a.toml").write_text(small_preset("Preset A", steps=50, grid=12))
    (tmp_path / "course.toml").write_text('order = ["one", "two"]\n')
    (tmp_path / "one.toml").write_text('''title = "The first lesson"
[[step]]
title = "Start"
preset = "presets/a.toml"
text = "One."

[[step]]
title = "End"
text = "Two."
''')
    (tmp_path / "two.toml").write_text('''title = "The second lesson"
[[step]]
title = "Only"
preset = "presets/a.toml"
text = "Three."
''')
    monkeypatch.setattr(catalog, "lessons_folder", lambda: tmp_path)
    return tmp_path


def test_a_finished_lesson_points_to_the_next_and_page_down_opens_it(open_main_window, course,
                                                                      qtbot):
    w = open_main_window()
    assert w.open_lesson(str(course / "one.toml"))
    panel = w.lesson_panel
    assert panel.count.text() == "Step 1 of 2" and panel.next_button.text() == "Next ▶"
    w.act_lesson_next.trigger()                           # Page Down
    assert panel.count.text() == "Step 2 of 2"
    assert panel.next_button.isEnabled() and panel.next_button.text() == "Next lesson ▶"
    assert "The second lesson" in panel.next_button.toolTip()
    assert "Next lesson: The second lesson" in panel.status.text()
    w.act_lesson_next.trigger()                           # Page Down on the last step
    assert w.lesson_player.lesson.title == "The second lesson"
    assert panel.count.text() == "Step 1 of 1"
    # the last step of the last lesson: the course is done, Next has nowhere to go
    assert "the course is done" in panel.status.text()
    assert not panel.next_button.isEnabled()


def test_a_drawn_density_renames_the_title_the_lesson_card_and_an_exported_slide(
        open_main_window, tmp_path, qtbot):
    from explorer.gui.export_dialog import open_export_dialog
    w = open_main_window()
    old = w.preset.name
    assert old and old != "Painted density"
    assert old in w.windowTitle()
    canvas = w.draw_panel.canvas
    w.draw_panel.set_mode("paint")
    canvas.set_brush(radius=0.6, strength=1.0, erase=False)
    canvas.stroke([(-2.0, -2.0), (2.0, 2.0)])
    assert w.preset.density["kind"] == "image"
    assert w.windowTitle() == "Score Explorer — Painted density"
    assert w.lesson.header.text() == "Lesson: Painted density" and w.lesson.isVisibleTo(w)
    dlg = open_export_dialog(w)
    qtbot.addWidget(dlg)
    try:
        asked = {}
        dlg.jobs.still = lambda key, path, size, style, live, title: asked.update(title=title)
        dlg.what.setCurrentIndex(dlg.what.findData("still"))
        dlg.title.setChecked(True)
        dlg.file.setText(str(tmp_path / "slide.png"))
        dlg.build_job()
        assert asked["title"] == "Painted density"
    finally:
        dlg.close()


def test_a_long_lesson_title_wraps_to_the_card_instead_of_widening_it(qtbot):
    """At the head of the 2-D particle column (about 300 px at 1280x720) a one-line title of
    440 px widened the column and squeezed the field panels."""
    from explorer.gui.lesson_card import LessonCard
    card = LessonCard()
    qtbot.addWidget(card)
    title = "VP SDE: DDPM's sampler, then predictor-corrector"
    card.set_lesson(title, "Some text.")
    card.resize(300, 200)
    card.show()
    qtbot.waitExposed(card)
    assert card.header.text().split() == f"Lesson: {title}".split()   # every word, in order
    assert "\n" in card.header.text()
    assert card.minimumSizeHint().width() <= 300
    assert card.header.sizeHint().width() <= 300
    card.resize(900, 200)
    qtbot.wait(50)
    assert card.header.text() == f"Lesson: {title}"                     # one line when it fits


def test_an_exact_score_preset_says_why_its_loss_plot_is_empty(open_main_window):
    """plain_langevin_weights trains 0 steps: its loss plot said "no training yet", as if
    curves were coming."""
    w = open_main_window()
    hint = w.views.loss_view.hint
    assert hint.textItem.toPlainText() == "no training yet"
    assert w.load_path(str(_shipped("plain_langevin_weights")))
    assert int(w.preset.training["steps"]) == 0
    hint = w.views.loss_view.hint
    assert hint.textItem.toPlainText() == "exact score: nothing to train" and hint.isVisible()


def _shipped(name: str):
    from pathlib import Path
    return Path(__file__).resolve().parents[1] / "explorer" / "presets" / f"{name}.toml"
