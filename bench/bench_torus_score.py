"""Cost of the torus's perturbed true score: the previous quadrature (A) against the current (B).

    python bench/bench_torus_score.py [--points 2000] [--pairs 15] [--threads 1]

The exact score of p_sigma = p * N(0, sigma^2 I) for the torus is a 2-D quadrature per point
(explorer/core/densities/shapes3d.py, Torus._perturbed). A is the implementation before
it was sped up, copied here verbatim in substance (12 x 24 nodes, psi over +-9 / sqrt(kappa),
three logs, masks always applied); B is the density's own method. Each pair times A and B
back to back on the same points, alternating which goes first, so that a busy shared machine
slows both alike; the figure is the median of the per-pair times and of the per-pair ratio.
Also prints both against a 48 x 128-node reference (RMS relative error), so the speed is
not bought with accuracy. Sigmas: the noise levels a sampler or the view slider visits.
"""

from __future__ import annotations

import argparse
import math
import os
import platform
import statistics
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

import torch  # noqa: E402

from explorer.core.densities import build_density  # noqa: E402
from explorer.core.densities.perturbed import midpoints, weighted_mean  # noqa: E402

_EPS2 = 1e-12


def quadrature(d, x, sigma, scale, nq=12, q_half=7.0, npsi=24, psi_std=9.0):
    """The score by the previous implementation's formula and node rule (A; with more nodes,
    the reference)."""
    R, a, w, s, g2 = d.R, d.a, d.w, scale, sigma * sigma
    x = x.double()
    S = torch.sqrt(x[:, 0].square() + x[:, 1].square() + _EPS2)
    Z = x[:, 2]
    tau = sigma / s
    dr, dz = S / s - R, Z / s
    delta = torch.sqrt(dr.square() + dz.square())
    th0 = torch.atan2(dz, dr)
    W = w * w + tau * tau
    m = (a * tau * tau + delta * w * w) / W
    tq = w * tau / math.sqrt(W)
    u, hq = midpoints(nq, q_half, x.device)
    q = (m.unsqueeze(1) + tq * u).unsqueeze(2)
    kappa = delta[:, None, None] * q.clamp(min=0) / (tau * tau)
    psimax = torch.clamp(psi_std / torch.sqrt(kappa.clamp(min=1e-300)), max=math.pi)
    v, hv = midpoints(npsi, 1.0, x.device)
    psi = psimax * v
    th = th0[:, None, None] + psi
    rho = R + q * torch.cos(th)
    zz = q * torch.sin(th)
    ok = (q > 0) & (rho > 0)
    qs, rs = torch.where(ok, q, torch.ones_like(q)), torch.where(ok, rho, torch.ones_like(rho))
    t = (s / g2) * S[:, None, None] * rs
    i0 = torch.special.i0e(t)
    logw = (-0.5 * u.square()[None, :, None] + torch.log(qs) + torch.log(rs)
            + torch.log(i0) - 2 * kappa * torch.sin(0.5 * psi).square()
            + torch.log(psimax * hv))
    logw = torch.where(ok, logw, torch.full_like(logw, -math.inf))
    mS, mZ = weighted_mean(logw, (s * rs * (torch.special.i1e(t) / i0) - S[:, None, None]) / g2,
                           (s * zz - Z[:, None, None]) / g2)
    return torch.stack([mS * x[:, 0] / S, mS * x[:, 1] / S, mZ], 1)


def rms_rel(est, ref) -> float:
    est, ref = est.double(), ref.double()
    return float((est - ref).square().sum(1).mean().sqrt() / ref.square().sum(1).mean().sqrt())


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--points", type=int, default=2000)
    ap.add_argument("--pairs", type=int, default=15)
    ap.add_argument("--threads", type=int, default=1, help="torch threads (1: as the trainers run)")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    d = build_density({"kind": "torus"})
    g = torch.Generator().manual_seed(0)
    print(f"torus R={d.R:g} a={d.a:g} w={d.w:g}; {args.points} points; {args.pairs} A/B pairs; "
          f"torch {torch.__version__}, {args.threads} thread(s); {platform.processor() or platform.machine()}, "
          f"{os.cpu_count()} CPUs")
    print(f"{'sigma':>6} {'scale':>5} | {'A ms':>7} {'B ms':>7} {'A/B':>5} | {'err A':>8} {'err B':>8}")
    ratios = []
    for sigma, scale in [(0.01, 1.0), (0.05, 1.0), (0.3, 1.0), (0.5, 0.9), (1.0, 1.0), (3.0, 1.0)]:
        half = args.points // 2   # half on the perturbed law, half uniform in the box (the view grid)
        y = d.sample(half, g).double()
        xp = scale * y + sigma * torch.randn(half, 3, generator=g, dtype=torch.float64)
        box = torch.as_tensor(d.bounds, dtype=torch.float64)
        xb = box[:, 0] + (box[:, 1] - box[:, 0]) * torch.rand(args.points - half, 3, generator=g,
                                                              dtype=torch.float64)
        x = torch.cat([xp, xb]).float()
        ta, tb, rs = [], [], []
        for k in range(args.pairs):
            order = ("A", "B") if k % 2 == 0 else ("B", "A")
            times = {}
            for which in order:
                t0 = time.perf_counter()
                if which == "A":
                    quadrature(d, x, sigma, scale)
                else:
                    d.perturbed_score(x, sigma, scale)
                times[which] = time.perf_counter() - t0
            ta.append(times["A"])
            tb.append(times["B"])
            rs.append(times["A"] / times["B"])
        ref = quadrature(d, x, sigma, scale, nq=48, q_half=8.5, npsi=128, psi_std=12.0)
        ea = rms_rel(quadrature(d, x, sigma, scale), ref)
        eb = rms_rel(d.perturbed_score(x, sigma, scale), ref)
        r = statistics.median(rs)
        ratios.append(r)
        print(f"{sigma:6g} {scale:5g} | {1e3 * statistics.median(ta):7.1f} {1e3 * statistics.median(tb):7.1f} "
              f"{r:5.2f} | {ea:8.1e} {eb:8.1e}")
    print(f"median speed-up over the sigmas: {statistics.median(ratios):.2f}x")


if __name__ == "__main__":
    main()
