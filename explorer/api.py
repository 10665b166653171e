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
    se.show(run, what="field")                                # a matplotlib Figure, inline in Jupyter
    se.save_run(run, "runs/mine")                             # the folder `score-explorer run` writes
    run = se.open_run("runs/mine")                            # ... read back, trained (or the window's)
    logp = se.log_density(run, pts)                           # log p_theta(x) by the ODE (sde,
                                                              # flow_matching), per point

`edit` takes the dotted keys of `score-explorer compare --vary` (values as Python values)
and validates like a preset file: a bad key or value raises SpecError naming it. Every
argument is checked the same way (a SpecError naming the argument, the message the CLI
prints); numpy scalars are accepted wherever a number is. Nothing here imports Qt (`show`
draws with matplotlib; it reads the window's colours and labels from explorer/views, which
loads pyqtgraph, but needs no screen).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import numpy as np
import torch

from .core import api_checks as checks
from .core.presets import preset as P
from .core.presets.edits import with_changes
from .core.errors import SpecError
from .core.plugins.registry import densities, failures, objectives, samplers
from .core.run.headless import field_arrays, model_metrics
from .core.samplers import build_sampler
from .core.presets.shipped import resolve
from .core.training.trainer import Trainer

__all__ = ["Run", "SpecError", "densities", "edit", "evaluate", "field", "load", "loads",
           "log_density", "objectives", "open_run", "plugin_failures", "sample", "samplers",
           "save_run", "show", "train"]


@dataclass
class Run:
    """A trained model with its preset: what `sample`, `evaluate` and `field` take.
    `particles`: the latest cloud `sample` drew (or the samples.npy of an opened run);
    `history`: (steps, losses) of an opened run up to where it was saved (the window keeps
    means of bins on long runs, so its steps need not be consecutive)."""
    preset: P.Preset
    trainer: Trainer
    particles: np.ndarray | None = None
    history: tuple[np.ndarray, np.ndarray] | None = None

    @property
    def losses(self) -> np.ndarray:
        """The training loss at every step, (steps,) (an opened run: its history first)."""
        return self.loss_curve()[1]

    def loss_curve(self) -> tuple[np.ndarray, np.ndarray]:
        """(steps, losses) to plot or save: the opened history, then every step trained since."""
        new = np.asarray(self.trainer.losses, dtype=np.float64)
        if self.history is None:
            return np.arange(1, len(new) + 1, dtype=np.float64), new
        steps, values = (np.asarray(a, dtype=np.float64) for a in self.history)
        start = self.trainer.step_count - len(new)
        return (np.concatenate([steps, start + np.arange(1, len(new) + 1)]),
                np.concatenate([values, new]))

    @property
    def fisher(self) -> np.ndarray:
        """[[step, F, relative F], ...] measured during training."""
        return np.asarray(self.trainer.fisher, dtype=np.float64).reshape(-1, 3)

    @property
    def model(self) -> torch.nn.Module:
        return self.trainer.model


def load(name_or_path: str) -> P.Preset:
    """A preset: the name of a shipped one (`score-explorer run --help` lists them) or a file."""
    if not isinstance(name_or_path, (str, os.PathLike)):
        raise SpecError("name_or_path", f"must be a preset's name or a file path, got "
                                        f"{type(name_or_path).__name__}")
    return P.load(resolve(str(name_or_path)))


def loads(text: str, base_dir: str | Path = ".") -> P.Preset:
    """A preset from TOML text (a notebook keeps its preset inline); data files named in it
    are found relative to `base_dir`."""
    return P.loads(str(text), Path(base_dir).resolve(), None)


def edit(preset: P.Preset, overrides: dict[str, Any]) -> P.Preset:
    """A new preset with dotted keys replaced ({"training.lr": 3e-3}; None: back to the
    default), validated as a file is, by the window's rules: a new density kind starts its
    table afresh, a new objective brings its own defaults and the sampler follows it."""
    _preset(preset)
    if not isinstance(overrides, dict) or not all(isinstance(k, str) for k in overrides):
        raise SpecError("overrides", "must be a dict of dotted preset keys to values")
    return with_changes(preset, {k: _plain(v) for k, v in overrides.items()})


