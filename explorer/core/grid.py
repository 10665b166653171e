"""The grid over the bounds where score fields are drawn and written (field.npz)."""

from __future__ import annotations

import numpy as np


def grid_axes(bounds, n: int) -> list[np.ndarray]:
    """Cell-centred coordinates per axis, so arrows never sit on the box edge."""
    b = np.asarray(bounds, dtype=np.float64)
    out = []
    for lo, hi in b:
        step = (hi - lo) / n
        out.append(lo + step * (np.arange(n) + 0.5))
    return out


def grid_points(bounds, n: int) -> np.ndarray:
    """(n**d, d) float32 points, first axis varying slowest (reshape to (n,)*d + (d,))."""
    axes = grid_axes(bounds, n)
    mesh = np.meshgrid(*axes, indexing="ij")
    return np.stack([m.ravel() for m in mesh], axis=1).astype(np.float32)
