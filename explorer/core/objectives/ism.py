"""Implicit score matching (Hyvarinen 2005) with the exact trace."""

from __future__ import annotations

import torch

from ..models import jacobian
from .base import Objective, fisher_constant


class ISM(Objective):
    name = "ism"
    label = "ISM  E[1/2|s|^2 + tr grad s]"
    title = "Implicit score matching (Hyvärinen 2005)"
    formula = "E<sub>p</sub> [ ½ |s<sub>θ</sub>(x)|² + tr ∇<sub>x</sub>s<sub>θ</sub>(x) ]"
    assumes = ("No true score needed; the exact trace costs one derivative per dimension. "
               "Equals ESM up to the constant ½ E|∇log p|².")
    order = 2

    def losses(self, model, x: torch.Tensor) -> torch.Tensor:
        # ISM: E_p [1/2 |s_theta(x)|^2 + tr(grad_x s_theta(x))], trace exact:
        # score MLP: forward-mode Jacobian; energy: -Laplacian of E by an autograd loop.
        s, jac = jacobian(model, x)
        trace = jac.diagonal(dim1=1, dim2=2).sum(dim=1)
        return 0.5 * s.pow(2).sum(dim=1) + trace

    def ism_constant(self, density, samples: torch.Tensor) -> float | None:
        # ISM + 1/2 E_p |grad log p|^2 = Fisher divergence (in expectation)
        return fisher_constant(density, samples)
