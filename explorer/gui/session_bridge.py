"""A Session's signals as Qt signals, delivered in the GUI thread.

A session's runs emit from their own threads (core/session/runs.py); a widget may only be
touched in the GUI thread. This QObject lives in the GUI thread and re-emits each session
signal as a Qt signal: Qt queues a signal emitted in another thread to the receiver's thread
(docs/design.md §8: a lambda connected to a worker's signal would run in the worker's thread).
"""

from __future__ import annotations

from PySide6.QtCore import QObject, Signal

from ..core.session import Session

SIGNALS = ("trained", "sampled", "budget_reached", "sampling_done", "training_started",
           "sampling_reset")
TEXT_SIGNALS = ("failed", "note")


class SessionBridge(QObject):
    trained = Signal()
    sampled = Signal()
    budget_reached = Signal()
    sampling_done = Signal()
    training_started = Signal()
    sampling_reset = Signal()
    failed = Signal(str)
    note = Signal(str)

    def __init__(self, session: Session, parent: QObject | None = None):
        super().__init__(parent)
        self.session = session
        self._links = []
        for name in SIGNALS + TEXT_SIGNALS:
            forward = _forwarder(getattr(self, name), name in TEXT_SIGNALS)
            getattr(session, name).connect(forward)
            self._links.append((name, forward))

    def detach(self) -> None:
        """Stop forwarding (before the window goes: its runs may still emit once)."""
        for name, forward in self._links:
            getattr(self.session, name).disconnect(forward)
        self._links.clear()


def _forwarder(qt_signal, with_text: bool):
    """A callback of the session signal's exact arity (psygnal passes as many arguments as
    a callback takes) that emits the Qt signal."""
    if with_text:
        return lambda text: qt_signal.emit(text)
    return lambda: qt_signal.emit()
