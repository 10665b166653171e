"""How many torch threads a trainer gets: never fewer steps per second than one thread.

A training step of the MLPs this program trains is a few dozen short operations, and each
multi-threaded one ends at a barrier that waits for every thread. On a busy machine one of
them is often descheduled, and the others wait (spinning) for a whole time slice. On this
project's shared 2-core machine (`bench/bench_threads.py --sizes`, load average 4-5), torch's
default two threads trained the default preset (MLP 128x128, batch 512) at 0.05-0.1x the
speed of one thread, and even a 512x512 MLP at batch 2048 (540 M multiply-adds a step) at
0.35-0.44x; the best case seen for two threads, a quiet machine, was 1.18x (docs/design.md §8).
A thread count that is only sometimes faster and often many times slower fails "never
slower than one thread", so:

- `OMP_NUM_THREADS` (or `MKL_NUM_THREADS`) in the environment wins: torch has read it, and we leave it alone
  (a user who owns a quiet many-core machine and trains a large network can ask for more);
- otherwise every trainer (a headless run, each compare worker or Dask task, the window's
  training process) trains on one thread.
"""

from __future__ import annotations

import os

ENV = ("OMP_NUM_THREADS", "MKL_NUM_THREADS")   # what torch reads for its default count


def usable_cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:   # macOS, Windows
        return os.cpu_count() or 1


def choose() -> int | None:
    """Threads for one trainer; None where the environment has set them (leave torch's)."""
    if any(os.environ.get(v, "").strip() for v in ENV):
        return None
    return 1


def apply() -> int:
    """Set torch's intra-op threads by `choose`; returns the count in force."""
    import torch

    n = choose()
    if n is not None and n != torch.get_num_threads():
        torch.set_num_threads(n)
    return torch.get_num_threads()
