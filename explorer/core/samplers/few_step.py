"""Few-step samplers on the probability-flow ODE in sigma (EDM's view; noise_levels.py):
Heun (Karras et al. 2022, Algorithm 1/2), DPM-Solver++(2M) (Lu et al. 2022) and DDIM with eta
(Song, Meng, Ermon 2021). Each `step` is one step of the sigma grid sigma_0 > ... > sigma_{n-1}
> sigma_n = 0, on particles x^ = y + sigma z; at sigma = 0 they are samples of p.

They share grid.py's stepping loop with the SDE and ODE samplers (their grid is sigma's).
Why apart from sde.py: these work with any objective that has a noise schedule
(NCSN, DDPM, the three SDEs, flow matching) and, with the exact score, with any objective,
through the one denoiser D(x^; sigma) of noise_levels.py. Every score evaluation goes through
Sampler.score_of, which counts it: `nfe`.
"""

from __future__ import annotations

import math
from functools import cached_property

import numpy as np
import torch

from ..errors import SpecError
from ..presets.schema import Field
from .grid import GridSampler
from .noise_levels import SCHEDULES, NoiseLevels

SIGMA_HELP = ("{end} of the sampler's sigma grid (noise std of x / a, EDM's sigma); 0: the "
              "objective's own schedule (exact score: sigma_max at least 20 box diagonals, 5 for "
              "dpm_solver)")


def range_fields(schedule: str) -> dict[str, Field]:
    return {
        "schedule": Field("str", schedule, choices=SCHEDULES,
                          help="sigma grid: karras (EDM eq. 5, rho), log (uniform log sigma), "
                               "time (uniform in the objective's time: DDIM's DDPM steps)"),
        "rho": Field("float", 7.0, min=1.0, max=100.0,
                     help="Karras et al.'s rho: larger spends more steps at small sigma"),
        "sigma_min": Field("float", 0.0, min=0.0, help=SIGMA_HELP.format(end="smallest sigma")),
        "sigma_max": Field("float", 0.0, min=0.0, help=SIGMA_HELP.format(end="largest sigma")),
    }


class SigmaSampler(GridSampler):
    """Shared: the sigma grid, particles from N(0, sigma_0^2 I), the denoiser."""

    needs_conditioning = ("sigma", "time", "sde", "flow")
    wide_diagonals = 20.0         # exact score: sigma_max at least this many box diagonals

    @classmethod
    def check(cls, preset) -> None:
        s = preset.sampler
        lo, hi = s.get("sigma_min") or 0.0, s.get("sigma_max") or 0.0
        if lo > 0 and hi > 0 and lo >= hi:
            raise SpecError("sampler.sigma_min", f"must be below sampler.sigma_max ({hi:g})")
        if lo > 0 or hi > 0:     # one end given: against the other end, from the schedule
            levels = NoiseLevels(preset, s["score"], lo, hi, wide=cls.wide_diagonals)
            if levels.sigma_min >= levels.sigma_max:
                raise SpecError("sampler.sigma_min" if lo > 0 else "sampler.sigma_max",
                                f"the grid would run from {levels.sigma_max:g} up to "
                                f"{levels.sigma_min:g}: sigma_min must be below sigma_max")
        o = preset.objective
        if s.get("schedule") == "time" and o.get("kind") == "ddpm" and int(s["steps"]) > int(o["timesteps"]):
            raise SpecError("sampler.steps", f"must be at most objective.timesteps = "
                            f"{o['timesteps']} with sampler.schedule = \"time\" (DDIM's steps "
                            "are a subsequence of DDPM's)")

    @cached_property
    def levels(self) -> NoiseLevels:
        p = self.params
        return NoiseLevels(self.preset, self.score_kind, p["sigma_min"], p["sigma_max"],
                           wide=self.wide_diagonals)

    @cached_property
    def sigmas(self) -> np.ndarray:
        """sigma_0 > ... > sigma_{n-1} > sigma_n = 0."""
        p = self.params
        return self.levels.grid(self.steps, p["schedule"], p["rho"])

    @property
    def grid(self) -> np.ndarray:
        return self.sigmas

    def _init(self, how: str, bounds: np.ndarray) -> torch.Tensor:
        # x^_0 = sigma_0 z: the prior N(0, sigma_max^2 I)  (EDM: x_next = latents * t_steps[0])
        z = torch.randn((self.n, self.dim), generator=self.gen, device=self.device)
        return float(self.sigmas[0]) * z

    def denoised(self, x: torch.Tensor, sigma: float) -> torch.Tensor:
        """D(x; sigma), one score evaluation (counted)."""
        return self.score_of(self._denoise, x, float(sigma))

    def _denoise(self, x: torch.Tensor, sigma: float) -> torch.Tensor:
        return self.levels.denoise(self.score, x, sigma)

    @property
    def sigma(self) -> float:
        """The noise level the particles are at now (the readout)."""
        return self.grid_now()


