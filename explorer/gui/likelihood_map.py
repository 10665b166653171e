"""The comparison mode "Likelihood (ODE)": the density a score SDE or flow-matching model
assigns by its ODE (core/measures/model_likelihood.py), exp(log p_theta), beside the true p, on the
field view's density page. In 1-D (no comparison modes: the curves show everything) it is a
dotted curve beside p, always while the model trains. In 3-D it is not offered: the slice
panel has no room for two maps, as for the learned density (`score-explorer run` writes
log p by the ODE on a 10^3 grid to field.npz).

Why a worker thread: each grid point is one adaptive ODE solve with the exact trace (576
points in 2-D take about a second on two busy cores), too slow for the GUI thread. The map
is computed from a copy of the model, at most every INTERVAL seconds while it is shown
(gui/throttled_worker.py).
"""

from __future__ import annotations

import numpy as np

from ..core.measures import model_likelihood as ML
from ..core.measures.grid import grid_points
from ..core.measures.learned_density import normalise_log
from .throttled_worker import ThrottledWorker

INTERVAL = 5.0      # seconds between maps while training
GRID = ML.GRID     # points per axis: 128 in 1-D, 24 in 2-D


class LikelihoodMap(ThrottledWorker):
    """(learned p (n, n) or None, true p (n, n), readout) drawn on the views area's field
    view (2-D) or curve view (1-D: (x, log p_theta, label))."""

    def __init__(self, area):
        super().__init__(area, "likelihood-map", INTERVAL)
        self.area = area

    def wanted(self) -> bool:
        a = self.area
        if not ML.available(a.session.preset):
            return False
        if a.curve_view is not None:     # 1-D: a curve beside p whenever the model has an ODE
            return True
        return (a.field_view is not None and a.view3d is None
                and a.mode_combo.currentData() == "likelihood")

    def snapshot(self):
        s = self.area.session
        model = s.model_copy() if self.area.has_learned else None
        return s.preset.copy(), model, s.density

    def compute(self, inputs):
        preset, model, density = inputs
        dim = preset.dim
        n = GRID[dim]
        shape = (n,) * dim
        cell = float(np.prod((np.diff(np.asarray(preset.density["bounds"]), axis=1)[:, 0]) / n))
        if model is None:
            if dim == 1:        # p is drawn already; no model yet: no ODE curve
                return None, None, ""
            true = np.exp(_true_log_p(preset, density, n, cell)).reshape(shape)
            return None, true, "press Play: the model's likelihood appears once it trains"
        pts, lp, true = ML.likelihood_grid(preset, model, density, n)
        learned = lp if dim == 1 else np.exp(lp).reshape(shape)
        mass = float(np.exp(lp).sum() * cell)
        readout = (f"pθ by the ODE (mass {mass:.2f})" if dim == 1 else
                   f"log pθ by the probability-flow ODE on {n}×{n} points "
                   f"(exact trace); its mass on the box {mass:.3f}")
        true = pts[:, 0] if dim == 1 else np.exp(true).reshape(shape)   # 1-D: where
        return learned, true, readout

    def failed(self, inputs, error):
        return None, None, f"likelihood failed: {type(error).__name__}: {error}"

    def show(self, result) -> None:
        learned, true, readout = result
        a = self.area
        if not self.wanted():
            return
        if a.curve_view is not None:
            a.curve_view.set_ode_density(true, learned, readout)   # 1-D: (x, log p, label)
        elif a.field_view is not None:
            a.field_view.set_densities(learned, true, readout, "Learned pθ(x) by the ODE likelihood",
                                       "True density p(x)")


def _true_log_p(preset, density, n: int, cell: float) -> np.ndarray:
    """log p of the data (not a noised level: the ODE's density is the data's) on the n^d grid."""
    import torch
    pts = grid_points(preset.density["bounds"], n)
    with torch.no_grad():
        lp = density.log_prob(torch.from_numpy(np.ascontiguousarray(pts, dtype=np.float64))).double().numpy()
    return normalise_log(lp, cell)
