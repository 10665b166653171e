"""The window's Export dialog: what (animation, still, data), format, size, file; then a
progress dialog with Cancel while a worker thread does the work.

The worker thread replays the sampler (or retrains from the seed) and encodes; every
frame is drawn in the GUI thread (export_runner.GuiCaller), because widgets may only be touched there.
Cancel, closing the dialog or closing the window sets a `threading.Event`; the worker
stops at the next frame, the temporary file is deleted, and the thread is joined. Errors
reach the user as a message box, never as a traceback.

Use from the window:

    from explorer.gui.export_dialog import ExportDialog, open_export_dialog
    open_export_dialog(main_window)          # reads preset, trainer, views, particles
    # or explicitly:
    ExportDialog(parent, preset=..., density=..., trainer=..., particles=x,
                 views={"Field": field_view, "Particles": particles_view, "Loss": loss_view}).exec()
"""

from __future__ import annotations

import copy
from pathlib import Path

import numpy as np
from PySide6.QtCore import Slot
from PySide6.QtWidgets import (QCheckBox, QComboBox, QDialog, QDialogButtonBox, QFileDialog, QFormLayout,
                               QHBoxLayout, QLabel, QLineEdit, QMessageBox, QPushButton, QVBoxLayout)

from ..core.errors import SpecError
from .settings import app_settings
from ..export import SIZES, check_writable
from ..export.encode import even_size
from .export_runner import ExportRunner

WHAT_ITEMS = [
    ("particles", "Particle animation"),
    ("training", "Training animation (field and loss)"),
    ("still", "Still of a view"),
    ("data", "Data"),
]
FORMATS = {
    "particles": [(".mp4", "MP4 video (H.264, 30 fps)"), (".gif", "GIF (14 fps)")],
    "training": [(".mp4", "MP4 video (H.264, 30 fps)"), (".gif", "GIF (14 fps)")],
    "still": [(".png", "PNG image"), (".svg", "SVG drawing")],
    "data": [(".npy", "Samples (.npy)"), (".csv", "Samples (.csv)"), (".npz", "Fields (.npz)"),
             (".csv#loss", "Loss curve (.csv)")],
}
SIZE_ITEMS = [("window", "Window size"), ("720", "Slide 1280 × 720"), ("1080", "Slide 1920 × 1080")]


# ===================================================================== jobs

def _model_copy(trainer):
    if trainer is None:
        return None
    model = copy.deepcopy(trainer.model)
    model.eval()
    return model


