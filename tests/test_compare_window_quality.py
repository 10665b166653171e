"""The compare window's Quality vs NFE tab, offscreen: variants that differ in sampler kind
and steps sample on the exact score; the tab draws one curve per sampler through their NFE."""

import numpy as np
import pytest

pytest.importorskip("pytestqt")

from small_preset import small_preset  # noqa: E402

SMALL = small_preset("Small mixture", steps=10, particles=400, sampler_steps=5, grid=8,
                     kind="heun", score="true")


def test_quality_against_nfe_tab(qtbot):
    from explorer.core.presets.preset import loads
    from explorer.gui.app import make_app
    from explorer.gui.compare_window import CompareWindow
    make_app()
    compare = CompareWindow(loads(SMALL))
    qtbot.addWidget(compare)
    try:
        for overrides in ("sampler.steps=5", "sampler.steps=10",
                          "sampler.kind=dpm_solver, sampler.steps=10"):
            compare.lab.add(overrides)
        compare.sample_all()
        qtbot.waitUntil(lambda: all(q is not None for v in compare.lab.variants for q in v.quality),
                        timeout=60_000)
        compare.redraw()
        tabs = compare.bottom_tabs
        assert [tabs.tabText(i) for i in range(tabs.count())] == ["Loss", "Quality vs NFE"]
        curves = {c.name: c for c in compare.quality_view.curves.curves}
        assert set(curves) == {"heun (true)", "dpm_solver (true)"}
        assert list(curves["heun (true)"].x) == [9, 19], "heun: 2N - 1 evaluations"
        assert list(curves["dpm_solver (true)"].x) == [10]
        errs = curves["heun (true)"].centre
        assert np.isfinite(errs).all() and (errs >= 0).all() and (errs < 0.5).all()
        compare.quality_view.metric.setCurrentIndex(1)          # SW2 over its floor
        assert np.all(compare.quality_view.curves.curves[0].centre > 0)
    finally:
        compare.close()
