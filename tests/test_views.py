"""Plot views: what a user would notice if it broke (offscreen, pytest-qt)."""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import numpy as np
import pytest

pytest.importorskip("pytestqt")

from explorer.views import style as S  # noqa: E402
from explorer.views import common as C  # noqa: E402
from explorer.views import colour as Kc  # noqa: E402
from explorer.views import legends as Lg  # noqa: E402
from explorer.views.curve1d_view import Curve1DView  # noqa: E402
from explorer.views.field_view import FieldView  # noqa: E402
from explorer.views.loss_view import LossView, ema  # noqa: E402
from explorer.views.particles_view import ParticlesView  # noqa: E402
from explorer.views.quiver import CLIP_CELLS, TYPICAL_FRACTION, QuiverItem  # noqa: E402

BOUNDS = np.array([[-8.0, 8.0], [-8.0, 8.0]])
W = np.array([0.2, 0.8])
M = np.array([[-5.0, -5.0], [5.0, 5.0]])


def grid(n, bounds=BOUNDS):
    """Cell-centred grid, first axis slowest (the order of core.grid.grid_points)."""
    axes = [lo + (hi - lo) / n * (np.arange(n) + 0.5) for lo, hi in bounds]
    X, Y = np.meshgrid(*axes, indexing="ij")
    return np.stack([X.ravel(), Y.ravel()], axis=1)


def mixture(x):
    d = x[:, None, :] - M[None]
    c = W * np.exp(-0.5 * (d ** 2).sum(-1)) / (2 * np.pi)
    p = c.sum(1)
    score = -((c / p[:, None])[..., None] * d).sum(1)
    return p, score


def learned_from(score, x):
    return score * 0.8 + 0.5 * np.stack([np.sin(x[:, 1]), np.cos(x[:, 0])], axis=1)


def is_uniform(widget, qtbot):
    widget.resize(700, 500)
    widget.show()
    qtbot.waitExposed(widget)
    return C.image_is_uniform(widget)


# ------------------------------------------------------------------ quiver
def test_quiver_arrows_point_along_vectors(qtbot):
    pts = grid(6)
    rng = np.random.default_rng(0)
    vec = rng.standard_normal(pts.shape) * rng.uniform(0.1, 5.0, (len(pts), 1))
    q = QuiverItem()
    q.set_data(pts, vec)
    assert q.arrow_count == len(pts)
    seg = q.segments().reshape(-1, 3, 2, 2)           # arrow, (shaft, barb, barb), end, xy
    shaft = seg[:, 0]
    assert np.allclose(shaft[:, 0], pts)                # tail at the point
    d = shaft[:, 1] - shaft[:, 0]
    cross = d[:, 0] * vec[:, 1] - d[:, 1] * vec[:, 0]
    assert np.allclose(cross, 0, atol=1e-9)
    assert np.all((d * vec).sum(1) > 0)                 # same direction, not opposite
    assert np.allclose(q.tips, shaft[:, 1])
    # Both barbs start at the tip and go backwards.
    for b in (1, 2):
        assert np.allclose(seg[:, b, 0], shaft[:, 1])
        assert np.all(((seg[:, b, 1] - seg[:, b, 0]) * vec).sum(1) < 0)


def test_quiver_lengths_scale_and_clip(qtbot):
    pts = grid(10)
    cell = 16 / 10
    rng = np.random.default_rng(1)
    vec = rng.standard_normal(pts.shape)
    vec[0] = [1e6, 0.0]                                  # one huge far-away score
    q = QuiverItem()
    q.set_data(pts, vec)
    assert q.cell == pytest.approx(cell)
    lengths = np.linalg.norm(q.tips - pts, axis=1)
    assert lengths.max() <= CLIP_CELLS * cell + 1e-9
    norms = np.linalg.norm(vec, axis=1)
    p95 = np.percentile(norms, 95)
    assert q.scale == pytest.approx(p95)
    i = np.argmin(np.abs(norms - p95))
    assert lengths[i] == pytest.approx(TYPICAL_FRACTION * cell * norms[i] / p95)


def test_shared_scale_makes_equal_vectors_equal_arrows(qtbot):
    pts = grid(4)
    a = np.tile([[1.0, 2.0]], (len(pts), 1))
    b = a.copy()
    b[3] = [10.0, 0.0]                                   # b alone would have a larger scale
    qa, qb = QuiverItem(), QuiverItem()
    qa.set_data(pts, a, scale=3.0)
    qb.set_data(pts, b, scale=3.0)
    la = np.linalg.norm(qa.tips - pts, axis=1)
    lb = np.linalg.norm(qb.tips - pts, axis=1)
    same = np.ones(len(pts), bool)
    same[3] = False
    assert np.allclose(la[same], lb[same])
    # Without a shared scale they would differ: that is why the views share one.
    qc = QuiverItem()
    qc.set_data(pts, b)
    lc = np.linalg.norm(qc.tips - pts, axis=1)
    assert not np.allclose(la[same], lc[same])


