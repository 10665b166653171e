"""Noise-conditional score networks (Song & Ermon 2019): many sigma levels, sigma^power weighting
(anneal_power = 2 by default, the paper's lambda(sigma) = sigma^2; the reference code's
`anneal_power` makes the weight sigma^power)."""

from __future__ import annotations

from dataclasses import replace

import torch

from ..noise.schedules import ncsn_sigmas
from ..presets.schema import Field
from ..models import jvp
from .base import Objective
from .sliced import PROJECTIONS, _Sliced, sample_projections


class NCSN(Objective):
    name = "ncsn"
    label = "NCSN  1/2 E[sigma^2 |s(x~, sigma) + (x~ - x)/sigma^2|^2]"
    title = "Noise-conditional score network (Song & Ermon 2019)"
    formula = ("½ E [ σ² |s<sub>θ</sub>(x̃, σ) + (x̃ − x)/σ²|² ],  "
               "σ ∈ {σ<sub>1</sub> > … > σ<sub>L</sub>}")
    assumes = "One network for many noise levels; sample with annealed Langevin."
    fields = {
        # None: derived from the density's box when the preset is loaded (preset._derive)
        "sigma_max": Field("float", None, min=0.0, exclusive_min=True,
                           help="largest noise level (derived: half the box diagonal)"),
        "sigma_min": Field("float", None, min=0.0, exclusive_min=True,
                           help="smallest noise level (derived: min(0.1, sigma_max / 10))"),
        "levels": Field("int", 10, min=1, max=1000, help="number of noise levels (geometric)"),
        "anneal_power": Field("float", 2.0, min=0.0, max=8.0,
                              help="loss weight sigma^power (the reference code's anneal_power)"),
    }
    conditioning = "sigma"
    default_sampler = "annealed_langevin"
    positive_loss = True
    order = 6

    def __init__(self, sigma_max: float, sigma_min: float, levels: int = 10, anneal_power: float = 2.0):
        if sigma_max is None or sigma_min is None:
            raise ValueError("NCSN needs objective.sigma_max and objective.sigma_min")
        self.anneal_power = float(anneal_power)
        self.sigma_max, self.sigma_min, self.levels = float(sigma_max), float(sigma_min), int(levels)
        self.sigmas = ncsn_sigmas(self.sigma_max, self.sigma_min, self.levels)  # (L,) CPU float32
        self._cache: dict = {}

    def sigmas_on(self, device, dtype=torch.float32) -> torch.Tensor:
        key = (torch.device(device), dtype)
        t = self._cache.get(key)
        if t is None:
            t = self._cache[key] = self.sigmas.to(device=device, dtype=dtype)
        return t

    def losses(self, model, x: torch.Tensor) -> torch.Tensor:
        sigmas = self.sigmas_on(x.device, x.dtype)
        # one level drawn uniformly per sample
        sigma = sigmas[torch.randint(0, self.levels, (x.shape[0],), device=x.device)]  # (n,)
        sig = sigma.unsqueeze(1)
        # x~ = x + sigma z;  loss 1/2 E [sigma^power |s_theta(x~, sigma) + (x~ - x)/sigma^2|^2]
        x_tilde = x + sig * torch.randn_like(x)
        r = model(x_tilde, sigma) + (x_tilde - x) / sig ** 2
        w = sigma ** 2 if self.anneal_power == 2.0 else sigma ** self.anneal_power
        return 0.5 * w * r.pow(2).sum(dim=1)


class SlicedNCSN(NCSN):
    """NCSN with the sliced loss instead of the denoising one: SSM-VR on x~ = x + sigma z at
    each level, weighted sigma^power, as the ncsn reference code's
    anneal_sliced_score_estimation_vr (Gaussian projections there)."""

    name = "ncsn_ssm"
    label = "NCSN-SSM  E[sigma^2 (v^T grad s(x~, sigma) v + 1/2 |s(x~, sigma)|^2)]"
    title = "Noise-conditional, sliced (NCSN with SSM-VR at every level)"
    formula = ("E [ σ² ( vᵀ∇<sub>x̃</sub>s<sub>θ</sub>(x̃, σ) v + ½ |s<sub>θ</sub>(x̃, σ)|² ) ],  "
               "x̃ = x + σz")
    assumes = ("No denoising target: the trace is sliced on the noisy samples. Its variance does "
               "not grow like 1/σ² as σ → 0, unlike DSM's.")
    fields = {**NCSN.fields, **{k: f for k, f in _Sliced.fields.items() if k != "noise_sigma"}}
    fields["projection"] = replace(fields["projection"], default="gaussian")
    order = 8

    def __init__(self, sigma_max: float, sigma_min: float, levels: int = 10, anneal_power: float = 2.0,
                 projections: int = 1, projection: str = "gaussian"):
        super().__init__(sigma_max, sigma_min, levels, anneal_power)
        if projection not in PROJECTIONS:
            raise ValueError(f"unknown projection {projection!r} (known: {', '.join(PROJECTIONS)})")
        self.projections, self.projection = int(projections), projection

    def losses(self, model, x: torch.Tensor) -> torch.Tensor:
        sigmas = self.sigmas_on(x.device, x.dtype)
        sigma = sigmas[torch.randint(0, self.levels, (x.shape[0],), device=x.device)]   # (n,)
        x_tilde = x + sigma.unsqueeze(1) * torch.randn_like(x)
        n, m = x.shape[0], self.projections
        xr = x_tilde.repeat(m, 1) if m > 1 else x_tilde       # (m n, d)
        sr = sigma.repeat(m) if m > 1 else sigma
        v = sample_projections(self.projection, xr)
        s, jv = jvp(model, xr, v, sr)
        # per level: v^T grad s(x~, sigma) v + 1/2 |s(x~, sigma)|^2, weighted sigma^power
        per = (v * jv).sum(dim=1) + 0.5 * s.pow(2).sum(dim=1)
        per = per.view(m, n).mean(dim=0) if m > 1 else per
        return sigma ** self.anneal_power * per
