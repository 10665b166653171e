"""The network a preset trains: its model keys, its dimension and the conditioning its
objective declares. Here, beside the objectives, because it asks them (models.py knows
networks, not objectives)."""

from __future__ import annotations

from ..models import OUTPUT_KIND, ScoreModel
from . import conditioning as objective_conditioning
from . import objective_path


def build_model(preset) -> ScoreModel:
    """The model a preset asks for: preset.model (kind, hidden, activation, the recipe's
    preconditioning, sigma_data and noise_embedding), preset.dim, and the conditioning the
    objective declares (NCSN: sigma, DDPM: time, score SDE: sde, flow: flow)."""
    m = preset.model
    o = preset.objective
    conditioning = objective_conditioning(preset)
    sde = None
    if conditioning == "sde":   # s(x, t) = net(x, t) / std(t): the model carries its SDE
        sde = objective_path(preset).config()
    precond = m.get("preconditioning", "none") if conditioning in OUTPUT_KIND else "none"
    return ScoreModel(dim=preset.dim, hidden=m.get("hidden", [128, 128]),
                      activation=m.get("activation", "softplus"),
                      parameterisation=m.get("kind", "score"), conditioning=conditioning,
                      timesteps=o.get("timesteps", 1000) if conditioning == "time" else None,
                      sde=sde, preconditioning=precond, sigma_data=m.get("sigma_data"),
                      noise_embedding=m.get("noise_embedding", "linear"),
                      betas=[o.get("beta_min", 1e-4), o.get("beta_max", 0.02)]
                      if conditioning == "time" else None)
