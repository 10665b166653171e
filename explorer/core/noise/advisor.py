"""A noise-schedule advisor: Song & Ermon (2020), "Improved techniques for training score-based
generative models", techniques 1, 2 and 4, computed from the density's samples.

  1. sigma_1 (the largest level) = the largest distance between two data points.
  2. gamma = sigma_{i-1} / sigma_i, the ratio of the geometric ladder, such that
         Phi(sqrt(2D)(gamma - 1) + 3 gamma) - Phi(sqrt(2D)(gamma - 1) - 3 gamma) = 1/2
     (Phi the standard normal CDF, D the dimension). Below D = 5 the left side stays above
     1/2 for every gamma > 1 (the norms of Gaussians in few dimensions overlap whatever the
     ratio): no solution, and the advisor says so and falls back to FALLBACK_GAMMA.
     The number of levels follows: L = 1 + ceil(log(sigma_1 / sigma_L) / log gamma).
  4. For T steps per level, the step eps that brings
         (1 - eps/sigma_L^2)^(2T) (gamma^2 - 2 eps / (sigma_L^2 - sigma_L^2 (1 - eps/sigma_L^2)^2))
           + 2 eps / (sigma_L^2 - sigma_L^2 (1 - eps/sigma_L^2)^2)
     closest to 1: the variance after T steps at level i, from the previous level's law, over
     sigma_i^2 (for data concentrated at one point). It is above 1 for every eps (a step
     too small does not forget sigma_{i-1}, one too large overshoots by its own bias), so
     "approximately 1", as the paper says, is its minimum.

The paper writes Langevin as x <- x + alpha s + sqrt(2 alpha) z with alpha_i = eps sigma_i^2 /
sigma_L^2; this project as x <- x + (alpha/2) s + sqrt(alpha) z (docs/design.md §3), so its
step is twice the paper's: sampler.step_size = 2 eps.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import torch
from scipy.optimize import brentq, minimize_scalar
from scipy.stats import norm

SAMPLES = 2000            # data points for the largest pairwise distance
FALLBACK_GAMMA = 1.5      # the ratio suggested where technique 2 has no solution
GAMMA_MAX = 100.0
LEVELS_MAX = 1000          # objective.levels' limit in the schema (objectives/ncsn.py)


@dataclass
class Advice:
    sigma_max: float
    sigma_min: float
    gamma: float
    levels: int
    steps: int            # T, per level
    eps_paper: float      # the paper's eps
    step_size: float      # this project's sampler.step_size = 2 eps
    notes: list[str] = field(default_factory=list)

    def toml(self) -> str:
        """The suggested [objective] and [sampler] tables, with the reasons as comments."""
        lines = [f"# {n}" for n in self.notes]
        lines += ["[objective]", 'kind = "ncsn"', f"sigma_max = {self.sigma_max:.6g}",
                  f"sigma_min = {self.sigma_min:.6g}", f"levels = {self.levels}", "",
                  "[sampler]", 'kind = "annealed_langevin"', f"step_size = {self.step_size:.6g}",
                  f"steps = {self.steps}", ""]
        return "\n".join(lines)


def largest_distance(x: torch.Tensor, chunk: int = 1024) -> float:
    """Technique 1: max_{i,j} |x_i - x_j| over the samples."""
    best = 0.0
    for a in torch.split(x.double(), chunk):
        best = max(best, float(torch.cdist(a, x.double()).max()))
    return best


def overlap(gamma: float, dim: int) -> float:
    """Technique 2's left side: Phi(sqrt(2D)(gamma - 1) + 3 gamma) - Phi(sqrt(2D)(gamma - 1) - 3 gamma)."""
    c = math.sqrt(2 * dim) * (gamma - 1)
    return float(norm.cdf(c + 3 * gamma) - norm.cdf(c - 3 * gamma))


def ratio(dim: int) -> float | None:
    """The gamma > 1 with overlap(gamma, D) = 1/2, or None where there is none."""
    lo, hi = 1.0 + 1e-9, GAMMA_MAX
    if (overlap(lo, dim) - 0.5) * (overlap(hi, dim) - 0.5) > 0:
        return None
    return float(brentq(lambda g: overlap(g, dim) - 0.5, lo, hi, xtol=1e-12))


def level_count(sigma_max: float, sigma_min: float, gamma: float) -> int:
    return 1 + math.ceil(math.log(sigma_max / sigma_min) / math.log(gamma) - 1e-9)


