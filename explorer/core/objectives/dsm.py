"""Denoising score matching (Vincent 2011), a single noise level."""

from __future__ import annotations

import torch

from ..presets.schema import Field
from .base import Objective


class DSM(Objective):
    name = "dsm"
    label = "DSM  1/2 E|s(x~) + (x~ - x)/sigma^2|^2"
    title = "Denoising score matching (Vincent 2011)"
    formula = "½ E |s<sub>θ</sub>(x̃) + (x̃ − x)/σ²|²,  x̃ = x + σz"
    assumes = ("Learns the score of the noisy density p<sub>σ</sub>: biased for large σ, "
               "high variance for small σ.")
    fields = {"sigma": Field("float", 0.1, min=0.0, exclusive_min=True, help="noise std")}
    positive_loss = True
    order = 5

    def __init__(self, sigma: float = 0.1):
        self.sigma = float(sigma)

    def losses(self, model, x: torch.Tensor) -> torch.Tensor:
        sigma = self.sigma
        # x~ = x + sigma z;  loss 1/2 E |s_theta(x~) + (x~ - x)/sigma^2|^2
        x_tilde = x + sigma * torch.randn_like(x)
        return 0.5 * (model(x_tilde) + (x_tilde - x) / sigma ** 2).pow(2).sum(dim=1)
