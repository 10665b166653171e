"""Annealed Langevin (Song & Ermon 2019): for sigma_1 > ... > sigma_L, T steps each of
Langevin on s(x, sigma_i) with alpha_i = eps * sigma_i^2 / sigma_L^2. The ladder is the
preset's [objective] sigma_max, sigma_min, levels (NCSN's, or on the true score any)."""

from __future__ import annotations

import math
from functools import cached_property

import torch

from ..schedules import ncsn_sigmas
from .base import Sampler


class AnnealedLangevin(Sampler):
    name = "annealed_langevin"
    label = "annealed Langevin"
    default_step_size = 0.1
    order = 2

    @classmethod
    def default_steps(cls, preset) -> int:
        return 100  # per level

    @classmethod
    def total_steps(cls, preset) -> int:
        return int(preset.sampler["steps"]) * int(preset.objective["levels"])

    @cached_property
    def sigmas(self) -> list[float]:
        o = self.preset.objective
        return ncsn_sigmas(o["sigma_max"], o["sigma_min"], o["levels"]).tolist()

    @property
    def level(self) -> int:
        return min(self.done_steps // max(self.steps, 1), len(self.sigmas) - 1)

    @property
    def sigma(self) -> float:
        return self.sigmas[self.level]

    def step(self, x: torch.Tensor) -> torch.Tensor:
        i = self.level
        # alpha_i = eps sigma_i^2 / sigma_L^2;  x <- x + (alpha_i/2) s(x, sigma_i) + sqrt(alpha_i) z
        alpha = self.eps * self.sigmas[i] ** 2 / self.sigmas[-1] ** 2
        s = self.score_of(self.score.at_sigma, x, self.sigmas[i])
        return x + (alpha / 2) * s + math.sqrt(alpha) * self.noise()
