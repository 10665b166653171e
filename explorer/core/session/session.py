"""One preset being explored: its density, its training and sampling, their histories.

The window binds its views to a Session (one today; the compare lab binds several), and
a script can drive one without a window. Every edit goes through `edit`, which re-parses
the whole preset with the command line's code and restarts only what the edit
invalidates: a learning-rate change restarts nothing, a new objective restarts training,
a new density also restarts sampling. Whoever watches connects to the signals (psygnal,
so no Qt here); signals of a run arrive in that run's thread, the others in the caller's.
"""

from __future__ import annotations

import numpy as np
import torch
from psygnal import Signal

from dataclasses import dataclass, field
from typing import Any, Callable, Mapping

from ..measures import pictures
from ..presets import preset as P
from ..errors import DivergedError, SpecError
from ..measures.grid import grid_points
from ..training.history import LossHistory
from ..presets.preset import Preset
from ..presets.edits import NOISE_RANGE, remember_objective, with_changes
from ..measures.sample_quality import LIVE_POINTS, SampleQuality
from ..samplers import Sampler, build_sampler
from ..scores import TrueScore, level_noise
from ..training.trainer import Trainer
from ..training.process import TrainingProcess
from .effects import Effect, edit_effect
from .runs import SamplingRun, TrainingRun, learned_sampler_score

GRID_3D_MAX = 16      # points per axis of the 3-D view grid (16^3 evaluations a snapshot)

EVAL_EVERY = 100   # steps between Fisher evaluations when training in the caller's thread

Progress = Callable[[str, int, int], None]  # (phase, done, total)


@dataclass
class HeadlessTraining:
    """How training in the caller's thread went (`Session.train_here`)."""
    fisher_rows: dict[int, float] = field(default_factory=dict)   # step -> F
    interrupted: bool = False
    diverged: DivergedError | None = None


UNTRAINED_NOTE = ("The network is untrained (0 steps): its score is random, so the particles "
                  "drift off the box and the mode readout means nothing. Press Play to train "
                  "first, or set sampler score = true to sample with the exact score.")


