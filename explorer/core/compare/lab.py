"""The compare lab: variants of one preset training side by side on one density.

Each variant is a set of overrides of the base preset (plan.variant_preset) trained with k
seeds; each (variant, seed) is a `Session`. All sessions share one training process, which
trains them in turn, a chunk of each, every session with its own data stream and random
state, so a seed's batches are the same in every variant (a fair comparison) and each
session trains the numbers it would alone. The budget is equal steps (every session trains
`steps`) or equal time (every session trains for `seconds` of its own training time).

What the window draws comes from here as plain arrays: per variant the Fisher divergence
and loss curves as mean +- sd over seeds, the learned field of its first seed, and a table
row of summary numbers. No Qt: the window binds through psygnal signals.
"""

from __future__ import annotations

import itertools
import math
import threading
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from psygnal import Signal

from ..errors import SpecError
from ..presets.preset import Preset
from ..session import Session
from ..training.process import TrainingProcess
from .plan import parse_overrides, short_name, variant_preset
from .quality_vs_nfe import point

MAX_SESSIONS = 16        # variants x seeds at once: each holds a network, its mirror and a grid
MAX_SEEDS = 8
MAX_STEPS = 10_000_000   # the schema's bound on training.steps: the equal-time budget's ceiling
CURVE_POINTS = 200       # points of a mean +- sd curve


@dataclass
class LabVariant:
    name: str
    overrides: dict[str, Any]
    sessions: list[Session]
    colour: int                      # palette index, kept when other variants go
    paused: bool = False
    learned: np.ndarray | None = None    # the first seed's learned field on the view grid
    mode_weights: list = field(default_factory=list)   # per seed, after sampling
    quality: list = field(default_factory=list)        # per seed: sample-quality figures
    nfe: list = field(default_factory=list)            # per seed: the sampler's score evaluations

    @property
    def seeds(self) -> int:
        return len(self.sessions)


