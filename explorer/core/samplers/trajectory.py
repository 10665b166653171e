"""One particle's path under the run's sampler, from a point the user chose.

The cloud shows where particles end; a single path shows how one gets there: plain
Langevin from between two modes falls into the nearer one and rarely crosses, annealed
Langevin drifts across at large sigma first. The path is the sampler's own (same kind,
step sizes, schedule and noise convention), started at the point instead of at random.
"""

from __future__ import annotations

import numpy as np
import torch

from ..presets.preset import Preset
from . import build_sampler

MAX_POINTS = 2000   # the path is thinned to at most this many points (the last one kept)


def trajectory(preset: Preset, score, device, start, seed: int | None = None) -> np.ndarray:
    """(k, d) positions from `start` to the end of the sampler's schedule (or until it blows
    up), at most MAX_POINTS of them, evenly spaced in steps, first and last included."""
    sampler = build_sampler(preset, score, device, particles=1)
    if seed is not None:
        sampler.gen.manual_seed(int(seed))
    x0 = torch.as_tensor(np.asarray(start, dtype=np.float32).reshape(1, -1), device=sampler.x.device)
    if x0.shape[1] != sampler.x.shape[1]:
        raise ValueError(f"start has {x0.shape[1]} coordinates, the density {sampler.x.shape[1]}")
    sampler.x = x0
    every = max(1, -(-sampler.total // MAX_POINTS))
    path = [x0[0].cpu().numpy().copy()]
    while not sampler.done:
        sampler.advance(min(every, sampler.total - sampler.done_steps))
        if not torch.isfinite(sampler.x).all():
            break
        path.append(sampler.x[0].cpu().numpy().copy())
    return np.asarray(path, dtype=np.float64)
