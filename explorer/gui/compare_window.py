"""Compare mode: variants of the current preset training side by side, in a window of their own.

The state is a `CompareLab` (core/compare/lab.py); this window shows it: a table of the
variants (name editable in place, overrides, seeds, steps, speed, final relative Fisher
divergence and loss as mean +- sd over seeds, sampled mode weights), the Fisher divergence
and loss curves of every variant overlaid with a band over seeds (beside the loss, a tab draws
sampled quality against score evaluations, views/quality_nfe.py), and a small-multiples grid
of each variant's error map on one colour scale. The lab's news arrives from its runs'
threads; the window marks itself stale and redraws one part (table, curves, grid) every
150 ms at most, so sixteen runs training at once cannot flood the event loop.
"""

from __future__ import annotations

from PySide6.QtCore import QObject, Qt, QTimer, Signal
from PySide6.QtGui import QAction, QBrush, QColor, QGuiApplication, QKeySequence
from PySide6.QtWidgets import (QComboBox, QDialog, QDialogButtonBox, QDoubleSpinBox, QFormLayout,
                               QHeaderView, QLabel, QLineEdit, QMainWindow, QSpinBox, QSplitter,
                               QTableWidget, QTableWidgetItem, QTabWidget)

from ..core.compare.lab import MAX_SEEDS, CompareLab, LabVariant
from ..core.compare.plan import format_value
from ..core.errors import SpecError
from ..core.presets.preset import Preset
from ..views.compare_views import (LOSS_SCALES, Curve, CurvesView, FieldGrid, rescaled_loss, variant_colour)
from ..views.quality_nfe import QualityNfeView
from .banner import Banner

REDRAW_MS = 150     # one part of the window redrawn per tick (table, curves, grid)
PARTS = ("table", "curves", "grid", "quality")
CLASSIC_OBJECTIVES = ("esm", "ism", "ssm_vr", "dsm")
COLUMNS = ("Variant", "Seeds", "Steps", "Steps/s", "Rel. Fisher", "Final loss", "SW₂ (exact)",
           "Weights")


class _LabBridge(QObject):
    """The lab's signals (emitted in run threads) as Qt signals, queued to the GUI thread."""
    news = Signal()
    failed = Signal(str)

    def __init__(self, lab: CompareLab, parent: QObject):
        super().__init__(parent)
        self.lab = lab
        self._news = lambda: self.news.emit()
        self._failed = lambda text: self.failed.emit(text)
        for signal in (lab.trained, lab.sampled, lab.changed):
            signal.connect(self._news)
        lab.failed.connect(self._failed)

    def detach(self) -> None:
        for signal in (self.lab.trained, self.lab.sampled, self.lab.changed):
            signal.disconnect(self._news)
        self.lab.failed.disconnect(self._failed)


def _mean_sd(pair, fmt: str) -> str:
    if pair is None:
        return "–"
    mean, sd = pair
    return format(mean, fmt) + ("" if sd is None else f" ± {format(sd, fmt)}")


class VariantDialog(QDialog):
    """Overrides of the base preset (as `compare --vary` takes them), seeds and a name."""

    def __init__(self, parent, lab: CompareLab):
        super().__init__(parent)
        self.lab = lab
        self.variant: LabVariant | None = None
        self.setWindowTitle("Add a variant")
        form = QFormLayout(self)
        self.overrides = QLineEdit()
        self.overrides.setPlaceholderText("objective.kind=ism, training.lr=0.003")
        self.overrides.setMinimumWidth(420)
        self.seeds = QSpinBox()
        self.seeds.setRange(1, MAX_SEEDS)
        self.seeds.setToolTip("Runs with seeds 0..k-1 added to the preset's seed: the table and "
                              "curves show mean ± sd over them")
        self.name = QLineEdit()
        self.name.setPlaceholderText("(from the overrides)")
        hint = QLabel("Dotted keys of the model, objective, training or sampler sections, "
                      "values as in a preset file (a bare word is text). Nothing: the preset "
                      "itself. See docs/presets.md for every key.")
        hint.setWordWrap(True)
        self.error = QLabel()
        self.error.setWordWrap(True)
        self.error.setStyleSheet("color: #ff8c69;")
        form.addRow("Overrides", self.overrides)
        form.addRow("Seeds", self.seeds)
        form.addRow("Name", self.name)
        form.addRow(hint)
        form.addRow(self.error)
        buttons = QDialogButtonBox(QDialogButtonBox.Ok | QDialogButtonBox.Cancel)
        buttons.accepted.connect(self._add)
        buttons.rejected.connect(self.reject)
        form.addRow(buttons)

    def _add(self) -> None:
        try:
            self.variant = self.lab.add(self.overrides.text(), self.seeds.value(),
                                        self.name.text() or None)
        except SpecError as e:   # named, shown, and the dialog stays with what was typed
            self.error.setText(str(e))
            return
        self.accept()


