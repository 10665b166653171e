"""DSM's bias and variance against sigma, measured, as one picture (issue 14).

Why this exists: the course says denoising score matching is "biased for large sigma,
high-variance for small sigma" (docs/design.md §1). This module turns both halves of that
sentence into numbers on the preset's own density and network, so that the window and the
command line can draw them against sigma on one log-log plot and the lecturer can point at
where they meet. It only measures; it draws nothing and imports no Qt.

DSM, single sigma (docs/design.md §3, symbol for symbol):

    x~ = x + sigma z,   J(theta) = 1/2 E |s_theta(x~) + (x~ - x)/sigma^2|^2,

whose minimiser is grad log p_sigma, p_sigma = p * N(0, sigma^2 I).

Bias: the Fisher divergence (docs/design.md's F, with its 1/2) of that optimum against the clean score,

    bias(sigma) = 1/2 E_{x~p} |grad log p_sigma(x) - grad log p(x)|^2,
    relative bias = bias / (1/2 E_p |grad log p|^2)      (as metrics.fisher_divergence),

with the density's own `perturbed_score` (closed form for Gaussian mixtures). For
p = N(0, s^2 I): bias = 1/2 d sigma^4 / (s^2 (s^2 + sigma^2)^2). The expectation is a
midpoint-rule quadrature with weights p(x) on a grid refined until it has converged (d <= 2),
or a Monte-Carlo mean with its standard error (d = 3).

Variance, at a fixed network theta (the preset's model at its seed, or given weights):

    l(x, z) = 1/2 |s_theta(x~) + (x~ - x)/sigma^2|^2 = 1/2 |s|^2 + s.z/sigma + |z|^2/(2 sigma^2),

so Var l -> Var(|z|^2) / (4 sigma^4) = d / (2 sigma^4) as sigma -> 0 (slope -4), and
g = grad_theta l = J_theta(x~)^T (s + z/sigma): the |z|^2 term has no theta in it, the z/sigma
term gives E|g - E g|^2 ~ E|J^T z|^2 / sigma^2 (slope -2). Both are estimated from the same
(x, z) pairs at every sigma (common random numbers: the curves are smooth), the per-sample
gradients by torch.func (functional_call + vmap(grad)) in chunks that bound the memory.

Optionally, trained points: DSM trained at a few sigmas and its relative Fisher divergence
against the clean score, which the bias bounds from below at large sigma and the variance
spoils at small sigma.
"""

from __future__ import annotations

import copy
import math
import time
from dataclasses import asdict, dataclass, field
from typing import Callable

import numpy as np
import torch

from ..errors import SpecError
from .grid import grid_points

DEFAULT_SIGMAS = "0.01:2:13"    # --sigmas: 13 log-spaced values from 0.01 to 2
MAX_SIGMAS = 200
VARIANCE_SAMPLES = 4096         # (x, z) pairs per sigma for the loss and gradient variance
MC_SAMPLES = 200_000            # samples of p for the 3-D bias (Monte Carlo)
QUADRATURE_TOL = 1e-4           # relative change of every bias value between grid n and 2n
GRID_START = {1: 512, 2: 96}    # points per axis of the first quadrature grid
GRID_MAX = {1: 1 << 16, 2: 1536}
GRAD_CHUNK_ELEMS = 1_000_000    # per-sample gradient entries at once (8 MB in float64: fastest in cache)

Progress = Callable[[str, int, int], None]   # (phase, done, total)
ShouldStop = Callable[[], bool] | None


class Cancelled(Exception):
    """`should_stop` said stop: the measurement was abandoned between two pieces of work."""


def _check(should_stop: ShouldStop) -> None:
    if should_stop is not None and should_stop():
        raise Cancelled


SIGMA_RANGE = (1e-5, 1e5)   # what float32 computes the variances in without overflow


