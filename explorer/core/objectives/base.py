"""The base class every objective derives from (built-ins and plugins alike), and the
constant that lines a loss up with the Fisher divergence. Its own module so that the
objectives, the plugin checks and the package's lookups import it without a cycle."""

from __future__ import annotations

import torch

from ..presets.schema import Field


class Objective:
    name: str = ""                    # the preset's objective.kind
    label: str = ""                   # "DSM  1/2 E|...|^2": its short name is the first word
    title: str = ""                   # the window's heading for it
    formula: str = ""                 # its loss, as rich text for the window
    assumes: str = ""                 # one or two sentences: what it needs, what it costs
    fields: dict[str, Field] = {}     # its keys in the preset's [objective] table
    conditioning: str | None = None   # None, "sigma", "time", "sde" or "flow" (module docstring)
    default_sampler: str = "langevin"
    samplers: tuple[str, ...] | None = None  # the only samplers of a learned model; None: any
    positive_loss: bool = False       # a squared error: the loss plot may use a log axis
    needs_true_score: bool = False
    order: int = 100                  # place in the window's list (built-ins: course order)

    def losses(self, model, x: torch.Tensor) -> torch.Tensor:
        """Per-sample loss terms, (n,)."""
        raise NotImplementedError

    def loss(self, model, x: torch.Tensor) -> torch.Tensor:
        return self.losses(model, x).mean()

    def ism_constant(self, density, samples: torch.Tensor) -> float | None:
        return None

    @classmethod
    def noise_range(cls, half_diagonal: float):
        """(sigma_max, sigma_min as a function of sigma_max) where a preset leaves them out:
        NCSN's ladder from half the box's diagonal down to min(0.1, sigma_max / 10)."""
        return half_diagonal, lambda big: min(0.1, big / 10)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.name})"


def fisher_constant(density, samples: torch.Tensor) -> float | None:
    """1/2 E_p |grad log p|^2 estimated on `samples` (None if the density has no score)."""
    try:
        with torch.no_grad():
            g = density.score(samples)
    except NotImplementedError:
        return None
    return float(0.5 * g.double().pow(2).sum(1).mean())
