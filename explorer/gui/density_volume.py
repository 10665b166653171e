"""The comparison mode "Learned density" in 3-D: the model's density on a coarse n^3 grid
(core/measures/learned_density.py: -E for energy models, the p-weighted least-squares potential for
score models) beside the true one, from which the slice panel shows the current plane.

Why a worker thread: in 3-D the weighted Poisson solve is a sparse factorisation that takes
about half a second at 16^3 on a busy 2-core machine (2-D: a few ms, done in the GUI thread),
far over the window's 30 ms latency budget. The volume is computed from a copy of the model
at most every INTERVAL seconds while the mode is shown; moving the slice re-slices the last
volume in the GUI thread (a few microseconds), it does not recompute it. One computation at a
time: a request while one runs is remembered and run after it.
"""

from __future__ import annotations

import threading
import time

import numpy as np
from PySide6.QtCore import QObject, QTimer, Signal, Slot

from ..core.measures import learned_density as LD
from ..core.measures import pictures
from ..core.measures.grid import grid_points

GRID = 16          # points per axis: 4,096 cells, the sparse solve in ~0.5 s
INTERVAL = 2.0     # seconds between volumes while training


class DensityVolume(QObject):
    """Computes (LearnedDensity or None, true log p, exact-score curl floor, n) off the GUI
    thread and emits it through `ready` (queued to the GUI thread)."""

    ready = Signal(object)

    def __init__(self, parent, grid: int = GRID):
        super().__init__(parent)
        self.grid = int(grid)
        self._thread: threading.Thread | None = None
        self._again = None
        self._last = -1e9
        self._floors: dict = {}      # (id(density), level) -> (density, true log p, floor)
        self.seconds = None          # how long the last volume took (in the worker)
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.timeout.connect(self._run_pending)
        self._pending = None

    def request(self, session, has_model: bool, now: bool = False) -> None:
        """A new volume for the session's model (if `has_model`) and noise level; at most
        every INTERVAL seconds unless `now`, and never two at once."""
        job = (session, has_model)
        wait = INTERVAL - (time.perf_counter() - self._last)
        if not now and wait > 0:
            self._pending = job
            if not self._timer.isActive():    # the last request is drawn too, a bit later
                self._timer.start(int(1000 * wait) + 1)
            return
        self._timer.stop()
        self._pending = None
        if self._thread is not None and self._thread.is_alive():
            self._again = job
            return
        s = session
        model = s.model_copy() if has_model else None
        self._last = time.perf_counter()
        self._thread = threading.Thread(
            target=self._compute, args=(s.preset.copy(), s.density, model, s.view_level),
            name="density-volume", daemon=True)
        self._thread.start()

    def _run_pending(self) -> None:
        if self._pending is not None:
            self.request(*self._pending, now=True)

    def _truth(self, preset, density, level, pts):
        key = (id(density), level)
        hit = self._floors.get(key)
        if hit is not None and hit[0] is density:
            return hit[1], hit[2]
        n = self.grid
        bounds = preset.density["bounds"]
        true_logp = LD.true_log_density(density, preset, pts, level)
        exact = pictures.true_field(density, preset, pts, level)
        floor = LD.from_field(pts, exact, bounds, n, true_logp).curl_fraction
        if len(self._floors) > 8:
            self._floors.clear()
        self._floors[key] = (density, true_logp, floor)
        return true_logp, floor

    def _compute(self, preset, density, model, level) -> None:
        t0 = time.perf_counter()
        try:
            import torch
            torch.set_num_threads(1)     # beside training and sampling, on a 2-core machine
            n = self.grid
            bounds = preset.density["bounds"]
            pts = grid_points(bounds, n)
            true_logp, floor = self._truth(preset, density, level, pts)
            res = None
            if model is not None:
                if LD.has_energy_density(model):   # -E and its gradient in one pass
                    energy, field = LD.energy_log_density(model, preset, pts, level, with_field=True)
                else:
                    field, energy = LD.learned_field(model, preset, pts, level), None
                res = LD.from_field(pts, field, bounds, n, true_logp, energy, level)
            dv = float(np.prod(LD.grid_spacing(bounds, n)))
            self.seconds = time.perf_counter() - t0
            self.ready.emit((res, LD.normalise_log(true_logp, dv), floor, n, level, None))
        except RuntimeError:
            pass   # the window closed while this ran: nothing to draw on
        except Exception as e:  # noqa: BLE001 - a numerical failure shows as text, not a crash
            try:
                self.ready.emit((None, None, None, self.grid, level,
                                 f"learned density failed: {type(e).__name__}: {e}"))
            except RuntimeError:
                pass

    @Slot()
    def after_shown(self) -> None:
        """Called by the receiver once a volume is drawn: run the request that came meanwhile."""
        if self._again is not None:
            job, self._again = self._again, None
            self.request(*job, now=True)

    def join(self, timeout: float = 2.0) -> None:
        self._timer.stop()
        self._pending = self._again = None
        if self._thread is not None:
            self._thread.join(timeout)