def test_quiver_skips_nan_and_zero(qtbot):
    pts = grid(3)
    vec = np.ones_like(pts)
    vec[0] = np.nan
    vec[1] = 0.0
    q = QuiverItem()
    q.set_data(pts, vec)
    assert q.arrow_count == len(pts) - 2
    assert np.isnan(q.tips[0]).all() and np.isnan(q.tips[1]).all()
    q.set_data(np.zeros((0, 2)), np.zeros((0, 2)))
    assert q.arrow_count == 0


# ------------------------------------------------------------------ field view
@pytest.fixture
def field(qtbot):
    v = FieldView()
    qtbot.addWidget(v)
    v.resize(1400, 700)   # room for every arrow of a 16 x 16 grid (smaller plots thin it)
    v.set_bounds(BOUNDS)
    d, _ = mixture(grid(64))
    v.set_density(d.reshape(64, 64))
    return v


def test_field_view_not_empty_before_training(field, qtbot):
    assert not is_uniform(field, qtbot)
    assert field.side_hint.isVisible()


def test_field_side_mode_shares_scale_and_links_plots(field):
    pts = grid(16)
    p, s = mixture(pts)
    lrn = learned_from(s, pts)
    field.set_arrow_mode("shared")
    field.set_fields(pts, lrn, s, p)
    assert field.learned_plot.title_text.startswith("Learned score")
    assert field.true_plot.title_text.startswith("True score")
    assert field.side_learned.scale == field.side_true.scale == field.shared_scale
    assert field.side_learned.arrow_count == field.side_true.arrow_count == len(pts)
    assert not field.side_hint.isVisible()
    vb_l, vb_t = field.learned_plot.getViewBox(), field.true_plot.getViewBox()
    assert vb_t.linkedView(0) is vb_l and vb_t.linkedView(1) is vb_l
    for plot in (field.learned_plot, field.true_plot):
        assert plot.axis_labels == (C.X1, C.X2)


def _arrow_pixels(quiver, plot, pts):
    """Arrow lengths in screen pixels."""
    vb = plot.getViewBox()
    ok = np.isfinite(quiver.tips).all(axis=1)
    px = vb.viewPixelSize()[0]
    return np.linalg.norm(quiver.tips[ok] - pts[ok], axis=1) / px


def test_weak_learned_field_visible_with_per_panel_scale(field, qtbot):
    """dsm_sigma_large's lesson: a learned field 20x weaker than the truth still shows its
    directions (default: each panel on its own scale); one shared scale makes it dots."""
    field.resize(1000, 500)
    field.show()
    qtbot.waitExposed(field)
    pts = grid(16)
    p, s = mixture(pts)
    weak = 0.05 * learned_from(s, pts)
    field.set_fields(pts, weak, s, p)
    assert field.arrow_mode == "per_panel"
    assert np.median(_arrow_pixels(field.side_learned, field.learned_plot, pts)) > 6
    field.set_arrow_mode("shared")
    assert np.median(_arrow_pixels(field.side_learned, field.learned_plot, pts)) < 2


def test_direction_mode_equal_lengths_colour_by_magnitude(field, qtbot):
    field.resize(1000, 500)
    field.show()
    qtbot.waitExposed(field)
    pts = grid(16)
    p, s = mixture(pts)
    field.set_arrow_mode("direction")
    field.set_fields(pts, learned_from(s, pts), s, p)
    lengths = np.linalg.norm(field.side_true.tips - pts, axis=1)
    assert np.allclose(lengths, lengths[0])
    # The strongest and the weakest arrows are drawn in different colours, with a key.
    bins = field.side_true._bins
    used = [i for i, b in enumerate(bins) if b.xData is not None and len(b.xData)]
    assert len(used) >= 3 and used[-1] == len(bins) - 1
    assert field.arrow_key_shown and field.arrow_key.scene() is not None
    assert len(field.side_true.segments()) == 3 * len(pts)
    field.set_arrow_mode("per_panel")
    assert not field.arrow_key_shown and field.side_true._bins == []


