"""Threads: torch's default intra-op thread count against the policy of core/training/threads.py.

Trains the default preset (the window's: NCSN, MLP 128x128, batch 512) in this process,
switching torch's thread count between rounds: A = torch's default (one per core), B = the
policy's choice. Rounds alternate A, B, A, B, ... so that the machine's drift hits both;
the figures are medians of steps/s. Twice: on the machine as it is ("quiet"), and with a
second process spinning on one core ("busy", what a shared 2-core machine or a second
program looks like). "quiet" only means nothing of ours is added: the load average printed
says how quiet the machine was.

`--sizes` also trains larger MLPs on 1 thread against every core, quiet and busy: whether
a larger network would justify more threads (on the 2-core development machine it did not).

    python bench/bench_threads.py [--rounds 5] [--seconds 1.5] [--sizes]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time

import torch

from explorer.core.presets import preset as P
from explorer.core.training import threads
from explorer.core.training.trainer import Trainer

DEFAULT_THREADS = torch.get_num_threads()


def steps_per_second(trainer: Trainer, n_threads: int, seconds: float) -> float:
    torch.set_num_threads(n_threads)
    trainer.step(5)   # warm the pool at this size
    n, t0 = 0, time.perf_counter()
    while time.perf_counter() - t0 < seconds:
        trainer.step(10)
        n += 10
    return n / (time.perf_counter() - t0)


def ab(trainer: Trainer, a: int, b: int, rounds: int, seconds: float) -> tuple[float, float]:
    ra, rb = [], []
    for _ in range(rounds):
        ra.append(steps_per_second(trainer, a, seconds))
        rb.append(steps_per_second(trainer, b, seconds))
    return statistics.median(ra), statistics.median(rb)


class Busy:
    """A second process spinning on one core for as long as the block lasts."""

    def __enter__(self):
        self.proc = subprocess.Popen([sys.executable, "-c", "while True: pass"])
        time.sleep(0.3)
        return self

    def __exit__(self, *exc):
        self.proc.kill()
        self.proc.wait()


def step_work(preset: P.Preset) -> float:
    """Multiply-adds of one forward pass of the training batch through the MLP."""
    widths = [preset.dim + 1, *preset.model["hidden"], preset.dim]   # NCSN: x and sigma in
    return sum(a * b for a, b in zip(widths, widths[1:])) * float(preset.training["batch_size"])


def preset_with(hidden: list[int], batch: int) -> P.Preset:
    d = P.default().to_dict()
    d["model"]["hidden"] = hidden
    d["training"]["batch_size"] = batch
    d["training"]["steps"] = 10_000_000
    return P.parse(d)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--seconds", type=float, default=1.5)
    ap.add_argument("--sizes", action="store_true", help="also the larger-MLP sweep")
    args = ap.parse_args()
    if os.environ.get("OMP_NUM_THREADS"):
        sys.exit("unset OMP_NUM_THREADS: the policy leaves an explicit setting alone")

    preset = preset_with(P.default().model["hidden"], P.default().training["batch_size"])
    policy = threads.choose()
    print(f"torch {torch.__version__}, {threads.usable_cores()} usable cores, torch default "
          f"{DEFAULT_THREADS} threads, policy {policy}; load average {os.getloadavg()[0]:.2f}")
    print(f"medians of {args.rounds} alternating rounds of {args.seconds:g} s\n")
    print("| machine | default threads steps/s | policy steps/s | policy / default |")
    print("|---|---|---|---|")
    trainer = Trainer(preset)
    for label in ("quiet", "busy"):
        if label == "busy":
            with Busy():
                a, b = ab(trainer, DEFAULT_THREADS, policy, args.rounds, args.seconds)
        else:
            a, b = ab(trainer, DEFAULT_THREADS, policy, args.rounds, args.seconds)
        print(f"| {label} | {a:.0f} | {b:.0f} | {b / a:.2f} |", flush=True)

    if args.sizes:
        print(f"\n| MLP, batch | M multiply-adds a step | machine | 1 thread | {DEFAULT_THREADS} threads "
              f"| {DEFAULT_THREADS} / 1 |")
        print("|---|---|---|---|---|---|")
        for hidden, batch in (([128, 128], 512), ([256, 256], 1024), ([512, 512], 2048),
                              ([1024, 1024], 2048)):
            p = preset_with(hidden, batch)
            t = Trainer(p)
            for label in ("quiet", "busy"):
                if label == "busy":
                    with Busy():
                        one, many = ab(t, 1, DEFAULT_THREADS, args.rounds, args.seconds)
                else:
                    one, many = ab(t, 1, DEFAULT_THREADS, args.rounds, args.seconds)
                print(f"| {'x'.join(map(str, hidden))}, {batch} | {step_work(p) / 1e6:.0f} "
                      f"| {label} | {one:.1f} | {many:.1f} | {many / one:.2f} |", flush=True)


if __name__ == "__main__":
    main()
