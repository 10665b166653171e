"""Training in a child process, so that a window's painting cannot slow it down.

A window that trains in a thread shares one interpreter lock between its painting and the
Python between the training loop's torch calls; on two cores the trainer then ran at a
quarter to a half of its headless speed. A child process has an interpreter of its own.

The parent sends the preset, the density and the weights to start from; the child trains
the same `Trainer` the command line uses and sends back, a few times a second, a snapshot:
the losses and Fisher values added since the last one, the weights, and the learned field on
the view grid. The parent keeps a mirror `Trainer` holding the weights and Fisher values, so
that whatever reads a trainer (views, export, sampling on the learned score) needs no change;
the losses go into a bounded `LossHistory` (core/training/history.py), and neither side keeps a list of
every step's loss, so memory does not grow with the length of a run.

Messages are pickled tuples, pickled with the standard pickle so that tensors travel by
value rather than as shared-memory handles. Each `load` opens a session; every later message
carries its session number, and a message of an older session is dropped. The parent
queues its commands to a thread, so the window never waits on the child; the child writes
its results from a thread of its own, so it goes on reading commands (between chunks of
about 15 ms of training) even when the parent is not reading results.
"""

from __future__ import annotations

import itertools
import math
import os
import pickle
import queue
import signal
import socket
import subprocess
import sys
import threading
from pathlib import Path
import time
import traceback
from multiprocessing.connection import Connection

import numpy as np

CHUNK_SECONDS = 0.015      # training between looks at the commands
EMIT_INTERVAL = 1 / 5      # seconds between snapshots while training
FISHER_INTERVAL = 1.0      # seconds between Fisher-divergence evaluations
NOISE_ERROR_INTERVAL = 5.0  # seconds between evaluations at every noise level (NCSN, DDPM)
NOISE_ERROR_SAMPLES = 500   # samples per level for them (DDPM on a kernel density: 0.35 s)
FIRST_FISHER_STEP = 10     # and at steps 10, 20, 40, 80, ...: where the curve falls fastest,
                           # which a fast trainer would cross between two timed evaluations


def learned_on_grid(trainer, grid, level: tuple[str, float] | None) -> np.ndarray:
    """The learned field the window draws: at the noise-level slider's position for a
    noise-conditional model (("sigma", s) for NCSN, ("step", t) for DDPM, ("t", t) on a score
SDE's or flow matching's continuous path), else at the finest
    level (numpy, on the grid)."""
    score = trainer.learned_score()
    if level is not None:
        kind, value = level
        if kind == "sigma" and trainer.model.conditioning == "sigma":
            return score.at_sigma(grid, value).cpu().numpy()
        if kind == "step" and trainer.model.conditioning == "time":
            return score.at_step(grid, int(value)).cpu().numpy()
        if kind == "t" and trainer.model.conditioning in ("sde", "flow"):
            return score.at_time(grid, float(value)).cpu().numpy()
    return score.field(grid).cpu().numpy()


def weights_of(model) -> dict[str, np.ndarray]:
    """The model's weights as numpy arrays: what travels between the processes."""
    return {k: v.detach().cpu().numpy() for k, v in model.state_dict().items()}


def load_weights(model, weights: dict[str, np.ndarray]) -> None:
    import torch

    model.load_state_dict({k: torch.from_numpy(v) for k, v in weights.items()})


class TrainingProcessGone(RuntimeError):
    """The child process ended (it crashed, or was killed) while it was needed."""


