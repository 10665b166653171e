"""Honest numbers against the truth: Fisher divergence and mixture mode weights (DESIGN section 3)."""

from __future__ import annotations

from typing import Callable

import numpy as np
import torch

Field = Callable[[torch.Tensor], torch.Tensor]


def fisher_divergence(learned: Field, true: Field, x: torch.Tensor, chunk: int = 4096
                      ) -> tuple[float, float]:
    """F = 1/2 E_p |s_theta - grad log p|^2 and F / (1/2 E_p |grad log p|^2), over samples x of p."""
    num = 0.0
    den = 0.0
    for xb in torch.split(x, chunk):
        s = learned(xb)
        t = true(xb)
        num += float((s - t).pow(2).sum())
        den += float(t.pow(2).sum())
    n = x.shape[0]
    f = 0.5 * num / n
    ref = 0.5 * den / n
    return f, (f / ref if ref > 0 else float("nan"))


def responsibilities(x: np.ndarray, weights: np.ndarray, means: np.ndarray, covs: np.ndarray
                     ) -> np.ndarray:
    """Posterior component probabilities of each point, (n, K)."""
    x = np.asarray(x, dtype=np.float64)
    logs = []
    for w, m, c in zip(weights, means, covs):
        L = np.linalg.cholesky(c)
        z = (x - m) @ np.linalg.inv(L).T  # whitened offsets, (n, d)
        logs.append(np.log(w) - 0.5 * (z ** 2).sum(1) - np.log(np.diag(L)).sum())
    logs = np.stack(logs, 1)
    logs -= logs.max(1, keepdims=True)
    r = np.exp(logs)
    return r / r.sum(1, keepdims=True)


def mode_weights(x: np.ndarray, components) -> list[float]:
    """Fraction of particles whose most responsible component is each component.

    Particles that are not finite (a sampler that blew up) count towards no mode, so the
    fractions then sum to less than one, which is what the user should see.
    """
    weights, means, covs = components
    x = np.asarray(x)
    ok = np.isfinite(x).all(1)
    if len(x) == 0:
        return [0.0] * len(weights)
    r = responsibilities(x[ok], weights, means, covs)
    counts = np.bincount(r.argmax(1), minlength=len(weights))
    return [float(c) / len(x) for c in counts]
