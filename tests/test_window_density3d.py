"""The learned density in the 3-D window (the slice panel) and the live sample quality in 1-D.

The slice panel is 2-D pyqtgraph, so these run offscreen (the 3-D view itself is the
projected fallback there). True densities are checked against scipy, independently of the
code that draws them.
"""

from __future__ import annotations

import re
import textwrap

import numpy as np
import pytest
from scipy.stats import multivariate_normal

from explorer.core.measures.grid import grid_points, volume_slice

MEANS = [[-2.0, 0.0, 1.0], [2.0, 1.0, -1.0]]
STDS = [0.7, 0.9]
WEIGHTS = [0.4, 0.6]
BOUNDS = [[-5.0, 5.0]] * 3

PRESET_3D = textwrap.dedent(f"""
    name = "3-D two modes"
    [density]
    kind = "mixture"
    weights = {WEIGHTS}
    means = {MEANS}
    stds = {STDS}
    bounds = {BOUNDS}
    [model]
    kind = "energy"
    hidden = [32, 32]
    [objective]
    kind = "esm"
    [training]
    steps = 150
    batch_size = 256
    [sampler]
    score = "true"
    particles = 500
""")


def true_density(points):
    return sum(w * multivariate_normal(m, s * s * np.eye(3)).pdf(points)
               for w, m, s in zip(WEIGHTS, MEANS, STDS))


def test_volume_slice_is_exact_for_linear_values_and_takes_grid_planes():
    n = 8
    pts = grid_points(BOUNDS, n).astype(np.float64)
    f = pts @ np.array([0.3, -1.2, 2.0]) + 0.5          # linear: interpolation is exact
    for axis in range(3):
        for value in (-3.7, 0.0, 0.61, 4.3):
            plane = volume_slice(f, BOUNDS, n, axis, value)
            keep = [k for k in range(3) if k != axis]
            centres = -5 + 10 / n * (np.arange(n) + 0.5)
            a, b = np.meshgrid(centres, centres, indexing="ij")
            x = np.zeros((n, n, 3))
            x[..., keep[0]], x[..., keep[1]], x[..., axis] = a, b, value
            assert np.allclose(plane, x @ np.array([0.3, -1.2, 2.0]) + 0.5)
    # beyond the outermost cell centres: the outermost plane, not an extrapolation
    edge = volume_slice(f, BOUNDS, n, 2, 5.0)
    assert np.allclose(edge, f.reshape(n, n, n)[:, :, -1])


@pytest.fixture
def window3d(open_main_window, tmp_path):
    f = tmp_path / "three.toml"
    f.write_text(PRESET_3D)
    return open_main_window(f)


def test_learned_density_on_the_3d_slice_follows_the_plane(window3d, qtbot):
    w = window3d
    views = w.views
    combo = views.mode_combo
    item = combo.model().item(combo.findData("density"))
    assert item.isEnabled()                       # offered in 3-D now
    narrow = w.view3d.split.sizes()
    combo.setCurrentIndex(combo.findData("density"))
    fv = w.field_view
    assert fv.mode == "density"
    wide = w.view3d.split.sizes()
    assert abs(wide[0] - wide[1]) <= 2 and wide[1] > narrow[1]   # the slice gets half the width
    qtbot.waitUntil(lambda: fv.true_density_image is not None, timeout=30_000)
    w.play()
    qtbot.waitUntil(lambda: w.trainer.finished, timeout=60_000)
    views.request_learned_density(now=True)
    qtbot.waitUntil(lambda: views.learned_density is not None
                    and fv.learned_density_image is not None, timeout=60_000)
    res = views.learned_density
    n = 16
    pts = grid_points(BOUNDS, n).astype(np.float64)
    p = true_density(pts)
    p /= p.sum() * (10 / n) ** 3                  # normalised on the grid, as the view says
    for axis, value in ((2, 1.0), (0, -2.3)):
        w.view3d.set_slice(axis, value)
        views.redraw_fields()                     # what moving the slider does: no recompute
        a, v = w.view3d.slice()
        assert fv.true_density_image.shape == (n, n)
        assert np.allclose(fv.true_density_image, volume_slice(p, BOUNDS, n, a, v), rtol=1e-4, atol=1e-9)
        assert np.allclose(fv.learned_density_image,
                           volume_slice(np.exp(res.learned_logp), BOUNDS, n, a, v))
        assert fv.caption.startswith(f"Slice x{'₁₂₃'[a]} =")
    # the readout's KL is KL(p || p_theta) on the 16^3 grid, against scipy's p
    kl = float(np.sum(p * (np.log(p) - res.learned_logp)) * (10 / n) ** 3)
    shown = float(re.search(r"16×16×16 grid: ([0-9.e+-]+) nats", fv.density_readout).group(1))
    assert shown == pytest.approx(kl, rel=2e-2, abs=1e-3)
    assert "curl fraction" in fv.density_readout
    combo.setCurrentIndex(combo.findData("overlay"))   # leaving: the arrows and the old width back
    assert fv.mode == "overlay" and w.view3d.split.sizes() == narrow


def test_1d_sample_quality_updates_in_the_title_while_sampling(qtbot, tmp_path):
    from explorer.gui.app import make_app, open_window
    from explorer.core.session.captions import quality_lines
    f = tmp_path / "one.toml"
    f.write_text(textwrap.dedent("""
        name = "1-D two modes"
        [density]
        kind = "mixture"
        weights = [0.3, 0.7]
        means = [[-3.0], [3.0]]
        stds = [0.5, 0.5]
        [sampler]
        kind = "langevin"
        score = "true"
        particles = 2000
        steps = 4000
        step_size = 0.02
    """))
    make_app()
    w = open_window(str(f))
    qtbot.addWidget(w)
    w.show()
    top = w.views.curve_view.top
    w.toggle_sampling()
    seen = []
    for _ in range(600):
        qtbot.wait(20)
        t = top.title_text
        if "SW₂" in t and (not seen or seen[-1] != t):
            seen.append(t)
        if len(seen) >= 6:
            break
    w.toggle_sampling()
    qtbot.wait(50)
    # the figures change as the particles move, and the title shows the readout's latest ones
    assert len(seen) >= 6, seen
    assert top.title_text == "Particles: " + quality_lines(w.views._quality)
    figures = {re.search(r"SW₂ ([0-9.e+-]+) · TV ([0-9.]+)", t).groups() for t in seen}
    assert len(figures) >= 3, seen               # the numbers themselves move, not only the text
    assert all("floor of exact samples" in t for t in seen)   # each beside its noise floor
    w.close()
