"""One background computation that follows a changing input without falling behind it.

Why: some pictures of a training model cost far more than the window's 30 ms latency
budget (the 3-D learned density's sparse solve, ~0.5 s; the ODE likelihood map, ~1 s), yet
should follow the model while it trains. A ThrottledWorker computes them in one worker
thread from a copy of the inputs taken in the GUI thread, at most every `interval` seconds,
never two at once: a request while one runs is remembered and run once its result is shown;
a request within the interval is run when the interval is over (the last one is drawn too).

A subclass says what to copy (`snapshot`, GUI thread), what to compute (`compute`, worker
thread), how a failure reads (`failed`) and how to draw the result (`show`, GUI thread).
"""

from __future__ import annotations

import threading
import time

import torch
from PySide6.QtCore import QObject, QTimer, Signal, Slot


class ThrottledWorker(QObject):
    ready = Signal(object)      # queued from the worker thread to `_shown` in the GUI thread

    def __init__(self, parent, name: str, interval: float):
        super().__init__(parent)
        self.name = name
        self.interval = float(interval)
        self.seconds = None            # how long the last computation took (in the worker)
        self._thread: threading.Thread | None = None
        self._busy = False     # from a start until its result is shown (both in the GUI thread)
        self._again = False
        self._last = -1e9
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.timeout.connect(lambda: self.request(now=True))
        self.ready.connect(self._shown)

    # ------------------------------------------------------------ what a subclass says
    def wanted(self) -> bool:
        """Whether the picture is on screen now (nothing is computed for a hidden one)."""
        return True

    def snapshot(self):
        """The inputs, copied in the GUI thread (a model copy, the preset's copy, ...)."""
        raise NotImplementedError

    def compute(self, inputs):
        """The result, in the worker thread."""
        raise NotImplementedError

    def failed(self, inputs, error: Exception):
        """The result that shows a numerical failure as text instead of a crash (worker thread)."""
        raise NotImplementedError

    def show(self, result) -> None:
        """Draw the result (GUI thread)."""
        raise NotImplementedError

    # ------------------------------------------------------------ the throttle
    def request(self, now: bool = False) -> None:
        """A new result if wanted and the last is `interval` old (or `now`); one at a time."""
        if not self.wanted():
            return
        wait = self.interval - (time.perf_counter() - self._last)
        if not now and wait > 0:
            if not self._timer.isActive():
                self._timer.start(int(1000 * wait) + 1)
            return
        self._timer.stop()
        if self._busy:
            # not the thread's liveness: a thread that has emitted but not yet ended would
            # take the request after its result was shown, and nothing would run it
            self._again = True
            return
        inputs = self.snapshot()
        self._last = time.perf_counter()
        self._busy, self._again = True, False
        self._thread = threading.Thread(target=self._run, args=(inputs,), name=self.name,
                                        daemon=True)
        self._thread.start()

    def _run(self, inputs) -> None:
        t0 = time.perf_counter()
        try:
            torch.set_num_threads(1)     # beside training and sampling, on a 2-core machine
            result = self.compute(inputs)
        except Exception as e:  # noqa: BLE001 - a numerical failure shows as text, not a crash
            result = self.failed(inputs, e)
        self.seconds = time.perf_counter() - t0
        try:
            self.ready.emit(result)
        except RuntimeError:
            pass   # the window closed while this ran: nothing to draw on

    @Slot(object)
    def _shown(self, result) -> None:
        self._busy = False
        self.show(result)
        if self._again:
            self.request(now=True)

    def running(self) -> bool:
        """A computation is under way in the worker thread."""
        return self._thread is not None and self._thread.is_alive()

    def join(self, timeout: float = 2.0) -> None:
        """Stop the timer, forget a remembered request, wait for the running computation."""
        self._timer.stop()
        self._again = False
        if self._thread is not None:
            self._thread.join(timeout)
