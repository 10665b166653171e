"""The Langevin step sizes a preset gets when it names none, and the ones it may not name.

Why here: a step size is only meaningful against the scale of the density the particles
follow, and that scale moves whenever the density, the noise ladder or the sampler moves
(a drawing, another kind, the advisor's ladder, another objective). `preset._derive` asks
this module for the value every time a preset is resolved, so the command line, the API,
compare and the window all get the same derived value; `check` refuses, before any
training, a value the user set that makes the sampler unstable. docs/defaults.md has the
derivations; in short (docs/design.md §3's convention x <- x + (eps/2) s(x) + sqrt(eps) z):

Stability on a Gaussian direction of variance V (score -(x - mu)/V):
    x - mu  <-  (1 - eps/(2V)) (x - mu) + sqrt(eps) z,
a linear recursion whose deviation grows without bound iff |1 - eps/(2V)| >= 1, i.e.
    eps >= 4 V.                                                               (1)
For a Gaussian mixture (a kernel density is one) the curvature of -log p is at most the
largest precision, 1/v_min, everywhere (the posterior-covariance term of the Hessian is
subtracted), and far from the data it tends to 1/v_tail, v_tail the largest variance of
any component in any direction (the widest component dominates the tails). So
    eps < 4 v_min    is stable everywhere,
    eps >= 4 v_tail  is unstable in the tails: the particles there diverge geometrically
                     (and the injected noise sends some there), whatever the data.
Annealed Langevin runs level i with alpha_i = eps sigma_i^2 / sigma_L^2 on p_sigma_i, whose
components have variance v + sigma_i^2, so (1) at level i reads
    eps >= 4 sigma_L^2 (1 + v_tail / sigma_i^2),
tightest at the largest level sigma_1 = sigma_max:
    refused:  eps >= 4 sigma_L^2 (1 + v_tail / sigma_1^2).                    (2)
(With sigma_1 >> the data's scale this is eps >= ~4 sigma_L^2: the condition involves
sigma_min, not the density's variance.)

Defaults:
- annealed Langevin: Song & Ermon (2020) technique 4 for the ladder's ratio gamma, sigma_L
  and T = sampler.steps per level (core/noise/advisor.step_for), times 2 for this project's
  convention; it lies below 2 sigma_L^2, inside (2).
- Langevin: eps = V_min, the smallest variance of the score it follows (the density's
  smallest component variance, plus the finest noise level's sigma^2 for a noise-conditional
  score): a quarter of the stability bound (1), with a stationary variance V / (1 - 1/4),
  and a move of one standard deviation of the narrowest part per step (it mixes along a
  drawn stroke within the default 1,000 steps).
"""

from __future__ import annotations

import math

import numpy as np

from ..errors import SpecError

SCALE_SAMPLES = 256        # samples of p where the curvature is measured (densities of no family)


# ------------------------------------------------------------------ the density's variances
def variance_range(density) -> tuple[float, float | None]:
    """(v_min, v_tail): the smallest variance of the density's Gaussian parts in any direction,
    and the largest (the one that governs the tails), or None where the tails are not those
    of a Gaussian of known variance (then nothing is refused: no bound is certain)."""
    comps = density.components()
    if comps is not None:                      # mixtures, Gaussians: eigenvalues of each covariance
        lam = np.linalg.eigvalsh(np.asarray(comps[2], dtype=np.float64))
        return float(lam.min()), float(lam.max())
    h = getattr(density, "bandwidth", None)    # kernel densities: points, image, curves
    if isinstance(h, (int, float)) and h > 0:
        return float(h) ** 2, float(h) ** 2
    for attr in ("width", "w", "blur"):        # ring, sphere shell, torus; checkerboard
        w = getattr(density, attr, None)
        if isinstance(w, (int, float)) and w > 0:
            return float(w) ** 2, float(w) ** 2
    return measured_min_variance(density), None


def measured_min_variance(density, n: int = SCALE_SAMPLES) -> float:
    """1 / (the largest curvature of -log p over n samples), the curvature from central
    differences of the score: for a density of no known family (banana, funnel, plugins)."""
    import torch
    x = density.sample(n, torch.Generator().manual_seed(0)).double()
    spread = float(x.std(0).mean()) if n > 1 else 1.0
    h = 1e-3 * (spread if spread > 0 else 1.0)
    d = x.shape[1]
    cols = []
    for k in range(d):
        e = torch.zeros(d, dtype=x.dtype)
        e[k] = h
        with torch.no_grad():
            ds = density.score((x + e).float()).double() - density.score((x - e).float()).double()
        cols.append(ds / (2 * h))
    jac = torch.stack(cols, dim=2)                       # (n, d, d): d s_i / d x_k
    hess = -(jac + jac.transpose(1, 2)) / 2              # curvature of -log p
    top = torch.linalg.eigvalsh(hess)[:, -1]
    top = top[torch.isfinite(top)]
    if top.numel() == 0 or float(top.max()) <= 0:
        return spread ** 2 if spread > 0 else 1.0
    return 1.0 / float(top.max())


