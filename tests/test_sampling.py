"""Samplers against the lessons of docs/design.md §3 and against closed forms."""

import math

import numpy as np
import pytest
import torch

from explorer.core.measures import metrics as M
from explorer.core.presets import preset as P
from explorer.core.samplers import build_sampler
from explorer.core.scores import TrueScore

TWO_MODES = {"kind": "mixture", "weights": [0.2, 0.8], "means": [[-5.0, -5.0], [5.0, 5.0]],
             "stds": [1.0, 1.0], "bounds": [[-8.0, 8.0], [-8.0, 8.0]]}
NCSN = {"kind": "ncsn", "sigma_max": 20.0, "sigma_min": 1.0, "levels": 10}


def run_true(sampler: dict, density=TWO_MODES, objective=NCSN, seed=0):
    p = P.parse({"density": density, "objective": objective,
                 "sampler": {"score": "true", "seed": seed, **sampler}})
    d = p.build_density()
    s = build_sampler(p, TrueScore(d, p), "cpu")
    return s.run().numpy(), d, s


def test_plain_langevin_splits_the_particles_evenly():
    """The lesson: with the exact score, plain Langevin keeps about 0.5 in the (5,5) mode."""
    x, d, _ = run_true({"kind": "langevin", "particles": 1280, "step_size": 0.1, "steps": 1000,
                        "init": "uniform"})
    w = M.mode_weights(x, d.components())
    assert abs(w[1] - 0.5) < 0.06, w


def test_annealed_langevin_recovers_the_weights():
    x, d, _ = run_true({"kind": "annealed_langevin", "particles": 1280, "step_size": 0.1,
                        "steps": 100, "init": "uniform"})
    w = M.mode_weights(x, d.components())
    assert 0.75 <= w[1] <= 0.83, w


def test_langevin_on_a_gaussian_reaches_its_variance():
    g = {"kind": "gaussian", "mean": [1.0, -1.0], "std": 0.5}
    x, _, _ = run_true({"kind": "langevin", "particles": 4000, "step_size": 0.01, "steps": 600,
                        "init": "uniform"}, density=g, objective={"kind": "esm"})
    assert np.allclose(x.mean(0), [1, -1], atol=0.05)
    # Langevin with step eps on N(mu, s^2) has stationary variance s^2 / (1 - eps/(4 s^2))
    assert np.allclose(x.var(0), 0.25 / (1 - 0.01 / (4 * 0.25)), rtol=0.1)


def test_ddpm_ancestral_sampler_with_the_exact_score_draws_the_density():
    x, d, s = run_true({"kind": "ddpm", "particles": 4000},
                       density={"kind": "mixture", "weights": [0.3, 0.7],
                                "means": [[-2.0, 0.0], [2.0, 0.0]], "stds": [0.4, 0.4]},
                       objective={"kind": "ddpm", "timesteps": 1000})
    assert s.total == 1000
    w = M.mode_weights(x, d.components())
    assert abs(w[0] - 0.3) < 0.04, w
    assert np.allclose(x[:, 1].std(), 0.4, rtol=0.15)


def test_annealed_sigma_readout_and_step_sizes():
    p = P.parse({"density": TWO_MODES, "objective": NCSN,
                 "sampler": {"kind": "annealed_langevin", "score": "true", "steps": 3, "particles": 5}})
    s = build_sampler(p, TrueScore(p.build_density(), p), "cpu")
    assert s.total == 30 and math.isclose(s.sigma, 20.0, rel_tol=1e-5)
    s.advance(3)
    assert s.sigma < 20.0
    s.advance(100)
    assert s.done and math.isclose(s.sigma, 1.0, rel_tol=1e-5)


def test_samplers_are_reproducible_by_seed():
    a, _, _ = run_true({"kind": "langevin", "particles": 50, "steps": 20}, seed=3)
    b, _, _ = run_true({"kind": "langevin", "particles": 50, "steps": 20}, seed=3)
    c, _, _ = run_true({"kind": "langevin", "particles": 50, "steps": 20}, seed=4)
    assert np.array_equal(a, b) and not np.array_equal(a, c)


def test_mode_weights_counts_nonfinite_particles_nowhere():
    comps = (np.array([0.5, 0.5]), np.array([[-1.0], [1.0]]), np.array([[[1.0]], [[1.0]]]))
    x = np.array([[-2.0], [2.0], [3.0], [np.nan]])
    assert M.mode_weights(x, comps) == [0.25, 0.5]


def test_fisher_divergence_is_zero_for_the_truth_and_scales_quadratically():
    x = torch.randn(1000, 2)
    f, rel = M.fisher_divergence(lambda z: -z, lambda z: -z, x)
    assert f == 0 and rel == 0
    f2, rel2 = M.fisher_divergence(lambda z: -2 * z, lambda z: -z, x)
    assert rel2 == pytest.approx(1.0)  # |(-2z) - (-z)|^2 = |z|^2 = |true|^2