def parse_sigmas(text: str, key: str = "--sigmas") -> list[float]:
    """`lo:hi:n` (n values log-spaced from lo to hi) or `a,b,c`: sorted, positive, finite.
    SpecError naming `key` otherwise."""
    text = str(text).strip()
    try:
        if ":" in text:
            parts = text.split(":")
            if len(parts) != 3:
                raise ValueError
            lo, hi, n = float(parts[0]), float(parts[1]), int(parts[2])
            if not (math.isfinite(lo) and math.isfinite(hi)) or lo <= 0 or hi <= lo:
                raise SpecError(key, f"a range lo:hi:n needs 0 < lo < hi, got {text!r}")
            if not 2 <= n <= MAX_SIGMAS:
                raise SpecError(key, f"n in lo:hi:n must be between 2 and {MAX_SIGMAS}, got {n}")
            values = np.geomspace(lo, hi, n).tolist()
        else:
            values = [float(v) for v in text.split(",") if v.strip()]
    except SpecError:
        raise
    except ValueError:
        raise SpecError(key, f"expected lo:hi:n (log range) or a comma list of sigmas, got {text!r}") from None
    if not values:
        raise SpecError(key, "no sigma given")
    if len(values) > MAX_SIGMAS:
        raise SpecError(key, f"at most {MAX_SIGMAS} sigmas, got {len(values)}")
    bad = [v for v in values if not (math.isfinite(v) and v > 0)]
    if bad:
        raise SpecError(key, f"every sigma must be positive and finite, got {bad[0]:g}")
    lo, hi = SIGMA_RANGE
    bad = [v for v in values if not lo <= v <= hi]
    if bad:
        # the loss variance grows as sigma^-4: below 1e-5 it leaves float32 (and 1e-77 float64)
        raise SpecError(key, f"every sigma must be between {lo:g} and {hi:g}, got {bad[0]:g}")
    return sorted(set(values))


def spread(sigmas, k: int) -> list[float]:
    """k of the sigmas (all if fewer), evenly spread over the list: the trained points."""
    sigmas = sorted(sigmas)
    if len(sigmas) <= k:
        return sigmas
    idx = np.unique(np.round(np.linspace(0, len(sigmas) - 1, k)).astype(int))
    return [sigmas[i] for i in idx]


def dsm_preset(preset, sigma: float, steps: int | None = None):
    """The preset with objective = DSM at `sigma` (its density, model and training kept): the
    network the trade-off is measured on is the one DSM would train. The sampler's kind,
    steps and step size follow the new objective, as in the window."""
    from ..presets.edits import with_changes
    changes = {"objective.kind": "dsm", "objective.sigma": float(sigma)}
    if steps is not None:
        changes["training.steps"] = int(steps)
    return with_changes(preset, changes)


# --- bias -----------------------------------------------------------------------------------------

@dataclass
class Bias:
    fisher: np.ndarray             # 1/2 E_p |grad log p_sigma - grad log p|^2, per sigma
    relative: np.ndarray           # ... / (1/2 E_p |grad log p|^2)
    stderr: np.ndarray | None      # Monte-Carlo standard error of `fisher` (None: quadrature)
    score_reference: float         # 1/2 E_p |grad log p|^2
    method: str                    # in words, for the output files


def quadrature_box(density) -> np.ndarray:
    """The box the bias is integrated over: the density's bounds, widened so that a mixture's
    every component is covered to 8 std (the weights p(x) are ~1e-14 at its edge), and
    otherwise by a quarter of the width on each side."""
    b = np.array(density.bounds, dtype=np.float64)
    comps = density.components()
    if comps is not None:
        _, means, covs = comps
        sd = np.sqrt(np.diagonal(covs, axis1=1, axis2=2))
        b[:, 0] = np.minimum(b[:, 0], (means - 8 * sd).min(0))
        b[:, 1] = np.maximum(b[:, 1], (means + 8 * sd).max(0))
        return b
    pad = 0.25 * (b[:, 1] - b[:, 0])
    return np.stack([b[:, 0] - pad, b[:, 1] + pad], axis=1)


def _squared_gaps(density, x: torch.Tensor, sigmas, should_stop: ShouldStop = None
                  ) -> tuple[np.ndarray, np.ndarray]:
    """(|grad log p_sigma(x) - grad log p(x)|^2 per sigma (S, n), |grad log p(x)|^2 (n,)), float64."""
    clean = density.score(x).double()
    gaps = []
    for s in sigmas:
        _check(should_stop)
        gaps.append((density.perturbed_score(x, float(s)).double() - clean).pow(2).sum(1).cpu().numpy())
    return np.stack(gaps), clean.pow(2).sum(1).cpu().numpy()


def _on_grid(density, box: np.ndarray, n: int, sigmas, should_stop: ShouldStop = None
             ) -> tuple[np.ndarray, float]:
    x = torch.as_tensor(grid_points(box, n), dtype=torch.float64)
    # grid_points rounds to float32; the midpoints themselves are exact enough for a weight
    logp = density.log_prob(x).double()
    w = torch.softmax(logp - logp.max(), dim=0).cpu().numpy()     # p(x_i) / sum_j p(x_j)
    gaps, norms = _squared_gaps(density, x, sigmas, should_stop)
    return 0.5 * gaps @ w, 0.5 * float(norms @ w)


