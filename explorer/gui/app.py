"""Starting the window: the preset to open first, signals, and a clean exit."""

from __future__ import annotations

import signal
import sys
import traceback
from pathlib import Path

from PySide6.QtCore import QTimer

from ..views.application import make_app


_COLLECTOR = None


def collect_garbage_in_gui_thread():
    """Python's cyclic garbage collector runs in whichever thread happens to allocate. When it
    frees a Qt wrapper in a worker thread (training, sampling, an export, the likelihood
    estimators), ~QObject takes Qt's mutex and then waits for the GIL, which the GUI thread
    holds while it waits for that mutex to delete another object: both wait forever (seen:
    the estimators' ODE solve against a menu's deletion). pyqtgraph's GarbageCollector turns
    the automatic collector off and collects on a timer in the GUI thread instead, the
    remedy pyqtgraph documents for this. Idempotent; returns the collector."""
    global _COLLECTOR
    if _COLLECTOR is None:
        from pyqtgraph.util.garbage_collector import GarbageCollector
        _COLLECTOR = GarbageCollector(interval=1.0)
    return _COLLECTOR


def open_window(path: str | None = None):
    """Build the main window with `path`, or the last preset, or the default."""
    from ..core.presets import preset as P
    from ..core.errors import SpecError
    from .main_window import MainWindow
    from .settings import app_settings

    collect_garbage_in_gui_thread()
    error = None
    preset = None
    folder = path if path is not None and Path(path).is_dir() else None   # a run folder
    chosen = str(Path(folder) / "preset.toml") if folder is not None else path
    if chosen is None:
        last = app_settings().value("last_preset")
        if last and Path(str(last)).is_file():
            chosen = str(last)
    if chosen is not None:
        try:
            preset = P.load(chosen)
            preset.build_density()
        except SpecError as e:
            error = f"Could not open the preset. {e}. The default preset is shown instead."
            preset, chosen = None, None
    win = MainWindow(preset, chosen)
    if folder is not None and error is None:
        win.open_run(folder)   # trained, its curves and particles shown
    from ..core.plugins.registry import failures
    problems = [f.message() for f in failures()]
    if error:
        problems.insert(0, error)
    if problems:
        win.show_error("\n".join(problems))
    return win


def _close_on_signals(app) -> tuple[QTimer, list]:
    """Ctrl-C in the terminal (SIGINT) or a SIGTERM closes the windows as Ctrl+Q would
    (exports cancelled, threads joined, the training process ended). Python runs signal
    handlers only between bytecodes, so a timer gives it a moment every 200 ms while Qt's
    loop waits. Returns the timer and the list of signals received."""
    received: list[int] = []

    def on_signal(signum, _frame):
        received.append(signum)
        app.closeAllWindows()

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    timer = QTimer()
    timer.timeout.connect(lambda: None)
    timer.start(200)
    return timer, received


def run_app(path: str | None = None, lesson: str | None = None) -> int:
    """The window with a preset (or the last one), or playing the lesson file `lesson`."""
    import torch
    # The window samples in one thread and paints in another (training has a process of
    # its own); torch's intra-op threads on top of them would oversubscribe the cores.
    torch.set_num_threads(1)
    app = make_app()
    win = open_window(path)
    if lesson is not None:
        win.open_lesson(lesson)

    def excepthook(kind, value, tb):  # no traceback reaches the user: it goes to the banner
        traceback.print_exception(kind, value, tb)
        try:
            win.show_error(f"Unexpected error: {kind.__name__}: {value}")
        except Exception:
            pass

    sys.excepthook = excepthook
    _timer, received = _close_on_signals(app)
    win.show()
    code = app.exec()
    sys.excepthook = sys.__excepthook__
    from .export_runner import wait_for_exports
    wait_for_exports()  # a cancelled export thread must end before Python tears Qt down
    return 128 + received[0] if received else int(code)  # 130 for Ctrl-C, 143 for SIGTERM