class ExportJobs:
    """What each export needs, captured from the window when the dialog opens."""

    def __init__(self, preset, density=None, trainer=None, particles=None, model=None,
                 losses: tuple[np.ndarray, np.ndarray] | None = None):
        self.preset = preset.copy()
        self.density = density if density is not None else preset.build_density()
        self.trainer = trainer
        self.model = model if model is not None else _model_copy(trainer)
        self.particles = None if particles is None else np.array(particles, dtype=np.float32)
        self.device = "cpu"
        if self.model is not None:
            self.model = self.model.to("cpu")
        if losses is None:  # a trainer that kept every step's loss (the window passes its history)
            losses = np.asarray(list(trainer.losses) if trainer else [], dtype=np.float64)
            losses = (np.arange(1, len(losses) + 1, dtype=np.float64), losses)
        self.loss_steps, self.losses = losses
        self.fisher_rel = list(trainer.fisher) if trainer else []
        self.step_count = trainer.step_count if trainer else 0

    # --- scores ---------------------------------------------------------------------------
    def learned(self):
        from ..core.scores import LearnedScore
        return None if self.model is None else LearnedScore(self.model, self.preset)

    def true(self):
        from ..core.scores import TrueScore
        return TrueScore(self.density, self.preset)

    def sampler_score(self):
        if self.preset.sampler["score"] == "true":
            return self.true()
        if self.model is None:
            raise SpecError("sampler.score", "there is no trained model yet: train first, or "
                                             "set the sampler to the true score")
        return self.learned()

    # --- state snapshots ------------------------------------------------------------------
    def fisher_abs(self) -> list[tuple[int, float]]:
        """(step, F) pairs: the trainer records (step, F, relative F)."""
        return [(int(st), float(f)) for st, f, _ in self.fisher_rel]

    def field_state(self) -> dict:
        from ..export.frames import _eval_field, field_grid
        pts, _ = field_grid(self.preset)
        true = _eval_field(self.true().field, pts, "cpu")
        learned = (_eval_field(self.learned().field, pts, "cpu") if self.model is not None
                   else np.full_like(true, np.nan))
        fis = self.fisher_abs()
        obj = self.preset.objective["kind"]
        # C where the loss + C estimates F (ISM, SSM, SSM-VR), from the objective itself
        import torch
        from ..core.objectives import build_objective
        x = torch.as_tensor(_eval_samples(self.density, self.preset))
        ism_c = build_objective(self.preset, self.density).ism_constant(self.density, x)
        return {"step": self.step_count, "budget": int(self.preset.training["steps"]),
                "learned": learned, "true": true, "loss": self.losses,
                "loss_steps": self.loss_steps,
                "fisher_steps": np.asarray([a for a, _ in fis], np.float64),
                "fisher": np.asarray([b for _, b in fis], np.float64),
                "ism_constant": ism_c, "objective": obj}

    def particle_state(self) -> dict:
        from ..core.session.captions import mode_readout
        if self.particles is None or len(self.particles) == 0:
            raise SpecError("particles", "there are no particles yet: press Sample first")
        return {"x": self.particles, "status": f"{len(self.particles):,} particles",
                "modes": mode_readout(self.particles, self.density)}

    # --- the jobs (run in the worker thread) ----------------------------------------------
    def animation(self, what: str, path: Path, size, style, title: str | None = None):
        from ..export.frames import particle_animation, training_animation

        def job(progress, cancel, render_call):
            if what == "training":
                return training_animation(path, self.preset, self.density, style, size,
                                          device="cpu", cancel=cancel, progress=progress,
                                          render_call=render_call, title=title)
            return particle_animation(path, self.preset, self.sampler_score(), "cpu",
                                      self.density, style, size, cancel, progress, render_call,
                                      learned=self.learned(), title=title)
        return job

    def still(self, view_key: str, path: Path, size, style, live_widget=None,
              title: str | None = None):
        from ..export import stills
        from ..export.frames import ParticleScene, TrainingScene

        def job(progress, cancel, render_call):
            if live_widget is not None:  # window size: the view exactly as it is on screen
                return render_call(stills.save_widget, live_widget, path, None, cancel)
            if view_key == "particles":
                snap = self.particle_state()
                make = lambda: ParticleScene(self.preset, self.density, size, style,  # noqa: E731
                                             self.learned(), "cpu", title)
            else:
                snap = self.field_state()
                make = lambda: TrainingScene(self.preset, self.density, size, style,  # noqa: E731
                                             show=view_key, title=title)
            return stills.render_still(path, make, snap, cancel=cancel, render_call=render_call)
        return job

    def data(self, kind: str, path: Path):
        from ..export import stills

        def job(progress, cancel, render_call):
            if kind in (".npy", ".csv"):
                return stills.save_samples(path, self.particle_state()["x"], cancel)
            if kind == ".csv#loss":
                fis = self.fisher_abs()
                return stills.save_loss(path, self.losses, [a for a, _ in fis],
                                        [b for _, b in fis], cancel, steps=self.loss_steps)
            st = self.field_state()
            from ..export.frames import field_grid
            pts, _ = field_grid(self.preset)
            return stills.save_npz(path, cancel, points=pts, learned=st["learned"],
                                   true=st["true"], samples=self.particles)
        return job


def _eval_samples(density, preset, n: int = 10_000) -> np.ndarray:
    import torch
    g = torch.Generator().manual_seed(int(preset.training["seed"]) + 1)
    return density.sample(n, g).detach().cpu().numpy().astype(np.float32)


# ===================================================================== the dialog

