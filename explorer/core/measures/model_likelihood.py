"""The likelihood a score SDE or flow-matching model assigns, by its ODE (core/measures/likelihood.py),
for a preset: the average negative log-likelihood on test samples (`nll` in metrics.json,
beside the density's own `nll_true` where its log p is normalised) and log p on a coarse
grid (field.npz, and the window's likelihood map beside the true log p).

Why here: likelihood.py integrates an ODE given a score; this module picks the score the
preset's objective stands for (the SDE's s(x, t), or flow matching's velocity), learned or
exact, and keeps the cost bounded: test samples and grid sizes are small, float64 state with
a float32 network, the exact trace for d <= 3 unless the preset asks for Hutchinson's.
"""

from __future__ import annotations

import contextlib

import numpy as np
import torch

from .grid import grid_points
from .likelihood import flow_log_likelihood, nll_per_dim, ode_log_likelihood
from ..objectives import CONTINUOUS, conditioning, objective_path
from ..scores import TrueScore

GRID = {1: 128, 2: 24, 3: 10}    # points per axis of the likelihood map (each one an ODE solve)
RTOL = ATOL = 1e-5               # the reference code's likelihood tolerances


def available(preset) -> bool:
    """Whether the preset's model has an ODE likelihood (an sde or flow_matching objective)."""
    return conditioning(preset) in CONTINUOUS


class _Learned:
    """model(x, t) on float64 state: the network computes in its own dtype; `jacobian` by the
    model's forward-mode pass (the exact trace without a double backward). Why not scores.py's
    LearnedScore: that evaluates without autograd, for samplers; the trace here differentiates
    through the network (Hutchinson's estimate, the autograd trace), and for flow matching it
    is the velocity itself, with its Jacobian, that the ODE needs."""

    def __init__(self, model):
        self.model = model
        self.dtype = next(model.parameters()).dtype
        self.device = next(model.parameters()).device

    def __call__(self, x, t):
        # differentiable in x: Hutchinson's estimate and the autograd trace go through it
        return self.model(x.to(self.device, self.dtype), float(t)).to(x)

    def jacobian(self, x, t):
        with torch.no_grad():
            s, J = self.model.forward_with_jacobian(x.to(self.device, self.dtype), float(t))
        return s.to(x), J.to(x)


@contextlib.contextmanager
def _evaluating(source):
    """A model in eval mode for the solve, back in training mode after (a density as it is)."""
    was = getattr(source, "training", None)
    if was is not None:
        source.eval()
    try:
        yield
    finally:
        if was:
            source.train()


def _field(preset, source):
    """The callable (x, t) the ODE needs: a score for an SDE, a velocity for flow matching.
    `source`: a trained model, or a density (its exact perturbed score / velocity)."""
    if isinstance(source, torch.nn.Module):
        return _Learned(source)
    exact = TrueScore(source, preset)       # score(x, t) = grad log p_t, exactly
    return exact.velocity if conditioning(preset) == "flow" else exact


def log_likelihood(preset, source, x: np.ndarray | torch.Tensor, trace: str | None = None,
                   seed: int = 0) -> tuple[np.ndarray, int]:
    """(log p(x) by the ODE (n,), function evaluations) of a model or of a density's exact
    score (with which it is the density's own log p, up to the solver's tolerance)."""
    x = torch.as_tensor(np.asarray(x, dtype=np.float64))
    trace = trace or trace_kind(preset)
    g = torch.Generator().manual_seed(int(seed))
    field = _field(preset, source)
    with _evaluating(source):
        if conditioning(preset) == "flow":
            logp, _, nfe = flow_log_likelihood(field, x, trace=trace, rtol=RTOL, atol=ATOL, generator=g)
        else:
            logp, _, nfe = ode_log_likelihood(objective_path(preset), field, x, trace=trace,
                                              rtol=RTOL, atol=ATOL, generator=g)
    return logp.detach().numpy(), nfe


