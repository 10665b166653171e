"""The one score abstraction: a score seen at four kinds of noise level, exact (`TrueScore`,
the density's closed form) or learned (`LearnedScore`, a trained network), alike.

Samplers, metrics, views and the likelihood ask one of these for the score and never care
where it comes from, which is what lets the user swap "learned" for "true" with one switch.
Called, `score(x, level)` is the score at a level (below), or at a time t on the continuous
path when `level` is a number: `score(x, t)`, the s(x, t) of the score SDEs.

- `field(x)`: the score at the finest level: grad log p itself, or for noise-conditional
  models the score at sigma_min (NCSN) or t = 0 (DDPM), compared with the true score of
  the same perturbed density when that is known in closed form.
- `at_sigma(x, sigma)`: the score of p_sigma = p * N(0, sigma^2 I) (annealed Langevin).
- `at_step(x, t)`: the score of the DDPM marginal at step t, -eps_theta / sqrt(1 - alpha_bar_t).
- `at_time(x, t)`: the score of p_t, the law of a(t) y + s(t) z on a continuous path: a score
  SDE's perturbation kernel (learned: s_theta(x, t)), or flow matching's linear path
  a = t, s = 1 - t (learned: the velocity turned into a score, (t v - x) / (1 - t)).
  `velocity(x, t)` is flow matching's v itself (true: the exact marginal velocity).

A level is ("sigma", s), ("step", t) or ("t", t); `level_noise` turns any of them into the
(sigma, scale) of the law scale * y + sigma * z, which is all that metrics and views need.
"""

from __future__ import annotations

import math
from functools import cached_property

import torch

from .objectives import CONTINUOUS, conditioning, objective_path
from .objectives.flow_matching import true_velocity, velocity_to_score
from .presets.preset import Preset
from .noise.schedules import DDPMSchedule


def _finest(preset: Preset) -> tuple[str, float]:
    o = preset.objective
    cond = conditioning(preset)
    if cond == "sigma":
        return "sigma", float(o["sigma_min"])
    if cond == "time":
        return "step", 0
    if cond in CONTINUOUS:
        return "t", float(objective_path(preset).t_data)
    return "none", 0.0


def level_kind(preset: Preset) -> str | None:
    """The kind of level a preset's model has: "sigma", "step", "t" or None."""
    kind = _finest(preset)[0]
    return None if kind == "none" else kind


def finest_level(preset: Preset) -> Level | None:
    """The level `field(x)` stands for: sigma_min, DDPM's t = 0, a path's data end; None."""
    kind, value = _finest(preset)
    return None if kind == "none" else (kind, value)


TIME_LEVELS = 101   # positions of the window's slider along a continuous path


def time_levels(preset: Preset, n: int = TIME_LEVELS) -> list[Level]:
    """n levels ("t", t) from the noisiest end of the path to its data end, evenly in t."""
    path = objective_path(preset)
    ts = torch.linspace(path.t_noise, path.t_data, n, dtype=torch.float64).tolist()
    return [("t", float(t)) for t in ts]


def _schedule(preset: Preset) -> DDPMSchedule:
    o = preset.objective
    return DDPMSchedule(o["timesteps"], o["beta_min"], o["beta_max"])


# DDPM's Fisher divergence is measured where the noise std sqrt(1 - alpha_bar_t) first reaches
# this: at t = 0 the marginal is the data itself (a kernel density of bandwidth 0.1 on
# ddpm_moons), whose true score is huge and whose learned score -eps/sqrt(1 - alpha_bar_0) is
# eps divided by 0.01; a relative divergence of 13 there says nothing about the model.
DDPM_FISHER_NOISE = 0.1

# The score SDEs' and flow matching's Fisher level: where the path's noise std is this.
FISHER_NOISE = DDPM_FISHER_NOISE

Level = tuple  # ("sigma", s), ("step", t) or ("t", t); None for a model without noise levels


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
    if cond in CONTINUOUS:
        return ("t", float(objective_path(preset).t_at_std(FISHER_NOISE)))
    return None


def level_noise(preset: Preset, level: Level | None) -> tuple[float, float]:
    """(sigma, scale) of the law scale * y + sigma * z, y ~ p, at a level (docs/design.md §3)."""
    if level is None:
        return 0.0, 1.0
    if level[0] == "sigma":
        return float(level[1]), 1.0
    if level[0] == "t":
        # x_t = a(t) y + s(t) z:  sigma = s(t), scale = a(t)
        return objective_path(preset).kernel(float(level[1]))
    ab = float(_schedule(preset).alpha_bars[int(level[1])])
    return math.sqrt(1.0 - ab), math.sqrt(ab)


def level_label(level: Level | None) -> str:
    """The level as a view labels it: "σ = 0.3", "t = 27" (a DDPM step), "t = 0.25", or ""."""
    if level is None:
        return ""
    if level[0] == "sigma":
        return f"σ = {level[1]:.3g}"
    if level[0] == "t":
        return f"t = {float(level[1]):.3g}"
    return f"t = {int(level[1])}"


