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

from ..sde import make_sde
from . import Objective

WEIGHTINGS = ("sigma2", "likelihood")


class SDEObjective(Objective):
    name = "sde"
    label = "SDE  E_t[lambda(t) |s(x_t, t) + z / s(t)|^2]"

    def __init__(self, sde: str = "vp", sigma_min: float = 0.01, sigma_max: float = 50.0,
                 beta_min: float = 0.1, beta_max: float = 20.0, eps_t: float = 1e-5,
                 weighting: str = "sigma2", N: int = 1000):
        if weighting not in WEIGHTINGS:
            raise ValueError(f"weighting must be one of {WEIGHTINGS}, got {weighting!r}")
        self.sde = make_sde(sde, sigma_min=sigma_min, sigma_max=sigma_max, beta_min=beta_min,
                            beta_max=beta_max, N=N, eps_t=eps_t)
        self.eps_t = float(eps_t)
        self.weighting = weighting

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