class CompareLab:
    changed = Signal()     # variants added, removed, renamed, paused; the budget
    trained = Signal()     # new training numbers (emitted in a run's thread)
    sampled = Signal()     # new particles or mode weights (emitted in a run's thread)
    failed = Signal(str)   # a variant's training or sampling stopped: why

    def __init__(self, base: Preset, density=None):
        self.base = base.copy()
        self.density = density if density is not None else base.build_density()
        self.variants: list[LabVariant] = []
        self.mode = "steps"                       # or "seconds"
        self.steps = int(base.training["steps"])
        self.seconds = 30.0
        self.playing = False
        self.process = TrainingProcess()
        self._colours = itertools.count()
        self._lock = threading.Lock()

    # ================================================================ variants
    def add(self, overrides: dict[str, Any] | str, seeds: int = 1,
            name: str | None = None) -> LabVariant:
        """A new variant (overrides as a dict or as `key=value, ...` text) with `seeds`
        seeds; SpecError names what is wrong and nothing is added."""
        if isinstance(overrides, str):
            overrides = parse_overrides(overrides)
        if not 1 <= int(seeds) <= MAX_SEEDS:
            raise SpecError("seeds", f"must be between 1 and {MAX_SEEDS}, got {seeds}")
        running = sum(v.seeds for v in self.variants)
        if running + seeds > MAX_SESSIONS:
            raise SpecError("seeds", f"at most {MAX_SESSIONS} runs side by side (variants x seeds); "
                                     f"{running} are open, {seeds} more asked for")
        presets = [self._budgeted(variant_preset(self.base, overrides, s)) for s in range(seeds)]
        name = (name or short_name(overrides)).strip() or "preset"
        taken = {v.name for v in self.variants}
        base_name, n = name, 2
        while name in taken:
            name, n = f"{base_name} #{n}", n + 1
        self._ensure_process()
        sessions = [Session(p, self.density, process=self.process) for p in presets]
        variant = LabVariant(name, dict(overrides), sessions, next(self._colours))
        for i, s in enumerate(sessions):
            s.trained.connect(lambda v=variant, i=i: self._on_trained(v, i))
            s.sampled.connect(lambda v=variant, i=i: self._on_sampled(v, i))
            s.failed.connect(lambda text, v=variant: self.failed.emit(f"{v.name}: {text}"))
            s.restart_training()
        with self._lock:
            self.variants.append(variant)
        if self.playing:
            self._play(variant)
        self.changed.emit()
        return variant

    def remove(self, variant: LabVariant) -> None:
        with self._lock:
            self.variants.remove(variant)
        for s in variant.sessions:
            s.close()
        self.changed.emit()

    def rename(self, variant: LabVariant, name: str) -> None:
        name = name.strip()
        if not name:
            raise SpecError("name", "a variant needs a name")
        if any(v.name == name for v in self.variants if v is not variant):
            raise SpecError("name", f"another variant is called {name!r}")
        variant.name = name
        self.changed.emit()

    def set_paused(self, variant: LabVariant, paused: bool) -> None:
        variant.paused = paused
        if paused:
            for s in variant.sessions:
                s.pause()
        elif self.playing:
            self._play(variant)
        self.changed.emit()

    # ================================================================ training
    def set_budget(self, mode: str, value: float) -> None:
        """Equal steps (`value` steps each) or equal time (`value` seconds of training each)."""
        if mode not in ("steps", "seconds"):
            raise SpecError("budget", f"expected steps or seconds, got {mode!r}")
        if mode == "steps":
            self.steps = int(value)
        else:
            self.seconds = float(value)
        self.mode = mode
        for v in self.variants:
            for s in v.sessions:
                steps = self.steps if mode == "steps" else MAX_STEPS
                if s.trainer is not None and s.training is not None:
                    s.trainer.preset.training["steps"] = steps
                    s.preset.training["steps"] = steps
                    s.training.set_budget(steps)
        self.changed.emit()

    def _budgeted(self, preset: Preset) -> Preset:
        preset.training["steps"] = self.steps if self.mode == "steps" else MAX_STEPS
        return preset

    def _ensure_process(self) -> None:
        """A new shared training process when the last one has ended (killed, out of
        memory): every session moves to it and goes on from its last weights."""
        if self.process.alive:
            return
        self.process.close()
        self.process = TrainingProcess()
        for v in self.variants:
            for s in v.sessions:
                s.use_process(self.process)

    def play(self) -> None:
        self._ensure_process()
        self.playing = True
        for v in self.variants:
            self._play(v)
        self.changed.emit()

    def _play(self, variant: LabVariant) -> None:
        if variant.paused:
            return
        for s in variant.sessions:
            if not self._out_of_time(s):
                s.play()

    def pause(self) -> None:
        self.playing = False
        for v in self.variants:
            for s in v.sessions:
                s.pause()
        self.changed.emit()

    def reset(self) -> None:
        """Fresh weights for every variant (from their seeds), nothing sampled."""
        self.pause()
        self._ensure_process()
        for v in self.variants:
            v.learned, v.mode_weights, v.quality, v.nfe = None, [], [], []
            for s in v.sessions:
                s.restart_training()
                s.reset_sampling()
        self.changed.emit()

    def _out_of_time(self, s: Session) -> bool:
        return self.mode == "seconds" and s.trainer is not None \
            and s.trainer.train_seconds >= self.seconds

    def _on_trained(self, variant: LabVariant, i: int) -> None:
        """In a run's thread: keep the first seed's learned field, stop on the time budget."""
        s = variant.sessions[i]
        run = s.training
        snap = run.take_snapshot() if run is not None else None
        if snap is None:
            return
        if i == 0:
            variant.learned = snap["learned"]
        if self._out_of_time(s) and s.playing:
            s.pause()
        self.trained.emit()

    @property
    def finished(self) -> bool:
        """Every session has spent its budget (steps, or seconds)."""
        return all(s.trainer is not None and (s.trainer.finished or self._out_of_time(s))
                   for v in self.variants for s in v.sessions)

    # ================================================================ sampling
    def sample(self, steps_per_frame: int = 10) -> None:
        """Every variant's every seed samples with its own learned score, side by side."""
        for v in self.variants:
            v.mode_weights = [None] * v.seeds
            v.quality = [None] * v.seeds
            v.nfe = [None] * v.seeds
            for s in v.sessions:
                s.reset_sampling()
                s.start_sampling(steps_per_frame)

    def _on_sampled(self, variant: LabVariant, i: int) -> None:
        run = variant.sessions[i].sampling
        snap = run.take_snapshot() if run is not None else None
        if snap is None:
            return
        if snap["mode_weights"] is not None and i < len(variant.mode_weights):
            variant.mode_weights[i] = list(snap["mode_weights"])
        if snap.get("quality") is not None and i < len(variant.quality):
            variant.quality[i] = snap["quality"]
        if snap.get("nfe") is not None and i < len(variant.nfe):
            variant.nfe[i] = int(snap["nfe"])
        self.sampled.emit()

    def particles(self, variant: LabVariant) -> np.ndarray | None:
        return variant.sessions[0].particles()

    # ================================================================ numbers
    def curve(self, variant: LabVariant, which: str = "fisher") -> tuple[np.ndarray, ...]:
        """(x, centre, low, high) over the variant's seeds: x is the step (equal steps) or
        the training seconds (equal time). `which`: fisher, relative_fisher (the table's
        figure) or loss. For the Fisher divergences the centre is the
        geometric mean and the band one sd of log F either side (it spans decades); for the
        loss, mean +- sd. One seed: the curve itself, no band."""
        series = []
        for s in variant.sessions:
            if s.trainer is None:
                continue
            if which in ("fisher", "relative_fisher"):   # relative: F / (1/2 E_p|grad log p|^2)
                steps, f, rel = s.fisher_arrays()
                y = np.log(np.maximum(rel if which == "relative_fisher" else f, 1e-300))
            else:
                steps, y = s.loss_arrays()
                y = _smoothed(np.asarray(y, dtype=np.float64))
            if len(steps) == 0:
                continue
            series.append((self._x_of(s, steps), np.asarray(y, dtype=np.float64)))
        if not series:
            return (np.zeros(0),) * 4
        end = min(x[-1] for x, _ in series)
        start = max(x[0] for x, _ in series)
        if len(series) == 1 or end <= start:
            x, y = series[0]
            centre = np.exp(y) if which != "loss" else y
            return x, centre, centre, centre
        grid = np.linspace(start, end, CURVE_POINTS)
        ys = np.stack([np.interp(grid, x, y) for x, y in series])
        mean, sd = ys.mean(0), ys.std(0, ddof=1)
        if which != "loss":
            return grid, np.exp(mean), np.exp(mean - sd), np.exp(mean + sd)
        return grid, mean, mean - sd, mean + sd

    def _x_of(self, s: Session, steps: np.ndarray) -> np.ndarray:
        steps = np.asarray(steps, dtype=np.float64)
        if self.mode == "steps" or s.trainer is None or s.trainer.step_count == 0:
            return steps
        # training seconds at a step: the session trains at an even pace between snapshots
        return steps * (s.trainer.train_seconds / s.trainer.step_count)

    def rows(self) -> list[dict]:
        """The table: per variant its steps, speed, final relative Fisher divergence and
        loss (mean and sd over seeds), and the sampled mode weights."""
        out = []
        weights = self.density.components()
        for v in self.variants:
            steps, rates, rel, loss, secs = [], [], [], [], []
            for s in v.sessions:
                t = s.trainer
                if t is None:
                    continue
                steps.append(t.step_count)
                secs.append(t.train_seconds)
                if t.train_seconds > 0:
                    rates.append(t.step_count / t.train_seconds)
                if t.fisher:
                    rel.append(t.fisher[-1][2])
                ls, lv = s.loss_arrays()
                if len(lv):
                    loss.append(float(lv[-1]))
            w = [m for m in v.mode_weights if m is not None]
            q = [x for x in v.quality if x is not None]
            out.append({
                "name": v.name, "overrides": v.overrides, "seeds": v.seeds,
                "steps": _mean_sd(steps), "seconds": _mean_sd(secs),
                "steps_per_second": _mean_sd(rates),
                "relative_fisher": _mean_sd(rel), "final_loss": _mean_sd(loss),
                "mode_weights": (np.mean(w, 0).tolist(), np.std(w, 0, ddof=1).tolist()
                                 if len(w) > 1 else None) if w else None,
                "true_weights": [float(x) for x in weights[0]] if weights is not None else None,
                # the cloud against exact samples, and the same for exact samples (floor)
                "sample_quality": {k: (_mean_sd([x[k] for x in q]),
                                       float(np.mean([x["floor"][k] for x in q])))
                                   for k in ("mmd", "sliced_wasserstein", "tv_grid", "kl_grid")}
                if q else None,
                "playing": any(s.playing for s in v.sessions), "paused": v.paused,
            })
        return out

    def quality_points(self) -> list[dict]:
        """Sample quality against cost, one point per sampled variant (means over its seeds):
        the rows of compare's quality_vs_nfe.csv (quality_vs_nfe.point), for the window."""
        comps = self.density.components()
        true = [float(x) for x in comps[0]] if comps is not None else None
        out = []
        for v in list(self.variants):
            runs = [{"nfe": n, "sample_metrics": q, "mode_weights": w, "true_weights": true}
                    for n, q, w in zip(v.nfe, v.quality, v.mode_weights) if q is not None]
            if runs:
                s = v.sessions[0].preset.sampler
                row = point(s["kind"], s["score"], int(s["steps"]), runs)
                row["name"] = v.name
                out.append(row)
        return out

    def ism_constant(self, variant: LabVariant) -> float | None:
        """1/2 E|grad log p|^2 where the variant's loss + this estimates F (ISM, SSM, SSM-VR)."""
        s = variant.sessions[0]
        return None if s.trainer is None else s.trainer.ism_constant()

    # ================================================================ lifecycle
    def close(self) -> None:
        sessions = [s for v in self.variants for s in v.sessions]
        for s in sessions:   # all told first: their chunks end in parallel, not one by one
            s.request_stop()
        for s in sessions:
            s.close()
        self.variants = []
        self.process.close()


def _smoothed(y: np.ndarray, fraction: float = 0.03) -> np.ndarray:
    """A centred moving average over about 3% of the points: a loss is noisy from batch to
    batch, and the spread that matters here is the one between seeds."""
    k = int(len(y) * fraction) // 2 * 2 + 1
    if k < 3:
        return y
    pad = np.pad(y, k // 2, mode="edge")
    return np.convolve(pad, np.ones(k) / k, mode="valid")


def _mean_sd(values: list[float]) -> tuple[float, float | None] | None:
    """(mean, sd over seeds; None for one seed), or None without values."""
    vals = [float(x) for x in values if x is not None and math.isfinite(float(x))]
    if not vals:
        return None
    sd = float(np.std(vals, ddof=1)) if len(vals) > 1 else None
    return float(np.mean(vals)), sd
