"""Predictors and correctors of the reverse SDE, as the reference code composes them
(Song et al. 2021; score_sde_pytorch, sampling.py: Predictor / Corrector, `update_fn(x, t)
-> (x, x_mean)`); the predictor-corrector loop that composes them is sde.py's ReverseSDE.

- `EulerMaruyamaPredictor`: dt = -1/N,
      x_mean = x + [f - g^2 s] dt,  x = x_mean + g sqrt(-dt) z;
- `ReverseDiffusionPredictor`: x_mean = x - (f_i - G_i^2 s),  x = x_mean + G_i z
  (f_i, G_i the SDE's own discretisation: SMLD for VE, DDPM ancestral for VP);
- `NonePredictor`: x unchanged (corrector-only sampling: annealed Langevin on VE);
- `LangevinCorrector`, signal-to-noise ratio r, n_steps times at time t:
      eps = 2 alpha (r |z| / |s|)^2  (norms averaged over the batch; alpha = alpha_i for VP and
      sub-VP, 1 for VE),  x_mean = x + eps s,  x = x_mean + sqrt(2 eps) z;
- `NoneCorrector`: x unchanged.

Each is given the SDE (discretised with N = the sampler's steps, as the reference sets sde.N),
the score s(x, t) (the sampler's, which counts evaluations) and `noise(x)`, z ~ N(0, I)
shaped like x from the sampler's own generator.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch

from ..noise.sde import SDE, VPSDE

Score = Callable[[torch.Tensor, float], torch.Tensor]
Noise = Callable[[torch.Tensor], torch.Tensor]


class Predictor:
    """One step of the reverse SDE at time t: update(x, t) -> (x, x_mean)."""

    def __init__(self, sde: SDE, score: Score, noise: Noise):
        self.sde, self.score, self.noise = sde, score, noise

    def update(self, x: torch.Tensor, t: float) -> tuple[torch.Tensor, torch.Tensor]:
        raise NotImplementedError


class EulerMaruyamaPredictor(Predictor):
    def update(self, x, t):
        dt = -1.0 / self.sde.N
        drift, g = self.sde.reverse_drift(x, t, self.score(x, t))
        x_mean = x + drift * dt                                  # x_mean = x + [f - g^2 s] dt
        return x_mean + g.unsqueeze(1) * math.sqrt(-dt) * self.noise(x), x_mean


class ReverseDiffusionPredictor(Predictor):
    def update(self, x, t):
        f, G = self.sde.reverse_discretize(x, t, self.score(x, t))
        x_mean = x - f                                           # x_mean = x - (f_i - G_i^2 s)
        return x_mean + G.unsqueeze(1) * self.noise(x), x_mean


class NonePredictor(Predictor):
    def update(self, x, t):
        return x, x


class Corrector:
    """n_steps steps of an MCMC method that leaves p_t invariant: update(x, t) -> (x, x_mean)."""

    def __init__(self, sde: SDE, score: Score, noise: Noise, snr: float, n_steps: int):
        self.sde, self.score, self.noise = sde, score, noise
        self.snr, self.n_steps = float(snr), int(n_steps)

    def update(self, x: torch.Tensor, t: float) -> tuple[torch.Tensor, torch.Tensor]:
        raise NotImplementedError


class LangevinCorrector(Corrector):
    def update(self, x, t):
        sde = self.sde
        if isinstance(sde, VPSDE):       # sub-VP too: the reference's VPSDE or subVPSDE
            alpha = float(sde.alphas[int(t * (sde.N - 1) / sde.T)])
        else:
            alpha = 1.0
        x_mean = x
        for _ in range(self.n_steps):
            grad = self.score(x, t)
            noise = self.noise(x)
            grad_norm = grad.reshape(grad.shape[0], -1).norm(dim=-1).mean()
            noise_norm = noise.reshape(noise.shape[0], -1).norm(dim=-1).mean()
            step = (self.snr * noise_norm / grad_norm) ** 2 * 2 * alpha   # eps = 2 alpha (r |z| / |s|)^2
            x_mean = x + step * grad
            x = x_mean + torch.sqrt(step * 2) * noise
        return x, x_mean


class NoneCorrector(Corrector):
    def update(self, x, t):
        return x, x


PREDICTORS: dict[str, type[Predictor]] = {
    "euler_maruyama": EulerMaruyamaPredictor,
    "reverse_diffusion": ReverseDiffusionPredictor,
    "none": NonePredictor,
}
CORRECTORS: dict[str, type[Corrector]] = {"langevin": LangevinCorrector, "none": NoneCorrector}
