"""The preset's lesson ("Look at ...") above the plots, in a card that folds to one line.

The description is what a lecturer reads out while the picture forms, so it sits in the
main window, not only in the gallery. Folded, the card keeps the preset's name visible and
gives the plots the room; the choice is remembered between sessions.
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QFontMetricsF, QGuiApplication
from PySide6.QtWidgets import QFrame, QLabel, QSizePolicy, QToolButton, QVBoxLayout

from .settings import app_settings

SETTING = "lesson_card/folded"


class LessonCard(QFrame):
    def __init__(self, parent=None):
        super().__init__(parent)
        self.setObjectName("LessonCard")
        self.setStyleSheet("#LessonCard { background: #1f2a33; border-radius: 4px; }"
                           "QLabel { color: #e6e6e6; } QToolButton { color: #e6e6e6; border: none;"
                           " font-weight: bold; text-align: left; }")
        self.header = QToolButton()
        self.header.setToolButtonStyle(Qt.ToolButtonTextBesideIcon)
        self.header.setCheckable(True)
        self.header.setToolTip("Show or hide what this preset teaches")
        self.header.toggled.connect(self._set_folded_from_button)
        # the title wraps to the card's width (`_fit_header`) rather than setting it: at the
        # head of the 2-D particle column a long lesson title widened the column and took
        # a quarter of the field panels' width at 1280x720
        self.header.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.body = QLabel()
        self.body.setWordWrap(True)
        self.body.setTextInteractionFlags(Qt.TextSelectableByMouse)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(8, 3, 8, 5)
        lay.setSpacing(2)
        lay.addWidget(self.header)
        lay.addWidget(self.body)
        self.title = ""
        # folded on a short screen until the user opens it (a 720-line projector needs the
        # height for the views); the user's choice is remembered either way
        screen = QGuiApplication.primaryScreen()
        short = screen is not None and screen.availableGeometry().height() < 800
        folded = app_settings().value(SETTING, short)
        self.set_folded(folded in (True, "true", "1", 1))

    def set_lesson(self, title: str, text: str) -> None:
        """Show a preset's name and description; a preset without a description hides the card."""
        self.title = title or ""
        self.body.setText(text or "")
        self.header.setText(f"Lesson: {self.title}" if self.title else "Lesson")
        self._fit_header()
        self.setVisible(bool(text))

    def resizeEvent(self, ev) -> None:
        super().resizeEvent(ev)
        self._fit_header()

    def _fit_header(self) -> None:
        """The header's text broken into lines at spaces where the card is narrower."""
        full = f"Lesson: {self.title}" if self.title else "Lesson"
        font = self.header.font()
        font.setBold(True)
        fm = QFontMetricsF(font)
        room = self.width() - 16 - fm.height() * 2.5     # the margins and the arrow
        lines, cur = [], ""
        for word in full.split(" "):
            trial = f"{cur} {word}" if cur else word
            if cur and room > 0 and fm.horizontalAdvance(trial) > room:
                lines.append(cur)
                cur = word
            else:
                cur = trial
        lines.append(cur)
        text = "\n".join(lines)
        if text != self.header.text():
            self.header.setText(text)

    def set_folded(self, folded: bool) -> None:
        self.header.blockSignals(True)
        self.header.setChecked(not folded)
        self.header.blockSignals(False)
        self._apply(folded)

    @property
    def folded(self) -> bool:
        return not self.body.isVisibleTo(self)

    def _set_folded_from_button(self, expanded: bool) -> None:
        self._apply(not expanded)
        app_settings().setValue(SETTING, not expanded)

    def _apply(self, folded: bool) -> None:
        self.body.setVisible(not folded)
        self.header.setArrowType(Qt.RightArrow if folded else Qt.DownArrow)

    def set_font_pt(self, pt: float) -> None:
        """Larger text in presenter mode."""
        for w in (self.header, self.body):
            f = w.font()
            f.setPointSizeF(pt)
            w.setFont(f)
        self._fit_header()
