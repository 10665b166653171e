"""DSM's bias and variance against sigma (explorer/core/measures/dsm_tradeoff.py, issue 14).

The bias is checked against the closed form for N(0, s^2 I) and, on Gaussian mixtures,
against an independent computation: autograd of the log of the explicitly convolved mixture
density (written out here, not the program's GaussianMixture), integrated by a trapezoid
rule on a finer grid over a wider box. The variances are checked against a per-sample
autograd loop and for their small-sigma slopes (-4 for the loss, -2 for its gradient).
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from explorer.core.measures import dsm_tradeoff as T
from explorer.core.densities.gaussian import GaussianMixture
from explorer.core.errors import SpecError
from explorer.core.models import ScoreModel

SIGMAS = [0.01, 0.05, 0.2, 0.6, 1.5]


@pytest.mark.parametrize("d, s", [(1, 0.7), (2, 0.5)])
def test_bias_of_a_gaussian_is_the_closed_form(d, s):
    density = GaussianMixture([1.0], [[0.0] * d], [np.eye(d) * s * s])
    bias = T.bias_curve(density, SIGMAS)
    exact = T.gaussian_bias(SIGMAS, s, d)    # 1/2 d sigma^4 / (s^2 (s^2 + sigma^2)^2)
    np.testing.assert_allclose(bias.fisher, exact, rtol=1e-4)
    np.testing.assert_allclose(bias.score_reference, 0.5 * d / s ** 2, rtol=1e-4)
    np.testing.assert_allclose(bias.relative, exact / (0.5 * d / s ** 2), rtol=1e-4)
    assert bias.stderr is None


def test_bias_in_3d_is_monte_carlo_within_its_standard_error():
    s = 0.8
    density = GaussianMixture([1.0], [[0.0, 0.0, 0.0]], [np.eye(3) * s * s])
    bias = T.bias_curve(density, [0.1, 0.5, 1.0], mc_samples=100_000)
    exact = T.gaussian_bias([0.1, 0.5, 1.0], s, 3)
    assert bias.stderr is not None and np.all(bias.stderr > 0)
    assert np.all(np.abs(bias.fisher - exact) < 4 * bias.stderr), (bias.fisher, exact, bias.stderr)
    assert np.all(bias.stderr < 0.02 * exact)


def _convolved_log_density(x, weights, means, covs, sigma):
    """log sum_k w_k N(x; mu_k, C_k + sigma^2 I), written out (float64, differentiable)."""
    d = x.shape[1]
    terms = []
    for w, mu, c in zip(weights, means, covs):
        cov = torch.as_tensor(c, dtype=torch.float64) + sigma ** 2 * torch.eye(d, dtype=torch.float64)
        diff = x - torch.as_tensor(mu, dtype=torch.float64)
        quad = (diff @ torch.linalg.inv(cov) * diff).sum(1)
        terms.append(math.log(w) - 0.5 * quad - 0.5 * torch.logdet(cov) - 0.5 * d * math.log(2 * math.pi))
    return torch.logsumexp(torch.stack(terms, 1), 1)


def _independent_bias(weights, means, covs, sigmas, half=9.0, n=701):
    """1/2 E_p |grad log p_sigma - grad log p|^2 by autograd and a trapezoid rule."""
    u = torch.linspace(-half, half, n, dtype=torch.float64)
    x = torch.cartesian_prod(u, u).requires_grad_(True)

    def score(sigma):
        return torch.autograd.grad(_convolved_log_density(x, weights, means, covs, sigma).sum(), x)[0]

    clean = score(0.0)
    p = _convolved_log_density(x, weights, means, covs, 0.0).exp().detach().reshape(n, n)
    out = []
    for sigma in sigmas:
        gap = 0.5 * (score(sigma) - clean).pow(2).sum(1).detach().reshape(n, n)
        out.append(float(torch.trapezoid(torch.trapezoid(gap * p, u), u)))
    ref = 0.5 * clean.pow(2).sum(1).detach().reshape(n, n)
    return np.array(out), float(torch.trapezoid(torch.trapezoid(ref * p, u), u))


def test_bias_of_a_mixture_matches_an_independent_computation():
    weights = [0.2, 0.5, 0.3]
    means = [[-2.0, -1.5], [1.5, 2.0], [2.0, -2.0]]
    covs = [np.diag([0.25, 0.25]), np.array([[0.5, 0.3], [0.3, 0.4]]), np.diag([0.16, 0.64])]
    density = GaussianMixture(weights, means, covs)
    bias = T.bias_curve(density, SIGMAS)
    ref, ref_norm = _independent_bias(weights, means, covs, SIGMAS)
    np.testing.assert_allclose(bias.fisher, ref, rtol=2e-3)
    np.testing.assert_allclose(bias.relative, ref / ref_norm, rtol=2e-3)
    assert np.all(np.diff(bias.fisher) > 0)       # more noise, more bias


def _model(dim=2, parameterisation="score"):
    torch.manual_seed(0)
    return ScoreModel(dim, hidden=[16, 16], parameterisation=parameterisation)


@pytest.mark.parametrize("parameterisation", ["score", "energy"])
def test_variance_matches_a_per_sample_autograd_loop(parameterisation):
    density = GaussianMixture([0.5, 0.5], [[-1.0, 0.0], [1.0, 0.0]], [np.eye(2) * 0.3] * 2)
    model = _model(parameterisation=parameterisation)
    sigma, n = 0.3, 24
    var = T.variance_curve(model, density, [sigma], samples=n, seed=5)
    g = torch.Generator().manual_seed(5)          # the same (x, z) as variance_curve draws
    x = density.sample(n, g).double()
    z = torch.randn(x.shape, generator=g, dtype=torch.float64)
    net = model.double()
    losses, grads = [], []
    for i in range(n):
        x_tilde = (x[i] + sigma * z[i]).unsqueeze(0)
        loss = 0.5 * (net(x_tilde) + (x_tilde - x[i]) / sigma ** 2).pow(2).sum()
        params = list(net.parameters())
        parts = torch.autograd.grad(loss, params, allow_unused=True)   # energy: E's bias is unused
        grads.append(torch.cat([(torch.zeros_like(q) if dq is None else dq).flatten()
                                for q, dq in zip(params, parts)]))
        losses.append(float(loss.detach()))
    grads = torch.stack(grads)
    np.testing.assert_allclose(var.loss[0], np.var(losses, ddof=1), rtol=1e-9)
    expected = float((grads - grads.mean(0)).pow(2).sum() / (n - 1))
    np.testing.assert_allclose(var.grad[0], expected, rtol=1e-9)


@pytest.mark.parametrize("parameterisation", ["score", "energy"])
def test_variance_slopes_at_small_sigma(parameterisation):
    """Var l ~ d / (2 sigma^4) (slope -4); E|g - E g|^2 ~ 1/sigma^2 (slope -2)."""
    density = GaussianMixture([1.0], [[0.0, 0.0]], [np.eye(2)])
    sigmas = [0.003, 0.006]
    var = T.variance_curve(_model(parameterisation=parameterisation), density, sigmas, samples=512)
    assert T.log_slope(sigmas, var.loss) == pytest.approx(-4.0, abs=0.05)
    assert T.log_slope(sigmas, var.grad) == pytest.approx(-2.0, abs=0.1)
    np.testing.assert_allclose(var.loss, [2 / (2 * s ** 4) for s in sigmas], rtol=0.3)


def test_parse_sigmas():
    assert T.parse_sigmas("0.01:1:3") == pytest.approx([0.01, 0.1, 1.0])
    assert T.parse_sigmas("0.5, 0.1,0.1") == [0.1, 0.5]
    for bad, why in (("", "no sigma"), ("1:0.1:5", "lo < hi"), ("0:1:5", "lo < hi"),
                     ("0.1:1:1", "between 2 and"), ("a,b", "comma list"), ("-1", "positive"),
                     ("0.1:1", "comma list"), ("nan", "positive"), ("1:2:300", "between 2 and")):
        with pytest.raises(SpecError) as e:
            T.parse_sigmas(bad)
        assert e.value.key == "--sigmas" and why in e.value.message, (bad, e.value.message)


def test_measure_on_a_shipped_preset_with_a_trained_point():
    from explorer.core.presets import preset as P
    from explorer.core.presets.shipped import resolve
    preset = P.load(resolve("two_modes_annealed"))   # any objective: the network is DSM's
    preset.training["batch_size"] = 64
    r = T.measure(preset, [0.05, 0.5], samples=64, trained_sigmas=[0.5], train_steps=5)
    assert r.sigmas == [0.05, 0.5] and len(r.bias) == len(r.loss_variance) == 2
    assert r.bias[0] < r.bias[1]
    assert r.trained[0]["steps"] == 5 and r.trained[0]["relative_fisher_divergence"] > 0
    doc = r.to_json()
    import json
    json.dumps(doc, allow_nan=False)
    assert "sigma,bias" in r.csv_text().splitlines()[0]
