"""Gaussians and Gaussian mixtures in 1, 2 or 3 dimensions.

p(x) = sum_k w_k N(x; mu_k, C_k). The perturbed density of docs/design.md §3
(scale * y + sigma * z, y ~ p) is again a mixture, with mu_k -> scale mu_k and
C_k -> scale^2 C_k + sigma^2 I; every covariance is kept in its eigenbasis
C_k = U_k diag(lam_k) U_k^T, so that perturbed precision is U_k diag(1/(scale^2 lam_k +
sigma^2)) U_k^T: log density, score and perturbed score share one code path, with no
factorisation per call. Precisions for the unperturbed density are precomputed, and all
parameter tensors are cached per device and dtype. Isotropic components (stds) skip the
matrices altogether.
"""

from __future__ import annotations

import math

import numpy as np
import torch

from ..errors import SpecError
from .base import DeviceCache, Density, check_bounds, generator_device, nice_bounds

_LOG_2PI = math.log(2 * math.pi)
MAX_COMPONENTS = 10_000
# (rows of x) x (components) x d per chunk: the (n, K, d) differences stay near 32 MB however
# many points and components there are.
_CHUNK_ELEMS = 8_000_000


class GaussianMixture(Density):
    """sum_k w_k N(mu_k, C_k).

    weights (K,) positive (normalised here), means (K, d) with d in 1..3, covariances
    (K, d, d) symmetric positive definite. bounds (d, 2) or None: per axis, the range of
    mu -/+ 4 std over the components, rounded outwards. kind: "mixture" or "gaussian".
    Validation with preset keys is done by `build_mixture` / `build_gaussian`; the
    constructor raises SpecError too, with generic keys, if handed bad arrays.
    """

    log_prob_normalised = True   # log_prob is the normalised perturbed_log_prob

    score_source = "analytic (closed-form Gaussian mixture)"

    def __init__(self, weights, means, covariances, bounds=None, kind: str = "mixture"):
        means = np.asarray(means, dtype=np.float64)
        if means.ndim == 1:
            means = means[:, None]
        K, d = means.shape
        covs = np.asarray(covariances, dtype=np.float64).reshape(K, d, d)
        w = np.asarray(weights, dtype=np.float64).reshape(K)
        if not np.all(w > 0):
            raise SpecError("density.weights", "must all be positive")
        for k in range(K):
            _check_cov(covs[k], d, f"density.covariances[{k}]")
        self.kind = kind
        self.dim = int(d)
        self.weights = w / w.sum()
        self.means = means
        self.covariances = covs
        lam, U = np.linalg.eigh(covs)
        self._lam, self._U = lam, U
        eye = np.eye(d)
        self.isotropic = bool(np.all(covs == covs[:, :1, :1] * eye))
        if self.kind == "gaussian":
            self.score_source = "analytic (closed-form Gaussian)"
        if bounds is None:
            sd = np.sqrt(np.diagonal(covs, axis1=1, axis2=2))  # (K, d)
            bounds = nice_bounds((means - 4 * sd).min(0), (means + 4 * sd).max(0))
        super().__init__(bounds)
        self._cache = DeviceCache(self._make_params)

    @property
    def n_components(self) -> int:
        return self.means.shape[0]

    def _make_params(self, device, dtype):
        t = lambda a: torch.as_tensor(a, dtype=dtype, device=device)  # noqa: E731
        K, d = self.means.shape
        p = {
            "logw": t(np.log(self.weights)),
            "mu": t(self.means),
            "mu64": torch.as_tensor(self.means, dtype=torch.float64, device=device),
            "cdf": t(np.cumsum(self.weights)[:-1] / self.weights.sum()),
        }
        if self.isotropic:
            var = self.covariances[:, 0, 0]
            p["var"] = t(var)
            p["std"] = t(np.sqrt(var))[:, None]
            p["default"] = self._iso_prep(p, t(1.0 / var), t(d * np.log(var)), p["mu"], p["mu64"])
        else:
            p["lam"] = t(self._lam)
            p["U"] = t(self._U)
            # sampling: x = mu + A z with A = U diag(sqrt(lam)), stored transposed for z @ A^T
            p["AT"] = t(np.transpose(self._U * np.sqrt(self._lam)[:, None, :], (0, 2, 1)))
            prec = np.linalg.inv(self.covariances)
            prec = 0.5 * (prec + np.transpose(prec, (0, 2, 1)))
            p["default"] = self._full_prep(p, t(prec), t(np.log(self._lam).sum(-1)), p["mu"],
                                          p["mu64"])
        return p

    def _iso_prep(self, p, inv, logdet, mu, mu64):
        return {"inv": inv, "mu": mu, "mu64": mu64,
                "logw": p["logw"] - 0.5 * (logdet + self.dim * _LOG_2PI)}

    def _full_prep(self, p, prec, logdet, mu, mu64):
        return {"P": prec, "mu": mu, "mu64": mu64,
                "logw": p["logw"] - 0.5 * (logdet + self.dim * _LOG_2PI)}

    def _prep(self, x, sigma: float, scale: float):
        """The parameters of the law of scale * y + sigma * z, on x's device and dtype."""
        p = self._cache.get(x.device, x.dtype)
        if sigma == 0.0 and scale == 1.0:
            return p["default"]
        s2, g2 = scale * scale, sigma * sigma
        mu, mu64 = p["mu"] * scale, p["mu64"] * scale
        if self.isotropic:
            var = p["var"] * s2 + g2
            return self._iso_prep(p, 1.0 / var, self.dim * torch.log(var), mu, mu64)
        lam = p["lam"] * s2 + g2
        U = p["U"]
        prec = (U / lam.unsqueeze(1)) @ U.transpose(1, 2)
        return self._full_prep(p, prec, torch.log(lam).sum(-1), mu, mu64)

    # --- one code path for p and its perturbed versions ------------------------------------
    def _logc(self, x, q):
        """(log w_k N(x; mu_k, C_k) (n, K), x - mu_k (n, K, d), P_k (x - mu_k) or None if isotropic)."""
        # x - mu_k in float64, then rounded: float32 mu_k itself is off by eps |mu_k|, which
        # against a small std (|mu| = 1000, std 0.05) is a 1e-3 error in the score.
        diff = (x.double().unsqueeze(1) - q["mu64"]).to(x.dtype)  # (n, K, d)
        if "inv" in q:
            quad = diff.square().sum(-1) * q["inv"]
            return q["logw"] - 0.5 * quad, diff, None
        # P_k (x - mu_k) from the difference: x P_k - mu_k P_k cancels in float32 when
        # |mu_k| is large against the std (relative error ~ eps |mu|^2 / var, 1e-3 at
        # |mu| = 1000 and std 0.05). Pd_k[i] = sum_j diff_k[j] P_k[j, i] (P symmetric).
        Pd = torch.einsum("nkj,kji->nki", diff, q["P"])
        quad = (diff * Pd).sum(-1)
        return q["logw"] - 0.5 * quad, diff, Pd

    def _chunks(self, x: torch.Tensor):
        rows = max(1, _CHUNK_ELEMS // (self.n_components * self.dim))
        return torch.split(x, rows) if x.shape[0] > rows else (x,)

    def _per_chunk(self, x: torch.Tensor, fn) -> torch.Tensor:
        out = [fn(xb) for xb in self._chunks(x)]
        return out[0] if len(out) == 1 else torch.cat(out)

    def perturbed_log_prob(self, x: torch.Tensor, sigma: float = 0.0, scale: float = 1.0) -> torch.Tensor:
        """Normalised log density of scale * y + sigma * z, y ~ p (differentiable)."""
        q = self._prep(x, float(sigma), float(scale))
        return self._per_chunk(x, lambda xb: torch.logsumexp(self._logc(xb, q)[0], dim=1))

    def log_prob(self, x: torch.Tensor) -> torch.Tensor:
        return self.perturbed_log_prob(x)

    def perturbed_score(self, x: torch.Tensor, sigma: float, scale: float = 1.0) -> torch.Tensor:
        q = self._prep(x, float(sigma), float(scale))

        def score(xb):
            logc, diff, Pd = self._logc(xb, q)
            r = torch.softmax(logc, dim=1)
            if Pd is None:  # isotropic: -sum_k r_k inv_k (x - mu_k), from the difference again
                return -((r * q["inv"]).unsqueeze(-1) * diff).sum(1)
            return -(r.unsqueeze(-1) * Pd).sum(1)

        return self._per_chunk(x, score)

    def score(self, x: torch.Tensor) -> torch.Tensor:
        return self.perturbed_score(x, 0.0, 1.0)

    def responsibilities(self, x: torch.Tensor, sigma: float = 0.0, scale: float = 1.0) -> torch.Tensor:
        """Posterior component probabilities (n, K), e.g. to assign particles to modes."""
        q = self._prep(x, float(sigma), float(scale))
        return self._per_chunk(x, lambda xb: torch.softmax(self._logc(xb, q)[0], dim=1))

    def exact_perturbed(self) -> bool:
        return True

    def components(self):
        return self.weights.copy(), self.means.copy(), self.covariances.copy()

    def sample(self, n: int, generator: torch.Generator) -> torch.Tensor:
        dev = generator_device(generator)
        p = self._cache.get(dev, torch.float32)
        z = torch.randn(n, self.dim, generator=generator, device=dev)
        if self.n_components == 1:
            if self.isotropic:
                return p["mu"][0] + z * p["std"][0]
            return p["mu"][0] + z @ p["AT"][0]
        u = torch.rand(n, 1, generator=generator, device=dev)
        # the number of cdf entries below u, without an (n, K) comparison table
        idx = torch.searchsorted(p["cdf"], u[:, 0].contiguous(), right=False)
        if self.isotropic:
            return p["mu"][idx] + z * p["std"][idx]
        return p["mu"][idx] + torch.bmm(z.unsqueeze(1), p["AT"][idx]).squeeze(1)


# --- validation and builders ---------------------------------------------------------------

def _check_dim(d: int, key: str, what: str) -> None:
    if not 1 <= d <= 3:
        raise SpecError(key, f"{what} has {d} entries; a density has 1, 2 or 3 dimensions")


def _check_cov(c: np.ndarray, d: int, key: str) -> np.ndarray:
    c = np.asarray(c, dtype=np.float64)
    if c.shape != (d, d):
        shape = " x ".join(map(str, c.shape)) if c.ndim else "a number"
        raise SpecError(key, f"is {shape} but the density is {d}-D (expected {d} x {d})")
    if not np.all(np.isfinite(c)):
        raise SpecError(key, "must be finite")
    tol = 1e-9 * max(1.0, float(np.abs(c).max()))
    if np.any(np.abs(c - c.T) > tol):
        raise SpecError(key, "is not symmetric")
    try:
        np.linalg.cholesky(c)
    except np.linalg.LinAlgError:
        raise SpecError(key, "is not positive definite") from None
    lam = np.linalg.eigvalsh(c)
    if lam.min() <= 1e-12 * lam.max():
        raise SpecError(key, "is not positive definite (it is numerically singular)")
    return c


def _matrix(value, key: str, rows: int | None = None) -> np.ndarray:
    try:
        a = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        raise SpecError(key, "rows have different lengths or are not numbers") from None
    if not np.all(np.isfinite(a)):
        raise SpecError(key, "must be finite")
    return a


def _bounds(spec: dict, d: int):
    b = spec.get("bounds")
    return None if b is None else check_bounds(b, d)


def build_gaussian(spec: dict, base_dir=None) -> GaussianMixture:
    mean = _matrix(spec.get("mean", [0.0, 0.0]), "density.mean")
    if mean.ndim != 1 or mean.size == 0:
        raise SpecError("density.mean", "expected a list of 1, 2 or 3 numbers")
    d = mean.size
    _check_dim(d, "density.mean", "the mean")
    cov = spec.get("covariance")
    if cov is not None:
        c = _check_cov(_matrix(cov, "density.covariance"), d, "density.covariance")
    else:
        std = float(spec.get("std", 1.0) if spec.get("std") is not None else 1.0)
        if not std > 0 or not math.isfinite(std):
            raise SpecError("density.std", f"must be a positive number, got {std:g}")
        c = np.eye(d) * std * std
    return GaussianMixture([1.0], mean[None], c[None], _bounds(spec, d), kind="gaussian")


def build_mixture(spec: dict, base_dir=None) -> GaussianMixture:
    means = _matrix(spec.get("means", [[-5.0, -5.0], [5.0, 5.0]]), "density.means")
    if means.ndim != 2 or means.shape[0] == 0:
        raise SpecError("density.means", "expected a list of means, each a list of 1, 2 or 3 numbers")
    K, d = means.shape
    _check_dim(d, "density.means", "each mean")
    if K > MAX_COMPONENTS:
        raise SpecError("density.means", f"{K:,} components; at most {MAX_COMPONENTS:,}")
    w = spec.get("weights")
    if w is None:
        w = [1.0] * K
    w = _matrix(w, "density.weights")
    if w.ndim != 1:
        raise SpecError("density.weights", "expected a list of numbers")
    if w.size != K:
        raise SpecError("density.weights", f"has {w.size} entries but there are {K} means")
    for k, wk in enumerate(w):
        if not wk > 0:
            raise SpecError(f"density.weights[{k}]", f"must be positive, got {wk:g}")
    stds, covs = spec.get("stds"), spec.get("covariances")
    if stds is not None and covs is not None:
        raise SpecError("density.covariances", "give either stds or covariances, not both")
    if covs is not None:
        if not isinstance(covs, (list, tuple, np.ndarray)):
            raise SpecError("density.covariances", "expected a list of matrices")
        if len(covs) != K:
            raise SpecError("density.covariances", f"has {len(covs)} entries but there are {K} means")
        c = np.stack([_check_cov(_matrix(ck, f"density.covariances[{k}]"), d, f"density.covariances[{k}]")
                      for k, ck in enumerate(covs)])
    else:
        s = np.ones(K) if stds is None else _matrix(stds, "density.stds")
        if s.ndim != 1:
            raise SpecError("density.stds", "expected a list of numbers (one std per component)")
        if s.size != K:
            raise SpecError("density.stds", f"has {s.size} entries but there are {K} means")
        for k, sk in enumerate(s):
            if not sk > 0:
                raise SpecError(f"density.stds[{k}]", f"must be positive, got {sk:g}")
        c = (s ** 2)[:, None, None] * np.eye(d)
    return GaussianMixture(w, means, c, _bounds(spec, d), kind="mixture")
