"""The standard toy densities x the objectives x seeds, through `compare`: docs/benchmarks.md.

Every objective (ESM, ISM, SSM-VR, DSM, NCSN, the VP SDE, flow matching) is trained on every
standard toy density (FFJORD's and torchcfm's: eight_gaussians, circles, rings, two_spirals,
cos, line) with the same MLP, batch and learning rate, and its default sampler draws the
particles. The page gets, per density and objective, mean +- sd over the seeds of:

- relative Fisher divergence of the learned score (docs/design.md §3; the SDEs and flow
  matching at their Fisher level, metrics.json's fisher_measured_on),
- SW2 and TV of the learned particle cloud over their floors (the same figure for as many
  exact samples: 1 is as good as exact sampling),
- NLL - NLL_true in nats per dimension (the model's likelihood by its ODE against the
  density's own, on the same test points; the SDE and flow matching only),
- training steps per second.

Each seed is one `compare` (seed 0 first for every cell, then seed 1, ...), so a run cut short
still fills every cell with its first seeds; the page says how many seeds each cell has.

    python bench/bench_toys.py [--steps 1500] [--seeds 3] [--workers 1] [--scheduler ADDR]
                               [--out DIR] [--doc docs/benchmarks.md] [--quick]
    python bench/bench_toys.py --report-only --out DIR     # rewrite the page from finished runs

Torch runs one thread per worker (the compare workers set it); on a shared 2-core machine
keep --workers 1 or 2.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import statistics
import sys
import time
from pathlib import Path

import tomli_w

DENSITIES = ["eight_gaussians", "circles", "rings", "two_spirals", "cos", "line"]
OBJECTIVES = ["esm", "ism", "ssm_vr", "dsm", "ncsn", "sde", "flow_matching"]
LABEL = {"sde": "sde (vp)"}


def base_preset(seed: int, particles: int, likelihood_samples: int, sets=()) -> dict:
    preset = {
        "format": 1,
        "name": "toy densities benchmark",
        "density": {"kind": DENSITIES[0]},
        "model": {"kind": "score", "hidden": [128, 128], "activation": "silu"},
        "objective": {"kind": "esm", "sde": "vp", "likelihood_samples": likelihood_samples},
        "training": {"steps": 1500, "batch_size": 512, "lr": 2e-3, "seed": seed},
        "sampler": {"score": "learned", "particles": particles},
        "view": {"grid": 16},
    }
    for item in sets:                       # --set sampler.step_size=0.005
        key, _, text = item.partition("=")
        section, name = key.split(".", 1)
        from explorer.core.compare.plan import toml_value
        preset.setdefault(section, {})[name] = toml_value(text, key)
    return preset


def run(args) -> None:
    from explorer.core.compare import run_compare
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    varies = [f"density.kind={','.join(args.densities)}", f"objective.kind={','.join(args.objectives)}"]
    if args.fix:                            # runs that replace the main ones for their cells
        out = out / f"fix-{args.fix}"
        out.mkdir(parents=True, exist_ok=True)
    meta = {"started": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
            "sets": args.set,
            "steps": args.steps, "seeds": args.seeds, "particles": args.particles,
            "likelihood_samples": args.likelihood_samples, "workers": args.workers,
            "scheduler": args.scheduler, "load_start": os.getloadavg(), "commit": _commit()}
    if args.first_seed and (out / "bench_meta.json").exists():   # continuing a cut-short run
        old = json.loads((out / "bench_meta.json").read_text())
        meta.update(started=old["started"], load_start=old["load_start"],
                    commit=f"{old['commit']} (seeds 0-{args.first_seed - 1}), {meta['commit']} (the rest)")
    (out / "bench_meta.json").write_text(json.dumps(meta, indent=1))
    t0 = time.perf_counter()
    for seed in range(args.first_seed, args.seeds):
        preset = out / f"preset-seed-{seed}.toml"
        preset.write_bytes(tomli_w.dumps(base_preset(seed, args.particles, args.likelihood_samples,
                                                     args.set)).encode())
        run_compare(preset, varies, seeds=1, steps=args.steps, out=out / f"seed-{seed}",
                    workers=args.workers, scheduler=args.scheduler)
        meta.update(finished=dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
                    wall_seconds=round(time.perf_counter() - t0, 1), load_end=os.getloadavg(),
                    seeds_done=seed + 1)
        (out / "bench_meta.json").write_text(json.dumps(meta, indent=1))
        write_report(Path(args.out), Path(args.doc))


# --- the page ----------------------------------------------------------------------------------

def _cells(root: Path) -> dict:
    cells: dict = {}
    for m in sorted(root.glob("seed-*/runs/*/seed-*/metrics.json")):
        variant = m.parent.parent.name          # density.kind=X,objective.kind=Y
        keys = dict(part.split("=", 1) for part in variant.split(","))
        cells.setdefault((keys["density.kind"], keys["objective.kind"]), []).append(json.loads(m.read_text()))
    return cells


def collect(out: Path) -> tuple[dict, dict]:
    """((density, objective) -> per-seed metrics.json dicts, from every seed's compare; the
    cells that a `--fix NAME` run (out/fix-NAME) replaced -> that run's --set overrides)."""
    cells = _cells(out)
    fixed = {}
    for fix in sorted(out.glob("fix-*")):
        meta = json.loads((fix / "bench_meta.json").read_text()) if (fix / "bench_meta.json").exists() else {}
        for key, ms in _cells(fix).items():
            cells[key] = ms
            fixed[key] = ", ".join(meta.get("sets") or []) or fix.name
    return cells, fixed


def _ratio(m: dict, name: str):
    sm = m.get("sample_metrics") or {}
    v, floor = sm.get(name), (sm.get("floor") or {}).get(name)
    return None if v is None or not floor else v / floor


def _nll_gap(m: dict):
    if m.get("nll") is None or m.get("nll_true") is None:
        return None
    return m["nll"] - m["nll_true"]


def _hutchinson_z(m: dict):
    """(NLL_hutchinson - NLL_exact) / se: within +-3 when the estimator and its se are right."""
    if m.get("nll_hutchinson") is None or m.get("nll") is None or not m.get("nll_hutchinson_se"):
        return None
    return (m["nll_hutchinson"] - m["nll"]) / m["nll_hutchinson_se"]


COLUMNS = [("relative Fisher", lambda m: m.get("relative_fisher_divergence"), 3),
           ("SW2 / floor", lambda m: _ratio(m, "sliced_wasserstein"), 2),
           ("TV / floor", lambda m: _ratio(m, "tv_grid"), 2),
           ("NLL - NLL_true", _nll_gap, 3),
           ("(NLL_H - NLL) / se", _hutchinson_z, 2),
           ("steps/s", lambda m: m.get("steps_per_second"), 0)]


def _pm(values: list, digits: int) -> str:
    v = [x for x in values if x is not None]
    if not v:
        return "-"
    mean = statistics.fmean(v)
    fmt = (lambda x: f"{x:.3g}") if abs(mean) >= 1000 and digits > 0 else (lambda x: f"{x:.{digits}f}")
    if len(v) < 2:
        return fmt(mean)
    return f"{fmt(mean)} ± {fmt(statistics.stdev(v))}"


def _commit() -> str | None:
    """The code measured: the checkout's commit (a table outlives the defaults it measured)."""
    import subprocess
    try:
        r = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True,
                           cwd=Path(__file__).resolve().parent, timeout=10)
    except (OSError, subprocess.SubprocessError):
        return None
    return r.stdout.strip() or None


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    import torch
    return (f"{cpu}, {os.cpu_count()} cores (shared with other jobs), {platform.system()} "
            f"{platform.release()}, Python {platform.python_version()}, torch {torch.__version__}, "
            f"1 torch thread per worker")


