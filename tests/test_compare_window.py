"""Compare mode as a user drives it, offscreen: open it from the window, add variants (and a
bad one), train them side by side, read the table and the curves, rename, remove, close."""

import numpy as np
import pytest

pytest.importorskip("pytestqt")

from PySide6.QtCore import Qt  # noqa: E402

from small_preset import small_preset  # noqa: E402

SMALL = small_preset("Small mixture", steps=150, particles=300, sampler_steps=30, grid=10)


@pytest.fixture
def window(open_main_window, tmp_path):
    f = tmp_path / "small.toml"
    f.write_text(SMALL)
    return open_main_window(f, size=None)


def _add(compare, qtbot, text: str, seeds: int = 1):
    """Type into the Add-variant dialog and press OK, as a user would."""
    from PySide6.QtCore import QTimer
    from explorer.gui.compare_window import VariantDialog
    seen = {}

    def fill():
        dialog = next(w for w in compare.findChildren(VariantDialog) if w.isVisible())
        dialog.overrides.setText(text)
        dialog.seeds.setValue(seeds)
        dialog._add()
        seen["error"] = dialog.error.text()
        if dialog.isVisible():
            dialog.reject()
    QTimer.singleShot(200, fill)
    compare.add_variant()
    return seen["error"]


def test_variants_train_side_by_side_and_the_window_shows_them(window, qtbot):
    window.play()   # the main window's own training pauses when compare opens
    compare = window.open_compare()
    qtbot.addWidget(compare)
    assert not window.session.playing
    assert _add(compare, qtbot, "objective.kind=ism", seeds=2) == ""
    assert "training.lr" in _add(compare, qtbot, "training.lr=-1"), \
        "a bad value is named in the dialog and nothing is added"
    assert _add(compare, qtbot, "objective.kind=dsm", seeds=2) == ""
    assert [v.name for v in compare.lab.variants] == ["ISM", "DSM"]
    compare.toggle_play()
    qtbot.waitUntil(lambda: compare.lab.finished, timeout=120_000)
    qtbot.waitUntil(lambda: compare.table.item(1, 2).text() == "150 ± 0", timeout=10_000)
    compare.redraw()
    table = compare.table
    assert table.rowCount() == 2 and table.item(0, 0).text() == "ISM"
    rel = table.item(0, 4).text()
    assert "±" in rel and 0 < float(rel.split("±")[0]) < 5
    names = [c.name for c in compare.fisher_view.curves]
    assert names == ["ISM", "ISM (loss+C)/C", "DSM"], \
        "ISM is also shown as (loss + constant) / constant, its relative Fisher divergence"
    assert all(len(c.x) > 1 for c in compare.fisher_view.curves)
    assert len(compare.grid_view.plots) == 2
    levels = compare.grid_view.levels
    assert levels[1] > 0 and all(img.isVisible() for img in compare.grid_view.images)
    assert compare.grid_view.plots[0].titleLabel.text == "ISM"

    compare.table.item(1, 0).setText("DSM, sigma 0.1")   # rename in place
    assert compare.lab.variants[1].name == "DSM, sigma 0.1"
    compare.table.selectRow(0)
    compare.remove_selected()
    compare.redraw()
    assert [v.name for v in compare.lab.variants] == ["DSM, sigma 0.1"]
    assert compare.table.rowCount() == 1 and len(compare.grid_view.plots) == 1

    compare.sample_all()
    qtbot.waitUntil(lambda: all(m is not None for m in compare.lab.variants[0].mode_weights)
                    and all(q is not None for q in compare.lab.variants[0].quality), timeout=60_000)
    compare.redraw()
    assert "±" in compare.table.item(0, 7).text()
    assert "true 0.30/0.70" in compare.table.horizontalHeaderItem(7).text()
    sw, floor = compare.table.item(0, 6).text().split(" (")   # sliced W2 ± sd (exact samples')
    assert float(sw.split("±")[0]) > 0 and float(floor.rstrip(")")) > 0
    particles = compare.grid_view.scatters[0].getData()[0]
    assert len(particles) == 300 and np.isfinite(particles).all()

    child = compare.lab.process.process
    compare.close()
    assert child.poll() is not None, "closing compare ends its training process"


def test_closing_the_main_window_closes_compare(window, qtbot):
    compare = window.open_compare()
    compare.add_classic_objectives()
    assert len(compare.lab.variants) == 4 and compare.lab.variants[0].seeds == 3
    compare.toggle_play()
    child = compare.lab.process.process
    window.close()
    assert child.poll() is not None


def test_curves_fit_their_panes_in_a_small_compare_window(window, qtbot):
    """At 936 px wide each curve plot has half the window: its title, its legend (ISM's
    dashed 'loss + C' included) and its plot stay inside the pane, nothing cut off."""
    compare = window.open_compare()
    qtbot.addWidget(compare)
    compare.add_classic_objectives()
    compare.resize(936, 700)
    compare.show()
    qtbot.waitExposed(compare)
    compare.toggle_play()
    qtbot.waitUntil(lambda: len(compare.fisher_view.legend.items) >= 5, timeout=60000)
    compare.toggle_play()
    qtbot.wait(300)
    for view in (compare.fisher_view, compare.loss_view):
        needed = view.widget.ci.effectiveSizeHint(Qt.MinimumSize).width()
        assert needed <= view.widget.viewport().width(), (view.plot.title_text, needed)