@pytest.mark.parametrize("size", [(420, 300), (1200, 700)])
def test_dense_grid_thinned_to_pixel_size(field, qtbot, size):
    """A 64 x 64 grid in a small panel must not become a solid block of arrows."""
    from explorer.views.field_view import MIN_ARROW_PX
    field.resize(*size)
    field.show()
    qtbot.waitExposed(field)
    pts = grid(64)
    p, s = mixture(pts)
    field.set_fields(pts, learned_from(s, pts), s, p)
    ok = np.isfinite(field.side_true.tips).all(axis=1)
    assert 0 < ok.sum() < len(pts)
    tails = field.side_true.segments().reshape(-1, 3, 2, 2)[:, 0, 0]
    gap = np.min(np.diff(np.unique(np.round(tails[:, 0], 9))))
    assert gap / field.learned_plot.getViewBox().viewPixelSize()[0] >= MIN_ARROW_PX - 1e-6


@pytest.mark.parametrize("size", [(420, 300), (900, 420), (1800, 900)])
def test_density_box_fills_plot(field, qtbot, size):
    field.resize(*size)
    field.show()
    qtbot.waitExposed(field)
    for mode in ("side", "overlay", "error"):
        field.set_mode(mode)
        qtbot.wait(10)
        for plot in field.current_plots():
            assert C.box_fill_fraction(plot, BOUNDS) >= 0.95


def test_field_overlay_has_both_quivers_and_legend(field):
    pts = grid(16)
    p, s = mixture(pts)
    field.set_mode("overlay")
    field.set_fields(pts, learned_from(s, pts), s, p)
    items = field.overlay_plot.listDataItems() + field.overlay_plot.items
    assert field.overlay_learned in items and field.overlay_true in items
    assert field.overlay_learned.arrow_count == field.overlay_true.arrow_count == len(pts)
    assert field.overlay_learned.color == S.LEARNED and field.overlay_true.color == S.TRUE
    names = Lg.legend_names(field.overlay_legend)
    assert C.LEARNED_NAME in names and C.TRUE_NAME in names and C.DENSITY_NAME in names
    assert field.overlay_learned.scale == field.overlay_true.scale


@pytest.mark.parametrize("weighted", [False, True])
def test_field_error_image_values(field, weighted):
    n = 20
    pts = grid(n)
    p, s = mixture(pts)
    lrn = learned_from(s, pts)
    field.set_mode("error")
    field.set_error_weighted(weighted)
    field.set_fields(pts, lrn, s, p)
    expected = np.linalg.norm(lrn - s, axis=1) * (p if weighted else 1.0)
    img = field.error_image
    assert img.shape == (n, n)
    assert np.allclose(img, expected.reshape(n, n))        # first index x, like the grid
    assert np.allclose(field.error_item.image, expected.reshape(n, n), rtol=1e-6)
    # Image placed on the bounds; the point (x, y) sits in its cell.
    r = field.error_item.mapRectToParent(field.error_item.boundingRect())
    assert (r.left(), r.right(), r.top(), r.bottom()) == pytest.approx((-8, 8, -8, 8))
    assert ("weighted" in field.error_plot.title_text.lower()) == weighted
    assert field.colorbar.levels()[1] > 0


def test_field_error_handles_transposed_grid(field):
    n = 12
    pts = grid(n)
    p, s = mixture(pts)
    lrn = learned_from(s, pts)
    perm = np.arange(n * n).reshape(n, n).T.ravel()          # y slowest
    field.set_mode("error")
    field.set_fields(pts[perm], lrn[perm], s[perm], p[perm])
    assert np.allclose(field.error_image, np.linalg.norm(lrn - s, axis=1).reshape(n, n))


def test_field_modes_render(field, qtbot):
    pts = grid(16)
    p, s = mixture(pts)
    field.set_fields(pts, learned_from(s, pts), s, p)
    field.set_caption("true score: analytic; learned at sigma = 0.10")
    for mode in ("side", "overlay", "error"):
        field.set_mode(mode)
        assert not is_uniform(field, qtbot), mode
    assert field.caption_label.text().startswith("true score")
    with pytest.raises(ValueError):
        field.set_mode("nope")


def test_field_bad_inputs_do_not_raise(field):
    for mode in ("side", "overlay", "error"):
        field.set_mode(mode)
        field.set_fields(np.zeros((0, 2)), np.zeros((0, 2)), np.zeros((0, 2)), np.zeros(0))
        field.set_fields(grid(4), None, None, None)
        nan = np.full((16, 2), np.nan)
        field.set_fields(grid(4), nan, nan, np.full(16, np.nan))
        field.set_fields(grid(4), np.ones((5, 2)), np.ones((16, 2)))   # wrong length: ignored
        field.set_error_weighted(True)
    field.set_density(np.zeros((0, 0)))
    field.set_density(np.full((8, 8), np.nan))
    field.set_density(None)
    field.set_bounds([[1, 1], [np.nan, 2]])
    field.apply_style(S.SLIDE_1080)


