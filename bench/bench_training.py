"""Training-step cost: our objectives against plain PyTorch implementations of the same losses.

Prints, for d = 2 (a headless run of a 2-D mixture preset, the figure users get):
  ISM (exact trace, forward-mode Jacobian)  vs  the per-dimension autograd.grad loop
  SSM, SSM-VR, DSM, NCSN                    vs  the textbook autograd implementation
as step-time ratios (ours / plain; below 1 is faster), and then the table of step time
against dimension d (2, 3, 10, 50, 100) for ISM, SSM, SSM-VR and DSM, which shows the
point of sliced score matching: the exact trace grows with d, the sliced losses do not.

Both sides use the same MLP (d -> 128 -> 128 -> d, softplus), batch 512, Adam, and batches
from the same density; rounds alternate between the two so machine noise hits both.

    python bench/bench_training.py            # full run, a few minutes on 2 cores
    python bench/bench_training.py --quick    # fewer steps
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch
import torch.nn as nn

from explorer.core.presets import preset as P
from explorer.core.densities.base import Density
from explorer.core.run.headless import train_and_sample
from explorer.core.noise.schedules import ncsn_sigmas
from explorer.core.training.trainer import Trainer

BATCH = 512
MIX = {"kind": "mixture", "weights": [0.2, 0.8], "means": [[-5.0, -5.0], [5.0, 5.0]],
       "stds": [1.0, 1.0], "bounds": [[-8.0, 8.0], [-8.0, 8.0]]}


# ----------------------------------------------------------------------------- plain PyTorch
def plain_mlp(d: int, cond: bool = False) -> nn.Module:
    return nn.Sequential(nn.Linear(d + cond, 128), nn.Softplus(), nn.Linear(128, 128), nn.Softplus(),
                         nn.Linear(128, d))


def plain_ism(net, x):
    x = x.requires_grad_(True)
    s = net(x)
    tr = 0.0
    for i in range(x.shape[1]):  # the per-dimension autograd.grad loop
        tr = tr + torch.autograd.grad(s[:, i].sum(), x, create_graph=True)[0][:, i]
    return (0.5 * s.pow(2).sum(1) + tr).mean()


def plain_sliced(vr: bool):
    def loss(net, x):
        x = x.requires_grad_(True)
        v = torch.randint(0, 2, x.shape, dtype=x.dtype) * 2 - 1
        s = net(x)
        sv = (s * v).sum()
        gv = torch.autograd.grad(sv, x, create_graph=True)[0]
        second = 0.5 * s.pow(2).sum(1) if vr else 0.5 * (s * v).sum(1).pow(2)
        return ((gv * v).sum(1) + second).mean()
    return loss


def plain_dsm(sigma: float):
    def loss(net, x):
        z = torch.randn_like(x)
        xt = x + sigma * z
        return 0.5 * (net(xt) + (xt - x) / sigma ** 2).pow(2).sum(1).mean()
    return loss


def plain_ncsn(sigmas: torch.Tensor):
    def loss(net, x):
        idx = torch.randint(0, len(sigmas), (x.shape[0],))
        sig = sigmas[idx][:, None]
        z = torch.randn_like(x)
        xt = x + sig * z
        s = net(torch.cat([xt, sig.log()], 1)) / sig
        return 0.5 * (sig.pow(2) * (s + (xt - x) / sig.pow(2)).pow(2)).sum(1).mean()
    return loss


def plain_steps_per_second(loss_fn, density, d: int, steps: int, cond: bool = False) -> float:
    torch.manual_seed(0)
    net = plain_mlp(d, cond)
    opt = torch.optim.Adam(net.parameters(), lr=1e-3)
    gen = torch.Generator().manual_seed(0)
    t0 = time.perf_counter()
    for _ in range(steps):
        x = density.sample(BATCH, gen)
        loss = loss_fn(net, x)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
    return steps / (time.perf_counter() - t0)


# ----------------------------------------------------------------------------- ours
def preset_for(objective: dict, steps: int) -> P.Preset:
    return P.parse({"density": MIX, "objective": objective,
                    "training": {"steps": steps, "batch_size": BATCH, "device": "cpu"},
                    "sampler": {"kind": "langevin" if objective["kind"] != "ncsn" else
                                "annealed_langevin", "particles": 1, "steps": 1}})


def headless_steps_per_second(objective: dict, steps: int) -> float:
    """A whole headless run (train_and_sample): steps / training seconds from its metrics."""
    # threads=None: torch's own thread count, as the plain implementation it is compared with uses
    return train_and_sample(preset_for(objective, steps), threads=None).metrics["steps_per_second"]


class StandardNormal(Density):
    """N(0, I) in any dimension: the table's density, with d beyond the app's 1-3."""

    kind = "standard_normal"

    def __init__(self, d: int):
        self.dim = d
        super().__init__([[-4.0, 4.0]] * d)

    def sample(self, n, generator):
        return torch.randn(n, self.dim, generator=generator, device=generator.device)

    def log_prob(self, x):
        return -0.5 * x.pow(2).sum(1)

    def score(self, x):
        return -x


def trainer_step_ms(objective: dict, d: int, steps: int) -> float:
    p = preset_for(objective, steps)
    p.density["bounds"] = [[-4.0, 4.0]] * d  # the model's input size follows the bounds
    t = Trainer(p, StandardNormal(d))
    t.step(5)
    t0 = time.perf_counter()
    t.step(steps)
    return 1000 * (time.perf_counter() - t0) / steps


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--rounds", type=int, default=5)
    args = ap.parse_args()
    steps = 100 if args.quick else 300
    rounds = 2 if args.quick else args.rounds
    torch.set_num_threads(torch.get_num_threads())
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, batch {BATCH}, "
          f"MLP 128x128 softplus, CPU\n")

    mixture = P.parse({"density": MIX}).build_density()
    sig = ncsn_sigmas(20.0, 1.0, 10)
    cases = [
        ("ISM (exact trace) vs autograd.grad loop", {"kind": "ism"}, plain_ism, False, 0.8),
        ("SSM", {"kind": "ssm"}, plain_sliced(False), False, 1.1),
        ("SSM-VR", {"kind": "ssm_vr"}, plain_sliced(True), False, 1.1),
        ("DSM (sigma 0.1)", {"kind": "dsm", "sigma": 0.1}, plain_dsm(0.1), False, 1.1),
        ("NCSN", {"kind": "ncsn", "sigma_max": 20.0, "sigma_min": 1.0, "levels": 10},
         plain_ncsn(sig), True, 1.1),
    ]
    print(f"d = 2, whole headless runs of {steps} steps, median of {rounds} alternating rounds")
    print(f"{'objective':42s} {'ours steps/s':>13s} {'plain steps/s':>14s} {'time ratio':>11s}  target")
    for name, obj, plain, cond, target in cases:
        ours, base = [], []
        for _ in range(rounds):
            ours.append(headless_steps_per_second(obj, steps))
            base.append(plain_steps_per_second(plain, mixture, 2, steps, cond))
        o, b = statistics.median(ours), statistics.median(base)
        ratio = b / o  # time ratio = (1/o) / (1/b)
        print(f"{name:42s} {o:13.0f} {b:14.0f} {ratio:11.2f}  <= {target} "
              f"{'ok' if ratio <= target else 'MISSED'}")

    print(f"\nstep time (ms) against dimension d, {steps} steps, N(0, I) in d dimensions")
    dims = (2, 3, 10, 50, 100)
    print(f"{'objective':10s}" + "".join(f"{'d=' + str(d):>9s}" for d in dims))
    for name, obj in (("ISM", {"kind": "ism"}), ("SSM", {"kind": "ssm"}),
                      ("SSM-VR", {"kind": "ssm_vr"}), ("DSM", {"kind": "dsm", "sigma": 0.1})):
        n = steps if name != "ISM" else max(20, steps // 5)
        row = [trainer_step_ms(obj, d, n if not (name == "ISM" and d >= 50) else 20) for d in dims]
        print(f"{name:10s}" + "".join(f"{t:9.2f}" for t in row))
    print(f"{'ISM loop':10s}" + "".join(
        f"{1000 / plain_steps_per_second(plain_ism, StandardNormal(d), d, 20 if d >= 50 else 60):9.2f}"
        for d in dims))


if __name__ == "__main__":
    main()
