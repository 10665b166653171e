"""The lesson panel: the lesson's title, "step k of n", the step's text, Back and Next.

It is a column beside the views, not a box over them: a lecture's text is tall and narrow,
the plots are square, and at 1280x720 a strip above the plots took the height they need.
The text scrolls inside the column when it is long; fonts follow presenter mode. The panel
only shows and asks: what a step does is gui/lesson_player.py's.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (QFrame, QHBoxLayout, QLabel, QPushButton, QScrollArea, QSizePolicy,
                               QToolButton, QVBoxLayout)

from ..core.lessons.text import to_html

WIDTH = 340            # at the screen's font; presenter mode widens it with the font
STYLE = ("#LessonPanel { background: #1f2a33; border-radius: 4px; }"
         "#LessonPanel QLabel { color: #e6e6e6; }"
         "#LessonPanel QScrollArea, #LessonPanel #LessonBody { background: transparent; border: none; }"
         "#LessonPanel QLabel#LessonTitle { color: #9ecbff; font-weight: bold; }"
         "#LessonPanel QLabel#LessonCount { color: #a8a8a8; }"
         "#LessonPanel QToolButton { color: #e6e6e6; border: none; }")


class LessonPanel(QFrame):
    back = Signal()
    next = Signal()
    closed = Signal()

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setObjectName("LessonPanel")
        self.setStyleSheet(STYLE)
        self.title = QLabel()
        self.title.setObjectName("LessonTitle")
        self.title.setWordWrap(True)
        close = QToolButton()
        close.setText("✕")
        close.setToolTip("Close the lesson (the preset stays)")
        close.clicked.connect(self.closed.emit)
        top = QHBoxLayout()
        top.setContentsMargins(0, 0, 0, 0)
        top.addWidget(self.title, 1)
        top.addWidget(close, 0, Qt.AlignTop)
        self.count = QLabel()
        self.count.setObjectName("LessonCount")
        self.heading = QLabel()
        self.heading.setWordWrap(True)
        self.body = QLabel()
        self.body.setObjectName("LessonBody")
        self.body.setWordWrap(True)
        self.body.setTextFormat(Qt.RichText)
        self.body.setAlignment(Qt.AlignTop | Qt.AlignLeft)
        self.body.setTextInteractionFlags(Qt.TextSelectableByMouse)
        self.body.setSizePolicy(QSizePolicy.Preferred, QSizePolicy.Minimum)
        self.scroll = QScrollArea()
        self.scroll.setWidgetResizable(True)
        self.scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarAlwaysOff)
        self.scroll.setFrameShape(QFrame.NoFrame)
        self.scroll.setWidget(self.body)
        self.scroll.viewport().setAutoFillBackground(False)
        self.status = QLabel()      # what the step is doing: training, sampling, done
        self.status.setObjectName("LessonCount")
        self.status.setWordWrap(True)
        self.back_button = QPushButton("◀ Back")
        self.back_button.setToolTip("The step before (Page Up)")
        self.back_button.clicked.connect(self.back.emit)
        self.next_button = QPushButton("Next ▶")
        self.next_button.setToolTip("The next step (Page Down)")
        self.next_button.clicked.connect(self.next.emit)
        for b in (self.back_button, self.next_button):
            b.setFocusPolicy(Qt.NoFocus)     # Space stays Play, not a click on the button
        buttons = QHBoxLayout()
        buttons.addWidget(self.back_button)
        buttons.addWidget(self.next_button)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(10, 8, 10, 8)
        lay.setSpacing(4)
        lay.addLayout(top)
        lay.addWidget(self.count)
        lay.addWidget(self.heading)
        lay.addWidget(self.scroll, 1)
        lay.addWidget(self.status)
        lay.addLayout(buttons)
        self.set_font_pt(None)

    def show_step(self, lesson_title: str, number: int, total: int, heading: str, text: str) -> None:
        self.title.setText(lesson_title)
        self.count.setText(f"Step {number} of {total}")
        self.heading.setText(f"<b>{heading}</b>")
        self.body.setText(to_html(text))
        self.status.setText("")
        self.scroll.verticalScrollBar().setValue(0)
        self.back_button.setEnabled(number > 1)
        self.next_button.setEnabled(number < total)
        self.next_button.setText("Next ▶")
        self.next_button.setToolTip("The next step (Page Down)")

    def offer_next_lesson(self, title: str | None) -> None:
        """The last step: Next opens the course's next lesson (`title`), or says the course
        is done."""
        if title:
            self.next_button.setEnabled(True)
            self.next_button.setText("Next lesson ▶")
            self.next_button.setToolTip(f"The course's next lesson: {title} (Page Down)")
            self.set_status((self.status.text() + "\n" if self.status.text() else "")
                            + f"Last step. Next lesson: {title}.")
        else:
            self.set_status("Last step of the last lesson: the course is done.")

    def set_status(self, text: str) -> None:
        self.status.setText(text)

    def set_font_pt(self, pt: float | None) -> None:
        """The panel's text at `pt` points (presenter mode), or the application's font."""
        base = (self.font().pointSizeF() if pt is None else pt)
        base = base if base > 0 else 10.0
        k_text = 1.15 if pt is None else 1.0     # read from the back of a room: a size up
        for w, k in ((self.title, 1.25), (self.heading, 1.15), (self.body, k_text),
                     (self.count, 0.9), (self.status, 0.9), (self.back_button, 1.0),
                     (self.next_button, 1.0)):
            f = w.font()
            f.setPointSizeF(max(6.0, base * k))
            w.setFont(f)
        scale = 1.0 if pt is None else max(1.0, pt / 12.0)
        self.setFixedWidth(round(WIDTH * scale))