def test_contours_lie_on_their_levels_and_reach_the_box(qtbot):
    """Each iso-line runs where the closed-form density equals its level (a Gaussian on a
    grid that is neither square nor centred, so a swapped axis shows), every level is
    drawn, and a level the box cuts runs to the box's edge."""
    bounds = np.array([[-3.0, 3.0], [-1.0, 5.0]])
    nx, ny = 90, 70
    ax = [lo + (hi - lo) / n * (np.arange(n) + 0.5) for (lo, hi), n in zip(bounds, (nx, ny))]
    X, Y = np.meshgrid(*ax, indexing="ij")
    dens = lambda x, y: np.exp(-0.5 * ((x - 0.5) ** 2 / 1.0 + (y - 1.0) ** 2 / 4.0))  # noqa: E731
    item = C.ContourItem()
    item.set_contours(dens(X, Y), bounds)
    x, y = item.getData()
    assert len(item.levels) == 4 and np.isnan(x).sum() >= 4
    ok = np.isfinite(x)
    assert bounds[0, 0] <= x[ok].min() and x[ok].max() <= bounds[0, 1]
    assert bounds[1, 0] <= y[ok].min() and y[ok].max() <= bounds[1, 1]
    on = dens(x[ok], y[ok])
    nearest = np.array(item.levels)[np.abs(on[:, None] - np.array(item.levels)).argmin(1)]
    cell = (bounds[:, 1] - bounds[:, 0]) / (nx, ny)
    inside = ((x[ok] > bounds[0, 0] + cell[0]) & (x[ok] < bounds[0, 1] - cell[0])
              & (y[ok] > bounds[1, 0] + cell[1]) & (y[ok] < bounds[1, 1] - cell[1]))
    assert inside.mean() > 0.9
    assert np.abs(on - nearest)[inside].max() < 0.01, "a contour point off its level"
    for level in item.levels:
        assert (np.abs(on - level) < 0.01).sum() >= 20, f"level {level:.3g} not drawn"
    # 0.02 of the top: the ellipse sqrt(-2 ln 0.02) = 2.8 wide in y crosses y = -1 and y = 5
    low = np.abs(on - item.levels[0]) < 0.01
    assert np.isclose(y[ok][low].min(), bounds[1, 0]) and np.isclose(y[ok][low].max(), bounds[1, 1])
    item.set_contours(np.zeros((5, 5)), bounds)
    assert item.getData()[0] is None or len(item.getData()[0]) == 0


def test_items_taken_out_of_a_view_stay_in_its_scene_or_are_deleted(field, qtbot):
    """What a view takes out of its layout stays in its scene (the arrow key, the side
    legend in compact form) and a rebuilt legend's old entries are deleted with their text:
    nothing is left to Python alone, whose collector could free a child item twice."""
    import shiboken6
    scene = field.side_widget.scene()
    for mode in ("direction", "per_panel", "direction"):
        field.set_arrow_mode(mode)
        assert field.arrow_key.scene() is scene
    assert field.arrow_key.isVisible()
    field.set_arrow_mode("shared")
    assert field.arrow_key.scene() is scene and not field.arrow_key.isVisible()
    for compact in (True, False, True):
        field.set_compact(compact)
        assert field.side_legend.scene() is scene
    assert not field.side_legend.isVisible()
    legend = Lg.make_legend()
    legend.addItem(Lg.swatch((255, 0, 0)), "a")
    old = [(sample, label, label.item) for sample, label in legend.items]
    Lg.clear_legend(legend)
    assert legend.items == [] and not any(shiboken6.isValid(x) for entry in old for x in entry)


# ------------------------------------------------------------------ particles
@pytest.fixture
def particles_view(qtbot):
    v = ParticlesView()
    qtbot.addWidget(v)
    v.set_bounds(BOUNDS)
    d, _ = mixture(grid(64))
    v.set_density(d.reshape(64, 64))
    return v


def test_particles_points_drawn(particles_view, qtbot):
    rng = np.random.default_rng(0)
    x = rng.uniform(-7, 7, (5000, 2)).astype(np.float32)
    x[:10] = np.nan
    particles_view.set_particles(x)
    assert particles_view.render_used == "points"
    assert particles_view.n_particles == 5000
    assert particles_view.points_item.point_count() == 4990
    assert np.allclose(particles_view.points_item.points(), x[10:], atol=1e-6)
    assert not is_uniform(particles_view, qtbot)
    assert particles_view.points_item.last_paint == "splat"


