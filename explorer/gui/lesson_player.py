"""Playing a lesson in the window: entering a step loads or edits its preset and runs its
actions, in the background as the toolbar would.

A step's preset becomes the window's through the same paths as a user's: another preset
file is opened (`Session.replace`), an edit of the one on screen goes through
`Session.edit` with the keys that differ, so weights are kept unless the edit needs fresh
ones. Then, in order: the views' controls (noise level, view, arrows, comparison), training
(`train` steps more, stopping early at `until_fisher`), and once that is done sampling
(the whole schedule, or until the cloud's step N). A step with `variants` opens compare
mode with them instead, trained `train` steps each.

Back and Next (Page Up / Page Down, what presentation clickers send) work at any moment:
entering a step cancels what the last one still had to do. Reached by Back or a jump, a
step whose weights are fresher than the lesson played from the start assumes first trains
what the steps before it would have (Lesson.training_before), so the picture is the same.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QObject, QPoint, Qt, Slot
from PySide6.QtGui import QAction, QKeySequence

from ..core.errors import SpecError
from ..core.lessons.format import Lesson, Step


class LessonPlayer(QObject):
    def __init__(self, window, panel):
        super().__init__(window)
        self.window = window
        self.panel = panel
        self.lesson: Lesson | None = None
        self.index = -1
        self._target: int | None = None          # the step count this step trains to
        self._then_sample = False                 # sample once training is done
        self._cancel()
        panel.back.connect(self.back)
        panel.next.connect(self.next)
        panel.closed.connect(self.close)
        b = window.bridge
        b.trained.connect(self._on_trained)
        b.budget_reached.connect(self._training_done)
        b.failed.connect(self._on_failed)
        b.sampling_done.connect(self._on_sampled)
        self._set_keys(False)

    # ================================================================ navigation
    def open(self, lesson: Lesson) -> None:
        self.lesson = lesson
        self.index = -1
        self.panel.show()
        w = self.window
        w.set_settings_open(False)     # the settings drawer gives the views its width
        w.lesson.hide()                   # the preset's own card: the lesson says more
        self._set_keys(True)
        self.go(0)

    @property
    def active(self) -> bool:
        return self.lesson is not None

    @Slot()
    def next(self) -> None:
        if self.lesson is not None and self.index + 1 < len(self.lesson.steps):
            self.go(self.index + 1)
        elif self.lesson is not None and self.next_lesson() is not None:
            self.window.open_lesson(str(self.next_lesson()))

    def next_lesson(self):
        """The shipped lesson after this one in course order (its path), or None."""
        from ..core.lessons import catalog
        if self.lesson is None or not self.lesson.source:
            return None
        paths = catalog.shipped_lessons()
        stems = [p.stem for p in paths]
        name = self.lesson.name
        if name not in stems or stems.index(name) + 1 >= len(paths):
            return None
        return paths[stems.index(name) + 1]

    @Slot()
    def back(self) -> None:
        if self.lesson is not None and self.index > 0:
            self.go(self.index - 1)

    @Slot()
    def close(self) -> None:
        self._cancel()
        self.lesson = None
        self.index = -1
        self.panel.hide()
        self._set_keys(False)
        self.window.lesson.setVisible(bool(self.window.preset.description))

    def _set_keys(self, on: bool) -> None:
        """Page Up / Page Down belong to the lesson only while one is open."""
        self.window.act_lesson_next.setEnabled(on)
        self.window.act_lesson_back.setEnabled(on)

    def go(self, index: int) -> None:
        """Enter step `index` (0-based): its preset, then its actions."""
        self._cancel()
        w = self.window
        lesson, step = self.lesson, self.lesson.steps[index]
        self.index = index
        self.panel.show_step(lesson.title, step.number, len(lesson.steps), step.heading, step.text)
        w.run_bar.pause()
        if w.session.sampling_playing:
            w.run_bar.toggle_sampling()
        compare = getattr(w, "compare_window", None)
        if compare is not None:
            compare.close()
            w.compare_window = None
        tradeoff = getattr(w, "tradeoff_dialog", None)
        if tradeoff is not None:
            tradeoff.close()       # its thread joined
            w.tradeoff_dialog = None
        if index + 1 == len(lesson.steps):   # the last step points to the next lesson
            from ..core.lessons import catalog
            after = self.next_lesson()
            self.panel.offer_next_lesson(catalog.title_of(after) if after is not None else None)
        if not self._apply_preset(step):
            return
        self._set_views(step)
        if step.variants:
            self._open_variants(step)
            if step.tradeoff and getattr(w, "compare_window", None) is not None:
                self._show_tradeoff(w.compare_window.open_tradeoff())   # variants as its points
            return
        if step.tradeoff:
            self._show_tradeoff(w.open_tradeoff())
        need = self._training_needed(index, step)
        if need > 0:
            self._then_sample = step.sample is not None
            self._train(need, step)
        elif step.sample is not None:
            self._sample(step)

    # ================================================================ the step's preset
    def _apply_preset(self, step: Step) -> bool:
        w, s = self.window, self.window.session
        target = step.preset
        shown = w.preset_path     # the file on screen (edits keep it)
        same_file = shown is not None and target.source is not None and \
            Path(shown).resolve() == Path(target.source).resolve()
        if step.new_preset or not same_file or target.dim != s.preset.dim:
            s.replace(target.copy())
            w.preset_path = target.source
            w._apply_preset()
            return True
        now, then = s.preset.to_dict(), target.to_dict()
        changed = {(sec, k) for sec in set(now) | set(then) if isinstance(then.get(sec), dict)
                   for k in set(now.get(sec, {})) | set(then[sec])
                   if now.get(sec, {}).get(k) != then[sec].get(k)}
        changed -= {("training", "steps")}    # the budget is the step's own business
        changed |= {("", k) for k in ("name", "description") if now.get(k) != then.get(k)}
        if not changed:
            return True
        changes = {}
        for sec, k in changed:   # the step's values, as the user would set them
            if sec == "":
                changes[k] = then[k]
            elif sec == "density":
                changes["density"] = then["density"]
            else:
                changes[f"{sec}.{k}"] = then[sec].get(k)
        ok = w._try_apply(changes)
        if ok and any(sec == "" for sec, _ in changed):
            w._update_title()
        return ok

    def _set_views(self, step: Step) -> None:
        v = self.window.views
        if step.level is not None and step.level in v._levels:
            v.set_view_level(step.level)
        for combo, value in ((v.arrow_combo, step.arrows), (v.mode_combo, step.compare)):
            if value is not None:
                combo.setCurrentIndex(combo.findData(value))
        if step.view is not None:
            focus = self.window.view_focus
            focus.show_all() if step.view == "all" else focus.show_alone(step.view)

    # ================================================================ training and sampling
    def _training_needed(self, index: int, step: Step) -> int:
        t = self.window.session.trainer
        have = t.step_count if t is not None else 0
        missing = max(0, self.lesson.training_before(index) - have)
        return missing + (step.train or 0)

    def _train(self, steps: int, step: Step) -> None:
        w = self.window
        t = w.session.trainer
        self._start = t.step_count if t is not None else 0
        self._target = self._start + steps
        if not w._try_apply({"training.steps": self._target}):
            self._target = None
            return
        w.run_bar.progress.setMaximum(self._target)
        self._until = step.until_fisher
        self._step = step
        w.run_bar.play()
        self.panel.set_status(f"Training {steps} steps"
                              + (f", or until the relative Fisher divergence is {step.until_fisher:g}"
                                 if step.until_fisher else "") + "…")

    @Slot()
    def _on_trained(self) -> None:
        if self._target is None or self._until is None:
            return
        t = self.window.session.trainer
        # only a measurement taken after this step began training decides: the one of the
        # weights it started from (step 0 of a fresh network included) says nothing of it
        if (t is not None and t.fisher and t.fisher[-1][0] > self._start
                and t.fisher[-1][2] <= self._until):
            self.window.run_bar.pause()
            self._training_done()

    @Slot()
    def _training_done(self) -> None:
        if self._target is None:
            return
        self._target = None
        step, self._step = self._step, None
        t = self.window.session.trainer
        rel = t.fisher[-1][2] if t is not None and t.fisher else None
        self.panel.set_status(f"Trained {t.step_count} steps" +
                              (f", relative Fisher divergence {rel:.3g}" if rel is not None else "") + ".")
        if self._then_sample:
            self._then_sample = False
            self.window.session.reset_sampling()     # a new cloud on the new weights
            if step is not None:
                self._sample(step)

    def _sample(self, step: Step) -> None:
        until = None if step.sample is True else int(step.sample)
        if self.window.run_bar.start_sampling(until):
            self.panel.set_status("Sampling" + (f" to step {until}" if until else "") + "…")
        self._sampling = True

    @Slot()
    def _on_sampled(self) -> None:
        if getattr(self, "_sampling", False):
            self._sampling = False
            run = self.window.session.sampling
            if run is not None:
                self.panel.set_status(f"Sampled {run.sampler.done_steps} of {run.sampler.total} steps.")

    @Slot(str)
    def _on_failed(self, _message: str) -> None:
        self._cancel()

    def _cancel(self) -> None:
        self._step: Step | None = None
        self._target = None
        self._then_sample = False
        self._sampling = False
        self._until = None

    # ================================================================ compare variants
    def _open_variants(self, step: Step) -> None:
        w = self.window
        compare = w.open_compare()
        self.add_keys(compare)
        self._place_beside_panel(compare)
        lab = compare.lab
        lab.set_budget("steps", step.train or int(step.preset.training["steps"]))
        try:
            for overrides in step.variants:
                lab.add(overrides, seeds=step.variant_seeds)
        except SpecError as e:       # checked when the lesson loaded; a plugin may have gone
            w.show_error(f"Lesson step {step.number}: {e}")
            return
        compare.toggle_play()
        last = self.index + 1 == len(self.lesson.steps)
        self.panel.set_status(f"Compare mode: {len(step.variants)} variants training "
                              f"{lab.steps} steps each" + ("." if last else " (Page Down: the next step)."))

    def _show_tradeoff(self, dialog) -> None:
        """The σ trade-off plot beside the lesson's text, with the lesson's keys."""
        self.add_keys(dialog)
        self._place_beside_panel(dialog)

    def _place_beside_panel(self, compare) -> None:
        """Compare mode over the main window's views, not over the lesson's text and buttons."""
        w = self.window
        origin = w.mapToGlobal(QPoint(0, 0))
        right = self.panel.mapToGlobal(QPoint(0, 0)).x() - 4
        compare.setGeometry(origin.x(), origin.y(), max(compare.minimumWidth(), right - origin.x()),
                            w.height())

    def add_keys(self, widget) -> None:
        """Page Up / Page Down on another window of the lesson (compare mode) too."""
        for key, slot in ((Qt.Key_PageUp, self.back), (Qt.Key_PageDown, self.next)):
            a = QAction(widget)
            a.setShortcut(QKeySequence(key))
            a.setShortcutContext(Qt.WindowShortcut)
            a.triggered.connect(slot)
            widget.addAction(a)
