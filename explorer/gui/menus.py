"""The window's actions, their shortcuts and its menus (File, Train, View, Help).

Built once for a MainWindow `w`; each action is kept on the window (`w.act_play`, ...), where
the toolbar, the lesson player, tests and the help text find it. The slots are the
window's and its parts' own: this module only names and arranges them.
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QKeySequence

from .help_menu import add_help_menu


def build_menus(w) -> None:
    def act(text, slot, shortcut=None, checkable=False):
        a = QAction(text, w)
        if shortcut:
            a.setShortcut(QKeySequence(shortcut))
        a.setCheckable(checkable)
        a.triggered.connect(slot)
        w.addAction(a)
        return a

    bar, files = w.run_bar, w.files
    w.act_open = act("&Open preset…", files.open_dialog, QKeySequence.Open)
    w.act_save = act("&Save preset", files.save, QKeySequence.Save)
    w.act_save_as = act("Save preset &as…", files.save_as, "Ctrl+Shift+S")
    w.act_quit = act("&Quit", w.close, "Ctrl+Q")
    w.act_gallery = act("&Presets gallery…", files.open_gallery, "Ctrl+G")
    w.act_export = act("&Export…", w.open_export, "Ctrl+E")
    w.act_open_run = act("Open r&un folder…", w.runs.open_dialog, "Ctrl+Shift+O")
    w.act_open_run.setToolTip("A folder written by score-explorer run, Save session as or "
                              "explorer.api.save_run, opened trained")
    w.act_save_session = act("Save sessio&n as…", w.runs.save_dialog, "Ctrl+Alt+S")
    w.act_save_session.setToolTip("The weights, loss and Fisher history, particles and metrics, "
                                  "as score-explorer run writes them (explorer.api.open_run reads it)")
    w.act_notebook = act("Export as &notebook…", w.runs.notebook_dialog)
    w.act_notebook.setToolTip("A Jupyter notebook that reproduces this session through explorer.api")
    w.act_play = act("Play", bar.toggle_play, "Space")
    bar.play_action = w.act_play
    w.act_reset = act("Reset training", bar.reset_training, "Ctrl+R")
    w.act_sample = act("Sample / pause sampling", bar.toggle_sampling, "Ctrl+L")
    w.act_restart_on_edit = act("Restart training when the density changes",
                                lambda: None, checkable=True)
    w.act_restart_on_edit.setChecked(True)
    w.draw_panel.restart_on_edit_toggled.connect(w.act_restart_on_edit.setChecked)
    w.act_restart_on_edit.toggled.connect(w.draw_panel.set_restart_on_edit)
    w.act_restart_on_edit.toggled.connect(w._restart_on_edit_changed)

    w.act_presenter = act("&Presenter mode", lambda on: w.set_presenter(on), "F11",
                          checkable=True)
    w.act_presenter.setToolTip("Controls hidden, large fonts, full screen (F11 or Esc to "
                               "leave); Ctrl+1, 2, 3 or a double-click shows one view alone")
    w.act_leave_presenter = act("Leave presenter mode", lambda: w.set_presenter(False), "Esc")
    # a lesson's steps: Page Down / Page Up, what presentation clickers send (only while
    # a lesson is open: otherwise the keys stay the widgets' own)
    w.act_lesson_next = act("&Next step of the lesson", lambda: w.lesson_player.next(),
                            QKeySequence(Qt.Key_PageDown))
    w.act_lesson_back = act("&Step back in the lesson", lambda: w.lesson_player.back(),
                            QKeySequence(Qt.Key_PageUp))
    w.act_lesson_open = act("&Lessons…", files.open_gallery)
    w.act_lesson_open.setToolTip("The gallery, lessons first: a lesson plays a sequence of "
                                 "presets step by step (Page Down / Page Up)")

    menu = w.menuBar().addMenu("&File")
    for a in (w.act_open, w.act_gallery, w.act_lesson_open, w.act_save, w.act_save_as):
        menu.addAction(a)
    w.recent_menu = menu.addMenu("Open &recent")
    w.recent_menu.aboutToShow.connect(lambda: w.files.fill_recent(w.recent_menu))
    menu.addSeparator()
    for a in (w.act_open_run, w.act_save_session):
        menu.addAction(a)
    menu.addSeparator()
    menu.addAction(w.act_export)
    menu.addAction(w.act_notebook)
    menu.addSeparator()
    menu.addAction(w.act_quit)
    tmenu = w.menuBar().addMenu("&Train")
    for a in (w.act_play, w.act_reset, w.act_sample, w.act_restart_on_edit):
        tmenu.addAction(a)
    vmenu = w.menuBar().addMenu("&View")
    vmenu.addAction(w.act_presenter)
    w.act_panel = act("&Settings", lambda on: w.set_settings_open(on), "Ctrl+B",
                      checkable=True)
    w.act_panel.setChecked(False)
    w.act_panel.setToolTip("Open or close the settings drawer (density, objective, model, "
                           "sampler; the Draw tab) beside the pictures (Ctrl+B)")
    bar.insertAction(bar.actions()[0], w.act_panel)   # the drawer's handle, at the toolbar's start
    vmenu.addAction(w.act_panel)
    vmenu.addSeparator()
    for key, name, text in (("Ctrl+1", "field", "&Field (or curves, 3-D view) alone"),
                            ("Ctrl+2", "particles", "&Particles alone"),
                            ("Ctrl+3", "loss", "&Loss alone")):
        vmenu.addAction(act(text, lambda _checked=False, n=name: w.view_focus.toggle(n), key))
    vmenu.addAction(act("&All views", lambda: w.view_focus.show_all(), "Ctrl+0"))
    vmenu.addSeparator()
    w.act_compare = act("&Compare variants…", w.open_compare, "Ctrl+K")
    w.act_compare.setToolTip("Variants of this preset training side by side: Fisher "
                             "divergence and loss overlaid, error maps, mean ± sd over seeds")
    vmenu.addAction(w.act_compare)
    w.act_tradeoff = act("DSM σ &trade-off…", w.open_tradeoff, "Ctrl+T")
    w.act_tradeoff.setToolTip("DSM's bias (large σ) and variance (small σ) against σ on "
                              "this density; trained DSM runs as points")
    vmenu.addAction(w.act_tradeoff)
    w.act_probes = act("&Likelihood estimators (Hutchinson)…", lambda: _open_probes(w), "Ctrl+H")
    w.act_probes.setToolTip("Score SDEs and flow matching: the exact-trace NLL beside "
                            "Hutchinson's estimate ± its standard error, and its variance "
                            "against the number of probes k")
    vmenu.addAction(w.act_probes)
    w.views.probes_requested.connect(w.act_probes.trigger)   # the button beside the likelihood map
    add_help_menu(w)
    w.setAcceptDrops(True)


def _open_probes(w):
    from .likelihood_probes_dialog import open_for_window
    return open_for_window(w)
