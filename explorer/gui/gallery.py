"""The presets gallery: every shipped preset with a picture of its density and what to look at.

Thumbnails come from the core (the density's log_prob on a grid, colour-mapped; a 1-D
density as its curve, a 3-D one as a tilted projection of samples). They are drawn one per
event-loop turn after the dialog shows, so it opens at once. The presets come in the
order of the course (presets/course/order.toml), numbered, in as many columns as fit; the
filter box keeps those whose name, description or section contains the text. Double-click
or Open accepts; `selected_path` is the chosen file.

    from explorer.gui.gallery import PresetGallery
    path = PresetGallery.choose(parent)        # None if cancelled
"""

from __future__ import annotations

import html
from pathlib import Path

import numpy as np
from PySide6.QtCore import QSize, Qt, QTimer
from PySide6.QtGui import QColor, QIcon, QImage, QPainter, QPainterPath, QPen, QPixmap
from PySide6.QtWidgets import (QDialog, QDialogButtonBox, QLabel, QLineEdit, QListView,
                               QListWidget, QListWidgetItem, QSplitter, QTextBrowser, QVBoxLayout,
                               QWidget)

from ..core.presets.shipped import course_order, presets_folder, shipped_presets  # noqa: F401
from ..views.style import BACKGROUND, FOREGROUND, TRUE
from ..core.samplers import sampler_label

THUMB = 112
LESSONS = "Lessons: a sequence of steps (Page Down / Page Up)"

# viridis at 9 stops (matplotlib's), interpolated linearly
_VIRIDIS = np.array([
    [68, 1, 84], [71, 44, 122], [59, 81, 139], [44, 113, 142], [33, 144, 141],
    [39, 173, 129], [92, 200, 99], [170, 220, 50], [253, 231, 37]], dtype=np.float64)


def colormap(v: np.ndarray) -> np.ndarray:
    """Values in [0, 1] to RGB uint8 with viridis; 0 fades into the background."""
    v = np.clip(np.nan_to_num(v), 0.0, 1.0)
    x = v * (len(_VIRIDIS) - 1)
    i = np.minimum(x.astype(int), len(_VIRIDIS) - 2)
    f = (x - i)[..., None]
    rgb = _VIRIDIS[i] * (1 - f) + _VIRIDIS[i + 1] * f
    a = np.clip(v * 4, 0, 1)[..., None]  # low density blends into the dark background
    rgb = rgb * a + np.asarray(BACKGROUND, np.float64) * (1 - a)
    return rgb.astype(np.uint8)


def _to_qimage(rgb: np.ndarray) -> QImage:
    rgb = np.ascontiguousarray(rgb)
    h, w = rgb.shape[:2]
    return QImage(rgb.data, w, h, 3 * w, QImage.Format_RGB888).copy()


