"""Training objectives (DESIGN section 3). Each turns a batch x ~ p, (n, d) on the model's
device, into a scalar loss; randomness comes from torch's default generators.

    objective = build_objective(preset, density)
    loss = objective.loss(model, x)          # scalar tensor, no host synchronisation
    objective.losses(model, x)               # the per-sample terms, (n,); loss = losses.mean()

`needs_true_score` says whether the loss itself calls density.score (ESM only).
`ism_constant(density, samples)` is 1/2 E_p |grad log p|^2 for ISM (so that ISM + constant
lines up with the Fisher divergence in the loss plot), None for the other objectives.
"""

from __future__ import annotations

import torch


class Objective:
    name: str = ""
    label: str = ""
    needs_true_score: bool = False

    def losses(self, model, x: torch.Tensor) -> torch.Tensor:
        """Per-sample loss terms, (n,)."""
        raise NotImplementedError

    def loss(self, model, x: torch.Tensor) -> torch.Tensor:
        return self.losses(model, x).mean()

    def ism_constant(self, density, samples: torch.Tensor) -> float | None:
        return None

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


from .ddpm import DDPMObjective  # noqa: E402
from .dsm import DSM  # noqa: E402
from .esm import ESM  # noqa: E402
from .ism import ISM  # noqa: E402
from .ncsn import NCSN  # noqa: E402
from .sliced import SSM, SSMVR, sample_projections  # noqa: E402

KINDS = ("esm", "ism", "ssm", "ssm_vr", "dsm", "ncsn", "ddpm")


def build_objective(preset, density=None) -> Objective:
    """The objective preset.objective asks for. `density` is needed by ESM (its exact score)."""
    o = preset.objective
    kind = o.get("kind", "ssm_vr")
    if kind == "esm":
        if density is None:
            raise ValueError("ESM needs the density (its exact score)")
        return ESM(density)
    if kind == "ism":
        return ISM()
    if kind in ("ssm", "ssm_vr"):
        cls = SSM if kind == "ssm" else SSMVR
        return cls(projections=o.get("projections", 1), projection=o.get("projection", "rademacher"))
    if kind == "dsm":
        return DSM(sigma=o.get("sigma", 0.1))
    if kind == "ncsn":
        if o.get("sigma_max") is None or o.get("sigma_min") is None:
            raise ValueError("NCSN needs objective.sigma_max and objective.sigma_min")
        return NCSN(o["sigma_max"], o["sigma_min"], o.get("levels", 10))
    if kind == "ddpm":
        return DDPMObjective(o.get("timesteps", 1000), o.get("beta_min", 1e-4), o.get("beta_max", 0.02))
    raise ValueError(f"unknown objective kind {kind!r} (known: {', '.join(KINDS)})")


def short_label(kind: str) -> str:
    """`ssm_vr` -> `SSM-VR`: an objective kind as the papers write it (the first word of
    its class's label); an unknown kind as given."""
    for cls in (ESM, ISM, SSM, SSMVR, DSM, NCSN, DDPMObjective):
        if cls.name == kind:
            return cls.label.split()[0]
    return str(kind)


__all__ = ["Objective", "build_objective", "short_label", "fisher_constant", "sample_projections", "KINDS",
           "ESM", "ISM", "SSM", "SSMVR", "DSM", "NCSN", "DDPMObjective"]
