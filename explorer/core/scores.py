"""A score seen at three noise levels, for the learned model and for the truth alike.

Samplers, metrics and views ask one of these for the score and never care where it comes
from, which is what lets the user swap "learned" for "true" with one switch:

- `field(x)`: the score at the finest level: grad log p itself, or for noise-conditional
  models the score at sigma_min (NCSN) or t = 0 (DDPM), compared with the true score of
  the same perturbed density when that is known in closed form.
- `at_sigma(x, sigma)`: the score of p_sigma = p * N(0, sigma^2 I) (annealed Langevin).
- `at_step(x, t)`: the score of the DDPM marginal at step t, -eps_theta / sqrt(1 - alpha_bar_t).
"""

from __future__ import annotations

import math

import torch

from .objectives import conditioning
from .preset import Preset
from .schedules import DDPMSchedule


def _finest(preset: Preset) -> tuple[str, float]:
    o = preset.objective
    cond = conditioning(preset)
    if cond == "sigma":
        return "sigma", float(o["sigma_min"])
    if cond == "time":
        return "step", 0
    return "none", 0.0


def _schedule(preset: Preset) -> DDPMSchedule:
    o = preset.objective
    return DDPMSchedule(o["timesteps"], o["beta_min"], o["beta_max"])


# DDPM's Fisher divergence is measured where the noise std sqrt(1 - alpha_bar_t) first reaches
# this: at t = 0 the marginal is the data itself (a kernel density of bandwidth 0.1 on
# ddpm_moons), whose true score is huge and whose learned score -eps/sqrt(1 - alpha_bar_0) is
# eps divided by 0.01; a relative divergence of 13 there says nothing about the model.
DDPM_FISHER_NOISE = 0.1

Level = tuple  # ("sigma", s) or ("step", t); None for a model without noise levels


def fisher_level(preset: Preset) -> Level | None:
    """The noise level at which a noise-conditional model's Fisher divergence is measured:
    NCSN at sigma_min (its finest level), DDPM at the first step whose noise std reaches
    DDPM_FISHER_NOISE; the divergence there is against the true score of that perturbed law."""
    o = preset.objective
    cond = conditioning(preset)
    if cond == "sigma":
        return ("sigma", float(o["sigma_min"]))
    if cond == "time":
        noise = (1.0 - _schedule(preset).alpha_bars).sqrt()
        above = torch.nonzero(noise >= DDPM_FISHER_NOISE)
        return ("step", int(above[0]) if len(above) else int(o["timesteps"]) - 1)
    return None


def level_noise(preset: Preset, level: Level | None) -> tuple[float, float]:
    """(sigma, scale) of the law scale * y + sigma * z, y ~ p, at a level (DESIGN section 3)."""
    if level is None:
        return 0.0, 1.0
    if level[0] == "sigma":
        return float(level[1]), 1.0
    ab = float(_schedule(preset).alpha_bars[int(level[1])])
    return math.sqrt(1.0 - ab), math.sqrt(ab)


def level_label(level: Level | None) -> str:
    """The level as a view labels it: "σ = 0.3", "t = 27", or "" for none."""
    if level is None:
        return ""
    return f"σ = {level[1]:.3g}" if level[0] == "sigma" else f"t = {int(level[1])}"


def level_text(preset: Preset, level: Level | None) -> str:
    if level is None:
        return "p"
    if level[0] == "sigma":
        return f"p_sigma at sigma = {level[1]:.3g}"
    return f"DDPM marginal at t = {int(level[1])} (noise std {level_noise(preset, level)[0]:.3g})"


class TrueScore:
    def __init__(self, density, preset: Preset):
        self.density = density
        self.preset = preset
        self.schedule = _schedule(preset)
        self.level, self.value = _finest(preset)

    def field(self, x: torch.Tensor) -> torch.Tensor:
        if self.level == "none" or not self.density.exact_perturbed():
            return self.density.score(x)
        if self.level == "sigma":
            return self.density.perturbed_score(x, self.value)
        return self.at_step(x, 0)

    def at_sigma(self, x: torch.Tensor, sigma: float) -> torch.Tensor:
        return self.density.perturbed_score(x, float(sigma))

    def at_level(self, x: torch.Tensor, level: Level | None) -> torch.Tensor:
        if level is None:
            return self.field(x)
        return self.at_sigma(x, level[1]) if level[0] == "sigma" else self.at_step(x, int(level[1]))

    def at_step(self, x: torch.Tensor, t: int) -> torch.Tensor:
        ab = float(self.schedule.alpha_bars[t])
        return self.density.perturbed_score(x, math.sqrt(1 - ab), math.sqrt(ab))


class LearnedScore:
    def __init__(self, model, preset: Preset):
        self.model = model
        self.preset = preset
        self.schedule = _schedule(preset)
        self.level, self.value = _finest(preset)

    def _eval(self, x, c=None):
        was = self.model.training
        self.model.eval()
        try:
            with torch.no_grad():
                return self.model(x, c).detach()
        finally:
            self.model.train(was)

    def field(self, x: torch.Tensor) -> torch.Tensor:
        if self.level == "sigma":
            return self.at_sigma(x, self.value)
        if self.level == "step":
            return self.at_step(x, 0)
        return self._eval(x)

    def at_sigma(self, x: torch.Tensor, sigma: float) -> torch.Tensor:
        if self.model.conditioning != "sigma":
            return self._eval(x)  # a plain score model has one level only
        c = torch.full((x.shape[0],), float(sigma), device=x.device, dtype=x.dtype)
        return self._eval(x, c)

    def at_level(self, x: torch.Tensor, level: Level | None) -> torch.Tensor:
        if level is None:
            return self.field(x)
        return self.at_sigma(x, level[1]) if level[0] == "sigma" else self.at_step(x, int(level[1]))

    def at_step(self, x: torch.Tensor, t: int) -> torch.Tensor:
        c = torch.full((x.shape[0],), int(t), device=x.device, dtype=torch.long)
        eps = self._eval(x, c)
        return -eps * self.schedule.score_scale(int(t))
