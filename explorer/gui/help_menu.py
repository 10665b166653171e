"""The Help menu: the keyboard shortcuts (read from the window's own actions, so the list is
never out of date), where the preset format is documented, and the version."""

from __future__ import annotations

import html

from PySide6.QtWidgets import QMessageBox

EXTRA_KEYS = [("Double-click a view", "show it alone, or every view again"),
              ("Mouse over a plot", "p(x), the learned and the true score in the status bar"),
              ("Drag / wheel in a plot", "pan / zoom; the A button at its corner restores it"),
              ("Click in the particle plot", "one particle's path from there (2-D): its steps "
               "faint, their running mean bold, start and end marked; Reset particles or a new "
               "preset clears it")]


def shortcuts_html(window) -> str:
    rows = []
    for a in window.actions():
        key = a.shortcut().toString()
        if key:
            rows.append((key, a.text().replace("&", "")))
    rows += EXTRA_KEYS
    cells = "".join(f"<tr><td><b>{html.escape(k)}</b>&nbsp;&nbsp;</td><td>{html.escape(t)}</td></tr>"
                    for k, t in rows)
    return f"<table>{cells}</table>"


def add_help_menu(window) -> None:
    menu = window.menuBar().addMenu("&Help")
    keys = menu.addAction("&Keyboard shortcuts")
    keys.setShortcut("F1")
    keys.triggered.connect(lambda: QMessageBox.information(window, "Keyboard shortcuts",
                                                           shortcuts_html(window)))
    window.addAction(keys)
    about = menu.addAction("&About score-explorer")
    about.triggered.connect(lambda: QMessageBox.about(window, "About score-explorer", about_text()))


def about_text() -> str:
    from importlib.metadata import PackageNotFoundError, version
    try:
        v = version("score-explorer")
    except PackageNotFoundError:
        v = "(not installed)"
    return (f"<p><b>score-explorer {html.escape(v)}</b></p><p>Train score networks on toy "
            "densities and watch them learn. Presets are TOML files: every key is listed in "
            "docs/presets.md of the repository, and <tt>score-explorer run PRESET</tt> writes "
            "a preset with every default filled in.</p>")