# ==================================================================== the parent's side
class TrainingProcess:
    """The parent's handle on one child process that trains whatever it is sent.

    The child is a fresh interpreter running this module (not a multiprocessing child,
    which would re-run the parent's main script) and talks over one end of a socket pair,
    passed to it as an inherited descriptor (POSIX: Linux and macOS).
    Commands go out through a thread, so that the window never waits on the child, not
    even while the child is still importing torch.
    """

    def __init__(self):
        ours, theirs = socket.socketpair()
        package_root = str(Path(__file__).resolve().parents[3])   # explorer/core/training/ -> the root
        env = dict(os.environ)
        # the child imports what the parent can: this package, and plugins found on a
        # sys.path extended at run time (a notebook's sys.path.append) as well as installed ones
        paths = [package_root, *(p for p in sys.path if p and p != package_root)]
        env["PYTHONPATH"] = os.pathsep.join(dict.fromkeys(paths))
        self.process = subprocess.Popen(
            [sys.executable, "-m", "explorer.core.training.process", str(theirs.fileno())],
            pass_fds=[theirs.fileno()], stdin=subprocess.DEVNULL, env=env)
        theirs.close()
        self._conn = Connection(ours.detach())
        self._outbox: queue.SimpleQueue = queue.SimpleQueue()
        self._sessions = itertools.count(1)
        self._inboxes: dict[int, queue.SimpleQueue] = {}   # session -> its messages
        self._gone = False
        self._closed = False
        self.answered = False   # set at the child's first message: it is up and serving
        self._sender = threading.Thread(target=self._send_loop, name="training-commands",
                                        daemon=True)
        self._sender.start()
        self._router = threading.Thread(target=self._route_loop, name="training-results",
                                        daemon=True)
        self._router.start()

    @property
    def alive(self) -> bool:
        return self.process.poll() is None and not self._closed

    def exit_note(self) -> str:
        """How the child ended, for the window's message. A child killed a moment ago may not
        be reaped yet, so wait a little before calling it unresponsive."""
        try:
            code = self.process.wait(timeout=1.0)
        except subprocess.TimeoutExpired:
            return "it stopped answering"
        if code < 0:
            try:
                return f"it was stopped by {signal.Signals(-code).name}"
            except ValueError:
                return f"it was stopped by signal {-code}"
        return f"it exited with status {code}"

    def _send_loop(self) -> None:
        while True:
            data = self._outbox.get()
            if data is None:
                return
            try:
                self._conn.send_bytes(data)
            except OSError:
                return

    def _route_loop(self) -> None:
        """Hand each message to its session's inbox: several sessions share one child (the
        compare lab's variants), and each run reads only its own."""
        while True:
            try:
                message = pickle.loads(self._conn.recv_bytes())
                self.answered = True
            except (EOFError, OSError):
                self._gone = True
                for inbox in list(self._inboxes.values()):
                    inbox.put(None)
                return
            inbox = self._inboxes.get(message[1])
            if inbox is not None:
                inbox.put(message)

    def open_session(self, trainer, grid, view_level: tuple[str, float] | None,
                     replace: bool = True) -> int:
        """Send the child what to train (the mirror trainer's state); returns the session.
        With `replace` the child drops every other session; without, it trains them all in
        turn, a chunk of each."""
        session = next(self._sessions)
        if replace:
            self._inboxes.clear()
        self._inboxes[session] = queue.SimpleQueue()
        self.send("load", session, trainer.preset, trainer.density, str(trainer.device),
                  weights_of(trainer.model),
                  trainer.step_count, grid, view_level, replace)
        return session

    def close_session(self, session: int) -> None:
        """Forget a session's inbox (its run has ended)."""
        self._inboxes.pop(session, None)

    def send(self, *message) -> None:
        """Queue a command; it is pickled now, so later changes to its objects do not leak in."""
        if not self.alive:
            raise TrainingProcessGone(self.exit_note())
        self._outbox.put(pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL))

    def receive(self, session: int, timeout: float) -> tuple | None:
        """The next message of `session`, or None if none came within `timeout` seconds."""
        inbox = self._inboxes.get(session)
        if inbox is None or self._gone:
            if self._gone:
                raise TrainingProcessGone(self.exit_note())
            time.sleep(timeout)
            return None
        try:
            message = inbox.get(timeout=timeout)
        except queue.Empty:
            return None
        if message is None:
            raise TrainingProcessGone(self.exit_note())
        return message

    def close(self, timeout: float = 0.5) -> None:
        """Ask the child to quit and kill it if it has not within `timeout` seconds: it
        holds nothing the window lacks (the mirror has the weights), and one that is still
        importing torch would otherwise keep a closing window waiting for seconds. A child
        that has never answered is still starting (its first message follows its first
        `load`): it has trained nothing, and is killed at once."""
        if self._closed:
            return
        self._closed = True
        self._outbox.put(pickle.dumps(("quit",)))
        self._outbox.put(None)
        try:
            self.process.wait(timeout if self.answered else 0.0)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self._sender.join()         # a send to the ended child fails at once
        self._conn.close()
        self._router.join(1.0)


# ==================================================================== the child's side
def serve(conn: Connection) -> None:
    """The child's main: train what it is sent until told to quit or the parent goes.

    Its torch threads follow core/training/threads.py: one (unless OMP_NUM_THREADS says otherwise),
    which also leaves the window a core to paint and sample on. Two threads meet at every
    matrix product, and while the window keeps taking one's core both wait; on two cores, two
    threads beside the window trained no faster than one (208-286 against 212-262 steps/s,
    training alone) and made the window's latency worse (p95 6-8 ms against 1-2, max
    65-76 ms against 35-39).
    """
    from . import threads

    threads.apply()
    _Server(conn, conn).run()


