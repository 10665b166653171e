"""How close a particle cloud is to the true density, with the noise floor of each figure.

Four figures, each against exact samples of the density (or its values on a grid):

- `mmd`: the unbiased estimate of the squared maximum mean discrepancy with a Gaussian
  kernel, summed over bandwidths h in {0.5, 1, 2} x the median distance between reference
  samples (Gretton et al. 2012):
      MMD^2_u = 1/(n(n-1)) sum_{i!=j} k(x_i, x_j) + 1/(m(m-1)) sum_{i!=j} k(y_i, y_j)
                - 2/(nm) sum_{i,j} k(x_i, y_j),     k(a, b) = exp(-|a - b|^2 / (2 h^2)).
  It can be slightly negative: it is unbiased, and zero in expectation for exact samples.
- `sliced_wasserstein`: SW_2 = ( mean over L directions v of W_2^2(v.x, v.y) )^(1/2),
  L = 128 directions uniform on the sphere; in 1-D the projections are the data, and
  W_2 between two sorted samples of equal size is the root mean squared difference.
- `tv_grid`: 1/2 sum_i |p_i - q_i| over the cells of a grid on the box (at most 100, 50,
  16 cells per axis in 1-, 2-, 3-D, fewer for small clouds: about 20 points a cell), p_i the true
  probability of cell i (the density integrated over the cell by the midpoint rule on
  sub-cells, at most QUADRATURE_POINTS in all, normalised over the box), q_i the particles'
  histogram. The density at the cell's centre alone is not its probability when a mode is
  narrower than a cell: a mode of width 0.6 centred in a cell 2 wide got 0.32 of the mass instead of 0.2,
  and a cloud with the wrong weights then scored below exact samples.
- `kl_grid`: KL(p || q) = sum_i p_i log(p_i / q_i), the histogram smoothed by half a count
  per cell (q_i = (c_i + 1/2) / (n + B/2), Jeffreys) so that an empty cell is a large but
  finite penalty.

Beside each figure its `floor`: the same figure for fresh sets of exact samples of the
same size (the mean over FLOOR_DRAWS sets), so "0.004" can be read as good or as noise. MMD and SW use at most
`max_points` particles (a fixed random subset) so that a live readout stays cheap; the
floor uses the same number.
"""

from __future__ import annotations

import math

import numpy as np
import torch

from .grid import grid_points

PROJECTIONS = 128
MAX_POINTS = 2000            # particles used by MMD and SW (a fixed random subset)
LIVE_POINTS = 300            # ... in the live readout: 1,000 cost the animation a third of its frames
GRID_CELLS = {1: 100, 2: 50, 3: 16}   # at most, cells per axis of the TV and KL grid
POINTS_PER_CELL = 20         # at least, on average over the box: fewer and the histogram's
                             # own noise (the floor) hides what the figures should show
BANDWIDTH_FACTORS = (0.5, 1.0, 2.0)
FLOOR_DRAWS = 5              # fresh exact sets averaged into the noise floor
QUADRATURE_POINTS = 1 << 16  # at most, density evaluations for the cell probabilities


