"""The learned density and the curl fraction (core/measures/learned_density.py), against computations
made here independently: a sparse least-squares solve (scipy lsqr) for the potential, a
mixture density written out with numpy, an energy network's own -E, exact integrals."""

import json

import numpy as np
import pytest
import torch
from scipy.sparse import coo_matrix
from scipy.sparse.linalg import lsqr

from explorer.core.measures import learned_density as L
from explorer.core.presets import preset as P
from explorer.core.measures.grid import grid_axes, grid_points
from explorer.core.objectives.network import build_model
from small_preset import small_preset

MIXTURE_2D = """
name = "two modes"
[density]
kind = "mixture"
weights = [0.3, 0.7]
means = [[-2.0, 0.0], [2.0, 1.0]]
stds = [0.6, 0.8]
bounds = [[-6.0, 6.0], [-5.0, 6.0]]
[model]
hidden = [32, 32]
[objective]
kind = "esm"
[training]
batch_size = 256
[view]
grid = 48
"""


def mixture_log_pdf(x, weights, means, stds):
    """log sum_k w_k N(x; mu_k, s_k^2 I), written out here (not the density classes')."""
    x = np.asarray(x, dtype=np.float64)
    d = x.shape[1]
    logs = [np.log(w) - 0.5 * np.sum((x - m) ** 2, 1) / s ** 2 - d * np.log(s) - 0.5 * d * np.log(2 * np.pi)
            for w, m, s in zip(weights, np.asarray(means, float), stds)]
    return np.logaddexp.reduce(np.stack(logs), axis=0)


def mixture_score(x, weights, means, stds):
    """grad log p by the responsibilities: sum_k r_k(x) (mu_k - x) / s_k^2."""
    x = np.asarray(x, dtype=np.float64)
    d = x.shape[1]
    logs = np.stack([np.log(w) - 0.5 * np.sum((x - m) ** 2, 1) / s ** 2 - d * np.log(s)
                     for w, m, s in zip(weights, np.asarray(means, float), stds)], 1)
    r = np.exp(logs - logs.max(1, keepdims=True))
    r /= r.sum(1, keepdims=True)
    return sum(r[:, [k]] * (np.asarray(m, float) - x) / s ** 2
               for k, (m, s) in enumerate(zip(means, stds)))


def normalised(logp, bounds, n):
    dv = np.prod([(hi - lo) / n for lo, hi in bounds])
    logp = np.asarray(logp, np.float64)
    m = logp.max()
    return logp - (m + np.log(np.exp(logp - m).sum() * dv))


def test_potential_is_the_least_squares_solution_of_the_difference_system():
    """The DCT solve against lsqr on the explicit edge-by-node difference matrix, for a
    random (rotating) field in 2-D with unequal spacings and in 3-D."""
    rng = np.random.default_rng(0)
    for n, bounds in ((9, [[-1.0, 2.0], [0.0, 5.0]]), (6, [[-1.0, 1.0], [0.0, 3.0], [-2.0, 0.5]])):
        d = len(bounds)
        shape = (n,) * d
        s = rng.normal(size=shape + (d,))
        h = L.grid_spacing(bounds, n)
        idx = np.arange(n ** d).reshape(shape)
        rows, cols, vals, rhs = [], [], [], []
        e = 0
        for a in range(d):
            b = L._edge_integrals(s, a)
            lo = np.take(idx, np.arange(n - 1), axis=a).ravel()
            hi = np.take(idx, np.arange(1, n), axis=a).ravel()
            for i, j, bb in zip(lo, hi, b.ravel()):
                rows += [e, e]
                cols += [j, i]
                vals += [1 / h[a], -1 / h[a]]
                rhs.append(bb)
                e += 1
        A = coo_matrix((vals, (rows, cols)), shape=(e, n ** d)).tocsr()
        ref = lsqr(A, np.array(rhs), atol=1e-13, btol=1e-13, iter_lim=20000)[0]
        phi = L.potential(s, h)
        ref = ref.reshape(shape) - ref.mean()
        assert np.allclose(phi, ref, atol=1e-7 * np.abs(ref).max())


