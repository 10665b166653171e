"""Mode-weight error against score evaluations for the few-step samplers on the exact score
(docs/samplers.md's table). Prints a markdown table: for each sampler and step count, the
NFE and max_k |w_k - true w_k| (mean over seeds) on two mixtures, for the objectives given.

    python bench/bench_few_step.py [--particles 20000] [--seeds 3] [--objectives ddpm,ncsn]
"""

from __future__ import annotations

import argparse

import numpy as np
import torch

from explorer.core.densities import build_density
from explorer.core.measures.metrics import mode_weights
from explorer.core.presets.preset import loads
from explorer.core.samplers import build_sampler
from explorer.core.scores import TrueScore

MIXTURES = {
    "docs/design.md §20/80": 'weights = [0.2, 0.8]\nmeans = [[-5.0, -5.0], [5.0, 5.0]]\nstds = [1.0, 1.0]',
    "3 modes": 'weights = [0.2, 0.5, 0.3]\nmeans = [[-5.0, -5.0], [5.0, 5.0], [4.0, -4.0]]\n'
               'stds = [1.0, 0.7, 1.3]',
}
PLAN = {"heun": (5, 10, 18, 30), "dpm_solver": (5, 10, 20), "ddim": (10, 20, 50, 100)}


def error(mix: str, objective: str, kind: str, steps: int, particles: int, seed: int):
    p = loads(f'[density]\nkind = "mixture"\n{MIXTURES[mix]}\nbounds = [[-8.0, 8.0], [-8.0, 8.0]]\n'
              f'[objective]\nkind = "{objective}"\n[training]\nsteps = 0\n[sampler]\nkind = "{kind}"\n'
              f'score = "true"\nsteps = {steps}\nparticles = {particles}\nseed = {seed}\n')
    d = build_density(p.density)
    s = build_sampler(p, TrueScore(d, p), "cpu")
    s.run()
    w = np.asarray(mode_weights(s.numpy(), d.components()))
    return s.nfe, float(np.abs(w - d.components()[0]).max())


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--particles", type=int, default=20000)
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--objectives", default="ddpm,ncsn")
    a = ap.parse_args()
    torch.set_num_threads(1)
    objectives = a.objectives.split(",")
    cols = [f"{m} ({o})" for m in MIXTURES for o in objectives]
    print("| sampler | steps | NFE | " + " | ".join(cols) + " |")
    print("|---|---|---|" + "---|" * len(cols))
    for kind, steps_list in PLAN.items():
        for steps in steps_list:
            cells, nfe = [], None
            for mix in MIXTURES:
                for o in objectives:
                    errs = []
                    for seed in range(a.seeds):
                        nfe, e = error(mix, o, kind, steps, a.particles, seed)
                        errs.append(e)
                    cells.append(f"{np.mean(errs):.4f} ± {np.std(errs, ddof=1) if len(errs) > 1 else 0:.4f}")
            print(f"| {kind} | {steps} | {nfe} | " + " | ".join(cells) + " |", flush=True)


if __name__ == "__main__":
    main()
