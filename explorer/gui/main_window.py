"""The main window: edit a preset, train in the background, watch learned against true.

The state is a `Session` (core/session): the preset, its density, its training and
sampling runs. The window shows it and edits it: every edit goes through `Session.edit`,
which re-parses the whole preset with the command line's code and restarts only what the
edit invalidates; an invalid edit is shown and nothing changes. The parts of the window
are small widgets bound to the session: the settings panel and Draw tab on the left, the
toolbar (run_controls.py), and the views with their control row (views_area.py).
"""

from __future__ import annotations

from PySide6.QtCore import Qt, Slot
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QDockWidget, QHBoxLayout, QMainWindow, QTabWidget, QVBoxLayout, QWidget

from ..core.presets import preset as P
from ..core.errors import SpecError
from ..core.presets.numerics import preset_warnings
from ..core.presets.preset import Preset
from ..core.session import Effect, Session
from .banner import Banner
from .controls.panel import ControlPanel
from .hover import HoverReadout
from .lesson_card import LessonCard
from .menus import build_menus
from .lesson_panel import LessonPanel
from .lesson_player import LessonPlayer
from .presenter import Presenter
from .preset_files import PresetFiles
from .run_files import RunFiles
from .run_controls import RunControls
from .session_bridge import SessionBridge
from .settings import app_settings
from .trace_tool import TraceTool
from .view_focus import ViewFocus
from .views_area import ViewsArea

DRAWN_NAMES = {"image": "Painted density", "mixture": "Gaussians placed by hand",
               "points": "Points from a file"}
DEFAULT_SIZE = (1600, 980)  # shrunk to the screen's free area when it is smaller


