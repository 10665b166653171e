"""Training objectives (docs/design.md §3). Each turns a batch x ~ p, (n, d) on the model's
device, into a scalar loss; randomness comes from torch's default generators.

    objective = build_objective(preset, density)
    loss = objective.loss(model, x)          # scalar tensor, no host synchronisation
    objective.losses(model, x)               # the per-sample terms, (n,); loss = losses.mean()

Every objective, built-in or plugin, is a class registered under the entry-point group
`score_explorer.objectives` (core/plugins/registry.py; docs/plugins.md). Its class attributes say
what the rest of the program needs to know: its preset keys (`fields`, schema Fields in the
[objective] table), its words for the window (`title`, `formula`, `assumes`), the model it
trains (`conditioning`: None, "sigma" for a ladder of noise levels sigma_max..sigma_min as
NCSN, "time" for DDPM's steps, "sde" for a continuous time t of a score SDE, "flow" for flow
matching's velocity v(x, t)), the sampler it defaults to and the ones it can be sampled
with. The constructor takes the values of its `fields` as keyword arguments.

`needs_true_score` says whether the loss itself calls density.score (ESM only): the
constructor then also gets `density=`. `ism_constant(density, samples)` is
1/2 E_p |grad log p|^2 for ISM, SSM and SSM-VR (so that loss + constant lines up with the
Fisher divergence in the loss plot), None for the other objectives.
"""

from __future__ import annotations

from .base import Objective, fisher_constant
from .ddpm import DDPMObjective
from .dsm import DSM
from .esm import ESM
from .ism import ISM
from .ncsn import NCSN
from .sliced import SSM, SSMVR, sample_projections


def objective_class(kind: str) -> type[Objective]:
    """The registered class of objective `kind` (ValueError naming the known kinds)."""
    from ..plugins.registry import objectives, unknown_kind_message
    known = objectives()
    if kind not in known:
        raise ValueError(unknown_kind_message("objective", kind, known))
    return known[kind]


def conditioning(preset) -> str | None:
    """The noise conditioning of the model the preset trains: None, "sigma", "time", "sde"
    or "flow"."""
    return objective_class(preset.objective.get("kind", "ssm_vr")).conditioning


CONTINUOUS = ("sde", "flow")    # conditionings on a continuous time t (scores.py: level ("t", t))
_paths: dict = {}


def objective_path(preset):
    """The continuous-time noise path of an "sde" or "flow" objective (an sde.SDE, or flow
    matching's LinearPath): `kernel(t) -> (std, mean coefficient)`, `t_noise`, `t_data`,
    `t_at_std(std)`; None for any other objective. Cached per [objective] table."""
    o = preset.objective
    if objective_class(o.get("kind", "ssm_vr")).conditioning not in CONTINUOUS:
        return None
    key = repr(sorted(o.items()))
    path = _paths.get(key)
    if path is None:
        if len(_paths) > 64:
            _paths.clear()
        path = _paths[key] = build_objective(preset).path
    return path


def build_objective(preset, density=None) -> Objective:
    """The objective preset.objective asks for, built from its own keys. `density` is needed
    by an objective with `needs_true_score` (ESM: its exact score)."""
    o = preset.objective
    cls = objective_class(o.get("kind", "ssm_vr"))
    params = {k: o.get(k, f.default) for k, f in cls.fields.items()}
    if cls.needs_true_score:
        if density is None:
            raise ValueError(f"{short_label(cls.name)} needs the density (its exact score)")
        params["density"] = density
    return cls(**params)


def short_label(kind: str) -> str:
    """`ssm_vr` -> `SSM-VR`: an objective kind as the papers write it (the first word of
    its class's label); an unknown kind as given."""
    from ..plugins.registry import objectives
    cls = objectives().get(kind)
    return cls.label.split()[0] if cls is not None and cls.label else str(kind)


__all__ = ["Objective", "build_objective", "objective_class", "conditioning", "objective_path",
           "CONTINUOUS", "short_label",
           "fisher_constant", "sample_projections", "ESM", "ISM", "SSM", "SSMVR", "DSM", "NCSN",
           "DDPMObjective"]
