"""The Qt application and its look: shared by the window and by offline export rendering,
which draws the same views without a window."""

from __future__ import annotations

import sys

from PySide6.QtGui import QColor, QPalette
from PySide6.QtWidgets import QApplication

from .style import BACKGROUND, FOREGROUND


def make_app(argv=None) -> QApplication:
    app = QApplication.instance()
    if app is None:
        # Qt names a hidden X11 clipboard window after the application at construction; a
        # neutral name keeps `xdotool search --name Score` finding the main window first.
        QApplication.setApplicationName("explorer")
        app = QApplication(list(argv or sys.argv[:1]))
    app.setApplicationName("Score Explorer")
    app.setOrganizationName("score-explorer")
    app.setStyle("Fusion")
    pal = QPalette()
    bg, fg = QColor(*BACKGROUND), QColor(*FOREGROUND)
    panel = QColor(38, 40, 46)
    for role, col in ((QPalette.Window, panel), (QPalette.WindowText, fg), (QPalette.Base, bg),
                      (QPalette.AlternateBase, panel), (QPalette.Text, fg),
                      (QPalette.Button, QColor(52, 55, 62)), (QPalette.ButtonText, fg),
                      (QPalette.ToolTipBase, panel), (QPalette.ToolTipText, fg),
                      (QPalette.Highlight, QColor(0, 114, 178)),
                      (QPalette.HighlightedText, QColor(255, 255, 255)),
                      (QPalette.PlaceholderText, QColor(140, 140, 140))):
        pal.setColor(role, col)
    pal.setColor(QPalette.Disabled, QPalette.Text, QColor(120, 120, 120))
    pal.setColor(QPalette.Disabled, QPalette.ButtonText, QColor(120, 120, 120))
    app.setPalette(pal)
    f = app.font()
    if f.pointSize() < 10:
        f.setPointSize(10)
        app.setFont(f)
    import pyqtgraph as pg
    pg.setConfigOptions(antialias=True, background=BACKGROUND, foreground=FOREGROUND)
    return app
