"""Opening and saving preset files from the window: dialogs, the recent list, drag and drop.

The last preset is reopened at start; shipped presets are never overwritten (Save asks
for a new name); a preset is saved portable (data files copied beside it, core/run/headless.py).
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtWidgets import QFileDialog

from ..core.run.headless import portable_preset
from ..core.presets.shipped import presets_folder

RECENT_MAX = 10


class PresetFiles:
    def __init__(self, window):
        self.window = window
        self.settings = window.settings

    def open_dialog(self) -> None:
        w = self.window
        start = str(Path(w.preset_path).parent) if w.preset_path else ""
        path, _ = QFileDialog.getOpenFileName(w, "Open preset", start, "Presets (*.toml)")
        if path:
            w.load_path(path)

    def open_gallery(self) -> None:
        from .gallery import PresetGallery
        path = PresetGallery.choose(self.window, self.window.preset_path)
        if path and is_lesson(path):
            self.window.open_lesson(path)
        elif path:
            self.window.load_path(path)

    def save(self) -> None:
        path = self.window.preset_path
        if path and not is_shipped(path):
            self.save_to(path)
        else:
            self.save_as()

    def save_as(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self.window, "Save preset", "preset.toml",
                                              "Presets (*.toml)")
        if path:
            if not path.endswith(".toml"):
                path += ".toml"
            self.save_to(path)

    def save_to(self, path: str) -> bool:
        w = self.window
        try:
            out = Path(path)
            portable_preset(w.preset, out.parent).save(out)
        except OSError as e:
            w.show_error(f"Could not save {path}: {e.strerror or e}")
            return False
        w.preset_path = path
        self.remember(path)
        w.statusBar().showMessage(f"Saved {path}", 5000)
        return True

    def remember(self, path: str) -> None:
        """Last preset (reopened at start) and the recent-files list."""
        full = str(Path(path).resolve())
        self.settings.setValue("last_preset", full)
        recent = [r for r in (self.settings.value("recent") or []) if r != full]
        self.settings.setValue("recent", [full, *recent][:RECENT_MAX])

    def fill_recent(self, menu) -> None:
        menu.clear()
        recent = self.settings.value("recent") or []
        if isinstance(recent, str):
            recent = [recent]
        for path in recent:
            a = menu.addAction(path)
            a.triggered.connect(lambda _=False, p=path: self.window.load_path(p))
        if not recent:
            menu.addAction("(none yet)").setEnabled(False)

    @staticmethod
    def dropped_preset(event) -> str | None:
        """The first .toml file among dropped URLs."""
        for u in event.mimeData().urls():
            if u.toLocalFile().endswith(".toml"):
                return u.toLocalFile()
        return None


def is_lesson(path: str) -> bool:
    from ..core.lessons import lessons_folder
    return Path(path).resolve().parent == lessons_folder().resolve()


def is_shipped(path: str) -> bool:
    return Path(path).resolve().parent == presets_folder().resolve()