def test_particles_splat_pixels_match_points(qtbot):
    """The numpy splat puts each particle where drawPoints would: a lit square around
    the particle's pixel, and nothing where there is no particle."""
    from PySide6 import QtGui

    v = ParticlesView()
    qtbot.addWidget(v)
    v.set_bounds(BOUNDS)                     # no density: background only
    pts = np.array([[-4.0, -4.0], [0.0, 0.0], [4.0, 3.0]])
    v.set_particles(pts)
    v.resize(600, 600)
    v.show()
    qtbot.waitExposed(v)
    img = v.grab().toImage().convertToFormat(QtGui.QImage.Format.Format_RGB32)
    bg = img.pixelColor(5, 5)
    vb = v.plot.getViewBox()
    lit = 0
    for x, y in pts:
        sp = vb.mapViewToScene(pg_point(x, y))
        wp = v.graphics.mapFromScene(sp)
        gp = v.graphics.mapTo(v, wp)
        c = img.pixelColor(gp.x(), gp.y())
        lit += c.red() > bg.red() + 60
    assert lit == 3
    off = vb.mapViewToScene(pg_point(-2.0, 5.0))
    gp = v.graphics.mapTo(v, v.graphics.mapFromScene(off))
    assert img.pixelColor(gp.x(), gp.y()).red() < bg.red() + 10


def pg_point(x, y):
    from PySide6 import QtCore

    return QtCore.QPointF(x, y)


def test_particles_histogram_mass(particles_view, qtbot):
    rng = np.random.default_rng(0)
    particles_view.max_points = 2000
    n = particles_view.max_points + 5000
    x = rng.uniform(-7.9, 7.9, (n, 2)).astype(np.float32)
    particles_view.set_particles(x)
    assert particles_view.render_used == "histogram"
    assert particles_view.histogram_item.counts.sum() == n
    assert not particles_view.points_item.isVisible()
    particles_view.set_render_mode("points")
    assert particles_view.points_item.point_count() == n
    particles_view.set_render_mode("histogram")
    particles_view.set_particles(x[:100])
    assert particles_view.histogram_item.counts.sum() == 100


def test_particles_trails_status_weights(particles_view, qtbot):
    rng = np.random.default_rng(0)
    particles_view.set_trails(True, length=4)
    x = rng.uniform(-5, 5, (300, 2))
    for _ in range(6):
        x = x + 0.05 * rng.standard_normal(x.shape)
        particles_view.set_particles(x)
    assert len(particles_view.history) == 4
    assert len(particles_view.trail_item.paths) == 3
    particles_view.set_trails(False)
    assert len(particles_view.trail_item.paths) == 0
    particles_view.set_status("annealed Langevin, sigma = 3.59, step 240/1000")
    assert particles_view.status_text.isVisible()
    assert "240/1000" in particles_view.status_text.plain_text
    particles_view.set_mode_weights([0.21, 0.79], [0.2, 0.8], ["(-5,-5)", "(5,5)"])
    text = particles_view.weights_text.plain_text
    assert "0.210" in text and "0.800" in text and "(5,5)" in text
    particles_view.set_mode_weights(None, None, None)
    assert not particles_view.weights_text.isVisible()


@pytest.mark.parametrize("size", [(420, 280), (700, 600), (1800, 900)])
def test_particle_readouts_beside_the_data(particles_view, qtbot, size):
    """The status and the mode table never cover the particles, and the box fills the plot."""
    particles_view.resize(*size)
    particles_view.show()
    qtbot.waitExposed(particles_view)
    particles_view.set_particles(np.random.default_rng(0).normal(5, 1, (500, 2)))
    particles_view.set_status("annealed Langevin, learned score, step 1000/1000, sigma = 1")
    particles_view.set_mode_weights([0.21, 0.79], [0.2, 0.8], ["(-5, -5)", "(5, 5)"])
    def laid_out():
        view = particles_view.plot.getViewBox().sceneBoundingRect()
        whole = particles_view.graphics.sceneRect()
        for text in (particles_view.status_text, particles_view.weights_text):
            r = text.mapRectToScene(text.itemRect())
            assert not r.intersects(view), (text.plain_text, r, view)
            assert whole.contains(r), (r, whole)       # and not clipped off the widget
        assert C.box_fill_fraction(particles_view.plot, BOUNDS) >= 0.8

    qtbot.waitUntil(laid_out, timeout=2000)   # the layout settles over a few events