def variance_after(eps: float, steps: int, gamma: float, sigma_min: float) -> float:
    """Technique 4's left side: s_T^2 / sigma_i^2 after T steps from the previous level."""
    r = 1 - eps / sigma_min ** 2
    fixed = 2 * eps / (sigma_min ** 2 - sigma_min ** 2 * r ** 2)
    return r ** (2 * steps) * (gamma ** 2 - fixed) + fixed


def step_for(steps: int, gamma: float, sigma_min: float) -> float:
    """The paper's eps in (0, sigma_L^2) that brings variance_after closest to 1 (searched on
    log eps / sigma_L^2)."""
    f = lambda u: variance_after(sigma_min ** 2 * math.exp(u), steps, gamma, sigma_min)  # noqa: E731
    best = minimize_scalar(f, bounds=(math.log(1e-12), math.log(1 - 1e-9)), method="bounded",
                           options={"xatol": 1e-10})
    return float(sigma_min ** 2 * math.exp(best.x))


def advise(preset, samples: int = SAMPLES) -> Advice:
    """Techniques 1, 2 and 4 for the preset's density, its sigma_min and sampler.steps (T)."""
    density = preset.build_density()
    x = density.sample(samples, torch.Generator().manual_seed(int(preset.training["seed"])))
    d = preset.dim
    notes = []
    sigma_max = largest_distance(x)
    notes.append(f"technique 1: sigma_max = {sigma_max:.4g}, the largest distance between two of "
                 f"{samples} samples of the density")
    sigma_min = float(preset.objective["sigma_min"])
    if sigma_min < sigma_max:
        notes.append(f"sigma_min = {sigma_min:.4g} kept from the preset (the paper gives no rule for it)")
    else:
        # The ladder must fall from sigma_1 to sigma_L: a density narrower than the preset's
        # sigma_min gets the derived rule's sigma_max / 10 (objectives/ncsn.py).
        notes.append(f"sigma_min = {sigma_min:.4g} from the preset is not below sigma_max: suggested "
                     f"instead sigma_max / 10 = {sigma_max / 10:.4g}")
        sigma_min = sigma_max / 10
    gamma = ratio(d)
    if gamma is None:
        gamma = FALLBACK_GAMMA
        notes.append(f"technique 2 has no solution in {d} dimension{'s' if d > 1 else ''} "
                     f"(Phi(sqrt(2D)(g-1)+3g) - Phi(sqrt(2D)(g-1)-3g) stays above 1/2 for every "
                     f"g > 1 below D = 5): suggested instead gamma = {gamma:g}, so that "
                     f"neighbouring levels' Gaussians overlap heavily")
    else:
        notes.append(f"technique 2: gamma = {gamma:.4g} (Gaussian overlap 1/2 in D = {d})")
    levels = level_count(sigma_max, sigma_min, gamma)
    if levels > LEVELS_MAX:
        notes.append(f"{levels} levels exceed objective.levels' limit {LEVELS_MAX}: suggested "
                     f"{LEVELS_MAX}, a ratio above {gamma:.4g}")
        levels = LEVELS_MAX
    gamma_used = (sigma_max / sigma_min) ** (1 / (levels - 1)) if levels > 1 else gamma
    notes.append(f"levels = {levels}: geometric from sigma_max to sigma_min with ratio at most "
                 f"{gamma:.4g} (exactly {gamma_used:.4g})")
    steps = int(preset.sampler["steps"]) if preset.sampler["kind"] == "annealed_langevin" else 100
    eps = step_for(steps, gamma_used, sigma_min)
    notes.append(f"technique 4: T = {steps} steps per level, eps = {eps:.4g} (variance ratio "
                 f"{variance_after(eps, steps, gamma_used, sigma_min):.4g}) in the paper's "
                 f"x + eps s + sqrt(2 eps) z; this project's x + (eps'/2) s + sqrt(eps') z has "
                 f"step_size eps' = 2 eps = {2 * eps:.4g}")
    return Advice(sigma_max, sigma_min, gamma, levels, steps, eps, 2 * eps, notes)


def as_overrides(advice: Advice) -> dict:
    """The advice as dotted preset keys (compare's --vary syntax, api.edit)."""
    return {"objective.kind": "ncsn", "objective.sigma_max": advice.sigma_max,
            "objective.sigma_min": advice.sigma_min, "objective.levels": advice.levels,
            "sampler.kind": "annealed_langevin", "sampler.step_size": advice.step_size,
            "sampler.steps": advice.steps}


__all__ = ["Advice", "advise", "as_overrides", "largest_distance", "level_count", "overlap",
           "ratio", "step_for", "variance_after"]