def bias_curve(density, sigmas, mc_samples: int = MC_SAMPLES, seed: int = 0,
               should_stop: ShouldStop = None) -> Bias:
    """The bias at every sigma: grid quadrature refined until converged (d <= 2), Monte Carlo
    with its standard error (d = 3)."""
    sigmas = [float(s) for s in sigmas]
    d = density.dim
    with torch.no_grad():
        if d <= 2:
            box = quadrature_box(density)
            n = GRID_START[d]
            f, ref = _on_grid(density, box, n, sigmas, should_stop)
            change = float("nan")
            while n < GRID_MAX[d]:
                f2, ref2 = _on_grid(density, box, 2 * n, sigmas, should_stop)
                n *= 2
                change = np.max(np.abs(f2 - f) / np.maximum(np.abs(f2), 1e-300))
                change = max(change, abs(ref2 - ref) / max(abs(ref2), 1e-300))
                f, ref = f2, ref2
                if change < QUADRATURE_TOL:
                    break
            method = (f"midpoint quadrature, weights p(x), {n}^{d} points on "
                      + " x ".join(f"[{lo:g}, {hi:g}]" for lo, hi in box)
                      + f" (relative change from {n // 2}^{d}: {change:.1e})")
            return Bias(f, f / ref, None, ref, method)
        g = torch.Generator().manual_seed(seed)
        x = density.sample(int(mc_samples), g).double()
        gaps, norms = _squared_gaps(density, x, sigmas, should_stop)
        f = 0.5 * gaps.mean(1)
        stderr = 0.5 * gaps.std(1, ddof=1) / math.sqrt(x.shape[0])
        ref = 0.5 * float(norms.mean())
        return Bias(f, f / ref, stderr, ref, f"Monte Carlo, {x.shape[0]} samples of p")


def gaussian_bias(sigma, s: float, d: int):
    """The closed form for p = N(0, s^2 I): 1/2 d sigma^4 / (s^2 (s^2 + sigma^2)^2)."""
    sigma = np.asarray(sigma, dtype=np.float64)
    return 0.5 * d * sigma ** 4 / (s ** 2 * (s ** 2 + sigma ** 2) ** 2)


# --- variance at a fixed network ------------------------------------------------------------------

@dataclass
class Variance:
    loss: np.ndarray        # Var_{x,z} l(x, z), per sigma
    grad: np.ndarray        # E |g - E g|^2 (trace of the covariance of grad_theta l), per sigma
    samples: int
    parameters: int


def _score_function(model: torch.nn.Module):
    """s_theta(x) for one point x (d,) as a function of (params, x), for torch.func."""
    from torch.func import functional_call, grad

    if getattr(model, "parameterisation", "score") == "energy":
        # s = sign * grad_x E: torch.func's grad, since autograd.grad cannot run inside vmap
        wrapper = _EnergyOf(model)
        sign = float(model._energy_sign)

        def score(params, x):
            prefixed = {f"model.{k}": v for k, v in params.items()}
            energy = lambda xi: functional_call(wrapper, prefixed, (xi.unsqueeze(0),)).sum()  # noqa: E731
            return sign * grad(energy)(x)
        return score

    def score(params, x):
        return functional_call(model, params, (x.unsqueeze(0),)).squeeze(0)
    return score


class _EnergyOf(torch.nn.Module):
    def __init__(self, model):
        super().__init__()
        self.model = model

    def forward(self, x):
        return self.model.energy(x)


