"""Background threads for training and sampling, and their clean shutdown.

Each worker is a QObject moved to its own QThread, looping in `run` until told to stop.
It never touches a widget: it keeps the newest snapshot (numpy copies) under a lock and
emits `ready` at most ~30 times a second; the window takes the newest snapshot when it
gets round to it, so stale ones are simply dropped (DESIGN 7a, 8). Pause and stop go
through `threading.Event`s, so they work while the worker is busy, and `ThreadHandle.join`
ends the thread within a second or two whatever it is doing.
"""

from __future__ import annotations

import copy
import threading
import time
import traceback

import numpy as np
import torch
from PySide6.QtCore import QObject, QThread, Signal, Slot

from ..core.errors import DivergedError
from ..core.metrics import mode_weights
from ..core.sampling import Sampler
from ..core.scores import LearnedScore
from ..core.training import Trainer

EMIT_INTERVAL = 1 / 36      # seconds between particle snapshots
TRAIN_EMIT_INTERVAL = 1 / 5   # seconds between training snapshots (field + loss redraws)
MODES_INTERVAL = 0.2        # seconds between mode-fraction readouts
FRAME_HZ = 36.0             # particle frames aimed at per second (30 are drawn after overheads)
CHUNK_SECONDS = 0.015       # training time between looks at the events
FISHER_INTERVAL = 1.0       # seconds between Fisher-divergence evaluations


class _Worker(QObject):
    ready = Signal()          # a new snapshot is waiting in take_snapshot()
    failed = Signal(str)      # a message for the user; the worker pauses
    stopped = Signal()

    emit_interval = EMIT_INTERVAL

    def __init__(self):
        super().__init__()
        self._run = threading.Event()     # set = playing
        self._stop = threading.Event()
        self._wake = threading.Event()    # something to do while paused (a request)
        self._lock = threading.Lock()
        self._latest: dict | None = None
        self._last_emit = 0.0

    # --- called from the GUI thread ---------------------------------------------------
    def play(self) -> None:
        self._run.set()
        self._wake.set()

    def pause(self) -> None:
        self._run.clear()

    @property
    def playing(self) -> bool:
        return self._run.is_set()

    def stop(self) -> None:
        self._stop.set()
        self._run.clear()
        self._wake.set()

    def take_snapshot(self) -> dict | None:
        with self._lock:
            snap, self._latest = self._latest, None
        return snap

    # --- in the worker thread ---------------------------------------------------------
    def _publish(self, snap: dict, force: bool = False) -> None:
        now = time.perf_counter()
        if not force and now - self._last_emit < self.emit_interval:
            return
        self._last_emit = now
        with self._lock:
            self._latest = snap
        self.ready.emit()

    def _wait_while_paused(self) -> bool:
        """Block until playing, a request or stop; True if the worker should stop."""
        while not self._run.is_set() and not self._stop.is_set():
            self._wake.wait(0.1)
            if self._wake.is_set():
                self._wake.clear()
                self._serve_requests()
        return self._stop.is_set()

    def _serve_requests(self) -> None:
        pass

    @Slot()
    def run(self) -> None:
        try:
            self._loop()
        except Exception as e:  # never let a traceback escape into Qt
            traceback.print_exc()
            self.failed.emit(f"{type(e).__name__}: {e}")
        finally:
            self.stopped.emit()

    def _loop(self) -> None:
        raise NotImplementedError