def train(preset: P.Preset | Run, steps: int | None = None,
          callback: Callable[[int, float], Any] | None = None, every: int = 100,
          device: str | None = None) -> Run:
    """Train preset.training.steps (or `steps`) steps. `callback(step, loss)` is called every
    `every` steps; it may return True to stop early. The Fisher divergence against the true
    score is measured at each callback and at the end (Run.fisher). Given a Run (one opened
    with `open_run`, say), train it `steps` more (its weights, a fresh optimizer). `device`:
    as the preset's training.device (auto, cpu, cuda, cuda:N, mps; an unavailable GPU falls
    back to the CPU)."""
    every = checks.integer("every", every, 1, 10_000_000)
    if callback is not None and not callable(callback):
        raise SpecError("callback", f"must be callable, got {type(callback).__name__}")
    if isinstance(preset, Run):
        more = 0 if steps is None else checks.integer("steps", steps, 0, 10_000_000)
        _train_steps(preset.trainer, more, callback, every)
        return preset
    over = {}
    if steps is not None:
        over["training.steps"] = checks.integer("steps", steps, 0, 10_000_000)
    if device is not None:
        if not isinstance(device, (str, torch.device)):
            raise SpecError("device", f"must be a device name such as 'cpu' or 'cuda', got {device!r}")
        over["training.device"] = str(device)
    preset = _as_argument(edit, preset, over, {"training.steps": "steps", "training.device": "device"})
    trainer = Trainer(preset)
    _train_steps(trainer, int(preset.training["steps"]), callback, every)
    return Run(preset, trainer)


def _train_steps(trainer: Trainer, total: int, callback, every: int) -> None:
    done = 0
    while done < total:
        n = min(every, total - done)
        trainer.step(n)
        done += n
        trainer.evaluate()
        if callback is not None and callback(trainer.step_count, trainer.losses[-1]):
            break


def sample(run: Run, particles: int | None = None, score: str | None = None,
           steps: int | None = None) -> np.ndarray:
    """Run the preset's sampler to the end of its schedule; the particles, (n, d). `score`:
    "learned" (the model's) or "true" (the density's exact score)."""
    _run(run)
    over = {}
    if particles is not None:
        over["sampler.particles"] = checks.integer("particles", particles, 1, 2_000_000)
    if score is not None:
        over["sampler.score"] = checks.choice("score", score, ("learned", "true"))
    if steps is not None:
        over["sampler.steps"] = checks.integer("steps", steps, 0, 10_000_000)
    p = run.preset
    if over:
        p = _as_argument(edit, p, over, {"sampler.particles": "particles", "sampler.score": "score",
                                         "sampler.steps": "steps"})
    t = run.trainer
    scorer = t.true_score() if p.sampler["score"] == "true" else t.learned_score()
    sampler = build_sampler(p, scorer, t.device)
    with torch.no_grad():
        sampler.run()
    message = sampler.blowup_message()
    if message:
        raise FloatingPointError(message)
    run.particles = sampler.numpy()
    return run.particles


def evaluate(run: Run, particles: np.ndarray | None = None) -> dict:
    """Every metric of `score-explorer run`'s metrics.json that applies: Fisher divergence,
    per noise level, the learned density's grid KL and curl fraction, and with particles the
    mode weights and sample-quality figures with their noise floors."""
    _run(run)
    t, p = run.trainer, run.preset
    x = None
    if particles is not None:
        x = checks.particles_array("particles", particles, t.density.dim, 2_000_000)
    out = dict(t.evaluate(record=False))
    out.update(model_metrics(t, p, x))     # the block of `run`'s metrics.json
    return out