def test_edge_integrals_are_exact_for_cubics():
    """(1/h) * integral over each edge of a cubic, against the antiderivative."""
    n, (lo, hi) = 12, (-2.0, 3.0)
    x = grid_axes([[lo, hi]], n)[0]
    h = (hi - lo) / n
    f = lambda t: 1 - 2 * t + 0.5 * t ** 2 - 0.3 * t ** 3      # noqa: E731
    F = lambda t: t - t ** 2 + t ** 3 / 6 - 0.075 * t ** 4      # noqa: E731
    b = L._edge_integrals(f(x)[:, None], 0)
    assert np.allclose(b, (F(x[1:]) - F(x[:-1])) / h, rtol=1e-12, atol=1e-12)


def test_the_true_score_of_a_mixture_has_no_curl_and_gives_back_its_density():
    p = P.loads(MIXTURE_2D)
    w, m, sd = [0.3, 0.7], [[-2.0, 0.0], [2.0, 1.0]], [0.6, 0.8]
    n = 64
    pts = grid_points(p.density["bounds"], n)
    true = mixture_log_pdf(pts, w, m, sd)
    res = L.from_field(pts, mixture_score(pts, w, m, sd), p.density["bounds"], n, true)
    assert res.curl_fraction < 1e-3
    assert res.kl_grid < 1e-4
    ref = normalised(true, p.density["bounds"], n)
    mass = np.exp(ref) * np.prod(L.grid_spacing(p.density["bounds"], n))
    assert np.sum(mass * np.abs(res.learned_logp - ref)) < 1e-3   # log p back, where p lives
    # and the same through the preset's own density and the module's true log density
    true2 = L.true_log_density(p.build_density(), p, pts)
    assert np.allclose(normalised(true2, p.density["bounds"], n), ref, atol=1e-4)


def test_a_rotation_is_all_curl():
    """s = (-y, x): its best potential explains almost nothing of it (on a square the
    boundary flux is a small gradient part, so the fraction is just under 1)."""
    bounds = [[-4.0, 4.0], [-4.0, 4.0]]
    n = 40
    pts = grid_points(bounds, n)
    rot = np.stack([-pts[:, 1], pts[:, 0]], 1)
    true = mixture_log_pdf(pts, [1.0], [[0.0, 0.0]], [1.5])
    res = L.from_field(pts, rot, bounds, n, true)
    assert res.curl_fraction > 0.9
    # a gradient plus a rotation: in between
    grad = mixture_score(pts, [1.0], [[0.0, 0.0]], [1.5])
    mixed = L.from_field(pts, grad + 0.3 * rot, bounds, n, true)
    assert 0.05 < mixed.curl_fraction < 0.9


def test_one_dimension_integrates_the_score():
    bounds = [[-3.0, 3.0]]
    n = 256
    pts = grid_points(bounds, n)
    w, m, sd = [0.6, 0.4], [[2.0], [-2.0]], [0.5, 0.3]
    true = mixture_log_pdf(pts, w, m, sd)
    res = L.from_field(pts, mixture_score(pts, w, m, sd), bounds, n, true)
    assert res.curl_fraction < 1e-12          # every 1-D field is a gradient
    assert res.kl_grid < 1e-4
    # a wrong field (the score of one mode only) gives a large KL
    wrong = L.from_field(pts, mixture_score(pts, [1.0], [[2.0]], [0.5]), bounds, n, true)
    assert wrong.kl_grid > 0.3


def test_an_energy_models_density_is_minus_its_energy_normalised():
    p = P.loads(MIXTURE_2D.replace("hidden = [32, 32]", 'hidden = [32, 32]\nkind = "energy"'))
    torch.manual_seed(3)
    model = build_model(p)
    n = 24
    res = L.learned_log_density(model, p, n)
    pts = grid_points(p.density["bounds"], n)
    with torch.no_grad():
        e = model.energy(torch.from_numpy(pts)).double().numpy()
    assert res.source == "energy"
    assert np.allclose(res.learned_logp, normalised(-e, p.density["bounds"], n), atol=1e-6)
    # a random energy network is still a gradient field: the curl measured is the grid's only
    assert res.curl_fraction < 1e-3


def test_noise_conditional_energy_uses_the_energy_at_sigma_min():
    p = P.loads(MIXTURE_2D.replace("hidden = [32, 32]", 'hidden = [32, 32]\nkind = "energy"')
                .replace('kind = "esm"', 'kind = "ncsn"\nsigma_max = 3.0\nsigma_min = 0.2\nlevels = 4'))
    torch.manual_seed(4)
    model = build_model(p)
    n = 16
    pts = grid_points(p.density["bounds"], n)
    res = L.learned_log_density(model, p, n)
    with torch.no_grad():
        e = model.energy(torch.from_numpy(pts), torch.full((len(pts),), 0.2)).double().numpy()
    assert np.allclose(res.learned_logp, normalised(-e, p.density["bounds"], n), atol=1e-6)


