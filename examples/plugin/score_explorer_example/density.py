"""A multivariate Student-t density: heavy tails, where Langevin with a large step is slow to
forget its start and a learned score is wrong far out (there is little data there).

    log p(x) = -(nu + d)/2 log(1 + |x|^2 / (nu s^2)) + const
    grad log p(x) = -(nu + d) x / (nu s^2 + |x|^2)
    x = s z / sqrt(u / nu),  z ~ N(0, I_d),  u ~ chi^2(nu)
"""

from __future__ import annotations

import numpy as np
import torch

from explorer.core.densities.base import Density, symmetric_bounds
from explorer.core.presets.schema import Field


class StudentT(Density):
    name = kind = "student_t"
    dim = 2
    fields = {
        "dof": Field("float", 3.0, min=0.5, max=1000.0, help="degrees of freedom nu (lower: heavier tails)"),
        "scale": Field("float", 1.0, min=0.0, exclusive_min=True, help="scale s"),
    }

    def __init__(self, dof: float = 3.0, scale: float = 1.0):
        self.nu, self.s = float(dof), float(scale)
        super().__init__(symmetric_bounds(5.0 * self.s, self.dim))

    def sample(self, n: int, generator: torch.Generator) -> torch.Tensor:
        seed = int(torch.randint(0, 2**62, (1,), generator=generator, device=generator.device))
        u = np.random.default_rng(seed).chisquare(self.nu, size=(n, 1))
        z = torch.randn((n, self.dim), generator=generator, device=generator.device)
        w = torch.as_tensor(np.sqrt(self.nu / u), dtype=torch.float32, device=z.device)
        return self.s * z * w

    def log_prob(self, x: torch.Tensor) -> torch.Tensor:
        # -(nu + d)/2 log(1 + |x|^2 / (nu s^2))
        return -0.5 * (self.nu + self.dim) * torch.log1p(x.pow(2).sum(1) / (self.nu * self.s ** 2))

    def score(self, x: torch.Tensor) -> torch.Tensor:
        # -(nu + d) x / (nu s^2 + |x|^2)
        return -(self.nu + self.dim) * x / (self.nu * self.s ** 2 + x.pow(2).sum(1, keepdim=True))
