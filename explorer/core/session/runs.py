"""Training and sampling in background threads, with a newest-snapshot hand-off.

A run loops in a thread of its own until told to stop. It never calls into a window: it
keeps the newest snapshot (numpy copies) under a lock and emits `ready`; whoever draws
takes the newest snapshot when it gets round to it, so stale ones are simply dropped
(docs/design.md §7a, 8). Pause and stop go through `threading.Event`s, so they work while the run
is busy, and `join` ends the thread within a second or two whatever it is doing.

Training itself happens in a child process (core/training/process.py), out of reach of
the interpreter lock of whoever watches; a `TrainingRun`'s thread only receives what the
child sends and mirrors it into a `Trainer`. Sampling advances a `Sampler` in its thread
(torch releases the interpreter lock while it computes).

No Qt here: the window bridges `ready` to its own thread (gui/session_bridge.py); a
script or a test can connect a plain callback or just poll `take_snapshot`.
"""

from __future__ import annotations

import copy
import threading
import time
import traceback

import numpy as np
import torch
from psygnal import Signal

from ..training.history import LossHistory
from ..measures.metrics import mode_weights
from ..samplers import Sampler
from ..scores import LearnedScore
from ..training.trainer import Trainer
from ..training.process import TrainingProcess, TrainingProcessGone, learned_on_grid, load_weights

MODES_INTERVAL = 0.15       # seconds between readouts (mode fractions, sample quality): 5+ a second
FRAME_HZ = 36.0             # particle frames aimed at per second (30 are drawn after overheads)
TAKE_WAIT = 0.5             # longest wait for the watcher to take a particle frame
STOP_WAIT = 0.5             # seconds a stopping training run waits for the child's last word
JOIN_TIMEOUT = 3.0          # seconds `join` waits before it reports an overrun


class RunThread:
    """A loop in a thread of its own that publishes its newest snapshot."""

    ready = Signal()          # a new snapshot is waiting in take_snapshot()
    failed = Signal(str)      # a message for the user; the run pauses

    def __init__(self):
        self._run = threading.Event()     # set = playing
        self._stop = threading.Event()
        self._wake = threading.Event()    # something to do while paused (a request)
        self._lock = threading.Lock()
        self._latest: dict | None = None
        self._taken = threading.Event()   # the watcher has taken the last snapshot
        self._taken.set()
        self._thread = threading.Thread(target=self._main, name=type(self).__name__, daemon=True)

    # --- called by the owner --------------------------------------------------------
    def start(self) -> None:
        self._thread.start()

    def play(self) -> None:
        self._run.set()
        self._wake.set()

    def pause(self) -> None:
        self._run.clear()

    @property
    def playing(self) -> bool:
        return self._run.is_set()

    @property
    def alive(self) -> bool:
        return self._thread.is_alive()

    def stop(self) -> None:
        self._stop.set()
        self._run.clear()
        self._wake.set()
        self._taken.set()

    def join(self, timeout: float = JOIN_TIMEOUT) -> bool:
        """Stop the run and wait for its thread; True if it ended within the timeout.

        A run only overruns while torch does something it cannot interrupt (a first
        import); its thread is a daemon, so it cannot keep the program from exiting."""
        self.stop()
        if self._thread.ident is None:
            return True
        self._thread.join(timeout)
        return not self._thread.is_alive()

    def take_snapshot(self) -> dict | None:
        with self._lock:
            snap, self._latest = self._latest, None
            self._taken.set()
        return snap

    # --- in the run's thread -----------------------------------------------------------
    def _publish(self, snap: dict) -> None:
        with self._lock:
            self._latest = snap
            self._taken.clear()
        self.ready.emit()

    def _wait_while_paused(self) -> bool:
        """Block until playing, a request or stop; True if the run should stop."""
        while not self._run.is_set() and not self._stop.is_set():
            self._wake.wait(0.1)
            if self._wake.is_set():
                self._wake.clear()
                self._serve_requests()
        return self._stop.is_set()

    def _serve_requests(self) -> None:
        pass

    def _main(self) -> None:
        try:
            self._loop()
        except Exception as e:  # never let a traceback escape the thread
            traceback.print_exc()
            self._run.clear()
            self.failed.emit(f"{type(e).__name__}: {e}")

    def _loop(self) -> None:
        raise NotImplementedError