def level_text(preset: Preset, level: Level | None) -> str:
    if level is None:
        return "p"
    if level[0] == "sigma":
        return f"p_sigma at sigma = {level[1]:.3g}"
    if level[0] == "t":
        return f"p_t at t = {float(level[1]):.3g} (noise std {level_noise(preset, level)[0]:.3g})"
    return f"DDPM marginal at t = {int(level[1])} (noise std {level_noise(preset, level)[0]:.3g})"


class _Score:
    """What both kinds share: the preset's schedule and finest level, read when first asked
    (a score on a bare path, without a preset, has only `at_time`), and the call."""

    preset: Preset | None

    @cached_property
    def schedule(self) -> DDPMSchedule:
        return _schedule(self._preset())

    @cached_property
    def _finest_level(self) -> tuple[str, float]:
        return _finest(self._preset())

    @property
    def level(self) -> str:
        """The kind of level `field(x)` is at: "sigma", "step", "t" or "none"."""
        return self._finest_level[0]

    @property
    def value(self) -> float:
        return self._finest_level[1]

    def _preset(self) -> Preset:
        if self.preset is None:
            raise ValueError(f"this {type(self).__name__} has no preset: it knows its score at a "
                             "time t on its path only (score(x, t), at_time)")
        return self.preset

    def __call__(self, x: torch.Tensor, level: Level | float | None) -> torch.Tensor:
        """The score at `level`, or at time t on the continuous path when `level` is a number."""
        if isinstance(level, (int, float)):
            return self.at_time(x, float(level))
        return _at_level(self, x, level)

    def at_level(self, x: torch.Tensor, level: Level | None) -> torch.Tensor:
        return _at_level(self, x, level)


class TrueScore(_Score):
    """grad log p_sigma exactly (closed form for mixtures). `path`: the continuous noise path
    for `at_time` when there is no preset (a bare SDE, say); else the preset's objective's."""

    def __init__(self, density, preset: Preset | None = None, *, path=None):
        self.density = density
        self.preset = preset
        self._path = path

    @property
    def path(self):
        return self._path if self._path is not None else objective_path(self._preset())

    def field(self, x: torch.Tensor) -> torch.Tensor:
        if self.level == "none" or not self.density.exact_perturbed():
            return self.density.score(x)
        if self.level == "sigma":
            return self.density.perturbed_score(x, self.value)
        if self.level == "t":
            return self.at_time(x, self.value)
        return self.at_step(x, 0)

    def at_sigma(self, x: torch.Tensor, sigma: float) -> torch.Tensor:
        return self.density.perturbed_score(x, float(sigma))

    def at_step(self, x: torch.Tensor, t: int) -> torch.Tensor:
        ab = float(self.schedule.alpha_bars[t])
        return self.density.perturbed_score(x, math.sqrt(1 - ab), math.sqrt(ab))

    def at_time(self, x: torch.Tensor, t: float) -> torch.Tensor:
        # grad log p_t, p_t the law of a(t) y + s(t) z: perturbed_score(x, sigma, scale) is the
        # score of scale * y + sigma * z (closed form for mixtures: weights w_k, means a mu_k,
        # covariances a^2 Sigma_k + s^2 I); equivalently (1/a) * score of p * N(0, (s/a)^2) at x/a
        std, a = self.path.kernel(float(t))
        return self.density.perturbed_score(x, std, a)

    def velocity(self, x: torch.Tensor, t: float) -> torch.Tensor:
        """Flow matching's exact marginal velocity E[x_1 - z | x_t = x]."""
        return true_velocity(self.density, x, float(t))


class LearnedScore(_Score):
    """A trained network's score at each level (a model without a preset: `at_time` only)."""

    def __init__(self, model, preset: Preset | None = None):
        self.model = model
        self.preset = preset

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
        if self.level == "t":
            return self.at_time(x, self.value)
        return self._eval(x)

    def at_sigma(self, x: torch.Tensor, sigma: float) -> torch.Tensor:
        if self.model.conditioning != "sigma":
            return self._eval(x)  # a plain score model has one level only
        c = torch.full((x.shape[0],), float(sigma), device=x.device, dtype=x.dtype)
        return self._eval(x, c)

    def at_step(self, x: torch.Tensor, t: int) -> torch.Tensor:
        c = torch.full((x.shape[0],), int(t), device=x.device, dtype=torch.long)
        eps = self._eval(x, c)
        return -eps * self.schedule.score_scale(int(t))

    def at_time(self, x: torch.Tensor, t: float) -> torch.Tensor:
        if self.model.conditioning == "flow":
            # score_t(x) = (t v(x, t) - x) / (1 - t)   (objectives/flow_matching.py)
            return velocity_to_score(self._eval(x, float(t)), x, float(t))
        return self._eval(x, float(t))       # s_theta(x, t), already divided by s(t)

    def velocity(self, x: torch.Tensor, t: float) -> torch.Tensor:
        """Flow matching's learned velocity v_theta(x, t)."""
        return self._eval(x, float(t))


def _at_level(score, x: torch.Tensor, level: Level | None) -> torch.Tensor:
    if level is None:
        return score.field(x)
    kind, value = level
    if kind == "sigma":
        return score.at_sigma(x, value)
    if kind == "t":
        return score.at_time(x, float(value))
    return score.at_step(x, int(value))
