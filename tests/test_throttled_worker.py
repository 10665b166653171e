"""The one background-computation throttle behind the 3-D learned density and the ODE
likelihood map (gui/throttled_worker.py): never two computations at once, the newest input
drawn last, a failure shown as text, nothing left running after join."""

import threading
import time

from PySide6.QtWidgets import QWidget

from explorer.gui.throttled_worker import ThrottledWorker


class _Counting(ThrottledWorker):
    def __init__(self, parent, interval=0.0, fail_on=None):
        super().__init__(parent, "test-worker", interval)
        self.value = 0               # the input, changed by the "GUI"
        self.running = 0
        self.most_at_once = 0
        self.computed = []
        self.shown = []
        self.fail_on = fail_on
        self._lock = threading.Lock()

    def snapshot(self):
        return self.value

    def compute(self, inputs):
        with self._lock:
            self.running += 1
            self.most_at_once = max(self.most_at_once, self.running)
        time.sleep(0.15)
        with self._lock:
            self.running -= 1
        if inputs == self.fail_on:
            raise FloatingPointError("overflow in the solve")
        self.computed.append(inputs)
        return inputs

    def failed(self, inputs, error):
        return f"failed: {type(error).__name__}: {error}"

    def show(self, result):
        self.shown.append(result)


def test_requests_while_one_runs_give_one_more_computation_of_the_newest_input(qtbot):
    parent = QWidget()
    qtbot.addWidget(parent)
    w = _Counting(parent)
    for v in range(1, 6):          # five requests within one computation
        w.value = v
        w.request(now=True)
    qtbot.waitUntil(lambda: bool(w.shown) and w.shown[-1] == 5, timeout=5000)
    assert w.most_at_once == 1
    assert w.computed == [1, 5]    # the first, then only the newest of those that came meanwhile
    w.join()
    assert w._thread is None or not w._thread.is_alive()


def test_a_request_within_the_interval_runs_when_it_is_over_and_a_failure_is_shown(qtbot):
    parent = QWidget()
    qtbot.addWidget(parent)
    w = _Counting(parent, interval=0.5, fail_on=2)
    w.value = 1
    t0 = time.perf_counter()
    w.request()
    qtbot.waitUntil(lambda: w.shown == [1], timeout=5000)
    w.value = 2
    w.request()                    # too soon: deferred, not dropped
    assert w.shown == [1]
    qtbot.waitUntil(lambda: len(w.shown) == 2, timeout=5000)
    # started one interval after the first (Qt's coarse timers may fire up to 5% early)
    assert time.perf_counter() - t0 >= 0.5
    assert w.shown[1] == "failed: FloatingPointError: overflow in the solve"
    assert w.seconds is not None and w.seconds >= 0.15
    w.join()


def test_join_forgets_a_deferred_request(qtbot):
    parent = QWidget()
    qtbot.addWidget(parent)
    w = _Counting(parent, interval=0.3)
    w.request()
    qtbot.waitUntil(lambda: w.shown == [0], timeout=5000)
    w.request()                    # deferred by the interval
    w.join()
    qtbot.wait(600)
    assert w.computed == [0]
