"""Figures for issue 13 (run: PYTHONPATH=. python bench/bench_sde.py [--rounds 5]).

1. Probability-flow ODE sampling, 10,000 particles in 2-D on the exact score (VP, dopri5,
   rtol = atol = 1e-5): the registered `ode` sampler against torchdiffeq.odeint on a plain function
   computing the same drift with the mixture's score written inline. Time and evaluations.
2. Exact-trace likelihood of 10,000 points: ode_log_likelihood against odeint on a plain
   augmented function (autograd loop over the 2 coordinates).
3. SDE training step (VP, sigma2 weighting, MLP 2-128-128-2 softplus, batch 512, Adam):
   SDEObjective + ScoreModel against the same loss written in plain PyTorch (nn.Sequential).
A/B rounds alternate; medians are quoted, and each ratio is the median of the rounds' own
ratios (A and B back to back, so a busy spell on the shared machine slows both).
"""

from __future__ import annotations

import argparse
import math
import statistics
import time

import torch
from torch import nn
from torchdiffeq import odeint

from explorer.core.densities.gaussian import GaussianMixture
from explorer.core.measures.likelihood import ode_log_likelihood
from explorer.core.models import ScoreModel
from explorer.core.objectives.sde import SDEObjective
from explorer.core.noise.sde import make_sde
from explorer.core.presets import preset as P
from explorer.core.samplers import build_sampler
from explorer.core.scores import TrueScore

W = [0.3, 0.7]
MU = [[-3.0, -1.0], [3.0, 1.5]]
VAR = [1.0, 0.7]                       # isotropic covariances
DENSITY = GaussianMixture(W, MU, [[[v, 0.0], [0.0, v]] for v in VAR])
B0, B1 = 0.1, 20.0


# --- plain reference: VP drift with the mixture's perturbed score written inline --------------
def plain_score(x, t):
    lmc = -0.25 * t ** 2 * (B1 - B0) - 0.5 * t * B0
    a, s2 = math.exp(lmc), 1 - math.exp(2 * lmc)
    mu = torch.tensor(MU, dtype=x.dtype) * a
    var = torch.tensor(VAR, dtype=x.dtype) * a * a + s2
    diff = x[:, None, :] - mu[None]                                   # (n, K, d)
    logc = (torch.tensor(W, dtype=x.dtype).log() - diff.pow(2).sum(-1) / (2 * var)
            - x.shape[1] / 2 * torch.log(2 * math.pi * var))
    r = torch.softmax(logc, 1)
    return -(r[..., None] * diff / var[None, :, None]).sum(1)


def plain_drift(t, x):
    t = min(max(float(t), 1e-3), 1.0)
    beta = B0 + t * (B1 - B0)
    return -0.5 * beta * x - 0.5 * beta * plain_score(x, t)


def plain_sample(x0):
    nfe = [0]

    def f(t, x):
        nfe[0] += 1
        return plain_drift(t, x.float()).double()
    odeint(f, x0.double(), torch.tensor([1.0, 1e-3], dtype=torch.float64), rtol=1e-5, atol=1e-5)
    return nfe[0]


def plain_likelihood(x):
    nfe = [0]

    def f(t, state):
        nfe[0] += 1
        xt, _ = state
        t = min(max(float(t), 1e-5), 1.0)
        beta = B0 + t * (B1 - B0)
        with torch.enable_grad():
            xg = xt.detach().requires_grad_(True)
            s = plain_score(xg, t)
            tr = sum(torch.autograd.grad(s[:, i].sum(), xg, retain_graph=True)[0][:, i] for i in range(2))
        return (-0.5 * beta * xt - 0.5 * beta * s.detach(), -0.5 * beta * 2 - 0.5 * beta * tr.detach())
    odeint(f, (x, x.new_zeros(x.shape[0])), torch.tensor([1e-5, 1.0], dtype=x.dtype), rtol=1e-5, atol=1e-5)
    return nfe[0]


