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


def volume_slice(values, bounds, n: int, axis: int, value: float) -> np.ndarray:
    """The (n, n) plane `x[axis] = value` of values on the n^3 grid_points grid, linear between
    the two grid planes around it (the nearest one beyond the outermost cell centres).

    Why linear and not the nearest plane: the slider moves the plane continuously, and a
    picture that jumps only every cell reads as a lag. The remaining axes keep their order
    (first index along the first of them), as the slice panel draws them."""
    v = np.asarray(values, dtype=np.float64).reshape(n, n, n)
    lo, hi = np.asarray(bounds, dtype=np.float64)[axis]
    pos = np.clip((float(value) - lo) / ((hi - lo) / n) - 0.5, 0.0, n - 1.0)
    i = min(int(np.floor(pos)), n - 2) if n > 1 else 0
    f = pos - i if n > 1 else 0.0
    a = np.take(v, i, axis=axis)
    if f == 0.0 or n == 1:
        return a
    return (1.0 - f) * a + f * np.take(v, i + 1, axis=axis)
