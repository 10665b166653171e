"""The mouse wheel scrolls the settings drawer, not the value under the pointer.

A spin box or combo box takes wheel events whenever the pointer is over it, so scrolling
down the settings changed whatever passed under the pointer (anneal power 2.00 -> 2.60
without a click). Guarded, a control takes the wheel only once it has the keyboard focus
(clicked or tabbed to); otherwise the event goes on to the scroll area around it.
"""

from __future__ import annotations

from PySide6.QtCore import QEvent, QObject, Qt
from PySide6.QtWidgets import QAbstractSpinBox, QComboBox, QWidget


class WheelGuard(QObject):
    def eventFilter(self, obj, event) -> bool:
        if event.type() == QEvent.Wheel and isinstance(obj, QWidget) and not obj.hasFocus():
            event.ignore()
            return True   # the control does not see it; the scroll area below does
        return False


_GUARD = WheelGuard()


def guard_wheel(root: QWidget) -> None:
    """Guard every spin box and combo box under `root` (again after new ones are made:
    guarding twice is harmless)."""
    for w in root.findChildren(QWidget):
        if isinstance(w, (QAbstractSpinBox, QComboBox)) and not w.property("wheel_guarded"):
            w.setFocusPolicy(Qt.StrongFocus)   # the wheel alone does not give it the focus
            w.installEventFilter(_GUARD)
            w.setProperty("wheel_guarded", True)
