"""The noise-schedule advisor in the window: a suggestion with its reasons, and one click
applies Song & Ermon's ladder and step to the preset (offscreen)."""

from __future__ import annotations

import pytest

pytest.importorskip("pytestqt")

from PySide6.QtCore import Qt  # noqa: E402


@pytest.fixture
def window(open_main_window):
    from explorer.core.presets.shipped import resolve
    w = open_main_window(resolve("ncsn_noise_levels"))
    assert str(w.preset.source).endswith("ncsn_noise_levels.toml")
    w.set_settings_open(True)   # the advisor lives in the settings drawer, closed by default
    yield w


def test_suggestion_shows_reasons_and_one_click_applies_it(window, qtbot):
    from explorer.core.noise.advisor import advise
    w = window
    card = w.panel.advisor
    assert card.isVisible() and not card.apply_button.isVisible()
    expected = advise(w.preset)
    old_sigma_max = w.preset.objective["sigma_max"]
    assert abs(old_sigma_max - expected.sigma_max) > 1e-3   # applying must change something
    qtbot.mouseClick(card.suggest_button, Qt.LeftButton)
    text = card.result.text()
    assert f"{expected.sigma_max:.4g}" in text and f"{expected.levels} levels" in text
    assert "technique 2 has no solution in 2 dimensions" in text      # the reason, not only numbers
    assert card.apply_button.isVisible() and card.apply_button.isEnabled()
    qtbot.mouseClick(card.apply_button, Qt.LeftButton)
    p = w.preset
    assert p.objective["kind"] == "ncsn"
    assert p.objective["sigma_max"] == pytest.approx(expected.sigma_max)
    assert p.objective["levels"] == expected.levels
    assert p.sampler["kind"] == "annealed_langevin"
    assert p.sampler["step_size"] == pytest.approx(expected.step_size)
    assert w.panel.forms["objective"].editors["levels"].widget.value() == expected.levels
    assert card.apply_button.text() == "Applied" and not card.apply_button.isEnabled()


def test_a_suggestion_for_another_density_is_dropped(window, qtbot):
    w = window
    card = w.panel.advisor
    qtbot.mouseClick(card.suggest_button, Qt.LeftButton)
    assert card.apply_button.isVisible()
    assert w._try_apply({"density.scale": 2 * w.preset.density["scale"]})
    assert not card.apply_button.isVisible() and not card.result.isVisible()


def test_only_multi_level_objectives_show_the_advisor(window, qtbot):
    w = window
    w.on_edit("objective", "kind", "dsm")
    assert w.preset.objective["kind"] == "dsm"
    assert not w.panel.advisor.isVisible()