def test_particles_bad_inputs_do_not_raise(particles_view):
    particles_view.set_trails(True)
    for x in (np.zeros((0, 2)), None, np.full((10, 2), np.nan), np.ones((7,)), np.ones((3, 1)),
              np.ones((50, 3), np.float32)):
        particles_view.set_particles(x)
    particles_view.set_render_mode("histogram")
    particles_view.set_particles(np.full((10, 2), np.nan))
    particles_view.set_particles(np.zeros((0, 2)))
    particles_view.set_mode_weights([], None, None)
    particles_view.set_mode_weights([np.nan, 0.5], [0.5, 0.5], None)
    particles_view.set_status("")
    particles_view.set_density(np.full((4, 4), np.nan))
    particles_view.apply_style(S.PRESENTER)


# ------------------------------------------------------------------ loss
def test_loss_ism_shift_equals_loss_plus_constant(qtbot):
    v = LossView()
    qtbot.addWidget(v)
    rng = np.random.default_rng(0)
    steps = np.arange(2000)
    fisher = 5 * np.exp(-steps / 300) + 0.05
    c = 2.5
    loss = fisher - c + 0.3 * rng.standard_normal(len(steps))
    v.set_curves(steps, loss, steps[::50], fisher[::50], c, "ism")
    s, sm = v.data["smoothed"]
    s2, shifted = v.data["shifted"]
    assert np.array_equal(s, steps) and np.array_equal(s2, steps)
    assert np.allclose(sm, ema(loss, v.smoothing))
    assert np.allclose(shifted, sm + c)
    assert np.allclose(shifted, ema(loss + c, v.smoothing))      # shifting commutes with smoothing
    x, y = v.shifted_item.getOriginalDataset()
    assert np.allclose(y, loss_smoothed_plus(loss, c, v.smoothing))
    labels = v.legend_labels()
    assert any("aligns with Fisher" in t for t in labels)
    assert any(t.startswith("Fisher F") for t in labels)
    # the shifted curve ends near the Fisher divergence: they coincide
    assert abs(shifted[-1] - fisher[-1]) < 0.2
    # Without the constant there is no shifted curve.
    v.set_curves(steps, loss, [], [], None, "ssm_vr")
    assert not v.shifted_item.isVisible()
    assert not any("aligns" in t for t in v.legend_labels())
    assert "SSM-VR" in v.plot.title_text


def test_loss_and_a_large_fisher_divergence_each_fill_their_own_axis(qtbot):
    """Issue 10.3: on ddpm_moons F ~ 4,400 flattened a loss of about 0.3-2 to a line."""
    v = LossView()
    qtbot.addWidget(v)
    rng = np.random.default_rng(0)
    steps = np.arange(1, 5001)
    loss = 0.3 + 2 * np.exp(-steps / 300) + 0.1 * rng.random(5000)
    fs = steps[::250]
    fisher = 4400 * np.exp(-fs / 2000) + 300
    v.set_curves(steps, loss, fs, fisher, None, "ddpm")
    assert v.loss_log   # a positive loss falling by an order of magnitude: log axis
    lo, hi = v.plot.getViewBox().viewRange()[1]
    sm = np.log10(v.data["smoothed"][1][3:])
    assert (sm.max() - sm.min()) / (hi - lo) > 0.6, "the loss fills its axis"
    assert lo <= sm.min() and sm.max() <= hi
    flo, fhi = v.fisher_vb.viewRange()[1]
    f = np.log10(fisher)
    assert flo <= f.min() and f.max() <= fhi and (f.max() - f.min()) / (fhi - flo) > 0.4
    assert "Fisher" in v.plot.getAxis("right").labelText
    # a loss that can be negative keeps a linear axis
    v.set_curves(steps, loss - 1.0, fs, fisher, None, "ssm_vr")
    assert not v.loss_log


def loss_smoothed_plus(loss, c, w):
    return ema(loss, w) + c


def test_loss_ema_matches_reference_loop():
    rng = np.random.default_rng(0)
    x = rng.standard_normal(3000)
    for w in (0.5, 0.98, 0.999):
        m, ref = 0.0, []
        for t, v in enumerate(x):
            m = w * m + (1 - w) * v
            ref.append(m / (1 - w ** (t + 1)))
        assert np.allclose(ema(x, w), ref)


def test_loss_incremental_smoothing_matches_full(qtbot):
    v = LossView()
    qtbot.addWidget(v)
    rng = np.random.default_rng(0)
    loss = rng.standard_normal(5000)
    steps = np.arange(5000)
    for k in (100, 1000, 1001, 5000):
        v.set_curves(steps[:k], loss[:k], None, None, None, "dsm")
    assert np.allclose(v.data["smoothed"][1], ema(loss, v.smoothing))


