"""The density a trained model stands for, and whether its field is a gradient at all.

A score model is trained to output grad log p, but nothing makes a free vector field
(`model.kind = "score"`) a gradient: it can rotate, a real score cannot. This module turns
the learned field on the view grid into a density one can put beside the true one:

- energy models (s = -grad E): log p_theta = -E, exactly (normalised on the grid);
- score models: the potential phi whose finite-difference gradient is closest to s in the
  p-weighted least-squares sense (score matching fits s where the data are; unweighted,
  a model's wild field in the empty corners of a large box would pull phi), then
  log p_theta = phi normalised on the grid. The unweighted problem is a Neumann Poisson
  problem solved by a discrete cosine transform (potential); the weighted one a sparse
  weighted Laplacian (weighted_potential).

What the least squares cannot fit is the non-conservative part of s. Its size relative to
s, weighted by p, is the *curl fraction*: 0 for a gradient field (up to the grid's
discretisation error), 1 for a pure rotation such as s = (-y, x), whose best potential is
a constant. The same measurement is made for energy models (their field is a gradient by
construction, so it checks the measurement rather than the model).

Conventions (all on the cell-centred grid of core/measures/grid.py, n points per axis, spacing h_a):
- edges join neighbouring grid points along axis a; on an edge e = (i, j) the field's line
  integral is approximated by the trapezoid rule  b_e = (s_a(x_i) + s_a(x_j)) / 2;
- phi minimises  sum_e w_e ((phi_j - phi_i) / h_a - b_e)^2  (w_e below, plus a small floor);  in 1-D the minimum is 0 and phi is
  the cumulative trapezoid integral of s;
- log densities are normalised on the grid:  sum_i exp(log p_i) * dV = 1,  dV = prod_a h_a;
- curl fraction  c = sqrt( sum_e w_e r_e^2 / sum_e w_e b_e^2 ),  r_e = (phi_j - phi_i)/h_a - b_e,
  w_e = (p_i + p_j) / 2  with p the true density where it is known (score matching fits s
  where the data are), else the learned one;
- grid KL  KL(p_true || p_learned) = sum_i P_i (log p_true_i - log p_learned_i),  P_i = p_true_i dV.

Everything is O(grid points) in memory (no matrix is formed), so the largest grid a preset
may ask for (budget.MAX_GRID_POINTS) stays within a few hundred MB.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from scipy import fft as sfft
from scipy.special import logsumexp

from ..presets import budget
from .grid import grid_points
from ..presets.preset import Preset
from ..noise.schedules import DDPMSchedule
from ..scores import LearnedScore, finest_level, level_noise


@dataclass
class LearnedDensity:
    """The learned and true log densities on a grid, and how far the field is from a gradient."""
    points: np.ndarray               # (G, d) float32, the grid (first axis slowest)
    learned_logp: np.ndarray         # (G,) float64, normalised on the grid (nan if the field is not finite)
    true_logp: np.ndarray | None     # (G,) float64, normalised on the grid; None if unknown
    curl_fraction: float | None      # None when the field is not finite
    kl_grid: float | None            # KL(p_true || p_learned) on the grid; None without a truth
    source: str                      # "energy" (-E) or "potential" (least-squares phi)
    level: tuple | None = None       # the noise level both densities are at (None: the finest)


# ------------------------------------------------------------------ numerics on a grid
def grid_spacing(bounds, n: int) -> np.ndarray:
    b = np.asarray(bounds, dtype=np.float64)
    return (b[:, 1] - b[:, 0]) / n


def normalise_log(logp: np.ndarray, cell_volume: float) -> np.ndarray:
    """log p - log(sum_i exp(log p_i) dV): a density whose grid (midpoint) integral is 1."""
    logp = np.asarray(logp, dtype=np.float64)
    return logp - logsumexp(logp) - np.log(cell_volume)


def _edge_integrals(s: np.ndarray, axis: int) -> np.ndarray:
    """b_e = (1/h) * integral of s_a along the edge, from the grid values (n - 1 along axis).

    Fourth-order (cubic through four neighbouring points), so that a smooth gradient field
    on a coarse view grid is not mistaken for a rotating one:
      interior edges  b = (-s_{i-1} + 13 s_i + 13 s_{i+1} - s_{i+2}) / 24,
      end edges       b = (9 s_0 + 19 s_1 - 5 s_2 + s_3) / 24  (and mirrored);
    below four points per axis the trapezoid  b = (s_i + s_{i+1}) / 2."""
    sa = np.moveaxis(s[..., axis], axis, 0)
    n = sa.shape[0]
    if n < 4:
        out = 0.5 * (sa[:-1] + sa[1:])
    else:
        out = np.empty((n - 1,) + sa.shape[1:])
        out[1:-1] = (-sa[:-3] + 13.0 * sa[1:-2] + 13.0 * sa[2:-1] - sa[3:]) / 24.0
        out[0] = (9.0 * sa[0] + 19.0 * sa[1] - 5.0 * sa[2] + sa[3]) / 24.0
        out[-1] = (9.0 * sa[-1] + 19.0 * sa[-2] - 5.0 * sa[-3] + sa[-4]) / 24.0
    return np.moveaxis(out, 0, axis)


def _laplacian_eigenvalues(shape, h) -> np.ndarray:
    """The DCT-II eigenvalues of the Neumann grid Laplacian sum_a D_a^T D_a / h_a^2, with
    the constant mode's set to inf (dividing by it sets the free constant to 0)."""
    eig = np.zeros(shape)
    for a, n in enumerate(shape):
        lam = (2.0 - 2.0 * np.cos(np.pi * np.arange(n) / n)) / h[a] ** 2
        eig = eig + lam.reshape([n if i == a else 1 for i in range(len(shape))])
    eig.flat[0] = np.inf
    return eig


