"""Quadrature for the perturbed laws of the shapes without a closed form.

The law of  x = scale * y + sigma * z  (y ~ p, z ~ N(0, I)) has density

    p_sigma(x) = int p(y) N(x; scale y, sigma^2 I) dy,

and its score is the posterior mean  E[(scale y - x) / sigma^2 | x]. A Monte-Carlo sum over
a few thousand samples of p is only right when sigma is large against their spacing (in
3-D that spacing, ~0.4, exceeds the width of a thin shell), so each shape instead reduces
this integral to one or two dimensions with its own structure (the Gaussian directions are
integrated in closed form, symmetric directions by a Bessel-type average) and integrates
the rest with the midpoint rule on nodes centred on, and scaled to, the posterior of the
remaining latent variable. A midpoint rule on a Gaussian-weighted analytic integrand is
spectrally accurate, so a fixed number of nodes gives ~1e-6 relative error at every sigma:
the nodes shrink with sigma instead of the estimate falling back to the clean score.

Everything here is float64: the posterior means are differences of nearly equal numbers
divided by sigma^2, which float32 cannot resolve at small sigma.
"""

from __future__ import annotations

import math

import torch

# (rows of x) * (quadrature nodes) per chunk: each float64 temporary stays near 16 MB.
CHUNK_ELEMS = 2_000_000
# Below sigma / scale = TINY * (the shape's finest length) the perturbed score equals the
# clean one to a relative (sigma / scale / length)^2 < 1e-12, and float64 cancellation in
# the quadrature would be the larger error: there the clean score is returned.
TINY = 1e-6


def midpoints(k: int, half: float, device) -> tuple[torch.Tensor, float]:
    """k midpoint nodes on [-half, half] and their spacing (float64)."""
    h = 2.0 * half / k
    u = -half + h * (torch.arange(k, dtype=torch.float64, device=device) + 0.5)
    return u, h


def chunked(x: torch.Tensor, nodes: int, fn) -> torch.Tensor:
    """fn over row blocks of x so that (rows x nodes) stays within CHUNK_ELEMS."""
    rows = max(1, CHUNK_ELEMS // max(nodes, 1))
    if x.shape[0] <= rows:
        return fn(x)
    return torch.cat([fn(xb) for xb in torch.split(x, rows)])


def weighted_mean(logw: torch.Tensor, *values: torch.Tensor) -> list[torch.Tensor]:
    """Self-normalised means sum_k w_k v_k / sum_k w_k over the last dimension."""
    w = torch.softmax(logw.flatten(1), dim=1).view_as(logw)
    dims = tuple(range(1, logw.dim()))
    return [(w * v).sum(dims) for v in values]


def log_sphere_avg(t: torch.Tensor, d: int) -> torch.Tensor:
    """log of the average over the unit sphere S^(d-1) of exp(-t (1 - cos angle)), t >= 0.

    d = 3: (1 - e^(-2t)) / (2t);  d = 2: e^(-t) I0(t).  (exp(-|x - r u|^2 / 2 s^2) averaged
    over directions u is exp(-(|x| - r)^2 / 2 s^2) times this, with t = r |x| / s^2.)
    """
    if d == 2:
        return torch.log(torch.special.i0e(t))
    small = t < 1e-8
    ts = torch.where(small, torch.ones_like(t), t)
    return torch.where(small, -t, torch.log(-torch.expm1(-2 * ts)) - torch.log(2 * ts))


def dlog_sphere_avg(t: torch.Tensor, d: int) -> torch.Tensor:
    """d/dt of `log_sphere_avg`:  coth t - 1 - 1/t  (d = 3),  I1(t)/I0(t) - 1  (d = 2)."""
    if d == 2:
        return torch.special.i1e(t) / torch.special.i0e(t) - 1.0
    small = t < 1e-2
    ts = torch.where(small, torch.ones_like(t), t)
    # coth t - 1 = 2 / (e^(2t) - 1); the series -1 + t/3 - t^3/45 avoids 1/t - 1/t cancelling
    return torch.where(small, -1.0 + t / 3 - t ** 3 / 45, 2.0 / torch.expm1(2 * ts) - 1.0 / ts)


def bessel_ratio(t: torch.Tensor) -> torch.Tensor:
    """I1(t) / I0(t) for t >= 0: the mean cosine of the von Mises law of concentration t."""
    return torch.special.i1e(t) / torch.special.i0e(t)


BESSEL_SERIES_FROM = 30.0   # t above which log_i0e_ratio uses the asymptotic series


def log_i0e_ratio(t: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(log i0e(t), I1(t) / I0(t)) for t >= 0, float64.

    torch's i0e and i1e cost ~40 ns an element on a CPU (they were half the torus score's
    time). For t >= BESSEL_SERIES_FROM the asymptotic series in r = 1/t,
        I1/I0 = 1 - r/2 - r^2/8 - r^3/8 - 25 r^4/128 - 13 r^5/32 - 1073 r^6/1024,
        log i0e = -log(2 pi t)/2 + r/8 + r^2/16 + 25 r^3/384 + 13 r^4/128 + 1073 r^5/5120
    (the second is the integral of the first minus 1), is a few multiply-adds and within
    2e-10 of both there (tests/test_perturbed_score.py); below it, torch's functions, on
    those elements only (on all of them when they are most)."""
    t = t.double() if t.dtype != torch.float64 else t
    low = t < BESSEL_SERIES_FROM
    if float(low.sum()) > 0.5 * low.numel():   # mostly small t (large sigma): the series
        i0 = torch.special.i0e(t)              # and the scatter would only add work
        return torch.log(i0), torch.special.i1e(t) / i0
    tb = t.clamp(min=BESSEL_SERIES_FROM)
    r = 1.0 / tb
    ratio = 1.0 - r * (0.5 + r * (0.125 + r * (0.125 + r * (25 / 128 + r * (13 / 32 + r * (1073 / 1024))))))
    logi0 = -0.5 * torch.log((2 * math.pi) * tb) + r * (
        0.125 + r * (0.0625 + r * (25 / 384 + r * (13 / 128 + r * (1073 / 5120)))))
    if bool(low.any()):
        tl = t[low]
        i0 = torch.special.i0e(tl)
        logi0[low] = torch.log(i0)
        ratio[low] = torch.special.i1e(tl) / i0
    return logi0, ratio
