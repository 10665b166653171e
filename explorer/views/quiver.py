"""A vector field as arrows: shafts and heads in ONE PlotCurveItem with connect='pairs'
(pyqtgraph has no quiver; this draws 40 x 40 arrows in a few milliseconds).

Arrow length. A vector v at a point p becomes an arrow from p to p + u with

    u = v / scale * 0.9 * cell,   |u| clipped to 1.2 * cell,

where `cell` is the grid spacing and `scale` a reference magnitude: by default the
95th percentile of this field's finite norms, so a typical long arrow is 0.9 of a cell,
and the few huge scores far from the data (grad log p grows linearly in the tails)
cannot cover the plot. Pass the same `scale` to two quivers (learned and true) to draw
them comparably: equal vectors give equal arrows. `reference_scale(a, b)` computes one.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg

from .style import LEARNED
from .common import as_points, grid_cell

TYPICAL_FRACTION = 0.9   # a vector of norm `scale` is this many cells long
CLIP_CELLS = 1.2         # no arrow is longer than this many cells
HEAD_FRACTION = 0.32     # head length relative to the arrow
HEAD_MAX_CELLS = 0.32    # ... but at most this many cells
HEAD_ANGLE = np.deg2rad(24.0)


def reference_scale(*vector_sets, q: float = 95.0) -> float:
    """A shared scale for several fields: the q-th percentile of all finite norms."""
    norms = []
    for v in vector_sets:
        if v is None:
            continue
        a = as_points(v, 2)
        n = np.linalg.norm(a, axis=1)
        norms.append(n[np.isfinite(n)])
    allv = np.concatenate(norms) if norms else np.zeros(0)
    allv = allv[allv > 0]
    if allv.size == 0:
        return 1.0
    s = float(np.percentile(allv, q))
    return s if s > 0 else float(allv.max())


class QuiverItem(pg.PlotCurveItem):
    """Arrows from `points` along `vectors`; see the module docstring for lengths.

    After `set_data`: `scale` (the reference magnitude used), `cell` (grid spacing),
    `tips` ((G, 2) arrow ends, NaN for vectors not drawn: non-finite or zero) and
    `arrow_count`.
    """

    def __init__(self, color=LEARNED, width: float = 1.5, name: str | None = None):
        super().__init__(connect="pairs", antialias=True, name=name)
        self.color = tuple(color[:3])
        self.width = float(width)
        self.scale = 1.0
        self.cell = 1.0
        self.tips = np.zeros((0, 2))
        self.arrow_count = 0
        self.magnitude_colors: np.ndarray | None = None   # (K, 3): direction-only mode
        self._bins: list[pg.PlotCurveItem] = []
        self._apply_pen()

    def _apply_pen(self) -> None:
        self.setPen(pg.mkPen(self.color, width=self.width))
        for item, rgb in zip(self._bins, self.magnitude_colors if self._bins else []):
            item.setPen(pg.mkPen(tuple(int(c) for c in rgb), width=self.width))

    def set_pen(self, color=None, width: float | None = None) -> None:
        if color is not None:
            self.color = tuple(color[:3])
        if width is not None:
            self.width = float(width)
        self._apply_pen()

    def set_magnitude_colors(self, colors) -> None:
        """Direction-only arrows: every arrow TYPICAL_FRACTION of a cell long, coloured by
        |v| / scale through `colors` ((K, 3) RGB, low to high; |v| >= scale takes the last).
        None returns to arrows whose length shows |v| in the item's one colour."""
        for item in self._bins:
            item.setParentItem(None)
            if item.scene() is not None:
                item.scene().removeItem(item)
        self._bins = []
        self.magnitude_colors = None if colors is None else np.asarray(colors, dtype=float)[:, :3]
        if self.magnitude_colors is not None:
            for _ in self.magnitude_colors:
                item = pg.PlotCurveItem(connect="pairs", antialias=True)
                item.setParentItem(self)
                self._bins.append(item)
        self._apply_pen()

    def set_data(self, points, vectors, scale: float | None = None, color=None,
                 width: float | None = None, cell: float | None = None) -> None:
        if color is not None or width is not None:
            self.set_pen(color, width)
        p = as_points(points, 2)
        v = as_points(vectors, 2)
        g = min(len(p), len(v))
        p, v = p[:g], v[:g]
        if cell is None or not (np.isfinite(cell) and cell > 0):
            cell = grid_cell(p) or 1.0
        self.cell = float(cell)
        if scale is None or not (np.isfinite(scale) and scale > 0):
            scale = reference_scale(v)
        self.scale = float(scale)

        norm = np.linalg.norm(v, axis=1)
        ok = np.isfinite(norm) & np.isfinite(p).all(axis=1) & (norm > 0)
        tips = np.full((g, 2), np.nan)
        if not ok.any():
            self.tips = tips
            self.arrow_count = 0
            self._set_segments(np.zeros((0, 2)), np.zeros(0))
            return
        p0 = p[ok]
        n0 = norm[ok]
        direction = v[ok] / n0[:, None]
        if self.magnitude_colors is None:
            length = np.minimum(n0 / self.scale * TYPICAL_FRACTION * self.cell,
                                CLIP_CELLS * self.cell)
        else:
            length = np.full(len(n0), TYPICAL_FRACTION * self.cell)
        tip = p0 + direction * length[:, None]
        tips[ok] = tip
        head = np.minimum(HEAD_FRACTION * length, HEAD_MAX_CELLS * self.cell)[:, None]
        c, s = np.cos(HEAD_ANGLE), np.sin(HEAD_ANGLE)
        back = -direction
        left = np.stack([c * back[:, 0] - s * back[:, 1], s * back[:, 0] + c * back[:, 1]], axis=1)
        right = np.stack([c * back[:, 0] + s * back[:, 1], -s * back[:, 0] + c * back[:, 1]], axis=1)
        # Three segments per arrow: shaft, left barb, right barb.
        seg = np.empty((len(p0), 6, 2))
        seg[:, 0] = p0
        seg[:, 1] = tip
        seg[:, 2] = tip
        seg[:, 3] = tip + left * head
        seg[:, 4] = tip
        seg[:, 5] = tip + right * head
        self.tips = tips
        self.arrow_count = int(ok.sum())
        self._set_segments(seg.reshape(-1, 2), n0 / self.scale)

    def _set_segments(self, seg: np.ndarray, relative: np.ndarray) -> None:
        """Draw (6 per arrow, 2) segment ends: in one curve, or one curve per colour bin."""
        if self.magnitude_colors is None:
            self.setData(seg[:, 0], seg[:, 1], connect="pairs")
            return
        self.setData(np.zeros(0), np.zeros(0))
        k = len(self._bins)
        which = np.minimum((relative * k).astype(int), k - 1) if len(relative) else relative
        per_arrow = seg.reshape(-1, 6, 2)
        for b, item in enumerate(self._bins):
            s = per_arrow[which == b].reshape(-1, 2)
            item.setData(s[:, 0], s[:, 1], connect="pairs")

    def paint(self, p, *args) -> None:
        # Qt strokes antialiased cosmetic lines ~10x slower when x and y are scaled
        # differently (a plot without a locked aspect ratio): draw those without AA.
        t = p.deviceTransform()
        sx, sy = abs(t.m11()), abs(t.m22())
        aa = self.opts["antialias"]
        if aa and abs(sx - sy) > 1e-3 * max(sx, sy):
            self.opts["antialias"] = False
            try:
                super().paint(p, *args)
            finally:
                self.opts["antialias"] = aa
        else:
            super().paint(p, *args)

    def clear_arrows(self) -> None:
        self.tips = np.zeros((0, 2))
        self.arrow_count = 0
        self._set_segments(np.zeros((0, 2)), np.zeros(0))

    def segments(self) -> np.ndarray:
        """(3 * arrow_count, 2, 2): shaft, left barb, right barb of each drawn arrow."""
        parts = [self] + self._bins
        xy = [np.stack([c.xData, c.yData], axis=1) for c in parts
              if c.xData is not None and len(c.xData)]
        return np.concatenate(xy).reshape(-1, 2, 2) if xy else np.zeros((0, 2, 2))
