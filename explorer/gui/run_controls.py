"""The toolbar that drives a session: train (Play, Step, Reset, progress, speed) and sample
(Sample, Reset particles, steps per frame, trails).

The buttons call the session; what they show (Play or Pause, the step count, the speed)
follows what the session reports, so a budget reached or a failure in the training process
sets them right without the window's help.
"""

from __future__ import annotations

from PySide6.QtWidgets import QCheckBox, QLabel, QProgressBar, QPushButton, QSpinBox, QStyle, QToolBar

from ..core.session import Session


class RunControls(QToolBar):
    def __init__(self, session: Session, status):
        """`status(text, ms)` shows a short message (the window's status bar)."""
        super().__init__("Controls")
        self.session = session
        self._status = status
        self._last_rate: float | None = None      # steps/s of the last training run
        self.particle_view = lambda: None          # set by the window: where trails are drawn
        self.play_action = None                    # set by the window: its Play/Pause action
        self.setObjectName("controls")
        self.setMovable(False)
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
        # one width whatever it says ("idle", "was 121 steps/s"): the toolbar does not shift
        self.rate_label.setFixedWidth(self.rate_label.fontMetrics().horizontalAdvance("was 00000 steps/s") + 8)
        for w in (self.play_button, self.step_button, self.step_count, reset, self.progress,
                  self.rate_label):
            self.addWidget(w)
        self.addSeparator()
        self.sample_button = QPushButton("Sample")
        self.sample_button.setToolTip("Animate the sampler's particle cloud")
        self.sample_button.clicked.connect(self.toggle_sampling)
        self.sample_reset = QPushButton("Reset particles")
        self.sample_reset.clicked.connect(session.reset_sampling)
        self.speed = QSpinBox()
        self.speed.setRange(1, 200)
        self.speed.setValue(5)
        self.speed.setPrefix("× ")
        self.speed.setToolTip("Sampler steps per animation frame")
        self.speed.valueChanged.connect(session.set_sampling_speed)
        self.trails = QCheckBox("Trails")
        self.trails.toggled.connect(self.set_trails)
        for w in (self.sample_button, self.sample_reset, self.speed, self.trails):
            self.addWidget(w)

    # ================================================================ training
    def toggle_play(self) -> None:
        if self.session.playing:
            self.pause()
        else:
            self.play()

    def play(self) -> None:
        if not self.session.play():
            self._status("The step budget is reached: raise training.steps or Reset.", 5000)
            return
        self.set_playing(True)

    def pause(self) -> None:
        self.session.pause()
        self.set_playing(False)

    def step_training(self) -> None:
        self.set_playing(False)
        self.session.step(self.step_count.value())

    def reset_training(self) -> None:
        self.pause()
        self.session.restart_training()

    def _icon(self, name: str):
        return self.style().standardIcon(getattr(QStyle.StandardPixmap, name))

    def set_playing(self, playing: bool) -> None:
        self.play_button.setText("Pause" if playing else "Play")
        self.play_button.setIcon(self._icon("SP_MediaPause" if playing else "SP_MediaPlay"))
        if self.play_action is not None:
            self.play_action.setText("Pause" if playing else "Play")

    def on_training_started(self) -> None:
        """A new training run: its step count and budget; Play or Pause as it goes on."""
        t = self.session.trainer
        if t.step_count == 0:   # a new run: the last run's speed is not this one's
            self._last_rate = None
            self.rate_label.setText("idle")
        self.progress.setMaximum(max(t.budget, 1))
        self.progress.setValue(t.step_count)
        self.set_playing(self.session.playing)

    def show_progress(self, snap: dict) -> None:
        self.progress.setMaximum(max(snap["budget"], 1))
        self.progress.setValue(snap["step"])
        self.show_rate(snap["steps_per_s"])

    def show_rate(self, rate: float | None) -> None:
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

    # ================================================================ sampling
    def toggle_sampling(self) -> None:
        if self.session.sampling_playing:
            self.session.pause_sampling()
            self.set_sampling(False)
        else:
            self.start_sampling()

    def start_sampling(self, until: int | None = None) -> bool:
        """Sample (on from the cloud there is, if not done); `until`: pause at that step."""
        if self.session.start_sampling(self.speed.value(), until):
            self.set_sampling(True)
            return True
        return False

    def set_sampling(self, running: bool) -> None:
        self.sample_button.setText("Pause sampling" if running else "Sample")
        self.sample_button.setIcon(self._icon("SP_MediaPause" if running else "SP_MediaSeekForward"))

    def set_trails(self, on: bool) -> None:
        view = self.particle_view()
        self.trails.setEnabled(view is not None and hasattr(view, "set_trails"))
        if view is not None and hasattr(view, "set_trails"):
            view.set_trails(on)