class CompareWindow(QMainWindow):
    def __init__(self, preset: Preset, density=None, parent=None):
        super().__init__(parent)
        self.setAttribute(Qt.WA_DeleteOnClose, False)
        self.lab = CompareLab(preset, density)
        self.setWindowTitle(f"Score Explorer — compare: {preset.name}")
        self._stale = set(PARTS)
        self._turn = 0
        self._filling = False
        self._build()
        self.bridge = _LabBridge(self.lab, self)
        self.bridge.news.connect(self._mark_stale)
        self.bridge.failed.connect(lambda text: self.banner.show_message(text))
        self.timer = QTimer(self)
        self.timer.timeout.connect(self._redraw_if_stale)
        self.timer.start(REDRAW_MS)
        self.grid_view.set_bounds(preset.density["bounds"])
        self._fit_screen(1500, 900)

    def _fit_screen(self, w: int, h: int) -> None:
        """1500x900, or the screen's free area where that is smaller (a 720p projector):
        a fixed size put the plots off screen."""
        screen = self.screen() or QGuiApplication.primaryScreen()
        if screen is not None:
            avail = screen.availableGeometry()
            w, h = min(w, avail.width()), min(h, avail.height())
            self.move(avail.topLeft())
        self.resize(w, h)

    # ================================================================ layout
    def _build(self) -> None:
        tb = self.addToolBar("Compare")
        tb.setMovable(False)

        def act(text, slot, tip, shortcut=None):
            a = QAction(text, self)
            a.setToolTip(tip)
            if shortcut:
                a.setShortcut(QKeySequence(shortcut))
            a.triggered.connect(slot)
            tb.addAction(a)
            return a

        act("Add variant…", self.add_variant, "A set of overrides of the preset, with k seeds",
            "Ctrl+N")
        act("Add ESM, ISM, SSM-VR, DSM", self.add_classic_objectives,
            "The four classic objectives, 3 seeds each")
        act("Remove", self.remove_selected, "Remove the selected variant", "Delete")
        self.act_pause_variant = act("Pause variant", self.toggle_selected,
                                     "Pause or resume the selected variant; the others go on")
        tb.addSeparator()
        self.act_play = act("Train all", self.toggle_play, "Train every variant (Space)", "Space")
        act("Reset", self.reset, "Fresh weights for every variant, from their seeds", "Ctrl+R")
        tb.addSeparator()
        self.budget = QComboBox()
        self.budget.addItem("Equal steps", "steps")
        self.budget.addItem("Equal time (s)", "seconds")
        self.budget.setToolTip("Every run trains the same number of steps, or for the same "
                               "seconds of training (the x axis follows)")
        self.budget_value = QDoubleSpinBox()
        self.budget_value.setDecimals(0)
        self.budget_value.setRange(1, 10_000_000)
        self.budget_value.setValue(self.lab.steps)
        self.budget.currentIndexChanged.connect(self._budget_mode_changed)
        self.budget_value.editingFinished.connect(self._budget_changed)
        tb.addWidget(self.budget)
        tb.addWidget(self.budget_value)
        tb.addSeparator()
        self.loss_scale = QComboBox()
        for key, text in LOSS_SCALES.items():
            self.loss_scale.addItem(text, key)
        self.loss_scale.setToolTip("How the losses are drawn: each minus its final value (every "
                                   "variant ends at 0; ESM and ISM, which differ by a constant, "
                                   "meet), on a log axis or a linear one, or as they are")
        self.loss_scale.currentIndexChanged.connect(self._set_loss_scale)
        tb.addWidget(self.loss_scale)
        tb.addSeparator()
        act("Sample all", self.sample_all, "Every variant samples with its own learned score",
            "Ctrl+L")
        tb.addSeparator()
        self.act_tradeoff = act("σ trade-off…", self.open_tradeoff,
                                "DSM's bias and variance against σ on this density, with the DSM "
                                "variants' relative Fisher divergence as points", "Ctrl+T")

        self.banner = Banner()
        self.table = QTableWidget(0, len(COLUMNS))
        self.table.setHorizontalHeaderLabels(COLUMNS)
        self.table.verticalHeader().setVisible(False)
        self.table.setSelectionBehavior(QTableWidget.SelectRows)
        self.table.setSelectionMode(QTableWidget.SingleSelection)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeToContents)
        header.setStretchLastSection(True)
        self.table.itemChanged.connect(self._renamed)
        self.table.itemSelectionChanged.connect(self._selection_changed)

        # the relative F, the table's figure: F / (1/2 E_p|grad log p|^2)
        self.fisher_view = CurvesView("Relative Fisher divergence", "training step",
                                      "relative F (log)", log_y=True,
                                      note="geometric mean, band ± 1 sd over seeds")
        self.loss_view = CurvesView("Training loss", "training step", "loss",
                                    note="mean, band ± 1 sd over seeds")
        self.grid_view = FieldGrid()
        self._set_loss_scale()

        # curves on the left, one above the other; the error maps and the table on the
        # right: at 1280x720 every plot keeps at least 300x150 px (docs/window.md)
        left = QSplitter(Qt.Vertical)
        left.addWidget(self.fisher_view)
        # the loss and, in a second tab, sample quality against score evaluations (NFE)
        self.quality_view = QualityNfeView()
        self.bottom_tabs = QTabWidget()
        self.bottom_tabs.addTab(self.loss_view, "Loss")
        self.bottom_tabs.addTab(self.quality_view, "Quality vs NFE")
        left.addWidget(self.bottom_tabs)
        left.setSizes([350, 320])   # the Fisher plot's legend has the ISM's extra row
        for view in (self.fisher_view, self.loss_view):   # titles and legends stay whole
            view.setMinimumWidth(380)
        right = QSplitter(Qt.Vertical)
        right.addWidget(self.grid_view)
        right.addWidget(self.banner)
        right.addWidget(self.table)
        right.setSizes([475, 0, 195])
        split = QSplitter(Qt.Horizontal)
        split.addWidget(left)
        split.addWidget(right)
        split.setSizes([470, 810])
        self.setCentralWidget(split)
        self.statusBar().showMessage("Add variants, then Train all (Space)")

    # ================================================================ commands
    def add_variant(self) -> LabVariant | None:
        dialog = VariantDialog(self, self.lab)
        dialog.exec()
        return dialog.variant

    def add_classic_objectives(self) -> None:
        for kind in CLASSIC_OBJECTIVES:
            try:
                self.lab.add({"objective.kind": kind}, seeds=3)
            except SpecError as e:
                self.banner.show_message(str(e))
                return

    def selected(self) -> LabVariant | None:
        rows = {i.row() for i in self.table.selectedIndexes()}
        if len(rows) != 1:
            return None
        row = rows.pop()
        return self.lab.variants[row] if row < len(self.lab.variants) else None

    def remove_selected(self) -> None:
        v = self.selected()
        if v is not None:
            self.lab.remove(v)

    def toggle_selected(self) -> None:
        v = self.selected()
        if v is not None:
            self.lab.set_paused(v, not v.paused)

    def toggle_play(self) -> None:
        if self.lab.playing:
            self.lab.pause()
        else:
            self.lab.play()
        self.act_play.setText("Pause all" if self.lab.playing else "Train all")

    def reset(self) -> None:
        self.lab.reset()
        self.act_play.setText("Train all")

    def sample_all(self) -> None:
        if not self.lab.variants:
            return
        self.lab.sample()
        self.statusBar().showMessage("Sampling every variant with its own learned score…", 5000)

    def open_tradeoff(self):
        """The σ trade-off dialog for the base preset, the DSM variants as its points."""
        from .tradeoff_dialog import open_tradeoff
        return open_tradeoff(self, self.lab.base, self.lab.density, self.tradeoff_points)

    def tradeoff_points(self) -> list[tuple]:
        """(name, colour, sigma, final relative Fisher divergence) of every DSM variant."""
        out = []
        for v, row in zip(list(self.lab.variants), self.lab.rows()):
            objective = v.sessions[0].preset.objective
            trained = row["steps"] is not None and row["steps"][0] > 0   # not step 0's value
            if objective["kind"] == "dsm" and trained and row["relative_fisher"] is not None:
                out.append((v.name, variant_colour(v.colour), float(objective["sigma"]),
                            row["relative_fisher"][0]))
        return out

    def _budget_mode_changed(self) -> None:
        mode = self.budget.currentData()
        self.budget_value.blockSignals(True)
        self.budget_value.setValue(self.lab.steps if mode == "steps" else self.lab.seconds)
        self.budget_value.blockSignals(False)
        self._budget_changed()

    def _budget_changed(self) -> None:
        mode = self.budget.currentData()
        self.lab.set_budget(mode, self.budget_value.value())
        x = "training step" if mode == "steps" else "training time (s)"
        self.fisher_view.set_x_label(x)
        self.loss_view.set_x_label(x)

    def _set_loss_scale(self, *_) -> None:
        scale = self.loss_scale.currentData() if hasattr(self, "loss_scale") else "shift_log"
        shifted = scale != "raw"
        self.loss_view.set_title("Loss − final value" if shifted else "Training loss",
                                 "mean over seeds, minus its own last value"
                                 if shifted else "mean, band ± 1 sd over seeds")
        self.loss_view.set_log_y(scale == "shift_log",
                                 "loss − final (log)" if scale == "shift_log" else
                                 "loss − final" if shifted else "loss")
        self._stale.add("curves")

    def _selection_changed(self) -> None:
        v = self.selected()
        self.act_pause_variant.setText("Resume variant" if v is not None and v.paused
                                       else "Pause variant")

    def _renamed(self, item: QTableWidgetItem) -> None:
        if self._filling or item.column() != 0 or item.row() >= len(self.lab.variants):
            return
        v = self.lab.variants[item.row()]
        try:
            self.lab.rename(v, item.text())
        except SpecError as e:
            self.banner.show_message(str(e))
            self._stale.add("table")

    # ================================================================ drawing
    def _mark_stale(self) -> None:
        self._stale = set(PARTS)

    def _redraw_if_stale(self) -> None:
        """One stale part per tick: a whole redraw with its repaint took 50-130 ms on two
        busy cores, long enough to stall the event loop; a part takes a fraction of it."""
        for k in range(len(PARTS)):   # in turn, so that steady news starves no part
            part = PARTS[(self._turn + k) % len(PARTS)]
            if part in self._stale:
                self._stale.discard(part)
                self._turn = (PARTS.index(part) + 1) % len(PARTS)
                getattr(self, f"_draw_{part}")()
                return

    def redraw(self) -> None:
        """Every part now (tests, screenshots)."""
        self._stale = set()
        for part in PARTS:
            getattr(self, f"_draw_{part}")()

    def _draw_table(self) -> None:
        lab = self.lab
        self._fill_table(lab.rows(), list(lab.variants))
        playing = any(s.playing for v in lab.variants for s in v.sessions)
        if lab.playing and not playing and lab.finished:
            lab.playing = False
            self.act_play.setText("Train all")
            self.statusBar().showMessage("Every variant has spent its budget. Sample all (Ctrl+L) "
                                         "to compare their samplers.", 10000)

    def _draw_curves(self) -> None:
        lab = self.lab
        scale = self.loss_scale.currentData()
        fisher, losses = [], []
        for v in list(lab.variants):
            colour = variant_colour(v.colour)
            x, c, lo, hi = lab.curve(v, "relative_fisher")
            fisher.append(Curve(v.name, colour, x, c, lo, hi))
            x, c, lo, hi = lab.curve(v, "loss")
            losses.append(rescaled_loss(Curve(v.name, colour, x, c, lo, hi), scale))
            const = lab.ism_constant(v)
            if const is not None and const > 0 and len(x):
                # loss + C estimates F (ISM, SSM, SSM-VR), C = 1/2 E|grad log p|^2;
                # relative: (loss + C) / C
                fisher.append(Curve(f"{v.name} (loss+C)/C", colour, x, (c + const) / const,
                                    dashed=True))
        self.fisher_view.set_curves(fisher)
        self.loss_view.set_curves(losses)

    def _draw_grid(self) -> None:
        variants = list(self.lab.variants)
        self.grid_view.set_variants([v.name for v in variants],
                                    [variant_colour(v.colour) for v in variants])
        if variants:
            first = variants[0].sessions[0]
            true = first.true_on_grid(None)
            errors = [None if v.learned is None else
                      ((v.learned - true) ** 2).sum(-1) ** 0.5 for v in variants]
            self.grid_view.set_errors(first.grid, errors)
            self.grid_view.set_particles([self.lab.particles(v) for v in variants])

    def _draw_quality(self) -> None:
        self.quality_view.set_rows(self.lab.quality_points())

    def _fill_table(self, rows: list[dict], variants: list[LabVariant]) -> None:
        self._filling = True
        self.table.setRowCount(len(rows))
        for r, (row, v) in enumerate(zip(rows, variants)):
            overrides = ", ".join(f"{k}={format_value(x)}" for k, x in row["overrides"].items())
            state = " (paused)" if row["paused"] else ""
            weights = "–"
            if row["mode_weights"] is not None:
                mean, sd = row["mode_weights"]
                parts = [f"{m:.2f}" + (f"±{s:.2f}" if sd is not None else "")
                         for m, s in zip(mean, sd or [None] * len(mean))]
                weights = "/".join(parts)
            true = row["true_weights"]
            header = "Weights" + (" (true " + "/".join(f"{w:.2f}" for w in true) + ")"
                                  if true else "")
            self.table.horizontalHeaderItem(len(COLUMNS) - 1).setText(header)
            sw = "–"
            if row["sample_quality"] is not None:   # sliced W2 to exact samples, and its floor
                value, floor = row["sample_quality"]["sliced_wasserstein"]
                sw = f"{_mean_sd(value, '.2g')} ({floor:.2g})"
            cells = [row["name"], str(row["seeds"]), _mean_sd(row["steps"], ".0f") + state,
                     _mean_sd(row["steps_per_second"], ".0f"), _mean_sd(row["relative_fisher"], ".4f"),
                     _mean_sd(row["final_loss"], ".3g"), sw, weights]
            for c, text in enumerate(cells):
                item = self.table.item(r, c)
                if item is None:
                    item = QTableWidgetItem()
                    flags = Qt.ItemIsSelectable | Qt.ItemIsEnabled
                    item.setFlags(flags | Qt.ItemIsEditable if c == 0 else flags)   # rename
                    self.table.setItem(r, c, item)
                if item.text() != text:
                    item.setText(text)
            name = self.table.item(r, 0)
            tip = f"Overrides: {overrides or 'none (the preset)'}"
            if name.toolTip() != tip:
                name.setForeground(QBrush(QColor(*variant_colour(v.colour))))
                name.setToolTip(tip)
        self._filling = False

    # ================================================================ lifecycle
    def closeEvent(self, event) -> None:
        dialog = getattr(self, "tradeoff_dialog", None)
        if dialog is not None:
            dialog.close()   # its measuring thread joined
        self.timer.stop()
        self.bridge.detach()
        self.lab.close()   # every run joined, the shared training process ended
        super().closeEvent(event)