def potential(field: np.ndarray, spacing) -> np.ndarray:
    """phi on the grid (shape field.shape[:-1]) minimising sum_e ((phi_j - phi_i)/h - b_e)^2.

    `field`: (n_1, ..., n_d, d). Defined up to a constant (here: mean 0).
    1-D: phi = cumulative trapezoid integral of s, which makes every residual 0.
    d >= 2: the normal equations  sum_a D_a^T D_a phi / h_a^2 = sum_a D_a^T b_a / h_a  (D_a the
    forward difference along axis a, free ends) are a Neumann Poisson problem. The path
    graph's Laplacian D^T D is diagonalised exactly by the DCT-II: eigenvalues
    lambda_k = 2 - 2 cos(pi k / n), so  phi = IDCT( DCT(rhs) / sum_a lambda_{k_a} / h_a^2 )
    with the k = 0 mode (the free constant) set to 0. O(G log G), no matrix.
    """
    s = np.asarray(field, dtype=np.float64)
    d = s.shape[-1]
    h = np.asarray(spacing, dtype=np.float64).reshape(-1)
    if d == 1:
        phi = np.concatenate([[0.0], np.cumsum(_edge_integrals(s, 0)) * h[0]])
        return phi - phi.mean()
    shape = s.shape[:-1]
    rhs = np.zeros(shape)
    eig = np.zeros(shape)
    for a in range(d):
        b = _edge_integrals(s, a)
        pad = [(0, 0)] * d
        pad[a] = (1, 1)
        bp = np.pad(b, pad)
        # (D^T b)_j = b_{j-1} - b_j  with b_{-1} = b_{n-1} = 0
        rhs -= np.diff(bp, axis=a) / h[a]
        n = shape[a]
        lam = (2.0 - 2.0 * np.cos(np.pi * np.arange(n) / n)) / h[a] ** 2
        eig = eig + lam.reshape([n if i == a else 1 for i in range(d)])
        del b, bp
    coef = sfft.dctn(rhs, type=2, norm="ortho")
    del rhs
    eig.flat[0] = np.inf   # the constant mode: free, set to 0
    coef /= eig
    phi = sfft.idctn(coef, type=2, norm="ortho")
    return phi - phi.mean()


