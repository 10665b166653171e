"""Conditional flow matching with the linear Gaussian path (rectified flow; Lipman et al. 2023,
Liu et al. 2023).

Convention (stated once, used everywhere): t = 0 is NOISE, t = 1 is DATA.
    x_t = t x_1 + (1 - t) z,   x_1 ~ p (data),  z ~ N(0, I),   t ~ U[0, 1]
    conditional velocity u_t = d x_t / dt = x_1 - z
    loss  l = sum_i (v_theta(x_t, t) - (x_1 - z))_i^2      (sum over coordinates)
The ODE dx/dt = v(x, t) from t = 0 (x ~ N(0, I)) to t = 1 transports noise to data.

Why a score too: the marginal of x_t is p_t = law of t x_1 + (1 - t) z, so the same field view,
metrics and samplers can show a flow model beside the score models. Derivation: given x_1,
x_t ~ N(t x_1, (1 - t)^2 I), so (Tweedie) grad log p_t(x) = -E[z | x_t = x] / (1 - t). The optimal
velocity is v = E[x_1 | x] - E[z | x], and x = t E[x_1 | x] + (1 - t) E[z | x]; eliminating
E[x_1 | x] gives E[z | x] = x - t v, hence
    score_t(x) = (t v(x, t) - x) / (1 - t),        and back:  v = (x + (1 - t) score_t(x)) / t.
"""

from __future__ import annotations

import torch

from .base import Objective
from .sde import LIKELIHOOD_FIELDS

FLOW_T_DATA = 0.99    # the data end the views stop at (noise std 0.01): the score divides by 1 - t


class LinearPath:
    """The linear Gaussian path as a noise path (the interface of sde.SDE that scores.py uses):
    x_t = t x_1 + (1 - t) z, so s(t) = 1 - t, a(t) = t; noise at t = 0, data at t = 1."""

    t_noise = 0.0
    t_data = FLOW_T_DATA

    def kernel(self, t: float) -> tuple[float, float]:
        """(s(t), a(t)) = (1 - t, t)."""
        return 1.0 - float(t), float(t)

    def t_at_std(self, std: float) -> float:
        """1 - t = std, within [0, t_data]."""
        return min(max(1.0 - float(std), self.t_noise), self.t_data)


class FlowMatching(Objective):
    name = "flow_matching"
    label = "Flow matching  E|v(x_t, t) - (x_1 - z)|^2"
    title = "Conditional flow matching (linear path, rectified flow)"
    formula = ("E |v<sub>θ</sub>(x<sub>t</sub>, t) − (x<sub>1</sub> − z)|²,  "
               "x<sub>t</sub> = t x<sub>1</sub> + (1 − t) z;  score = (t v − x)/(1 − t)")
    assumes = ("Learns a velocity, not a score: the ODE dx/dt = v carries N(0, I) at t = 0 to the "
               "data at t = 1. Its score, (t v − x)/(1 − t), is shown beside the score models'.")
    fields = LIKELIHOOD_FIELDS
    conditioning = "flow"
    default_sampler = "ode"
    samplers = ("ode", "heun", "dpm_solver", "ddim")
    positive_loss = True
    order = 10

    def __init__(self, t_max: float = 1.0, likelihood_trace: str = "auto", likelihood_samples: int = 500,
                 hutchinson_probes: int = 4, hutchinson_probe: str = "rademacher"):
        self.t_max = float(t_max)
        self.path = LinearPath()

    def losses(self, model, x: torch.Tensor) -> torch.Tensor:
        t = torch.rand(x.shape[0], device=x.device, dtype=x.dtype) * self.t_max
        z = torch.randn_like(x)
        tt = t.unsqueeze(1)
        x_t = tt * x + (1 - tt) * z                  # x_t = t x_1 + (1 - t) z
        return (model(x_t, t) - (x - z)).pow(2).sum(dim=1)   # |v - (x_1 - z)|^2


def velocity_to_score(v: torch.Tensor, x: torch.Tensor, t) -> torch.Tensor:
    """score_t(x) = (t v - x) / (1 - t), for t < 1 (see the module docstring)."""
    return (t * v - x) / (1 - t)


def score_to_velocity(score: torch.Tensor, x: torch.Tensor, t) -> torch.Tensor:
    """v = (x + (1 - t) score_t(x)) / t, for t > 0 (the inverse of velocity_to_score)."""
    return (x + (1 - t) * score) / t


def true_velocity(density, x: torch.Tensor, t: float) -> torch.Tensor:
    """Exact marginal velocity of the linear path for any density: p_t is the law of
    t y + (1 - t) z, whose score is density.perturbed_score(x, 1 - t, t). In float64, t at least
    1e-6: v = (x + (1 - t) score) / t cancels to O(t) / t near t = 0 (float32 rounding there made
    dopri5's step underflow; at t = 0 itself it is 0 / 0, while v(x, 0) = E[x_1] - x is finite)."""
    t = max(float(t), 1e-6)
    x64 = x.double()
    return score_to_velocity(density.perturbed_score(x64, 1.0 - t, t), x64, t).to(x.dtype)
