"""The presets gallery: course order, columns, filter (offscreen, pytest-qt)."""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import pytest

pytest.importorskip("pytestqt")

from explorer.gui.gallery import PresetGallery, course_order, presets_folder  # noqa: E402


def test_course_order_lists_every_shipped_preset_once():
    sections = course_order()
    listed = [p.name for _t, ps in sections for p in ps]
    shipped = sorted(p.name for p in presets_folder().glob("*.toml"))
    assert sorted(listed) == shipped and len(set(listed)) == len(listed)
    # A course starts from the score itself, and 3-D comes after the 2-D lessons.
    assert listed[0] == "mixture_score.toml"
    assert listed.index("plain_langevin_weights.toml") < listed.index("annealed_langevin_weights.toml")
    assert listed.index("ncsn_noise_levels.toml") < listed.index("torus_3d.toml")
    assert "More presets" not in [t for t, _ in sections]


def test_unlisted_presets_come_last(tmp_path):
    for name in ("b.toml", "a.toml", "c.toml"):
        (tmp_path / name).write_text('format = 1\n')
    (tmp_path / "course").mkdir()
    (tmp_path / "course" / "order.toml").write_text(
        '[[section]]\ntitle = "First"\npresets = ["c", "missing"]\n')
    assert [(t, [p.stem for p in ps]) for t, ps in course_order(tmp_path)] == [
        ("First", ["c"]), ("More presets", ["a", "b"])]


@pytest.fixture
def gallery(qtbot):
    g = PresetGallery()
    qtbot.addWidget(g)
    g.resize(1200, 680)
    g.show()
    qtbot.waitExposed(g)
    return g


def test_gallery_shows_several_columns_numbered_in_course_order(gallery):
    first = [gallery.list.item(i) for i in range(3)]
    xs = {gallery.list.visualItemRect(it).x() for it in first}
    assert len(xs) == 3                                  # one row, three columns
    assert first[0].text().startswith("1. Lesson: ") and "score" in first[0].text().lower()


def test_gallery_lists_the_lessons_first_then_the_presets(gallery, qtbot):
    from explorer.core.lessons import shipped_lessons
    from explorer.gui.preset_files import is_lesson
    lessons = shipped_lessons()
    assert gallery.paths[:len(lessons)] == lessons
    assert gallery.paths[len(lessons)].name == "mixture_score.toml"
    assert all(is_lesson(str(p)) for p in lessons) and not is_lesson(str(gallery.paths[-1]))
    gallery.list.setCurrentRow(1)        # a lesson: its title, steps and first density
    qtbot.waitUntil(lambda: "steps:" in gallery.text.toPlainText(), timeout=10000)
    assert "Langevin" in gallery.text.toPlainText()


def test_filter_keeps_matching_presets_and_selects_one(gallery, qtbot):
    total = len(gallery.visible_names())
    gallery.filter.setText("sigma too")
    assert sorted(gallery.visible_names()) == ["DSM with sigma too large: bias",
                                               "DSM with sigma too small: variance",
                                               "Lesson: Denoising score matching: the choice of σ"]
    gallery.filter.setText("3-D")
    assert 0 < len(gallery.visible_names()) < total
    assert not gallery.list.currentItem().isHidden()
    gallery.filter.setText("no preset says this")
    assert gallery.visible_names() == [] and not gallery.open_button.isEnabled()
    gallery.filter.setText("")
    assert len(gallery.visible_names()) == total and gallery.open_button.isEnabled()
