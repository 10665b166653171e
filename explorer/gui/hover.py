"""What the field is at the mouse: p(x), the learned and the true score, in the status bar.

A lecturer points at a spot ("here, between the modes, the arrows disagree") and the class
wants the numbers. They go in the status bar, never over the data. The readout follows
the slider's noise level, as the arrows do; for a 3-D density it reads the slice.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
import torch
from PySide6.QtCore import QObject

from ..core.scores import TrueScore, level_label


class HoverReadout(QObject):
    def __init__(self, window):
        super().__init__(window)
        self.window = window
        self._scenes: list = []
        self.last_text = ""

    def watch(self, plots: list[pg.PlotItem]) -> None:
        """Follow the mouse over these plots (a new arrangement of views replaces the old)."""
        for scene, slot in self._scenes:
            try:
                scene.sigMouseMoved.disconnect(slot)
            except (RuntimeError, TypeError):
                pass
        self._scenes = []
        for plot in plots:
            scene = plot.scene()
            if scene is None:
                continue
            slot = (lambda pos, p=plot: self._moved(p, pos))
            scene.sigMouseMoved.connect(slot)
            self._scenes.append((scene, slot))

    def _moved(self, plot: pg.PlotItem, pos) -> None:
        vb = plot.getViewBox()
        if not vb.sceneBoundingRect().contains(pos):
            return
        p = vb.mapSceneToView(pos)
        text = self.describe(np.array([p.x(), p.y()]))
        if text:
            self.last_text = text
            self.window.statusBar().showMessage(text, 10000)

    def describe(self, xy: np.ndarray) -> str:
        """The readout at a point of the plane (the slice plane's third coordinate in 3-D)."""
        w = self.window
        if w.preset.dim == 1:
            x = np.array([xy[0]])
        elif w.preset.dim == 2:
            x = xy[:2]
        else:
            axis, value = w.view3d.slice()
            others = [i for i in range(3) if i != axis]
            x = np.zeros(3)
            x[others] = xy[:2]
            x[axis] = value
        level = w.session.view_level
        t = torch.tensor(x[None], dtype=torch.float32)
        with torch.no_grad():
            true = TrueScore(w.density, w.preset).at_level(t, level)[0].numpy()
            log_p = float(w.density.log_prob(t)[0])
            learned = w.session.learned_at(t, level)
            learned = None if learned is None else learned[0]
        vec = lambda v: "(" + ", ".join(f"{c:.3g}" for c in v) + ")"  # noqa: E731
        parts = [f"x = {vec(x)}", f"log p(x) = {log_p:.3g}", f"true ∇log p = {vec(true)}"]
        if learned is not None:
            parts.append(f"learned sθ = {vec(learned)}")
            parts.append(f"|sθ − ∇log p| = {float(np.linalg.norm(learned - true)):.3g}")
        if level is not None:
            parts.append("at " + level_label(level))
        return "   ".join(parts)
