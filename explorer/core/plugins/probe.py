"""A plugin density is tried on a few of its own samples when it is built, so that a NaN
log-density, score or mixture weight is one message naming the plugin, not numpy's
"pvals < 0, pvals > 1 or pvals contains NaNs" (or a NaN Fisher divergence) much later.
The built-ins are tested by the suite and are not probed."""

from __future__ import annotations

import numpy as np
import torch

from ..errors import PluginFault
from .blame import describe
from .registry import REGISTRY

PROBE_SAMPLES = 64


def probe_density(kind: str, density) -> None:
    entry = REGISTRY.get("density", kind)
    if entry is None or entry.builtin:
        return
    who = describe(entry)
    with torch.random.fork_rng(devices=[]), torch.no_grad():   # the seeded runs stay as they were
        x = density.sample(PROBE_SAMPLES, torch.Generator().manual_seed(0))
        d = density.dim
        if not isinstance(x, torch.Tensor) or tuple(x.shape) != (PROBE_SAMPLES, d):
            shape = tuple(x.shape) if isinstance(x, torch.Tensor) else type(x).__name__
            raise PluginFault(f"{who}: sample({PROBE_SAMPLES}) must return a ({PROBE_SAMPLES}, {d}) "
                              f"tensor, got {shape}")
        x = x.float()
        if not torch.isfinite(x).all():
            raise PluginFault(f"{who}: sample() returned NaN or infinite points")
        for what, value, shape in (("log_prob", density.log_prob(x), (PROBE_SAMPLES,)),
                                   ("score", density.score(x), (PROBE_SAMPLES, d))):
            if not isinstance(value, torch.Tensor) or tuple(value.shape) != shape:
                raise PluginFault(f"{who}: {what}(x) must return shape {shape}")
            bad = int((~torch.isfinite(value)).reshape(PROBE_SAMPLES, -1).any(1).sum())
            if bad:
                raise PluginFault(f"{who}: {what}(x) is NaN or infinite at {bad} of "
                                  f"{PROBE_SAMPLES} of its own samples")
        comps = density.components()
        if comps is not None:
            w = np.asarray(comps[0], dtype=np.float64)
            if w.ndim != 1 or not len(w) or not (np.isfinite(w).all() and (w > 0).all()):
                raise PluginFault(f"{who}: components() must give positive, finite weights, "
                                  f"got {np.array2string(w, threshold=6)}")
