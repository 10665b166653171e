"""score-explorer from Python: presets, training, sampling and every metric, as numpy arrays.

For notebooks and scripts. These are the objects the CLI and the window use (Preset,
Trainer, samplers, the metrics of `score-explorer run`), behind a few functions:

    import explorer.api as se

    preset = se.load("mixture_score")                        # a shipped name or a file
    preset = se.edit(preset, {"objective.kind": "dsm", "objective.sigma": 0.3})
    run = se.train(preset, steps=2000, callback=lambda step, loss: None)
    particles = se.sample(run, particles=5000)                # (n, d) numpy
    metrics = se.evaluate(run, particles)                     # the metrics.json of `run`
    pts, learned, true = se.field(run)                        # the score on the view's grid
    logp = se.log_density(run, pts)                           # log p_theta(x) by the ODE (sde,
                                                              # flow_matching), per point

`edit` takes the dotted keys of `score-explorer compare --vary` (values as Python values)
and validates like a preset file: a bad key or value raises SpecError naming it. Nothing
here imports Qt.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

import numpy as np
import torch

from .core import metrics as M
from .core import preset as P
from .core.compare.plan import variant_preset
from .core.errors import SpecError
from .core.learned_density import learned_log_density
from .core.noise_error import NoiseError
from .core.registry import densities, failures, objectives, samplers
from .core.run import density_metrics, field_arrays
from .core.sample_quality import sample_metrics
from .core.samplers import build_sampler
from .core.shipped import resolve
from .core.training import Trainer

__all__ = ["Run", "SpecError", "densities", "edit", "evaluate", "field", "load", "log_density",
           "objectives", "plugin_failures", "sample", "samplers", "train"]


@dataclass
class Run:
    """A trained model with its preset: what `sample`, `evaluate` and `field` take."""
    preset: P.Preset
    trainer: Trainer

    @property
    def losses(self) -> np.ndarray:
        """The training loss at every step, (steps,)."""
        return np.asarray(self.trainer.losses, dtype=np.float64)

    @property
    def fisher(self) -> np.ndarray:
        """[[step, F, relative F], ...] measured during training."""
        return np.asarray(self.trainer.fisher, dtype=np.float64).reshape(-1, 3)

    @property
    def model(self) -> torch.nn.Module:
        return self.trainer.model


def load(name_or_path: str) -> P.Preset:
    """A preset: the name of a shipped one (`score-explorer run --help` lists them) or a file."""
    return P.load(resolve(str(name_or_path)))


def edit(preset: P.Preset, overrides: dict[str, Any]) -> P.Preset:
    """A new preset with dotted keys replaced ({"training.lr": 3e-3}), validated as a file is."""
    return variant_preset(preset, dict(overrides))


def train(preset: P.Preset, steps: int | None = None,
          callback: Callable[[int, float], Any] | None = None, every: int = 100,
          device: str | None = None) -> Run:
    """Train preset.training.steps (or `steps`) steps. `callback(step, loss)` is called every
    `every` steps; it may return True to stop early. The Fisher divergence against the true
    score is measured at each callback and at the end (Run.fisher)."""
    trainer = Trainer(preset, device=torch.device(device) if device else None)
    total = int(preset.training["steps"] if steps is None else steps)
    done = 0
    while done < total:
        n = min(max(1, int(every)), total - done)
        trainer.step(n)
        done += n
        trainer.evaluate()
        if callback is not None and callback(trainer.step_count, trainer.losses[-1]):
            break
    return Run(preset, trainer)


def sample(run: Run, particles: int | None = None, score: str | None = None,
           steps: int | None = None) -> np.ndarray:
    """Run the preset's sampler to the end of its schedule; the particles, (n, d). `score`:
    "learned" (the model's) or "true" (the density's exact score)."""
    p = run.preset
    if score is not None or steps is not None:
        over = {**({"sampler.score": score} if score is not None else {}),
                **({"sampler.steps": steps} if steps is not None else {})}
        p = edit(p, over)
    t = run.trainer
    scorer = t.true_score() if p.sampler["score"] == "true" else t.learned_score()
    sampler = build_sampler(p, scorer, t.device, particles=particles)
    with torch.no_grad():
        sampler.run()
    message = sampler.blowup_message()
    if message:
        raise FloatingPointError(message)
    return sampler.numpy()


def evaluate(run: Run, particles: np.ndarray | None = None) -> dict:
    """Every metric of `score-explorer run`'s metrics.json that applies: Fisher divergence,
    per noise level, the learned density's grid KL and curl fraction, and with particles the
    mode weights and sample-quality figures with their noise floors."""
    t, p = run.trainer, run.preset
    out = dict(t.evaluate(record=False))
    levels = NoiseError(p, t.density, device=t.device)
    if levels.levels and t.step_count > 0:
        out["fisher_by_noise"] = levels.measure(t.model)
    grid = field_arrays(t, p)
    out.update(density_metrics(learned_log_density(t, p, field=grid[1]), grid, p))
    if particles is not None:
        x = np.asarray(particles, dtype=np.float32)
        comps = t.density.components()
        if comps is not None:
            out["mode_weights"] = M.mode_weights(x, comps)
            out["true_weights"] = [float(w) for w in comps[0]]
        out["sample_metrics"] = sample_metrics(x, t.density, p.density["bounds"], p.sampler["seed"])
    return out


def field(run: Run) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(points (m, d), learned score (m, d), true score (m, d)) on the preset's view grid,
    the arrays of field.npz."""
    return field_arrays(run.trainer, run.preset)


