"""The stepping loop every noise-to-data sampler shares: a grid of times or noise levels
g_0, g_1, ..., and step i moves the particles from g_i to g_{i+1}.

Why one loop: the reverse SDE's predictor-corrector (the grid t_i = linspace(1, 1e-3, N)),
the ODE samplers (t_0 .. t_N, one solver segment per step) and the few-step samplers
(sigma_0 > ... > sigma_n = 0) differ only in their grid and in the update from g_i to
g_{i+1}; the grid, the readout of where the particles are, particles drawn from the prior,
score evaluations without autograd and the advice when they blow up are written here once.
A subclass gives `grid` and `update(x, i, g, g_next)`.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

from .base import Sampler


class GridSampler(Sampler):
    """Step i: x <- update(x, i, g_i, g_{i+1}) on the subclass's grid (g_{i+1} = g_i past its end:
    the reverse SDE's grid has one point per step, its last step ends where it is)."""

    starts_from_noise = True
    default_step_size = 1.0        # unused: the step is the grid's
    uses_step_size = False

    @property
    def grid(self) -> Sequence[float]:
        """The times or noise levels, in the order the particles visit them."""
        raise NotImplementedError

    def update(self, x: torch.Tensor, i: int, g: float, g_next: float) -> torch.Tensor:
        """x after the step from grid point g = g_i to g_next."""
        raise NotImplementedError

    def step(self, x: torch.Tensor) -> torch.Tensor:
        i, grid = self.done_steps, self.grid
        g = float(grid[i])
        g_next = float(grid[i + 1]) if i + 1 < len(grid) else g
        with torch.no_grad():
            return self.update(x, i, g, g_next)

    def grid_now(self) -> float:
        """The grid point the particles are at now (the last one once the schedule ended)."""
        grid = self.grid
        return float(grid[min(self.done_steps, len(grid) - 1)])

    def blowup_hint(self) -> str:
        more = (" (or train longer: a learned score can be far off away from the data)"
                if self.score_kind == "learned" else "")
        return f"use more sampler.steps (now {self.steps}){more}"
