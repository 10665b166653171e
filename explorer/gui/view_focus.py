"""One view large: a lecturer points at the field, or the loss, and wants nothing else on screen.

The views sit in nested splitters (views above, loss and particles below). Showing one view
alone hides, at every level between it and the root splitter, the siblings on its path, so
the splitters give it all their room; showing all views again un-hides them, with the sizes
the user had dragged them to. A double-click anywhere in a view toggles it; the window also
binds keys (View menu).
"""

from __future__ import annotations

from PySide6.QtCore import QEvent, QObject, Signal
from PySide6.QtWidgets import QAbstractScrollArea, QSplitter, QWidget


class ViewFocus(QObject):
    changed = Signal(object)   # the view shown alone, or None

    def __init__(self, parent: QObject | None = None):
        super().__init__(parent)
        self.root: QWidget | None = None
        self.views: dict[str, QWidget] = {}
        self.focused: str | None = None
        self._hidden: list[QWidget] = []
        self._watched: dict[QObject, str] = {}

    def set_views(self, root: QWidget, views: dict[str, QWidget | None]) -> None:
        """A new arrangement (the dimension changed): forget the old one, watch the new."""
        self._hidden.clear()
        self.focused = None
        self._watched.clear()
        self.root = root
        self.views = {k: v for k, v in views.items() if v is not None}
        for name, view in self.views.items():
            for target in self._targets(view):
                target.installEventFilter(self)
                self._watched[target] = name

    @staticmethod
    def _targets(view: QWidget) -> list[QWidget]:
        """Where a double-click lands: the viewports of pyqtgraph's views, a GL widget."""
        found = [view]
        for area in view.findChildren(QAbstractScrollArea):
            found.append(area.viewport())
        found += [w for w in view.findChildren(QWidget) if "GL" in type(w).__name__]
        return found

    def eventFilter(self, obj, event) -> bool:
        if event.type() == QEvent.MouseButtonDblClick and obj in self._watched:
            # consumed: unaccepted, it would reach the view around the viewport and toggle back
            self.toggle(self._watched[obj])
            return True
        return False

    def toggle(self, name: str) -> None:
        self.show_all() if self.focused == name else self.show_alone(name)

    def show_alone(self, name: str) -> bool:
        view = self.views.get(name)
        if view is None or self.root is None:
            return False
        self.show_all(notify=False)
        w = view
        while w is not None and w is not self.root:
            parent = w.parentWidget()
            if isinstance(parent, QSplitter):
                for i in range(parent.count()):
                    sib = parent.widget(i)
                    if sib is not w and sib.isVisibleTo(parent):
                        sib.hide()
                        self._hidden.append(sib)
            w = parent
        self.focused = name
        self.changed.emit(name)
        return True

    def show_all(self, notify: bool = True) -> None:
        for w in self._hidden:
            w.show()
        self._hidden.clear()
        was = self.focused
        self.focused = None
        if notify and was is not None:
            self.changed.emit(None)
