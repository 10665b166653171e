"""Where a noise-conditional model's Fisher divergence is measured (issue 10.3): DDPM at the
first step whose noise std reaches 0.1, on samples of that marginal, against its true score;
NCSN at sigma_min on samples of p_sigma_min. Checked against direct computations."""

import numpy as np
import torch

from explorer.core.presets import preset as P
from explorer.core.scores import fisher_level
from explorer.core.training.trainer import Trainer

MIX = {"kind": "mixture", "weights": [0.4, 0.6], "means": [[-2.0, 0.0], [2.0, 1.0]],
       "stds": [0.5, 0.8]}


def _preset(objective):
    return P.parse({"density": MIX, "objective": objective, "model": {"hidden": [16]},
                    "training": {"steps": 10, "batch_size": 64},
                    "sampler": {"particles": 10, "steps": 1}})


def _mixture_score(x, ab, noise):
    w, mu, sd = np.array([0.4, 0.6]), np.array([[-2.0, 0.0], [2.0, 1.0]]), np.array([0.5, 0.8])
    var = ab * sd ** 2 + noise ** 2
    diff = x[:, None, :] - np.sqrt(ab) * mu[None]
    logc = np.log(w) - np.log(2 * np.pi * var) - 0.5 * (diff ** 2).sum(-1) / var
    r = np.exp(logc - logc.max(1, keepdims=True))
    r /= r.sum(1, keepdims=True)
    return -(r[:, :, None] * diff / var[None, :, None]).sum(1)


def test_ddpm_fisher_is_measured_on_the_marginal_where_the_noise_reaches_0_1():
    p = _preset({"kind": "ddpm", "timesteps": 200})
    betas = np.linspace(1e-4, 0.02, 200)
    noise = np.sqrt(1 - np.cumprod(1 - betas))
    t = int(np.argmax(noise >= 0.1))
    assert fisher_level(p) == ("step", t)
    tr = Trainer(p)
    x = tr.eval_samples().double().numpy()
    ab = float(np.cumprod(1 - betas)[t])
    # the samples are of the marginal: their mean is sqrt(ab) times the mixture's mean
    mean_p = 0.4 * np.array([-2.0, 0.0]) + 0.6 * np.array([2.0, 1.0])
    assert np.allclose(x.mean(0), np.sqrt(ab) * mean_p, atol=0.05)
    with torch.no_grad():
        c = torch.full((len(x),), t, dtype=torch.long)
        eps = tr.model(torch.from_numpy(x).float(), c).double().numpy()
    learned = -eps / np.sqrt(1 - ab)
    true = _mixture_score(x, ab, np.sqrt(1 - ab))
    f = 0.5 * ((learned - true) ** 2).sum(1).mean()
    ref = 0.5 * (true ** 2).sum(1).mean()
    ev = tr.evaluate()
    assert np.isclose(ev["fisher_divergence"], f, rtol=1e-4)
    assert np.isclose(ev["relative_fisher_divergence"], f / ref, rtol=1e-4)


def test_ncsn_fisher_is_measured_on_p_sigma_min():
    p = _preset({"kind": "ncsn", "sigma_max": 5.0, "sigma_min": 0.3, "levels": 4})
    assert fisher_level(p) == ("sigma", 0.3)
    tr = Trainer(p)
    x = tr.eval_samples().double().numpy()
    with torch.no_grad():
        learned = tr.learned_score().at_sigma(torch.from_numpy(x).float(), 0.3).double().numpy()
    true = _mixture_score(x, 1.0, 0.3)
    f = 0.5 * ((learned - true) ** 2).sum(1).mean()
    assert np.isclose(tr.evaluate()["fisher_divergence"], f, rtol=1e-4)
    # samples of p_sigma: the total variance is p's plus d sigma^2
    plain = tr.density.sample(100_000, torch.Generator().manual_seed(0)).double().numpy()
    assert abs((x.var(0).sum() - plain.var(0).sum()) - 2 * 0.09) < 0.1
