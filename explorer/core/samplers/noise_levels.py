"""Every noise schedule seen as one family of noise levels sigma, as EDM and k-diffusion see it.

Why: Heun (EDM), DPM-Solver++ and DDIM are written once, on the variance-exploding form
x^ = y + sigma z (y ~ p), and every objective's schedule is turned into that form:

- NCSN (and the VE SDE): x_t = y + sigma z already (scale a = 1);
- DDPM: x_t = sqrt(ab_t) y + sqrt(1 - ab_t) z, so x^ = x_t / a with a = sqrt(ab_t) and
  sigma_t = sqrt((1 - ab_t) / ab_t) (Song, Meng, Ermon 2021, eq. 14; Karras et al. 2022, Table 1);
- the score SDEs and flow matching: x_t = a(t) y + s(t) z, so sigma(t) = s(t) / a(t).

The denoiser D(x^; sigma) = x^ + sigma^2 grad log p_sigma(x^) (Tweedie; EDM eq. 3) is what the
samplers call. Its score in x^ is the score of x_t at x = a x^, times a:
grad_x^ log p^(x^) = a grad_x log p_t(a x^). With the exact score, grad log p_sigma is the
density's own perturbed score at that sigma (closed form for mixtures), so every schedule
gives the same exact denoiser and only its range of sigmas differs.

Range: [sigma_min, sigma_max] of the schedule (NCSN: its sigma_min..sigma_max; DDPM: sigma_0
..sigma_{T-1}; a path: sigma(t_data)..sigma(t_noise); flow matching's sigma = (1 - t) / t is
infinite at t = 0, so its noisy end is where sigma reaches the sampler's "wide" range). A deterministic sampler starts from N(0, sigma_max^2 I) and cannot
correct a prior that is far from p * N(0, sigma_max^2 I): NCSN's sigma_max (half the box's
diagonal) leaves mode weights off by ~0.08 on docs/design.md's 20/80 mixture. With the exact score
the range is therefore widened to at least `wide` box diagonals (the sampler's: 20 for Heun and
DDIM, 5 for DPM-Solver++, whose 10 steps lose more to a wide range than to the prior; the
VE SDE objective's own sigma_max is 5 diagonals for the same reason). The learned score
keeps its schedule's range: the network knows no larger sigma); `sampler.sigma_max` and
`sampler.sigma_min` set either end by hand.
"""

from __future__ import annotations

import math

import numpy as np
import torch

from ..objectives import CONTINUOUS, conditioning, objective_path
from ..noise.schedules import DDPMSchedule

WIDE_DIAGONALS = 20.0      # the exact score's sigma_max: at least this many box diagonals
SCHEDULES = ("karras", "log", "time")


def karras_sigmas(sigma_min: float, sigma_max: float, n: int, rho: float = 7.0) -> np.ndarray:
    """EDM eq. 5: sigma_i = (sigma_max^(1/rho) + i/(n-1) (sigma_min^(1/rho) - sigma_max^(1/rho)))^rho,
    i = 0..n-1 (NVlabs/edm generate.py; k-diffusion get_sigmas_karras). Without the final 0."""
    if n == 1:
        return np.array([sigma_max], dtype=np.float64)
    ramp = np.arange(n, dtype=np.float64) / (n - 1)
    lo, hi = sigma_min ** (1.0 / rho), sigma_max ** (1.0 / rho)
    return (hi + ramp * (lo - hi)) ** rho


def log_sigmas(sigma_min: float, sigma_max: float, n: int) -> np.ndarray:
    """Uniform in log sigma (DPM-Solver's uniform logSNR steps; NCSN's geometric ladder)."""
    if n == 1:
        return np.array([sigma_max], dtype=np.float64)
    return np.exp(np.linspace(math.log(sigma_max), math.log(sigma_min), n))


