"""What every density offers the rest of the program.

The training objectives, the samplers, the metrics and the views only ever see this
interface, so a new kind of density needs nothing else. Everything works on torch
tensors of shape (n, d), float32, on whatever device the tensor is on.

"True score" means the exact gradient of log p for the density as defined: analytic for
closed-form densities, and for densities defined by data (points, an image, a curve) the
exact score of their Gaussian-smoothed version. `score_source` says which, in words the
window and the metrics show the user.
"""

from __future__ import annotations

import math

import numpy as np
import torch


class Density:
    kind: str = ""
    dim: int = 2
    score_source: str = "analytic"
    # A plugin density (a subclass registered under `score_explorer.densities`) also sets
    # `name` (its kind) and `fields` (its preset keys besides kind and bounds, schema Fields);
    # its constructor takes those keys as keyword arguments and sets its own default box.
    name: str = ""
    fields: dict = {}
    order: int = 100

    def __init__(self, bounds: np.ndarray):
        self.bounds = np.asarray(bounds, dtype=np.float64).reshape(self.dim, 2)

    @classmethod
    def build(cls, spec: dict, base_dir) -> "Density":
        """The density of a checked [density] spec: cls(**its fields), the spec's bounds if given."""
        density = cls(**{k: spec[k] for k in cls.fields})
        if spec.get("bounds") is not None:
            density.bounds = np.asarray(spec["bounds"], dtype=np.float64).reshape(density.dim, 2)
        return density

    # --- required -------------------------------------------------------------------
    def sample(self, n: int, generator: torch.Generator) -> torch.Tensor:
        """n samples of p, (n, d) float32, on the generator's device."""
        raise NotImplementedError

    log_prob_normalised: bool = False   # log_prob is log p itself, constant included (nll_true)

    def log_prob(self, x: torch.Tensor) -> torch.Tensor:
        """log p(x) up to a constant, (n,). Must be differentiable (autograd checks the score)."""
        raise NotImplementedError

    def score(self, x: torch.Tensor) -> torch.Tensor:
        """grad_x log p(x), (n, d). The built-ins override this with the closed form; the
        default (for plugins) differentiates log_prob with autograd."""
        with torch.enable_grad():
            xg = x.detach().requires_grad_(True)
            return torch.autograd.grad(self.log_prob(xg).sum(), xg)[0].detach()

    # --- perturbed densities --------------------------------------------------------
    def perturbed_score(self, x: torch.Tensor, sigma: float, scale: float = 1.0) -> torch.Tensor:
        """Score of the law of  scale * y + sigma * z,  y ~ p, z ~ N(0, I).

        scale = 1 gives p_sigma = p * N(0, sigma^2 I) (NCSN, annealed Langevin); DDPM's
        marginal at step t uses scale = sqrt(alpha_bar_t), sigma = sqrt(1 - alpha_bar_t).
        Mixtures and kernel densities override this with the closed form. The default is
        a Monte-Carlo estimate over a fixed set of samples of p, which is exact in the
        limit and good when sigma is not small against the spacing of those samples;
        below `min_sigma_mc` it falls back to the exact score of p itself (scaled).
        """
        if sigma <= 0:
            return self.score(x / scale) / scale
        centres = self._mc_centres(x.device) * scale
        if sigma < self._mc_min_sigma() * scale:
            return self.score(x / scale) / scale
        return kernel_score(x, centres, None, sigma)

    def exact_perturbed(self) -> bool:
        """Whether `perturbed_score` is closed form (True) or a Monte-Carlo estimate."""
        return False

    # --- mixtures only ----------------------------------------------------------------
    def components(self):
        """(weights (K,), means (K, d), covariances (K, d, d)) as numpy, or None if not a mixture."""
        return None

    # --- helpers -----------------------------------------------------------------------
    _MC_COUNT = 4096

    def _mc_centres(self, device) -> torch.Tensor:
        cache = getattr(self, "_mc_cache", None)
        if cache is None or cache.device != torch.device(device):
            g = torch.Generator().manual_seed(12345)
            cache = self.sample(self._MC_COUNT, g).to(device)
            self._mc_cache = cache
        return cache

    def _mc_min_sigma(self) -> float:
        widths = self.bounds[:, 1] - self.bounds[:, 0]
        # typical spacing of the MC centres inside the box
        return float(np.prod(widths) ** (1.0 / self.dim) / self._MC_COUNT ** (1.0 / self.dim))


def kernel_log_prob(x: torch.Tensor, centres: torch.Tensor, log_weights: torch.Tensor | None,
                    bandwidth: float) -> torch.Tensor:
    """log sum_j w_j N(x; c_j, h^2 I), chunked over x so that images with many pixels fit."""
    out = []
    d = x.shape[1]
    lw = log_weights if log_weights is not None else torch.full(
        (centres.shape[0],), -math.log(centres.shape[0]), device=x.device, dtype=x.dtype)
    const = -0.5 * d * math.log(2 * math.pi * bandwidth ** 2)
    for xb in torch.split(x, _chunk(centres.shape[0])):
        d2 = torch.cdist(xb, centres).pow(2)
        out.append(torch.logsumexp(lw - d2 / (2 * bandwidth ** 2), dim=1) + const)
    return torch.cat(out) if out else x.new_zeros(0)


