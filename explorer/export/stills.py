"""Stills (PNG, SVG) of any view, and the data behind them (NPY, CSV, NPZ).

PNG: the widget drawn at 1:1 pixels. SVG: the widget painted into a QSvgGenerator whose
resolution is the widget's logical dpi (pyqtgraph 0.14's SVGExporter raises on Qt 6.11,
docs/design.md §8); images inside a plot (the density) stay embedded bitmaps, lines and
text are vectors. Every file goes to a temporary name in its folder and is renamed.
"""

from __future__ import annotations

import csv
import io
import os
from pathlib import Path
from typing import Callable

import numpy as np

from .encode import check_cancel, temp_path_for


def atomic_write(path, write: Callable[[Path], None], cancel=None) -> Path:
    """Call write(tmp) on a temporary file beside `path`, then rename it to `path`."""
    path = Path(path)
    tmp = temp_path_for(path)
    try:
        write(tmp)
        check_cancel(cancel)
        os.replace(tmp, path)
    except BaseException:
        try:
            tmp.unlink(missing_ok=True)
        except OSError:
            pass
        raise
    return path


# --- pictures -----------------------------------------------------------------------------

def widget_png_bytes(widget, size: tuple[int, int] | None = None) -> bytes:
    from PIL import Image
    from .painting import grab_rgb
    buf = io.BytesIO()
    Image.fromarray(grab_rgb(widget, size)).save(buf, format="PNG", optimize=False)
    return buf.getvalue()


def widget_svg_bytes(widget, title: str = "score-explorer") -> bytes:
    from PySide6.QtCore import QBuffer, QByteArray, QIODevice, QPoint, QRect, QSize
    from PySide6.QtGui import QPainter
    from PySide6.QtSvg import QSvgGenerator
    from PySide6.QtWidgets import QWidget
    from .painting import paint_settled
    # a raster paint first: items that size themselves while painting (an axis widening for
    # its labels) relay out the view before the SVG is drawn (see painting.py)
    paint_settled(widget)
    w, h = widget.width(), widget.height()
    data = QByteArray()
    buf = QBuffer(data)
    buf.open(QIODevice.WriteOnly)
    gen = QSvgGenerator()
    gen.setOutputDevice(buf)
    gen.setSize(QSize(w, h))
    gen.setViewBox(QRect(0, 0, w, h))
    gen.setResolution(int(round(widget.logicalDpiX())) or 96)
    gen.setTitle(title)
    gen.setDescription("Exported from score-explorer")
    painter = QPainter()
    if not painter.begin(gen):
        raise RuntimeError("could not start the SVG painter")
    try:
        widget.render(painter, QPoint(0, 0), renderFlags=QWidget.RenderFlag.DrawWindowBackground
                      | QWidget.RenderFlag.DrawChildren)
    finally:
        painter.end()
    buf.close()
    return bytes(data.data())


def save_widget(widget, path, size: tuple[int, int] | None = None, cancel=None) -> Path:
    """A PNG or SVG of any widget, at its current size (or `size` pixels for a PNG)."""
    path = Path(path)
    ext = path.suffix.lower()
    if ext == ".png":
        payload = widget_png_bytes(widget, size)
    elif ext == ".svg":
        payload = widget_svg_bytes(widget)
    else:
        raise ValueError(f"a still is .png or .svg, not {ext!r}")
    return atomic_write(path, lambda p: p.write_bytes(payload), cancel)


def render_still(path, make_scene, snap: dict, cancel=None, render_call=None) -> Path:
    """Build a scene (in the GUI thread), draw `snap` into it and save it as PNG or SVG."""
    call = render_call or (lambda fn, *args: fn(*args))   # in this thread: no window's loop

    def draw():
        scene = make_scene()
        try:
            scene.update(snap, 0, 1)
            ext = Path(path).suffix.lower()
            return widget_png_bytes(scene.widget, scene.size) if ext == ".png" \
                else widget_svg_bytes(scene.widget)
        finally:
            scene.close()

    check_cancel(cancel)
    payload = call(draw)
    return atomic_write(path, lambda p: p.write_bytes(payload), cancel)


# --- data ---------------------------------------------------------------------------------

def samples_csv(x: np.ndarray) -> str:
    x = np.asarray(x)
    x = x.reshape(len(x), -1)
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow([f"x{i + 1}" for i in range(x.shape[1])])
    for row in x:
        w.writerow([repr(float(v)) for v in row])
    return buf.getvalue()


def loss_csv_text(loss, fisher_steps=(), fisher=(), steps=None) -> str:
    """step,loss,fisher with the Fisher divergence where it was evaluated (else empty).
    `steps` (default 1, 2, ...) numbers the rows of a decimated history: the window's holds
    the mean loss over blocks of steps, each row at the block's last step."""
    f = {int(s): float(v) for s, v in zip(fisher_steps, fisher)}
    steps = range(1, len(loss) + 1) if steps is None else [int(s) for s in steps]
    rows = {i: repr(float(v)) for i, v in zip(steps, loss)}
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["step", "loss", "fisher"])
    for i in sorted(rows.keys() | f.keys()):  # a Fisher step between two rows gets its own
        w.writerow([i, rows.get(i, ""), repr(f[i]) if i in f else ""])
    return buf.getvalue()


def save_samples(path, x: np.ndarray, cancel=None) -> Path:
    path = Path(path)
    x = np.asarray(x, dtype=np.float32)
    if path.suffix.lower() == ".csv":
        text = samples_csv(x)
        return atomic_write(path, lambda p: p.write_text(text), cancel)

    def write(p):
        with open(p, "wb") as f:
            np.save(f, x)
    return atomic_write(path, write, cancel)


def save_npz(path, cancel=None, **arrays) -> Path:
    def write(p):
        with open(p, "wb") as f:
            np.savez(f, **{k: np.asarray(v) for k, v in arrays.items() if v is not None})
    return atomic_write(path, write, cancel)


def save_loss(path, loss, fisher_steps=(), fisher=(), cancel=None, steps=None) -> Path:
    text = loss_csv_text(loss, fisher_steps, fisher, steps)
    return atomic_write(path, lambda p: p.write_text(text), cancel)


def export_data(path, what: str, result, preset, cancel=None) -> Path:
    """Data of a finished run: samples (.npy/.csv), loss (.csv), field or everything (.npz)."""
    from ..core.run.headless import field_arrays, loss_csv
    path = Path(path)
    if what == "samples":
        return save_samples(path, result.samples, cancel)
    if what == "loss":
        text = loss_csv(result)
        return atomic_write(path, lambda p: p.write_text(text), cancel)
    pts, learned, true = field_arrays(result.trainer, preset)
    if what == "field":
        return save_npz(path, cancel, points=pts, learned=learned, true=true)
    rows = sorted(result.fisher_rows.items())
    quality = result.metrics.get("sample_metrics") or {}   # against exact samples, and the floor
    figures = {f"sample_{k}": np.float64(v) for k, v in quality.items() if k != "floor"}
    figures.update({f"sample_{k}_floor": np.float64(v) for k, v in (quality.get("floor") or {}).items()})
    return save_npz(path, cancel, **figures, points=pts, learned=learned, true=true,
                    samples=result.samples.astype(np.float32),
                    loss=np.asarray(result.trainer.losses, dtype=np.float64),
                    fisher_steps=np.asarray([s for s, _ in rows], dtype=np.int64),
                    fisher=np.asarray([f for _, f in rows], dtype=np.float64))