class NoiseLevels:
    """The preset's schedule as sigmas: `grid(n, schedule, rho)` (descending, a 0 appended),
    `denoise(score, x, sigma)`, and the range. `kind`: "sigma" (NCSN, or no schedule at all:
    variance exploding over objective.sigma_min..sigma_max, exact score only), "step" (DDPM's
    discrete steps) or "t" (a score SDE's or flow matching's continuous time)."""

    def __init__(self, preset, score_kind: str, sigma_min: float = 0.0, sigma_max: float = 0.0,
                 wide: float = WIDE_DIAGONALS):
        o = preset.objective
        b = np.asarray(preset.density["bounds"], dtype=np.float64)
        self.diagonal = float(np.sqrt(((b[:, 1] - b[:, 0]) ** 2).sum()))
        cond = conditioning(preset)
        self.exact = score_kind == "true"
        self.path = None
        self.ve_path = False
        if cond == "time":
            self.kind = "step"
            sched = DDPMSchedule(o["timesteps"], o["beta_min"], o["beta_max"])
            ab = sched.alpha_bars
            self.step_sigmas = ((1.0 - ab) / ab).sqrt().numpy()       # sigma_t = sqrt((1-ab)/ab)
            self.step_scales = ab.sqrt().numpy()                      # a_t = sqrt(ab_t)
            lo, hi = float(self.step_sigmas[0]), float(self.step_sigmas[-1])
        elif cond in CONTINUOUS:
            self.kind = "t"
            self.path = objective_path(preset)
            self.ve_path = getattr(self.path, "kind", "") == "ve"
            self.t_data = float(self.path.t_data)
            # flow matching's sigma = (1 - t) / t is infinite at t = 0: its noisy end is where
            # sigma reaches `wide` box diagonals
            self.t_noise = (float(self.path.t_noise) if cond == "sde"
                            else 1.0 / (1.0 + wide * self.diagonal))
            lo, hi = self.sigma_at(self.t_data), self.sigma_at(self.t_noise)
        else:   # "sigma": NCSN, and with the exact score any objective (its derived ladder)
            self.kind = "sigma"
            lo, hi = float(o["sigma_min"]), float(o["sigma_max"])
        self.schedule_range = (lo, hi)
        self.wide = float(wide)
        self.widened = False
        if self.exact and hi < wide * self.diagonal:
            hi, self.widened = wide * self.diagonal, True
        self.sigma_min = float(sigma_min) if sigma_min > 0 else lo
        self.sigma_max = float(sigma_max) if sigma_max > 0 else hi
        if sigma_max > 0:
            self.widened = False

    # --- the schedule's time and sigma ---------------------------------------------------
    def sigma_at(self, t: float) -> float:
        """sigma(t) = s(t) / a(t) on a continuous path."""
        s, a = self.path.kernel(float(t))
        return s / a

    def t_at(self, sigma: float) -> float:
        """The path's t with sigma(t) = sigma (sigma(t) is monotone in t: bisection in log
        sigma between the ends, clamped to them)."""
        a, b = self.t_noise, self.t_data      # sigma large at a, small at b
        if sigma >= self.sigma_at(a):
            return a
        if sigma <= self.sigma_at(b):
            return b
        for _ in range(64):
            mid = 0.5 * (a + b)
            a, b = (mid, b) if self.sigma_at(mid) > sigma else (a, mid)
        return 0.5 * (a + b)

    def nearest_step(self, sigma: float) -> int:
        """DDPM's step whose sigma_t is nearest in log (k-diffusion's quantised sigma_to_t)."""
        return int(np.argmin(np.abs(np.log(self.step_sigmas) - math.log(sigma))))

    def round_sigma(self, sigma: float) -> float:
        """A sigma the learned model can take: DDPM's discrete sigmas (EDM's round_sigma);
        any sigma otherwise. 0 stays 0."""
        if sigma <= 0 or self.exact or self.kind != "step":
            return float(sigma)
        return float(self.step_sigmas[self.nearest_step(sigma)])

    # --- grids -----------------------------------------------------------------------------
    def grid(self, n: int, schedule: str = "karras", rho: float = 7.0) -> np.ndarray:
        """n sigmas from sigma_max down to sigma_min, then 0 (n + 1 values, n steps).
        "karras": EDM eq. 5; "log": uniform in log sigma; "time": uniform in the objective's
        own time (DDPM: DDIM's steps t_i = i (T // n), diffusers' "leading" spacing; a path:
        uniform t from t_noise to t_data; NCSN and the VE SDE: uniform log sigma, which is
        their uniform time). A widened exact-score range keeps "time" to the schedule's range
        on DDPM, VP, sub-VP and flow matching, whose time has no sigma beyond it."""
        if schedule == "karras":
            s = karras_sigmas(self.sigma_min, self.sigma_max, n, rho)
        elif schedule == "log" or self.kind == "sigma" or self.ve_path:
            s = log_sigmas(self.sigma_min, self.sigma_max, n)
        elif self.kind == "step":
            T = len(self.step_sigmas)
            steps = (np.arange(n) * (T // n))[::-1]                 # t_i = i * (T // n), descending
            s = self.step_sigmas[steps].astype(np.float64)
        else:
            ts = np.linspace(self.t_noise, self.t_data, n)
            s = np.array([self.sigma_at(t) for t in ts])
        s = np.array([self.round_sigma(v) for v in s])
        return np.append(s, 0.0)

    # --- the denoiser --------------------------------------------------------------------------
    def score_hat(self, score, x: torch.Tensor, sigma: float) -> torch.Tensor:
        """grad_x^ log p_sigma(x^) for x^ = y + sigma z."""
        if self.exact or self.kind == "sigma":
            return score.at_sigma(x, sigma)          # exact: the density's perturbed score
        if self.kind == "step":
            t = self.nearest_step(sigma)
            a = float(self.step_scales[t])
            return a * score.at_step(a * x, t)       # a grad_x log p_t(a x^)
        t = self.t_at(sigma)
        a = self.path.kernel(t)[1]
        return a * score.at_time(a * x, t)

    def denoise(self, score, x: torch.Tensor, sigma: float) -> torch.Tensor:
        """D(x^; sigma) = x^ + sigma^2 grad log p_sigma(x^)   (EDM eq. 3, Tweedie)."""
        return x + sigma ** 2 * self.score_hat(score, x, sigma)

    def describe(self) -> str:
        """Where the sigmas come from, for the metrics and the readout."""
        lo, hi = self.schedule_range
        src = {"sigma": "sigma ladder", "step": "DDPM steps", "t": "path"}[self.kind]
        wide = (f"; exact score: sigma_max widened from {hi:.4g} to {self.wide:g} box diagonals"
                if self.widened else "")
        return f"sigma {self.sigma_min:.4g}..{self.sigma_max:.4g} ({src} {lo:.4g}..{hi:.4g}{wide})"
