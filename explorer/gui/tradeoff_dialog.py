"""The σ trade-off dialog: DSM's bias and variance against sigma for the preset on screen,
with the compare variants' final relative Fisher divergence overlaid as points.

Why a worker thread: the measurement (core/measures/dsm_tradeoff.py) takes seconds (a converged
quadrature per sigma, a few thousand per-sample gradients per sigma), too long for the GUI
thread. It runs on a plain thread with a stop event that the measurement checks between
pieces of work; the result comes back through a queued signal to a slot here. Closing the
dialog (or its compare window) sets the event and joins the thread, so none outlives it.
The trained points are read from `points()` once a second, cheap, in the GUI thread.
"""

from __future__ import annotations

import threading
from typing import Callable

from PySide6.QtCore import Qt, QTimer, Signal, Slot
from PySide6.QtWidgets import (QDialog, QHBoxLayout, QLabel, QLineEdit, QPushButton, QSpinBox,
                               QVBoxLayout)

from ..core.measures import dsm_tradeoff as T
from ..core.errors import SpecError
from ..views.tradeoff_view import TradeoffView

GUI_SAMPLES = 2048          # (x, z) pairs for the variances: about 3 s for 13 sigmas on 2 cores
POINTS_MS = 1000            # how often the trained points are read again
Point = tuple[str, tuple, float, float]     # (name, colour, sigma, relative F)