def hutchinson_log_likelihood(preset, source, x, probes: int | None = None, probe: str | None = None,
                              seed: int = 0) -> tuple[np.ndarray, int]:
    """(per-probe estimates of log p(x) (n, k), function evaluations): Hutchinson's trace with
    k probes held fixed along one ODE solve (core/measures/hutchinson.py)."""
    from .hutchinson import flow_log_likelihood_probes, sde_log_likelihood_probes
    o = preset.objective
    k = int(probes if probes is not None else o.get("hutchinson_probes", 4))
    kind = probe or o.get("hutchinson_probe", "rademacher")
    x = torch.as_tensor(np.asarray(x, dtype=np.float64))
    g = torch.Generator().manual_seed(int(seed))
    field = _field(preset, source)
    with _evaluating(source):
        if conditioning(preset) == "flow":
            l, nfe = flow_log_likelihood_probes(field, x, probes=k, probe=kind, rtol=RTOL, atol=ATOL,
                                                generator=g)
        else:
            l, nfe = sde_log_likelihood_probes(objective_path(preset), field, x, probes=k, probe=kind,
                                               rtol=RTOL, atol=ATOL, generator=g)
    return l.detach().numpy(), nfe


def hutchinson_metrics(preset, model, x: torch.Tensor, seed: int) -> dict:
    """nll_hutchinson and its standard error (nats per dimension) on the test points x, with
    the variance against the number of probes; {} when objective.hutchinson_probes is 0."""
    from .hutchinson import nll_and_se, variance_by_k
    k = int(preset.objective.get("hutchinson_probes", 4))
    if k == 0:
        return {}
    l, nfe = hutchinson_log_likelihood(preset, model, x, probes=k, seed=seed + 7)
    lt = torch.from_numpy(l)
    nll, se = nll_and_se(lt, preset.dim)
    return {"nll_hutchinson": nll, "nll_hutchinson_se": se, "nll_hutchinson_probes": k,
            "nll_hutchinson_probe": preset.objective.get("hutchinson_probe", "rademacher"),
            "nll_hutchinson_function_evaluations": nfe,
            "nll_hutchinson_variance_by_k": variance_by_k(lt, preset.dim)}


def trace_kind(preset) -> str:
    o = preset.objective
    kind = o.get("likelihood_trace", "auto")
    if kind == "auto":
        return "exact" if preset.dim <= 3 else "hutchinson"
    return kind


def nll_metrics(preset, model, density, device="cpu") -> dict:
    """nll (nats per dimension, the model's, by the ODE) on `objective.likelihood_samples`
    test samples of the density, and nll_true, the density's own on the same samples where
    its log p is normalised (None otherwise)."""
    n = int(preset.objective.get("likelihood_samples", 500))
    if n == 0 or not available(preset):
        return {}
    g = torch.Generator(device=device).manual_seed(int(preset.training["seed"]) + 3)
    x = density.sample(n, g).detach().cpu().double()
    logp, nfe = log_likelihood(preset, model, x, seed=int(preset.training["seed"]))
    d = preset.dim
    out = {"nll": nll_per_dim(torch.from_numpy(logp), d), "nll_trace": trace_kind(preset),
           "nll_samples": n, "nll_function_evaluations": nfe}
    out.update(hutchinson_metrics(preset, model, x, int(preset.training["seed"])))
    if getattr(density, "log_prob_normalised", False):
        with torch.no_grad():
            out["nll_true"] = nll_per_dim(density.log_prob(x).double(), d)
    else:
        out["nll_true"] = None
    return out


def likelihood_grid(preset, model, density, n: int | None = None):
    """(points (G, d), learned log p by the ODE (G,), true log p (G,)) on a coarse grid over the
    bounds; the true one normalised on the grid where the density's own is not."""
    n = int(n or GRID[preset.dim])
    pts = grid_points(preset.density["bounds"], n)
    learned, _ = log_likelihood(preset, model, pts, seed=int(preset.training["seed"]))
    x = torch.from_numpy(np.ascontiguousarray(pts, dtype=np.float64))
    with torch.no_grad():
        true = density.log_prob(x).double().numpy()
    if not getattr(density, "log_prob_normalised", False):
        from .learned_density import grid_spacing, normalise_log
        true = normalise_log(true, float(np.prod(grid_spacing(preset.density["bounds"], n))))
    return pts, learned, true