WEIGHT_FLOOR = 1e-4   # edge weights are p / max p + this: where p is ~0 the fit still
                      # follows s weakly, which keeps the weighted problem well posed
DIRECT_LIMIT = 20_000  # grid points up to which the weighted system is factorised (sparse LU;
                       # in 3-D its fill-in makes 32^3 take seconds, so CG there)


def edge_weights(weights: np.ndarray, axis: int) -> np.ndarray:
    """w_e on the edges along `axis`: the mean of the node weights at the edge's two ends."""
    w = np.asarray(weights, dtype=np.float64)
    n = w.shape[axis]
    return 0.5 * (np.take(w, np.arange(n - 1), axis=axis) + np.take(w, np.arange(1, n), axis=axis))


def weighted_potential(field: np.ndarray, spacing, weights: np.ndarray | None) -> np.ndarray:
    """phi minimising  sum_e w_e ((phi_j - phi_i)/h_a - b_e)^2,  w_e = edge_weights of
    (weights / max + WEIGHT_FLOOR): the potential closest to s where the data are, not where a
    model's field is wild and unconstrained (the corners of a large box). Mean 0.

    1-D and `weights=None`: potential() (in 1-D the cumulative integral fits every edge
    exactly, whatever the weights). Otherwise the weighted normal equations
      sum_a D_a^T W_a D_a phi / h_a^2 = sum_a D_a^T W_a b_a / h_a
    as a sparse matrix: factorised (SuperLU) up to DIRECT_LIMIT points, with one node pinned
    (the right side sums to 0, so the pinned value is exactly 0: no approximation); above
    it, conjugate gradients from the unweighted solution, preconditioned by the unweighted
    DCT solve scaled by the node weights (W^-1/2 L^-1 W^-1/2)."""
    s = np.asarray(field, dtype=np.float64)
    d = s.shape[-1]
    if d == 1 or weights is None:
        return potential(s, spacing)
    import scipy.sparse as sp
    from scipy.sparse import linalg as sla
    h = np.asarray(spacing, dtype=np.float64).reshape(-1)
    w = np.asarray(weights, dtype=np.float64)
    top = w.max() if np.isfinite(w).all() and w.max() > 0 else 0.0
    if top <= 0:
        return potential(s, spacing)
    w = w / top + WEIGHT_FLOOR
    shape = s.shape[:-1]
    size = int(np.prod(shape))
    idx = np.arange(size).reshape(shape)
    rows, cols, vals = [], [], []
    rhs = np.zeros(size)
    for a in range(d):
        n = shape[a]
        lo = np.take(idx, np.arange(n - 1), axis=a).ravel()
        hi = np.take(idx, np.arange(1, n), axis=a).ravel()
        we = edge_weights(w, a).ravel()
        c = we / h[a] ** 2
        rows += [lo, hi, lo, hi]
        cols += [lo, hi, hi, lo]
        vals += [c, c, -c, -c]
        g = we * _edge_integrals(s, a).ravel() / h[a]     # D^T W b / h: -g at lo, +g at hi
        np.add.at(rhs, lo, -g)
        np.add.at(rhs, hi, g)
    A = sp.csr_matrix((np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))),
                      shape=(size, size))
    if size <= DIRECT_LIMIT:
        pin = int(np.argmax(w))
        A = A + sp.csr_matrix(([A[pin, pin]], ([pin], [pin])), shape=(size, size))
        phi = sla.spsolve(A.tocsc(), rhs)
    else:   # preconditioner W^-1/2 L^-1 W^-1/2 (L the unweighted Laplacian, by DCT)
        eig = _laplacian_eigenvalues(shape, h)
        root = 1.0 / np.sqrt(w.ravel())

        def pre(v):
            c = sfft.dctn((v * root).reshape(shape), type=2, norm="ortho") / eig
            return sfft.idctn(c, type=2, norm="ortho").ravel() * root
        M = sla.LinearOperator(A.shape, matvec=pre)
        phi, _ = sla.cg(A, rhs, x0=potential(s, spacing).ravel(), rtol=1e-9,
                        maxiter=500, M=M)
    phi = phi.reshape(shape)
    return phi - phi.mean()