class TradeoffDialog(QDialog):
    finished_result = Signal(object)     # Tradeoff, or an error text (from the worker thread)
    progressed = Signal(str)

    def __init__(self, preset, density=None, points: Callable[[], list[Point]] | None = None,
                 parent=None):
        super().__init__(parent)
        self.setWindowTitle(f"σ trade-off (DSM) — {preset.name}")
        self.preset = preset.copy()
        self.density = density
        self.points = points
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.result = None
        self._build()
        self.finished_result.connect(self._show_result)
        self.progressed.connect(self._show_progress)
        self.timer = QTimer(self)
        self.timer.timeout.connect(self.refresh_points)
        self.timer.start(POINTS_MS)
        self.refresh_points()
        self.resize(1060, 640)
        self.compute()

    def _build(self) -> None:
        lay = QVBoxLayout(self)
        row = QHBoxLayout()
        row.addWidget(QLabel("σ"))
        self.sigmas = QLineEdit(T.DEFAULT_SIGMAS)
        self.sigmas.setToolTip("lo:hi:n (n values log-spaced from lo to hi) or a comma list")
        self.sigmas.returnPressed.connect(self.compute)
        row.addWidget(self.sigmas)
        row.addWidget(QLabel("samples"))
        self.samples = QSpinBox()
        self.samples.setRange(64, 100_000)
        self.samples.setSingleStep(512)
        self.samples.setValue(GUI_SAMPLES)
        self.samples.setToolTip("(x, z) pairs for the variance of the loss and of its gradient")
        row.addWidget(self.samples)
        self.compute_button = QPushButton("Compute")
        self.compute_button.clicked.connect(self.compute)
        row.addWidget(self.compute_button)
        self.status = QLabel()
        self.status.setWordWrap(True)
        row.addWidget(self.status, 1)
        lay.addLayout(row)
        self.view = TradeoffView()
        lay.addWidget(self.view, 1)
        note = QLabel("Bias: ½ E_p |∇log p_σ − ∇log p|² (DSM's optimum against the clean score), "
                      "relative to ½ E_p |∇log p|². Variance over (x, z) of ℓ = ½ |s_θ(x̃) + "
                      "(x̃ − x)/σ²|² and of ∇θℓ at the preset's untrained network. Points: "
                      "DSM variants of compare mode, relative Fisher divergence after training.")
        note.setWordWrap(True)
        lay.addWidget(note)

    # ------------------------------------------------------------------ computing
    def compute(self) -> None:
        """Measure again with the σ typed (one measurement at a time: a running one is stopped)."""
        try:
            sigmas = T.parse_sigmas(self.sigmas.text(), "σ")
        except SpecError as e:
            self.status.setText(f"<span style='color:#ff8c69'>{e}</span>")
            return
        self._join()
        self._stop = threading.Event()
        self.status.setText("computing the bias…")
        self.view.set_hint("computing…")
        stop = self._stop
        samples = self.samples.value()
        self._thread = threading.Thread(target=self._work, args=(sigmas, samples, stop),
                                        name="dsm-tradeoff", daemon=True)
        self._thread.start()

    def _work(self, sigmas, samples, stop: threading.Event) -> None:
        import torch
        torch.set_num_threads(1)     # beside training, on a 2-core machine
        try:
            result = T.measure(self.preset, sigmas, samples=samples, density=self.density,
                               should_stop=stop.is_set,
                               progress=lambda phase, done, total: stop.is_set() or
                               self.progressed.emit(f"{phase} {done}/{total}"))
            if not stop.is_set():
                self.finished_result.emit(result)
        except T.Cancelled:
            pass
        except Exception as e:  # noqa: BLE001 - a failure shows as text, not a crash
            if not stop.is_set():
                self.finished_result.emit(f"the measurement failed: {type(e).__name__}: {e}")

    @Slot(str)
    def _show_progress(self, text: str) -> None:
        if text.startswith("bias"):   # one phase, seconds long for kernel densities
            self.status.setText("computing the bias: quadrature on a grid refined until it "
                                "converges…")
            return
        self.status.setText(f"computing: {text.replace('variance', 'variance, σ')}")

    @Slot(object)
    def _show_result(self, result) -> None:
        if isinstance(result, str):
            self.status.setText(f"<span style='color:#ff8c69'>{result}</span>")
            self.view.set_hint(result)
            return
        self.result = result
        self.view.set_result(result)
        i = min(range(len(result.sigmas)), key=lambda k: abs(result.sigmas[k] - 0.1))
        self.status.setText(f"{len(result.sigmas)} σ in {result.seconds:.1f} s; relative bias "
                            f"{result.bias_relative[i]:.3g} at σ = {result.sigmas[i]:.3g}")
        self.status.setToolTip(result.bias_method)

    def refresh_points(self) -> None:
        if self.points is not None:
            self.view.set_trained(self.points())

    def busy(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    # ------------------------------------------------------------------ lifecycle
    def _join(self, timeout: float = 5.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None

    def shutdown(self) -> None:
        """Stop and join the worker and the timer (closing, Escape, the compare window going)."""
        self.timer.stop()
        self._join()

    def done(self, code: int) -> None:      # Escape and the buttons end here, not in closeEvent
        self.shutdown()
        super().done(code)

    def closeEvent(self, event) -> None:
        self.shutdown()
        super().closeEvent(event)


def open_tradeoff(parent, preset, density=None, points=None) -> TradeoffDialog:
    """A non-modal trade-off dialog beside `parent`, replacing the one it had open."""
    old = getattr(parent, "tradeoff_dialog", None)
    if old is not None:
        old.close()
    dialog = TradeoffDialog(preset, density, points, parent)
    dialog.setAttribute(Qt.WA_DeleteOnClose, False)
    parent.tradeoff_dialog = dialog
    dialog.show()
    return dialog


def open_for_window(window) -> TradeoffDialog:
    """The dialog for the main window's preset; its points are the DSM variants of compare
    mode when it is open, and the window's own DSM run once it has trained."""
    def points() -> list[tuple]:
        out = []
        t = window.session.trainer
        if t is not None and t.fisher and t.fisher[-1][0] > 0 and t.preset.objective["kind"] == "dsm":
            step, _f, rel = t.fisher[-1]      # trained: not the untrained network's value
            out.append((f"this window ({step} steps)", (240, 240, 240),
                        float(t.preset.objective["sigma"]), rel))
        compare = getattr(window, "compare_window", None)
        if compare is not None and compare.isVisible():
            out += compare.tradeoff_points()
        return out
    return open_tradeoff(window, window.preset, window.density, points)