def field(run: Run) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(points (m, d), learned score (m, d), true score (m, d)) on the preset's view grid,
    the arrays of field.npz."""
    _run(run)
    return field_arrays(run.trainer, run.preset)


def log_density(run: Run, x, trace: str = "auto", probes: int | None = None,
                probe: str | None = None, seed: int = 0, return_se: bool = False):
    """log p_theta(x) per point, (n,) float64, of the trained model.

    trace = "exact": by its probability-flow ODE with the Jacobian's trace (objective sde or
    flow_matching, d <= 3; core/measures/model_likelihood.py); "hutchinson": the same ODE with
    the mean of `probes` per-point estimates with `probe` = "rademacher" | "gaussian" probes
    held fixed along the solve (defaults: objective.hutchinson_probes and _probe); "grid":
    the learned density the window and metrics.json show (-E of an energy model, else the
    least-squares potential of the learned score) on the grid run measures it on, normalised
    over density.bounds, -inf outside them (every objective; core/measures/density_grid.py);
    "auto" (the default): "exact" where the model has an ODE, else "grid". With return_se,
    also the standard error of each point's Hutchinson estimate (zeros otherwise; NaN with
    one probe). Untrained (no steps), the ODE integrates the density's exact score instead:
    the result is then the true log p, up to the solver's tolerance."""
    from .core.measures import model_likelihood as ML
    _run(run)
    p, t = run.preset, run.trainer
    if trace not in ("auto", "exact", "hutchinson", "grid"):
        raise SpecError("trace", f"must be 'auto', 'exact', 'hutchinson' or 'grid', got {trace!r}")
    if trace == "auto":
        trace = "exact" if ML.available(p) else "grid"
    if trace != "grid" and not ML.available(p):
        raise SpecError("objective.kind", f"{p.objective['kind']!r} has no ODE likelihood; "
                                          f"trace={trace!r} needs objective sde or flow_matching "
                                          "(trace='grid' works for every objective)")
    if probe is not None and probe not in ("rademacher", "gaussian"):
        raise SpecError("probe", f"must be 'rademacher' or 'gaussian', got {probe!r}")
    if probes is not None and not (isinstance(probes, int) and probes >= 1):
        raise SpecError("probes", f"must be a whole number of at least 1, got {probes!r}")
    pts = np.asarray(x, dtype=np.float64)
    if pts.ndim == 1 and p.dim == 1:
        pts = pts[:, None]
    if pts.ndim != 2 or pts.shape[1] != p.dim:
        raise SpecError("x", f"expected points of shape (n, {p.dim}), got {pts.shape}")
    if trace == "grid":
        from .core.measures.density_grid import log_density_at
        logp = log_density_at(t, p, pts)
        return (logp, np.zeros_like(logp)) if return_se else logp
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


def _preset(preset) -> None:
    if not isinstance(preset, P.Preset):
        raise SpecError("preset", f"must be a Preset (from explorer.api.load), got {type(preset).__name__}")


def _run(run) -> None:
    if not isinstance(run, Run):
        raise SpecError("run", f"must be a Run (from explorer.api.train), got {type(run).__name__}")


def _plain(value):
    """numpy scalars and arrays as the Python numbers and lists a preset file would hold."""
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


def _as_argument(fn, preset, over, names):
    """fn(preset, over), a SpecError on a key the arguments set named as the argument."""
    try:
        return fn(preset, over)
    except SpecError as e:
        key = names.get(e.key)
        if key is None:
            raise
        raise SpecError(key, e.message.split(" (in the variant")[0]) from None


def plugin_failures() -> list[str]:
    """One line per installed plugin that could not be loaded (empty when all loaded)."""
    return [f.message() for f in failures()]


def open_run(folder: str | Path, device: str | None = None) -> Run:
    """The trained run in a folder written by `score-explorer run`, the window's File > Save
    session as, or `save_run`: its preset, weights, loss and Fisher history and particles.
    `evaluate` on it gives the Fisher divergence its metrics.json holds. SpecError naming
    the file where the folder is not a run or its weights do not fit its preset."""
    from .core.run.folder import open_folder
    opened = open_folder(folder, device)
    return Run(opened.preset, opened.trainer, opened.samples,
               (opened.loss_steps, opened.loss_values))


def save_run(run: Run, folder: str | Path) -> dict:
    """Write the run into `folder` as `score-explorer run` would (preset.toml, metrics.json,
    loss.csv, samples.npy from `run.particles` if any, field.npz, model.safetensors); the
    metrics written. The window and `open_run` read it back."""
    from .core.run.folder import save_folder
    steps, values = run.loss_curve()
    return save_folder(Path(folder), run.trainer, run.preset, steps, values, run.particles,
                       saved_from="explorer.api")


def show(run: Run, what: str = "field", **options):
    """A matplotlib Figure of the run as the window draws it: "field" (learned beside true
    score over the density), "particles" (the latest cloud, sampled if there is none),
    "loss" (loss and Fisher divergence against the step) or "density" (learned density
    beside the true one). Jupyter shows it inline; `fig.savefig` writes it."""
    from .export.figures import figure
    if what == "particles" and options.get("particles") is None and run.particles is None:
        sample(run)
    return figure(run, what, **options)