class TrainingRun(RunThread):
    """The watcher's end of a training session in the child process.

    The child (core/training/process.py) trains; this run's thread receives its snapshots,
    copies the weights, losses and Fisher values into `trainer` (the watcher's mirror of
    the child's trainer) and publishes the learned field on the view grid. Commands go
    straight to the child from the caller's thread.
    """

    budget_reached = Signal()

    def __init__(self, trainer: Trainer, grid: np.ndarray, process: TrainingProcess,
                 view_level: tuple[str, float] | None = None, losses: LossHistory | None = None,
                 shared: bool = False):
        super().__init__()
        self.trainer = trainer
        # the loss of every step so far, in bounded memory (the mirror keeps no list of them)
        self.losses = losses if losses is not None else LossHistory()
        self.process = process
        self.grid = grid
        self.model_lock = threading.Lock()   # held while the mirror's weights change
        self._view_level = view_level
        self.reported_lr: float | None = None   # the child optimizer's learning rate
        self.fisher_by_noise: list | None = None  # the latest error per noise level
        # a shared process trains other sessions beside this one (the compare lab's)
        self.session = process.open_session(trainer, grid, view_level, replace=not shared)

    def _command(self, *message) -> None:
        try:
            self.process.send(message[0], self.session, *message[1:])
        except TrainingProcessGone:
            pass   # the run's thread reports it

    def play(self) -> None:
        super().play()
        self._command("play")

    def pause(self) -> None:
        super().pause()
        self._command("pause")

    def stop(self) -> None:
        super().stop()
        self._command("stop")

    def set_lr(self, lr: float) -> None:
        self._command("lr", float(lr))

    def set_budget(self, steps: int) -> None:
        self._command("budget", int(steps))

    def step_n(self, n: int) -> None:
        self._command("step", int(n))

    def set_view_level(self, level: tuple[str, float] | None) -> None:
        """Noise level at which the learned field is drawn: ("sigma", s) from NCSN's slider,
        ("step", t) from DDPM's; None for the finest."""
        self._view_level = level
        self._command("level", level)

    def model_copy(self):
        with self.model_lock:
            return copy.deepcopy(self.trainer.model)

    def loss_arrays(self) -> tuple[np.ndarray, np.ndarray]:
        """(step, loss) so far; safe from any thread."""
        with self.model_lock:
            return self.losses.arrays()

    # the run's thread
    def _loop(self) -> None:
        self._publish(self._mirror_snapshot())   # a picture before the child answers
        try:
            self._receive_until_stopped()
        except TrainingProcessGone as e:
            self._run.clear()
            self.failed.emit(f"The training process ended ({e}). Press Reset to start a new one.")
        finally:
            self.process.close_session(self.session)

    def _receive_until_stopped(self) -> None:
        deadline = None
        answered = False   # the child's first message of a session follows its load
        while True:
            if self._stop.is_set() and deadline is None:
                if not answered:
                    return   # not loaded yet (the child is still starting): nothing trained
                deadline = time.perf_counter() + STOP_WAIT
            if deadline is not None and time.perf_counter() > deadline:
                return   # the child is busy with something it cannot interrupt; leave it
            message = self.process.receive(self.session, 0.1)
            if message is None:
                continue
            answered = True
            kind, _, *args = message
            if kind == "snapshot":
                self._apply(args[0])
            elif kind == "finished":
                self._run.clear()
                self.budget_reached.emit()
            elif kind == "failed":
                self._run.clear()
                self.failed.emit(args[0])
            elif kind == "stopped":
                return

    def _apply(self, snap: dict) -> None:
        """Bring the mirror up to the child's state, then publish it."""
        t = self.trainer
        with self.model_lock:
            load_weights(t.model, snap.pop("state"))
            self.losses.extend(snap.pop("losses"))
            t.fisher.extend(snap.pop("fisher"))
            t.step_count = snap["step"]
            t.train_seconds = snap["train_seconds"]
            snap["loss_steps"], snap["loss_values"] = self.losses.arrays()
        self.reported_lr = snap.pop("lr")
        if snap.get("fisher_by_noise") is not None:
            self.fisher_by_noise = snap["fisher_by_noise"]
        snap["fisher_by_noise"] = self.fisher_by_noise
        if not self._run.is_set():
            snap["steps_per_s"] = 0.0
        self._publish(snap)

    def _mirror_snapshot(self) -> dict:
        t = self.trainer
        grid = torch.from_numpy(self.grid).to(t.device)
        level = self._view_level
        with self.model_lock:
            learned = learned_on_grid(t, grid, level)
            loss_steps, loss_values = self.losses.arrays()
        # steps_per_s None: the training process has not answered yet ("starting…")
        return {"step": t.step_count, "budget": t.budget, "steps_per_s": None,
                "learned": learned, "view_level": level,
                "loss_steps": loss_steps, "loss_values": loss_values}


