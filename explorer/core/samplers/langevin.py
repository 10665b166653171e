"""Langevin dynamics (docs/design.md §3):  x <- x + (eps/2) s(x) + sqrt(eps) z."""

from __future__ import annotations

import math

import torch

from .base import Sampler


class Langevin(Sampler):
    name = "langevin"
    label = "Langevin"
    order = 1

    def step(self, x: torch.Tensor) -> torch.Tensor:
        s = self.score_of(self.score.field, x)
        # x <- x + (eps/2) s(x) + sqrt(eps) z
        return x + (self.eps / 2) * s + math.sqrt(self.eps) * self.noise()
