"""The window refuses a step size certain to diverge (outlined field, the reason in the
banner and the tooltip, nothing changed) and derives the step again when the density moves
the ladder (core/presets/step_rules.py, docs/defaults.md). Offscreen."""

from __future__ import annotations

import pytest
import tomli_w

pytest.importorskip("pytestqt")


@pytest.fixture
def window(open_main_window, tmp_path):
    f = tmp_path / "ncsn.toml"
    f.write_text(tomli_w.dumps({
        "name": "ncsn", "density": {"kind": "mixture", "weights": [0.3, 0.7],
                                    "means": [[-2.0, 0.0], [2.0, 1.0]], "stds": [0.5, 0.7]},
        "model": {"hidden": [16]}, "objective": {"kind": "ncsn"},
        "training": {"steps": 20}, "sampler": {"particles": 100}, "view": {"grid": 8}}))
    return open_main_window(f, size=None)


def test_a_divergent_step_is_outlined_explained_and_changes_nothing(window):
    w = window
    before = w.preset.to_dict()
    derived = w.preset.sampler["step_size"]
    w.on_edit("sampler", "step_size", 0.5)
    assert w.preset.to_dict() == before and w.preset.sampler["step_size"] == derived
    assert w.banner.isVisible() and "sampler.step_size" in w.banner.label.text()
    assert "objective.sigma_min" in w.banner.label.text()
    editor = w.panel.forms["sampler"].editors["step_size"]
    assert "border" in editor.widget.styleSheet()
    assert "diverge" in editor.widget.toolTip()
    # a step inside the bound is taken and kept; the outline goes
    w.on_edit("sampler", "step_size", derived / 2)
    assert w.preset.sampler["step_size"] == derived / 2
    assert editor.widget.styleSheet() == ""


def test_a_new_ladder_derives_the_step_again(window):
    w = window
    first = w.preset.sampler["step_size"]
    w.on_edit("objective", "sigma_min", 0.05)      # the ladder moves: the derived step follows
    assert w.preset.sampler["step_size"] < first
    from explorer.core.presets import preset as P
    again = P.parse({"density": w.preset.to_dict()["density"], "objective": {"kind": "ncsn", "sigma_min": 0.05},
                     "sampler": {"particles": 100}})
    assert w.preset.sampler["step_size"] == pytest.approx(again.sampler["step_size"])
