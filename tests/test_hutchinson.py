"""Hutchinson's likelihood estimate (core/measures/hutchinson.py) against the exact-trace ODE likelihood,
the closed form of a Gaussian, and a Monte-Carlo check of its standard error."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

import explorer.api as se
from explorer.core.measures import model_likelihood as ML
from explorer.core.presets import preset as P
from explorer.core.errors import SpecError
from explorer.core.measures.hutchinson import draw_probes, nll_and_se, variance_by_k


def gaussian_preset(objective: str, cov, **extra) -> P.Preset:
    return P.parse({"name": "g", "density": {"kind": "gaussian", "mean": [0.5, -0.5], "covariance": cov},
                    "model": {"hidden": [32, 32], "activation": "silu"},
                    "objective": {"kind": objective, "likelihood_samples": 60, **extra},
                    "training": {"steps": 0, "seed": 1}, "sampler": {"particles": 100}})


def closed_form_log_p(x: np.ndarray, mean, cov) -> np.ndarray:
    c = np.asarray(cov, dtype=np.float64)
    r = x - np.asarray(mean)
    q = np.einsum("ni,ij,nj->n", r, np.linalg.inv(c), r)
    return -0.5 * q - 0.5 * math.log(np.linalg.det(2 * math.pi * c))


@pytest.mark.parametrize("objective", ["sde", "flow_matching"])
@pytest.mark.parametrize("probe", ["rademacher", "gaussian"])
def test_exact_score_hutchinson_within_three_se_of_exact_and_closed_form(objective, probe):
    """With the density's exact score the exact trace gives the Gaussian's log p in closed form;
    Hutchinson's NLL (k = 8) lies within 3 standard errors (+0.01) of it."""
    cov = [[1.0, 0.6], [0.6, 2.0]]
    p = gaussian_preset(objective, cov)
    density = se.train(p, steps=0).trainer.density
    x = density.sample(40, torch.Generator().manual_seed(4)).double()
    exact, _ = ML.log_likelihood(p, density, x, trace="exact")
    truth = closed_form_log_p(x.numpy(), [0.5, -0.5], cov)
    # the ODE's own error (tolerance 1e-5, the path's end points eps_t / t_noise, VP's p_1 not
    # exactly N(0, I)): up to ~1e-2 in the tails
    assert np.allclose(exact, truth, atol=2e-2)
    assert abs(exact.mean() - truth.mean()) / 2 < 5e-3
    l, _ = ML.hutchinson_log_likelihood(p, density, x, probes=8, probe=probe, seed=2)
    nll_h, se_h = nll_and_se(torch.from_numpy(l), 2)
    nll_exact = float(-exact.mean() / 2)
    assert se_h > 0
    assert abs(nll_h - nll_exact) <= 3 * se_h + 0.01, (nll_h, nll_exact, se_h)


def test_rademacher_is_exact_for_a_diagonal_jacobian():
    """A Gaussian with diagonal covariance has a diagonal score Jacobian along the whole VP path:
    eps^T J eps = tr J for +-1 probes, so every Rademacher estimate equals the exact trace, while
    Gaussian probes do not."""
    p = gaussian_preset("sde", [[1.0, 0.0], [0.0, 2.5]])
    density = se.train(p, steps=0).trainer.density
    x = density.sample(8, torch.Generator().manual_seed(0)).double()
    exact, _ = ML.log_likelihood(p, density, x, trace="exact")
    rad, _ = ML.hutchinson_log_likelihood(p, density, x, probes=2, probe="rademacher")
    gau, _ = ML.hutchinson_log_likelihood(p, density, x, probes=2, probe="gaussian")
    assert np.allclose(rad, exact[:, None], atol=1e-4)
    assert np.abs(gau - exact[:, None]).max() > 1e-2