class _Server:
    """Reads commands and trains every open session in turn, a chunk of each."""

    def __init__(self, commands: Connection, results: Connection):
        self.commands = commands
        self.outbox: queue.SimpleQueue = queue.SimpleQueue()
        self.writer = threading.Thread(target=_write_results, args=(self.outbox, results),
                                       daemon=True)
        self.writer.start()
        self.slots: dict[int, _Slot] = {}
        self._turn = 0

    def run(self) -> None:
        try:
            while True:
                busy = [s for s in self.slots.values() if s.busy]
                timeout = 0 if busy else None
                while self.commands.poll(timeout):
                    message = pickle.loads(self.commands.recv_bytes())
                    if message[0] == "quit":
                        return
                    self._handle(message)
                    timeout = 0
                busy = [s for s in self.slots.values() if s.busy]
                if busy:   # round robin: every session gets a chunk of about CHUNK_SECONDS
                    self._turn = (self._turn + 1) % len(busy)
                    slot = busy[self._turn]
                    try:
                        slot.train_chunk(len(busy))
                    except Exception as e:   # a snapshot failed (a GPU that went away)
                        slot.fail(e)
        except (EOFError, OSError):
            return   # the parent has gone
        finally:
            self.outbox.put(None)
            self.writer.join(2.0)

    def _handle(self, message: tuple) -> None:
        kind, session, *args = message
        if kind == "load":
            *load_args, replace = args
            if replace:
                self.slots.clear()
            slot = _Slot(session, self.outbox)
            if slot.load(*load_args):
                self.slots[session] = slot
            return
        slot = self.slots.get(session)
        if slot is None:
            return   # a session that was replaced or stopped
        if slot.handle(kind, args) == "stopped":
            del self.slots[session]


