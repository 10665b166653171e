"""The exports of a finished headless run (`score-explorer run --export`): animations of its
particles or its training, a still of its end, or its data, from the run's result."""

from __future__ import annotations

from pathlib import Path

from ..core.presets.preset import Preset
from ..core.training.trainer import Trainer
from . import stills
from ..core.session.captions import mode_readout, sampler_status
from .frames import (ParticleScene, RenderCall, TrainingScene, _direct, _eval_field, ensure_qapp,
                     field_grid, particle_animation, training_animation, training_state)


def _learned_or_none(trainer: Trainer, preset: Preset):
    return trainer.learned_score() if trainer.step_count > 0 else None


def export_run(spec, result, preset: Preset, progress=None, cancel=None,
               render_call: RenderCall = _direct, title: str | None = None) -> Path:
    """Write `spec` (an ExportSpec) for a finished run (`core.run.RunResult`); `title` goes
    above every frame of an animation or still (a slide's heading)."""
    trainer = result.trainer
    density = trainer.density
    style = spec.view_style()
    ext = spec.ext
    if ext in (".npy", ".npz", ".csv"):
        return stills.export_data(spec.path, spec.what, result, preset, cancel=cancel)
    ensure_qapp()
    if ext in (".mp4", ".gif"):
        if spec.what == "training":
            return training_animation(spec.path, preset, density, style, spec.size,
                                      device=trainer.device, cancel=cancel, progress=progress,
                                      render_call=render_call, title=title)
        score = trainer.true_score() if preset.sampler["score"] == "true" else trainer.learned_score()
        return particle_animation(spec.path, preset, score, trainer.device, density, style,
                                  spec.size, cancel, progress, render_call,
                                  learned=_learned_or_none(trainer, preset), title=title)
    # a still of the end of the run
    if spec.what == "particles":
        s = result.sampler
        snap = {"x": result.samples,
                "status": sampler_status(preset.sampler["kind"], s.done_steps if s else 0,
                                         s.total if s else 0, sigma=s.sigma if s else None,
                                         t=s.t if s else None, nfe=s.nfe if s else 0,
                                         score=preset.sampler["score"]),
                "modes": mode_readout(result.samples, density),
                "paths": s.paths_so_far() if s else None}
        make = lambda: ParticleScene(preset, density, spec.size, style,  # noqa: E731
                                     _learned_or_none(trainer, preset), trainer.device, title)
    else:
        pts, _ = field_grid(preset)
        true = _eval_field(trainer.true_score().field, pts, trainer.device)
        fisher = [(s, f) for s, f in sorted(result.fisher_rows.items())]
        snap = training_state(trainer, preset, pts, true, fisher_abs=fisher)
        make = lambda: TrainingScene(preset, density, spec.size, style,  # noqa: E731
                                     show=spec.what, title=title)
    return stills.render_still(spec.path, make, snap, cancel=cancel, render_call=render_call)