class MainWindow(QMainWindow):
    def __init__(self, preset: Preset | None = None, path: str | None = None):
        super().__init__()
        self.settings = app_settings()
        self.session = Session(preset)
        self.preset_path: str | None = path
        self.last_error: str | None = None
        self.files = PresetFiles(self)
        self.runs = RunFiles(self)   # run folders and notebooks (File menu)
        self.presenter = Presenter(self)
        self._build_ui()
        self._build_actions()
        self._bind_session()
        self.lesson_player = LessonPlayer(self, self.lesson_panel)   # also enables its keys
        self._restore_geometry()
        self._apply_preset()

    # what the session holds, read by the dialogs and tools that look at the window
    preset = property(lambda self: self.session.preset)
    density = property(lambda self: self.session.density)
    trainer = property(lambda self: self.session.trainer)

    # ================================================================ layout
    def _build_ui(self) -> None:
        self.run_bar = RunControls(self.session, self.statusBar().showMessage)
        self.addToolBar(self.run_bar)
        self.panel = ControlPanel(self.session.preset)
        self.panel.edited.connect(self.on_edit)
        self.panel.several_edited.connect(self.on_several_edits)
        self.panel.gallery_requested.connect(self.files.open_gallery)
        self.panel.density_kind_changed.connect(self.on_density_kind)

        right = QWidget()
        rl = QVBoxLayout(right)
        rl.setContentsMargins(4, 4, 4, 4)
        self.banner = Banner()
        self.lesson = LessonCard()
        self.views = ViewsArea(self.session)
        self.views.rebuilt.connect(self._watch_views)
        rl.addWidget(self.banner)
        rl.addWidget(self.views, 1)
        self.views.place_card(self.lesson)
        # a lesson's panel: a column beside the views (gui/lesson_panel.py), shown while one plays
        self.lesson_panel = LessonPanel()
        self.lesson_panel.hide()
        side = QWidget()
        sl = QHBoxLayout(side)
        sl.setContentsMargins(0, 0, 0, 0)
        sl.setSpacing(0)
        sl.addWidget(right, 1)
        sl.addWidget(self.lesson_panel)
        right = side
        self.run_bar.particle_view = lambda: self.views.particles_view

        from .drawing.draw_panel import DrawPanel
        self.draw_panel = DrawPanel()
        self.draw_panel.density_edited.connect(self.on_drawn_density)
        self.left = QTabWidget()
        self.left.addTab(self.panel, "Settings")
        self.left.addTab(self.draw_panel, "Draw")
        self.left.setMinimumWidth(240)
        # the settings are a drawer beside the pictures (Ctrl+B, the toolbar's Settings
        # button), closed by default: in a splitter they took a third of a 720p screen
        self.settings_dock = QDockWidget("Settings", self)
        self.settings_dock.setObjectName("settings_drawer")
        self.settings_dock.setWidget(self.left)
        self.settings_dock.setFeatures(QDockWidget.NoDockWidgetFeatures)
        self.settings_dock.setTitleBarWidget(QWidget())   # the tabs name it
        self.addDockWidget(Qt.LeftDockWidgetArea, self.settings_dock)
        self.settings_dock.hide()
        self.setCentralWidget(right)
        self.statusBar().showMessage("Ready")

    def _build_actions(self) -> None:
        self.view_focus = ViewFocus(self)
        self.hover = HoverReadout(self)
        self.trace = TraceTool(self)
        build_menus(self)

    def _watch_views(self) -> None:
        """New view widgets (another dimension): the tools that watch them look again."""
        v = self.views
        self.hover.watch(v.hover_plots())
        self.trace.watch(v.particles_view)
        self.view_focus.set_views(v.views_widget, v.focusable_views())
        self.run_bar.set_trails(self.run_bar.trails.isChecked())

    # the views, by their names in the window (read by the export dialog, tools and tests)
    field_view = property(lambda self: self.views.field_view)
    particles_view = property(lambda self: self.views.particles_view)
    curve_view = property(lambda self: self.views.curve_view)
    loss_view = property(lambda self: self.views.loss_view)
    view3d = property(lambda self: self.views.view3d)

    # ================================================================ the session's news
    def _bind_session(self) -> None:
        self.bridge = SessionBridge(self.session, self)
        b, bar = self.bridge, self.run_bar
        b.trained.connect(self.on_train_snapshot)
        b.sampled.connect(self.on_sample_snapshot)
        b.training_started.connect(bar.on_training_started)
        b.training_started.connect(self.views.draw_true_field)
        b.sampling_reset.connect(lambda: bar.set_sampling(False))
        b.sampling_reset.connect(self.views.clear_particles)
        b.failed.connect(self.on_failed)
        b.note.connect(lambda text: self.show_error(text, error=False))
        b.budget_reached.connect(self.on_budget_reached)
        b.sampling_done.connect(self.on_sampling_done)

    @Slot()
    def on_train_snapshot(self) -> None:
        run = self.session.training
        snap = run.take_snapshot() if run is not None else None
        if snap is not None:
            self.run_bar.show_progress(snap)
            self.views.show_training(snap)

    @Slot()
    def on_sample_snapshot(self) -> None:
        run = self.session.sampling
        snap = run.take_snapshot() if run is not None else None
        if snap is not None:
            self.views.show_particles(snap)

    @Slot(str)
    def on_failed(self, message: str) -> None:
        self.run_bar.set_playing(self.session.playing)
        self.run_bar.set_sampling(self.session.sampling_playing)
        self.show_error(message)

    @Slot()
    def on_budget_reached(self) -> None:
        self.run_bar.set_playing(False)
        t = self.session.trainer
        rel = t.fisher[-1][2] if t.fisher else float("nan")
        self.statusBar().showMessage(
            f"Training finished: {t.step_count} steps, relative Fisher divergence "
            f"{rel:.4f}. Press Sample to draw particles.", 10000)

    @Slot()
    def on_sampling_done(self) -> None:
        self.run_bar.set_sampling(False)
        run = self.session.sampling
        blowup = run.sampler.blowup_message() if run is not None else None
        if blowup:   # the sampler stopped at the step where a particle stopped being finite
            self.show_error(blowup[0].upper() + blowup[1:] + ".")
            return
        if run is not None and run.paused_at_until and not run.sampler.done:
            self.statusBar().showMessage(f"Sampling paused at step {run.sampler.done_steps} of "
                                         f"{run.sampler.total} (Ctrl+L goes on).", 8000)
            return
        self.statusBar().showMessage("Sampling finished.", 5000)

    # the toolbar's commands, also the window's (keys, menus, scripts and tests call them)
    play = property(lambda self: self.run_bar.play)
    pause = property(lambda self: self.run_bar.pause)
    step_training = property(lambda self: self.run_bar.step_training)
    reset_training = property(lambda self: self.run_bar.reset_training)
    toggle_sampling = property(lambda self: self.run_bar.toggle_sampling)
    set_view_level = property(lambda self: self.views.set_view_level)

    # ================================================================ preset
    def _apply_preset(self) -> None:
        """Show the session's preset afresh: views for its dimension, its lesson, its density."""
        s = self.session
        self.panel.set_preset(s.preset)
        self.views.build(s.preset.dim)
        self._update_title()
        self.views.show_loss_hint(self.preset)
        self.lesson.set_lesson(s.preset.name, s.preset.description)
        if self.lesson_player.active:
            self.lesson.hide()   # the lesson's panel says more than the preset's card
        self.panel.set_score_note(f"True score: {s.density.score_source}.")
        self.views.setup_levels()
        self.views.draw_density()
        self._show_in_draw_panel()
        if s.training is None:
            s.restart_training()
            s.reset_sampling()
        else:
            self.views.draw_true_field()
            self.run_bar.on_training_started()
            self.views.clear_particles()
        warnings = preset_warnings(s.preset)   # values float32 cannot compute with
        if warnings:
            self.show_error("Note: " + " ".join(w[0].upper() + w[1:].rstrip(".") + "." for w in warnings),
                            error=False)

    def _show_in_draw_panel(self) -> None:
        """The Draw tab shows the current density when it is one it can edit."""
        if self.preset.dim == 2:
            self.draw_panel.set_bounds(self.preset.density["bounds"])
            self.draw_panel.show_density(self.preset.density, self.preset.base_dir)

    def _update_title(self) -> None:
        self.setWindowTitle(f"Score Explorer — {self.preset.name}")

    def load_path(self, path: str) -> bool:
        """Open a preset file; on error the current state stays and the message is shown."""
        try:
            preset = P.load(path)
            density = preset.build_density()
        except SpecError as e:
            self.show_error(f"Could not open the preset. {e}")
            return False
        self.preset_path = str(path)
        self.session.replace(preset, density)
        self._apply_preset()
        self.files.remember(path)
        self.statusBar().showMessage(f"Opened {path}", 5000)
        return True

    @Slot(dict)
    def on_drawn_density(self, spec: dict) -> None:
        """A stroke, a moved component or a loaded file: the [density] table, replaced whole.
        The window's title, the lesson card and an export's slide title name what is drawn
        now, not the preset it was drawn over."""
        changes = {"density": dict(spec), "name": DRAWN_NAMES.get(spec["kind"], "Drawn density"),
                   "description": "Drawn in the Draw tab. Train (Space) to learn its score, then "
                                  "Sample (Ctrl+L) to draw particles from it."}
        if not self._try_apply(changes):
            self.draw_panel.show_error(self.last_error or "")
            return
        self.lesson.set_lesson(self.preset.name, self.preset.description)

    @Slot(str, str, object)
    def on_edit(self, section: str, key: str, value) -> None:
        """One key from the settings panel (None: back to its default); what else it moves
        (a new objective's own keys, the sampler that follows it) is core/presets/edits.py's."""
        self._try_apply({f"{section}.{key}": value})

    @Slot(dict)
    def on_several_edits(self, values: dict) -> None:
        """Several keys at once ("section.key": value, as the advisor suggests): one edit,
        applied whole or refused whole."""
        self._try_apply(dict(values))

    @Slot(str)
    def on_density_kind(self, kind: str) -> None:
        if kind == self.preset.density["kind"]:
            return
        changes = {"density.kind": kind}
        if kind in ("image", "points"):
            from PySide6.QtWidgets import QFileDialog
            filt = "Images (*.png *.jpg *.bmp)" if kind == "image" else "Points (*.csv *.npy *.txt)"
            path, _ = QFileDialog.getOpenFileName(self, f"Choose the {kind} file", "", filt)
            if not path:
                self.panel.set_preset(self.preset)
                return
            changes["density.path"] = path
        self._try_apply(changes)

    def _try_apply(self, changes: dict) -> bool:
        try:
            effect = self.session.edit(changes)
        except SpecError as e:
            self.panel.show_error(e.key, e.message)
            self.show_error(f"{e.key}: {e.message}. Nothing was changed." if e.key else str(e))
            return False
        self.banner.hide()
        self.panel.show_error(None, "")
        self._update_title()
        if effect is Effect.DIMENSION:
            self._apply_preset()
        elif effect in (Effect.DENSITY, Effect.TRAINING, Effect.SAMPLER):
            self.panel.set_preset(self.preset)
            if effect is Effect.DENSITY:
                self.panel.set_score_note(f"True score: {self.density.score_source}.")
                self.views.draw_density()
            if effect is not Effect.SAMPLER:
                self.views.setup_levels()
                self.views.draw_true_field()
        elif effect is Effect.STEPS:
            self.run_bar.progress.setMaximum(self.preset.training["steps"])
        self.views.show_loss_hint(self.preset)
        return True

    def _restart_on_edit_changed(self, on: bool) -> None:
        self.session.restart_on_density_edit = bool(on)

    # ================================================================ lessons
    def open_lesson(self, path: str) -> bool:
        """Play a lesson (a file, or a shipped lesson's name) from its first step; a bad file is shown in the banner (one
        message naming the file and key) and the window keeps its state."""
        from ..core.lessons import load, resolve
        try:
            lesson = load(resolve(str(path)) or path)
        except SpecError as e:
            self.show_error(f"Could not open the lesson. {e}")
            return False
        self.banner.hide()
        self.lesson_player.open(lesson)
        return True


    # ================================================================ dialogs and files
    def open_export(self) -> None:
        from .export_dialog import open_export_dialog
        self.run_bar.pause()
        self._export_dialog = open_export_dialog(self)

    def open_compare(self):
        """Compare mode for the current preset, in a window of its own; this window's own
        training pauses, so that the variants have the cores."""
        from .compare_window import CompareWindow
        self.run_bar.pause()
        old = getattr(self, "compare_window", None)
        if old is not None:
            old.close()
        self.compare_window = CompareWindow(self.preset.copy(), self.density, self)
        self.compare_window.setWindowFlag(Qt.Window, True)
        self.compare_window.show()
        return self.compare_window

    def open_tradeoff(self):
        """The σ trade-off dialog for the current preset (its points: tradeoff_dialog.py)."""
        from .tradeoff_dialog import open_for_window
        return open_for_window(self)

    def save_to(self, path: str) -> bool:
        return self.files.save_to(path)

    def open_run(self, folder) -> bool:
        """A run folder (`score-explorer run`, Save session as, explorer.api.save_run), trained."""
        return self.runs.open(folder)

    def save_session(self, folder) -> bool:
        return self.runs.save(folder)

    def export_notebook(self, path) -> bool:
        return self.runs.export_notebook(path)

    def dragEnterEvent(self, event) -> None:
        if self.files.dropped_preset(event):
            event.acceptProposedAction()

    def dropEvent(self, event) -> None:
        path = self.files.dropped_preset(event)
        if path:
            self.load_path(path)
            event.acceptProposedAction()

    # ================================================================ the settings drawer
    settings_open = property(lambda self: self.act_panel.isChecked())

    def set_settings_open(self, on: bool) -> None:
        """Open or close the settings drawer; it opens at about a fifth of the window's
        width (260 to 420 px), so that the pictures keep the rest even on a 720p screen."""
        on = bool(on)
        self.act_panel.setChecked(on)
        self.settings_dock.setVisible(on and not self.presenting)
        if on:
            width = int(min(420, max(260, 0.22 * self.width())))
            self.resizeDocks([self.settings_dock], [width], Qt.Horizontal)

    # ================================================================ presenter mode
    presenting = property(lambda self: self.presenter.on)

    def set_presenter(self, on: bool) -> None:
        """Controls hidden, large fonts, full screen: for the lecture hall."""
        self.presenter.set(bool(on))

    def presenter_style(self):
        return self.presenter.style()

    # ================================================================ messages & lifecycle
    def show_error(self, text: str, error: bool = True) -> None:
        self.last_error = text if error else self.last_error
        self.banner.show_message(text, error)
        self.statusBar().showMessage(text.split(". ")[0], 8000)

    def _restore_geometry(self) -> None:
        """The last geometry, or a default size; either way inside the screen's free area
        (a geometry saved on a 1080p monitor must not open half off a 720p projector)."""
        geo = self.settings.value("geometry")
        if geo is not None:
            self.restoreGeometry(geo)
        else:
            self.resize(*DEFAULT_SIZE)
        screen = self.screen() or QGuiApplication.primaryScreen()
        if screen is None:
            return
        avail = screen.availableGeometry()
        frame = self.frameGeometry().size() - self.geometry().size()  # title bar, borders
        w = min(self.width(), avail.width() - frame.width())
        h = min(self.height(), avail.height() - frame.height())
        self.resize(w, h)
        x = min(max(self.x(), avail.left()), avail.right() - w - frame.width() + 1)
        y = min(max(self.y(), avail.top()), avail.bottom() - h - frame.height() + 1)
        self.move(x, y)

    def closeEvent(self, event) -> None:
        # the export cancelled and joined, compare's runs joined and its training process
        # ended, the trade-off's and the estimators' measuring threads joined
        for name in ("_export_dialog", "compare_window", "tradeoff_dialog", "probes_dialog"):
            other = getattr(self, name, None)
            if other is not None:
                other.close()
        self.bridge.detach()
        self.session.close()   # both runs joined, the training process ended
        self.trace.close()
        self.views.likelihood_map.join()
        self.views.density_volume.join()
        self.settings.setValue("geometry", self.saveGeometry())
        self.settings.sync()
        super().closeEvent(event)
