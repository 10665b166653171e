"""The compare command from its arguments to its files; the CLI only parses and maps the
outcome to an exit status. Everything is checked (presets, --vary values, --out, the Dask
scheduler) before the first file is written."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TextIO

from ..errors import SpecError
from ..threads import usable_cores
from . import summary as S
from .execute import Finished, Outcome, connect, describe, execute
from .plan import parse_vary, plan


def run_compare(preset: str | Path, varies: list[str], *, seeds: int = 1, steps: int | None = None,
                out: str | Path | None = None, workers: int | None = None,
                scheduler: str | None = None, log: TextIO = sys.stderr,
                stdout: TextIO = sys.stdout) -> Outcome:
    preset_path = Path(preset)
    if seeds < 1:
        raise SpecError("--seeds", f"must be at least 1, got {seeds}")
    if workers is not None and workers < 1:
        raise SpecError("--workers", f"must be at least 1, got {workers}")
    vs = [parse_vary(v) for v in varies]
    runs = plan(preset_path, vs, seeds, steps)
    keys = [v.key for v in vs]
    variants = []
    for r in runs:
        if not any(r.variant is v for v in variants):
            variants.append(r.variant)
    out = Path(out) if out else Path("runs") / f"compare-{preset_path.stem}"
    if out.exists() and not out.is_dir():
        raise SpecError("--out", f"{out} exists and is not a folder")
    client = connect(scheduler) if scheduler else None
    try:
        try:
            out.mkdir(parents=True, exist_ok=True)
        except OSError as e:
            raise SpecError("--out", f"cannot create {out}: {e.strerror}") from None
        n_workers = min(workers or usable_cores(), len(runs))
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
    summary = S.write(out, outcome.finished, variants, keys, runs[0].preset.name, outcome.failed)
    if outcome.interrupted:
        print(f"interrupted: kept {len(outcome.finished)} finished run"
              f"{'s' * (len(outcome.finished) != 1)} of {len(runs)}", file=log)
    if summary["variants"]:
        print(S.table(summary), file=stdout, flush=True)
    print(f"wrote {out}", file=log)
    return outcome
