"""Presenter mode: controls hidden, fonts and lines for the lecture hall, full screen.

The keys still work (Space, Ctrl+L, Ctrl+1..3); the lesson card folds to one line,
because the lecturer tells the lesson. Sizes follow the screen: sized for 1080 lines,
they filled a 720-line projector's views with legends and readouts.
"""

from __future__ import annotations

from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QApplication

from ..views.style import PRESENTER, SCREEN


class Presenter:
    def __init__(self, window):
        self.window = window
        self.on = False
        self._was_maximized = False
        self._lesson_was_folded: bool | None = None

    def style(self):
        """The view style now: presenter sizes in proportion to the screen, or the screen's."""
        if not self.on:
            return SCREEN
        screen = self.window.screen() or QGuiApplication.primaryScreen()
        h = screen.geometry().height() if screen is not None else 1080
        return PRESENTER.scaled(min(1.0, max(0.6, h / 1080)))

    def set(self, on: bool) -> None:
        w = self.window
        if on == self.on:
            return
        self.on = on
        w.act_presenter.setChecked(on)
        for widget in (w.menuBar(), w.statusBar(), w.run_bar):
            widget.setVisible(not on)
        w.settings_dock.setVisible(not on and w.act_panel.isChecked())
        lesson = w.lesson
        if on:
            self._lesson_was_folded = lesson.folded
            lesson.set_folded(True)
        elif self._lesson_was_folded is not None:
            lesson.set_folded(self._lesson_was_folded)
        self.apply_style()
        if on:
            self._was_maximized = w.isMaximized()
            w.showFullScreen()
        elif self._was_maximized:
            w.showMaximized()
        else:
            w.showNormal()

    def apply_style(self) -> None:
        style = self.style()
        # every control and readout of the window grows with the plots' text (a σ readout,
        # a combo box or a tab label left at 11 px is what a class cannot read)
        font = QApplication.font()
        if self.on:
            font.setPointSizeF(float(style.font_pt))
        for widget in (self.window.centralWidget(), self.window.settings_dock):
            widget.setFont(font)
        self.window.lesson.set_font_pt(style.font_pt)
        self.window.lesson_panel.set_font_pt(style.font_pt if self.on else None)
        self.window.views.apply_style(style)