class ExportDialog(QDialog):
    """Choose what to export, its format, size and file; run it with progress and Cancel."""

    VIEW_NAMES = {"particles": "Particles", "field": "Field (learned vs true)",
                  "error": "Field error map", "loss": "Loss curves",
                  "training": "Field and loss"}

    def __init__(self, parent=None, *, preset, density=None, trainer=None, particles=None,
                 views: dict | None = None, model=None, directory: str | None = None,
                 losses: tuple[np.ndarray, np.ndarray] | None = None):
        super().__init__(parent)
        self.setWindowTitle("Export")
        self.jobs = ExportJobs(preset, density, trainer, particles, model, losses)
        self.views = {k.lower(): v for k, v in (views or {}).items() if v is not None}
        self.runner: ExportRunner | None = None
        self.last_outcome: tuple[str, str] | None = None
        self.directory = directory or str(app_settings().value("export_dir", str(Path.home())))

        self.what = QComboBox()
        for key, text in WHAT_ITEMS:
            self.what.addItem(text, key)
        self.view = QComboBox()
        for key, text in self.VIEW_NAMES.items():
            self.view.addItem(text, key)
        self.format = QComboBox()
        self.size = QComboBox()
        for key, text in SIZE_ITEMS:
            self.size.addItem(text, key)
        self.size.setCurrentIndex(1)
        self.file = QLineEdit()
        browse = QPushButton("Browse…")
        browse.clicked.connect(self.browse)
        row = QHBoxLayout()
        row.addWidget(self.file, 1)
        row.addWidget(browse)
        self.note = QLabel()
        self.note.setWordWrap(True)

        form = QFormLayout()
        form.addRow("Export", self.what)
        form.addRow("View", self.view)
        form.addRow("Format", self.format)
        form.addRow("Size", self.size)
        form.addRow("File", row)
        self.title = QCheckBox("The preset's name above every frame (a slide's heading)")
        self.title.setChecked(bool(app_settings().value("export/title", False) in (True, "true")))
        form.addRow("Title", self.title)
        buttons = QDialogButtonBox(QDialogButtonBox.Cancel)
        self.export_button = buttons.addButton("Export", QDialogButtonBox.AcceptRole)
        buttons.accepted.connect(self.start_export)
        buttons.rejected.connect(self.reject)
        lay = QVBoxLayout(self)
        lay.addLayout(form)
        lay.addWidget(self.note)
        lay.addWidget(buttons)

        self.what.currentIndexChanged.connect(self._what_changed)
        self.format.currentIndexChanged.connect(self._format_changed)
        self.view.currentIndexChanged.connect(self._update_note)
        self.size.currentIndexChanged.connect(self._update_note)
        self._what_changed()
        self.resize(520, self.sizeHint().height())

    # --- choices ----------------------------------------------------------------------------
    def _what_changed(self) -> None:
        what = self.what.currentData()
        self.format.blockSignals(True)
        self.format.clear()
        for key, text in FORMATS[what]:
            self.format.addItem(text, key)
        self.format.blockSignals(False)
        self.view.setEnabled(what == "still")
        self.size.setEnabled(what != "data")
        self.title.setEnabled(what != "data")
        self._format_changed()

    def _format_changed(self) -> None:
        ext = self._ext()
        stem = {"particles": "particles", "training": "training", "still": "view",
                "data": {".npy": "samples", ".csv": "samples", ".npz": "field"}.get(
                    self.format.currentData(), "loss")}[self.what.currentData()]
        current = self.file.text().strip()
        folder = Path(current).parent if current else Path(self.directory)
        self.file.setText(str(folder / f"{stem}{ext}"))
        self._update_note()

    def _ext(self) -> str:
        return (self.format.currentData() or ".png").split("#")[0]

    def _update_note(self) -> None:
        what = self.what.currentData()
        notes = {
            "particles": "The sampler is replayed from its seed with the current model and drawn "
                         "every few steps: the same run gives the same file.",
            "training": "Training is replayed from the preset's seed in the background; the "
                        "window's own training is not touched.",
            "still": "Window size saves the view as it is on screen; slide sizes redraw it "
                     "with thicker lines and larger fonts.",
            "data": "Samples are the particles now on screen; fields are on the preset's grid.",
        }
        self.note.setText(notes[what])

    def chosen_size(self) -> tuple[tuple[int, int], str]:
        key = self.size.currentData()
        if key in SIZES:
            return SIZES[key], ("slide_1080" if key == "1080" else "slide_720")
        w = self.views.get("particles") or self.views.get("field") or self.views.get("loss")
        if w is not None and w.width() > 100:
            return (w.width(), w.height()), "screen"
        return SIZES["screen"], "screen"

    def browse(self) -> None:
        ext = self._ext()
        path, _ = QFileDialog.getSaveFileName(self, "Export to", self.file.text(),
                                              f"{ext[1:].upper()} (*{ext})")
        if path:
            if not path.lower().endswith(ext):
                path += ext
            self.file.setText(path)

    # --- running ----------------------------------------------------------------------------
    def build_job(self):
        """(job, label) for the current choices; raises SpecError for a bad file."""
        from ..views import style as S
        what = self.what.currentData()
        ext = self._ext()
        text = self.file.text().strip()
        if not text:
            raise SpecError("file", "choose a file to export to")
        path = Path(text).expanduser()
        if path.suffix.lower() != ext:
            path = path.with_name(path.name + ext)
            self.file.setText(str(path))
        check_writable(path, "file")
        size, style_name = self.chosen_size()
        if ext == ".mp4":
            size = even_size(*size)
        style = {"screen": S.SCREEN, "slide_720": S.SLIDE_720, "slide_1080": S.SLIDE_1080}[style_name]
        title = self.jobs.preset.name if self.title.isChecked() else None
        app_settings().setValue("export/title", self.title.isChecked())
        if what in ("particles", "training"):
            return self.jobs.animation(what, path, size, style, title), f"Rendering {path.name}…"
        if what == "still":
            key = self.view.currentData()
            live = None
            if self.size.currentData() == "window":
                live = self.views.get("curve" if key == "particles" and "curve" in self.views
                                      else key)
                if live is None and key in ("error", "training"):
                    live = self.views.get("field")
            return self.jobs.still(key, path, size, style, live, title), f"Saving {path.name}…"
        return self.jobs.data(self.format.currentData(), path), f"Saving {path.name}…"

    def start_export(self) -> None:
        if self.runner is not None:
            return
        try:
            job, label = self.build_job()
        except SpecError as e:
            QMessageBox.warning(self, "Cannot export", e.message if e.key == "file" else str(e))
            return
        app_settings().setValue("export_dir", str(Path(self.file.text()).parent))
        self.export_button.setEnabled(False)
        self.runner = ExportRunner(self, job, label)
        self.runner.done.connect(self._done)
        self.runner.start()

    @Slot(str, str)
    def _done(self, outcome: str, text: str) -> None:
        self.last_outcome = (outcome, text)
        self.runner = None   # dropped here, in the GUI thread; its thread is already joined
        self.export_button.setEnabled(True)
        if outcome == "ok":
            parent = self.parent()
            bar = getattr(parent, "statusBar", None)
            if callable(bar):
                bar().showMessage(f"Exported {text}", 8000)
            self.accept()
        elif outcome == "failed":
            QMessageBox.warning(self, "Export failed", f"The export failed and nothing was "
                                                       f"written.\n\n{text}")

    def reject(self) -> None:
        """Close: cancel a running export and join its thread first."""
        self.stop_export()
        super().reject()

    def closeEvent(self, event) -> None:
        self.stop_export()
        super().closeEvent(event)

    def stop_export(self) -> None:
        """Cancel a running export and join its thread (nothing is left on disk)."""
        runner = self.runner
        if runner is None:
            return
        self.runner = None
        try:
            runner.done.disconnect(self._done)
        except (RuntimeError, TypeError):
            pass
        runner.join()
        runner.progress.hide()
        self.last_outcome = ("cancelled", "")
        self.export_button.setEnabled(True)


def open_export_dialog(window) -> ExportDialog:
    """Open the dialog for a MainWindow, reading what it has (missing parts are just absent)."""
    session = window.session
    particles = session.particles()
    views = {"field": getattr(window, "field_view", None),
             "particles": getattr(window, "particles_view", None),
             "curve": getattr(window, "curve_view", None),
             "loss": getattr(window, "loss_view", None)}
    if views["particles"] is None:
        views["particles"] = views["curve"]
    # the training run copies the weights under its lock: its thread may be writing them
    model = session.model_copy()
    losses = session.loss_arrays() if session.training is not None else None
    dlg = ExportDialog(window, preset=session.preset, density=session.density,
                       trainer=session.trainer, particles=particles, views=views,
                       model=model, losses=losses)
    dlg.show()
    return dlg