class TrainingWorker(_Worker):
    """Trains `trainer` in chunks; snapshots carry the learned field on the view grid."""

    budget_reached = Signal()
    emit_interval = TRAIN_EMIT_INTERVAL

    def __init__(self, trainer: Trainer, grid: np.ndarray):
        super().__init__()
        self.trainer = trainer
        self.grid = torch.from_numpy(grid).to(trainer.device)
        self.model_lock = threading.Lock()   # held while the weights change
        self._pending_lr: float | None = None
        self._pending_steps = 0              # "Step N" requests while paused
        self._view_sigma: float | None = None
        self._steps_per_s = 0.0
        self._last_fisher = 0.0

    # GUI thread
    def set_lr(self, lr: float) -> None:
        self._pending_lr = lr
        self._wake.set()

    def step_n(self, n: int) -> None:
        self._pending_steps += int(n)
        self._wake.set()

    def set_view_sigma(self, sigma: float | None) -> None:
        """Noise level at which the learned field is drawn (NCSN sigma slider)."""
        self._view_sigma = sigma
        self._wake.set()

    def model_copy(self):
        with self.model_lock:
            return copy.deepcopy(self.trainer.model)

    # worker thread
    def _serve_requests(self) -> None:
        if self._pending_lr is not None:
            self.trainer.set_lr(self._pending_lr)
            self._pending_lr = None
        if self._pending_steps > 0:
            n, self._pending_steps = self._pending_steps, 0
            self._train(n, until_event=False)
        self._publish(self._snapshot(fisher=True), force=True)

    def _train(self, n: int, until_event: bool) -> None:
        t = self.trainer
        n = min(n, max(t.budget - t.step_count, 0))
        chunk = 1
        while n > 0 and not self._stop.is_set() and (self._run.is_set() or not until_event):
            k = min(chunk, n)
            t0 = time.perf_counter()
            try:
                with self.model_lock:
                    t.step(k)
            except DivergedError as e:
                self._run.clear()
                self._publish(self._snapshot(fisher=False), force=True)
                self.failed.emit(str(e))
                return
            dt = time.perf_counter() - t0
            n -= k
            self._steps_per_s = k / dt if dt > 0 else 0.0
            # aim for chunks of ~CHUNK_SECONDS so that events are seen quickly
            chunk = max(1, min(int(k * CHUNK_SECONDS / max(dt, 1e-6)), 1000, 2 * k))
            now = time.perf_counter()
            if now - self._last_emit >= self.emit_interval:
                fisher = now - self._last_fisher >= FISHER_INTERVAL
                self._publish(self._snapshot(fisher=fisher))
            if self._pending_lr is not None:
                self.trainer.set_lr(self._pending_lr)
                self._pending_lr = None

    def _loop(self) -> None:
        self._publish(self._snapshot(fisher=True), force=True)
        with self.model_lock:
            self.trainer.optimizer  # built here, off the GUI thread (its first use is slow)
        while not self._stop.is_set():
            if self._wait_while_paused():
                break
            if self.trainer.finished:
                self._run.clear()
                self._publish(self._snapshot(fisher=True), force=True)
                self.budget_reached.emit()
                continue
            self._train(self.trainer.budget - self.trainer.step_count, until_event=True)

    def _snapshot(self, fisher: bool) -> dict:
        t = self.trainer
        with self.model_lock:
            score = t.learned_score()
            sigma = self._view_sigma
            if sigma is not None and t.model.conditioning == "sigma":
                learned = score.at_sigma(self.grid, sigma)
            else:
                learned = score.field(self.grid)
            snap = {
                "step": t.step_count,
                "budget": t.budget,
                "steps_per_s": self._steps_per_s if self._run.is_set() else 0.0,
                "learned": learned.cpu().numpy(),
                "view_sigma": sigma,
            }
            if fisher:
                self._last_fisher = time.perf_counter()
                if np.isfinite(t.losses[-1] if t.losses else 0.0):
                    t.evaluate()
        return snap


class SamplingWorker(_Worker):
    """Advances a Sampler a few steps per frame and publishes the particles."""

    finished_sampling = Signal()

    def __init__(self, sampler: Sampler, steps_per_frame: int = 1, frame_hz: float = FRAME_HZ,
                 components=None):
        super().__init__()
        self.sampler = sampler
        self.steps_per_frame = steps_per_frame
        self.frame_interval = 1.0 / frame_hz
        self.components = components    # mixture (weights, means, covs) for the mode readout
        self._last_modes = -1.0

    def _loop(self) -> None:
        self._publish(self._snapshot(), force=True)
        while not self._stop.is_set():
            if self._wait_while_paused():
                break
            t0 = time.perf_counter()
            with torch.no_grad():
                self.sampler.advance(self.steps_per_frame)
            self._publish(self._snapshot(), force=True)
            if self.sampler.done:
                self._run.clear()
                self.finished_sampling.emit()
                continue
            spare = self.frame_interval - (time.perf_counter() - t0)
            if spare > 0:
                self._stop.wait(spare)

    def _serve_requests(self) -> None:
        self._publish(self._snapshot(), force=True)

    def _snapshot(self) -> dict:
        s = self.sampler
        x = s.numpy()
        snap = {"x": x, "step": s.done_steps, "total": s.total, "sigma": s.sigma,
                "level": s.level, "kind": s.kind, "mode_weights": None}
        now = time.perf_counter()
        if self.components is not None and (now - self._last_modes >= MODES_INTERVAL or s.done):
            self._last_modes = now
            snap["mode_weights"] = mode_weights(x, self.components)
        return snap


class ThreadHandle:
    """A worker, its QThread, and a join that always ends both."""

    def __init__(self, worker: _Worker):
        self.worker = worker
        self.thread = QThread()
        self.thread.setObjectName(type(worker).__name__)
        worker.moveToThread(self.thread)
        self.thread.started.connect(worker.run)

    def start(self) -> None:
        self.thread.start()

    def join(self, timeout_ms: int = 3000) -> bool:
        """Stop the worker and wait for its thread; True if it ended within the timeout.

        A worker only overruns while torch does something it cannot interrupt (a first
        import); the wait then goes on, because a QThread must never be destroyed running.
        """
        self.worker.stop()
        self.thread.quit()
        if self.thread.wait(timeout_ms):
            return True
        self.thread.wait()
        return False


def learned_sampler_score(worker: TrainingWorker) -> LearnedScore:
    """A frozen copy of the model for sampling, so that training can go on meanwhile."""
    model = worker.model_copy()
    model.eval()
    return LearnedScore(model, worker.trainer.preset)