def kernel_score(x: torch.Tensor, centres: torch.Tensor, log_weights: torch.Tensor | None,
                 bandwidth: float) -> torch.Tensor:
    """Exact score of sum_j w_j N(x; c_j, h^2 I):  sum_j r_j(x) (c_j - x) / h^2."""
    out = []
    lw = log_weights if log_weights is not None else 0.0
    for xb in torch.split(x, _chunk(centres.shape[0])):
        d2 = (xb.unsqueeze(1) - centres.unsqueeze(0)).pow(2).sum(-1)
        r = torch.softmax(lw - d2 / (2 * bandwidth ** 2), dim=1)  # responsibilities (n, m)
        out.append((r @ centres - xb) / bandwidth ** 2)
    return torch.cat(out) if out else x.new_zeros(x.shape)


def _chunk(m: int) -> int:
    return max(1, 4_000_000 // max(m, 1))


# --- helpers shared by the density builders (added with the density library) ------------

def nice_step(extent: float, parts: int = 20) -> float:
    """A round step (1, 2, 2.5 or 5 times a power of ten) close to extent / parts."""
    raw = max(float(extent), 1e-12) / parts
    p = 10.0 ** math.floor(math.log10(raw))
    for m in (1.0, 2.0, 2.5, 5.0, 10.0):
        if m * p >= raw * (1 - 1e-9):
            return m * p
    return 10.0 * p


def nice_bounds(lo, hi) -> np.ndarray:
    """Per-axis [lo, hi] rounded outwards to a round step; (d, 2) float64."""
    lo = np.atleast_1d(np.asarray(lo, dtype=np.float64))
    hi = np.atleast_1d(np.asarray(hi, dtype=np.float64))
    out = np.empty((lo.size, 2))
    for j, (a, b) in enumerate(zip(lo, hi)):
        if not b > a:
            a, b = a - 1.0, b + 1.0
        step = nice_step(b - a)
        out[j] = (math.floor(a / step + 1e-9) * step, math.ceil(b / step - 1e-9) * step)
    return out


def symmetric_bounds(half: float, dim: int) -> np.ndarray:
    """[-H, H] on every axis, H = half rounded up to a round step."""
    step = nice_step(2 * half)
    h = math.ceil(half / step - 1e-9) * step
    return np.array([[-h, h]] * dim, dtype=np.float64)


def check_bounds(bounds, dim: int, key: str = "density.bounds") -> np.ndarray:
    """Validate user bounds: dim rows of [lo, hi], finite, lo < hi. Raises SpecError."""
    from ..errors import SpecError
    try:
        b = np.asarray(bounds, dtype=np.float64)
    except (TypeError, ValueError):
        raise SpecError(key, f"expected {dim} rows of [lo, hi], got {bounds!r}") from None
    if b.ndim != 2 or b.shape != (dim, 2):
        raise SpecError(key, f"expected {dim} row{'s' if dim > 1 else ''} of [lo, hi] "
                             f"(the density is {dim}-D), got shape "
                             f"{' x '.join(map(str, b.shape)) or 'scalar'}")
    if not np.all(np.isfinite(b)):
        raise SpecError(key, "must be finite")
    for j in range(dim):
        if not b[j, 0] < b[j, 1]:
            raise SpecError(f"{key}[{j}]", f"lo must be below hi, got [{b[j, 0]:g}, {b[j, 1]:g}]")
    return b


class DeviceCache:
    """Per (device, dtype) copies of a density's parameter tensors, made once on first use.

    `make(device, dtype)` builds the dict of tensors; calls on CUDA tensors then reuse the
    uploaded copies instead of re-uploading the parameters every call.
    """

    def __init__(self, make):
        self._make = make
        self._store: dict = {}

    def get(self, device, dtype=torch.float32) -> dict:
        key = (str(torch.device(device)), dtype)
        p = self._store.get(key)
        if p is None:
            p = self._make(torch.device(device), dtype)
            self._store[key] = p
        return p


def generator_device(generator: torch.Generator | None) -> torch.device:
    return generator.device if generator is not None else torch.device("cpu")


def rejection_sample(n: int, propose, accept_rate: float, max_rounds: int = 1000) -> torch.Tensor:
    """Collect n accepted proposals. `propose(m)` returns (values (m, ...), accepted mask (m,))."""
    got, have = [], 0
    rate = max(accept_rate, 1e-3)
    for _ in range(max_rounds):
        if have >= n and got:
            break
        m = int(math.ceil((n - have) / rate * 1.2)) + 16
        v, ok = propose(m)
        v = v[ok]
        got.append(v)
        have += v.shape[0]
    out = torch.cat(got)
    if out.shape[0] < n:  # pragma: no cover - only for absurd parameters
        raise RuntimeError("rejection sampler did not converge")
    return out[:n]