def test_trained_model_hutchinson_against_its_exact_trace():
    p = gaussian_preset("flow_matching", [[1.0, 0.6], [0.6, 2.0]], hutchinson_probes=6)
    run = se.train(p, steps=40)
    x = run.trainer.density.sample(30, torch.Generator().manual_seed(9)).double()
    exact, _ = ML.log_likelihood(p, run.model, x, trace="exact")
    m = ML.hutchinson_metrics(p, run.model, x, seed=0)
    assert m["nll_hutchinson_probes"] == 6 and m["nll_hutchinson_probe"] == "rademacher"
    assert abs(m["nll_hutchinson"] - float(-exact.mean() / 2)) <= 3 * m["nll_hutchinson_se"] + 0.01
    vk = m["nll_hutchinson_variance_by_k"]
    assert vk["k"] == [1, 2, 4] and vk["predicted"][0] == pytest.approx(2 * vk["predicted"][1])


def test_standard_error_matches_monte_carlo():
    """se from one draw of n x k estimates against the spread of NLL over many such draws."""
    g = torch.Generator().manual_seed(0)
    n, k, d = 40, 4, 2
    base = torch.randn(n, generator=g, dtype=torch.float64) * 3
    scale = torch.rand(n, generator=g, dtype=torch.float64) + 0.2     # per-point probe noise
    draws = [base[:, None] + scale[:, None] * torch.randn(n, k, generator=g, dtype=torch.float64)
             for _ in range(4000)]
    nlls = torch.tensor([nll_and_se(l, d)[0] for l in draws])
    ses = torch.tensor([nll_and_se(l, d)[1] for l in draws])
    truth = float(torch.sqrt((scale ** 2).sum() / k) / (n * d))
    assert float(nlls.std()) == pytest.approx(truth, rel=0.05)
    assert float(ses.mean()) == pytest.approx(truth, rel=0.05)
    assert float(nlls.mean()) == pytest.approx(float(-base.mean() / d), abs=3 * truth / math.sqrt(4000) * 3)


def test_variance_by_k_observed_tracks_predicted():
    g = torch.Generator().manual_seed(1)
    l = torch.randn(200, 64, generator=g, dtype=torch.float64)
    vk = variance_by_k(l, 1)
    assert vk["k"] == [1, 2, 4, 8, 16, 32, 64] and vk["observed"][-1] is None
    for pred, obs in zip(vk["predicted"][:3], vk["observed"][:3]):   # 64, 32, 16 groups
        assert obs == pytest.approx(pred, rel=0.5)


def test_probes_have_identity_second_moment():
    x = torch.zeros(20000, 3, dtype=torch.float64)
    for kind in ("rademacher", "gaussian"):
        e = draw_probes(x, 1, kind, torch.Generator().manual_seed(3))[0]
        assert torch.allclose(e.T @ e / len(e), torch.eye(3, dtype=torch.float64), atol=0.04)
    assert set(draw_probes(x, 1, "rademacher")[0].unique().tolist()) == {-1.0, 1.0}
    with pytest.raises(ValueError):
        draw_probes(x, 1, "sphere")


@pytest.mark.parametrize("key,value", [("hutchinson_probes", -1), ("hutchinson_probes", 1000),
                                       ("hutchinson_probes", 2.5), ("hutchinson_probe", "sphere")])
def test_preset_keys_are_validated(key, value):
    with pytest.raises(SpecError) as e:
        P.parse({"density": {"kind": "gaussian"}, "objective": {"kind": "sde", key: value}})
    assert e.value.key == f"objective.{key}"


def test_metrics_json_and_still(tmp_path):
    """`score-explorer run` writes nll_hutchinson and its se, and the variance-against-k still."""
    import json
    from explorer.core.run.headless import train_and_sample, write_outputs
    p = P.parse({"name": "h", "density": {"kind": "gaussian", "mean": [0.0, 0.0]},
                 "model": {"hidden": [16]}, "objective": {"kind": "flow_matching", "likelihood_samples": 30,
                                                          "hutchinson_probes": 4, "hutchinson_probe": "gaussian"},
                 "training": {"steps": 20}, "sampler": {"particles": 64, "steps": 10}})
    result = train_and_sample(p)
    write_outputs(result, p, tmp_path)
    m = json.loads((tmp_path / "metrics.json").read_text())
    assert m["nll_hutchinson_probe"] == "gaussian" and m["nll_hutchinson_probes"] == 4
    assert m["nll_hutchinson_se"] > 0
    assert abs(m["nll_hutchinson"] - m["nll"]) <= 3 * m["nll_hutchinson_se"] + 0.01
    assert (tmp_path / "likelihood_probes.png").stat().st_size > 1000
    off = P.parse({**p.to_dict(), "objective": {"kind": "flow_matching", "likelihood_samples": 30,
                                                 "hutchinson_probes": 0}})
    assert "nll_hutchinson" not in ML.nll_metrics(off, result.trainer.model, result.trainer.density)