class Session:
    """A preset, the density it describes, a training run and a sampling run.

    `edit` returns what the edit changed (an `Effect`), so that a window redraws only that.
    """

    trained = Signal()             # a training snapshot waits in training.take_snapshot()
    sampled = Signal()             # a particle snapshot waits in sampling.take_snapshot()
    failed = Signal(str)           # training or sampling stopped: why, and what to change
    note = Signal(str)             # something to tell the user that is not an error
    budget_reached = Signal()
    sampling_done = Signal()
    training_started = Signal()    # a new training run (new weights, or a new grid)
    sampling_reset = Signal()      # no particles any more

    def __init__(self, preset: Preset | None = None, density=None,
                 process: TrainingProcess | None = None):
        """`process`: a training process shared with other sessions (the compare lab's
        variants train side by side in one); by default the session starts its own."""
        self.preset: Preset = preset if preset is not None else P.default()
        self.density = density if density is not None else self.preset.build_density()
        self.trainer: Trainer | None = None   # mirror of the one training in the child process
        self.training: TrainingRun | None = None
        self.sampling: SamplingRun | None = None
        self.view_level: tuple[str, float] | None = None   # the noise-level slider's
        self.restart_on_density_edit = True
        self.grid = grid_points(self.preset.density["bounds"], self.grid_n())
        self._process: TrainingProcess | None = process
        self._shared = process is not None
        self._cache: dict = {}
        self.objective_memory: dict[str, dict] = {}   # kind -> what the user set under it

    # ================================================================ edits
    def edit(self, changes: Mapping[str, Any]) -> Effect:
        """Apply `changes` ({"section.key": value}, None unsets) by the one rule book of
        `preset_edits.with_changes`, and restart only what the edit invalidates. Raises
        SpecError naming the field, and then nothing has changed."""
        old = self.preset
        new = with_changes(old, changes, self.objective_memory)
        if new.objective["kind"] != old.objective["kind"]:
            remember_objective(old, self.objective_memory)
        if (new.density["kind"], new.density["bounds"]) != (old.density["kind"], old.density["bounds"]):
            for kept in self.objective_memory.values():   # in the old density's scale
                for key in NOISE_RANGE:
                    kept.pop(key, None)
        effect = edit_effect(old, new)
        density = new.build_density() if effect in (Effect.DIMENSION, Effect.DENSITY) else self.density
        self.preset = new
        if effect in (Effect.DIMENSION, Effect.DENSITY, Effect.TRAINING):
            self.view_level = None   # the noise levels may be others now: back to the finest
        if effect is Effect.DIMENSION:
            self.replace(new, density, keep_memory=True)
        elif effect is Effect.DENSITY:
            self.density = density
            self._cache.clear()
            if self.restart_on_density_edit or self.trainer is None:
                self.restart_training()
            else:
                self._keep_training_on_new_density()
            self.reset_sampling()
        elif effect is Effect.TRAINING:
            self._cache.clear()
            self.restart_training()
            self.reset_sampling()
        elif effect in (Effect.LR, Effect.STEPS) and self.training is not None:
            # the running loop takes both (an edit may change both at once)
            self.trainer.preset.training.update(lr=new.training["lr"], steps=new.training["steps"])
            self.training.set_lr(new.training["lr"])
            self.training.set_budget(new.training["steps"])
        elif effect is Effect.SAMPLER:
            self.reset_sampling()
        elif effect is Effect.VIEW:
            self.restart_training(keep_weights=True)
        return effect

    def replace(self, preset: Preset, density=None, keep_memory: bool = False) -> None:
        """Another preset altogether (opened, or of another dimension): both runs end and
        nothing is trained yet; `restart_training` (or `play`) starts afresh. A window
        rebuilds its views in between, so no picture of the new preset reaches old views.
        `keep_memory`: an edit of the same preset, whose objective memory stays."""
        self.stop_runs()
        if not keep_memory:
            self.objective_memory = {}
        self.preset = preset
        self.density = density if density is not None else preset.build_density()
        self.trainer = None
        self._cache.clear()
        self.view_level = None
        self.grid = grid_points(preset.density["bounds"], self.grid_n())

    # ================================================================ training
    def grid_n(self) -> int:
        n = int(self.preset.view["grid"])
        return min(n, GRID_3D_MAX) if self.preset.dim == 3 else n

    def restart_training(self, keep_weights: bool = False) -> None:
        """A new trainer (fresh weights from the seed, or the same weights on a new grid)
        and a paused run in the training process; playing goes on if it was."""
        was_playing = self.training is not None and self.training.playing
        old = self.trainer if keep_weights else None
        losses = self.training.losses if (old is not None and self.training) else None
        self._join(self.training)
        self.training = None
        try:
            self.trainer = Trainer(self.preset.copy(), self.density)
        except SpecError as e:
            self.failed.emit(str(e))
            return
        if old is not None:
            # the model's weights (the average with training.ema > 0: what the window's mirror
            # holds; its `net` is not trained here), trained on from there
            self.trainer.load_weights(old.model.state_dict())
            self.trainer.step_count, self.trainer.fisher = old.step_count, old.fisher
        if self.trainer.device_note:
            self.note.emit(self.trainer.device_note)
        self.grid = grid_points(self.preset.density["bounds"], self.grid_n())
        self._start_training_run(losses)
        if was_playing:
            self.play()

    def resume(self, trainer: Trainer, losses: LossHistory, particles: np.ndarray | None = None) -> None:
        """Go on from a model trained elsewhere (a reopened run folder, core/run/folder.py):
        its weights, step count and Fisher history train on from here, `losses` is the
        history drawn so far, and `particles` (its last cloud) are shown as a finished
        cloud; Sample draws a new one. The preset must be the session's (`replace` first)."""
        self.stop_runs()
        trainer.preset = self.preset.copy()
        self.trainer = trainer
        self.grid = grid_points(self.preset.density["bounds"], self.grid_n())
        self._start_training_run(losses)
        if particles is None or len(particles) == 0:
            return
        p = self.preset
        score = TrueScore(self.density, p) if p.sampler["score"] == "true" else \
            learned_sampler_score(self.training)
        sampler = build_sampler(p, score, trainer.device, particles=len(particles))
        sampler.x = torch.as_tensor(np.asarray(particles, dtype=np.float32), device=trainer.device)
        sampler.done_steps = sampler.total
        run = SamplingRun(sampler, components=self.density.components())
        run.ready.connect(lambda: self.sampled.emit())
        self.sampling = run
        run.start()

    def use_process(self, process: TrainingProcess) -> None:
        """Train in `process` from now on: the lab's new shared process, once the last one
        has ended. Training goes on from the mirror's weights, step count and Fisher history
        (the optimizer's moments start afresh); playing goes on if it was."""
        self._process = process
        if self.trainer is not None:
            self.restart_training(keep_weights=True)

    def _keep_training_on_new_density(self) -> None:
        """Go on with the same weights on the edited density (the user's choice)."""
        was_playing = self.training.playing
        losses = self.training.losses
        self._join(self.training)
        self.trainer.set_density(self.density)
        self.trainer.preset = self.preset.copy()
        self._start_training_run(losses)
        if was_playing:
            self.play()

    def _start_training_run(self, losses: LossHistory | None = None) -> None:
        """A paused run of the mirror trainer in the training process (a new process if
        the last one has ended); `losses` goes on with the history of the same weights."""
        if not self._shared and (self._process is None or not self._process.alive):
            if self._process is not None:
                self._process.close()
            self._process = TrainingProcess()
        run = TrainingRun(self.trainer, self.grid, self._process, self.view_level, losses,
                          shared=self._shared)
        run.ready.connect(lambda: self.trained.emit())
        run.failed.connect(lambda text: self.failed.emit(text))
        run.budget_reached.connect(lambda: self.budget_reached.emit())
        self.training = run
        run.start()
        self.training_started.emit()

    @property
    def playing(self) -> bool:
        return self.training is not None and self.training.playing

    def play(self) -> bool:
        """Train in the background; False (and nothing happens) once the budget is spent."""
        if self.training is None:
            self.restart_training()
        if self.training is None or self.trainer.finished:
            return False
        self.training.play()
        return True

    def pause(self) -> None:
        if self.training is not None:
            self.training.pause()

    def step(self, n: int) -> None:
        """Train exactly n steps, then pause."""
        if self.training is not None:
            self.pause()
            self.training.step_n(n)

    def set_view_level(self, level: tuple[str, float] | None) -> None:
        """Draw the learned field at a noise level: ("sigma", s), ("step", t), None = finest."""
        self.view_level = level
        if self.training is not None:
            self.training.set_view_level(level)

    def loss_arrays(self) -> tuple[np.ndarray, np.ndarray]:
        if self.training is None:
            return np.zeros(0), np.zeros(0)
        return self.training.loss_arrays()

    def fisher_arrays(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(step, F, relative F) of every evaluation so far."""
        rows = list(self.trainer.fisher) if self.trainer is not None else []
        a = np.asarray(rows, dtype=np.float64).reshape(-1, 3)
        return a[:, 0], a[:, 1], a[:, 2]

    def model_copy(self):
        """The learned model as it is now, copied under the run's lock (eval mode)."""
        return self.training.model_copy().eval() if self.training is not None else None

    def learned_at(self, x: torch.Tensor, level) -> np.ndarray | None:
        """The learned score at a few points, None before the first step."""
        if self.training is None or self.trainer.step_count == 0:
            return None
        with self.training.model_lock, torch.no_grad():
            return self.trainer.learned_score().at_level(x, level).numpy()

    # ================================================================ sampling
    @property
    def sampling_playing(self) -> bool:
        return self.sampling is not None and self.sampling.playing

    def start_sampling(self, steps_per_frame: int, until: int | None = None) -> bool:
        """Play the sampler; a new cloud if there is none or the last one is done.
        `until`: pause once the cloud has taken that many steps (a lesson's histogram at
        step N; `sampling_done` is emitted then too). False if it could not start (the
        reason went out on `failed`)."""
        if self.sampling is None or self.sampling.sampler.done or \
                (until is not None and self.sampling.sampler.done_steps > until):
            if not self._new_sampler(steps_per_frame):
                return False
        self.sampling.until = until
        self.sampling.play()
        return True

    def pause_sampling(self) -> None:
        if self.sampling is not None:
            self.sampling.pause()

    def set_sampling_speed(self, steps_per_frame: int) -> None:
        if self.sampling is not None:
            self.sampling.steps_per_frame = steps_per_frame

    def _new_sampler(self, steps_per_frame: int) -> bool:
        self._join(self.sampling)
        self.sampling = None
        p = self.preset
        try:
            if p.sampler["score"] == "true":
                score = TrueScore(self.density, p)
            else:
                score = learned_sampler_score(self.training)
                if self.trainer.step_count == 0:
                    self.note.emit(UNTRAINED_NOTE)
            sampler = build_sampler(p, score, self.trainer.device)
        except SpecError as e:
            self.failed.emit(str(e))
            return False
        n, bounds, seed = int(p.sampler["particles"]), p.density["bounds"], int(p.sampler["seed"])
        meter = (lambda: SampleQuality(self.density, bounds, n, seed, LIVE_POINTS)) if n >= 2 else None
        run = SamplingRun(sampler, steps_per_frame=steps_per_frame,
                          components=self.density.components(), quality=meter)
        run.ready.connect(lambda: self.sampled.emit())
        run.failed.connect(lambda text: self.failed.emit(text))
        run.finished.connect(lambda: self.sampling_done.emit())
        self.sampling = run
        run.start()
        return True

    def reset_sampling(self) -> None:
        self._join(self.sampling)
        self.sampling = None
        self.sampling_reset.emit()

    def particles(self) -> np.ndarray | None:
        return self.sampling.sampler.numpy() if self.sampling is not None else None

    # ================================================================ pictures
    def true_on_grid(self, level) -> np.ndarray:
        """The true score on the view grid at a noise level (cached)."""
        key = ("true", level, len(self.grid))
        if key not in self._cache:
            self._cache[key] = pictures.true_field(self.density, self.preset, self.grid, level)
        return self._cache[key]

    def p_on_grid(self, level) -> np.ndarray:
        """p (or p_sigma, p_t) on the view grid, scaled to max 1 (cached)."""
        key = ("p", level, len(self.grid))
        if key not in self._cache:
            self._cache[key] = pictures.density_at(self.density, self.grid,
                                                   level_noise(self.preset, level))
        return self._cache[key]

    # ================================================================ in the caller's thread
    # The command line and each compare worker have no event loop to keep alive: they train
    # and sample in their own thread, with the same Trainer and Sampler the runs drive.
    def train_here(self, progress: Progress | None = None,
                   stop: Callable[[], bool] | None = None, more: int | None = None,
                   until_relative: float | None = None) -> HeadlessTraining:
        """Fresh weights from the seed, trained to the budget in this thread, the Fisher
        divergence evaluated every EVAL_EVERY steps. Divergence stops it with the last
        finite weights; `stop()` or Ctrl-C stops it between chunks. `more`: go on with the
        weights there are (fresh ones if none) for that many steps more (a lesson's step);
        `until_relative`: stop at the first evaluation whose relative Fisher divergence is
        at most that."""
        progress = progress or (lambda *a: None)
        self.stop_runs()
        if more is None or self.trainer is None:
            self.trainer = Trainer(self.preset, self.density)
        trainer = self.trainer
        out = HeadlessTraining()
        start = trainer.step_count
        steps = trainer.budget if more is None else start + int(more)
        try:
            while trainer.step_count < steps:
                if stop and stop():
                    out.interrupted = True
                    break
                chunk = min(EVAL_EVERY - trainer.step_count % EVAL_EVERY, steps - trainer.step_count)
                try:
                    trainer.step(chunk)
                except DivergedError as e:  # the weights are back at the last finite state
                    out.diverged = e
                ev = trainer.evaluate()
                out.fisher_rows[trainer.step_count] = ev["fisher_divergence"]
                progress("train", trainer.step_count - start, steps - start)
                if out.diverged:
                    break
                if until_relative is not None and ev["relative_fisher_divergence"] <= until_relative:
                    break
        except KeyboardInterrupt:
            out.interrupted = True
        return out

    def sample_here(self, progress: Progress | None = None, until: int | None = None,
                    sampler: Sampler | None = None) -> tuple[Sampler, bool]:
        """The preset's sampler on the learned (or the exact) score, run to the end of its
        schedule (or until it has taken `until` steps) in this thread; (sampler, interrupted
        by Ctrl-C). `sampler`: go on with that cloud instead of starting a new one."""
        progress = progress or (lambda *a: None)
        if sampler is None:
            t = self.trainer or Trainer(self.preset, self.density)
            score = t.true_score() if self.preset.sampler["score"] == "true" else t.learned_score()
            sampler = build_sampler(self.preset, score, t.device)
        end = sampler.total if until is None else min(int(until), sampler.total)
        try:
            while sampler.done_steps < end and not sampler.done:
                sampler.advance(min(max(1, sampler.total // 100), end - sampler.done_steps))
                progress("sample", sampler.done_steps, end)
        except KeyboardInterrupt:
            return sampler, True
        return sampler, False

    # ================================================================ lifecycle
    @property
    def training_process(self) -> TrainingProcess | None:
        return self._process

    @staticmethod
    def _join(run) -> None:
        if run is not None:
            run.join()

    def request_stop(self) -> None:
        """Tell both runs to stop, without waiting: an owner of many sessions (the compare
        lab) asks them all first, then joins each, so their last chunks end together."""
        for run in (self.sampling, self.training):
            if run is not None:
                run.stop()

    def stop_runs(self) -> None:
        self._join(self.sampling)
        self._join(self.training)
        self.sampling = None
        self.training = None

    def close(self) -> None:
        """End both runs and the training process (unless shared); the session can be
        dropped after."""
        self.stop_runs()
        if self._process is not None and not self._shared:
            self._process.close()
            self._process = None