def curl_fraction(field: np.ndarray, phi: np.ndarray, spacing, weights: np.ndarray) -> float:
    """sqrt( sum_e w_e r_e^2 / sum_e w_e b_e^2 ), r_e = (phi_j - phi_i)/h_a - b_e, w_e the mean
    of `weights` (a density on the grid, shape phi.shape) at the edge's two ends."""
    s = np.asarray(field, dtype=np.float64)
    h = np.asarray(spacing, dtype=np.float64).reshape(-1)
    w = np.asarray(weights, dtype=np.float64)
    num = den = 0.0
    for a in range(s.shape[-1]):
        if phi.shape[a] < 2:
            continue
        b = _edge_integrals(s, a)
        r = np.diff(phi, axis=a) / h[a] - b
        n = w.shape[a]
        we = 0.5 * (np.take(w, np.arange(n - 1), axis=a) + np.take(w, np.arange(1, n), axis=a))
        num += float((we * r * r).sum())
        den += float((we * b * b).sum())
    return float(np.sqrt(num / den)) if den > 0 else 0.0


def kl_on_grid(true_logp: np.ndarray, learned_logp: np.ndarray, cell_volume: float) -> float:
    """KL(p_true || p_learned) = sum_i p_true_i dV (log p_true_i - log p_learned_i), both
    normalised on the grid; cells where p_true is 0 contribute 0."""
    t = np.asarray(true_logp, dtype=np.float64)
    q = np.asarray(learned_logp, dtype=np.float64)
    mass = np.exp(t) * cell_volume
    on = mass > 0
    return float(max(0.0, np.sum(mass[on] * (t[on] - q[on]))))


def from_field(points: np.ndarray, field: np.ndarray, bounds, n: int,
               true_logp: np.ndarray | None = None, energy_logp: np.ndarray | None = None,
               level=None) -> LearnedDensity:
    """The learned density from a field on the n^d grid over `bounds` (grid_points order).

    `true_logp`: log p_true on the grid, any constant (normalised here); it weights the curl
    fraction and gives the KL. `energy_logp`: -E on the grid for an energy model, used as
    the learned log density instead of the least-squares potential."""
    pts = np.asarray(points, dtype=np.float32)
    d = pts.shape[1]
    shape = (int(n),) * d
    h = grid_spacing(bounds, n)
    dv = float(np.prod(h))
    s = np.asarray(field, dtype=np.float64).reshape(*shape, d)
    t = None
    if true_logp is not None:
        t = np.asarray(true_logp, dtype=np.float64).reshape(-1)
        t = normalise_log(t, dv) if np.isfinite(t).any() else None
    if not np.isfinite(s).all():
        nan = np.full(len(pts), np.nan)
        return LearnedDensity(pts, nan, t, None, None,
                              "energy" if energy_logp is not None else "potential", level)
    if t is not None:
        w = np.exp(t).reshape(shape)                 # exp(-inf) = 0: no weight
    elif energy_logp is not None:
        w = np.exp(normalise_log(np.asarray(energy_logp, dtype=np.float64).reshape(-1), dv))
    else:   # no truth: weight by the unweighted fit's own density, then refit
        w = np.exp(normalise_log(potential(s, h).reshape(-1), dv))
    w = w.reshape(shape)
    phi = weighted_potential(s, h, w)                # p-weighted: closest to s where the data are
    if energy_logp is not None:
        learned = normalise_log(np.asarray(energy_logp, dtype=np.float64).reshape(-1), dv)
        source = "energy"
    else:
        learned = normalise_log(phi.reshape(-1), dv)
        source = "potential"
    curl = curl_fraction(s, phi, h, w) if np.isfinite(w).all() else None
    kl = kl_on_grid(t, learned, dv) if t is not None and np.isfinite(learned).all() else None
    return LearnedDensity(pts, learned, t, curl, kl, source, level)