def test_api_log_density():
    p = gaussian_preset("sde", [[1.0, 0.6], [0.6, 2.0]])
    run = se.train(p, steps=0)
    x = np.array([[0.0, 0.0], [1.0, -2.0], [2.5, 1.0]])
    lp = se.log_density(run, x)
    assert lp.shape == (3,) and np.allclose(lp, closed_form_log_p(x, [0.5, -0.5], [[1.0, 0.6], [0.6, 2.0]]),
                                            atol=1e-2)
    lh, s = se.log_density(run, x, trace="hutchinson", probes=16, probe="gaussian", return_se=True)
    assert lh.shape == (3,) and np.all(s > 0) and np.all(np.abs(lh - lp) <= 4 * s + 0.01)
    trained = se.train(gaussian_preset("flow_matching", [[1.0, 0.6], [0.6, 2.0]]), steps=20)
    assert np.all(np.isfinite(se.log_density(trained, x)))
    with pytest.raises(SpecError):
        se.log_density(run, x, trace="sliced")
    with pytest.raises(SpecError):
        se.log_density(run, np.zeros((3, 3)))
    dsm = se.train(P.parse({"density": {"kind": "gaussian"}, "objective": {"kind": "dsm"},
                            "model": {"hidden": [8]}}), steps=1)
    with pytest.raises(SpecError) as e:
        se.log_density(dsm, x, trace="exact")
    assert e.value.key == "objective.kind" and "trace='grid'" in str(e.value)


def _mass_on_bounds(run, n=160) -> float:
    """The integral of exp(log_density) over density.bounds by the midpoint rule on a grid
    finer than the model's (an independent quadrature of the interpolated density)."""
    b = np.asarray(run.preset.density["bounds"], dtype=np.float64)
    axes = [lo + (hi - lo) * (np.arange(n) + 0.5) / n for lo, hi in b]
    pts = np.stack([m.ravel() for m in np.meshgrid(*axes, indexing="ij")], axis=1)
    cell = float(np.prod((b[:, 1] - b[:, 0]) / n))
    return float(np.exp(se.log_density(run, pts)).sum() * cell)


@pytest.mark.parametrize("kind", ["score", "energy"])
def test_log_density_of_a_model_without_an_ode_is_its_learned_density(kind):
    """Every objective: the grid's learned density (trace 'auto' -> 'grid' for DSM/ESM), a
    density over the bounds (mass 1 by an independent quadrature, -inf outside), near the
    truth once trained; an energy model's is -E itself up to one constant."""
    cov = [[1.0, 0.6], [0.6, 2.0]]
    p = P.parse({"name": "g", "density": {"kind": "gaussian", "mean": [0.5, -0.5], "covariance": cov},
                 "model": {"hidden": [32, 32], "activation": "softplus", "kind": kind},
                 "objective": {"kind": "esm"}, "training": {"steps": 0, "seed": 0, "lr": 3e-3},
                 "view": {"grid": 32}})
    run = se.train(p, steps=400)
    x = np.array([[0.5, -0.5], [1.0, 0.5], [0.0, -1.5], [1.2, -0.2]])
    lp = se.log_density(run, x)
    assert np.array_equal(lp, se.log_density(run, x, trace="grid"))
    assert np.abs(lp - closed_form_log_p(x, [0.5, -0.5], cov)).max() < 0.15, lp
    assert _mass_on_bounds(run) == pytest.approx(1.0, abs=0.02)
    b = np.asarray(p.density["bounds"])
    assert np.isneginf(se.log_density(run, np.array([[b[0, 1] + 0.1, 0.0]]))).all()
    if kind == "energy":     # log p_theta = -E - log Z at the points themselves
        import torch
        model = run.trainer.model
        with torch.no_grad():
            minus_e = -model.energy(torch.from_numpy(x.astype(np.float32)), None).double().numpy()
        assert np.ptp(lp - minus_e) < 1e-5
