"""Hutchinson's estimate of the ODE log-likelihood with k probes, and its standard error.

The probability-flow ODE's likelihood needs int div f~ dt, whose trace term tr(ds/dx) costs d
backward passes exactly. Hutchinson's estimator replaces it by eps^T (ds/dx) eps with
E[eps eps^T] = I (Gaussian N(0, I) or Rademacher +-1 probes): one vector-Jacobian product,
whatever d. As score_sde_pytorch's likelihood.py and FFJORD do, each probe is drawn once per
ODE solve and held fixed along the path, so every probe j gives a whole estimate

    l_ij = log p_T(x_T) + int_eps^T [div f(x_t, t) - 1/2 g(t)^2 eps_ij^T (ds/dx) eps_ij] dt

of log p(x_i) (flow matching: log p_t0(x_t0) - int_t0^1 eps^T (dv/dx) eps dt). The path x_t does
not depend on the probes, so E_eps[l_ij] is the exact-trace log p(x_i): k probes are k
unbiased estimates along one solve (a state of n x k accumulated traces).

Standard error of NLL_hutchinson = -mean_ij l_ij / d against the exact-trace NLL on the same
points: with v_i the sample variance of l_i1..l_ik (k >= 2),
    se = sqrt(sum_i v_i / k) / (n d);
with k = 1 there is no per-point spread, and se = sd_i(l_i1) / (sqrt(n) d) (points and probes
together: conservative). Var against k: sum_i v_i / (k n^2 d^2), beside the variance observed
between disjoint groups of k probes.
"""

from __future__ import annotations

import math

import torch

from .likelihood import _drift_divergence

PROBES = ("rademacher", "gaussian")


def draw_probes(x: torch.Tensor, k: int, kind: str, generator=None) -> torch.Tensor:
    """(k, n, d) probes with E[eps eps^T] = I, drawn once for the whole solve."""
    if kind not in PROBES:
        raise ValueError(f"probe must be one of {PROBES}, got {kind!r}")
    if k < 1:
        raise ValueError(f"need at least one probe, got {k}")
    z = torch.randn((k, *x.shape), generator=generator, device=x.device, dtype=x.dtype)
    return z.sign() if kind == "rademacher" else z


def _traces(field, x: torch.Tensor, t: float, probes: torch.Tensor):
    """(field (n, d), eps_j^T (d field/dx) eps_j (n, k)): one forward, k vector-Jacobian products."""
    with torch.enable_grad():
        xg = x.detach().requires_grad_(True)
        s = field(xg, t)
        k = probes.shape[0]
        tr = []
        for j in range(k):
            (vjp,) = torch.autograd.grad((s * probes[j]).sum(), xg, retain_graph=j < k - 1)
            tr.append((vjp * probes[j]).sum(1))
    return s.detach(), torch.stack(tr, 1).detach()


def _solve(field_div, x, k, t_from, t_to, method, rtol, atol):
    from torchdiffeq import odeint
    lo, hi = min(t_from, t_to), max(t_from, t_to)

    def func(t, state):
        return field_div(state[0], min(max(float(t), lo), hi))

    tt = torch.tensor([t_from, t_to], dtype=x.dtype, device=x.device)
    xs, delta = odeint(func, (x, x.new_zeros(x.shape[0], k)), tt, method=method, rtol=rtol, atol=atol)
    return xs[-1], delta[-1]


def sde_log_likelihood_probes(sde, score, x: torch.Tensor, *, probes: int = 4, probe: str = "rademacher",
                              method: str = "dopri5", rtol: float = 1e-5, atol: float = 1e-5,
                              eps: float | None = None, generator=None):
    """(l (n, k): one estimate of log p(x_i) per probe, number of function evaluations)."""
    eps = sde.eps_t if eps is None else float(eps)
    d = x.shape[1]
    P = draw_probes(x, probes, probe, generator)
    nfe = [0]

    def field_div(xt, tf):
        nfe[0] += 1
        s, tr = _traces(score, xt, tf, P)
        drift = sde.reverse_drift(xt, tf, s, ode=True)[0]                  # f - 1/2 g^2 s
        g2 = float(sde.diffusion(torch.tensor([tf], dtype=torch.float64))[0]) ** 2
        return drift, _drift_divergence(sde, tf, d) - 0.5 * g2 * tr       # div f~, per probe

    z, delta = _solve(field_div, x, probes, eps, sde.T, method, rtol, atol)
    return sde.prior_logp(z).unsqueeze(1) + delta, nfe[0]


def flow_log_likelihood_probes(velocity, x: torch.Tensor, *, probes: int = 4, probe: str = "rademacher",
                               method: str = "dopri5", rtol: float = 1e-5, atol: float = 1e-5,
                               t_noise: float = 1e-3, generator=None):
    """Flow matching's (t = 1 data, t = 0 noise) per-probe estimates (n, k), and the NFE."""
    P = draw_probes(x, probes, probe, generator)
    nfe = [0]

    def field_div(xt, tf):
        nfe[0] += 1
        return _traces(velocity, xt, tf, P)                               # (v, eps^T dv/dx eps)

    z, delta = _solve(field_div, x, probes, 1.0, float(t_noise), method, rtol, atol)
    d, sd = x.shape[1], 1.0 - float(t_noise)
    # log N(z; 0, sd^2 I) = -d/2 log(2 pi sd^2) - |z|^2 / (2 sd^2)
    prior = -0.5 * d * math.log(2 * math.pi * sd ** 2) - z.pow(2).sum(1) / (2 * sd ** 2)
    return prior.unsqueeze(1) + delta, nfe[0]


def nll_and_se(l: torch.Tensor, dim: int) -> tuple[float, float]:
    """(NLL_hutchinson, its standard error), nats per dimension, from per-probe estimates (n, k)."""
    l = l.double()
    n, k = l.shape
    nll = float(-l.mean() / dim)
    if k >= 2:
        se = math.sqrt(float(l.var(dim=1, unbiased=True).sum()) / k) / (n * dim)
    else:
        se = float(l[:, 0].std(unbiased=True)) / (math.sqrt(n) * dim) if n > 1 else float("nan")
    return nll, se


def variance_by_k(l: torch.Tensor, dim: int) -> dict:
    """Var of NLL_hutchinson against the number of probes k' = 1, 2, 4, ... <= k:
    `predicted` sum_i v_i / (k' n^2 d^2) from the per-point spread, `observed` the variance of
    the NLL between the k / k' disjoint groups of k' probes (None with fewer than 2 groups)."""
    l = l.double()
    n, k = l.shape
    ks, predicted, observed = [], [], []
    v = float(l.var(dim=1, unbiased=True).sum()) if k >= 2 else None
    kk = 1
    while kk <= k:
        ks.append(kk)
        predicted.append(None if v is None else v / (kk * (n * dim) ** 2))
        groups = k // kk
        if groups >= 2:
            nlls = -l[:, : groups * kk].reshape(n, groups, kk).mean(dim=(0, 2)) / dim
            observed.append(float(nlls.var(unbiased=True)))
        else:
            observed.append(None)
        kk *= 2
    return {"k": ks, "predicted": predicted, "observed": observed}