# ------------------------------------------------------------------ models and densities
def true_log_density(density, preset: Preset, points: np.ndarray, level=None) -> np.ndarray:
    """log p_true on points (up to a constant), at the level the learned field is compared
    at: `level` (a slider's), or the finest level exactly as TrueScore.field defines it
    (p_sigma_min for NCSN, DDPM's t = 0 marginal, when the density has them in closed form)."""
    from .pictures import perturbed_log_prob
    if level is None and density.exact_perturbed():
        level = finest_level(preset)
    noise = level_noise(preset, level) if level is not None else (0.0, 1.0)
    x = torch.from_numpy(np.ascontiguousarray(points, dtype=np.float32))
    with torch.no_grad():
        lp = torch.cat([perturbed_log_prob(density, b, *noise).double()
                        for b in torch.split(x, 8192)]).numpy()
    return np.where(np.isfinite(lp), lp, -np.inf)


def _energy_condition(model, preset: Preset, level, rows: int, device):
    """(conditioning input, factor k) with log p = -k E(x, c) at `level` (None: the finest):
    plain k = 1; NCSN c = sigma, k = 1 (s = -grad E(x, sigma)); DDPM c = t,
    k = 1 / sqrt(1 - alpha_bar_t) (eps = +grad E and the score is -eps / sqrt(1 - alpha_bar_t))."""
    if level is None:
        level = finest_level(preset)
    if model.conditioning == "sigma":
        sigma = float(level[1]) if level is not None and level[0] == "sigma" \
            else float(preset.objective["sigma_min"])
        return torch.full((rows,), sigma, device=device), 1.0
    if model.conditioning == "sde":       # s = -grad E(x, t), E = net(x, t) / s(t)
        t = float(level[1]) if level is not None and level[0] == "t" else float(finest_level(preset)[1])
        return torch.full((rows,), t, device=device), 1.0
    if model.conditioning == "time":
        t = int(level[1]) if level is not None and level[0] == "step" else 0
        o = preset.objective
        k = DDPMSchedule(o["timesteps"], o["beta_min"], o["beta_max"]).score_scale(t)
        return torch.full((rows,), t, device=device, dtype=torch.long), k
    return None, 1.0


def has_energy_density(model) -> bool:
    """log p = -k E for this model: an energy model, except flow matching's (its energy is
    the velocity's potential, v = -grad E, not the density's: its density is the potential's)."""
    return model.parameterisation == "energy" and model.conditioning != "flow"


def energy_log_density(model, preset: Preset, points: np.ndarray, level=None,
                       device=None, with_field: bool = False):
    """log p = -k E (see _energy_condition) on points, up to a constant, in chunks; with
    `with_field` also its gradient, the model's score, from the same evaluation:
    (log p, field) for the cost of one forward and one backward pass."""
    device = device if device is not None else next(model.parameters()).device
    x = torch.from_numpy(np.ascontiguousarray(points, dtype=np.float32)).to(device)
    logps, fields = [], []
    was = model.training
    model.eval()
    try:
        for b in torch.split(x, budget.rows_per_chunk(preset)):
            c, k = _energy_condition(model, preset, level, len(b), device)
            if with_field:
                with torch.enable_grad():
                    xb = b.detach().requires_grad_(True)
                    lp = -k * model.energy(xb, c)
                    (g,) = torch.autograd.grad(lp.sum(), xb)
                fields.append(g.double().cpu())
                logps.append(lp.detach().double().cpu())
            else:
                with torch.no_grad():
                    logps.append((-k * model.energy(b, c)).double().cpu())
    finally:
        model.train(was)
    logp = torch.cat(logps).numpy()
    return (logp, torch.cat(fields).numpy()) if with_field else logp


