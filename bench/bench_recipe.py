"""A/B of the training recipe (core/training/recipe.py, docs/recipe.md) on the issue-23 mixture.

Why: each piece of the recipe (EDM preconditioning with its log-sigma c_noise, a Fourier
embedding of the noise feature, weight EMA, learning-rate warm-up + cosine decay) is adopted
as a default only if it helps; this measures it. Density: weights 0.3/0.7, stds 0.7/1.0,
means (-4, 0), (4, 0). Per objective and recipe variant, over seeds taken in alternation
(seed-major, variants interleaved): mode-weight error |w_small - 0.3|, TV / its noise floor
(sample_quality.sample_metrics: the same figure for exact samples of the same size), NLL
excess in nats/dim where the model has an ODE likelihood, training steps/s.

    python bench/bench_recipe.py [--steps 3000] [--seeds 0 1 2] [--particles 4000]
        [--objectives vp flow] [--variants "old defaults" recipe no-precond ...] [--nll 0]

"recipe" is the derived default of noise-conditional objectives (core/training/recipe.py RECIPE);
no-precond, no-ema, no-warm/cos, lr1e-3, softplus each remove one piece from it; fourier adds
the Fourier noise embedding. Figures taken: docs/recipe.md.
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np
import torch

VARIANTS = {
    # (preconditioning, noise_embedding, ema, lr_warmup, lr_schedule, lr, activation)
    "old defaults": ("none", "linear", 0.0, 0, "constant", 1e-3, "softplus"),
    "recipe":       ("edm", "linear", 0.999, 200, "cosine", 3e-3, "silu"),
    "no-precond":   ("none", "linear", 0.999, 200, "cosine", 3e-3, "silu"),
    "no-ema":       ("edm", "linear", 0.0, 200, "cosine", 3e-3, "silu"),
    "no-warm/cos":  ("edm", "linear", 0.999, 0, "constant", 3e-3, "silu"),
    "lr1e-3":       ("edm", "linear", 0.999, 200, "cosine", 1e-3, "silu"),
    "softplus":     ("edm", "linear", 0.999, 200, "cosine", 3e-3, "softplus"),
    "fourier":      ("edm", "fourier", 0.999, 200, "cosine", 3e-3, "silu"),
    # the pieces one at a time on the old defaults (the first A/B, 1,500-4,000 steps)
    "precond":      ("edm", "linear", 0.0, 0, "constant", 1e-3, "softplus"),
    "precond+ema":  ("edm", "linear", 0.999, 0, "constant", 1e-3, "softplus"),
    "precond+ema+warm/cos": ("edm", "linear", 0.999, 200, "cosine", 1e-3, "softplus"),
}
OBJECTIVES = {
    "vp": {"kind": "sde", "sde": "vp"},
    "ve": {"kind": "sde", "sde": "ve"},
    "subvp": {"kind": "sde", "sde": "subvp"},
    "flow": {"kind": "flow_matching"},
    "ncsn": {"kind": "ncsn"},
    "ddpm": {"kind": "ddpm"},
}
MIXTURE = {"kind": "mixture", "weights": [0.3, 0.7], "means": [[-4.0, 0.0], [4.0, 0.0]],
           "stds": [0.7, 1.0]}


def preset_for(objective: str, variant: str, steps: int, seed: int, particles: int, nll: int):
    from explorer.core.presets import preset as P
    pre, emb, ema, warm, sched, lr, act = VARIANTS[variant]
    obj = dict(OBJECTIVES[objective])
    if obj["kind"] in ("sde", "flow_matching"):
        obj["likelihood_samples"] = nll
    return P.parse({"density": MIXTURE, "objective": obj,
                    "model": {"preconditioning": pre, "noise_embedding": emb, "activation": act},
                    "training": {"steps": steps, "seed": seed, "ema": ema, "lr_warmup": warm, "lr": lr,
                                 "lr_schedule": sched},
                    "sampler": {"particles": particles, "seed": seed}})


def one(objective: str, variant: str, steps: int, seed: int, particles: int, nll: int) -> dict:
    from explorer.core.measures import metrics as M
    from explorer.core.measures import model_likelihood as ML
    from explorer.core.measures.sample_quality import sample_metrics
    from explorer.core.samplers import build_sampler
    from explorer.core.training.trainer import Trainer
    p = preset_for(objective, variant, steps, seed, particles, nll)
    tr = Trainer(p, device=torch.device("cpu"))
    t0 = time.perf_counter()
    tr.step(steps)
    train_s = time.perf_counter() - t0
    sampler = build_sampler(p, tr.learned_score(), tr.device)
    sampler.run()
    x = sampler.numpy()
    w = M.mode_weights(x, tr.density.components())
    out = {"werr": abs(w[0] - 0.3), "w": w[0], "steps_s": steps / train_s}
    if np.isfinite(x).all():
        sm = sample_metrics(x, tr.density, p.density["bounds"], seed)
        out["tv_floor"] = sm["tv_grid"] / sm["floor"]["tv_grid"]
    else:
        out["tv_floor"] = float("inf")
    if nll and ML.available(p):
        m = ML.nll_metrics(p, tr.model, tr.density, tr.device)
        if m.get("nll_true") is not None:
            out["nll_excess"] = m["nll"] - m["nll_true"]
    return out


def fmt(vals, digits=3):
    vals = [v for v in vals if v is not None]
    if not vals:
        return "-"
    med = statistics.median(vals)
    return f"{med:.{digits}f} [{min(vals):.{digits}f}-{max(vals):.{digits}f}]"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--steps", type=int, default=3000)
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    ap.add_argument("--particles", type=int, default=4000)
    ap.add_argument("--objectives", nargs="+", default=["vp", "flow"], choices=list(OBJECTIVES))
    ap.add_argument("--variants", nargs="+", default=list(VARIANTS)[:7], choices=list(VARIANTS))
    ap.add_argument("--nll", type=int, default=0, help="test samples for the NLL excess (0: skip)")
    a = ap.parse_args()
    torch.set_num_threads(1)
    rows: dict = {}
    for seed in a.seeds:                       # seeds outermost: variants alternate within a seed
        for obj in a.objectives:
            for var in a.variants:
                r = one(obj, var, a.steps, seed, a.particles, a.nll)
                rows.setdefault((obj, var), []).append(r)
                print(f"# {obj:6s} {var:13s} seed {seed}: w_small {r['w']:.3f} "
                      f"TV/floor {r['tv_floor']:.2f} nll+ {r.get('nll_excess')} "
                      f"{r['steps_s']:.0f} steps/s", flush=True)
    print(f"\n{a.steps} steps, batch 512, {a.particles} particles, seeds {a.seeds}, 1 torch thread; "
          "median [min-max] over seeds")
    print(f"{'objective':9s} {'variant':13s} {'|w - 0.3|':22s} {'TV/floor':22s} "
          f"{'NLL excess':22s} {'steps/s':10s}")
    for (obj, var), rs in rows.items():
        print(f"{obj:9s} {var:13s} {fmt([r['werr'] for r in rs]):22s} "
              f"{fmt([r['tv_floor'] for r in rs], 2):22s} "
              f"{fmt([r.get('nll_excess') for r in rs]):22s} {fmt([r['steps_s'] for r in rs], 0)}")


if __name__ == "__main__":
    main()
