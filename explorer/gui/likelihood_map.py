"""The comparison mode "Likelihood (ODE)": the density a score SDE or flow-matching model
assigns by its ODE (core/measures/model_likelihood.py), exp(log p_theta), beside the true p, on the
field view's density page. In 1-D (no comparison modes: the curves show everything) it is a
dotted curve beside p, always while the model trains. In 3-D it is not offered: the slice
panel has no room for two maps, as for the learned density (`score-explorer run` writes
log p by the ODE on a 10^3 grid to field.npz).

Why a worker thread: each grid point is one adaptive ODE solve with the exact trace (576
points in 2-D take about a second on two busy cores), too slow for the GUI thread. The map
is computed from a copy of the model, at most every INTERVAL seconds while it is shown;
the result comes back through a queued signal to a slot in the GUI thread. A newer request
while one is running is remembered and run after it, never in parallel.
"""

from __future__ import annotations

import threading
import time

import numpy as np
from PySide6.QtCore import QObject, QTimer, Signal, Slot

from ..core.measures import model_likelihood as ML

INTERVAL = 5.0      # seconds between maps while training
GRID = ML.GRID     # points per axis: 128 in 1-D, 24 in 2-D


class LikelihoodMap(QObject):
    ready = Signal(object)      # (learned p (n, n) or None, true p (n, n), readout)

    def __init__(self, area):
        super().__init__(area)
        self.area = area
        self._thread: threading.Thread | None = None
        self._again = False
        self._last = -1e9
        self.seconds = None          # how long the last map took (in the worker)
        self.ready.connect(self._show)
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.timeout.connect(lambda: self.request(now=True))

    def shown(self) -> bool:
        a = self.area
        if a.curve_view is not None:     # 1-D: a curve beside p whenever the model has an ODE
            return ML.available(a.session.preset)
        return (a.field_view is not None and a.view3d is None
                and a.mode_combo.currentData() == "likelihood")

    def request(self, now: bool = False) -> None:
        """A new map if shown and the last is INTERVAL old (or `now`); one at a time."""
        if not self.shown() or not ML.available(self.area.session.preset):
            return
        wait = INTERVAL - (time.perf_counter() - self._last)
        if not now and wait > 0:
            if not self._timer.isActive():      # the last request is drawn too, a bit later
                self._timer.start(int(1000 * wait) + 1)
            return
        self._timer.stop()
        if self._thread is not None and self._thread.is_alive():
            self._again = True
            return
        s = self.area.session
        model = s.model_copy() if self.area._last_learned is not None else None
        preset, density = s.preset.copy(), s.density
        self._last = time.perf_counter()
        self._again = False
        self._thread = threading.Thread(target=self._compute, args=(preset, model, density),
                                        name="likelihood-map", daemon=True)
        self._thread.start()

    def _compute(self, preset, model, density) -> None:
        t0 = time.perf_counter()
        try:
            import torch
            torch.set_num_threads(1)     # beside training and sampling, on a 2-core machine
            dim = preset.dim
            n = GRID[dim]
            shape = (n,) * dim
            if model is None:
                if dim == 1:        # p is drawn already; no model yet: no ODE curve
                    self.ready.emit((None, None, ""))
                    return
                pts, true, _ = _true_only(preset, density)
                learned, readout = None, "press Play: the model's likelihood appears once it trains"
            else:
                pts, lp, true = ML.likelihood_grid(preset, model, density, n)
                learned = lp if dim == 1 else np.exp(lp).reshape(shape)
                cell = float(np.prod((np.diff(np.asarray(preset.density["bounds"]), axis=1)[:, 0]) / n))
                mass = float(np.exp(lp).sum() * cell)
                readout = (f"pθ by the ODE (mass {mass:.2f})" if dim == 1 else
                           f"log pθ by the probability-flow ODE on {n}×{n} points "
                           f"(exact trace); its mass on the box {mass:.3f}")
            self.seconds = time.perf_counter() - t0
            true = pts[:, 0] if dim == 1 else np.exp(true).reshape(shape)   # 1-D: where
            self.ready.emit((learned, true, readout))
        except RuntimeError:
            pass   # the window closed while this ran: nothing to draw on
        except Exception as e:  # noqa: BLE001 - a numerical failure shows as text, not a crash
            try:
                self.ready.emit((None, None, f"likelihood failed: {type(e).__name__}: {e}"))
            except RuntimeError:
                pass

    @Slot(object)
    def _show(self, result) -> None:
        learned, true, readout = result
        a = self.area
        if a.curve_view is not None:
            if self.shown():
                a.curve_view.set_ode_density(true, learned, readout)   # 1-D: (x, log p, label)
        elif a.field_view is not None and self.shown():
            a.field_view.set_densities(learned, true, readout, "Learned pθ(x) by the ODE likelihood",
                                       "True density p(x)")
        if self._again:
            self.request(now=True)

    def join(self, timeout: float = 2.0) -> None:
        self._timer.stop()
        if self._thread is not None:
            self._thread.join(timeout)


def _true_only(preset, density):
    from ..core.measures.grid import grid_points
    import torch
    n = GRID[2]
    pts = grid_points(preset.density["bounds"], n)
    with torch.no_grad():
        lp = density.log_prob(torch.from_numpy(np.ascontiguousarray(pts, dtype=np.float64))).double().numpy()
    cell = float(np.prod((np.diff(np.asarray(preset.density["bounds"]), axis=1)[:, 0]) / n))
    from ..core.measures.learned_density import normalise_log
    return pts, normalise_log(lp, cell), None
