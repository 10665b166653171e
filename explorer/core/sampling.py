"""Turning a score into samples, one step at a time so that the window can animate it.

All three samplers follow DESIGN section 3:

- Langevin:            x <- x + (eps/2) s(x) + sqrt(eps) z
- Annealed Langevin:   for sigma_1 > ... > sigma_L, T steps each of Langevin on s(x, sigma_i)
                       with alpha_i = eps * sigma_i^2 / sigma_L^2
- DDPM (ancestral):    x_{t-1} = (x_t + beta_t s_t(x_t)) / sqrt(alpha_t) + sqrt(beta_t) z,
                       which is 1/sqrt(alpha_t) (x_t - beta_t / sqrt(1 - alpha_bar_t) eps_theta)
                       + sqrt(beta_t) z written with s_t = -eps_theta / sqrt(1 - alpha_bar_t);
                       no noise at the last step.

A sampler owns its particles and its own random generator (seeded from the preset), so
that a run is reproducible and the animation does not disturb training's randomness.

A step size too large for the density (or a learned score that is wrong far from the
data) sends particles to infinity within a few steps. The sampler notes the first step
after which a particle is not finite (without a host sync per step: the check is kept on
the device and read once per `advance`), stops there, and `blowup_message` says what to
change. Scores are evaluated `budget.rows_per_chunk` particles at a time, so a wide
network on two million particles stays within memory.
"""

from __future__ import annotations

import math

import numpy as np
import torch

from . import budget
from .preset import Preset
from .schedules import DDPMSchedule, ncsn_sigmas


class Sampler:
    """Advance with `advance(n)`; `x` holds the particles, `done` says the schedule ended."""

    def __init__(self, preset: Preset, score, device, bounds: np.ndarray | None = None,
                 particles: int | None = None):
        s = preset.sampler
        o = preset.objective
        self.kind = s["kind"]
        self.score = score
        self.score_kind = s["score"]
        self.rows = budget.rows_per_chunk(preset)
        self.blown_up_at: int | None = None  # first step after which a particle was not finite
        self.device = torch.device(device)
        self.eps = float(s["step_size"])
        self.steps = int(s["steps"])
        self.n = int(particles if particles is not None else s["particles"])
        self.gen = torch.Generator(device=self.device).manual_seed(int(s["seed"]))
        self.dim = preset.dim
        b = np.asarray(bounds if bounds is not None else preset.density["bounds"], dtype=np.float64)
        if self.kind == "annealed_langevin":
            self.sigmas = ncsn_sigmas(o["sigma_max"], o["sigma_min"], o["levels"]).tolist()
            self.total = self.steps * len(self.sigmas)
        elif self.kind == "ddpm":
            self.schedule = DDPMSchedule(o["timesteps"], o["beta_min"], o["beta_max"])
            self.total = self.schedule.T
        else:
            self.total = self.steps
        self.done_steps = 0
        self.x = self._init(s["init"], b)

    def _init(self, how: str, bounds: np.ndarray) -> torch.Tensor:
        shape = (self.n, self.dim)
        if self.kind == "ddpm" or how == "gaussian":
            return torch.randn(shape, generator=self.gen, device=self.device)
        lo = torch.tensor(bounds[:, 0], dtype=torch.float32, device=self.device)
        hi = torch.tensor(bounds[:, 1], dtype=torch.float32, device=self.device)
        return lo + (hi - lo) * torch.rand(shape, generator=self.gen, device=self.device)

    @property
    def done(self) -> bool:
        """The schedule ended, or the particles blew up (then `blown_up_at` says when)."""
        return self.done_steps >= self.total or self.blown_up_at is not None

    @property
    def level(self) -> int | None:
        """Index of the current noise level (annealed) or DDPM step t; None for Langevin."""
        if self.kind == "annealed_langevin":
            return min(self.done_steps // max(self.steps, 1), len(self.sigmas) - 1)
        if self.kind == "ddpm":
            return max(self.total - 1 - self.done_steps, 0)
        return None

    @property
    def sigma(self) -> float | None:
        """The noise level the particles are at now, for the readout while annealing."""
        if self.kind == "annealed_langevin":
            return self.sigmas[self.level]
        if self.kind == "ddpm":
            return math.sqrt(1 - float(self.schedule.alpha_bars[self.level]))
        return None

    def advance(self, n: int = 1) -> None:
        first_bad = None  # on the device: the first step of this call with a non-finite particle
        for _ in range(n):
            if self.done:
                break
            self._step()
            self.done_steps += 1
            if first_bad is None:
                first_bad = torch.zeros((), dtype=torch.long, device=self.device)
            bad = ~torch.isfinite(self.x.sum())  # NaN and inf propagate through the sum
            first_bad = torch.where((first_bad == 0) & bad, self.done_steps, first_bad)
        if first_bad is not None:
            k = int(first_bad)  # one host sync per call
            if k > 0:
                self.blown_up_at = k
                self.done_steps = k  # steps after the blow-up computed nothing meaningful

    def blowup_message(self) -> str | None:
        """What happened and what to change, or None while the particles are finite."""
        k = self.blown_up_at
        if k is None:
            return None
        what = f"the particles became infinite or NaN at sampler step {k} of {self.total}"
        if self.kind == "ddpm":
            return (f"{what}: the learned noise prediction is too large or not finite; "
                    f"train longer or with a lower training.lr")
        more = (" (or train longer: a learned score can be far off away from the data)"
                if self.score_kind == "learned" else "")
        return (f"{what}: lower sampler.step_size (now {self.eps:g}); Langevin is stable only "
                f"when the step size is well below twice the density's smallest variance{more}")

    def _score(self, fn, x: torch.Tensor, *args) -> torch.Tensor:
        if x.shape[0] <= self.rows:
            return fn(x, *args)
        return torch.cat([fn(xb, *args) for xb in torch.split(x, self.rows)])

    def _noise(self) -> torch.Tensor:
        return torch.randn(self.x.shape, generator=self.gen, device=self.device)

    def _step(self) -> None:
        x = self.x
        if self.kind == "langevin":
            s = self._score(self.score.field, x)
            self.x = x + (self.eps / 2) * s + math.sqrt(self.eps) * self._noise()
        elif self.kind == "annealed_langevin":
            i = self.level
            alpha = self.eps * self.sigmas[i] ** 2 / self.sigmas[-1] ** 2
            s = self._score(self.score.at_sigma, x, self.sigmas[i])
            self.x = x + (alpha / 2) * s + math.sqrt(alpha) * self._noise()
        else:
            t = self.level
            beta = float(self.schedule.betas[t])
            alpha = 1.0 - beta
            s = self._score(self.score.at_step, x, t)
            x = (x + beta * s) / math.sqrt(alpha)
            if t > 0:
                x = x + math.sqrt(beta) * self._noise()
            self.x = x

    def run(self) -> torch.Tensor:
        self.advance(self.total - self.done_steps)
        return self.x

    def numpy(self) -> np.ndarray:
        return self.x.detach().to("cpu", torch.float32).numpy()
