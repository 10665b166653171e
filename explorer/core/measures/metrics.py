"""Honest numbers against the truth: Fisher divergence and mixture mode weights (docs/design.md §3).

Sums are taken in float64 (a score of 1e18 squared overflows float32), mixtures are
evaluated a chunk of points at a time, and `json_safe` turns what is still not finite into
null plus a note, so that metrics.json is always valid JSON.
"""

from __future__ import annotations

import math
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
        s = learned(xb).double()
        t = true(xb).double()
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
    Linv, const = _whitening(weights, covs)
    return _resp(x, np.asarray(means, dtype=np.float64), Linv, const)


def _whitening(weights, covs):
    L = np.linalg.cholesky(np.asarray(covs, dtype=np.float64))          # (K, d, d)
    Linv = np.linalg.inv(L)
    const = np.log(np.asarray(weights, dtype=np.float64)) - np.log(
        np.diagonal(L, axis1=1, axis2=2)).sum(1)
    return Linv, const


def _resp(x, means, Linv, const):
    z = np.einsum("kij,nkj->nki", Linv, x[:, None, :] - means[None])    # whitened offsets (n, K, d)
    logs = const - 0.5 * (z ** 2).sum(-1)
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
    x = np.asarray(x[ok], dtype=np.float64)
    means = np.asarray(means, dtype=np.float64)
    Linv, const = _whitening(weights, covs)
    counts = np.zeros(len(weights), dtype=np.int64)
    rows = max(1, _CHUNK_ELEMS // (len(weights) * means.shape[1]))
    for i in range(0, x.shape[0], rows):
        r = _resp(x[i:i + rows], means, Linv, const)
        counts += np.bincount(r.argmax(1), minlength=len(weights))
    total = len(np.asarray(ok))
    return [float(c) / total for c in counts]


_CHUNK_ELEMS = 4_000_000  # points x components x d per chunk of the mode count


def json_safe(metrics: dict) -> dict:
    """The metrics with every NaN or infinity replaced by None and a `<key>_note` saying what
    it was: JSON has no NaN, and a reader must not mistake "not a number" for a value."""
    out = {}
    for key, v in metrics.items():
        clean, bad = _clean(v)
        out[key] = clean
        if bad:
            out.setdefault(f"{key}_note", f"was {', '.join(sorted(bad))} (not finite): "
                                           f"the run blew up or the value is undefined")
    return out


def _clean(v):
    if isinstance(v, float) and not math.isfinite(v):
        return None, {"NaN" if math.isnan(v) else ("inf" if v > 0 else "-inf")}
    if isinstance(v, (list, tuple)):
        bad, out = set(), []
        for x in v:
            c, b = _clean(x)
            out.append(c)
            bad |= b
        return out, bad
    if isinstance(v, dict):
        return json_safe(v), set()
    return v, set()
