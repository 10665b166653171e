"""Sliced score matching (Song et al. 2019): SSM and its variance-reduced form SSM-VR."""

from __future__ import annotations

import math

import torch

from ..models import jvp
from ..presets.schema import Field
from .base import Objective, fisher_constant

PROJECTIONS = ("gaussian", "rademacher", "sphere")


def sample_projections(kind: str, like: torch.Tensor) -> torch.Tensor:
    """Random v shaped and placed like `like` (m, d), with E[v v^T] = I:
    gaussian N(0, I); rademacher +-1; sphere uniform on the sphere of radius sqrt(d)."""
    if kind == "gaussian":
        return torch.randn_like(like)
    if kind == "rademacher":
        return torch.empty_like(like).bernoulli_(0.5).mul_(2).sub_(1)
    if kind == "sphere":
        z = torch.randn_like(like)
        return z * (math.sqrt(like.shape[1]) / z.norm(dim=1, keepdim=True))
    raise ValueError(f"unknown projection {kind!r} (known: {', '.join(PROJECTIONS)})")


class _Sliced(Objective):
    variance_reduced = False
    fields = {
        "projections": Field("int", 1, min=1, max=1024, help="random projections v per sample"),
        "projection": Field("str", "rademacher", choices=PROJECTIONS,
                            help="distribution of v, E[v v^T] = I for all three"),
        "noise_sigma": Field("float", 0.0, min=0.0, max=1e3,
                             help="train on x + noise_sigma z: the target is then the score of "
                                  "p_sigma, as DSM's (0: the clean data)"),
    }

    def __init__(self, projections: int = 1, projection: str = "rademacher", noise_sigma: float = 0.0):
        if projection not in PROJECTIONS:
            raise ValueError(f"unknown projection {projection!r} (known: {', '.join(PROJECTIONS)})")
        self.projections = int(projections)
        self.projection = projection
        self.noise_sigma = float(noise_sigma)

    def losses(self, model, x: torch.Tensor) -> torch.Tensor:
        if self.noise_sigma > 0:
            # sliced score matching on the noisy density: x~ = x + sigma z ~ p_sigma
            x = x + self.noise_sigma * torch.randn_like(x)
        n, m = x.shape[0], self.projections
        xr = x.repeat(m, 1) if m > 1 else x                  # (m n, d): M projections per sample
        v = sample_projections(self.projection, xr)
        s, jv = jvp(model, xr, v)                             # one forward-mode pass (score MLP)
        vjv = (v * jv).sum(dim=1)                             # v^T (grad_x s) v
        if self.variance_reduced:
            # SSM-VR: E_p E_v [v^T (grad_x s) v + 1/2 |s|^2]
            per = vjv + 0.5 * s.pow(2).sum(dim=1)
        else:
            # SSM: E_p E_v [v^T (grad_x s) v + 1/2 (v^T s)^2]
            per = vjv + 0.5 * (v * s).sum(dim=1).pow(2)
        return per.view(m, n).mean(dim=0) if m > 1 else per

    def ism_constant(self, density, samples: torch.Tensor) -> float | None:
        # E_v[v^T (grad s) v] = tr(grad s) and E_v[(v^T s)^2] = |s|^2 (E[v v^T] = I), so both
        # losses are ISM's in expectation: loss + 1/2 E_p |grad log p|^2 = F. On noisy data
        # the target is p_sigma's score, whose constant this is not.
        return fisher_constant(density, samples) if self.noise_sigma == 0 else None


class SSM(_Sliced):
    name = "ssm"
    label = "SSM  E[v^T grad s v + 1/2 (v^T s)^2]"
    title = "Sliced score matching (Song et al. 2019)"
    formula = "E<sub>p</sub> E<sub>v</sub> [ vᵀ∇<sub>x</sub>s<sub>θ</sub> v + ½ (vᵀs<sub>θ</sub>)² ]"
    assumes = "Random projections v replace the trace: one Jacobian-vector product, any dimension."
    order = 3


class SSMVR(_Sliced):
    name = "ssm_vr"
    label = "SSM-VR  E[v^T grad s v + 1/2 |s|^2]"
    title = "Sliced score matching, variance reduced"
    formula = "E<sub>p</sub> E<sub>v</sub> [ vᵀ∇<sub>x</sub>s<sub>θ</sub> v + ½ |s<sub>θ</sub>|² ]"
    assumes = "As SSM with the second term in closed form (E[vvᵀ] = I): lower variance."
    order = 4
    variance_reduced = True