def timed(fn):
    t0 = time.perf_counter()
    out = fn()
    return time.perf_counter() - t0, out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--train-steps", type=int, default=50)
    args = ap.parse_args()
    torch.set_num_threads(1)
    sde = make_sde("vp", beta_min=B0, beta_max=B1)
    score = TrueScore(DENSITY, path=sde)
    preset = P.parse({"name": "bench", "training": {"steps": 0},
                      "objective": {"kind": "sde", "sde": "vp", "beta_min": B0, "beta_max": B1},
                      "density": {"kind": "mixture", "weights": W, "means": MU,
                                  "covariances": DENSITY.covariances.tolist()},
                      "sampler": {"kind": "ode", "score": "true", "particles": 10_000, "steps": 1,
                                  "method": "dopri5", "rtol": 1e-5, "atol": 1e-5}})
    x0 = sde.prior_sampling((10_000, 2), generator=torch.Generator().manual_seed(0))
    data = DENSITY.sample(10_000, torch.Generator().manual_seed(1)).double()

    res = {k: [] for k in ("ours_ode", "plain_ode", "ours_ll", "plain_ll", "ours_train", "plain_train")}
    nfe = {}

    # training setup, same init for both
    obj = SDEObjective(sde="vp")
    ours = ScoreModel(2, hidden=[128, 128], conditioning="sde", sde=obj.sde.config())
    plain = nn.Sequential(nn.Linear(3, 128), nn.Softplus(), nn.Linear(128, 128), nn.Softplus(),
                          nn.Linear(128, 2))
    plain.load_state_dict({k.replace("layers.", "").replace("1.", "2.", 1) if k.startswith("layers.1")
                           else k.replace("layers.", "").replace("2.", "4.", 1) if k.startswith("layers.2")
                           else k.replace("layers.", ""): v for k, v in ours.state_dict().items()})
    opt_a = torch.optim.Adam(ours.parameters(), lr=1e-3)
    opt_b = torch.optim.Adam(plain.parameters(), lr=1e-3)
    batches = [DENSITY.sample(512, torch.Generator().manual_seed(i)) for i in range(args.train_steps)]

    def train_ours():
        for x in batches:
            loss = obj.loss(ours, x)
            opt_a.zero_grad(set_to_none=True)
            loss.backward()
            opt_a.step()

    def train_plain():
        for x in batches:
            t = torch.rand(x.shape[0]) * (1 - 1e-5) + 1e-5
            z = torch.randn_like(x)
            lmc = -0.25 * t ** 2 * (B1 - B0) - 0.5 * t * B0
            std = torch.sqrt(1 - torch.exp(2 * lmc))[:, None]
            xt = torch.exp(lmc)[:, None] * x + std * z
            s = plain(torch.cat([xt, t[:, None]], 1)) / std
            loss = (s * std + z).pow(2).sum(1).mean()
            opt_b.zero_grad(set_to_none=True)
            loss.backward()
            opt_b.step()

    for r in range(args.rounds):
        order = [("ours", "plain"), ("plain", "ours")][r % 2]
        for who in order:
            if who == "ours":
                s = build_sampler(preset, TrueScore(DENSITY, preset), "cpu")
                s.x = x0.clone()
                dt, _ = timed(s.run)
                res["ours_ode"].append(dt)
                nfe["ours_ode"] = s.nfe
                dt, (_, _, n) = timed(lambda: ode_log_likelihood(sde, score, data))
                res["ours_ll"].append(dt)
                nfe["ours_ll"] = n
                res["ours_train"].append(timed(train_ours)[0] / args.train_steps)
            else:
                dt, n = timed(lambda: plain_sample(x0.clone()))
                res["plain_ode"].append(dt)
                nfe["plain_ode"] = n
                dt, n = timed(lambda: plain_likelihood(data))
                res["plain_ll"].append(dt)
                nfe["plain_ll"] = n
                res["plain_train"].append(timed(train_plain)[0] / args.train_steps)

    med = {k: statistics.median(v) for k, v in res.items()}

    def ratio(what):      # the median of the rounds' own ratios (A and B taken back to back)
        return statistics.median(a / b for a, b in zip(res["ours_" + what], res["plain_" + what]))
    print(f"torch {torch.__version__}, 1 thread, {args.rounds} alternating A/B rounds, medians")
    per_eval = ratio("ode") * nfe["plain_ode"] / nfe["ours_ode"]
    print(f"PF-ODE sampling, 10,000 x 2-D, exact score, dopri5 1e-5: ours {med['ours_ode']:.3f} s "
          f"({nfe['ours_ode']} evals)  plain odeint {med['plain_ode']:.3f} s ({nfe['plain_ode']} evals)  "
          f"ratio {ratio('ode'):.2f}x (per evaluation {per_eval:.2f}x)")
    print(f"exact-trace likelihood, 10,000 x 2-D: ours {med['ours_ll']:.3f} s ({nfe['ours_ll']} evals)  "
          f"plain odeint {med['plain_ll']:.3f} s ({nfe['plain_ll']} evals)  ratio {ratio('ll'):.2f}x")
    print(f"SDE training step (VP, batch 512, MLP 128x128): ours {1e3 * med['ours_train']:.2f} ms  "
          f"plain PyTorch {1e3 * med['plain_train']:.2f} ms  ratio "
          f"{ratio('train'):.2f}x (target <= 1.1x)")

if __name__ == "__main__":
    main()