class Heun(SigmaSampler):
    """EDM's sampler (Karras et al. 2022, Algorithm 2; NVlabs/edm generate.py edm_sampler):
    with S_churn = 0 the deterministic 2nd-order Heun of Algorithm 1."""

    name = "heun"
    label = "Heun (EDM)"
    order = 7
    fields = {
        **range_fields("karras"),
        "s_churn": Field("float", 0.0, min=0.0, max=1000.0,
                         help="EDM's S_churn: total stochasticity (0: the deterministic ODE)"),
        "s_min": Field("float", 0.0, min=0.0, help="churn only where sigma >= S_min"),
        "s_max": Field("float", 1e6, min=0.0, help="churn only where sigma <= S_max"),
        "s_noise": Field("float", 1.0, min=0.0, max=10.0,
                         help="EDM's S_noise: std of the churn noise relative to the added level"),
    }

    @classmethod
    def default_steps(cls, preset) -> int:
        return 18          # EDM's CIFAR-10 setting: 18 sigmas, 35 evaluations

    def update(self, x, i, t_cur, t_next):
        p = self.params
        n = self.steps
        # gamma_i = min(S_churn / N, sqrt(2) - 1) if S_min <= t_i <= S_max else 0
        gamma = min(p["s_churn"] / n, math.sqrt(2) - 1) if p["s_min"] <= t_cur <= p["s_max"] else 0.0
        t_hat = self.levels.round_sigma(t_cur + gamma * t_cur)
        if t_hat > t_cur:
            # x^_i = x_i + sqrt(t^_i^2 - t_i^2) S_noise eps
            x = x + math.sqrt(t_hat ** 2 - t_cur ** 2) * p["s_noise"] * self.noise()
        d_cur = (x - self.denoised(x, t_hat)) / t_hat          # d_i = (x^_i - D(x^_i; t^_i)) / t^_i
        x_next = x + (t_next - t_hat) * d_cur                   # Euler step
        if i < n - 1:                                           # 2nd-order correction unless t_next = 0
            d_prime = (x_next - self.denoised(x_next, t_next)) / t_next
            x_next = x + (t_next - t_hat) * (0.5 * d_cur + 0.5 * d_prime)
        return x_next


class DPMSolver(SigmaSampler):
    """DPM-Solver++(2M), data prediction, multistep (Lu et al. 2022, Algorithm 2), as in
    k-diffusion's sample_dpmpp_2m: in lambda = -log sigma, h = lambda_{i+1} - lambda_i,
        x_{i+1} = (sigma_{i+1} / sigma_i) x_i - (e^{-h} - 1) D_i'
    with D_i' = (1 + 1/(2r)) D_i - 1/(2r) D_{i-1}, r = h_{i-1} / h_i (first order, D_i' = D_i,
    at the first step and the last, to sigma = 0)."""

    name = "dpm_solver"
    label = "DPM-Solver++(2M)"
    order = 8
    fields = range_fields("karras")
    # on the course's mixtures (docs/design.md §3), 10 steps over 20 diagonals put ~0.03 of the mass in the wrong
    # mode, over 5 diagonals ~0.015 (docs/samplers.md)
    wide_diagonals = 5.0

    @classmethod
    def default_steps(cls, preset) -> int:
        return 10

    _old: torch.Tensor | None = None

    def update(self, x, i, sigma, sigma_next):
        denoised = self.denoised(x, sigma)
        old, self._old = (self._old if i > 0 else None), denoised
        if sigma_next == 0:
            return denoised                                     # the limit h -> infinity
        t, t_next = -math.log(sigma), -math.log(sigma_next)     # lambda = -log sigma
        h = t_next - t
        h_last = t + math.log(self.sigmas[i - 1]) if i > 0 else 0.0
        if old is None or h == 0 or h_last == 0:
            d = denoised
        else:
            r = h_last / h
            d = (1 + 1 / (2 * r)) * denoised - (1 / (2 * r)) * old
        return (sigma_next / sigma) * x - math.expm1(-h) * d


class DDIM(SigmaSampler):
    """DDIM (Song, Meng, Ermon 2021, eq. 12) in x^ = x / sqrt(ab), sigma^2 = (1 - ab) / ab:
        x^_{i+1} = D_i + sqrt(sigma_{i+1}^2 - c^2) eps_i + c z,  eps_i = (x^_i - D_i) / sigma_i,
        c = eta sqrt(sigma_{i+1}^2 (sigma_i^2 - sigma_{i+1}^2) / sigma_i^2),
    which is the paper's sigma_t(eta) divided by sqrt(ab_{t-1}) (k-diffusion's get_ancestral_step;
    sample_euler_ancestral). eta = 0: deterministic (Euler on the ODE in sigma); eta = 1: DDPM's
    ancestral step with the posterior variance beta~."""

    name = "ddim"
    label = "DDIM"
    order = 9
    fields = {
        **range_fields("time"),
        "eta": Field("float", 0.0, min=0.0, max=1.0,
                     help="DDIM's eta: 0 deterministic, 1 DDPM-like ancestral noise"),
    }

    @classmethod
    def default_steps(cls, preset) -> int:
        return 50

    def update(self, x, i, sigma, sigma_next):
        denoised = self.denoised(x, sigma)
        eta = self.params["eta"]
        # c = eta sqrt(s'^2 (s^2 - s'^2) / s^2),  s_down = sqrt(s'^2 - c^2)
        up = min(sigma_next, eta * math.sqrt(sigma_next ** 2 * (sigma ** 2 - sigma_next ** 2) / sigma ** 2))
        down = math.sqrt(max(sigma_next ** 2 - up ** 2, 0.0))
        x = denoised + down * (x - denoised) / sigma
        if up > 0:
            x = x + up * self.noise()
        return x