# ------------------------------------------------------------------ what the sampler follows
def finest_noise(preset) -> float:
    """sigma^2 the sampled score adds to the density's own variances at its finest level:
    NCSN's sigma_min, DSM's sigma for a learned score (it learned p * N(0, sigma^2 I)), else 0."""
    o = preset.objective
    from ..plugins.registry import objectives
    cls = objectives().get(o["kind"])
    learned = preset.sampler["score"] == "learned"
    if cls is not None and cls.conditioning == "sigma" and o.get("sigma_min"):
        return float(o["sigma_min"]) ** 2
    if learned and o["kind"] == "dsm" and o.get("sigma"):
        return float(o["sigma"]) ** 2
    return 0.0


def ladder(preset) -> tuple[float, float, int]:
    o = preset.objective
    return float(o["sigma_max"]), float(o["sigma_min"]), int(o["levels"])


# ------------------------------------------------------------------ defaults
def default_step_size(preset, density) -> float | None:
    """sampler.step_size where the preset names none; None for samplers whose step is not a
    Langevin step (their own default then)."""
    kind = preset.sampler["kind"]
    if kind == "annealed_langevin":
        return annealed_step(preset, density)
    if kind == "langevin":
        v_min, _ = variance_range(density)
        return _round(v_min + finest_noise(preset))
    return None


def annealed_step(preset, density) -> float:
    """Technique 4 (Song & Ermon 2020) on the preset's ladder and T, in this project's
    convention: 2 eps; one level: Langevin's rule on p_sigma_L."""
    from ..noise.advisor import step_for
    big, small, levels = ladder(preset)
    if levels < 2 or big <= small:
        v_min, _ = variance_range(density)
        return _round(v_min + small ** 2)
    gamma = (big / small) ** (1.0 / (levels - 1))
    # not rounded: the advisor's suggestion for the same ladder is this very number
    return 2.0 * step_for(int(preset.sampler["steps"]), gamma, small)


def _round(x: float) -> float:
    return float(f"{x:.4g}")


# ------------------------------------------------------------------ refusal
def divergence_bound(preset, density) -> tuple[float, str] | None:
    """(eps_max, where it comes from): sampler.step_size at or above eps_max is unstable
    (module docstring, (1) and (2)); None where no bound is certain."""
    kind = preset.sampler["kind"]
    if kind not in ("langevin", "annealed_langevin"):
        return None
    _, v_tail = variance_range(density)
    if v_tail is None:
        return None
    if kind == "langevin":
        noise = finest_noise(preset)
        V = v_tail + noise
        src = _variance_words(density, v_tail)
        if noise:
            src += f" + sigma^2 = {noise:.4g} of the level the score is at"
        return 4.0 * V, f"4 x the tail variance {V:.4g} ({src})"
    big, small, levels = ladder(preset)
    if levels < 2:            # one level: sigma_min itself (schedules.ncsn_sigmas), alpha = eps
        big = small
    bound = 4.0 * small ** 2 * (1.0 + v_tail / big ** 2)
    return bound, (f"4 sigma_L^2 (1 + v/sigma_1^2) with sigma_L = objective.sigma_min = {small:g}, "
                   f"sigma_1 = objective.sigma_max = {big:g}, v = {v_tail:.4g} "
                   f"({_variance_words(density, v_tail)}): at sigma_1 the step "
                   f"alpha_1 = eps sigma_1^2 / sigma_L^2 exceeds 4 (v + sigma_1^2)")


def _variance_words(density, v: float) -> str:
    if density.components() is not None:
        return "the widest mixture component's variance, from density.stds/covariances"
    if getattr(density, "bandwidth", None):
        return "the kernel bandwidth^2, from density.bandwidth" if density.kind == "points" \
            else f"the kernel bandwidth^2 of the {density.kind} density"
    return f"the {density.kind} density's width^2"


def check(preset, density) -> None:
    """SpecError on sampler.step_size where the user set one that cannot be stable."""
    if "sampler.step_size" not in preset.given:
        return
    found = divergence_bound(preset, density)
    if found is None:
        return
    bound, why = found
    eps = float(preset.sampler["step_size"])
    if eps >= bound and math.isfinite(bound):
        label = "annealed Langevin" if preset.sampler["kind"] == "annealed_langevin" else "Langevin"
        raise SpecError("sampler.step_size",
                        f"{eps:g} makes {label} diverge: it must be below {bound:.4g} = {why}; "
                        f"remove it to get the derived {default_step_size(preset, density):.4g}")


__all__ = ["annealed_step", "check", "default_step_size", "divergence_bound", "finest_noise",
           "measured_min_variance", "variance_range"]
