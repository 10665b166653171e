"""`compare` with 12 short runs: one local worker, two local workers, a Dask LocalCluster of two.

The whole command is timed (`run_compare`: planning, starting the workers, which import
torch, every run, the summaries and the figure), as a user waits for it. Rounds alternate
the three ways so that the machine's drift hits each; figures are medians. A fresh pool and a
fresh LocalCluster per round (its start-up is not timed, its workers' first import of torch
is), so that no way gets a warm worker from an earlier round.

    python bench/bench_compare.py [--rounds 3] [--steps 300]

Target (issue 11): two workers at least 1.6x one worker on two cores, and the same for Dask.
"""

from __future__ import annotations

import argparse
import io
import os
import statistics
import tempfile
import time
from pathlib import Path

import tomli_w

from explorer.core.compare import run_compare
from explorer.core.training.threads import usable_cores

PRESET = {
    "name": "bench compare",
    "density": {"kind": "mixture", "weights": [0.2, 0.8], "means": [[-5.0, -5.0], [5.0, 5.0]],
                "stds": [1.0, 1.0]},
    "model": {"hidden": [64, 64]},
    "objective": {"kind": "ssm_vr"},
    "training": {"batch_size": 256},
    "sampler": {"particles": 500, "steps": 200},
    "view": {"grid": 16},
}
VARY = ["objective.kind=ssm_vr,dsm", "training.lr=0.001,0.003"]   # 4 variants x 3 seeds = 12


def timed(preset: Path, out: Path, steps: int, **where) -> tuple[float, float]:
    """Seconds for the whole command, and the median training steps/s of one of its runs."""
    t0 = time.perf_counter()
    outcome = run_compare(preset, VARY, seeds=3, steps=steps, out=out, log=io.StringIO(),
                          stdout=io.StringIO(), **where)
    dt = time.perf_counter() - t0
    assert len(outcome.finished) == 12 and not outcome.failed, outcome.failed
    return dt, statistics.median(f.metrics["steps_per_second"] for f in outcome.finished)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--steps", type=int, default=300)
    ap.add_argument("--no-dask", action="store_true")
    args = ap.parse_args()
    try:
        from distributed import LocalCluster
    except ImportError:
        LocalCluster = None
    use_dask = LocalCluster is not None and not args.no_dask

    print(f"{usable_cores()} usable cores, load average {os.getloadavg()[0]:.2f}; 12 runs "
          f"({args.steps} steps, MLP 64x64, batch 256, 500 particles x 200 Langevin steps); "
          f"medians of {args.rounds} alternating rounds")
    times: dict[str, list[float]] = {"1 worker": [], "2 workers": [], "Dask LocalCluster(2)": []}
    rates: dict[str, list[float]] = {k: [] for k in times}

    def record(how: str, result: tuple[float, float]) -> None:
        times[how].append(result[0])
        rates[how].append(result[1])

    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        preset = tmp / "bench.toml"
        preset.write_text(tomli_w.dumps(PRESET))
        for r in range(args.rounds):
            record("1 worker", timed(preset, tmp / f"one{r}", args.steps, workers=1))
            record("2 workers", timed(preset, tmp / f"two{r}", args.steps, workers=2))
            if use_dask:
                with LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=None) as cluster:
                    record("Dask LocalCluster(2)", timed(preset, tmp / f"dask{r}", args.steps,
                                                         scheduler=cluster.scheduler_address))
            print(f"round {r + 1}: " + ", ".join(f"{k} {v[-1]:.1f} s" for k, v in times.items() if v),
                  flush=True)
    base = statistics.median(times["1 worker"])
    print("\n| how | seconds (median) | speed-up over 1 worker | a run's training steps/s |")
    print("|---|---|---|---|")
    for k, v in times.items():
        if v:
            m = statistics.median(v)
            print(f"| {k} | {m:.1f} | {base / m:.2f} | {statistics.median(rates[k]):.0f} |")
    print(f"\nload average after: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