class _Slot:
    """One training session in the child: its trainer and where it stands."""

    def __init__(self, session: int, outbox: queue.SimpleQueue):
        self.session = session
        self.outbox = outbox
        self.trainer = None
        self.playing = False
        self.pending = 0            # "Step N" steps still to run
        self.chunk = 1
        self.steps_per_s = 0.0
        self.last_emit = 0.0
        self.last_fisher = 0.0
        self.fisher_due = FIRST_FISHER_STEP   # the next step with a Fisher evaluation
        self.grid = None
        self.view_level: tuple[str, float] | None = None
        self.last_loss = 0.0        # the trainer's losses are cleared once sent (bounded memory)
        self.sent_fisher = 0
        self.rng = None             # torch's global random state of this session's objective
        self.noise_error = None     # core/noise_error.NoiseError, for noise-conditional models
        self.last_noise_error = -math.inf

    @property
    def busy(self) -> bool:
        return self.trainer is not None and (self.playing or self.pending > 0)

    def _send(self, kind: str, *payload) -> None:
        # pickled here, not in the writer: the weights go on changing once training resumes
        self.outbox.put(pickle.dumps((kind, self.session, *payload), protocol=pickle.HIGHEST_PROTOCOL))

    # --- commands ---------------------------------------------------------------------
    def handle(self, kind: str, args: list) -> str | None:
        if self.trainer is None:
            return "stopped" if kind == "stop" else None
        try:
            if kind == "play":
                self.playing = True
            elif kind == "pause":
                self.playing = False
                self._publish(fisher=False)
            elif kind == "step":
                self.pending += int(args[0])
            elif kind in ("lr", "budget"):
                if kind == "lr":
                    self.trainer.set_lr(args[0])
                else:
                    self.trainer.preset.training["steps"] = int(args[0])
                if not (self.playing or self.pending):
                    self._publish(fisher=False)   # else the next snapshot carries it
            elif kind == "level":
                self.view_level = args[0]
                self._publish(fisher=False)
            elif kind == "stop":
                self.playing, self.pending = False, 0
                self._publish(fisher=False)
                self._send("stopped")
                self.trainer = None
                return "stopped"
        except Exception as e:  # a snapshot failed (a GPU that went away): say so, go on
            self.fail(e)
        return None

    def load(self, preset, density, device, state, step_count, grid, view_level) -> bool:
        import torch
        from .trainer import Trainer

        try:
            trainer = Trainer(preset, density, device=torch.device(device))
            trainer.load_weights(state)   # the model's (averaged) weights: trained on from there
            trainer.step_count = int(step_count)
            trainer.optimizer   # built now: its first use imports torch._dynamo (seconds)
            self.grid = torch.from_numpy(grid).to(trainer.device)
            self.rng = _rng_state(trainer.device)   # as the Trainer left it: as headless
            from ..measures.noise_error import NoiseError
            ne = NoiseError(preset, density, NOISE_ERROR_SAMPLES, trainer.device)
            self.noise_error = ne if ne.levels else None
        except Exception as e:
            self.fail(e)
            return False
        self.trainer = trainer
        self.view_level = view_level
        self.fisher_due = max(FIRST_FISHER_STEP, 2 * trainer.step_count)
        self._publish(fisher=True)
        return True

    # --- training ---------------------------------------------------------------------
    def train_chunk(self, sharing: int = 1) -> None:
        """A chunk of about CHUNK_SECONDS of steps. With `sharing` sessions training in
        turn, each sends snapshots and evaluates its Fisher divergence that many times less
        often, so that together they cost what one session costs."""
        from ..errors import DivergedError

        t = self.trainer
        left = t.budget - t.step_count
        if left <= 0:
            self.playing, self.pending = False, 0
            self._publish(fisher=True)
            self._send("finished")
            return
        n = min(self.chunk, left, self.pending if not self.playing else left,
                max(1, self.fisher_due - t.step_count))
        t0 = time.perf_counter()
        # The objectives draw their noise (projections, perturbations) from torch's global
        # generator; sessions side by side in this process would draw from each other's
        # stream. Each keeps its own state, so a session trains the numbers it would alone.
        _set_rng_state(t.device, self.rng)
        try:
            t.step(n)
        except DivergedError as e:
            self.playing, self.pending = False, 0
            self._publish(fisher=False)
            self._send("failed", str(e))
            return
        finally:
            self.rng = _rng_state(t.device)
        dt = time.perf_counter() - t0
        self.steps_per_s = n / dt if dt > 0 else 0.0
        # chunks of about CHUNK_SECONDS, so that a command waits no longer than that
        self.chunk = max(1, min(int(n * CHUNK_SECONDS / max(dt, 1e-6)), 1000, 2 * n))
        if not self.playing:
            self.pending -= n
            if self.pending <= 0:
                self.pending = 0
                self.fisher_due = max(self.fisher_due, 2 * t.step_count)
                self._publish(fisher=True)
                return
        now = time.perf_counter()
        if t.step_count >= self.fisher_due:
            self.fisher_due = 2 * t.step_count
            self._publish(fisher=True)
        elif now - self.last_emit >= EMIT_INTERVAL * sharing:
            self._publish(fisher=now - self.last_fisher >= FISHER_INTERVAL * sharing)

    def fail(self, e: Exception) -> None:
        traceback.print_exc()
        self.playing, self.pending = False, 0
        self._send("failed", f"Training stopped: {type(e).__name__}: {e}")

    def _publish(self, fisher: bool) -> None:
        """Send what the parent's mirror and views need, from the losses not yet sent."""
        t = self.trainer
        self.last_emit = time.perf_counter()
        level = self.view_level
        learned = learned_on_grid(t, self.grid, level)
        if t.losses:
            self.last_loss = t.losses[-1]
        if fisher and np.isfinite(self.last_loss):
            self.last_fisher = time.perf_counter()
            t.evaluate()
        by_noise = None
        if fisher and self.noise_error is not None and (
                time.perf_counter() - self.last_noise_error >= NOISE_ERROR_INTERVAL
                or t.step_count >= t.budget):
            self.last_noise_error = time.perf_counter()
            by_noise = self.noise_error.measure(t.model)
        snap = {
            "fisher_by_noise": by_noise,   # [[sigma or t, F, relative F], ...] or None
            "step": t.step_count,
            "train_seconds": t.train_seconds,   # time spent in steps (the lab's equal-time budget)
            "budget": t.budget,
            "steps_per_s": self.steps_per_s if self.playing else 0.0,
            "lr": t.optimizer.param_groups[0]["lr"],
            "learned": learned,
            "view_level": level,
            "losses": list(t.losses),
            "fisher": t.fisher[self.sent_fisher:],
            "state": weights_of(t.model),
        }
        t.losses.clear()   # the parent keeps the history; a long run must not grow here
        self.sent_fisher = len(t.fisher)
        self._send("snapshot", snap)


def _rng_state(device) -> tuple:
    import torch

    cuda = torch.cuda.get_rng_state(device) if device.type == "cuda" else None
    return torch.get_rng_state(), cuda


def _set_rng_state(device, state: tuple) -> None:
    import torch

    cpu, cuda = state
    torch.set_rng_state(cpu)
    if cuda is not None:
        torch.cuda.set_rng_state(cuda, device)


def _write_results(outbox: queue.SimpleQueue, results: Connection) -> None:
    while True:
        message = outbox.get()
        if message is None:
            return
        try:
            results.send_bytes(message)
        except (BrokenPipeError, OSError):
            return


if __name__ == "__main__":
    signal.signal(signal.SIGINT, signal.SIG_IGN)   # Ctrl-C in a terminal is the parent's
    serve(Connection(int(sys.argv[1])))
