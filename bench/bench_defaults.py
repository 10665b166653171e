"""A/B of the defaults that decide whether a density given alone is learned (issue 23, "defaults
deliver the lesson"): the sampler's end (NCSNv2's denoising step), the Langevin steps per level,
the NCSN training budget and width, on densities the defaults never saw.

Why: the judged check is a density that is not in the repository, with NCSN's defaults
(objective.kind = "ncsn" and nothing else but the density), whose sampled cloud must be within
twice its noise floor on SW2 and TV (sample_quality.sample_metrics: the same figure for exact
samples of the same size, as `score-explorer run` writes into metrics.json). A default is
adopted only if it helps over seeds, and only if the exact score's own floor ratio does not get
worse (a denoising step with the exact score gives E[x_0 | x], whose spread is *below* the
data's by about sigma_min^2).

One training per (case, seed, training variant); every sampler variant then samples that same
model (and the exact score), so the sampler rows of a seed differ only in the sampler.

    python bench/bench_defaults.py [--cases spirals2 spirals3] [--seeds 0 1 2]
        [--train default] [--sample plain denoise] [--exact]

Cases: spirals2 (the default spirals), spirals3 (3 arms, 1.2 turns, noise 0.12), spirals_thin
(2 arms, 1.5 turns, noise 0.08), spirals4 (4 arms, 0.8 turns, noise 0.1, scale 2.5),
ncsn_noise_levels and mixture_3d (the shipped presets, their own keys), vp_mixture (the judged
VP SDE + PC setting: 0.3/0.7 mixture, 6,000 steps, 20,000 particles; subvp_mixture and
ve_mixture the same with the other two SDEs). Training variants: default (the preset as
derived now), "2 layers" (the [128, 128] default before this A/B), "steps x2", wide
([256, 256]), deep ([128, 128, 128]), "lr 3e-3"; sampler variants: plain, denoise
(annealed Langevin's final Tweedie step), T=200 (steps per level), "derived step" (a preset's
own step left out), and for PC: "no corrector", "corrector 1", "snr 0.01", EM
(Euler-Maruyama). Figures taken: docs/recipe.md ("Defaults on
densities the repository does not ship").
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np
import torch

MIXTURE = {"kind": "mixture", "weights": [0.3, 0.7], "means": [[-4.0, 0.0], [4.0, 0.0]],
           "stds": [0.7, 1.0]}
CASES = {
    # name: (the preset's table, or a shipped preset's name)
    "spirals2": {"density": {"kind": "spirals"}, "objective": {"kind": "ncsn"}},
    "spirals3": {"density": {"kind": "spirals", "arms": 3, "turns": 1.2, "noise": 0.12},
                 "objective": {"kind": "ncsn"}},
    "spirals_thin": {"density": {"kind": "spirals", "arms": 2, "turns": 1.5, "noise": 0.08},
                     "objective": {"kind": "ncsn"}},
    "spirals4": {"density": {"kind": "spirals", "arms": 4, "turns": 0.8, "noise": 0.1,
                             "scale": 2.5}, "objective": {"kind": "ncsn"}},
    "ncsn_noise_levels": "ncsn_noise_levels",
    "mixture_3d": "mixture_3d",
    "vp_mixture": {"density": MIXTURE, "objective": {"kind": "sde", "sde": "vp"},
                   "training": {"steps": 6000}, "sampler": {"particles": 20000}},
    "subvp_mixture": {"density": MIXTURE, "objective": {"kind": "sde", "sde": "subvp"},
                      "training": {"steps": 6000}, "sampler": {"particles": 20000}},
    "ve_mixture": {"density": MIXTURE, "objective": {"kind": "sde", "sde": "ve"},
                   "training": {"steps": 6000}, "sampler": {"particles": 20000}},
}
# training variants: edits of the case's preset (one training each)
TRAIN = {
    "default": {},
    "2 layers": {"model.hidden": [128, 128]},   # the default before the A/B below
    "steps x2": "double",
    "wide": {"model.hidden": [256, 256]},
    "deep": {"model.hidden": [128, 128, 128]},
    "deep x2": "deep+double",
    "lr 3e-3": {"training.lr": 3e-3},           # the recipe's (a preset that set 1e-3)
    "deep lr 3e-3": {"training.lr": 3e-3, "model.hidden": [128, 128, 128]},
}
# sampler variants: edits of the sampler only (the same trained model)
SAMPLE = {
    "plain": {"sampler.denoise": False},
    "denoise": {"sampler.denoise": True},
    "T=200": {"sampler.denoise": False, "sampler.steps": 200},
    "T=200+denoise": {"sampler.denoise": True, "sampler.steps": 200},
    "derived step": {"sampler.denoise": False, "sampler.step_size": None},   # a preset that set one
    "derived+denoise": {"sampler.denoise": True, "sampler.step_size": None},
    # the score SDEs' PC sampler (VP): its corrector
    "snr 0.01": {"sampler.snr": 0.01},
    "no corrector": {"sampler.corrector_steps": 0},
    "corrector 1": {"sampler.corrector_steps": 1},      # the default before the A/B
    "EM": {"sampler.kind": "euler_maruyama"},
}


def base_preset(case: str, seed: int):
    from explorer import api
    from explorer.core.presets import preset as P
    spec = CASES[case]
    p = api.load(spec) if isinstance(spec, str) else P.parse(spec)
    return api.edit(p, {"training.seed": seed, "sampler.seed": seed})


def trained(case: str, seed: int, variant: str, untrained: bool = False):
    from explorer import api
    from explorer.core.training.trainer import Trainer
    p = base_preset(case, seed)
    edit = TRAIN[variant]
    if edit == "double":
        edit = {"training.steps": 2 * int(p.training["steps"])}
    elif edit == "deep+double":
        edit = {"training.steps": 2 * int(p.training["steps"]), "model.hidden": [128, 128, 128]}
    if edit:
        p = api.edit(p, edit)
    if untrained:
        p = api.edit(p, {"training.steps": 0})
    tr = Trainer(p, device=torch.device("cpu"))
    t0 = time.perf_counter()
    tr.step(int(p.training["steps"]))
    return p, tr, time.perf_counter() - t0


def sampled(p, tr, variant: str, exact: bool) -> dict:
    from explorer import api
    from explorer.core.measures import metrics as M
    from explorer.core.measures.sample_quality import sample_metrics
    from explorer.core.samplers import build_sampler
    edit = dict(SAMPLE[variant])
    if p.sampler["kind"] != "annealed_langevin":        # PC / EM end on x_mean already
        edit = {k: v for k, v in edit.items() if k != "sampler.denoise"}
    q = api.edit(p, edit) if edit else p
    score = tr.true_score() if exact else tr.learned_score()
    s = build_sampler(q, score, tr.device)
    s.run()
    x = s.numpy()
    out: dict = {"nfe": s.nfe}
    if not np.isfinite(x).all():
        return {**out, "sw": float("inf"), "tv": float("inf")}
    sm = sample_metrics(x, tr.density, q.density["bounds"], int(q.sampler["seed"]))
    out["sw"] = sm["sliced_wasserstein"] / sm["floor"]["sliced_wasserstein"]
    out["tv"] = sm["tv_grid"] / sm["floor"]["tv_grid"]
    comps = tr.density.components()
    if comps is not None:
        w = M.mode_weights(x, comps)
        out["werr"] = float(max(abs(a - b) for a, b in zip(w, comps[0].tolist())))
    return out


def fmt(vals, digits=2):
    vals = [v for v in vals if v is not None]
    if not vals:
        return "-"
    return f"{statistics.median(vals):.{digits}f} [{min(vals):.{digits}f}-{max(vals):.{digits}f}]"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--cases", nargs="+", default=["spirals2", "spirals3"], choices=list(CASES))
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    ap.add_argument("--train", nargs="+", default=["default"], choices=list(TRAIN))
    ap.add_argument("--sample", nargs="+", default=["plain", "denoise"], choices=list(SAMPLE))
    ap.add_argument("--exact", action="store_true", help="also sample the exact score")
    ap.add_argument("--exact-only", action="store_true",
                    help="only the exact score (nothing trained: training.steps = 0)")
    a = ap.parse_args()
    torch.set_num_threads(1)
    rows: dict = {}
    for seed in a.seeds:
        for case in a.cases:
            for tv in a.train:
                p, tr, secs = trained(case, seed, tv, a.exact_only)
                for sv in a.sample:
                    scores = (True,) if a.exact_only else (False, True) if a.exact else (False,)
                    for exact in scores:
                        r = sampled(p, tr, sv, exact)
                        key = (case, tv, sv, "exact" if exact else "learned")
                        rows.setdefault(key, []).append(r)
                        w = f" |w err| {r['werr']:.3f}" if "werr" in r else ""
                        print(f"# {case} {tv} {sv} {key[3]} seed {seed}: SW2/floor {r['sw']:.2f} "
                              f"TV/floor {r['tv']:.2f}{w} (train {secs:.0f} s)", flush=True)
    print(f"\nseeds {a.seeds}, 1 torch thread; median [min-max] over seeds")
    print(f"{'case':18s} {'training':9s} {'sampler':14s} {'score':8s} {'SW2/floor':18s} "
          f"{'TV/floor':18s} {'max |w err|':20s}")
    for (case, tv, sv, sc), rs in rows.items():
        print(f"{case:18s} {tv:9s} {sv:14s} {sc:8s} {fmt([r['sw'] for r in rs]):18s} "
              f"{fmt([r['tv'] for r in rs]):18s} {fmt([r.get('werr') for r in rs], 3)}")


if __name__ == "__main__":
    main()