PUBLISHED = """\
## Published figures for the same setting

None found. We looked for published numbers for these objectives on these densities with
these metrics and did not find any measured in the same way:

- FFJORD (Grathwohl et al. 2019) shows its toy densities (eight Gaussians, circles, rings,
  two spirals, ...) as pictures only; it gives no number for them.
- torchcfm (Tong et al. 2023, "Improving and generalizing flow-based generative models with
  minibatch optimal transport") reports the 2-Wasserstein distance between generated and data
  samples for flow-matching variants on 2-D tasks such as N(0, I) -> 8gaussians and
  8gaussians -> moons, but with *its* eight Gaussians (radius 5, std 0.1 ** 0.25; this page
  uses FFJORD's radius 4 / 1.414, std 0.5 / 1.414), other networks and step budgets, and the
  exact W2 rather than sliced W2 over a floor. Those figures are not comparable with this
  table, so none is quoted beside it.
- Song & Ermon 2019 (NCSN) and Song et al. 2021 (score SDEs) report image metrics; their
  toy experiments are pictures.
"""


def write_report(out: Path, doc: Path) -> None:
    cells, fixed = collect(out)
    meta_path = out / "bench_meta.json"
    meta = json.loads(meta_path.read_text()) if meta_path.exists() else {}
    densities = [d for d in DENSITIES if any(k[0] == d for k in cells)]
    objectives = [o for o in OBJECTIVES if any(k[1] == o for k in cells)]
    seeds = sorted({len(v) for v in cells.values()})
    lines = [
        "# Benchmarks: the standard toy densities",
        "",
        "Written by `bench/bench_toys.py` (issue 26). Every objective trained on every toy density "
        "(docs/densities.md) with one MLP (128, 128, SiLU), batch 512, Adam lr 2e-3, through "
        "`score-explorer compare`, each seed its own comparison.",
        "",
        f"- **Date**: {meta.get('started', '?')} to {last_run(out) or meta.get('finished', '?')} "
        f"(UTC; the end is the last run's metrics.json).",
        f"- **Code**: commit {meta.get('commit') or '?'}.",
        f"- **Machine**: {machine()}; load average {_load(meta.get('load_start'))} at the start, "
        f"{_load(meta.get('load_end'))} at the end: the machine was shared, so steps/s are "
        f"this busy machine's, not a quiet one's.",
        f"- **Budget**: {meta.get('steps', '?')} training steps per run (far below the presets' "
        f"3,000-5,000: the figures are those of short training, not converged models), "
        f"{meta.get('particles', '?')} particles from each objective's default sampler "
        f"(learned score), NLL on {meta.get('likelihood_samples', '?')} test points, "
        f"{'/'.join(map(str, seeds)) or '?'} seed(s) per cell "
        f"({meta.get('workers', 1)} local worker(s)"
        f"{', Dask ' + str(meta['scheduler']) if meta.get('scheduler') else ''}).",
        "",
        "Rows: the objective · the sampler that drew its particles (its default). Columns (mean ± sd "
        "over seeds):",
        "",
        "- **relative Fisher**: 1/2 E|s_theta - grad log p|^2 / (1/2 E|grad log p|^2) with the "
        "density's exact score (the SDE and flow matching: at their smallest noise level).",
        "- **SW2 / floor**, **TV / floor**: sliced 2-Wasserstein and grid total variation of the "
        "particles against exact samples, divided by the same figure for as many exact samples "
        "(1 = as good as exact sampling).",
        "- **NLL - NLL_true**: the model's negative log-likelihood by its probability-flow ODE "
        "(exact trace) minus the density's own, nats per dimension, same test points "
        "(only the SDE and flow matching define one).",
        "- **(NLL_H - NLL) / se**: Hutchinson's NLL (4 Rademacher probes, docs/likelihood.md) minus "
        "the exact-trace NLL, in its standard errors: within ±3 when the estimate and its se are right.",
        "- **steps/s**: training throughput, one torch thread.",
        "",
    ]
    for d in densities:
        lines += [f"## {d}", "", "| objective | " + " | ".join(c for c, _, _ in COLUMNS) + " | seeds |",
                  "|---|" + "---:|" * (len(COLUMNS) + 1)]
        for o in objectives:
            ms = cells.get((d, o))
            if not ms:
                continue
            row = [_pm([f(m) for m in ms], digits) for _, f, digits in COLUMNS]
            sampler = ms[0].get("sampler")
            label = LABEL.get(o, o) + (f" · {sampler}" if sampler else "") + (" *" if (d, o) in fixed else "")
            lines.append(f"| {label} | " + " | ".join(row) + f" | {len(ms)} |")
        lines.append("")
    escaped = [f"{d} / {LABEL.get(o, o)}" for (d, o), ms in sorted(cells.items())
               if any((_ratio(m, "sliced_wasserstein") or 0) > 100 for m in ms)]
    if escaped:
        lines += ["Escaped particles: in " + ", ".join(escaped) + ", a seed left a few particles far "
                  "outside the box (plain Langevin from the uniform start, where the learned score "
                  "is wrong, carried them off): SW2 weighs them by distance, so its mean is theirs; "
                  "TV, counted on the grid, is not.", ""]
    notes = sorted(set(fixed.values()))
    if notes:
        lines += ["\\* run again with " + "; ".join(f"`{n}`" for n in notes) + " (the same budget): "
                  "NCSN's derived default sampler (annealed Langevin, eps 0.1 with sigma_min 0.1, a step "
                  "of 10 sigma_i^2 at level i) blew up on every one of these densities "
                  "(docs/densities.md), leaving no particles to measure.", ""]
    lines += [PUBLISHED, "## Reproduce", "",
              f"    python bench/bench_toys.py --steps {meta.get('steps', 1500)} --seeds "
              f"{meta.get('seeds', 3)} --workers {meta.get('workers', 1)} --out runs/bench-toys"]
    for fix in sorted(out.glob("fix-*")):
        fm = json.loads((fix / "bench_meta.json").read_text()) if (fix / "bench_meta.json").exists() else {}
        objs = sorted({o for (_, o), v in fixed.items() if (fix / "seed-0").exists()})
        sets = " ".join(f"--set {x}" for x in fm.get("sets") or [])
        lines.append(f"    python bench/bench_toys.py --steps {fm.get('steps', '?')} --seeds {fm.get('seeds', '?')} "
                     f"--objectives {','.join(objs)} {sets} --fix {fix.name[4:]} --out runs/bench-toys")
    lines += ["",
              "(the `--fix` run went beside the main one, on 1 worker, while it ran.)" if fixed else "", "",
              "`--quick` runs two densities, three objectives, one seed, 200 steps (a smoke test); "
              "`--scheduler ADDR` runs each comparison on a Dask cluster.", ""]
    doc.parent.mkdir(parents=True, exist_ok=True)
    tmp = doc.with_suffix(".md.tmp")
    tmp.write_text("\n".join(lines))
    tmp.replace(doc)
    print(f"wrote {doc}", file=sys.stderr)


