"""The compare command from its arguments to its files; the CLI only parses and maps the
outcome to an exit status. Everything is checked (presets, --vary values, --out, the Dask
scheduler) before the first file is written."""

from __future__ import annotations

import math
import sys
from pathlib import Path
from typing import TextIO

from ..errors import SpecError
from ..files import output_folder
from ..training.threads import usable_cores
from . import summary as S
from .execute import Finished, Outcome, check_address, connect, describe, execute, shielded
from .plan import parse_vary, plan


MAX_RUNS = 1000   # runs in one comparison: more is a typo (a --seeds 1000000), not a plan


def run_compare(preset: str | Path, varies: list[str], *, seeds: int = 1, steps: int | None = None,
                out: str | Path | None = None, workers: int | None = None,
                scheduler: str | None = None, log: TextIO | None = None,
                stdout: TextIO | None = None) -> Outcome:
    log, stdout = log or sys.stderr, stdout or sys.stdout   # the streams of now, not of import
    preset_path = Path(preset)
    if not 1 <= seeds <= MAX_RUNS:
        raise SpecError("--seeds", f"must be between 1 and {MAX_RUNS}, got {seeds}")
    if workers is not None and workers < 1:
        raise SpecError("--workers", f"must be at least 1, got {workers}")
    if scheduler is not None:
        scheduler = check_address(scheduler)
    vs = [parse_vary(v) for v in varies]
    count = math.prod(len(v.values) for v in vs) * seeds
    if count > MAX_RUNS:
        raise SpecError("--vary" if vs else "--seeds",
                        f"{count:,} runs ({' x '.join(str(len(v.values)) for v in vs) or '1'} "
                        f"value{'s' * (len(vs) > 0)} x {seeds} seed{'s' * (seeds > 1)}); at most "
                        f"{MAX_RUNS:,} in one comparison")
    out = Path(out) if out else Path("runs") / f"compare-{preset_path.stem}"
    if out.exists() and not out.is_dir():
        raise SpecError("--out", f"{out} exists and is not a folder")
    if count > 50:
        print(f"compare: checking {count} runs", file=log, flush=True)
    runs = plan(preset_path, vs, seeds, steps)
    keys = [v.key for v in vs]
    variants = []
    for r in runs:
        if not any(r.variant is v for v in variants):
            variants.append(r.variant)
    client = connect(scheduler) if scheduler else None
    try:
        output_folder(out)
        cores = usable_cores()
        n_workers = min(workers or cores, cores, len(runs))
        if workers and workers > cores and not client:
            print(f"note: --workers {workers}: {cores} used, the cores this process may use "
                  f"(more would only share them and multiply the memory)", file=log)
        where = describe(client) if client else f"{n_workers} local worker{'s' * (n_workers > 1)}"
        if client and workers:
            print("note: --workers is for the local pool; the Dask cluster has its own", file=log)
        print(f"compare: {len(runs)} runs ({len(variants)} variant{'s' * (len(variants) > 1)} "
              f"x {seeds} seed{'s' * (seeds > 1)}) on {where}", file=log, flush=True)
        count = iter(range(1, len(runs) + 1))

        def finished(f: Finished) -> None:
            m = f.metrics
            rel = m.get("relative_fisher_divergence")
            print(f"[{next(count)}/{len(runs)}] {f.run.variant.name} seed {f.run.seed}: "
                  f"{m['steps']} steps, {m['steps_per_second'] or 0:.0f} steps/s"
                  + ("" if rel is None else f", relative Fisher {rel:.4g}"), file=log, flush=True)

        def failed(run, why: str) -> None:
            print(f"[{next(count)}/{len(runs)}] {run.variant.name} seed {run.seed}: failed: {why}",
                  file=log, flush=True)

        outcome = execute(runs, out, workers=n_workers, client=client,
                          on_finished=finished, on_failed=failed)
    finally:
        if client is not None:
            client.close()
    with shielded() as shield:   # a second Ctrl-C must not cost the summary of what finished
        summary = S.write(out, outcome.finished, variants, keys, runs[0].preset.name, outcome.failed)
        outcome.interrupted |= shield.interrupted
        if outcome.interrupted:
            print(f"interrupted: kept {len(outcome.finished)} finished run"
                  f"{'s' * (len(outcome.finished) != 1)} of {len(runs)}", file=log)
        if summary["variants"]:
            print(S.table(summary), file=stdout, flush=True)
        print(f"wrote {out}", file=log)
    return outcome
