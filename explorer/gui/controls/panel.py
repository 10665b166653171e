"""The left-hand panel: one group per preset section, built from the preset's field tables.

It only reports edits (`edited(section, key, value)`, `density_kind_changed(kind)`,
`several_edited({"section.key": value})` for the advisor's suggestion); the
window decides whether the edited preset is valid and what has to restart.
"""

from __future__ import annotations

from dataclasses import replace

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import (QComboBox, QFormLayout, QGroupBox, QLabel, QPushButton,
                               QScrollArea, QVBoxLayout, QWidget)

from ...core.densities import density_kinds, fields_for
from ...core.training.device import available_devices
from ...core.objectives import objective_class
from ...core.presets.preset import FIXED_SECTIONS, SECTION_NAMES, Preset, section_fields
from ...core.plugins.registry import REGISTRY
from ...core.samplers import sampler_class
from ..texts import SAMPLER_TOOLTIP
from .advisor_card import AdvisorCard
from .form import SectionForm
from .wheel_guard import guard_wheel


def _kind_label(name: str, kind) -> str:
    dim = getattr(kind, "dim", None)
    if dim:
        where = f"{dim}-D"
    else:
        where = "from file" if "path" in kind.fields else "1/2/3-D"
    entry = REGISTRY.get("density", name)
    plugin = f", {entry.distribution}" if entry is not None and not entry.builtin else ""
    return f"{name}  ({where}{plugin})"


class ControlPanel(QScrollArea):
    edited = Signal(str, str, object)
    density_kind_changed = Signal(str)
    several_edited = Signal(dict)
    gallery_requested = Signal()

    def __init__(self, preset: Preset, parent=None):
        super().__init__(parent)
        self.setWidgetResizable(True)
        # a drawer about 280 px wide: the forms fit it (long rows wrap their label above
        # the field) and it scrolls only vertically
        self.setMinimumWidth(240)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarAlwaysOff)
        inner = QWidget()
        self.setWidget(inner)
        self.layout_ = QVBoxLayout(inner)
        self.forms: dict[str, SectionForm] = {}

        # --- density --------------------------------------------------------------
        self.density_box = QGroupBox("Density p(x)")
        dl = QVBoxLayout(self.density_box)
        self.gallery_button = QPushButton("Presets gallery…")
        self.gallery_button.clicked.connect(self.gallery_requested)
        dl.addWidget(self.gallery_button)
        kind_row = QFormLayout()
        self.kind_combo = QComboBox()
        self.kind_combo.setSizeAdjustPolicy(QComboBox.AdjustToMinimumContentsLengthWithIcon)
        self.kind_combo.setMinimumContentsLength(12)
        for name, kind in density_kinds().items():
            self.kind_combo.addItem(_kind_label(name, kind), name)
        self.kind_combo.activated.connect(
            lambda i: self.density_kind_changed.emit(self.kind_combo.itemData(i)))
        kind_row.addRow("kind", self.kind_combo)
        dl.addLayout(kind_row)
        self.density_form_holder = QVBoxLayout()
        dl.addLayout(self.density_form_holder)
        self.score_note = QLabel()
        self.score_note.setWordWrap(True)
        self.score_note.setStyleSheet("color: #9ab;")
        dl.addWidget(self.score_note)
        self.layout_.addWidget(self.density_box)

        # --- objective --------------------------------------------------------------
        box = QGroupBox("Objective")
        ol = QVBoxLayout(box)
        self.formula = QLabel()
        self.formula.setTextFormat(Qt.RichText)
        self.formula.setWordWrap(True)
        self.assumes = QLabel()
        self.assumes.setWordWrap(True)
        self.assumes.setStyleSheet("color: #bbb;")
        self._add_form("objective", ol, preset)
        ol.addWidget(self.formula)
        ol.addWidget(self.assumes)
        self.advisor = AdvisorCard()
        self.advisor.apply_requested.connect(self.several_edited)
        self.advisor.shown.connect(  # once laid out, scroll the suggestion into view
            lambda: QTimer.singleShot(0, lambda: self.ensureWidgetVisible(self.advisor.result)))
        ol.addWidget(self.advisor)
        self.layout_.addWidget(box)

        for section, title in (("model", "Model"), ("training", "Training"), ("sampler", "Sampler"),
                               ("view", "View")):
            box = QGroupBox(title)
            lay = QVBoxLayout(box)
            self._add_form(section, lay, preset)
            self.layout_.addWidget(box)
        self.forms["sampler"].editors["step_size"].setToolTip(SAMPLER_TOOLTIP)
        self.layout_.addStretch(1)
        self.set_preset(preset)
        guard_wheel(self)

    def _add_form(self, section: str, layout, preset: Preset) -> None:
        fields = section_fields(section)
        if section == "training":
            devs = ("auto", *available_devices())
            fields["device"] = replace(fields["device"], choices=devs)
        form = SectionForm(section, fields, getattr(preset, section))
        form.edited.connect(self.edited)
        self.forms[section] = form
        layout.addWidget(form)

    def _rebuild_density_form(self, preset: Preset) -> None:
        old = self.forms.pop("density", None)
        if old is not None:
            old.setParent(None)
            old.deleteLater()
        kind = preset.density["kind"]
        form = SectionForm("density", fields_for(kind), preset.density, skip=("kind",))
        form.edited.connect(self.edited)
        self.forms["density"] = form
        self.density_form_holder.addWidget(form)
        guard_wheel(form)

    def set_preset(self, preset: Preset) -> None:
        """Show `preset` in every control (no signals are emitted)."""
        kind = preset.density["kind"]
        self.kind_combo.setCurrentIndex(self.kind_combo.findData(kind))
        current = self.forms.get("density")
        if current is None or set(current.editors) != set(fields_for(kind)) - {"kind"}:
            self._rebuild_density_form(preset)
        else:
            current.set_values(preset.density)
        for section in SECTION_NAMES:
            self.forms[section].set_values(getattr(preset, section))
        self._show_objective(preset.objective["kind"])
        self._show_sampler(preset.sampler["kind"])
        self.advisor.set_preset(preset)
        self.show_error(None, "")

    def set_score_note(self, text: str) -> None:
        self.score_note.setText(text)

    def _show_objective(self, kind: str) -> None:
        cls = objective_class(kind)
        self.formula.setText(f"<b>{cls.title or cls.label}</b><br>{cls.formula}")
        self.assumes.setText(cls.assumes)
        self._show_rows("objective", set(cls.fields))

    def _show_sampler(self, kind: str) -> None:
        self._show_rows("sampler", set(sampler_class(kind).fields))

    def _show_rows(self, section: str, own: set[str]) -> None:
        """Only the common keys and the kind's own (the others stay in the preset, hidden)."""
        keep = own | set(FIXED_SECTIONS[section])
        form = self.forms[section]
        lay: QFormLayout = form.layout()
        for key, ed in form.editors.items():
            lay.setRowVisible(ed, key in keep)

    def show_error(self, key: str | None, message: str) -> None:
        for form in self.forms.values():
            form.show_error(key, message)
