"""Frame sinks: RGB frames in, an MP4 (H.264) or GIF file out (docs/design.md §7 and §8).

A sink writes to a temporary name in the destination folder and renames it over the
destination only when every frame went in and the encoder finished, so a cancelled or
failed export leaves nothing behind (and never a half-written file under the real name).

- MP4: the ffmpeg that imageio-ffmpeg ships, libx264, yuv420p, 30 fps, even size, one
  encoder thread and the bit-exact flags, so the same frames give the same bytes.
- GIF: Pillow, one palette generated from the frames themselves (a median cut over frames
  spread across the animation), no dithering, 70 ms per frame (about 14.3 fps).

Use as a context manager, or call `write` for each frame and then `close`; `abort` (or an
exception inside the `with`) deletes the temporary file.
"""

from __future__ import annotations

import os
import subprocess
import tempfile
import threading
import zlib
from pathlib import Path
from typing import Callable, Iterable

import numpy as np

from ..core.files import new_file_mode

MP4_FPS = 30
GIF_FRAME_MS = 70                      # GIF delays are in 1/100 s: 70 ms is 14.29 fps
GIF_FPS = 1000.0 / GIF_FRAME_MS
ANIMATION_FORMATS = (".mp4", ".gif")

Cancel = "threading.Event | Callable[[], bool] | None"
Progress = Callable[[str, int, int], None]


class ExportCancelled(Exception):
    """The user cancelled the export; the temporary file was removed."""


class ExportError(RuntimeError):
    """The encoder failed; the message says why (an ffmpeg error line, a disk error)."""


def is_cancelled(cancel) -> bool:
    if cancel is None:
        return False
    if isinstance(cancel, threading.Event):
        return cancel.is_set()
    if hasattr(cancel, "is_set"):
        return bool(cancel.is_set())
    return bool(cancel())


def check_cancel(cancel) -> None:
    if is_cancelled(cancel):
        raise ExportCancelled("export cancelled")


def temp_path_for(path: Path) -> Path:
    """A fresh hidden name beside `path` (same folder, so the final rename is atomic), with
    the permissions of any file the user creates: mkstemp makes it 0600, and the rename kept
    that, so a colleague could not open a shared export."""
    fd, name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".part", dir=path.parent)
    try:
        os.fchmod(fd, new_file_mode())
    except (AttributeError, OSError):   # no fchmod (Windows), or a filesystem without modes
        pass
    os.close(fd)
    return Path(name)


# What ffmpeg says when the system refused it, and what the user should read instead: its
# last line on a full disk is "Conversion failed!", which sent users looking at the video.
SYSTEM_ERRORS = {"No space left on device": "no space left on device",
                 "Disk quota exceeded": "disk quota exceeded",
                 "Read-only file system": "the file system is read-only",
                 "Permission denied": "permission denied"}
GENERIC_LINES = ("Conversion failed!", "Exiting normally", "")


def ffmpeg_error_summary(lines, path) -> str:
    """One line for the user from ffmpeg's log: the system's refusal with the file named
    when there is one, else ffmpeg's last specific complaint."""
    text = [ln.strip() for ln in lines]
    for line in text:
        for needle, said in SYSTEM_ERRORS.items():
            if needle in line:
                return f"{said} writing {path}"
    specific = [ln for ln in text if ln not in GENERIC_LINES]
    return specific[-1] if specific else (text[-1] if text and text[-1] else "no error message")


