"""The comparison mode "Learned density" in 3-D: the model's density on a coarse n^3 grid
(core/measures/learned_density.py: -E for energy models, the p-weighted least-squares potential for
score models) beside the true one, from which the slice panel shows the current plane.

Why a worker thread: in 3-D the weighted Poisson solve is a sparse factorisation that takes
about half a second at 16^3 on a busy 2-core machine (2-D: a few ms, done in the GUI thread),
far over the window's 30 ms latency budget. The volume is computed from a copy of the model
at most every INTERVAL seconds while the mode is shown (gui/throttled_worker.py); moving the
slice re-slices the last volume in the GUI thread (a few microseconds), it does not
recompute it.
"""

from __future__ import annotations

import numpy as np

from ..core.measures import learned_density as LD
from .throttled_worker import ThrottledWorker

GRID = 16          # points per axis: 4,096 cells, the sparse solve in ~0.5 s
INTERVAL = 2.0     # seconds between volumes while training


class DensityVolume(ThrottledWorker):
    """Computes (LearnedDensity or None, true log p normalised, exact-score curl floor, n,
    level, error text or None) and hands it to the views area's `show_volume`."""

    def __init__(self, area, grid: int = GRID):
        super().__init__(area, "density-volume", INTERVAL)
        self.area = area
        self.grid = int(grid)
        self._truth = LD.TruthOnGrid()     # used in the worker thread only

    def wanted(self) -> bool:
        return self.area.view3d is not None and self.area.learned_density_shown()

    def snapshot(self):
        s = self.area.session
        model = s.model_copy() if self.area.has_learned else None
        return s.preset.copy(), s.density, model, s.view_level

    def compute(self, inputs):
        preset, density, model, level = inputs
        n = self.grid
        pts, true_logp, floor = self._truth.get(density, preset, level, n)
        res = None if model is None else LD.model_density(model, preset, pts, n, true_logp, level)
        dv = float(np.prod(LD.grid_spacing(preset.density["bounds"], n)))
        return res, LD.normalise_log(true_logp, dv), floor, n, level, None

    def failed(self, inputs, error):
        return (None, None, None, self.grid, inputs[3],
                f"learned density failed: {type(error).__name__}: {error}")

    def show(self, result) -> None:
        self.area.show_volume(result)