def last_run(out: Path) -> str | None:
    times = [m.stat().st_mtime for m in out.glob("**/metrics.json")]
    if not times:
        return None
    return dt.datetime.fromtimestamp(max(times), dt.timezone.utc).isoformat(timespec="seconds")


def _load(v) -> str:
    return "?" if not v else "/".join(f"{x:.1f}" for x in v)


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--steps", type=int, default=1500)
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--first-seed", type=int, default=0,
                    help="continue a run cut short: seeds from this one on, into the same --out")
    ap.add_argument("--particles", type=int, default=1000)
    ap.add_argument("--likelihood-samples", type=int, default=200)
    ap.add_argument("--workers", type=int, default=1)
    ap.add_argument("--scheduler", default=None, help="a Dask scheduler address (runs on the cluster)")
    ap.add_argument("--out", default="runs/bench-toys")
    ap.add_argument("--doc", default="docs/benchmarks.md")
    ap.add_argument("--densities", default=",".join(DENSITIES))
    ap.add_argument("--objectives", default=",".join(OBJECTIVES))
    ap.add_argument("--quick", action="store_true", help="2 densities x 3 objectives x 1 seed x 200 steps")
    ap.add_argument("--report-only", action="store_true", help="only rewrite the page from --out")
    ap.add_argument("--set", action="append", default=[], help="KEY=VALUE in the base preset "
                                                                "(e.g. sampler.step_size=0.005)")
    ap.add_argument("--fix", default=None, help="NAME: write to OUT/fix-NAME; its cells replace "
                                                "the main runs' in the page")
    args = ap.parse_args(argv)
    args.densities = args.densities.split(",")
    args.objectives = args.objectives.split(",")
    if args.quick:
        args.densities, args.objectives = ["eight_gaussians", "rings"], ["dsm", "sde", "flow_matching"]
        args.steps, args.seeds = 200, 1
    if args.report_only:
        write_report(Path(args.out), Path(args.doc))
        return
    run(args)


if __name__ == "__main__":
    main()
