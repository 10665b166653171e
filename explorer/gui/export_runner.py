"""An export running in a thread of its own while the window stays live: the worker, the
runner that owns its thread (Cancel, closing, joining), and the way a worker asks the GUI
thread to render a frame."""

from __future__ import annotations

import threading
import traceback
from typing import Callable

from PySide6.QtCore import QCoreApplication, QObject, QThread, Qt, Signal, Slot
from PySide6.QtWidgets import QProgressDialog, QWidget

from ..core.errors import SpecError
from ..export.encode import ExportCancelled, is_cancelled

JOIN_MS = 5000


class GuiCaller(QObject):
    """Runs a function in the GUI thread on behalf of a worker thread and hands back its result."""

    _request = Signal(object)

    def __init__(self, cancel: threading.Event):
        super().__init__()
        self.cancel = cancel
        self._request.connect(self._run, Qt.QueuedConnection)

    @Slot(object)
    def _run(self, job) -> None:
        from ..export.frames import Scene
        if job["abandoned"]:
            return
        try:
            result = job["fn"](*job["args"])
        except BaseException as e:  # handed to the worker, which raises it
            result, job["error"] = None, e
        with job["lock"]:
            if job["abandoned"] and isinstance(result, Scene):
                result.close()  # the worker gave up waiting: nobody else will close it
            else:
                job["result"] = result
            job["done"].set()

    def __call__(self, fn, *args):
        from ..export.frames import Scene
        if QThread.currentThread() is self.thread():
            return fn(*args)
        job = self._job(fn, args)
        self._request.emit(job)
        while not job["done"].wait(0.05):
            if self.cancel.is_set():
                with job["lock"]:
                    job["abandoned"] = True
                    late = job["result"] if job["done"].is_set() else None
                if isinstance(late, Scene):
                    self.post(late.close)
                raise ExportCancelled("export cancelled")
        if job["error"] is not None:
            raise job["error"]
        return job["result"]

    @staticmethod
    def _job(fn, args) -> dict:
        return {"fn": fn, "args": args, "done": threading.Event(), "lock": threading.Lock(),
                "result": None, "error": None, "abandoned": False}

    def post(self, fn, *args) -> None:
        """Queue fn(*args) for the GUI thread without waiting (clean-up after a cancel)."""
        if QThread.currentThread() is self.thread():
            fn(*args)
            return
        self._request.emit(self._job(fn, args))


class ExportWorker(QObject):
    """Runs `job(progress, cancel, render_call)` in its thread; reports how it ended."""

    progressed = Signal(int, int)
    succeeded = Signal(str)
    failed = Signal(str)
    cancelled = Signal()

    def __init__(self, job: Callable, cancel: threading.Event, caller: GuiCaller):
        super().__init__()
        self.job = job
        self.cancel = cancel
        self.caller = caller

    @Slot()
    def run(self) -> None:
        try:
            path = self.job(self._progress, self.cancel, self.caller)
        except ExportCancelled:
            self.cancelled.emit()
        except SpecError as e:
            self.failed.emit(str(e))
        except Exception as e:  # shown in a message box; the traceback goes to the console
            traceback.print_exc()
            self.failed.emit(f"{type(e).__name__}: {e}")
        else:
            if is_cancelled(self.cancel):
                self.cancelled.emit()
            else:
                self.succeeded.emit(str(path))
        finally:
            # Hand the worker back to the GUI thread before the thread ends, so that it is
            # never destroyed with its thread gone (Qt's binding storage crashes on that).
            gui = QCoreApplication.instance().thread()
            thread = self.thread()
            self.moveToThread(gui)
            thread.quit()

    def _progress(self, phase: str, done: int, total: int) -> None:
        self.progressed.emit(int(done), int(max(total, 1)))


class ExportRunner(QObject):
    """A worker on its own QThread plus a QProgressDialog with Cancel; always joined."""

    done = Signal(str, str)   # (outcome: ok | failed | cancelled, path or message)

    def __init__(self, parent: QWidget | None, job: Callable, label: str):
        super().__init__()   # no Qt parent: the dialog holds it and drops it after the join
        self.parent_widget = parent
        self.cancel = threading.Event()
        self.caller = GuiCaller(self.cancel)
        self._thread = QThread()
        self._thread.setObjectName("ExportWorker")
        self.worker = ExportWorker(job, self.cancel, self.caller)
        self.worker.moveToThread(self._thread)
        self._thread.started.connect(self.worker.run)
        self.worker.progressed.connect(self._on_progress)
        self.worker.succeeded.connect(self._on_ok)
        self.worker.failed.connect(self._on_failed)
        self.worker.cancelled.connect(self._on_cancelled)
        self.progress = QProgressDialog(label, "Cancel", 0, 0, parent)
        self.progress.setWindowTitle("Exporting")
        # not modal: a modal progress window blocked closing the main window, the Export
        # dialog and Ctrl+Q for the whole export (issue 28); each of those cancels and joins
        self.progress.setWindowModality(Qt.NonModal)
        self.progress.setMinimumDuration(0)
        self.progress.setAutoClose(False)
        self.progress.setAutoReset(False)
        self.progress.canceled.connect(self.request_cancel)
        self.outcome: tuple[str, str] | None = None

    def start(self) -> None:
        self.progress.show()
        self._thread.start()

    @Slot()
    def request_cancel(self) -> None:
        self.cancel.set()
        self.progress.setLabelText("Cancelling…")

    def join(self, timeout_ms: int = JOIN_MS) -> bool:
        """Cancel if still running, then wait for the thread (the GUI thread's duty on close).

        A thread that outlives the wait is kept referenced until it ends: Qt aborts the whole
        program when a running QThread is destroyed, and `wait_for_exports` joins it at exit."""
        if self._thread.isRunning():
            self.cancel.set()
        self._thread.quit()
        ended = bool(self._thread.wait(timeout_ms))
        if not ended and self not in _UNFINISHED:
            _UNFINISHED.append(self)
            self._thread.finished.connect(self._forget, Qt.QueuedConnection)
        return ended

    @Slot()
    def _forget(self) -> None:
        if self in _UNFINISHED:
            _UNFINISHED.remove(self)

    @property
    def running(self) -> bool:
        return self._thread.isRunning()

    @Slot(int, int)
    def _on_progress(self, done: int, total: int) -> None:
        if self.progress.maximum() != total:
            self.progress.setMaximum(total)
        self.progress.setValue(min(done, total))

    def _finish(self, outcome: str, text: str) -> None:
        self.outcome = (outcome, text)
        self.join()
        self.progress.reset()
        self.progress.hide()
        self.done.emit(outcome, text)

    @Slot(str)
    def _on_ok(self, path: str) -> None:
        self._finish("ok", path)

    @Slot(str)
    def _on_failed(self, message: str) -> None:
        self._finish("failed", message)

    @Slot()
    def _on_cancelled(self) -> None:
        self._finish("cancelled", "")


_UNFINISHED: list[ExportRunner] = []


def wait_for_exports(timeout_ms: int = 30_000) -> bool:
    """At exit: wait for export threads that were cancelled but had not yet ended."""
    ok = True
    for runner in list(_UNFINISHED):
        runner.cancel.set()
        ok = bool(runner._thread.wait(timeout_ms)) and ok
    return ok
