"""DDPM's ancestral sampler (Ho et al. 2020), on the preset's [objective] schedule:

    x_{t-1} = (x_t + beta_t s_t(x_t)) / sqrt(alpha_t) + sqrt(beta_t) z,

which is 1/sqrt(alpha_t) (x_t - beta_t / sqrt(1 - alpha_bar_t) eps_theta) + sqrt(beta_t) z
written with s_t = -eps_theta / sqrt(1 - alpha_bar_t); no noise at the last step."""

from __future__ import annotations

import math
from functools import cached_property

import torch

from ..schedules import DDPMSchedule
from .base import Sampler


class DDPMAncestral(Sampler):
    name = "ddpm"
    label = "DDPM ancestral"
    needs_conditioning = "time"
    starts_from_noise = True
    order = 3

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
        # x_{t-1} = (x_t + beta_t s_t(x_t)) / sqrt(alpha_t) + sqrt(beta_t) z  (no noise at t = 0)
        x = (x + beta * s) / math.sqrt(alpha)
        if t > 0:
            x = x + math.sqrt(beta) * self.noise()
        return x