def density_thumbnail(density, bounds, size: int = THUMB) -> QImage:
    """A picture of a density: image for 2-D, curve for 1-D, tilted cloud for 3-D."""
    import torch
    from ..core.measures.grid import grid_points
    b = np.asarray(bounds, dtype=np.float64)
    dim = len(b)
    if dim == 2:
        pts = torch.from_numpy(grid_points(b, size))
        with torch.no_grad():
            lp = torch.cat([density.log_prob(c) for c in torch.split(pts, 8192)]).double().numpy()
        lp = np.where(np.isfinite(lp), lp, -np.inf)
        p = np.exp(lp - lp.max()) if np.isfinite(lp).any() else np.zeros_like(lp)
        img = p.reshape(size, size).T[::-1]          # rows = x2 from the top, columns = x1
        return _to_qimage(colormap(np.sqrt(img)))
    if dim == 3:
        x = density.sample(6000, torch.Generator().manual_seed(0)).detach().cpu().numpy()
        c = b.mean(1)
        r = float(np.linalg.norm((b[:, 1] - b[:, 0]) / 2))
        y = x - c
        a, e = np.radians(30), np.radians(25)
        u = np.cos(a) * y[:, 0] - np.sin(a) * y[:, 1]
        depth = np.sin(a) * y[:, 0] + np.cos(a) * y[:, 1]
        v = np.cos(e) * y[:, 2] + np.sin(e) * depth
        h, _, _ = np.histogram2d(u, v, bins=size, range=[[-r, r], [-r, r]])
        img = h.T[::-1]
        return _to_qimage(colormap(np.sqrt(img / max(img.max(), 1.0))))
    # 1-D: the density curve, filled
    xs = np.linspace(b[0, 0], b[0, 1], size * 2)
    with torch.no_grad():
        lp = density.log_prob(torch.from_numpy(xs.astype(np.float32))[:, None]).double().numpy()
    p = np.exp(lp - lp.max())
    img = QImage(size, size, QImage.Format_RGB888)
    img.fill(QColor(*BACKGROUND))
    painter = QPainter(img)
    painter.setRenderHint(QPainter.Antialiasing)
    path = QPainterPath()
    top, bottom = 8.0, size - 6.0
    px = (xs - xs[0]) / (xs[-1] - xs[0]) * (size - 1)
    py = bottom - p * (bottom - top)
    path.moveTo(px[0], bottom)
    for X, Y in zip(px, py):
        path.lineTo(float(X), float(Y))
    path.lineTo(px[-1], bottom)
    path.closeSubpath()
    fill = QColor(*_VIRIDIS[4].astype(int))
    fill.setAlpha(150)
    painter.fillPath(path, fill)
    painter.setPen(QPen(QColor(*TRUE), 2))
    painter.drawPath(path)
    painter.end()
    return img


def _placeholder(text: str) -> QPixmap:
    pm = QPixmap(THUMB, THUMB)
    pm.fill(QColor(*BACKGROUND))
    p = QPainter(pm)
    p.setPen(QColor(*FOREGROUND))
    p.drawText(pm.rect(), Qt.AlignCenter, text)
    p.end()
    return pm


