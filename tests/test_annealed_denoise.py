"""Annealed Langevin's final denoising step (sampler.denoise, NCSNv2's x + sigma_L^2 s(x, sigma_L))
against the closed form on a Gaussian: for data N(mu, v), the score at level sigma is that of
N(mu, v + sigma^2), and Tweedie's E[x_0 | x_sigma] = mu + (x - mu) v / (v + sigma^2)."""

import numpy as np
import pytest
import torch

from explorer.core.presets import preset as P
from explorer.core.samplers import build_sampler
from explorer.core.scores import TrueScore

MU, STD = np.array([1.5, -0.5]), 0.6
GAUSS = {"kind": "mixture", "weights": [1.0], "means": [MU.tolist()], "stds": [STD],
         "bounds": [[-4.0, 4.0], [-4.0, 4.0]]}
LADDER = {"kind": "ncsn", "sigma_max": 3.0, "sigma_min": 0.3, "levels": 4}


def sampler(denoise: bool, steps: int = 20, particles: int = 400, seed: int = 1):
    p = P.parse({"density": GAUSS, "objective": LADDER,
                 "sampler": {"kind": "annealed_langevin", "score": "true", "steps": steps,
                             "particles": particles, "seed": seed, "denoise": denoise}})
    return build_sampler(p, TrueScore(p.build_density(), p), "cpu")


def tweedie(x: np.ndarray, sigma: float) -> np.ndarray:
    v = STD ** 2
    return MU + (x - MU) * v / (v + sigma ** 2)


def test_the_denoising_step_is_the_posterior_mean_of_a_gaussian():
    s = sampler(True)
    x = torch.tensor([[0.0, 0.0], [3.0, 1.0], [-2.0, 2.5]])
    got = s.denoised(x).numpy()
    assert np.allclose(got, tweedie(x.numpy(), 0.3), atol=1e-5), got


def test_denoise_ends_the_same_chain_with_the_closed_form():
    """Same seed: the chain is step for step the plain one, and only the last step adds the
    posterior mean at sigma_L (one more score evaluation)."""
    plain, den = sampler(False), sampler(True)
    a, b = plain.run().numpy(), den.run().numpy()
    assert plain.total == den.total == 80
    assert den.nfe == plain.nfe + 1
    assert np.allclose(b, tweedie(a, 0.3), atol=1e-5)
    assert not np.allclose(a, b)


def test_denoised_cloud_has_the_spread_the_linear_recursion_predicts():
    """On a Gaussian each Langevin step is linear: per axis, deviation d = x - mu, level i with
    alpha_i and V_i = v + sigma_i^2 maps (mean m, variance q) to (a m, a^2 q + alpha_i),
    a = 1 - alpha_i / (2 V_i); the denoising step then multiplies d by v / (v + sigma_L^2).
    The sampled cloud's spread must be that (from the uniform start on the box)."""
    s = sampler(True, steps=100, particles=4000)
    x = s.run().numpy()
    v, lo, hi = STD ** 2, -4.0, 4.0
    m, q = (lo + hi) / 2 - MU, np.full(2, (hi - lo) ** 2 / 12)
    for sig in s.sigmas:
        alpha = s.eps * sig ** 2 / s.sigmas[-1] ** 2
        a = 1 - alpha / (2 * (v + sig ** 2))
        for _ in range(100):
            m, q = a * m, a * a * q + alpha
    c = v / (v + s.sigmas[-1] ** 2)
    want = c * np.sqrt(q + m ** 2)            # root mean square deviation from mu
    got = np.sqrt(((x - MU) ** 2).mean(0))
    assert got == pytest.approx(want, rel=0.04)
    assert np.all(want < STD)                 # the posterior mean's spread is below the data's


def test_denoise_is_off_unless_asked():
    p = P.parse({"density": GAUSS, "objective": LADDER, "sampler": {"kind": "annealed_langevin"}})
    assert p.sampler["denoise"] is False
