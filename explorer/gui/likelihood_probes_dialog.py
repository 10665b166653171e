"""The likelihood estimators dialog: the model's NLL by the exact trace beside Hutchinson's
estimate with its standard error, and the estimate's variance against the number of probes
k (views/probes_view.py), for the score SDE or flow-matching model the window is training.

Why a dialog beside the likelihood map: the map (Likelihood (ODE) mode) shows where the
model puts mass; whether Hutchinson's cheap trace can be trusted is a question about one
number and its error bar, asked with a choice of probes k and probe kind. The figures are
`score-explorer run`'s (model_likelihood.nll_metrics: nll, nll_hutchinson, _se,
_variance_by_k), on the model as it is when Compute is pressed, computed in a worker thread
(gui/throttled_worker.py) joined when the dialog closes.
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (QComboBox, QDialog, QHBoxLayout, QLabel, QPushButton, QSpinBox,
                               QVBoxLayout)

from ..core.measures import model_likelihood as ML
from ..views.probes_view import ProbesView
from .throttled_worker import ThrottledWorker

PROBES = 16          # k: variance at k = 1, 2, 4, 8 from disjoint groups, 16 predicted
POINTS = 256         # test samples of the density: a few seconds on two busy cores
ERROR = "<span style='color:#ff8c69'>{}</span>"


class _Estimate(ThrottledWorker):
    def __init__(self, dialog):
        super().__init__(dialog, "likelihood-probes", 0.0)
        self.dialog = dialog

    def snapshot(self):
        d = self.dialog
        preset = d.session.preset.copy()
        preset.objective.update(hutchinson_probes=d.probes.value(),
                                hutchinson_probe=d.probe.currentData(),
                                likelihood_samples=d.points.value())
        return preset, d.session.model_copy(), d.session.density

    def compute(self, inputs):
        preset, model, density = inputs
        return ML.nll_metrics(preset, model, density)

    def failed(self, inputs, error):
        return f"the estimate failed: {type(error).__name__}: {error}"

    def show(self, result) -> None:
        self.dialog.show_metrics(result)


class LikelihoodProbesDialog(QDialog):
    def __init__(self, session, parent=None):
        super().__init__(parent)
        self.session = session
        self.setWindowTitle(f"Likelihood estimators — {session.preset.name}")
        self.metrics: dict | None = None
        self._build()
        self.worker = _Estimate(self)
        self.resize(900, 620)
        self.compute()

    def _build(self) -> None:
        lay = QVBoxLayout(self)
        row = QHBoxLayout()
        row.addWidget(QLabel("probes k"))
        self.probes = QSpinBox()
        self.probes.setRange(2, 256)
        self.probes.setValue(PROBES)
        self.probes.setToolTip("Probe vectors held fixed along each ODE solve; the variance is "
                               "shown for k = 1, 2, 4, … up to this")
        row.addWidget(self.probes)
        self.probe = QComboBox()
        self.probe.addItem("Rademacher (±1)", "rademacher")
        self.probe.addItem("Gaussian", "gaussian")
        self.probe.setToolTip("Rademacher probes have the smaller variance: E(εᵀAε) = tr A, "
                              "Var = 2 Σ_{i≠j} A_ij² (Gaussian adds 2 Σ A_ii²)")
        row.addWidget(self.probe)
        row.addWidget(QLabel("test points"))
        self.points = QSpinBox()
        self.points.setRange(16, 5000)
        self.points.setSingleStep(128)
        self.points.setValue(POINTS)
        self.points.setToolTip("Samples of the density the NLL is averaged over")
        row.addWidget(self.points)
        self.compute_button = QPushButton("Compute")
        self.compute_button.clicked.connect(self.compute)
        row.addWidget(self.compute_button)
        self.status = QLabel()
        self.status.setWordWrap(True)
        self.status.setTextInteractionFlags(Qt.TextSelectableByMouse)
        row.addWidget(self.status, 1)
        lay.addLayout(row)
        self.view = ProbesView()
        lay.addWidget(self.view, 1)
        note = QLabel("NLL in nats per dimension, by the probability-flow ODE's change of variables "
                      "log p(x) = log p_T(x_T) + ∫ ∇·f dt. Exact: the divergence as the full "
                      "Jacobian's trace (d backward passes). Hutchinson: tr A ≈ mean over k "
                      "probes of εᵀAε (one pass each), unbiased; its standard error from the "
                      "spread between probes. Observed variances need at least two disjoint groups.")
        note.setWordWrap(True)
        lay.addWidget(note)

    def compute(self) -> None:
        """Measure the model as it is now (a computation already running is followed by one more)."""
        if not ML.available(self.session.preset):
            self.status.setText(ERROR.format("the likelihood by the ODE needs a score SDE or "
                                             "flow-matching objective (objective.kind = sde or "
                                             "flow_matching)"))
            return
        if self.session.trainer is None or self.session.trainer.step_count == 0:
            self.status.setText(ERROR.format("no trained model yet: press Play (Space), then Compute"))
            return
        self.status.setText(f"computing on the model at step {self.session.trainer.step_count}…")
        self.view.set_hint("computing…")
        self.worker.request(now=True)

    def show_metrics(self, result) -> None:
        if isinstance(result, str):
            self.status.setText(ERROR.format(result))
            self.view.set_hint(result)
            return
        self.metrics = result
        self.view.set_metrics(result)
        self.status.setText(summary(result))

    def busy(self) -> bool:
        return self.worker.running()

    def done(self, code: int) -> None:      # Escape and the buttons end here, not in closeEvent
        self.worker.join()
        super().done(code)

    def closeEvent(self, event) -> None:
        self.worker.join()
        super().closeEvent(event)


def summary(m: dict) -> str:
    """The status line: both NLLs, the error bar, how many standard errors apart, the costs."""
    h, se, exact = m["nll_hutchinson"], m["nll_hutchinson_se"], m["nll"]
    line = (f"exact trace: NLL {exact:.4f} ({m['nll_function_evaluations']:,} evaluations) · "
            f"Hutchinson, {m['nll_hutchinson_probe']}, k = {m['nll_hutchinson_probes']}: "
            f"{h:.4f} ± {se:.4f} ({m['nll_hutchinson_function_evaluations']:,} evaluations)")
    if se > 0:
        line += f" · {abs(h - exact) / se:.1f} standard errors apart"
    if m.get("nll_true") is not None:
        line += f" · the density's own: {m['nll_true']:.4f}"
    return line + f" · on {m['nll_samples']} test points"


def open_for_window(window) -> LikelihoodProbesDialog:
    """A non-modal dialog for the main window's session, replacing the one it had open."""
    old = getattr(window, "probes_dialog", None)
    if old is not None:
        old.close()
    dialog = LikelihoodProbesDialog(window.session, window)
    window.probes_dialog = dialog
    dialog.show()
    return dialog
