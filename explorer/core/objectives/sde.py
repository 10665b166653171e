"""Continuous-time denoising score matching on a score SDE (Song et al. 2021, eq. 7;
reference code losses.py, get_sde_loss_fn).

Why: NCSN (VE) and DDPM (VP) are two discretisations of one objective; training in continuous
time lets a single network serve every sampler (reverse SDE, PC, probability-flow ODE).

    t ~ U[eps_t, T],  z ~ N(0, I),  x_t = a(t) x_0 + s(t) z
    sigma2 weighting (lambda = s(t)^2):   l = sum_i (s_theta(x_t, t) s(t) + z)_i^2
    likelihood weighting (lambda = g(t)^2): l = g(t)^2 sum_i (s_theta(x_t, t) + z / s(t))_i^2
Both reduce by SUM over coordinates (a zero network scores d with sigma2 weighting) and carry
no 1/2, as losses.py with reduce_mean=False. The per-sample terms are returned; loss = mean.
"""

from __future__ import annotations

import torch

from ..presets.schema import Field
from ..noise.sde import KINDS, make_sde
from .base import Objective

WEIGHTINGS = ("sigma2", "likelihood")

# How `score-explorer run` measures the model's likelihood by its ODE (core/measures/model_likelihood.py);
# flow matching declares the same keys.
LIKELIHOOD_FIELDS = {
    "likelihood_trace": Field("str", "auto", choices=("auto", "exact", "hutchinson"),
                              help="trace of the ODE's Jacobian in the likelihood: exact (d <= 3 by "
                                   "auto) or Hutchinson's estimate with one Rademacher probe"),
    "likelihood_samples": Field("int", 500, min=0, max=100_000,
                                help="test samples of the density for nll in metrics.json (0: none)"),
    # Hutchinson's estimate beside the exact trace (core/measures/hutchinson.py): nll_hutchinson, _se
    "hutchinson_probes": Field("int", 4, min=0, max=256,
                               help="probes k for nll_hutchinson in metrics.json, held fixed along "
                                    "each ODE solve (0: not computed; 1: no per-point spread)"),
    "hutchinson_probe": Field("str", "rademacher", choices=("rademacher", "gaussian"),
                              help="Hutchinson's probe: rademacher (+-1) or gaussian N(0, I)"),
}


class SDEObjective(Objective):
    name = "sde"
    label = "SDE  E_t[lambda(t) |s(x_t, t) + z / s(t)|^2]"
    title = "Score SDE (Song et al. 2021): continuous-time denoising score matching"
    formula = ("E<sub>t</sub> λ(t) |s<sub>θ</sub>(x<sub>t</sub>, t) + z/s(t)|²,  "
               "x<sub>t</sub> = a(t) x + s(t) z,  t ~ U[ε<sub>t</sub>, 1]")
    assumes = ("NCSN in continuous time is the VE SDE, DDPM the VP SDE. One network s(x, t) "
               "serves the reverse SDE, predictor-corrector and the probability-flow ODE "
               "(which also gives exact likelihoods).")
    fields = {
        "sde": Field("str", "vp", choices=KINDS,
                     help="ve: variance exploding (NCSN), vp: variance preserving (DDPM), "
                          "subvp: sub-VP (lower variance, better likelihoods)"),
        # None: derived from the density's box when the preset is loaded, as NCSN's (preset._derive)
        "sigma_max": Field("float", None, min=0.0, exclusive_min=True,
                           help="VE: sigma(1) (derived: five times the box diagonal, so that "
                                "the prior N(0, sigma_max^2 I) is close to p_1)"),
        "sigma_min": Field("float", None, min=0.0, exclusive_min=True,
                           help="VE: sigma(0) (derived: min(0.01, sigma_max / 100))"),
        "beta_min": Field("float", 0.1, min=0.0, exclusive_min=True, max=1000.0,
                          help="VP, sub-VP: beta(0)"),
        "beta_max": Field("float", 20.0, min=0.0, exclusive_min=True, max=1000.0,
                          help="VP, sub-VP: beta(1)"),
        "eps_t": Field("float", 1e-5, min=0.0, exclusive_min=True, max=0.5,
                       help="smallest training time: t ~ U[eps_t, 1]"),
        "weighting": Field("str", "sigma2", choices=WEIGHTINGS,
                           help="lambda(t): sigma2 = s(t)^2, likelihood = g(t)^2 (Song et al. 2021b)"),
        **LIKELIHOOD_FIELDS,
    }
    conditioning = "sde"
    default_sampler = "pc"
    samplers = ("pc", "euler_maruyama", "ode", "heun", "dpm_solver", "ddim")
    positive_loss = True
    order = 9

    @classmethod
    def noise_range(cls, half_diagonal: float):
        """VE: sigma_max five times the box's diagonal. Annealed Langevin mixes at the top level,
        the probability-flow ODE does not: its prior N(0, sigma_max^2 I) must be close to
        p * N(0, sigma_max^2 I). On a 3-component 2-D mixture in a box of diagonal 17, the
        exact-score ODE's weights were off by up to 0.021 with sigma_max = 34 (twice the
        diagonal) and by 0.006-0.011 with 100 (6,000 particles, seeds 0 and 1). sigma_min small,
        as the samples and the likelihood are of p * N(0, sigma_min^2 I)."""
        return 10.0 * half_diagonal, lambda big: min(0.01, big / 100)

    def __init__(self, sde: str = "vp", sigma_min: float = 0.01, sigma_max: float = 50.0,
                 beta_min: float = 0.1, beta_max: float = 20.0, eps_t: float = 1e-5,
                 weighting: str = "sigma2", N: int = 1000, likelihood_trace: str = "auto",
                 likelihood_samples: int = 500, hutchinson_probes: int = 4,
                 hutchinson_probe: str = "rademacher"):
        if weighting not in WEIGHTINGS:
            raise ValueError(f"weighting must be one of {WEIGHTINGS}, got {weighting!r}")
        if sigma_min is None or sigma_max is None:
            raise ValueError("the SDE objective needs objective.sigma_min and objective.sigma_max")
        self.sde = make_sde(sde, sigma_min=sigma_min, sigma_max=sigma_max, beta_min=beta_min,
                            beta_max=beta_max, N=N, eps_t=eps_t)
        self.eps_t = float(eps_t)
        self.weighting = weighting
        self.path = self.sde

    def losses(self, model, x: torch.Tensor) -> torch.Tensor:
        sde = self.sde
        # t = U(0, 1) (T - eps) + eps
        t = torch.rand(x.shape[0], device=x.device, dtype=x.dtype) * (sde.T - self.eps_t) + self.eps_t
        z = torch.randn_like(x)
        mean, std = sde.marginal_prob(x, t)
        std = std.unsqueeze(1)
        perturbed = mean + std * z
        score = model(perturbed, t)
        if self.weighting == "sigma2":
            # lambda(t) = s(t)^2:  |s_theta s(t) + z|^2 = s^2 |s_theta + z / s|^2
            return (score * std + z).pow(2).sum(dim=1)
        # lambda(t) = g(t)^2:  g^2 |s_theta + z / s|^2
        g2 = sde.diffusion(t) ** 2
        return (score + z / std).pow(2).sum(dim=1) * g2
