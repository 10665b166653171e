"""DDPM's ancestral sampler (Ho et al. 2020), on the preset's [objective] schedule:

    x_{t-1} = (x_t + beta_t s_t(x_t)) / sqrt(alpha_t) + sqrt(beta_t) z,

which is 1/sqrt(alpha_t) (x_t - beta_t / sqrt(1 - alpha_bar_t) eps_theta) + sqrt(beta_t) z
written with s_t = -eps_theta / sqrt(1 - alpha_bar_t); no noise at the last step.
`variance = "beta_tilde"` replaces sqrt(beta_t) z by sigma_t z with the posterior variance
sigma_t^2 = beta~_t = (1 - alpha_bar_{t-1}) / (1 - alpha_bar_t) beta_t (Ho et al. 2020, sec. 3.2).
In the SDE view this is the VP SDE's reverse-diffusion predictor, with no corrector."""

from __future__ import annotations

import math
from functools import cached_property

import torch

from ..objectives.ddpm import posterior_variance
from ..noise.schedules import DDPMSchedule
from ..presets.schema import Field
from .base import Sampler


class DDPMAncestral(Sampler):
    name = "ddpm"
    label = "DDPM ancestral"
    needs_conditioning = "time"
    starts_from_noise = True
    order = 3
    fields = {
        "variance": Field("str", "beta", choices=("beta", "beta_tilde"),
                          help="noise variance of each step: beta_t (optimal for data ~ N(0, I)) "
                               "or the posterior's beta~_t (optimal for a single data point)"),
    }

    @classmethod
    def default_steps(cls, preset) -> int:
        return int(preset.objective["timesteps"])

    @classmethod
    def total_steps(cls, preset) -> int:
        return int(preset.objective["timesteps"])

    @cached_property
    def schedule(self) -> DDPMSchedule:
        o = self.preset.objective
        return DDPMSchedule(o["timesteps"], o["beta_min"], o["beta_max"])

    @cached_property
    def noise_std(self) -> list[float]:
        """sigma_t of each step: sqrt(beta_t) or sqrt(beta~_t)."""
        return posterior_variance(self.schedule.betas, self.params["variance"]).sqrt().tolist()

    @property
    def level(self) -> int:
        return max(self.total - 1 - self.done_steps, 0)

    @property
    def sigma(self) -> float:
        return math.sqrt(1 - float(self.schedule.alpha_bars[self.level]))

    def blowup_hint(self) -> str:
        return "the learned noise prediction is too large or not finite; train longer or with a " \
               "lower training.lr"

    def step(self, x: torch.Tensor) -> torch.Tensor:
        t = self.level
        beta = float(self.schedule.betas[t])
        alpha = 1.0 - beta
        s = self.score_of(self.score.at_step, x, t)
        # x_{t-1} = (x_t + beta_t s_t(x_t)) / sqrt(alpha_t) + sigma_t z  (no noise at t = 0),
        # sigma_t^2 = beta_t or beta~_t
        x = (x + beta * s) / math.sqrt(alpha)
        if t > 0:
            x = x + self.noise_std[t] * self.noise()
        return x