class PresetGallery(QDialog):
    """A list of presets with thumbnails; the description of the selected one beside it."""

    def __init__(self, parent=None, paths: list | None = None, current: str | None = None):
        super().__init__(parent)
        self.setWindowTitle("Presets gallery")
        self.selected_path: str | None = None
        if paths is None:   # the lessons first: a course is played as lessons
            from ..core.lessons import shipped_lessons
            lessons = shipped_lessons()
            sections = ([(LESSONS, lessons)] if lessons else []) + course_order()
        else:
            sections = [("", [Path(p) for p in paths])]
        self.paths = [p for _title, ps in sections for p in ps]
        self.sections = {str(p): title for title, ps in sections for p in ps}
        self.infos: dict[str, dict] = {}

        self.filter = QLineEdit()
        self.filter.setPlaceholderText("Filter: a word of the name, description or section "
                                       "(e.g. DSM, Langevin, 3-D)")
        self.filter.setClearButtonEnabled(True)
        self.filter.textChanged.connect(self._apply_filter)
        self.list = QListWidget()
        self.list.setViewMode(QListView.IconMode)     # a grid: as many columns as fit
        self.list.setResizeMode(QListView.Adjust)
        self.list.setMovement(QListView.Static)
        self.list.setWrapping(True)
        self.list.setIconSize(QSize(THUMB, THUMB))
        self.list.setGridSize(QSize(THUMB + 64, THUMB + 58))
        self.list.setSpacing(4)
        self.list.setUniformItemSizes(True)
        self.list.setWordWrap(True)
        left = QWidget()
        ll = QVBoxLayout(left)
        ll.setContentsMargins(0, 0, 0, 0)
        ll.addWidget(self.filter)
        ll.addWidget(self.list, 1)
        self.text = QTextBrowser()
        self.text.setOpenExternalLinks(False)
        self.text.setMinimumWidth(320)
        self.big = QLabel()
        self.big.setAlignment(Qt.AlignCenter)
        self.big.setMinimumHeight(2 * THUMB)

        right = QWidget()
        rl = QVBoxLayout(right)
        rl.setContentsMargins(0, 0, 0, 0)
        rl.addWidget(self.big)
        rl.addWidget(self.text, 1)
        split = QSplitter()
        split.addWidget(left)
        split.addWidget(right)
        split.setSizes([640, 360])

        buttons = QDialogButtonBox(QDialogButtonBox.Open | QDialogButtonBox.Cancel)
        self.open_button = buttons.button(QDialogButtonBox.Open)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        lay = QVBoxLayout(self)
        lay.addWidget(split, 1)
        lay.addWidget(buttons)

        placeholder = QIcon(_placeholder("…"))
        for number, path in enumerate(self.paths, start=1):
            info = self._read(path)
            self.infos[str(path)] = info
            item = QListWidgetItem(placeholder, f"{number}. {info['name']}")
            item.setData(Qt.UserRole, str(path))
            item.setToolTip(info["description"] or str(path))
            if info["error"]:
                item.setForeground(QColor(220, 120, 120))
            self.list.addItem(item)
        self._fit_titles()
        self.list.currentItemChanged.connect(self._show)
        self.list.itemDoubleClicked.connect(lambda item: self.accept())
        row = 0
        if current is not None:
            for i, p in enumerate(self.paths):
                if p.resolve() == Path(current).resolve():
                    row = i
        if self.paths:
            self.list.setCurrentRow(row)
        else:
            self.open_button.setEnabled(False)
            self.text.setPlainText("No presets found.")
        self.resize(1040, 660)
        screen = self.screen()
        if screen is not None:
            avail = screen.availableGeometry()
            self.resize(min(self.width(), avail.width() - 40), min(self.height(), avail.height() - 60))
        self._pending = list(range(len(self.paths)))
        self._timer = QTimer(self)
        self._timer.setInterval(0)
        self._timer.timeout.connect(self._next_thumbnail)
        self._timer.start()

    def is_lesson(self, path) -> bool:
        return self.sections.get(str(path)) == LESSONS

    def _read(self, path: Path) -> dict:
        """Name and description straight from the TOML (fast); full validation comes later."""
        import tomllib
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
            name = data.get("title" if self.is_lesson(path) else "name", path.stem)
            name = f"Lesson: {name}" if self.is_lesson(path) else name
            desc = data.get("description", "")
            return {"name": str(name), "description": str(desc), "preset": None, "error": None,
                    "summary": "", "loaded": False}
        except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as e:
            return {"name": path.stem, "description": "", "preset": None,
                    "error": f"{path}: not a readable preset: {e}", "summary": "", "loaded": True}

    def _load(self, path: str) -> dict:
        from ..core.presets import preset as P
        from ..core.errors import SpecError
        info = self.infos[path]
        if not info["loaded"]:
            info["loaded"] = True
            try:
                if self.is_lesson(path):   # pictured by its first step's density
                    from ..core.lessons import load
                    lesson = load(path)
                    info["preset"] = lesson.steps[0].preset
                    info["summary"] = _lesson_summary(lesson)
                else:
                    info["preset"] = P.load(path)
                    info["summary"] = _summary(info["preset"])
            except SpecError as e:
                info["error"] = str(e)
        return info

    def _next_thumbnail(self) -> None:
        if not self._pending:
            self._timer.stop()
            return
        i = self._pending.pop(0)
        item = self.list.item(i)
        info = self._load(str(self.paths[i]))
        pr = info["preset"]
        if pr is None:
            item.setIcon(QIcon(_placeholder("error")))
            item.setForeground(QColor(220, 120, 120))
            if item is self.list.currentItem():
                self._show(item)
            return
        try:
            img = density_thumbnail(pr.build_density(), pr.density["bounds"])
            info["thumb"] = img
            item.setIcon(QIcon(QPixmap.fromImage(img)))
        except Exception:  # a picture is a nicety: never fail the gallery for it
            item.setIcon(QIcon(_placeholder("?")))
        if item is self.list.currentItem():
            self._show(item)

    def _fit_titles(self) -> None:
        """Cells tall enough for the longest title, wrapped, never cut with "…" (a name is
        what a lecturer looks for in the grid)."""
        from PySide6.QtCore import QRect
        fm = self.list.fontMetrics()
        width = THUMB + 52
        tallest = max((fm.boundingRect(QRect(0, 0, width, 10_000), Qt.TextWordWrap,
                                       self.list.item(i).text()).height()
                       for i in range(self.list.count())), default=fm.lineSpacing())
        self.list.setTextElideMode(Qt.ElideNone)
        self.list.setUniformItemSizes(False)   # the first item's size cut the longer titles
        self.list.setGridSize(QSize(THUMB + 64, THUMB + tallest + 20))

    def _apply_filter(self, text: str) -> None:
        words = text.lower().split()
        first_shown = None
        for i, path in enumerate(self.paths):
            info = self.infos[str(path)]
            hay = " ".join((info["name"], info["description"], self.sections[str(path)],
                            path.stem)).lower()
            hidden = not all(w in hay for w in words)
            item = self.list.item(i)
            item.setHidden(hidden)
            if not hidden and first_shown is None:
                first_shown = item
        cur = self.list.currentItem()
        if cur is None or cur.isHidden():
            self.list.setCurrentItem(first_shown)
        self.open_button.setEnabled(first_shown is not None)

    def visible_names(self) -> list[str]:
        return [self.infos[str(p)]["name"] for i, p in enumerate(self.paths)
                if not self.list.item(i).isHidden()]

    def thumbnails_done(self) -> bool:
        return not self._pending

    def _show(self, item, _prev=None) -> None:
        if item is None:
            return
        path = item.data(Qt.UserRole)
        info = self._load(path)
        thumb = info.get("thumb")
        if thumb is not None:
            self.big.setPixmap(QPixmap.fromImage(thumb).scaled(
                2 * THUMB, 2 * THUMB, Qt.KeepAspectRatio, Qt.SmoothTransformation))
        else:
            self.big.setPixmap(_placeholder("…").scaled(2 * THUMB, 2 * THUMB))
        if info["error"]:
            body = f"<p style='color:#e07878'>This preset cannot be opened:<br>{html.escape(info['error'])}</p>"
        else:
            body = (f"<p>{html.escape(info['description'])}</p>"
                    f"<p style='color:#9a9a9a'>{html.escape(info['summary'])}</p>")
        section = self.sections.get(path, "")
        if section:
            body = f"<p style='color:#9a9a9a'>{html.escape(section)}</p>" + body
        self.text.setHtml(f"<h3>{html.escape(info['name'])}</h3>{body}"
                          f"<p style='color:#9a9a9a'><small>{html.escape(Path(path).name)}</small></p>")
        self.open_button.setEnabled(info["error"] is None)

    def accept(self) -> None:
        item = self.list.currentItem()
        if item is None or self._load(item.data(Qt.UserRole))["error"]:
            return
        self.selected_path = item.data(Qt.UserRole)
        self._timer.stop()
        super().accept()

    def reject(self) -> None:
        self._timer.stop()
        super().reject()

    @classmethod
    def choose(cls, parent=None, current: str | None = None) -> str | None:
        """Show the gallery modally; the chosen preset's path, or None."""
        dlg = cls(parent, current=current)
        ok = dlg.exec()
        return dlg.selected_path if ok else None


def _summary(pr) -> str:
    d, o, s, t = pr.density, pr.objective, pr.sampler, pr.training
    parts = [f"{d['kind']} ({pr.dim}-D)", f"objective {o['kind']}", f"model {pr.model['kind']}",
             f"{t['steps']} training steps",
             f"{sampler_label(s['kind'])} on the {s['score']} score, {s['particles']} particles"]
    return " · ".join(parts)


def _lesson_summary(lesson) -> str:
    return f"{len(lesson.steps)} steps: " + " · ".join(s.heading for s in lesson.steps)
