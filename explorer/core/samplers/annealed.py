"""Annealed Langevin (Song & Ermon 2019): for sigma_1 > ... > sigma_L, T steps each of
Langevin on s(x, sigma_i) with alpha_i = eps * sigma_i^2 / sigma_L^2. The ladder is the
preset's [objective] sigma_max, sigma_min, levels (NCSN's, or on the true score any).

`sampler.denoise` (NCSNv2, Song & Ermon 2020, ermongroup/ncsnv2 `anneal_Langevin_dynamics`
with denoise=True) ends with one Tweedie step at the last level,
    x <- x + sigma_L^2 s(x, sigma_L)  = E[x_0 | x_sigma_L] for the exact score,
which removes the sigma_L^2 of blur the chain's target p_sigma_L adds to the data (at the
price of the posterior's spread: on N(0, v) it maps N(0, v + sigma_L^2) to
N(0, v^2 / (v + sigma_L^2))). It takes one more score evaluation in the last step."""

from __future__ import annotations

import math
from functools import cached_property

import torch

from ..noise.schedules import ncsn_sigmas
from ..presets.schema import Field
from .base import Sampler


class AnnealedLangevin(Sampler):
    name = "annealed_langevin"
    label = "annealed Langevin"
    default_step_size = 0.1
    order = 2
    fields = {
        "denoise": Field("bool", False,
                         help="end with one denoising step x + sigma_min^2 s(x, sigma_min), the "
                              "posterior mean E[x_0 | x] (NCSNv2's final step): removes the "
                              "sigma_min^2 of blur of the last level"),
    }

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

    def blowup_hint(self) -> str:
        # level 1 runs alpha_1 = eps sigma_1^2 / sigma_L^2 on p_sigma_1, of variance ~ v + sigma_1^2:
        # stable only while eps < 4 sigma_L^2 (1 + v / sigma_1^2), about 4 sigma_min^2 (step_rules.py)
        small = self.sigmas[-1]
        more = (" (or train longer: a learned score can be far off away from the data)"
                if self.score_kind == "learned" else "")
        return (f"lower sampler.step_size (now {self.eps:g}); annealed Langevin is stable only "
                f"while the step size is below about 4 sigma_min^2 = {4 * small * small:.3g} "
                f"(objective.sigma_min = {small:g}: the largest level's step is "
                f"eps sigma_max^2 / sigma_min^2); leave sampler.step_size out to get the step "
                f"derived from the noise ladder{more}")

    def step(self, x: torch.Tensor) -> torch.Tensor:
        i = self.level
        # alpha_i = eps sigma_i^2 / sigma_L^2;  x <- x + (alpha_i/2) s(x, sigma_i) + sqrt(alpha_i) z
        alpha = self.eps * self.sigmas[i] ** 2 / self.sigmas[-1] ** 2
        s = self.score_of(self.score.at_sigma, x, self.sigmas[i])
        x = x + (alpha / 2) * s + math.sqrt(alpha) * self.noise()
        if self.params["denoise"] and self.done_steps == self.total - 1:
            x = self.denoised(x)
        return x

    def denoised(self, x: torch.Tensor) -> torch.Tensor:
        """x + sigma_L^2 s(x, sigma_L): Tweedie's E[x_0 | x] at the last level (module docstring)."""
        small = self.sigmas[-1]
        return x + small * small * self.score_of(self.score.at_sigma, x, small)