def test_loss_robust_range_ignores_initial_spike_and_allows_negative(qtbot):
    v = LossView()
    qtbot.addWidget(v)
    steps = np.arange(1000)
    loss = -3 + np.exp(-steps / 200)
    loss[:3] = 1e6
    v.set_curves(steps, loss, None, None, None, "ssm")
    lo, hi = v.y_range
    assert lo < -2.0 and hi < 100
    vb_lo, vb_hi = v.plot.getViewBox().viewRange()[1]
    assert vb_lo == pytest.approx(lo) and vb_hi == pytest.approx(hi)


def test_loss_large_and_bad_inputs(qtbot):
    v = LossView()
    qtbot.addWidget(v)
    n = 100_000
    steps = np.arange(n)
    loss = np.exp(-steps / 1e4) + 0.01 * np.random.default_rng(0).standard_normal(n)
    loss[5000] = np.nan
    loss[6000] = np.inf
    v.set_curves(steps, loss, steps[::1000], loss[::1000], 0.5, "ism")
    assert len(v.data["loss"][0]) == n - 2
    assert np.isfinite(v.data["smoothed"][1]).all()
    assert not is_uniform(v, qtbot)
    v.set_curves([], [], [], [], None, "")
    v.set_curves(np.arange(5), np.full(5, np.nan), None, None, np.nan, "ism")
    v.apply_style(S.SLIDE_720)


# ------------------------------------------------------------------ 1-D
def test_curve1d_density_histogram_scores(qtbot):
    v = Curve1DView()
    qtbot.addWidget(v)
    v.set_bounds([[-8, 8]])
    xs = np.linspace(-8, 8, 401)
    p = 3.0 * np.exp(-0.5 * xs ** 2)                     # not normalised on purpose
    v.set_density(xs, p)
    area = np.sum(0.5 * (v.p[1:] + v.p[:-1]) * np.diff(v.xs))
    assert area == pytest.approx(1.0)
    rng = np.random.default_rng(0)
    x = rng.standard_normal(10_000)
    x[:5] = 100.0                                        # outside the range
    v.set_particles(x[:, None])
    assert v.hist_counts.sum() == 10_000 - 5
    width = np.diff(v.hist_edges)
    assert np.sum(v.hist_density * width) == pytest.approx((10_000 - 5) / 10_000)
    v.set_scores(xs, -xs * 0.9, -xs)
    v.set_status("Langevin, step 10/10")
    v.set_mode_weights([1.0], [1.0], ["0"])
    assert not is_uniform(v, qtbot)
    assert "step 10/10" in v.status_text.plain_text
    v.set_quality("SW₂ 0.12 · TV 0.05 (exact 0.1 · 0.04)")   # the cloud's quality, in the title
    assert v.top.title_text == "Particles: SW₂ 0.12 · TV 0.05 (exact 0.1 · 0.04)"
    assert "step 10/10" in v.status_text.plain_text and "SW₂" not in v.status_text.plain_text
    v.set_quality("")
    assert v.top.title_text == "Density p(x) and particles"


def test_curve1d_bad_inputs_do_not_raise(qtbot):
    v = Curve1DView()
    qtbot.addWidget(v)
    v.set_density([], [])
    v.set_density(np.linspace(0, 1, 5), np.full(5, np.nan))
    v.set_particles(np.zeros((0, 1)))
    v.set_particles(None)
    v.set_particles(np.full(10, np.nan))
    v.set_scores([], None, [])
    v.set_scores(np.linspace(0, 1, 5), np.full(5, np.nan), np.ones(3))
    v.set_bounds([[2, 1]])
    v.set_mode_weights(None)
    v.apply_style(S.SLIDE_1080)


# ------------------------------------------------------------------ style
def test_apply_style_changes_fonts(qtbot):
    v = ParticlesView()
    qtbot.addWidget(v)
    before = v.plot.getAxis("bottom").style["tickFont"].pointSizeF()
    v.apply_style(S.SLIDE_1080)
    after = v.plot.getAxis("bottom").style["tickFont"].pointSizeF()
    assert before >= 10 and after == S.SLIDE_1080.font_pt
    assert v.points_item.size == S.SLIDE_1080.point_size