def log_density(run: Run, x, trace: str = "exact", probes: int | None = None,
                probe: str | None = None, seed: int = 0, return_se: bool = False):
    """log p_theta(x) per point, (n,) float64: the trained model's density by its
    probability-flow ODE (objective sde or flow_matching; core/model_likelihood.py).

    trace = "exact" (the Jacobian's trace, d <= 3) or "hutchinson" (the mean of `probes`
    per-point estimates with `probe` = "rademacher" | "gaussian" probes held fixed along the
    solve; defaults: objective.hutchinson_probes and _probe). With return_se, also the standard
    error of each point's Hutchinson estimate (zeros for the exact trace; NaN with one probe).
    Untrained (no steps), the density's exact score is integrated instead: the result is then
    the true log p, up to the solver's tolerance."""
    from .core import model_likelihood as ML
    p, t = run.preset, run.trainer
    if not ML.available(p):
        raise SpecError("objective.kind", f"{p.objective['kind']!r} has no ODE likelihood; "
                                          "log_density needs objective sde or flow_matching")
    if trace not in ("exact", "hutchinson"):
        raise SpecError("trace", f"must be 'exact' or 'hutchinson', got {trace!r}")
    if probe is not None and probe not in ("rademacher", "gaussian"):
        raise SpecError("probe", f"must be 'rademacher' or 'gaussian', got {probe!r}")
    if probes is not None and not (isinstance(probes, int) and probes >= 1):
        raise SpecError("probes", f"must be a whole number of at least 1, got {probes!r}")
    pts = np.asarray(x, dtype=np.float64)
    if pts.ndim == 1 and p.dim == 1:
        pts = pts[:, None]
    if pts.ndim != 2 or pts.shape[1] != p.dim:
        raise SpecError("x", f"expected points of shape (n, {p.dim}), got {pts.shape}")
    source = t.model if t.step_count > 0 else t.density
    if trace == "exact":
        logp, _ = ML.log_likelihood(p, source, pts, trace="exact", seed=seed)
        return (logp, np.zeros_like(logp)) if return_se else logp
    k = int(probes if probes is not None else (p.objective.get("hutchinson_probes") or 4))
    est, _ = ML.hutchinson_log_likelihood(p, source, pts, probes=k, probe=probe, seed=seed)
    logp = est.mean(1)
    if not return_se:
        return logp
    se = est.std(1, ddof=1) / np.sqrt(k) if k > 1 else np.full_like(logp, np.nan)
    return logp, se


def plugin_failures() -> list[str]:
    """One line per installed plugin that could not be loaded (empty when all loaded)."""
    return [f.message() for f in failures()]
