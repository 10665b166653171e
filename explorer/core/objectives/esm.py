"""Explicit score matching: needs the density's exact score."""

from __future__ import annotations

import torch

from .base import Objective


class ESM(Objective):
    name = "esm"
    label = "ESM  1/2 E|s - grad log p|^2"
    title = "Explicit score matching"
    formula = "½ E<sub>p</sub> |s<sub>θ</sub>(x) − ∇log p(x)|²"
    assumes = "Needs the true score ∇log p: only possible on toy densities like these."
    positive_loss = True
    needs_true_score = True
    order = 1

    def __init__(self, density):
        self.density = density

    def losses(self, model, x: torch.Tensor) -> torch.Tensor:
        # ESM: 1/2 E_p |s_theta(x) - grad log p(x)|^2
        target = self.density.score(x).detach()
        return 0.5 * (model(x) - target).pow(2).sum(dim=1)
