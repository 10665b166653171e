"""Run folders and notebooks from the window: File > Open run folder, Save session as,
Export as notebook (docs/notebooks.md).

A run folder is what `score-explorer run` writes (core/run/folder.py reads and writes it),
so a session saved here opens with `explorer.api.open_run`, and a folder written by `run`
or by the API opens here trained: its curves drawn, its particles shown, ready to train
on or to sample. A bad folder or an unwritable path is one message in the banner and the
window keeps what it had.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication, QFileDialog

from ..core.errors import OutputError, SpecError
from ..core.training.history import LossHistory
from ..core.run.folder import open_folder, save_folder
from ..core.training.trainer import Trainer
from ..export.notebook import write_notebook


class RunFiles:
    def __init__(self, window):
        self.window = window

    # ------------------------------------------------------------ open
    def open_dialog(self) -> None:
        path = QFileDialog.getExistingDirectory(self.window, "Open run folder", "")
        if path:
            self.open(path)

    def open(self, folder) -> bool:
        """The run in `folder`, trained, in this window; False (shown in the banner, nothing
        changed) when it is not a run or its files do not fit together."""
        w = self.window
        with _busy():
            try:
                opened = open_folder(folder)
            except SpecError as e:
                w.show_error(f"Could not open the run. {e}")
                return False
            s = w.session
            s.replace(opened.preset, opened.trainer.density)
            s.resume(opened.trainer, history_of(opened.loss_steps, opened.loss_values),
                     opened.samples)
            w.preset_path = None   # Save asks for a name: the folder's preset goes with its weights
            w._apply_preset()
        t = opened.trainer
        rel = t.fisher[-1][2] if t.fisher else None
        w.statusBar().showMessage(
            f"Opened {folder}: {t.step_count} steps trained"
            + (f", relative Fisher divergence {rel:.4g}" if rel is not None else "")
            + (". Raise training steps to train on" if t.finished else ". Play trains on")
            + ", Sample draws a new cloud.", 10000)
        return True

    # ------------------------------------------------------------ save
    def save_dialog(self) -> None:
        w = self.window
        path = QFileDialog.getExistingDirectory(w, "Save session into a folder", "")
        if path:
            self.save(path)

    def save(self, folder) -> bool:
        """The session as a run folder (the files of `score-explorer run`); training pauses
        first, so the weights, the history and the metrics are of one moment."""
        w = self.window
        s = w.session
        if s.training is None or s.trainer is None:
            w.show_error("Nothing to save yet: the session has no model.")
            return False
        w.run_bar.pause()
        with _busy():
            trainer, steps, values = frozen_copy(s)
            particles = s.particles()
            try:
                metrics = save_folder(Path(folder), trainer, s.preset, steps, values, particles)
            except (SpecError, OutputError) as e:
                w.show_error(f"Could not save the session. {e}")
                return False
        rel = metrics.get("relative_fisher_divergence")
        w.statusBar().showMessage(
            f"Saved the session in {folder} ({trainer.step_count} steps"
            + (f", relative Fisher divergence {rel:.4g}" if rel is not None else "") + ")", 8000)
        return True

    # ------------------------------------------------------------ notebook
    def notebook_dialog(self) -> None:
        w = self.window
        path, _ = QFileDialog.getSaveFileName(w, "Export as notebook", "session.ipynb",
                                              "Jupyter notebooks (*.ipynb)")
        if path:
            if not path.endswith(".ipynb"):
                path += ".ipynb"
            self.export_notebook(path)

    def export_notebook(self, path) -> bool:
        """A notebook that reproduces the session: its preset, trained for the steps trained
        so far (the budget if none: the same seed gives the same weights), then sampled."""
        w = self.window
        s = w.session
        preset = s.preset.copy()
        done = s.trainer.step_count if s.trainer is not None else 0
        if done > 0:
            preset.training["steps"] = int(done)
        try:
            write_notebook(path, preset, origin="the window")
        except SpecError as e:
            w.show_error(f"Could not export the notebook. {e.message if e.key == 'notebook' else e}")
            return False
        w.statusBar().showMessage(f"Wrote {path}: {preset.training['steps']} training steps", 8000)
        return True


def history_of(steps: np.ndarray, values: np.ndarray) -> LossHistory:
    """A LossHistory that draws as the saved one: every step as it was, or the saved means
    of bins (a long window session) spread over the steps each covers."""
    h = LossHistory()
    if len(steps) == 0:
        return h
    counts = np.diff(np.concatenate([[0], np.asarray(steps, dtype=np.int64)]))
    h.extend(values if np.all(counts == 1) else np.repeat(values, counts))
    return h


def frozen_copy(session) -> tuple[Trainer, np.ndarray, np.ndarray]:
    """A trainer with the session's weights, step count and Fisher history as they are now
    (copied under the run's lock: the mirror changes when a snapshot arrives), and the loss
    history, so that saving takes its time without holding up training."""
    run, mirror = session.training, session.trainer
    with run.model_lock:
        state = {k: v.detach().clone() for k, v in mirror.model.state_dict().items()}
        steps, values = run.losses.arrays()
        fisher, count, seconds = list(mirror.fisher), mirror.step_count, mirror.train_seconds
    t = Trainer(session.preset.copy(), session.density, device=mirror.device)
    t.model.load_state_dict(state)
    t.step_count, t.fisher, t.train_seconds = count, fisher, seconds
    return t, steps.astype(np.int64), values


class _busy:
    def __enter__(self):
        QApplication.setOverrideCursor(Qt.WaitCursor)

    def __exit__(self, *exc):
        QApplication.restoreOverrideCursor()
        return False
