"""The grid on which `run` measures the learned density: fine enough that the exact score's
own density on it is at the floor, with the exact score's figures reported beside the learned.

Why: the learned density is the potential of the score field on a grid (learned_density.py),
and on a coarse grid even the exact score's potential is off: on the 0.2/0.8 mixture
(stds 1, box [-8, 8]^2) view.grid = 32 (spacing 0.5) gave the small mode 0.147 of the mass
and a grid KL of 0.010 for the *exact* score, while its curl fraction (3.6e-7) looked
perfect. So the grid starts at view.grid and doubles until the exact score's density on it
has KL(p || p_exact-score) <= KL_FLOOR and, for mixtures, mode masses within MASS_FLOOR of
the true density's on the same grid (the box cuts tails off) (or the cap is reached); the learned figures are then taken on
that grid, and the exact score's figures are written beside them (`*_exact_score`), so a
reader sees what the grid itself cannot resolve.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from ..presets import budget
from .grid import grid_points
from .learned_density import (LearnedDensity, energy_log_density, from_field, grid_spacing, has_energy_density, learned_field, true_log_density)
from .metrics import _resp, _whitening

KL_FLOOR = 1e-3          # nats: the exact score's grid KL at most this
MASS_FLOOR = 0.005       # the exact score's mode masses at most this far from the weights
GRID_CAP = {1: 4096, 2: 256, 3: 32}   # points per axis at most (3-D: 32^3 = 32,768 points)


def mode_masses(ld: LearnedDensity, components) -> list[float] | None:
    """The grid density's mass in each component's region (points assigned to the component
    of largest responsibility, as metrics.mode_weights assigns particles)."""
    if components is None or ld.learned_logp is None or not np.isfinite(ld.learned_logp).all():
        return None
    weights, means, covs = components
    Linv, const = _whitening(weights, covs)
    pts = np.asarray(ld.points, dtype=np.float64)
    p = np.exp(ld.learned_logp - ld.learned_logp.max())
    p = p / p.sum()
    out = np.zeros(len(weights))
    for rows in np.array_split(np.arange(len(pts)), max(1, len(pts) // 20000)):
        lab = _resp(pts[rows], np.asarray(means, dtype=np.float64), Linv, const).argmax(1)
        out += np.bincount(lab, weights=p[rows], minlength=len(weights))
    return [round(float(w), 6) for w in out]


def _exact_on(trainer, preset, n: int):
    bounds = preset.density["bounds"]
    pts = grid_points(bounds, n)
    x = torch.from_numpy(pts).to(trainer.device)
    rows = budget.rows_per_chunk(preset)
    score = trainer.true_score()
    with torch.no_grad():
        true = torch.cat([score.field(b).double().cpu() for b in torch.split(x, rows)]).numpy()
    true_logp = true_log_density(trainer.density, preset, pts)
    return pts, true_logp, from_field(pts, true, bounds, n, true_logp)


def true_masses(ld: LearnedDensity, components) -> list[float] | None:
    """The true density's mass in each component's region on the same grid (the box cuts
    tails off, so these, not the weights, are what a perfect score's density would give)."""
    if components is None or ld.true_logp is None:
        return None
    return mode_masses(LearnedDensity(ld.points, ld.true_logp, None, None, None, "true"), components)


def _at_floor(exact: LearnedDensity, comps) -> bool:
    if exact.kl_grid is None:
        return True          # no truth to compare with: nothing to refine for
    if exact.kl_grid > KL_FLOOR:
        return False
    masses, truth = mode_masses(exact, comps), true_masses(exact, comps)
    return masses is None or truth is None or \
        max(abs(m - t) for m, t in zip(masses, truth)) <= MASS_FLOOR


def density_grid(trainer, preset) -> tuple[int, np.ndarray, np.ndarray, LearnedDensity]:
    """(n, points, true log p, the exact score's density) on the first grid, doubling from
    view.grid, where the exact score is at the floor (or the cap)."""
    d = preset.dim
    cap = max(GRID_CAP.get(d, 32), 2)
    while cap ** d > budget.MAX_GRID_POINTS:
        cap //= 2
    n = min(max(int(preset.view["grid"]), 2), cap)
    comps = trainer.density.components()
    while True:
        pts, true_logp, exact = _exact_on(trainer, preset, n)
        if _at_floor(exact, comps) or n * 2 > cap:
            return n, pts, true_logp, exact
        n *= 2


@dataclass
class FineDensity:
    """The learned and the exact score's densities on the grid `density_grid` picked."""
    n: int
    points: np.ndarray            # (n^d, d)
    learned_field: np.ndarray     # (n^d, d) the learned score there
    learned: LearnedDensity
    exact: LearnedDensity         # the exact score's field turned into a density the same way


def fine_density(trainer, preset) -> FineDensity:
    n, pts, true_logp, exact = density_grid(trainer, preset)
    model = trainer.model
    field = learned_field(model, preset, pts, device=trainer.device)
    energy = (energy_log_density(model, preset, pts, device=trainer.device)
              if has_energy_density(model) else None)
    learned = from_field(pts, field, preset.density["bounds"], n, true_logp, energy)
    return FineDensity(n, pts, field, learned, exact)


def fine_density_metrics(trainer, preset, fine: FineDensity | None = None) -> dict:
    """metrics.json's learned-density figures on the grid `density_grid` picks, the exact
    score's beside them."""
    f = fine if fine is not None else fine_density(trainer, preset)
    learned, exact, n = f.learned, f.exact, f.n
    comps = trainer.density.components()
    out = {"density_kl_grid": learned.kl_grid, "density_kl_grid_exact_score": exact.kl_grid,
           "curl_fraction": learned.curl_fraction, "curl_fraction_exact_score": exact.curl_fraction,
           "learned_density_from": ("-E (energy model)" if learned.source == "energy"
                                    else "least-squares potential of the learned score"),
           "density_grid": f"{n}^{preset.dim} cell centres over density.bounds (spacing "
                           + ", ".join(f"{h:.3g}" for h in grid_spacing(preset.density["bounds"], n))
                           + "; refined from view.grid until the exact score's own density is "
                             "at the floor; field.npz's density_* arrays)"}
    if comps is not None:
        out["density_mode_weights"] = mode_masses(learned, comps)
        out["density_mode_weights_exact_score"] = mode_masses(exact, comps)
        out["density_mode_weights_true"] = true_masses(exact, comps)   # the box's, on the grid
    return out


__all__ = ["FineDensity", "fine_density", "GRID_CAP", "KL_FLOOR", "MASS_FLOOR", "density_grid", "fine_density_metrics",
           "mode_masses"]


def log_density_at(trainer, preset, x: np.ndarray, fine: FineDensity | None = None) -> np.ndarray:
    """log p_theta at the points x (n, d): the learned density of `fine_density` (the one
    metrics.json measures), normalised over density.bounds. An energy model's -E is evaluated
    at the points themselves (only its normaliser comes from the grid); a score model's
    potential is interpolated linearly between the grid's cell centres (held level over the
    outer half cells). Outside the bounds the grid density has no mass: -inf."""
    from scipy.interpolate import RegularGridInterpolator
    from .grid import grid_axes
    f = fine if fine is not None else fine_density(trainer, preset)
    pts = np.asarray(x, dtype=np.float64)
    b = np.asarray(preset.density["bounds"], dtype=np.float64)
    inside = np.isfinite(pts).all(axis=1) & ((pts >= b[:, 0]) & (pts <= b[:, 1])).all(axis=1)
    out = np.full(len(pts), -np.inf)
    if not inside.any():
        return out
    axes = grid_axes(b, f.n)
    q = np.clip(pts[inside], [a[0] for a in axes], [a[-1] for a in axes])
    if f.learned.source == "energy":
        # learned_logp = -E - log Z on the grid: Z from the grid, -E at the points
        grid_minus_e = energy_log_density(trainer.model, preset, f.points, device=trainer.device)
        log_z = float(np.max(grid_minus_e - f.learned.learned_logp))
        out[inside] = energy_log_density(trainer.model, preset, pts[inside].astype(np.float32),
                                         device=trainer.device) - log_z
        return out
    table = f.learned.learned_logp.reshape((f.n,) * preset.dim)
    out[inside] = RegularGridInterpolator(axes, table, method="linear")(q)
    return out
