"""Click in the particles plot: one particle's path from there, drawn over the cloud.

The path is computed off the GUI thread (a thousand sampler steps on one particle take
up to a second on a busy machine) on a copy of the network, so training goes on; a newer
click supersedes an older one, and closing the window waits for the one running.
"""

from __future__ import annotations

from concurrent.futures import Future, ThreadPoolExecutor

import numpy as np
from PySide6.QtCore import QObject, QTimer, Qt

from ..core.scores import LearnedScore, TrueScore
from ..core.samplers.trajectory import trajectory


class TraceTool(QObject):
    def __init__(self, window):
        super().__init__(window)
        self.window = window
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="trace")
        self._future: Future | None = None
        self._clicks = 0
        self._timer = QTimer(self)
        self._timer.setInterval(50)
        self._timer.timeout.connect(self._poll)
        self._scene = None

    def watch(self, particles_view) -> None:
        if self._scene is not None:
            try:
                self._scene.sigMouseClicked.disconnect(self._clicked)
            except (RuntimeError, TypeError):
                pass
            self._scene = None
        plot = getattr(particles_view, "plot", None)
        if plot is None or not hasattr(particles_view, "set_trace"):
            return
        self.view = particles_view
        self._scene = plot.scene()
        self._scene.sigMouseClicked.connect(self._clicked)

    def _clicked(self, event) -> None:
        if event.button() != Qt.LeftButton or event.double():
            return
        vb = self.view.plot.getViewBox()
        if not vb.sceneBoundingRect().contains(event.scenePos()):
            return
        p = vb.mapSceneToView(event.scenePos())
        self.trace_from(np.array([p.x(), p.y()]))

    def trace_from(self, xy: np.ndarray) -> None:
        """Start a path at a point of the plane (2-D densities)."""
        w = self.window
        if w.preset.dim != 2:
            return
        p = w.preset
        model = w.session.model_copy()
        if p.sampler["score"] == "true" or model is None:
            score = TrueScore(w.density, p)
        else:
            score = LearnedScore(model, p)
        self._clicks += 1
        seed = self._clicks
        self._future = self._pool.submit(trajectory, p.copy(), score, "cpu", xy, seed)
        w.statusBar().showMessage("Tracing one particle from "
                                  f"({xy[0]:.3g}, {xy[1]:.3g})…", 3000)
        self._timer.start()

    def _poll(self) -> None:
        f = self._future
        if f is None or not f.done():
            return
        self._timer.stop()
        self._future = None
        try:
            path = f.result()
        except Exception as e:  # a bad score on this point: say so, keep the view
            self.window.show_error(f"Could not trace the particle: {type(e).__name__}: {e}")
            return
        self.view.set_trace(path)
        end = path[-1]
        self.window.statusBar().showMessage(
            f"One particle's path: {len(path) - 1} points, ends at ({end[0]:.3g}, {end[1]:.3g}). "
            "Click elsewhere for another.", 8000)

    def close(self) -> None:
        self._timer.stop()
        self._pool.shutdown(wait=True, cancel_futures=True)