# ------------------------------------------------------------------ contrast (issue 10, item 9)
def _grab_rgb(widget) -> np.ndarray:
    """The widget as it is on screen: (h, w, 3) uint8."""
    from PySide6 import QtGui
    img = widget.grab().toImage().convertToFormat(QtGui.QImage.Format.Format_RGB888)
    h, w, bpl = img.height(), img.width(), img.bytesPerLine()
    a = np.frombuffer(img.constBits(), dtype=np.uint8, count=bpl * h).reshape(h, bpl)
    return a[:, :3 * w].reshape(h, w, 3).copy()


def _marks_over_backdrop(with_marks, backdrop, color, tol=40.0):
    """Pixels drawn in `color` (within `tol`) that were not that colour before: the marks
    (arrows, particles), the backdrop pixels under them, and the backdrop's luminance."""
    a, b = with_marks.astype(float), backdrop.astype(float)
    mark = (np.linalg.norm(a - np.asarray(color, float), axis=-1) < tol) \
        & (np.linalg.norm(a - b, axis=-1) > tol)
    return a[mark], b[mark]


def _preset_scene(name):
    """(bounds, density image, sampled points) of a shipped preset."""
    import torch
    from explorer.core.presets import preset as P
    from explorer.core.measures import pictures
    pr = P.default() if name is None else P.load(P.__file__.rsplit("/core/", 1)[0]
                                                  + f"/presets/{name}.toml")
    dens = pr.build_density()
    b = np.asarray(pr.density["bounds"], dtype=np.float64)
    img = pictures.density_image(dens, b)
    x = dens.sample(600, torch.Generator().manual_seed(0)).numpy()
    return b, img, x


CONTRAST_PRESETS = ["painted_heart", None]   # None: the preset the window opens with


@pytest.mark.parametrize("name", CONTRAST_PRESETS)
def test_arrows_contrast_with_the_density_under_them(qtbot, name):
    """Orange learned and sky-blue true arrows, measured on the rendered pixels against the
    density drawn under them (painted_heart: a flat, maximal density under every arrow
    inside the heart), keep a WCAG contrast ratio of at least 3."""
    b, img, _ = _preset_scene(name)
    v = FieldView()
    qtbot.addWidget(v)
    v.resize(1000, 500)
    v.set_bounds(b)
    v.set_density(img)
    pts = grid(14, b)
    const = np.tile([[1.0, 0.6]], (len(pts), 1))     # arrows everywhere, over every level
    v.set_fields(pts, const, const, None)
    v.show()
    qtbot.waitExposed(v)
    quivers = (v.side_learned, v.side_true)
    with_arrows = _grab_rgb(v)
    for q in quivers:
        q.setVisible(False)
    backdrop = _grab_rgb(v)
    top = Kc.relative_luminance(Kc.dark_lut()[-1])
    for q, color in zip(quivers, (S.LEARNED, S.TRUE)):
        arrow, under = _marks_over_backdrop(with_arrows, backdrop, color)
        dense = Kc.relative_luminance(under) >= 0.6 * top
        assert dense.sum() >= 30, "the test must see arrows over the densest backdrop"
        ratio = Kc.contrast_ratio(arrow, under)
        assert np.percentile(ratio, 5) >= 3.0, (color, np.percentile(ratio, [0, 5, 50]))
        assert Kc.contrast_ratio(color, Kc.dark_lut()).min() >= 3.0


@pytest.mark.parametrize("name", CONTRAST_PRESETS)
def test_particles_contrast_with_the_density_under_them(qtbot, name):
    b, img, x = _preset_scene(name)
    v = ParticlesView()
    qtbot.addWidget(v)
    v.resize(700, 600)
    v.set_bounds(b)
    v.set_density(img)
    v.set_particles(x)
    v.show()
    qtbot.waitExposed(v)
    with_points = _grab_rgb(v)
    v.points_item.setVisible(False)
    backdrop = _grab_rgb(v)
    top = Kc.relative_luminance(Kc.dark_lut()[-1])
    dot, under = _marks_over_backdrop(with_points, backdrop, S.PARTICLES)
    assert (Kc.relative_luminance(under) >= 0.6 * top).sum() >= 30
    ratio = Kc.contrast_ratio(dot, under)
    assert np.percentile(ratio, 5) >= 3.0, np.percentile(ratio, [0, 5, 50])


def test_contrast_ratio_matches_wcag_examples():
    """Independent values: black on white is 21; WCAG's #777 on white is 4.48."""
    assert Kc.contrast_ratio((0, 0, 0), (255, 255, 255)) == pytest.approx(21.0)
    assert Kc.contrast_ratio((119, 119, 119), (255, 255, 255)) == pytest.approx(4.48, abs=0.01)
    assert Kc.relative_luminance((255, 0, 0)) == pytest.approx(0.2126)
