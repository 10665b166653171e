"""Exact log-likelihood along the probability-flow ODE (Song et al. 2021, appendix D.2; the
reference code's likelihood.py), by the instantaneous change of variables (Chen et al. 2018):

    dx/dt = f~(x, t) = f(x, t) - 1/2 g(t)^2 s(x, t)
    d log p_t(x_t)/dt = -div f~(x_t, t)
    => log p_eps(x) = log p_T(x_T) + int_eps^T div f~(x_t, t) dt,   x_eps = x.

div f~ = div f - 1/2 g^2 tr(d s / d x), with div f = 0 (VE) or -1/2 beta(t) d (VP, sub-VP).
The trace is exact (d <= 3: the score's Jacobian from `score.jacobian(x, t)` when it has one,
a ScoreModel's forward-mode Jacobian; else an autograd loop over the d coordinates) or the
Hutchinson estimate eps^T J eps with one Rademacher/Gaussian eps per solve, as the reference.
Why: with the exact score this reproduces log p itself, which tests the whole chain; with a
learned score it is the model's likelihood (nll in nats per dimension).
"""

from __future__ import annotations

import torch

from .sde import SDE, VESDE


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


def ode_log_likelihood(sde: SDE, score, x: torch.Tensor, *, trace: str = "exact",
                       probe: str = "rademacher", method: str = "dopri5", rtol: float = 1e-5,
                       atol: float = 1e-5, eps: float | None = None, generator=None):
    """(log p(x) (n,), x_T (n, d), number of function evaluations)."""
    from torchdiffeq import odeint
    if trace not in ("exact", "hutchinson"):
        raise ValueError(f"trace must be 'exact' or 'hutchinson', got {trace!r}")
    eps = sde.eps_t if eps is None else float(eps)
    n, d = x.shape
    z_probe = None
    if trace == "hutchinson":
        z_probe = torch.randn(x.shape, generator=generator, device=x.device, dtype=x.dtype)
        if probe == "rademacher":
            z_probe = z_probe.sign()
    nfe = [0]

    def func(t, state):
        xt, _ = state
        tf = min(max(float(t), eps), sde.T)      # adaptive steps may evaluate past the interval
        nfe[0] += 1
        s, tr = _score_trace(score, xt, tf, trace, z_probe)
        drift = sde.reverse_drift(xt, tf, s, ode=True)[0]            # f - 1/2 g^2 s
        g2 = float(sde.diffusion(torch.tensor([tf], dtype=torch.float64))[0]) ** 2
        div = _drift_divergence(sde, tf, d) - 0.5 * g2 * tr         # div f~
        return drift, div

    tt = torch.tensor([eps, sde.T], dtype=x.dtype, device=x.device)
    state = (x, x.new_zeros(n))
    xs, delta = odeint(func, state, tt, method=method, rtol=rtol, atol=atol)
    z, delta = xs[-1], delta[-1]
    return sde.prior_logp(z) + delta, z, nfe[0]


def nll_per_dim(log_p: torch.Tensor, dim: int) -> float:
    """Average negative log-likelihood in nats per dimension: -mean(log p) / d."""
    return float(-log_p.double().mean() / dim)
