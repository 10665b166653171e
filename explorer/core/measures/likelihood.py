"""Exact log-likelihood along the probability-flow ODE (Song et al. 2021, appendix D.2; the
reference code's likelihood.py), by the instantaneous change of variables (Chen et al. 2018):

    dx/dt = f~(x, t) = f(x, t) - 1/2 g(t)^2 s(x, t)
    d log p_t(x_t)/dt = -div f~(x_t, t)
    => log p_eps(x) = log p_T(x_T) + int_eps^T div f~(x_t, t) dt,   x_eps = x.

div f~ = div f - 1/2 g^2 tr(d s / d x), with div f = 0 (VE) or -1/2 beta(t) d (VP, sub-VP).
The trace is exact (d <= 3: the score's Jacobian from `score.jacobian(x, t)` when it has one,
a ScoreModel's forward-mode Jacobian; else an autograd loop over the d coordinates) or the
Hutchinson estimate eps^T J eps with one Rademacher/Gaussian eps per solve, as the reference.
Flow matching's ODE dx/dt = v(x, t) gives its likelihood the same way (`flow_log_likelihood`).
Why: with the exact score this reproduces log p itself, which tests the whole chain; with a
learned score it is the model's likelihood (nll in nats per dimension).
"""

from __future__ import annotations

import math

import torch

from ..noise.sde import SDE, VESDE


def _drift_divergence(sde: SDE, t: float, d: int) -> float:
    """div_x f(x, t): 0 for VE, -1/2 beta(t) d for VP and sub-VP (f = -1/2 beta x)."""
    if isinstance(sde, VESDE):
        return 0.0
    return -0.5 * sde.beta(t) * d


def _score_trace(score, x: torch.Tensor, t: float, trace: str, probe):
    """(s, tr ds/dx (n,)) exactly or by Hutchinson."""
    if trace == "exact" and hasattr(score, "jacobian"):
        s, J = score.jacobian(x, t)
        return s.detach(), J.diagonal(dim1=1, dim2=2).sum(-1).detach()
    with torch.enable_grad():
        xg = x.detach().requires_grad_(True)
        s = score(xg, t)
        if trace == "exact":
            tr = sum(torch.autograd.grad(s[:, i].sum(), xg, retain_graph=i < x.shape[1] - 1)[0][:, i]
                     for i in range(x.shape[1]))
        else:
            # Hutchinson: tr J ~ eps^T J eps = (J^T eps) . eps
            (vjp,) = torch.autograd.grad((s * probe).sum(), xg)
            tr = (vjp * probe).sum(1)
    return s.detach(), tr.detach()


def _probe(x: torch.Tensor, trace: str, probe: str, generator):
    if trace not in ("exact", "hutchinson"):
        raise ValueError(f"trace must be 'exact' or 'hutchinson', got {trace!r}")
    if trace == "exact":
        return None
    z = torch.randn(x.shape, generator=generator, device=x.device, dtype=x.dtype)
    return z.sign() if probe == "rademacher" else z


def _integrate(field_div, x: torch.Tensor, t_from: float, t_to: float, method: str, rtol: float,
               atol: float):
    """Solve dx/dt = field, d delta/dt = div field from t_from (data) to t_to (noise), with
    field_div(x, t) -> (field, div); (x at t_to, delta at t_to)."""
    from torchdiffeq import odeint
    lo, hi = min(t_from, t_to), max(t_from, t_to)

    def func(t, state):
        xt, _ = state
        tf = min(max(float(t), lo), hi)      # adaptive steps may evaluate past the interval
        return field_div(xt, tf)

    tt = torch.tensor([t_from, t_to], dtype=x.dtype, device=x.device)
    xs, delta = odeint(func, (x, x.new_zeros(x.shape[0])), tt, method=method, rtol=rtol, atol=atol)
    return xs[-1], delta[-1]


def ode_log_likelihood(sde: SDE, score, x: torch.Tensor, *, trace: str = "exact",
                       probe: str = "rademacher", method: str = "dopri5", rtol: float = 1e-5,
                       atol: float = 1e-5, eps: float | None = None, generator=None):
    """(log p(x) (n,), x_T (n, d), number of function evaluations)."""
    eps = sde.eps_t if eps is None else float(eps)
    d = x.shape[1]
    z_probe = _probe(x, trace, probe, generator)
    nfe = [0]

    def field_div(xt, tf):
        nfe[0] += 1
        s, tr = _score_trace(score, xt, tf, trace, z_probe)
        drift = sde.reverse_drift(xt, tf, s, ode=True)[0]            # f - 1/2 g^2 s
        g2 = float(sde.diffusion(torch.tensor([tf], dtype=torch.float64))[0]) ** 2
        div = _drift_divergence(sde, tf, d) - 0.5 * g2 * tr         # div f~
        return drift, div

    z, delta = _integrate(field_div, x, eps, sde.T, method, rtol, atol)
    return sde.prior_logp(z) + delta, z, nfe[0]


FLOW_T_NOISE = 1e-3   # the flow's likelihood ODE stops here: the exact velocity divides by t


def flow_log_likelihood(velocity, x: torch.Tensor, *, trace: str = "exact",
                        probe: str = "rademacher", method: str = "dopri5", rtol: float = 1e-5,
                        atol: float = 1e-5, t_noise: float = FLOW_T_NOISE, generator=None):
    """Flow matching's likelihood (t = 1 data, t = 0 noise): dx/dt = v, d log p_t(x_t)/dt = -div v,
    so log p_1(x) = log p_t0(x_t0) - int_t0^1 div v dt, integrated from 1 down to t0 = t_noise,
    with p_t0 taken as N(0, (1 - t0)^2 I) (exact at t0 = 0; the data's share there is t0 y).
    `velocity(x, t)`, with a `jacobian(x, t)` for the exact trace when it has one.
    (log p(x) (n,), x_t0 (n, d), number of function evaluations)."""
    z_probe = _probe(x, trace, probe, generator)
    nfe = [0]

    def field_div(xt, tf):
        nfe[0] += 1
        return _score_trace(velocity, xt, tf, trace, z_probe)       # (v, tr dv/dx)

    z, delta = _integrate(field_div, x, 1.0, float(t_noise), method, rtol, atol)
    d, sd = x.shape[1], 1.0 - float(t_noise)
    # log N(z; 0, sd^2 I) = -d/2 log(2 pi sd^2) - |z|^2 / (2 sd^2)
    prior = -0.5 * d * math.log(2 * math.pi * sd ** 2) - z.pow(2).sum(1) / (2 * sd ** 2)
    return prior + delta, z, nfe[0]


def nll_per_dim(log_p: torch.Tensor, dim: int) -> float:
    """Average negative log-likelihood in nats per dimension: -mean(log p) / d."""
    return float(-log_p.double().mean() / dim)
