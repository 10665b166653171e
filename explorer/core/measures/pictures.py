"""What the views draw that needs no training: the density picture and the true field.

Plain numpy in, numpy out, and Qt-free, so that the window, the offline exporter and the
compare lab compute the same pictures; each only decides when to ask for them.
"""

from __future__ import annotations

import numpy as np
import torch

from ..densities.base import kernel_log_prob
from .grid import grid_axes, grid_points
from ..presets.preset import Preset
from ..scores import TrueScore

IMAGE_RES = 160        # pixels per side of the density background
KERNEL_IMAGE_RES = 96  # for kernel densities (paintings, points): each pixel costs every centre


def perturbed_log_prob(density, x: torch.Tensor, sigma: float, scale: float) -> torch.Tensor:
    """log of the density of scale * y + sigma * z up to a constant, from the density's own
    `perturbed_log_prob` (closed form for mixtures, kernel densities and the checkerboard,
    converged quadrature for the other shapes, at every sigma). Only a density without one
    falls back to `Density.perturbed_score`'s Monte-Carlo kernel estimate and its cutoff."""
    if sigma <= 0 and scale == 1.0:
        return density.log_prob(x)
    exact = getattr(density, "perturbed_log_prob", None)
    if exact is not None:
        return exact(x, sigma, scale)
    if sigma < density._mc_min_sigma() * scale:
        return density.log_prob(x / scale)
    return kernel_log_prob(x, density._mc_centres(x.device) * scale, None, sigma)


def _log_p(density, points: np.ndarray, noise: tuple[float, float]) -> np.ndarray:
    x = torch.from_numpy(np.ascontiguousarray(points, dtype=np.float32))
    with torch.no_grad():
        lp = torch.cat([perturbed_log_prob(density, b, *noise)
                        for b in torch.split(x, 8192)]).double().numpy()
    return np.where(np.isfinite(lp), lp, -np.inf)


def density_image(density, bounds, n: int | None = None,
                  noise: tuple[float, float] = (0.0, 1.0)) -> np.ndarray:
    """p (or its perturbed law at `noise` = (sigma, scale)) on an n x n grid over 2-D bounds
    (first index x), scaled to max 1."""
    if n is None:
        n = KERNEL_IMAGE_RES if getattr(density, "n_centres", 0) > 500 else IMAGE_RES
    lp = _log_p(density, grid_points(bounds, n), noise)
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


def true_field(density, preset: Preset, points: np.ndarray,
               level: tuple[str, float] | None = None) -> np.ndarray:
    """The true score on `points`: at the finest level, or at a slider's level (the score of
    p_sigma for ("sigma", s), of DDPM's marginal for ("step", t), of p_t on a continuous
    path for ("t", t))."""
    ts = TrueScore(density, preset)
    x = torch.from_numpy(points)
    with torch.no_grad():
        s = torch.cat([ts.at_level(b, level) for b in torch.split(x, 8192)])
    return s.numpy().astype(np.float32)


def density_at(density, points: np.ndarray, noise: tuple[float, float] = (0.0, 1.0)) -> np.ndarray:
    """p(points) (or its perturbed law's) scaled to max 1 (for weighting the error map)."""
    lp = _log_p(density, points, noise)
    return np.exp(lp - lp.max()).astype(np.float32)