@pytest.fixture(scope="module")
def esm_energy_trainer():
    from explorer.core.training.trainer import Trainer
    torch.set_num_threads(1)
    p = P.loads(MIXTURE_2D.replace("hidden = [32, 32]", 'hidden = [32, 32]\nkind = "energy"'))
    t = Trainer(p)
    for _ in range(150):
        t.step()
    return t


def test_a_trained_energy_model_has_no_curl(esm_energy_trainer):
    res = L.learned_log_density(esm_energy_trainer, grid_n=48)
    assert res.curl_fraction < 1e-3
    assert res.kl_grid is not None and np.isfinite(res.kl_grid)


def test_a_non_finite_field_gives_no_figures():
    bounds = [[-1.0, 1.0], [-1.0, 1.0]]
    pts = grid_points(bounds, 8)
    f = np.zeros((64, 2))
    f[5, 0] = np.nan
    res = L.from_field(pts, f, bounds, 8, np.zeros(64))
    assert res.curl_fraction is None and res.kl_grid is None and np.isnan(res.learned_logp).all()


def test_headless_run_writes_the_densities_and_their_figures(tmp_path):
    from explorer.core.run.headless import train_and_sample, write_outputs
    p = P.loads(small_preset(steps=40, particles=50, sampler_steps=5, grid=12))
    result = train_and_sample(p, threads=1)
    write_outputs(result, p, tmp_path)
    m = json.loads((tmp_path / "metrics.json").read_text())
    f = np.load(tmp_path / "field.npz")
    assert {"learned_logp", "true_logp"} <= set(f.files)
    assert f["learned_logp"].shape == f["true_logp"].shape == (144,)
    dv = np.prod(L.grid_spacing(p.density["bounds"], 12))
    for key in ("learned_logp", "true_logp"):
        assert np.exp(f[key].astype(np.float64)).sum() * dv == pytest.approx(1.0, rel=1e-4)
    # the figures follow from the file's arrays on the grid they were taken on (recomputed
    # here from the written field): view.grid refined until the exact score is at the floor
    n = round(len(f["density_points"]) ** 0.5)
    assert n >= 12 and m["density_grid"].startswith(f"{n}^2")
    again = L.from_field(f["density_points"], f["density_learned"], p.density["bounds"], n,
                         f["density_true_logp"])
    assert m["curl_fraction"] == pytest.approx(again.curl_fraction, rel=1e-3)
    assert m["density_kl_grid"] == pytest.approx(again.kl_grid, rel=1e-3, abs=1e-6)
    assert 0 <= m["curl_fraction_exact_score"] < m["curl_fraction"]
    dvn = np.prod(L.grid_spacing(p.density["bounds"], n))
    t = f["density_true_logp"].astype(np.float64)
    kl = np.sum(np.exp(t) * dvn * (t - f["density_learned_logp"]))
    assert m["density_kl_grid"] == pytest.approx(kl, rel=1e-3, abs=1e-5)
    assert m["density_kl_grid_exact_score"] <= 1e-3 < m["density_kl_grid"]


def test_the_window_shows_the_learned_density(qtbot, open_main_window, tmp_path):
    pytest.importorskip("pytestqt")
    f = tmp_path / "small.toml"
    f.write_text(small_preset("Small mixture", steps=100, grid=16))
    w = open_main_window(f)
    va = w.views
    va.mode_combo.setCurrentIndex(va.mode_combo.findData("density"))
    fv = w.field_view
    assert fv.mode == "density" and fv.stack.currentWidget() is fv.density_widget
    w.play()
    qtbot.waitUntil(lambda: w.trainer.finished and not w.session.training.playing, timeout=60000)
    qtbot.waitUntil(lambda: va.learned_density is not None
                    and fv.learned_density_image is not None, timeout=5000)
    va.update_learned_density()
    assert fv.learned_density_image.shape == fv.true_density_image.shape == (64, 64)
    assert "KL(p ‖ pθ)" in fv.density_readout and "curl fraction" in fv.density_readout
    kl = va.learned_density.kl_grid
    assert f"{kl:.3g}" in fv.density_readout
    # what is drawn is the model's: recomputed here from a copy of the model
    model = w.session.model_copy()
    again = L.learned_log_density(model, w.session.preset, 64, density=w.session.density)
    assert np.allclose(np.exp(again.learned_logp).reshape(64, 64), fv.learned_density_image,
                       rtol=1e-5, atol=1e-9)
    assert not fv.dens_hint.isVisible()
    w.close()


