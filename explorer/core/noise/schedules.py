"""Noise schedules shared by the objectives that train on them and the samplers that undo them.

docs/design.md §3: NCSN sigmas are geometric from sigma_max down to sigma_min over L
levels; DDPM betas are linear from beta_min (1e-4) to beta_max (0.02) over T steps.
"""

from __future__ import annotations

import math

import torch


def ncsn_sigmas(sigma_max: float, sigma_min: float, levels: int) -> torch.Tensor:
    """sigma_1 = sigma_max > ... > sigma_L = sigma_min, geometric, float32 (L,)."""
    if levels == 1:
        return torch.tensor([sigma_min], dtype=torch.float32)
    return torch.exp(torch.linspace(math.log(sigma_max), math.log(sigma_min), levels)).float()


class DDPMSchedule:
    """beta_t linear over t = 0..T-1; alpha_bar_t = prod_{s<=t} (1 - beta_s)."""

    def __init__(self, timesteps: int, beta_min: float = 1e-4, beta_max: float = 0.02):
        self.T = timesteps
        self.betas = torch.linspace(beta_min, beta_max, timesteps, dtype=torch.float64)
        self.alphas = 1.0 - self.betas
        self.alpha_bars = torch.cumprod(self.alphas, dim=0)

    def to(self, device) -> "DDPMSchedule":
        for name in ("betas", "alphas", "alpha_bars"):
            setattr(self, name, getattr(self, name).to(device))
        return self

    def score_scale(self, t: int) -> float:
        """score_t = -eps_theta / sqrt(1 - alpha_bar_t)."""
        return 1.0 / math.sqrt(1.0 - float(self.alpha_bars[t]))
