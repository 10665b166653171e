"""Play a lesson without a window: every step's preset and actions on a Session.

This is what keeps a lesson from rotting: a shipped lesson that no longer loads, whose step
no longer trains, samples or draws, fails the test suite (tests/test_lessons.py), which
plays each one with its training shrunk by `scale`. It is also `score-explorer lesson NAME
--headless`, a lecturer's rehearsal: one line per step with what the picture would show.

The window plays the same steps (gui/lesson_player.py) with the same meaning: a step's
preset replaces or edits the last one, weights are kept unless the edit needs fresh ones
(as Session.edit decides), `train = N` trains N steps more, `sample = N` advances the
step before's cloud to step N when the preset is unchanged, and training a step starts a
new cloud on the new weights.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from ..compare.plan import short_name, variant_preset
from ..measures.metrics import mode_weights
from ..presets.preset import Preset
from ..session import Session
from .format import Lesson, Step


@dataclass
class StepResult:
    number: int
    preset: str                          # the preset's name
    steps_trained: int                   # steps the weights have had, in all
    relative_fisher: float | None = None
    sampled: int | None = None           # sampler steps the cloud has taken
    mode_weights: list[float] | None = None
    level: tuple | None = None
    density_kl: float | None = None      # the learned-density view's KL on its grid
    curl: float | None = None            # ... and its curl fraction
    variants: list[tuple[str, float | None]] = field(default_factory=list)   # name, relative F
    tradeoff: dict | None = None         # the sigma trade-off: slopes and the bias at sigma ~ 0.1

    def line(self) -> str:
        parts = [f"step {self.number}: {self.preset}"]
        if self.steps_trained:
            parts.append(f"{self.steps_trained} steps trained")
        if self.relative_fisher is not None:
            parts.append(f"relative Fisher {self.relative_fisher:.3g}")
        if self.level is not None:
            parts.append(("σ = %.3g" if self.level[0] == "sigma" else "t = %d") % self.level[1])
        if self.sampled is not None:
            parts.append(f"sampled {self.sampled} steps")
        if self.mode_weights is not None:
            parts.append("modes " + "/".join(f"{w:.2f}" for w in self.mode_weights))
        if self.density_kl is not None:
            parts.append(f"KL(p ‖ pθ) {self.density_kl:.3g}")
        if self.curl is not None:
            parts.append(f"curl fraction {self.curl:.3g}")
        for name, rel in self.variants:
            parts.append(f"{name}: " + ("n/a" if rel is None else f"relative Fisher {rel:.3g}"))
        if self.tradeoff is not None:
            t = self.tradeoff
            parts.append(f"σ trade-off: relative bias {t['bias_relative']:.3g} at σ {t['sigma']:.3g}, "
                         f"variance slopes {t['loss_slope']:.2f} (loss), {t['grad_slope']:.2f} (gradient)")
        return "; ".join(parts)


def scaled(preset: Preset, scale: float, max_particles: int | None) -> Preset:
    """The preset with its training budget times `scale` and at most `max_particles`
    particles (the tests' shrinking; scale 1 and no cap: the preset itself)."""
    if scale == 1.0 and max_particles is None:
        return preset
    p = preset.copy()
    p.training["steps"] = train_count(int(p.training["steps"]), scale)
    if max_particles is not None:
        p.sampler["particles"] = min(int(p.sampler["particles"]), int(max_particles))
    return p


def train_count(n: int, scale: float) -> int:
    return n if scale == 1.0 or n == 0 else max(1, round(n * scale))


def run_lesson(lesson: Lesson, scale: float = 1.0, max_particles: int | None = None,
               on_step: Callable[[StepResult], None] | None = None) -> list[StepResult]:
    """Play every step; the results, one per step (also handed to `on_step` as they come)."""
    session: Session | None = None
    cloud = None
    out = []
    try:
        for step in lesson.steps:
            preset = scaled(step.preset, scale, max_particles)
            if session is None:
                session = Session(preset)
            elif step.fresh_weights:
                session.replace(preset)
                cloud = None
            else:
                if preset.sampler != session.preset.sampler:
                    cloud = None
                session.preset = preset
                if session.trainer is not None:
                    session.trainer.preset = preset.copy()
                    session.trainer.set_lr(preset.training["lr"])
            result = _play(session, step, scale, max_particles, cloud)
            cloud = result.pop("cloud")
            r = StepResult(**result)
            out.append(r)
            if on_step is not None:
                on_step(r)
    finally:
        if session is not None:
            session.close()
    return out


def _play(session: Session, step: Step, scale: float, max_particles, cloud) -> dict:
    res: dict = {"number": step.number, "preset": step.preset.name, "steps_trained": 0,
                 "level": step.level, "cloud": cloud}
    if step.train and not step.variants:   # with variants, `train` is their budget
        run = session.train_here(more=train_count(step.train, scale), until_relative=step.until_fisher)
        if run.interrupted:   # Ctrl-C (or SIGTERM) stops the lesson, not just this step
            raise KeyboardInterrupt
        if run.diverged is not None:
            raise RuntimeError(f"step {step.number}: {run.diverged}")
        res["cloud"] = cloud = None           # a new cloud on the new weights
    t = session.trainer
    if t is not None and t.step_count:
        res["steps_trained"] = t.step_count
        res["relative_fisher"] = t.fisher[-1][2] if t.fisher else t.evaluate()["relative_fisher_divergence"]
    if step.level is not None:                # the views at that noise level: true and learned
        session.set_view_level(step.level)
        session.true_on_grid(step.level)
        if t is not None and t.step_count:
            import torch
            with torch.no_grad():
                t.learned_score().at_level(torch.from_numpy(session.grid), step.level)
    if step.compare == "density" and t is not None and t.step_count:
        from ..measures.learned_density import learned_log_density
        ld = learned_log_density(t, session.preset, grid_n=32, level=session.view_level)
        res["density_kl"], res["curl"] = ld.kl_grid, ld.curl_fraction
    if step.sample is not None:
        until = None if step.sample is True else int(step.sample)
        if cloud is not None and until is not None and cloud.done_steps > until:
            cloud = None
        cloud, interrupted = session.sample_here(until=until, sampler=cloud)
        if interrupted:
            raise KeyboardInterrupt
        res["cloud"] = cloud
        res["sampled"] = cloud.done_steps
        comps = session.density.components()
        if comps is not None:
            res["mode_weights"] = [round(float(w), 4) for w in mode_weights(cloud.numpy(), comps)]
    if step.tradeoff:    # the picture's numbers, as the window's dialog measures them
        from ..measures.dsm_tradeoff import DEFAULT_SIGMAS, measure, parse_sigmas
        r = measure(step.preset, parse_sigmas(DEFAULT_SIGMAS), samples=max(64, int(2048 * scale)),
                    density=session.density)
        i = min(range(len(r.sigmas)), key=lambda k: abs(r.sigmas[k] - 0.1))
        res["tradeoff"] = {"sigma": r.sigmas[i], "bias_relative": r.bias_relative[i],
                           "loss_slope": r.loss_variance_slope, "grad_slope": r.grad_variance_slope}
    for overrides in step.variants:
        res.setdefault("variants", [])
        for seed in range(step.variant_seeds):
            p = variant_preset(step.preset, overrides, seed)
            if step.train:
                p.training["steps"] = step.train
            v = Session(scaled(p, scale, max_particles))
            try:
                trained = v.train_here()
                if trained.interrupted:
                    raise KeyboardInterrupt
                rel = v.trainer.fisher[-1][2] if v.trainer.fisher else None
                if trained.diverged is not None:
                    rel = None
            finally:
                v.close()
            res["variants"].append((short_name(overrides) + (f" seed {seed}" if seed else ""),
                                    None if rel is None or not np.isfinite(rel) else float(rel)))
    return res