def variance_curve(model: torch.nn.Module, density, sigmas, samples: int = VARIANCE_SAMPLES,
                   seed: int = 0, should_stop: ShouldStop = None,
                   progress: Progress | None = None) -> Variance:
    """Variance of the per-sample DSM loss and of its gradient w.r.t. theta at every sigma,
    over the same `samples` pairs (x ~ p, z ~ N(0, I)); float64 throughout."""
    from torch.func import grad, vmap

    net = copy.deepcopy(model).to("cpu", torch.float64).eval()
    params = {k: v.detach() for k, v in net.named_parameters()}
    n_params = sum(v.numel() for v in params.values())
    score = _score_function(net)
    g = torch.Generator().manual_seed(seed)
    x = density.sample(int(samples), g).to("cpu", torch.float64)
    z = torch.randn(x.shape, generator=g, dtype=torch.float64)
    chunk = max(8, min(1024, GRAD_CHUNK_ELEMS // max(n_params, 1)))

    loss_var, grad_var = [], []
    for i, sigma in enumerate(float(s) for s in sigmas):
        _check(should_stop)

        def loss_one(p, x1, z1):
            x_tilde = x1 + sigma * z1
            # l = 1/2 |s_theta(x~) + (x~ - x)/sigma^2|^2   (docs/design.md §3, DSM)
            return 0.5 * (score(p, x_tilde) + (x_tilde - x1) / sigma ** 2).pow(2).sum()

        per_sample = vmap(grad(loss_one, has_aux=False), in_dims=(None, 0, 0))
        losses = vmap(loss_one, in_dims=(None, 0, 0))
        l_sum = l_sq = 0.0
        g_sum = None
        g_sq = 0.0
        for xb, zb in zip(torch.split(x, chunk), torch.split(z, chunk)):
            _check(should_stop)
            lb = losses(params, xb, zb)
            l_sum += float(lb.sum())
            l_sq += float(lb.pow(2).sum())
            grads = per_sample(params, xb, zb)
            flat = torch.cat([v.reshape(v.shape[0], -1) for v in grads.values()], dim=1)
            s = flat.sum(0)
            g_sum = s if g_sum is None else g_sum + s
            g_sq += float(flat.pow(2).sum())
        n = x.shape[0]
        mean = l_sum / n
        loss_var.append((l_sq - n * mean * mean) / (n - 1))
        gbar = g_sum / n
        grad_var.append((g_sq - n * float(gbar.pow(2).sum())) / (n - 1))
        if progress:
            progress("variance", i + 1, len(sigmas))
    return Variance(np.array(loss_var), np.array(grad_var), int(x.shape[0]), int(n_params))


def log_slope(sigmas, values, smallest: int = 2) -> float | None:
    """The least-squares slope of log value against log sigma over the `smallest` sigmas."""
    s = np.asarray(sigmas, dtype=np.float64)[:smallest]
    v = np.asarray(values, dtype=np.float64)[:smallest]
    ok = np.isfinite(v) & (v > 0)
    if ok.sum() < 2:
        return None
    return float(np.polyfit(np.log(s[ok]), np.log(v[ok]), 1)[0])


# --- trained points -------------------------------------------------------------------------------

TRAIN_CHUNK = 50    # steps between checks of should_stop


def train_point(preset, sigma: float, steps: int, should_stop: ShouldStop = None) -> dict:
    """DSM at `sigma` trained `steps` steps from the preset's seed, and its (relative) Fisher
    divergence against the clean score on 10,000 samples of p."""
    from ..errors import DivergedError
    from ..training.trainer import Trainer
    trainer = Trainer(dsm_preset(preset, sigma, steps))
    point = {"sigma": float(sigma), "steps": 0, "fisher_divergence": None,
             "relative_fisher_divergence": None, "final_loss": None}
    try:
        while not trainer.finished:
            _check(should_stop)
            trainer.step(min(TRAIN_CHUNK, trainer.budget - trainer.step_count))
    except DivergedError as e:
        point["diverged"] = str(e)
    m = trainer.evaluate(record=False)
    point.update(steps=trainer.step_count, fisher_divergence=m["fisher_divergence"],
                 relative_fisher_divergence=m["relative_fisher_divergence"],
                 final_loss=trainer.losses[-1] if trainer.losses else None)
    return point


# --- all of it ------------------------------------------------------------------------------------

@dataclass
class Tradeoff:
    """The numbers of one picture; `to_json` and `csv_text` are the output files."""
    preset: str
    density: str
    dim: int
    sigmas: list[float]
    bias: list[float]
    bias_relative: list[float]
    bias_stderr: list[float] | None
    bias_method: str
    bias_exact_perturbed_score: bool
    score_reference: float
    loss_variance: list[float]
    grad_variance: list[float]
    loss_variance_theory: list[float]       # d / (2 sigma^4)
    grad_variance_reference: list[float]    # c / sigma^2 through the smallest sigma's value
    loss_variance_slope: float | None       # log-log, over the two smallest sigmas
    grad_variance_slope: float | None
    network: str
    variance_samples: int
    parameters: int
    seconds: float
    trained: list[dict] = field(default_factory=list)

    def to_json(self) -> dict:
        from .metrics import json_safe
        out = asdict(self)
        out["conventions"] = {
            "dsm_loss": "l(x, z) = 1/2 |s_theta(x~) + (x~ - x)/sigma^2|^2, x~ = x + sigma z",
            "bias": "1/2 E_p |grad log p_sigma - grad log p|^2 (Fisher divergence of DSM's optimum)",
            "bias_relative": "bias / (1/2 E_p |grad log p|^2)",
            "loss_variance": "Var_{x~p, z~N(0,I)} l(x, z) at the fixed network",
            "grad_variance": "E |grad_theta l - E grad_theta l|^2 (trace of the covariance)",
            "loss_variance_theory": "d / (2 sigma^4), from |z|^2 / (2 sigma^2); slope -4",
            "grad_variance_reference": "c / sigma^2 through the smallest sigma; slope -2",
            "trained": "relative_fisher_divergence against the clean score after DSM training",
        }
        return json_safe(out)

    def csv_text(self) -> str:
        cols = ["sigma", "bias", "bias_relative", "bias_stderr", "loss_variance", "grad_variance",
                "loss_variance_theory", "grad_variance_reference", "trained_relative_fisher"]
        trained = {round(t["sigma"], 12): t.get("relative_fisher_divergence") for t in self.trained}
        lines = [",".join(cols)]
        for i, s in enumerate(self.sigmas):
            row = [s, self.bias[i], self.bias_relative[i],
                   self.bias_stderr[i] if self.bias_stderr else None,
                   self.loss_variance[i] if i < len(self.loss_variance) else None,
                   self.grad_variance[i] if i < len(self.grad_variance) else None,
                   self.loss_variance_theory[i], self.grad_variance_reference[i] if
                   i < len(self.grad_variance_reference) else None, trained.pop(round(s, 12), None)]
            lines.append(",".join("" if v is None else repr(float(v)) for v in row))
        for s, rel in sorted(trained.items()):   # trained at a sigma off the curve's list
            lines.append(",".join([repr(float(s))] + [""] * 7 + ["" if rel is None else repr(float(rel))]))
        return "\n".join(lines) + "\n"


def measure(preset, sigmas, *, samples: int = VARIANCE_SAMPLES, state: dict | None = None,
            trained_sigmas=(), train_steps: int = 0, mc_samples: int = MC_SAMPLES,
            density=None, progress: Progress | None = None,
            should_stop: ShouldStop = None) -> Tradeoff:
    """Bias and variance at every sigma, and DSM trained at `trained_sigmas` for `train_steps`.

    The network is the preset's model as DSM would build it (objective replaced by DSM, so an
    NCSN preset gives its unconditioned MLP), at the preset's seed, or with `state` (a
    state dict) loaded. Any density works: its `perturbed_score` is closed form for mixtures
    and kernel densities, quadrature for the shapes. `should_stop` returning True makes it
    raise Cancelled at the next piece of work (a sigma, a chunk, 50 training steps)."""
    from ..objectives.network import build_model
    t0 = time.perf_counter()
    sigmas = sorted(float(s) for s in sigmas)
    if not sigmas:
        raise SpecError("sigmas", "no sigma given")
    density = density if density is not None else preset.build_density()
    base = dsm_preset(preset, sigmas[0])
    seed = int(base.training["seed"])
    torch.manual_seed(seed)                  # the same initial weights as Trainer.reset
    model = build_model(base)
    network = f"{base.model['kind']} MLP {base.model['hidden']} {base.model['activation']}, "
    if state is not None:
        model.load_state_dict(state)
        network += "given weights"
    else:
        network += f"untrained (seed {seed})"
    if progress:
        progress("bias", 0, 1)
    bias = bias_curve(density, sigmas, mc_samples=mc_samples, seed=seed + 4, should_stop=should_stop)
    if progress:
        progress("bias", 1, 1)
    var = variance_curve(model, density, sigmas, samples=samples, seed=seed + 3,
                         should_stop=should_stop, progress=progress)
    d = density.dim
    theory = [d / (2 * s ** 4) for s in sigmas]
    ref = []
    if len(var.grad):
        c = var.grad[0] * sigmas[0] ** 2
        ref = [c / s ** 2 for s in sigmas]
    trained = []
    for i, s in enumerate(sorted(float(s) for s in trained_sigmas) if train_steps > 0 else []):
        _check(should_stop)
        if progress:
            progress("train", i, len(trained_sigmas))
        trained.append(train_point(preset, s, train_steps, should_stop))
    if progress and trained:
        progress("train", len(trained), len(trained_sigmas))
    return Tradeoff(
        preset=preset.name, density=density.kind, dim=d, sigmas=sigmas,
        bias=bias.fisher.tolist(), bias_relative=bias.relative.tolist(),
        bias_stderr=None if bias.stderr is None else bias.stderr.tolist(),
        bias_method=bias.method, bias_exact_perturbed_score=bool(density.exact_perturbed()),
        score_reference=bias.score_reference,
        loss_variance=var.loss.tolist(), grad_variance=var.grad.tolist(),
        loss_variance_theory=theory, grad_variance_reference=ref,
        loss_variance_slope=log_slope(sigmas, var.loss), grad_variance_slope=log_slope(sigmas, var.grad),
        network=network, variance_samples=var.samples, parameters=var.parameters,
        seconds=time.perf_counter() - t0, trained=trained)