def mmd2_unbiased(x: np.ndarray, y: np.ndarray, bandwidths,
                  reference_term: float | None = None) -> float:
    """Unbiased MMD^2 with a sum of Gaussian kernels (formula above), in float64.
    `reference_term`: the y-y term, when y is measured against many times."""
    x = np.asarray(x, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    n, m = len(x), len(y)
    if n < 2 or m < 2:
        return float("nan")
    centre = y.mean(0)
    x, y = x - centre, y - centre
    kyy = reference_term if reference_term is not None else \
        sum(_kernel_means(_sq_dists(y, y), bandwidths, True))
    kxx = sum(_kernel_means(_sq_dists(x, x), bandwidths, True))
    kxy = sum(_kernel_means(_sq_dists(x, y), bandwidths, False))
    return float(kxx + kyy - 2 * kxy)


def _sq_dists(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """|a_i - b_j|^2 = |a_i|^2 + |b_j|^2 - 2 a_i.b_j (callers centre the points first, so
    the expansion loses nothing in float64)."""
    d = (a * a).sum(1)[:, None] + (b * b).sum(1)[None, :] - 2.0 * (a @ b.T)
    return np.maximum(d, 0.0)


def _kernel_means(d: np.ndarray, bandwidths, within: bool) -> list[float]:
    """Mean of k_h over the pairs (i != j when `within`) for each bandwidth. One exp for
    the first; the kernels of 2h and h/2 are its 4th root and 4th power."""
    base = bandwidths[1] if len(bandwidths) == 3 else bandwidths[0]
    k = np.exp(-d / (2.0 * base * base))
    out = []
    for h in bandwidths:
        r = (base / h) ** 2
        kh = k if r == 1.0 else (np.sqrt(np.sqrt(k)) if r == 0.25 else
                                 (np.square(np.square(k)) if r == 4.0 else k ** r))
        if within:
            n = len(kh)
            out.append((kh.sum() - np.trace(kh)) / (n * (n - 1)))
        else:
            out.append(kh.mean())
    return out


def median_bandwidth(y: np.ndarray) -> float:
    """The median distance between the reference samples (the usual kernel width)."""
    y = y[:500] - y[:500].mean(0)
    d = np.sqrt(_sq_dists(y, y))
    d = d[np.triu_indices(len(d), 1)]
    med = float(np.median(d)) if len(d) else 1.0
    return med if med > 0 else 1.0


def sliced_wasserstein(x: np.ndarray, y: np.ndarray, directions: np.ndarray) -> float:
    """SW_2 between two samples of equal size over the given unit directions (d, L)."""
    px = np.sort(np.asarray(x, dtype=np.float64) @ directions, axis=0)
    py = np.sort(np.asarray(y, dtype=np.float64) @ directions, axis=0)
    if len(px) != len(py):   # compare quantiles where the sizes differ
        q = (np.arange(min(len(px), len(py))) + 0.5) / min(len(px), len(py))
        px = np.quantile(px, q, axis=0)
        py = np.quantile(py, q, axis=0)
    return float(np.sqrt(((px - py) ** 2).mean()))


def grid_figures(x: np.ndarray, p_cells: np.ndarray, bounds: np.ndarray, cells: int
                 ) -> tuple[float, float]:
    """(TV, KL(p || q)) between the true cell probabilities and the particles' histogram
    (particles outside the box count in no cell, so they are mass the histogram lacks)."""
    d = bounds.shape[0]
    x = np.asarray(x, dtype=np.float64)
    x = x[np.isfinite(x).all(axis=1)]
    counts, _ = np.histogramdd(x, bins=[cells] * d, range=[tuple(b) for b in bounds])
    n = max(len(x), 1)
    q = counts.ravel() / n
    tv = 0.5 * float(np.abs(p_cells - q).sum()) + 0.0
    q_smooth = (counts.ravel() + 0.5) / (n + 0.5 * counts.size)
    nz = p_cells > 0
    kl = float((p_cells[nz] * np.log(p_cells[nz] / q_smooth[nz])).sum())
    return tv, kl


class SampleQuality:
    """Measures particle clouds of one size against one density; the reference samples,
    the grid probabilities and the noise floor are computed once and kept."""

    def __init__(self, density, bounds, n: int, seed: int = 0, max_points: int = MAX_POINTS):
        self.density = density
        self.bounds = np.asarray(bounds, dtype=np.float64)
        self.dim = self.bounds.shape[0]
        self.n = int(n)
        self.k = max(2, min(self.n, max_points))
        gen = torch.Generator().manual_seed(seed)
        self.subset = np.random.default_rng(seed).permutation(self.n)[: self.k] if self.n > self.k \
            else np.arange(self.n)
        self.reference = density.sample(self.k, gen).double().numpy()
        self.bandwidths = [f * median_bandwidth(self.reference) for f in BANDWIDTH_FACTORS]
        y = self.reference - self.reference.mean(0)
        self._kyy = sum(_kernel_means(_sq_dists(y, y), self.bandwidths, True))
        v = np.random.default_rng(seed + 1).standard_normal((self.dim, PROJECTIONS))
        self.directions = v / np.linalg.norm(v, axis=0, keepdims=True)
        self.cells = max(4, min(GRID_CELLS[self.dim], int((self.n / POINTS_PER_CELL) ** (1 / self.dim))))
        self.p_cells = self._cell_probabilities()
        # exact samples of the same size, FLOOR_DRAWS sets: one set's figure is itself noisy
        # (on a 0.2/0.8 mixture SW_2 moved by a factor of four between two sets, with the
        # share of points in each mode)
        draws = [self._figures(density.sample(self.n, gen).double().numpy())
                 for _ in range(FLOOR_DRAWS)]
        self.floor = {k: float(np.mean([d[k] for d in draws])) for k in draws[0]}

    def _cell_probabilities(self) -> np.ndarray:
        """P(cell i) / P(box): the midpoint rule on `sub` points per axis in each cell
        (as many as QUADRATURE_POINTS allows), summed per cell."""
        b, c, d = self.bounds, self.cells, self.dim
        sub = max(1, min(64, int((QUADRATURE_POINTS ** (1 / d)) // c)))
        # grid_points gives the centres of c*sub sub-cells per axis (first axis slowest); the
        # sub-cells of cell (i, j, ...) are those with index // sub == (i, j, ...), and the
        # cells ravel in np.histogramdd's order
        pts = grid_points(b, c * sub)
        with torch.no_grad():
            lp = torch.cat([self.density.log_prob(chunk) for chunk in
                            torch.split(torch.from_numpy(pts), 8192)])
        lp = lp.double().numpy()
        lp = np.where(np.isfinite(lp), lp, -np.inf)
        p = np.exp(lp - lp.max()) if np.isfinite(lp).any() else np.ones_like(lp)
        p = p.reshape((c, sub) * d).sum(axis=tuple(range(1, 2 * d, 2)))
        return (p / p.sum()).ravel()

    def _figures(self, x: np.ndarray) -> dict:
        x = np.asarray(x, dtype=np.float64)
        sub = x[self.subset] if len(x) == self.n else x[: self.k]
        ok = np.isfinite(sub).all(axis=1)
        tv, kl = grid_figures(x, self.p_cells, self.bounds, self.cells)
        return {"mmd": mmd2_unbiased(sub[ok], self.reference, self.bandwidths, self._kyy)
                if ok.sum() >= 2
                else float("nan"),
                "sliced_wasserstein": sliced_wasserstein(sub[ok], self.reference, self.directions)
                if ok.any() else float("nan"),
                "tv_grid": tv, "kl_grid": kl}

    def measure(self, x: np.ndarray) -> dict:
        """The four figures for `x` (n particles) and, under `floor`, for exact samples."""
        out = self._figures(x)
        out["floor"] = dict(self.floor)
        return out


def sample_metrics(x: np.ndarray, density, bounds, seed: int = 0) -> dict:
    """metrics.json's `sample_metrics` for one cloud."""
    return SampleQuality(density, bounds, len(x), seed).measure(x)


MMD_BELOW_NOISE = "≈ 0: the unbiased estimate is below its noise"


def mmd_text(v: float, floor: float | None = None) -> str:
    """MMD² for a reader: the unbiased estimate (formula above) drops the kernel's diagonal,
    so for two clouds from nearly the same law it scatters around 0 and can be negative; a
    negative figure (the cloud's, or the exact samples' floor) is shown with that said, not
    as a distance below zero."""
    notes = [MMD_BELOW_NOISE] if v < 0 else []
    if floor is not None:
        notes.append(f"exact {floor:.2g}" + (f" {MMD_BELOW_NOISE}" if floor < 0 <= v else ""))
    return f"MMD² {v:.3g}" + (f" ({'; '.join(notes)})" if notes else "")


def describe(figures: dict) -> str:
    """One line for a readout: each figure beside its noise floor."""
    f = figures["floor"]
    parts = []
    for key, name in (("mmd", "MMD²"), ("sliced_wasserstein", "SW₂"), ("tv_grid", "TV"),
                      ("kl_grid", "KL")):
        v, fl = figures[key], f[key]
        if v is None or (isinstance(v, float) and math.isnan(v)):
            continue
        parts.append(mmd_text(v, fl) if key == "mmd" else f"{name} {v:.3g} (exact {fl:.2g})")
    return ", ".join(parts)
