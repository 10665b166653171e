"""Where the window keeps geometry, the last preset and recent files.

SCORE_EXPLORER_SETTINGS names an ini file instead of the user's settings, so that tests
and benchmarks never touch (or depend on) a real user's state.
"""

import os

from PySide6.QtCore import QSettings


def app_settings() -> QSettings:
    path = os.environ.get("SCORE_EXPLORER_SETTINGS")
    if path:
        return QSettings(path, QSettings.IniFormat)
    return QSettings("score-explorer", "Score Explorer")
