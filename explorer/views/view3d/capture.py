"""QImage to numpy RGB, for tests and export (pyqtgraph's own path returns BGRA)."""

from __future__ import annotations

import numpy as np
from PySide6 import QtGui


def qimage_rgb(img: QtGui.QImage) -> np.ndarray:
    img = img.convertToFormat(QtGui.QImage.Format.Format_RGB888)
    w, h, bpl = img.width(), img.height(), img.bytesPerLine()
    buf = np.frombuffer(img.constBits(), np.uint8, count=bpl * h).reshape(h, bpl)
    return buf[:, : w * 3].reshape(h, w, 3).copy()


def bgra_to_rgb(a: np.ndarray) -> np.ndarray:
    """pyqtgraph's `renderToArray` returns BGRA; this is the RGB of it."""
    return np.ascontiguousarray(np.asarray(a)[..., [2, 1, 0]])