def even_size(width: int, height: int) -> tuple[int, int]:
    """The largest even size not above (width, height): H.264 in yuv420p needs even sides."""
    return max(2, int(width) // 2 * 2), max(2, int(height) // 2 * 2)


def _as_frame(frame) -> np.ndarray:
    a = np.asarray(frame)
    if a.ndim != 3 or a.shape[2] not in (3, 4):
        raise ValueError(f"a frame must be H x W x 3 (RGB), got shape {a.shape}")
    if a.shape[2] == 4:
        a = a[:, :, :3]
    if a.dtype != np.uint8:
        a = np.clip(a, 0, 255).astype(np.uint8)
    return np.ascontiguousarray(a)


class FrameSink:
    """Base class: temporary file, atomic rename, cancel token, progress per frame."""

    suffix = ""

    def __init__(self, path, cancel=None, progress: Progress | None = None,
                 total: int | None = None):
        self.path = Path(path)
        self.cancel = cancel
        self.progress = progress
        self.total = total or 0
        self.count = 0
        self.size: tuple[int, int] | None = None  # (width, height), from the first frame
        self.tmp = temp_path_for(self.path)
        self._closed = False

    # --- the public protocol -------------------------------------------------------------
    def write(self, frame) -> None:
        if self._closed:
            raise ExportError("write after close")
        try:
            check_cancel(self.cancel)
            a = _as_frame(frame)
            h, w = a.shape[:2]
            if self.size is None:
                self.size = self._first_size(w, h)
            a = _fit(a, *self.size)
            self._write(a)
            self.count += 1
            if self.progress:
                self.progress("export", self.count, max(self.total, self.count))
        except BaseException:
            self.abort()
            raise

    def close(self) -> Path:
        """Finish the file and rename it to its real name; returns the path."""
        if self._closed:
            return self.path
        try:
            check_cancel(self.cancel)
            if self.count == 0:
                raise ExportError("no frames were rendered")
            self._finish()
            check_cancel(self.cancel)
            os.replace(self.tmp, self.path)
        except BaseException:
            self.abort()
            raise
        self._closed = True
        return self.path

    def abort(self) -> None:
        """Stop the encoder and delete the temporary file (safe to call twice)."""
        if self._closed:
            return
        self._closed = True
        try:
            self._kill()
        finally:
            try:
                self.tmp.unlink(missing_ok=True)
            except OSError:
                pass

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc, tb):
        if exc_type is None:
            self.close()
        else:
            self.abort()
        return False

    # --- per format ----------------------------------------------------------------------
    def _first_size(self, w: int, h: int) -> tuple[int, int]:
        return w, h

    def _write(self, frame: np.ndarray) -> None:
        raise NotImplementedError

    def _finish(self) -> None:
        raise NotImplementedError

    def _kill(self) -> None:
        pass


def _fit(a: np.ndarray, w: int, h: int) -> np.ndarray:
    """Crop or pad (with the edge colour) a frame to exactly w x h."""
    if a.shape[0] == h and a.shape[1] == w:
        return a
    a = a[:h, :w]
    ph, pw = h - a.shape[0], w - a.shape[1]
    if ph or pw:
        a = np.pad(a, ((0, ph), (0, pw), (0, 0)), mode="edge")
    return np.ascontiguousarray(a)


# --- MP4 ---------------------------------------------------------------------------------

def ffmpeg_exe() -> str:
    try:
        import imageio_ffmpeg
    except ImportError:  # pragma: no cover - it is a dependency
        raise ExportError("MP4 export needs imageio-ffmpeg (pip install imageio-ffmpeg)") from None
    return imageio_ffmpeg.get_ffmpeg_exe()


class Mp4Sink(FrameSink):
    """H.264 in yuv420p at 30 fps through ffmpeg's stdin; deterministic bytes."""

    suffix = ".mp4"

    def __init__(self, path, cancel=None, progress=None, total=None, fps: int = MP4_FPS,
                 crf: int = 18):
        super().__init__(path, cancel, progress, total)
        self.fps = int(fps)
        self.crf = int(crf)
        self._proc: subprocess.Popen | None = None
        self._log = None

    def _first_size(self, w, h):
        return even_size(w, h)

    def _start(self) -> None:
        w, h = self.size
        cmd = [ffmpeg_exe(), "-hide_banner", "-nostdin", "-loglevel", "error", "-y",
               "-f", "rawvideo", "-pix_fmt", "rgb24", "-s", f"{w}x{h}", "-r", str(self.fps),
               "-i", "pipe:0",
               "-an", "-c:v", "libx264", "-preset", "medium", "-tune", "animation",
               "-crf", str(self.crf), "-pix_fmt", "yuv420p", "-r", str(self.fps),
               "-threads", "1", "-x264-params", "threads=1:lookahead-threads=1",
               "-map_metadata", "-1", "-fflags", "+bitexact", "-flags:v", "+bitexact",
               "-movflags", "+faststart", "-f", "mp4", str(self.tmp)]
        self._log = tempfile.TemporaryFile()
        try:
            self._proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL,
                                          stderr=self._log)
        except OSError as e:
            raise ExportError(f"cannot start ffmpeg: {e}") from None

    def _write(self, frame):
        if self._proc is None:
            self._start()
        try:
            self._proc.stdin.write(frame.tobytes())
        except (BrokenPipeError, OSError):
            self._proc.wait()
            raise ExportError(f"ffmpeg failed: {self._error_text()}") from None

    def _finish(self):
        p = self._proc
        try:
            p.stdin.close()
        except OSError:
            pass
        while True:
            try:
                rc = p.wait(timeout=0.2)
                break
            except subprocess.TimeoutExpired:
                check_cancel(self.cancel)
        if rc != 0:
            raise ExportError(f"ffmpeg failed (status {rc}): {self._error_text()}")
        self._close_log()

    def _error_text(self) -> str:
        if self._log is None:
            return "no output"
        try:
            self._log.seek(0)
            lines = self._log.read().decode("utf-8", "replace").splitlines()
        except OSError:
            lines = []
        return ffmpeg_error_summary(lines, self.path)

    def _close_log(self):
        if self._log is not None:
            self._log.close()
            self._log = None

    def _kill(self):
        p = self._proc
        if p is not None and p.poll() is None:
            try:
                p.stdin.close()
            except OSError:
                pass
            p.kill()
            try:
                p.wait(timeout=5)
            except subprocess.TimeoutExpired:  # pragma: no cover
                pass
        self._close_log()


