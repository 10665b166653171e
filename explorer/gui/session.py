"""What the window computes from a preset without training: the density picture and the true field.

Kept apart from the window so that it is plain numpy in, numpy out, and the window only
decides when to ask for it.
"""

from __future__ import annotations

import numpy as np
import torch

from ..core.grid import grid_axes, grid_points
from ..core.preset import Preset
from ..core.scores import TrueScore

IMAGE_RES = 160        # pixels per side of the density background
KERNEL_IMAGE_RES = 96  # for kernel densities (paintings, points): each pixel costs every centre


def density_image(density, bounds, n: int | None = None) -> np.ndarray:
    """p on an n x n grid over 2-D bounds (first index x), scaled to max 1."""
    if n is None:
        n = KERNEL_IMAGE_RES if getattr(density, "n_centres", 0) > 500 else IMAGE_RES
    pts = torch.from_numpy(grid_points(bounds, n))
    with torch.no_grad():
        lp = torch.cat([density.log_prob(b) for b in torch.split(pts, 8192)]).double().numpy()
    lp = np.where(np.isfinite(lp), lp, -np.inf)
    p = np.exp(lp - lp.max()) if np.isfinite(lp).any() else np.zeros_like(lp)
    return p.reshape(n, n)


def density_curve(density, bounds, n: int = 400) -> tuple[np.ndarray, np.ndarray]:
    """(xs, p(xs)) for a 1-D density, p normalised to integrate to 1 over the range."""
    xs = grid_axes(bounds, n)[0]
    with torch.no_grad():
        lp = density.log_prob(torch.from_numpy(xs.astype(np.float32))[:, None]).double().numpy()
    p = np.exp(lp - lp.max())
    dx = xs[1] - xs[0]
    return xs, p / (p.sum() * dx)


def true_field(density, preset: Preset, points: np.ndarray, sigma: float | None = None
               ) -> np.ndarray:
    """The true score on `points`: at the finest level, or of p_sigma when sigma is given."""
    ts = TrueScore(density, preset)
    x = torch.from_numpy(points)
    with torch.no_grad():
        if sigma is None:
            s = torch.cat([ts.field(b) for b in torch.split(x, 8192)])
        else:
            s = torch.cat([ts.at_sigma(b, sigma) for b in torch.split(x, 8192)])
    return s.numpy().astype(np.float32)


def density_at(density, points: np.ndarray) -> np.ndarray:
    """p(points) scaled to max 1 (for weighting the error map)."""
    with torch.no_grad():
        lp = density.log_prob(torch.from_numpy(points)).double().numpy()
    return np.exp(lp - lp.max()).astype(np.float32)