def _weighted_lsqr(s, h, w):
    """The weighted fit by lsqr on the explicit edge system, each row scaled by sqrt(w_e),
    w_e the mean of the (floored, max-normalised) node weights at its ends: independent of
    the module's normal equations."""
    d = s.shape[-1]
    shape = s.shape[:-1]
    n = shape[0]
    w = w / w.max() + L.WEIGHT_FLOOR
    idx = np.arange(w.size).reshape(shape)
    rows, cols, vals, rhs = [], [], [], []
    e = 0
    for a in range(d):
        b = L._edge_integrals(s, a)
        lo = np.take(idx, np.arange(n - 1), axis=a).ravel()
        hi = np.take(idx, np.arange(1, n), axis=a).ravel()
        for i, j, bb in zip(lo, hi, b.ravel()):
            r = np.sqrt(0.5 * (w.flat[i] + w.flat[j]))
            rows += [e, e]
            cols += [j, i]
            vals += [r / h[a], -r / h[a]]
            rhs.append(r * bb)
            e += 1
    A = coo_matrix((vals, (rows, cols)), shape=(e, w.size)).tocsr()
    ref = lsqr(A, np.array(rhs), atol=1e-14, btol=1e-14, iter_lim=200000)[0]
    return ref.reshape(shape) - ref.mean()


@pytest.mark.parametrize("direct", [True, False])
def test_weighted_potential_is_the_weighted_least_squares_solution(direct, monkeypatch):
    """Sparse LU and the preconditioned CG path against lsqr, for a random rotating field
    and a Gaussian weight spanning four orders of magnitude, in 2-D and 3-D."""
    if not direct:
        monkeypatch.setattr(L, "DIRECT_LIMIT", 0)
    rng = np.random.default_rng(1)
    for n, bounds in ((10, [[-1.0, 2.0], [0.0, 5.0]]), (7, [[-1.0, 1.0], [0.0, 3.0], [-2.0, 0.5]])):
        d = len(bounds)
        s = rng.normal(size=(n,) * d + (d,))
        h = L.grid_spacing(bounds, n)
        pts = grid_points(bounds, n)
        c = np.array([b[0] + 0.3 * (b[1] - b[0]) for b in bounds])
        w = np.exp(-2.0 * ((pts - c) ** 2).sum(1)).reshape((n,) * d)
        ref = _weighted_lsqr(s, h, w)
        phi = L.weighted_potential(s, h, w)
        assert np.allclose(phi, ref, atol=1e-6 * np.abs(ref).max())
        assert not np.allclose(L.potential(s, h), ref, atol=1e-2 * np.abs(ref).max())


def test_curl_fraction_of_a_gradient_plus_rotation_matches_the_closed_form():
    """p = N(m, sigma^2 I) off the box's centre, s = grad log p + c R (x - m), R a quarter
    turn. Under p the rotation is orthogonal to every gradient (div(p R(x - m)) = 0), so
    the p-weighted fit recovers log p and the curl fraction is
    sqrt(E_p c^2 |x - m|^2 / E_p |s|^2) = sqrt(c^2 sigma^4 / (1 + c^2 sigma^4)).
    The unweighted fit, pulled by the box's corners, gets neither."""
    bounds = [[-4.0, 6.0], [-5.0, 5.0]]
    n, m, sig = 80, np.array([1.5, -1.0]), 0.8
    pts = grid_points(bounds, n)
    u = pts - m
    true = -0.5 * (u ** 2).sum(1) / sig ** 2
    for c in (0.5, 1.0, 3.0):
        s = -u / sig ** 2 + c * np.stack([-u[:, 1], u[:, 0]], 1)
        res = L.from_field(pts, s, bounds, n, true)
        closed = np.sqrt(c ** 2 * sig ** 4 / (1 + c ** 2 * sig ** 4))
        assert res.curl_fraction == pytest.approx(closed, rel=0.02)
        assert res.kl_grid < 2e-3
        h = L.grid_spacing(bounds, n)
        w = np.exp(true).reshape(n, n)
        plain = L.curl_fraction(s.reshape(n, n, 2), L.potential(s.reshape(n, n, 2), h), h, w)
        assert abs(plain - closed) > 0.05 * closed
