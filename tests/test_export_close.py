"""Issue 28: while an export runs, nothing modal stands between the user and closing the
window (the progress window was modal: closing the main window, the Export dialog or Ctrl+Q
did nothing until the export ended). Closing the dialog cancels and joins within a second."""

from __future__ import annotations

import time

from PySide6.QtWidgets import QApplication, QDialog

from explorer.export.encode import ExportCancelled
from explorer.gui.export_runner import ExportRunner


def _slow_job(progress, cancel, render_call):
    for i in range(10_000):          # about 100 s unless cancelled
        if cancel.is_set():
            raise ExportCancelled()
        progress("export", i, 10_000)
        time.sleep(0.01)
    return "never"


def test_a_running_export_blocks_nothing_and_stops_on_close(qtbot):
    parent = QDialog()
    qtbot.addWidget(parent)
    parent.show()
    runner = ExportRunner(parent, _slow_job, "Exporting…")
    runner.start()
    try:
        qtbot.waitUntil(lambda: runner.progress.value() >= 2, timeout=30000)
        assert QApplication.activeModalWidget() is None
        assert runner.running
        t0 = time.monotonic()
        runner.join()
        assert not runner.running and time.monotonic() - t0 < 1.0
    finally:
        runner.join()
        runner.progress.hide()
