"""Editors generated from the preset's field tables.

The window shows exactly the keys a preset file accepts, with the same names, defaults and
ranges, because both come from the same `Field` tables. An editor reports a raw value;
the window validates it by parsing the whole preset, so a bad value gets the same message
in the window as on the command line.
"""

from __future__ import annotations

import math
import tomllib

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (QCheckBox, QComboBox, QDoubleSpinBox, QFormLayout, QLineEdit,
                               QSpinBox, QWidget)

from ...core.presets.schema import Field


def _literal(text: str):
    """A TOML literal typed by the user: '[1, 2]', '[[1, 0], [0, 1]]', '0.5'."""
    try:
        return tomllib.loads("v = " + text.strip())["v"]
    except tomllib.TOMLDecodeError:
        return text  # let validation name it


def _fmt(v) -> str:
    if isinstance(v, list):
        return "[" + ", ".join(_fmt(x) for x in v) + "]"
    if isinstance(v, float):
        return f"{v:g}" if "e" in f"{v:g}" or "." in f"{v:g}" else f"{v:g}.0"
    return str(v)


class FieldEditor(QWidget):
    """One editor for one key; emits `edited(key, value)` with the raw typed value."""

    edited = Signal(str, object)

    def __init__(self, key: str, field: Field, value, parent=None):
        super().__init__(parent)
        self.key = key
        self.field = field
        self.widget = self._make(field)
        from PySide6.QtWidgets import QHBoxLayout
        lay = QHBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addWidget(self.widget)
        if field.help:
            self.widget.setToolTip(field.help)
        self.set_value(value)

    def _make(self, f: Field):
        if f.choices:
            w = QComboBox()
            w.setSizeAdjustPolicy(QComboBox.AdjustToMinimumContentsLengthWithIcon)
            w.setMinimumContentsLength(8)
            w.addItems([str(c) for c in f.choices])
            w.currentTextChanged.connect(lambda t: self.edited.emit(self.key, t))
        elif f.type == "bool":
            w = QCheckBox()
            w.toggled.connect(lambda b: self.edited.emit(self.key, bool(b)))
        elif f.type == "int":
            w = QSpinBox()
            w.setRange(int(f.min) if f.min is not None else -2**31 + 1,
                       int(min(f.max, 2**31 - 1)) if f.max is not None else 2**31 - 1)
            w.setKeyboardTracking(False)
            w.valueChanged.connect(lambda v: self.edited.emit(self.key, int(v)))
        elif f.type == "float":
            w = QDoubleSpinBox()
            w.setDecimals(6)
            w.setRange(-1e9, 1e9)
            w.setKeyboardTracking(False)
            w.setStepType(QDoubleSpinBox.AdaptiveDecimalStepType)
            w.valueChanged.connect(lambda v: self.edited.emit(self.key, float(v)))
        else:
            w = QLineEdit()
            w.editingFinished.connect(self._line_edited)
        return w

    def _line_edited(self):
        text = self.widget.text()
        value = text if self.field.type == "str" else _literal(text)
        if text.strip() == "" and self.field.default is None:
            value = None
        self.edited.emit(self.key, value)

    def set_value(self, v) -> None:
        w = self.widget
        w.blockSignals(True)
        try:
            if isinstance(w, QComboBox):
                w.setCurrentText(str(v))
            elif isinstance(w, QCheckBox):
                w.setChecked(bool(v))
            elif isinstance(w, QSpinBox):
                w.setValue(int(v))
            elif isinstance(w, QDoubleSpinBox) and v is None:
                w.clear()        # derived and not needed here (model.sigma_data without edm)
            elif isinstance(w, QDoubleSpinBox):
                v = float(v)
                w.setDecimals(max(2, min(6, 2 - int(math.floor(math.log10(abs(v))))) if v else 2))
                w.setValue(v)
            else:
                w.setText("" if v is None else (v if isinstance(v, str) else _fmt(v)))
        finally:
            w.blockSignals(False)
        self.set_error(False)

    def set_error(self, bad: bool, message: str = "") -> None:
        self.widget.setStyleSheet("border: 2px solid #d55e00;" if bad else "")
        tip = self.field.help
        self.widget.setToolTip(message if bad else tip)


class SectionForm(QWidget):
    """A form for one preset section: `edited(section, key, value)`."""

    edited = Signal(str, str, object)

    def __init__(self, section: str, fields: dict[str, Field], values: dict, skip=(), labels=None,
                 parent=None):
        super().__init__(parent)
        self.section = section
        self.editors: dict[str, FieldEditor] = {}
        lay = QFormLayout(self)
        lay.setFieldGrowthPolicy(QFormLayout.AllNonFixedFieldsGrow)
        # the settings drawer is narrow: each label above its field, so that a field
        # ("[[-8.0, 8.0], [-8.0, 8.0]]") has the drawer's whole width
        lay.setRowWrapPolicy(QFormLayout.WrapAllRows)
        lay.setLabelAlignment(Qt.AlignRight)
        labels = labels or {}
        for key, f in fields.items():
            if key in skip:
                continue
            ed = FieldEditor(key, f, values.get(key, f.default))
            ed.edited.connect(lambda k, v: self.edited.emit(self.section, k, v))
            self.editors[key] = ed
            lay.addRow(labels.get(key, key.replace("_", " ")), ed)

    def set_values(self, values: dict) -> None:
        for k, ed in self.editors.items():
            if k in values:
                ed.set_value(values[k])

    def show_error(self, key: str | None, message: str) -> bool:
        """Mark the editor of `key` ('section.key[...]'); True if this form has it."""
        hit = False
        for k, ed in self.editors.items():
            bad = key is not None and (key == f"{self.section}.{k}" or
                                       key.startswith(f"{self.section}.{k}["))
            ed.set_error(bad, message)
            hit |= bad
        return hit
