"""DDPM (Ho et al. 2020): eps prediction, DSM across T noise levels."""

from __future__ import annotations

import torch

from ..noise.schedules import DDPMSchedule
from ..presets.schema import Field
from .base import Objective


class DDPMObjective(Objective):
    """loss = E_{x, t, eps} |eps_theta(x_t, t) - eps|^2, the squared norm SUMMED over the d
    coordinates and averaged over the batch (a model that outputs zeros scores ~ d; Ho et al.'s
    mean over coordinates is this divided by d)."""

    name = "ddpm"
    label = "DDPM  E|eps_theta(x_t, t) - eps|^2"
    title = "Denoising diffusion (DDPM, Ho et al. 2020)"
    formula = "E |ε<sub>θ</sub>(x<sub>t</sub>, t) − ε|²,  score = −ε<sub>θ</sub>/√(1 − ᾱ<sub>t</sub>)"
    assumes = "DSM across T noise levels with linear β from 10⁻⁴ to 0.02; ancestral sampler."
    fields = {
        "timesteps": Field("int", 1000, min=2, max=100_000, help="steps T"),
        "beta_min": Field("float", 1e-4, min=0.0, exclusive_min=True, max=0.999,
                          help="first beta (linear schedule)"),
        "beta_max": Field("float", 0.02, min=0.0, exclusive_min=True, max=0.999, help="last beta"),
    }
    conditioning = "time"
    default_sampler = "ddpm"
    samplers = ("ddpm", "ddim", "heun", "dpm_solver")
    positive_loss = True
    order = 7

    def __init__(self, timesteps: int = 1000, beta_min: float = 1e-4, beta_max: float = 0.02):
        self.schedule = DDPMSchedule(int(timesteps), beta_min, beta_max)   # float64, CPU
        self.T = self.schedule.T
        ab = self.schedule.alpha_bars
        # sqrt(alpha_bar_t), sqrt(1 - alpha_bar_t) in float64, cast per device (mps has no float64)
        self._coef = torch.stack([ab.sqrt(), (1 - ab).sqrt()])
        self._cache: dict = {}

    def coefficients(self, device, dtype=torch.float32) -> torch.Tensor:
        """(2, T): rows sqrt(alpha_bar_t), sqrt(1 - alpha_bar_t), on `device`."""
        key = (torch.device(device), dtype)
        t = self._cache.get(key)
        if t is None:
            t = self._cache[key] = self._coef.to(dtype).to(device)
        return t

    def losses(self, model, x: torch.Tensor) -> torch.Tensor:
        coef = self.coefficients(x.device, x.dtype)
        t = torch.randint(0, self.T, (x.shape[0],), device=x.device)       # t uniform in 0..T-1
        a, b = coef[:, t].unsqueeze(-1)                                      # (n, 1) each
        eps = torch.randn_like(x)
        # x_t = sqrt(alpha_bar_t) x + sqrt(1 - alpha_bar_t) eps;  loss |eps_theta(x_t, t) - eps|^2
        x_t = a * x + b * eps
        return (model(x_t, t) - eps).pow(2).sum(dim=1)


def posterior_variance(betas: torch.Tensor, kind: str = "beta") -> torch.Tensor:
    """sigma_t^2 of DDPM's ancestral step (Ho et al. 2020, sec. 3.2), (T,):
    "beta":       sigma_t^2 = beta_t (optimal for x_0 ~ N(0, I));
    "beta_tilde": sigma_t^2 = beta~_t = (1 - alpha_bar_{t-1}) / (1 - alpha_bar_t) beta_t, with
                  alpha_bar_{-1} = 1 (so beta~_0 = 0; optimal for x_0 deterministic, eq. 7)."""
    if kind == "beta":
        return betas.clone()
    if kind != "beta_tilde":
        raise ValueError(f"variance must be 'beta' or 'beta_tilde', got {kind!r}")
    alpha_bars = torch.cumprod(1.0 - betas, dim=0)
    prev = torch.cat([alpha_bars.new_ones(1), alpha_bars[:-1]])
    return (1.0 - prev) / (1.0 - alpha_bars) * betas