# --- GIF ---------------------------------------------------------------------------------

class GifSink(FrameSink):
    """Frames kept zlib-compressed in memory; at close one palette from the frames, then Pillow."""

    suffix = ".gif"
    PALETTE_FRAMES = 8        # frames spread over the animation that the palette is made from
    PALETTE_SIDE = 256        # each is shrunk to at most this side for the median cut

    def __init__(self, path, cancel=None, progress=None, total=None, frame_ms: int = GIF_FRAME_MS):
        super().__init__(path, cancel, progress, total)
        self.frame_ms = int(frame_ms)
        self._frames: list[bytes] = []

    def _write(self, frame):
        self._frames.append(zlib.compress(frame.tobytes(), 1))

    def _frame(self, i: int) -> np.ndarray:
        w, h = self.size
        return np.frombuffer(zlib.decompress(self._frames[i]), np.uint8).reshape(h, w, 3)

    def _palette(self):
        from PIL import Image
        n = len(self._frames)
        k = min(self.PALETTE_FRAMES, n)
        idx = sorted({round(i * (n - 1) / max(k - 1, 1)) for i in range(k)})
        tiles = []
        for i in idx:
            im = Image.fromarray(self._frame(i))
            im.thumbnail((self.PALETTE_SIDE, self.PALETTE_SIDE), Image.Resampling.NEAREST)
            tiles.append(np.asarray(im))
        wmax = max(t.shape[1] for t in tiles)
        tiles = [np.pad(t, ((0, 0), (0, wmax - t.shape[1]), (0, 0)), mode="edge") for t in tiles]
        montage = Image.fromarray(np.concatenate(tiles, axis=0))
        return montage.quantize(colors=256, method=Image.Quantize.MEDIANCUT,
                                dither=Image.Dither.NONE)

    def _finish(self):
        from PIL import Image
        pal = self._palette()
        frames = []
        total = len(self._frames)
        for i in range(total):
            check_cancel(self.cancel)
            frames.append(Image.fromarray(self._frame(i)).quantize(palette=pal,
                                                                  dither=Image.Dither.NONE))
            self._frames[i] = b""  # free as we go
        check_cancel(self.cancel)
        try:
            with open(self.tmp, "wb") as f:
                frames[0].save(f, format="GIF", save_all=True, append_images=frames[1:],
                               duration=self.frame_ms, loop=0, optimize=False, disposal=1)
        except OSError as e:
            raise ExportError(f"cannot write {self.path}: {e.strerror or e}") from None

    def _kill(self):
        self._frames = []


def open_sink(path, cancel=None, progress=None, total=None) -> FrameSink:
    """The sink for a path's extension (.mp4 or .gif)."""
    ext = Path(path).suffix.lower()
    if ext == ".mp4":
        return Mp4Sink(path, cancel, progress, total)
    if ext == ".gif":
        return GifSink(path, cancel, progress, total)
    raise ValueError(f"not an animation format: {ext!r} (use .mp4 or .gif)")


def write_frames(path, frames: Iterable, cancel=None, progress=None, total=None) -> Path:
    """Write every frame of an iterable to `path`; on cancel or error nothing is left."""
    sink = open_sink(path, cancel, progress, total)
    try:
        for f in frames:
            sink.write(f)
        return sink.close()
    except BaseException:
        sink.abort()
        raise


def frame_rate(path) -> float:
    return MP4_FPS if Path(path).suffix.lower() == ".mp4" else GIF_FPS