class SamplingRun(RunThread):
    """Advances a Sampler a few steps per frame and publishes the particles."""

    finished = Signal()

    def __init__(self, sampler: Sampler, steps_per_frame: int = 1, frame_hz: float = FRAME_HZ,
                 components=None, quality=None):
        """`quality`: a function that makes a SampleQuality meter for this cloud (called in
        the run's thread: drawing its exact reference samples takes a moment)."""
        super().__init__()
        self.sampler = sampler
        self.steps_per_frame = steps_per_frame
        self.frame_interval = 1.0 / frame_hz
        self.components = components    # mixture (weights, means, covs) for the mode readout
        self._last_modes = -1.0
        self._make_meter = quality
        self._meter = None
        self.until: int | None = None   # pause (and emit finished) once the cloud has taken this many steps

    def _loop(self) -> None:
        self._publish(self._snapshot())
        while not self._stop.is_set():
            if self._wait_while_paused():
                break
            # Back-pressure: no new frame until the watcher has drawn the last one, so that
            # a window that cannot keep up (100,000 particles on a slow machine) is not
            # also fighting this thread for the interpreter lock over frames it will drop.
            self._taken.wait(TAKE_WAIT)
            t0 = time.perf_counter()
            n = self.steps_per_frame
            if self.until is not None:
                n = max(0, min(n, self.until - self.sampler.done_steps))
            with torch.no_grad():
                self.sampler.advance(n)
            self._publish(self._snapshot())
            if self.sampler.done or self.paused_at_until:
                self._run.clear()
                self.finished.emit()
                continue
            spare = self.frame_interval - (time.perf_counter() - t0)
            if spare > 0:
                self._stop.wait(spare)

    @property
    def paused_at_until(self) -> bool:
        """The cloud has taken the steps it was asked for (`until`), short of its schedule."""
        return self.until is not None and self.sampler.done_steps >= self.until

    def _serve_requests(self) -> None:
        self._publish(self._snapshot())

    def _snapshot(self) -> dict:
        s = self.sampler
        x = s.numpy()
        snap = {"x": x, "step": s.done_steps, "total": s.total, "sigma": s.sigma,
                "nfe": int(getattr(s, "nfe", 0)),    # score evaluations so far (the cost)
                "level": s.level, "kind": s.kind, "mode_weights": None, "quality": None,
                "paths": s.paths_so_far(), "t": s.t}
        now = time.perf_counter()
        if now - self._last_modes >= MODES_INTERVAL or s.done:   # readouts, 5-6 times a second
            self._last_modes = now
            if self.components is not None:
                snap["mode_weights"] = mode_weights(x, self.components)
            if self._make_meter is not None and s.done_steps > 0:
                if self._meter is None:
                    self._meter = self._make_meter()
                snap["quality"] = self._meter.measure(x)
        return snap


def learned_sampler_score(run: TrainingRun) -> LearnedScore:
    """A frozen copy of the model for sampling, so that training can go on meanwhile."""
    model = run.model_copy()
    model.eval()
    return LearnedScore(model, run.trainer.preset)
