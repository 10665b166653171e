"""The main window: edit a preset, train in the background, watch learned against true.

The window owns one resolved `Preset`. Every edit is validated by re-parsing the whole
preset with the same code the command line uses; an invalid edit is shown and nothing
else changes. A valid edit restarts only what it invalidates (a learning-rate change
restarts nothing, a new objective restarts training). Training and sampling each run in
a worker thread (see `workers`); the window draws the newest snapshot when it arrives.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PySide6.QtCore import Qt, Slot
from PySide6.QtGui import QAction, QGuiApplication, QKeySequence
from PySide6.QtWidgets import (QCheckBox, QComboBox, QFileDialog, QFrame, QHBoxLayout, QLabel,
                               QMainWindow, QProgressBar, QPushButton, QSlider, QSpinBox,
                               QSplitter, QStyle, QTabWidget, QToolBar, QVBoxLayout, QWidget)

from ..core import preset as P
from ..core.errors import SpecError
from ..core.grid import grid_points
from ..core.numerics import preset_warnings
from ..core.preset import Preset
from ..core.sampling import Sampler
from ..core.schedules import ncsn_sigmas
from ..core.scores import TrueScore, level_label, level_noise
from ..core.training import Trainer
from ..core.training_process import TrainingProcess
from ..core import pictures
from .controls.panel import ControlPanel
from .lesson_card import LessonCard
from .help_menu import add_help_menu
from .hover import HoverReadout
from .trace_tool import TraceTool
from .view_focus import ViewFocus
from .settings import app_settings
from .texts import sampler_label
from ..views.style import PRESENTER, SCREEN
from .workers import SamplingWorker, ThreadHandle, TrainingWorker, learned_sampler_score

UNTRAINED_NOTE = ("The network is untrained (0 steps): its score is random, so the particles "
                  "drift off the box and the mode readout means nothing. Press Play to train "
                  "first, or set sampler score = true to sample with the exact score.")
def outside_count(x: np.ndarray, bounds) -> int:
    """Particles outside the view box (or not finite): the readout says how many are off view."""
    b = np.asarray(bounds, dtype=np.float64)
    x = np.asarray(x)
    inside = np.isfinite(x).all(axis=1) & ((x >= b[:, 0]) & (x <= b[:, 1])).all(axis=1)
    return int(len(x) - inside.sum())


# Edits that need fresh weights; everything else is applied live or at the next sampling.
RESTART_TRAINING = {"model", "objective", "density"}
RESTART_TRAINING_KEYS = {("training", "batch_size"), ("training", "seed"), ("training", "device")}
RECENT_MAX = 10
DEFAULT_SIZE = (1600, 980)  # shrunk to the screen's free area when it is smaller
DENSITY_GRID_3D = 40  # points per axis of p drawn as level sets in the 3-D view


class Banner(QFrame):
    """A message strip above the plots: errors and notes stay visible until dismissed."""

    def __init__(self):
        super().__init__()
        lay = QHBoxLayout(self)
        lay.setContentsMargins(8, 4, 8, 4)
        self.label = QLabel()
        self.label.setWordWrap(True)
        self.label.setTextInteractionFlags(Qt.TextSelectableByMouse)
        close = QPushButton("Dismiss")
        close.clicked.connect(self.hide)
        lay.addWidget(self.label, 1)
        lay.addWidget(close)
        self.hide()

    def show_message(self, text: str, error: bool = True) -> None:
        color = "#5c1f12" if error else "#1d3b52"
        self.setStyleSheet(f"Banner {{ background: {color}; border-radius: 4px; }}"
                           "QLabel { color: white; }")
        self.label.setText(text)
        self.show()


class MainWindow(QMainWindow):
    def __init__(self, preset: Preset | None = None, path: str | None = None):
        super().__init__()
        self.settings = app_settings()
        self.preset: Preset = preset if preset is not None else P.default()
        self.preset_path: str | None = path
        self.train: ThreadHandle | None = None
        self.sample: ThreadHandle | None = None
        self.trainer: Trainer | None = None    # mirror of the one training in the child process
        self._training_process: TrainingProcess | None = None
        self.density = self.preset.build_density()
        self._loss_xy = (np.zeros(0), np.zeros(0))
        self._fisher_seen = 0
        self._view_level: tuple[str, float] | None = None   # the noise-level slider's
        self._last_rate: float | None = None      # steps/s of the last training run
        self._true_cache: dict = {}
        self._backdrop_level = None   # the noise level of the density image now drawn
        self.last_error: str | None = None
        self.presenting = False
        self._was_maximized = False

        self._build_actions()
        self._build_ui()
        self._restore_geometry()
        self._apply_preset(self.preset)

    # ================================================================ layout
    def _build_actions(self) -> None:
        def act(text, slot, shortcut=None, checkable=False):
            a = QAction(text, self)
            if shortcut:
                a.setShortcut(QKeySequence(shortcut))
            a.setCheckable(checkable)
            a.triggered.connect(slot)
            self.addAction(a)
            return a

        self.act_open = act("&Open preset…", self.open_dialog, QKeySequence.Open)
        self.act_save = act("&Save preset", self.save, QKeySequence.Save)
        self.act_save_as = act("Save preset &as…", self.save_as, "Ctrl+Shift+S")
        self.act_quit = act("&Quit", self.close, "Ctrl+Q")
        self.act_gallery = act("&Presets gallery…", self.open_gallery, "Ctrl+G")
        self.act_export = act("&Export…", self.open_export, "Ctrl+E")
        self.act_play = act("Play", self.toggle_play, "Space")
        self.act_reset = act("Reset training", self.reset_training, "Ctrl+R")
        self.act_sample = act("Sample / pause sampling", self.toggle_sampling, "Ctrl+L")
        self.act_restart_on_edit = act("Restart training when the density changes", lambda: None,
                                       checkable=True)
        self.act_restart_on_edit.setChecked(True)

        self.act_presenter = act("&Presenter mode", self.toggle_presenter, "F11", checkable=True)
        self.act_presenter.setToolTip("Controls hidden, large fonts, full screen (F11 or Esc to "
                                      "leave); Ctrl+1, 2, 3 or a double-click shows one view alone")
        self.act_leave_presenter = act("Leave presenter mode", lambda: self.set_presenter(False), "Esc")

        menu = self.menuBar().addMenu("&File")
        for a in (self.act_open, self.act_gallery, self.act_save, self.act_save_as):
            menu.addAction(a)
        self.recent_menu = menu.addMenu("Open &recent")
        self.recent_menu.aboutToShow.connect(self._fill_recent)
        menu.addSeparator()
        menu.addAction(self.act_export)
        menu.addSeparator()
        menu.addAction(self.act_quit)
        tmenu = self.menuBar().addMenu("&Train")
        for a in (self.act_play, self.act_reset, self.act_sample, self.act_restart_on_edit):
            tmenu.addAction(a)
        vmenu = self.menuBar().addMenu("&View")
        vmenu.addAction(self.act_presenter)
        vmenu.addSeparator()
        self.view_focus = ViewFocus(self)
        self.hover = HoverReadout(self)
        self.trace = TraceTool(self)
        for key, name, text in (("Ctrl+1", "field", "&Field (or curves, 3-D view) alone"),
                                ("Ctrl+2", "particles", "&Particles alone"),
                                ("Ctrl+3", "loss", "&Loss alone")):
            vmenu.addAction(act(text, lambda _checked=False, n=name: self.view_focus.toggle(n), key))
        vmenu.addAction(act("&All views", lambda: self.view_focus.show_all(), "Ctrl+0"))
        add_help_menu(self)
        self.setAcceptDrops(True)

    def _build_ui(self) -> None:
        tb = self.toolbar = QToolBar("Controls")
        tb.setObjectName("controls")
        tb.setMovable(False)
        self.addToolBar(tb)
        self.play_button = QPushButton("Play")
        self.play_button.setToolTip("Train in the background (Space)")
        self.play_button.clicked.connect(self.toggle_play)
        self.step_button = QPushButton("Step")
        self.step_count = QSpinBox()
        self.step_count.setRange(1, 100_000)
        self.step_count.setValue(100)
        self.step_count.setToolTip("Steps to train when Step is pressed")
        self.step_button.clicked.connect(self.step_training)
        reset = QPushButton("Reset")
        reset.setToolTip("Fresh weights from the seed (Ctrl+R)")
        reset.clicked.connect(self.reset_training)
        self.progress = QProgressBar()
        self.progress.setMinimumWidth(180)
        self.progress.setMaximumWidth(320)
        self.progress.setFormat("%v / %m steps")
        self.rate_label = QLabel("idle")
        self.rate_label.setMinimumWidth(90)
        for w in (self.play_button, self.step_button, self.step_count, reset, self.progress,
                  self.rate_label):
            tb.addWidget(w)
        tb.addSeparator()
        self.sample_button = QPushButton("Sample")
        self.sample_button.setToolTip("Animate the sampler's particle cloud")
        self.sample_button.clicked.connect(self.toggle_sampling)
        self.sample_reset = QPushButton("Reset particles")
        self.sample_reset.clicked.connect(self.reset_sampling)
        self.speed = QSpinBox()
        self.speed.setRange(1, 200)
        self.speed.setValue(5)
        self.speed.setPrefix("× ")
        self.speed.setToolTip("Sampler steps per animation frame")
        self.speed.valueChanged.connect(self._speed_changed)
        self.trails = QCheckBox("Trails")
        self.trails.toggled.connect(self._trails_changed)
        for w in (self.sample_button, self.sample_reset, self.speed, self.trails):
            tb.addWidget(w)
        tb.addSeparator()
        self.mode_combo = QComboBox()
        self.mode_combo.addItem("Side by side", "side")
        self.mode_combo.addItem("Overlay", "overlay")
        self.mode_combo.addItem("Error map", "error")
        self.mode_combo.setToolTip("How to compare the learned and the true score")
        self.mode_combo.currentIndexChanged.connect(self._mode_changed)
        self.weighted = QCheckBox("Weight error by p")
        self.weighted.toggled.connect(self._weighted_changed)
        self.arrow_combo = QComboBox()
        self.arrow_combo.addItem("Arrows: own scale", "per_panel")
        self.arrow_combo.addItem("Arrows: one scale", "shared")
        self.arrow_combo.addItem("Arrows: direction, colour = |s|", "direction")
        self.arrow_combo.setToolTip(
            "Arrow length: each panel on its own scale (directions of a weak field stay "
            "visible), one scale for both (equal vectors, equal arrows), or equal lengths "
            "coloured by magnitude")
        self.arrow_combo.currentIndexChanged.connect(self._arrow_mode_changed)

        self.panel = ControlPanel(self.preset)
        self.panel.edited.connect(self.on_edit)
        self.panel.gallery_requested.connect(self.open_gallery)
        self.panel.density_kind_changed.connect(self.on_density_kind)

        right = QWidget()
        rl = QVBoxLayout(right)
        rl.setContentsMargins(4, 4, 4, 4)
        self.banner = Banner()
        rl.addWidget(self.banner)
        self.lesson = LessonCard()
        rl.addWidget(self.lesson)
        # the view's own controls, above the views they change (in the toolbar they were
        # pushed off a 1280-pixel screen): noise level (NCSN, DDPM), comparison, arrows
        view_row = QHBoxLayout()
        view_row.setContentsMargins(0, 0, 0, 0)
        sig_row = QHBoxLayout()
        sig_row.setContentsMargins(0, 0, 0, 0)
        self.sigma_label = QLabel("σ")
        self.sigma_slider = QSlider(Qt.Horizontal)
        self.sigma_slider.setToolTip("Noise level at which the learned and true fields and the "
                                     "density are drawn (left: most noise; right: the data)")
        self.sigma_slider.valueChanged.connect(self._sigma_changed)
        sig_row.addWidget(QLabel("Noise level"))
        sig_row.addWidget(self.sigma_slider, 1)
        sig_row.addWidget(self.sigma_label)
        self.sigma_row = QWidget()
        self.sigma_row.setLayout(sig_row)
        view_row.addWidget(self.sigma_row, 1)
        for w in (self.mode_combo, self.arrow_combo, self.weighted):
            view_row.addWidget(w)
        rl.addLayout(view_row)
        self.views_holder = QVBoxLayout()
        rl.addLayout(self.views_holder, 1)

        from .drawing.draw_panel import DrawPanel
        self.draw_panel = DrawPanel()
        self.draw_panel.density_edited.connect(self.on_drawn_density)
        self.draw_panel.restart_on_edit_toggled.connect(self.act_restart_on_edit.setChecked)
        self.act_restart_on_edit.toggled.connect(self.draw_panel.set_restart_on_edit)
        self.left = QTabWidget()
        self.left.addTab(self.panel, "Settings")
        self.left.addTab(self.draw_panel, "Draw")
        self.left.setMinimumWidth(400)

        split = QSplitter()
        split.addWidget(self.left)
        split.addWidget(right)
        split.setStretchFactor(1, 1)
        split.setSizes([420, 1180])
        self.setCentralWidget(split)
        self.views_widget: QWidget | None = None
        self.statusBar().showMessage("Ready")

    def _build_views(self, dim: int) -> None:
        """One arrangement of views per dimension; rebuilt only when the dimension changes."""
        if self.views_widget is not None and self._views_dim == dim:
            return
        if self.views_widget is not None:
            self.views_widget.setParent(None)
            self.views_widget.deleteLater()
        from ..views.loss_view import LossView
        self.loss_view = LossView()
        self.field_view = self.particles_view = self.curve_view = None
        self.view3d = None
        if dim == 3:
            from ..views.view3d import make_view3d
            self.view3d = make_view3d()
            self.field_view = self.view3d.field_view   # the slice's learned-vs-true view
            self.particles_view = self.view3d
            self.view3d.slice_changed.connect(lambda *_: self._redraw_fields())
            # the slice panel is narrow: one overlaid plot reads better than two side by side
            if self.mode_combo.currentData() == "side":
                self.mode_combo.setCurrentIndex(self.mode_combo.findData("overlay"))
            w = QSplitter(Qt.Vertical)
            w.addWidget(self.view3d)
            w.addWidget(self.loss_view)
            w.setSizes([640, 300])
        elif dim == 1:
            from ..views.curve1d_view import Curve1DView
            self.curve_view = Curve1DView()
            top = self.curve_view
            bottom = self.loss_view
            w = QSplitter(Qt.Vertical)
            w.addWidget(top)
            w.addWidget(bottom)
            w.setSizes([600, 300])
        else:
            from ..views.field_view import FieldView
            from ..views.particles_view import ParticlesView
            self.field_view = FieldView()
            self.particles_view = ParticlesView()
            w = QSplitter(Qt.Vertical)
            w.addWidget(self.field_view)
            bottom = QSplitter(Qt.Horizontal)
            bottom.addWidget(self.loss_view)
            bottom.addWidget(self.particles_view)
            bottom.setSizes([500, 500])
            w.addWidget(bottom)
            w.setSizes([520, 420])
        self.views_widget = w
        self._views_dim = dim
        self.views_holder.addWidget(w)
        for control in (self.mode_combo, self.arrow_combo, self.weighted):
            control.setVisible(dim != 1)   # 1-D draws curves: no arrows, no comparison modes
        self.hover.watch(self._hover_plots())
        self.trace.watch(self.particles_view)
        one = self.view3d or self.curve_view   # 1-D and 3-D have one main view
        self.view_focus.set_views(w, {"field": one or self.field_view,
                                      "particles": one or self.particles_view,
                                      "loss": self.loss_view})
        if self.field_view is not None:
            self.field_view.set_mode(self.mode_combo.currentData())
            self.field_view.set_error_weighted(self.weighted.isChecked())
            self.field_view.set_arrow_mode(self.arrow_combo.currentData())
        self._trails_changed(self.trails.isChecked())
        if self.presenting:
            self._apply_view_style()

    def _hover_plots(self) -> list:
        """The plots whose points the status bar reads out under the mouse."""
        plots = []
        fv = self.field_view
        if fv is not None and hasattr(fv, "learned_plot"):
            plots += [fv.learned_plot, fv.true_plot, fv.overlay_plot, fv.error_plot]
        pv = self.particles_view
        if pv is not None and hasattr(pv, "plot"):
            plots.append(pv.plot)
        return plots

    def _trails_changed(self, on: bool) -> None:
        self.trails.setEnabled(self.particles_view is not None)
        if self.particles_view is not None:
            self.particles_view.set_trails(on)

    def _particles_view(self):
        return self.curve_view if self.curve_view is not None else self.particles_view

    # ================================================================ preset
    def _apply_preset(self, preset: Preset) -> None:
        """Make `preset` the window's state: views for its dimension, new trainer, no particles."""
        self.preset = preset
        self.panel.set_preset(preset)
        self._build_views(preset.dim)
        self._update_title()
        self.lesson.set_lesson(preset.name, preset.description)
        self.panel.set_score_note(f"True score: {self.density.score_source}.")
        self._setup_sigma_slider()
        self._draw_density()
        self._show_in_draw_panel()
        self.restart_training()
        self.reset_sampling()
        warnings = preset_warnings(preset)   # values float32 cannot compute with
        if warnings:
            self.show_error("Note: " + " ".join(w[0].upper() + w[1:].rstrip(".") + "." for w in warnings),
                            error=False)

    def _show_in_draw_panel(self) -> None:
        """The Draw tab shows the current density when it is one it can edit."""
        if self.preset.dim == 2:
            self.draw_panel.set_bounds(self.preset.density["bounds"])
            self.draw_panel.show_density(self.preset.density, self.preset.base_dir)

    @Slot(dict)
    def on_drawn_density(self, spec: dict) -> None:
        """A stroke, a moved component or a loaded file: apply it like any density edit."""
        d = self.preset.to_dict()
        old = d["density"]
        d["density"] = dict(spec)
        if spec["kind"] != old["kind"] or spec.get("bounds") != old.get("bounds"):
            d["objective"].pop("sigma_max", None)
            d["objective"].pop("sigma_min", None)
        if not self._try_apply(d, changed={("density", "kind")}):
            self.draw_panel.show_error(self.last_error or "")

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
        self._stop_threads()
        self.density = density
        self.preset_path = str(path)
        self._apply_preset(preset)
        self._remember(path)
        self.statusBar().showMessage(f"Opened {path}", 5000)
        return True

    @Slot(str, str, object)
    def on_edit(self, section: str, key: str, value) -> None:
        d = self.preset.to_dict()
        if value is None:
            d[section].pop(key, None)
        else:
            d[section][key] = value
        if section == "objective" and key == "kind":
            # the sampler follows the objective unless the user chose otherwise
            d["sampler"].pop("kind", None)
            d["sampler"].pop("steps", None)
            d["sampler"].pop("step_size", None)
        self._try_apply(d, changed={(section, key)})

    @Slot(str)
    def on_density_kind(self, kind: str) -> None:
        d = self.preset.to_dict()
        if kind == d["density"]["kind"]:
            return
        d["density"] = {"kind": kind}
        if kind == "mixture":
            d["density"].update(weights=[0.5, 0.5], means=[[-2.0, 0.0], [2.0, 0.0]], stds=[0.5, 0.5])
        elif kind in ("image", "points"):
            return self._choose_data_file(kind, d)
        d["objective"].pop("sigma_max", None)
        d["objective"].pop("sigma_min", None)
        self._try_apply(d, changed={("density", "kind")})

    def _choose_data_file(self, kind: str, d: dict) -> None:
        filt = "Images (*.png *.jpg *.bmp)" if kind == "image" else "Points (*.csv *.npy *.txt)"
        path, _ = QFileDialog.getOpenFileName(self, f"Choose the {kind} file", "", filt)
        if not path:
            self.panel.set_preset(self.preset)
            return
        d["density"]["path"] = path
        self._try_apply(d, changed={("density", "kind")})

    def _try_apply(self, d: dict, changed: set) -> bool:
        try:
            new = P.parse(d, self.preset.base_dir, None)
            density = new.build_density() if any(s == "density" for s, _ in changed) else self.density
        except SpecError as e:
            self.panel.show_error(e.key, e.message)
            self.show_error(f"{e.key}: {e.message}. Nothing was changed." if e.key else str(e))
            return False
        self.banner.hide()
        self.panel.show_error(None, "")
        sections = {s for s, _ in changed}
        old = self.preset
        self.preset = new
        self._update_title()
        if "density" in sections:
            self.density = density
            self.panel.set_score_note(f"True score: {density.score_source}.")
            self._true_cache.clear()
            if new.dim != old.dim:
                self._stop_threads()
                self._apply_preset(new)
                return True
            self.panel.set_preset(new)
            self._setup_sigma_slider()
            self._draw_density()
            if self.act_restart_on_edit.isChecked() or self.trainer is None:
                self.restart_training()
            else:
                self._keep_training_on_new_density()
            self.reset_sampling()
        elif sections & RESTART_TRAINING or changed & RESTART_TRAINING_KEYS:
            self.panel.set_preset(new)
            self._setup_sigma_slider()
            self._true_cache.clear()
            self.restart_training()
            self.reset_sampling()
        elif ("training", "lr") in changed:
            self.trainer.preset.training["lr"] = new.training["lr"]
            self.train.worker.set_lr(new.training["lr"])
        elif ("training", "steps") in changed:
            self.trainer.preset.training["steps"] = new.training["steps"]
            self.train.worker.set_budget(new.training["steps"])
            self.progress.setMaximum(new.training["steps"])
        elif "sampler" in sections:
            self.panel.set_preset(new)
            self.reset_sampling()
        elif "view" in sections:
            self.restart_training(keep_weights=True)
        return True

    # ================================================================ training
    def restart_training(self, keep_weights: bool = False) -> None:
        """A new trainer (fresh weights from the seed) and a paused worker thread."""
        was_playing = self.train is not None and self.train.worker.playing
        old_model = self.trainer.model if (keep_weights and self.trainer) else None
        old_state = (self.trainer.step_count, self.trainer.fisher) \
            if old_model is not None else None
        old_losses = self.train.worker.losses if (old_model is not None and self.train) else None
        self._join(self.train)
        self.train = None
        try:
            self.trainer = Trainer(self.preset.copy(), self.density)
        except SpecError as e:
            self.show_error(str(e))
            return
        if old_model is not None:
            self.trainer.model.load_state_dict(old_model.state_dict())
            self.trainer.step_count, self.trainer.fisher = old_state
        if self.trainer.device_note:
            self.show_error(self.trainer.device_note, error=False)
        self._grid = grid_points(self.preset.density["bounds"], self._grid_n())
        self._start_training_worker(old_losses)
        self._loss_xy = (np.zeros(0), np.zeros(0))   # (step, loss), decimated for long runs
        self._fisher_seen = 0
        self._fisher_steps: list[int] = []
        self._fisher_vals: list[float] = []
        self.progress.setMaximum(max(self.trainer.budget, 1))
        self.progress.setValue(self.trainer.step_count)
        self._draw_true_field()
        if was_playing:
            self.play()
        else:
            self._set_play_text(False)

    def _keep_training_on_new_density(self) -> None:
        """Go on with the same weights on the edited density (the user's choice)."""
        was_playing = self.train.worker.playing
        losses = self.train.worker.losses
        self._join(self.train)
        self.trainer.set_density(self.density)
        self.trainer.preset = self.preset.copy()
        self._start_training_worker(losses)
        self._draw_true_field()
        if was_playing:
            self.play()

    def _start_training_worker(self, losses=None) -> None:
        """A paused session of the mirror trainer in the training process (a new process
        if the last one has ended); `losses` goes on with the history of the same weights."""
        if self._training_process is None or not self._training_process.alive:
            if self._training_process is not None:
                self._training_process.close()
            self._training_process = TrainingProcess()
        worker = TrainingWorker(self.trainer, self._grid, self._training_process,
                                self._view_level, losses)
        worker.ready.connect(self.on_train_snapshot)
        worker.failed.connect(self.on_train_failed)
        worker.budget_reached.connect(self.on_budget_reached)
        self.train = ThreadHandle(worker)
        self.train.start()

    def _grid_n(self) -> int:
        n = int(self.preset.view["grid"])
        return min(n, 16) if self.preset.dim == 3 else n

    def toggle_play(self) -> None:
        if self.train is None:
            return
        if self.train.worker.playing:
            self.pause()
        else:
            self.play()

    def play(self) -> None:
        if self.train is None:
            self.restart_training()
        if self.trainer.finished:
            self.statusBar().showMessage(
                "The step budget is reached: raise training.steps or Reset.", 5000)
            return
        self.train.worker.play()
        self._set_play_text(True)

    def pause(self) -> None:
        if self.train is not None:
            self.train.worker.pause()
        self._set_play_text(False)

    def _icon(self, name: str):
        return self.style().standardIcon(getattr(QStyle.StandardPixmap, name))

    def _set_play_text(self, playing: bool) -> None:
        self.play_button.setText("Pause" if playing else "Play")
        self.play_button.setIcon(self._icon("SP_MediaPause" if playing else "SP_MediaPlay"))
        self.act_play.setText("Pause" if playing else "Play")

    def step_training(self) -> None:
        if self.train is not None:
            self.pause()
            self.train.worker.step_n(self.step_count.value())

    def reset_training(self) -> None:
        self.pause()
        self.restart_training()

    @Slot()
    def on_train_snapshot(self) -> None:
        if self.train is None:
            return
        snap = self.train.worker.take_snapshot()
        if snap is None:
            return
        t = self.trainer
        self.progress.setMaximum(max(snap["budget"], 1))
        self.progress.setValue(snap["step"])
        self._show_rate(snap["steps_per_s"])
        self._loss_xy = (snap["loss_steps"], snap["loss_values"])
        fis = t.fisher[self._fisher_seen:]
        self._fisher_seen += len(fis)
        self._fisher_steps += [s for s, _, _ in fis]
        self._fisher_vals += [f for _, f, _ in fis]
        self._draw_learned(snap["learned"], snap["view_level"])
        self._draw_loss()

    def _show_rate(self, rate: float | None) -> None:
        """Training speed while training; the last speed, marked as such, once it stops
        (a '0 steps/s' left after the budget reads as if training were stuck)."""
        if rate is None:
            self.rate_label.setText("starting…")
        elif rate > 0:
            self._last_rate = rate
            self.rate_label.setText(f"{rate:.0f} steps/s")
        else:
            last = self._last_rate
            self.rate_label.setText(f"was {last:.0f} steps/s" if last else "idle")

    def _draw_loss(self) -> None:
        steps, losses = self._loss_xy
        obj = self.preset.objective["kind"]
        ism_c = self.trainer.ism_constant() if obj == "ism" else None
        # F itself, not the relative F, so that it shares the loss axis
        level = self.trainer.fisher_level
        at = level_label(level)
        self.loss_view.set_curves(steps, losses, np.asarray(self._fisher_steps),
                                  np.asarray(self._fisher_vals), ism_c, obj, at)

    @Slot(str)
    def on_train_failed(self, message: str) -> None:
        self._set_play_text(False)
        self.show_error(message)

    @Slot()
    def on_budget_reached(self) -> None:
        self._set_play_text(False)
        rel = self.trainer.fisher[-1][2] if self.trainer.fisher else float("nan")
        self.statusBar().showMessage(
            f"Training finished: {self.trainer.step_count} steps, relative Fisher divergence "
            f"{rel:.4f}. Press Sample to draw particles.", 10000)

    # ================================================================ drawing
    def _draw_density(self) -> None:
        b = np.asarray(self.preset.density["bounds"])
        if self.preset.dim == 1:
            xs, p = pictures.density_curve(self.density, b)
            self.curve_view.set_bounds(b)
            self.curve_view.set_density(xs, p)
            return
        if self.preset.dim == 2:
            img = pictures.density_image(self.density, b)
            self._backdrop_level = None
            for v in (self.field_view, self.particles_view):
                v.set_bounds(b)
                v.set_density(img)
        else:
            self._draw_density_3d(b)

    def _draw_density_3d(self, b) -> None:
        """A cloud of samples of p and translucent level sets of p on a 40^3 grid."""
        import torch
        x = self.density.sample(20000, torch.Generator().manual_seed(0)).numpy()
        self.view3d.set_bounds(b)
        self.view3d.set_density_points(x)
        n = DENSITY_GRID_3D
        self.view3d.set_density_grid(pictures.density_at(self.density, grid_points(b, n)).reshape(n, n, n))

    def _true_on_grid(self, level) -> np.ndarray:
        key = (level, len(self._grid))
        if key not in self._true_cache:
            self._true_cache[key] = pictures.true_field(self.density, self.preset, self._grid, level)
        return self._true_cache[key]

    def _draw_true_field(self) -> None:
        self._draw_learned(None, self._view_level)

    def _draw_learned(self, learned: np.ndarray | None, level) -> None:
        true = self._true_on_grid(level)
        if self.preset.dim == 1:
            xs = self._grid[:, 0]
            self.curve_view.set_scores(xs, None if learned is None else learned[:, 0], true[:, 0])
            return
        self._last_learned = learned
        if self.preset.dim == 3:
            return self._draw_fields_3d(learned, true, self._p_on_grid(None), level)
        if self._backdrop_level != level:  # the density drawn is p at the slider's noise level
            self._backdrop_level = level
            img = pictures.density_image(self.density, self.preset.density["bounds"],
                                        noise=level_noise(self.preset, level))
            for v in (self.field_view, self.particles_view):
                v.set_density(img)
        self.field_view.set_fields(self._grid, learned, true, self._p_on_grid(level))
        self.field_view.set_caption(self._field_caption(level))

    def _p_on_grid(self, level) -> np.ndarray:
        key = ("p", level, len(self._grid))
        if key not in self._true_cache:
            self._true_cache[key] = pictures.density_at(self.density, self._grid,
                                                       level_noise(self.preset, level))
        return self._true_cache[key]

    def _draw_fields_3d(self, learned, true, p, level) -> None:
        """Arrows on a coarse subset of the grid, and learned vs true on the slice plane."""
        from ..views.view3d import grid_slice, grid_subset
        n = self._grid_n()
        g = self._grid
        sub = grid_subset(n, 9)
        self.view3d.set_fields(g[sub], None if learned is None else learned[sub], true[sub])
        axis, value = self.view3d.slice()
        idx, snapped = grid_slice(self.preset.density["bounds"], n, axis, value)
        self.view3d.set_slice(axis, snapped)
        self.view3d.set_slice_fields(g[idx], None if learned is None else learned[idx], true[idx], p[idx])
        self.field_view.set_caption(f"{self.view3d.slice_caption()} · {self._field_caption(level)}")

    def _redraw_fields(self) -> None:
        self._draw_learned(getattr(self, "_last_learned", None), self._view_level)

    def _field_caption(self, level) -> str:
        src = self.density.score_source
        if level is not None and level[0] == "sigma":
            return f"at noise level σ = {level[1]:.3g} (true: score of p_σ, {src}); density p_σ"
        if level is not None:
            sigma, _ = level_noise(self.preset, level)
            return (f"at DDPM step t = {int(level[1])}, noise √(1−ᾱ_t) = {sigma:.3g} "
                    f"(true: score of the marginal p_t, {src}); density p_t")
        if self.preset.objective["kind"] == "ncsn":
            return f"learned at σ_min = {self.preset.objective['sigma_min']:.3g}; true score: {src}"
        if self.preset.objective["kind"] == "ddpm":
            return f"learned at t = 0; true score: {src}"
        return f"true score: {src}"

    def _setup_sigma_slider(self) -> None:
        """NCSN: its sigma levels, largest on the left. DDPM: its steps t, the noisiest
        (t = T - 1) on the left. The right end, the finest level, is the default."""
        o = self.preset.objective
        show = o["kind"] in ("ncsn", "ddpm") and self.preset.dim in (1, 2, 3)
        self.sigma_row.setVisible(show)
        self._view_level = None
        if not show:
            return
        if o["kind"] == "ncsn":
            sigmas = ncsn_sigmas(o["sigma_max"], o["sigma_min"], o["levels"]).tolist()
            self._levels = [("sigma", s) for s in sigmas]
        else:
            self._levels = [("step", t) for t in range(int(o["timesteps"]) - 1, -1, -1)]
        self.sigma_slider.blockSignals(True)
        self.sigma_slider.setRange(0, len(self._levels) - 1)
        self.sigma_slider.setValue(len(self._levels) - 1)
        self.sigma_slider.blockSignals(False)
        self.sigma_label.setText(self._level_text(self._levels[-1]))

    def _level_text(self, level) -> str:
        if level[0] == "sigma":
            return level_label(level)
        sigma, _ = level_noise(self.preset, level)
        return f"{level_label(level)} (σ_t = {sigma:.2g})"

    def set_view_level(self, level) -> None:
        """Draw the fields and the density at `level` (None: the finest); moves the slider."""
        i = len(self._levels) - 1 if level is None else self._levels.index(level)
        self.sigma_slider.setValue(i)

    def _sigma_changed(self, i: int) -> None:
        level = self._levels[i]
        self.sigma_label.setText(self._level_text(level))
        self._view_level = None if i == len(self._levels) - 1 else level
        if self.train is not None:
            self.train.worker.set_view_level(self._view_level)
        self._draw_true_field()

    def _mode_changed(self) -> None:
        if self.field_view is not None:
            self.field_view.set_mode(self.mode_combo.currentData())

    def _arrow_mode_changed(self) -> None:
        if self.field_view is not None:
            self.field_view.set_arrow_mode(self.arrow_combo.currentData())

    def _weighted_changed(self, on: bool) -> None:
        if self.field_view is not None:
            self.field_view.set_error_weighted(on)

    # ================================================================ sampling
    def toggle_sampling(self) -> None:
        if self.sample is not None and self.sample.worker.playing:
            self.sample.worker.pause()
            self._set_sample_text(False)
            return
        if self.sample is None or self.sample.worker.sampler.done:
            if not self._new_sampler():
                return
        self.sample.worker.play()
        self._set_sample_text(True)

    def _new_sampler(self) -> bool:
        self._join(self.sample)
        self.sample = None
        p = self.preset
        try:
            if p.sampler["score"] == "true":
                score = TrueScore(self.density, p)
            else:
                score = learned_sampler_score(self.train.worker)
                if self.trainer.step_count == 0:
                    self.show_error(UNTRAINED_NOTE, error=False)
            sampler = Sampler(p, score, self.trainer.device)
        except SpecError as e:
            self.show_error(str(e))
            return False
        worker = SamplingWorker(sampler, steps_per_frame=self.speed.value(),
                                components=self.density.components())
        worker.ready.connect(self.on_sample_snapshot)
        worker.failed.connect(self.on_train_failed)
        worker.finished_sampling.connect(self.on_sampling_done)
        self.sample = ThreadHandle(worker)
        self.sample.start()
        return True

    def reset_sampling(self) -> None:
        self._join(self.sample)
        self.sample = None
        self._set_sample_text(False)
        view = self._particles_view()
        if view is not None:
            dim = self.preset.dim
            view.set_particles(np.zeros((0, dim), np.float32))
            view.set_status(self._sampler_summary())
            view.set_mode_weights(None, None, None)

    def _set_sample_text(self, running: bool) -> None:
        self.sample_button.setText("Pause sampling" if running else "Sample")
        self.sample_button.setIcon(self._icon("SP_MediaPause" if running else "SP_MediaSeekForward"))

    def _sampler_summary(self) -> str:
        s = self.preset.sampler
        return f"{sampler_label(s['kind'])}, {s['score']} score, ε = {s['step_size']:g}"

    def _speed_changed(self, v: int) -> None:
        if self.sample is not None:
            self.sample.worker.steps_per_frame = v

    @Slot()
    def on_sample_snapshot(self) -> None:
        if self.sample is None:
            return
        snap = self.sample.worker.take_snapshot()
        if snap is None:
            return
        x = snap["x"]
        view = self._particles_view()
        view.set_particles(x)
        status = f"{sampler_label(snap['kind'])}, step {snap['step']}/{snap['total']}"
        if snap["sigma"] is not None:
            status += f", σ = {snap['sigma']:.3g}"
        outside = outside_count(x, self.preset.density["bounds"])
        if outside:
            status += f"\n{outside:,} of {len(x):,} particles outside the box"
        view.set_status(status)
        comps = self.density.components()
        if comps is not None and snap["mode_weights"] is not None:
            labels = [self._mode_label(m) for m in comps[1]]
            view.set_mode_weights(snap["mode_weights"], [float(w) for w in comps[0]], labels)

    @staticmethod
    def _mode_label(mean) -> str:
        return "(" + ", ".join(f"{v:g}" for v in mean) + ")"

    @Slot()
    def on_sampling_done(self) -> None:
        self._set_sample_text(False)
        blowup = self.sample.worker.sampler.blowup_message() if self.sample is not None else None
        if blowup:   # the sampler stopped at the step where a particle stopped being finite
            self.show_error(blowup[0].upper() + blowup[1:] + ".")
            return
        self.statusBar().showMessage("Sampling finished.", 5000)

    # ================================================================ files
    def open_dialog(self) -> None:
        start = str(Path(self.preset_path).parent) if self.preset_path else ""
        path, _ = QFileDialog.getOpenFileName(self, "Open preset", start, "Presets (*.toml)")
        if path:
            self.load_path(path)

    def open_gallery(self) -> None:
        from .gallery import PresetGallery
        path = PresetGallery.choose(self, self.preset_path)
        if path:
            self.load_path(path)

    def open_export(self) -> None:
        from .export_dialog import open_export_dialog
        self.pause()
        self._export_dialog = open_export_dialog(self)

    def save(self) -> None:
        if self.preset_path and not self._is_shipped(self.preset_path):
            self.save_to(self.preset_path)
        else:
            self.save_as()

    @staticmethod
    def _is_shipped(path: str) -> bool:
        return Path(path).resolve().parent == (Path(__file__).parents[1] / "presets").resolve()

    def save_as(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self, "Save preset", "preset.toml", "Presets (*.toml)")
        if path:
            if not path.endswith(".toml"):
                path += ".toml"
            self.save_to(path)

    def save_to(self, path: str) -> bool:
        from ..core.run import portable_preset
        try:
            out = Path(path)
            portable_preset(self.preset, out.parent).save(out)
        except OSError as e:
            self.show_error(f"Could not save {path}: {e.strerror or e}")
            return False
        self.preset_path = path
        self._remember(path)
        self.statusBar().showMessage(f"Saved {path}", 5000)
        return True

    def _remember(self, path: str) -> None:
        """Last preset (reopened at start) and the recent-files list."""
        full = str(Path(path).resolve())
        self.settings.setValue("last_preset", full)
        recent = [r for r in (self.settings.value("recent") or []) if r != full]
        self.settings.setValue("recent", [full, *recent][:RECENT_MAX])

    def _fill_recent(self) -> None:
        self.recent_menu.clear()
        recent = self.settings.value("recent") or []
        if isinstance(recent, str):
            recent = [recent]
        for path in recent:
            a = self.recent_menu.addAction(path)
            a.triggered.connect(lambda _=False, p=path: self.load_path(p))
        if not recent:
            self.recent_menu.addAction("(none yet)").setEnabled(False)

    def dragEnterEvent(self, event) -> None:
        if any(u.toLocalFile().endswith(".toml") for u in event.mimeData().urls()):
            event.acceptProposedAction()

    def dropEvent(self, event) -> None:
        for u in event.mimeData().urls():
            if u.toLocalFile().endswith(".toml"):
                self.load_path(u.toLocalFile())
                event.acceptProposedAction()
                return

    # ================================================================ presenter mode
    def toggle_presenter(self) -> None:
        self.set_presenter(self.act_presenter.isChecked())

    def set_presenter(self, on: bool) -> None:
        """Controls hidden, large fonts, full screen: for the lecture hall."""
        if on == self.presenting:
            return
        self.presenting = on
        self.act_presenter.setChecked(on)
        self.left.setVisible(not on)
        self.menuBar().setVisible(not on)
        self.statusBar().setVisible(not on)
        self.toolbar.setVisible(not on)   # the keys still work: Space, Ctrl+L, Ctrl+1..3
        # the lecturer tells the lesson; its card folds to one line (a click opens it)
        if on:
            self._lesson_was_folded = self.lesson.folded
            self.lesson.set_folded(True)
        else:
            self.lesson.set_folded(getattr(self, "_lesson_was_folded", self.lesson.folded))
        self._apply_view_style()
        if on:
            self._was_maximized = self.isMaximized()
            self.showFullScreen()
        elif self._was_maximized:
            self.showMaximized()
        else:
            self.showNormal()

    def presenter_style(self):
        """Presenter fonts and lines in proportion to the screen: sized for 1080 lines, they
        filled a 720-line projector's views with legends and readouts."""
        screen = self.screen() or QGuiApplication.primaryScreen()
        h = screen.geometry().height() if screen is not None else 1080
        return PRESENTER.scaled(min(1.0, max(0.6, h / 1080)))

    def _apply_view_style(self) -> None:
        style = self.presenter_style() if self.presenting else SCREEN
        self.lesson.set_font_pt(style.font_pt)
        for v in (self.field_view, self.particles_view, self.curve_view, self.loss_view):
            if v is not None:
                v.apply_style(style)

    # ================================================================ messages & lifecycle
    def show_error(self, text: str, error: bool = True) -> None:
        self.last_error = text if error else self.last_error
        self.banner.show_message(text, error)
        self.statusBar().showMessage(text.split(". ")[0], 8000)

    def _join(self, handle: ThreadHandle | None) -> None:
        if handle is not None:
            handle.join()

    def _stop_threads(self) -> None:
        self._join(self.sample)
        self._join(self.train)
        self.sample = None
        self.train = None

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
        dialog = getattr(self, "_export_dialog", None)
        if dialog is not None:
            dialog.close()  # cancels and joins a running export
        self._stop_threads()
        self.trace.close()
        if self._training_process is not None:
            self._training_process.close()
            self._training_process = None
        self.settings.setValue("geometry", self.saveGeometry())
        self.settings.sync()
        super().closeEvent(event)
