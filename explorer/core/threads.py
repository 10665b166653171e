"""How many torch threads a trainer gets: never fewer steps per second than one thread.

A training step of the small MLPs this program trains is a few dozen short operations, and
each multi-threaded one ends at a barrier that waits for every thread. On a busy machine one
of them is often descheduled, and the others wait (spinning) for a whole time slice: on two
shared cores the default preset trained 22-25 steps/s with torch's default two threads and
116 with one. On a quiet machine two threads were at best 1.18x faster. Large operations
amortise the barrier, so a network with much more work per step does gain from threads even
when a core is shared (`bench/bench_threads.py` prints both sides).

The policy:
- `OMP_NUM_THREADS` in the environment wins: torch has read it, and we leave it alone.
- Several trainers at once (compare workers, Dask tasks) and trainers on a GPU: one thread.
- A trainer alone on the CPU: one thread when a step is small (under `SMALL_STEP`
  multiply-adds), else every usable core but `spare` (the window keeps one to paint on).
"""

from __future__ import annotations

import os

SMALL_STEP = 1.0e9   # multiply-adds per training step (forward, batch included) below which
                     # one thread is as fast or faster, quiet or busy (bench_threads.py --sizes)


def usable_cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:   # macOS, Windows
        return os.cpu_count() or 1


def step_work(preset) -> float:
    """Multiply-adds of one forward pass of the training batch through the MLP."""
    d = preset.dim
    conditioned = preset.objective["kind"] in ("ncsn", "ddpm")
    out = 1 if preset.model["kind"] == "energy" else d
    widths = [d + conditioned, *preset.model["hidden"], out]
    per_sample = sum(a * b for a, b in zip(widths, widths[1:]))
    return float(per_sample) * int(preset.training["batch_size"])


def choose(preset=None, *, alone: bool = True, spare: int = 0, device=None) -> int | None:
    """Threads for one trainer (`alone`: no other trainer of ours shares the machine);
    None where the environment has set them (leave torch's)."""
    if os.environ.get("OMP_NUM_THREADS", "").strip():
        return None
    if not alone or (device is not None and getattr(device, "type", str(device)) != "cpu"):
        return 1
    if preset is None or step_work(preset) < SMALL_STEP:
        return 1
    return max(1, usable_cores() - spare)


def apply(preset=None, **kw) -> int:
    """Set torch's intra-op threads by `choose`; returns the count in force."""
    import torch

    n = choose(preset, **kw)
    if n is not None and n != torch.get_num_threads():
        torch.set_num_threads(n)
    return torch.get_num_threads()