def learned_field(model, preset: Preset, points: np.ndarray, level=None, device=None) -> np.ndarray:
    """The learned score on points at `level` (None: the finest), in chunks (float64)."""
    device = device if device is not None else next(model.parameters()).device
    score = LearnedScore(model, preset)
    x = torch.from_numpy(np.ascontiguousarray(points, dtype=np.float32)).to(device)
    return torch.cat([score.at_level(b, level).double().cpu()
                      for b in torch.split(x, budget.rows_per_chunk(preset))]).numpy()


def learned_log_density(source, preset: Preset | None = None, grid_n: int | None = None,
                        density=None, level=None, field: np.ndarray | None = None
                        ) -> LearnedDensity:
    """The learned density of a Trainer (or a ScoreModel with `preset`) on the grid_n^d grid
    over the preset's bounds (default: view.grid), beside the true density, with the curl
    fraction and the grid KL. `field`: the learned score already evaluated on that grid
    (field.npz's `learned`), not evaluated again."""
    model = getattr(source, "model", source)
    preset = preset if preset is not None else source.preset
    if density is None:
        density = getattr(source, "density", None) or preset.build_density()
    n = int(grid_n if grid_n is not None else preset.view["grid"])
    bounds = preset.density["bounds"]
    pts = grid_points(bounds, n)
    if field is None:
        field = learned_field(model, preset, pts, level)
    energy = energy_log_density(model, preset, pts, level) if has_energy_density(model) else None
    true = true_log_density(density, preset, pts, level)
    return from_field(pts, field, bounds, n, true, energy, level)


def model_density(model, preset: Preset, points: np.ndarray, n: int, true_logp: np.ndarray | None,
                  level=None) -> LearnedDensity:
    """The learned density of `model` on the n^d grid `points`, beside `true_logp`: -E and
    its gradient from one forward and one backward pass for an energy model, the potential
    of the learned field otherwise."""
    if has_energy_density(model):
        energy, field = energy_log_density(model, preset, points, level, with_field=True)
    else:
        field, energy = learned_field(model, preset, points, level), None
    return from_field(points, field, preset.density["bounds"], n, true_logp, energy, level)


class TruthOnGrid:
    """The true side of a learned-density picture: the grid, log p_true on it and the exact
    score's curl fraction there (what the grid itself resolves: the floor the learned curl
    fraction is read against; None in 1-D, where every field is a gradient).

    Why a cache: while a model trains only its side changes; the true side is a function of
    (density, level, n) and costs as much as the learned one. Each caller keeps its own
    (the window's GUI thread, the 3-D worker thread): no locking."""

    def __init__(self, size: int = 8):
        self.size = size
        self._hits: dict = {}     # (id(density), level, n) -> (density, points, true log p, floor)

    def clear(self) -> None:
        self._hits.clear()

    def get(self, density, preset: Preset, level, n: int):
        """(points, true log p, floor) on the n^d grid over the preset's bounds."""
        from .pictures import true_field
        key = (id(density), level, int(n))
        hit = self._hits.get(key)
        if hit is not None and hit[0] is density:     # an id can be reused by a new density
            return hit[1:]
        bounds = preset.density["bounds"]
        pts = grid_points(bounds, n)
        true_logp = true_log_density(density, preset, pts, level)
        floor = None
        if preset.dim > 1:
            exact = true_field(density, preset, pts, level)
            floor = from_field(pts, exact, bounds, n, true_logp).curl_fraction
        if len(self._hits) >= self.size:
            self._hits.clear()
        self._hits[key] = (density, pts, true_logp, floor)
        return pts, true_logp, floor
