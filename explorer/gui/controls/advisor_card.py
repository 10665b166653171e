"""The noise-schedule advisor in the Objective group: for a multi-level objective, one button
computes Song & Ermon's (2020) suggestion for the current density (core/noise/advisor.py), shows it
with the paper's reasons, and one more click applies it. It only reports the values to apply
(`apply_requested`); the window applies them as an edit like any other, so a bad value is
refused in the same way and nothing else the user set is lost."""

from __future__ import annotations

import html
import math

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from ...core.noise.advisor import Advice, advise, as_overrides
from ...core.errors import SpecError
from ...core.objectives import objective_class
from ...core.presets.preset import Preset

LADDER_KEYS = ("sigma_max", "sigma_min", "levels")   # an objective with these takes the advice


def takes_advice(objective_kind: str) -> bool:
    return set(LADDER_KEYS) <= set(objective_class(objective_kind).fields)


class AdvisorCard(QWidget):
    apply_requested = Signal(dict)   # dotted preset keys -> values
    shown = Signal()                 # a suggestion (or why there is none) is on show

    def __init__(self, parent=None):
        super().__init__(parent)
        self._preset: Preset | None = None
        self.advice: Advice | None = None
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 4, 0, 0)
        row = QHBoxLayout()
        self.suggest_button = QPushButton("Suggest a noise ladder")
        self.suggest_button.setToolTip(
            "Song & Ermon (2020), techniques 1, 2 and 4: sigma_max from the largest distance "
            "between two samples, the ladder's ratio from the Gaussian-overlap criterion, and "
            "the annealed-Langevin step for T steps per level.")
        self.suggest_button.clicked.connect(self.suggest)
        self.apply_button = QPushButton("Apply")
        self.apply_button.setToolTip("Set the suggested sigma_max, sigma_min, levels and the "
                                     "annealed-Langevin steps; the step size follows the "
                                     "ladder (it is derived from it by the same technique 4)")
        self.apply_button.clicked.connect(self._apply)
        self.apply_button.hide()
        row.addWidget(self.suggest_button, 1)
        row.addWidget(self.apply_button)
        lay.addLayout(row)
        self.result = QLabel()
        self.result.setWordWrap(True)
        self.result.setTextFormat(Qt.RichText)
        self.result.hide()
        lay.addWidget(self.result)

    def set_preset(self, preset: Preset) -> None:
        """Follow the window's preset; a suggestion made for another density or ladder is
        dropped (it would apply to what the user no longer sees)."""
        old, self._preset = self._preset, preset
        self.setVisible(takes_advice(preset.objective["kind"]))
        if self.advice is not None and not self._applies_to(old, preset):
            self._clear()
        elif self.advice is not None:
            applied = self._applied(preset)
            self.apply_button.setEnabled(not applied)
            self.apply_button.setText("Applied" if applied else "Apply")

    def _applied(self, preset: Preset) -> bool:
        for key, value in as_overrides(self.advice).items():
            section, name = key.split(".")
            have = getattr(preset, section).get(name)
            if key == "objective.kind":
                continue
            if isinstance(value, float) and isinstance(have, (int, float)):
                if not math.isclose(have, value, rel_tol=1e-3):   # the derived step is rounded
                    return False
            elif have != value:
                return False
        return True

    @staticmethod
    def _applies_to(old: Preset | None, new: Preset) -> bool:
        if old is None:
            return False
        return (old.density == new.density and old.dim == new.dim
                and old.objective.get("sigma_min") == new.objective.get("sigma_min")
                and old.training.get("seed") == new.training.get("seed"))

    def _clear(self) -> None:
        self.advice = None
        self.result.hide()
        self.apply_button.hide()

    def suggest(self) -> None:
        if self._preset is None:
            return
        try:
            self.advice = a = advise(self._preset)
        except (SpecError, ValueError, RuntimeError, MemoryError) as e:
            self._clear()
            self.result.setText(f"<span style='color:#e88'>No suggestion: {html.escape(str(e))}</span>")
            self.result.show()
            self.shown.emit()
            return
        reasons = "".join(f"<li>{html.escape(n)}</li>" for n in a.notes)
        self.result.setText(
            f"<b>σ<sub>max</sub> = {a.sigma_max:.4g}, σ<sub>min</sub> = {a.sigma_min:.4g}, "
            f"{a.levels} levels (γ ≤ {a.gamma:.3g})</b><br>"
            f"annealed Langevin: step_size = {a.step_size:.3g}, {a.steps} steps per level"
            f"<ul style='margin-left:-20px; color:#bbb'>{reasons}</ul>")
        self.result.show()
        self.apply_button.show()
        self.apply_button.setEnabled(True)
        self.apply_button.setText("Apply")
        self.shown.emit()

    def _apply(self) -> None:
        if self.advice is None or self._preset is None:
            return
        overrides = as_overrides(self.advice)
        # the step is not set but derived from the applied ladder (the same technique 4,
        # core/presets/step_rules.py), so that it follows the ladder when a drawing moves sigma_min
        overrides.pop("sampler.step_size")
        if takes_advice(self._preset.objective["kind"]):
            overrides.pop("objective.kind")     # keep NCSN-with-the-sliced-loss as it is
        self.apply_requested.emit(overrides)
