"""How the 2-D views share the window: the field panels and the loss under them on the
left, the particles on the right with their readouts under the plot, the lesson card at the
head of that column. On a 720p screen with the settings drawer open every picture keeps a
readable size (docs/window.md; tests/test_layout.py measures it with `shoot`)."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QSplitter, QVBoxLayout, QWidget


def two_d_arrangement(field_view: QWidget, loss_area: QWidget, particles_view: QWidget
                      ) -> tuple[QSplitter, QVBoxLayout]:
    """(the arrangement, the particle column's layout, where the lesson card goes)."""
    w = QSplitter(Qt.Horizontal)
    left = QSplitter(Qt.Vertical)
    left.addWidget(field_view)
    left.addWidget(loss_area)
    left.setStretchFactor(0, 3)
    left.setStretchFactor(1, 1)
    left.setSizes([395, 215])   # the loss keeps about 140 px of plot at 720p
    w.addWidget(left)
    column = QWidget()
    card_column = QVBoxLayout(column)
    card_column.setContentsMargins(0, 0, 0, 0)
    card_column.setSpacing(2)
    card_column.addWidget(particles_view, 1)
    w.addWidget(column)
    w.setStretchFactor(0, 2)
    w.setStretchFactor(1, 1)
    w.setSizes([690, 300])
    return w, card_column
