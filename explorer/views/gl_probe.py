"""Is there an OpenGL >= 2.1 we can draw the 3-D view with?  Asked once, answered without crashing.

`gl_available()` returns ``(ok, reason)``. It never builds a QOpenGLWidget: it makes a
QOpenGLContext on a QOffscreenSurface, makes it current and reads the version. Under
``QT_QPA_PLATFORM=offscreen`` (or ``minimal``) a GL widget draws nothing and raises
nothing, so those platforms answer False at once. ``SCORE_EXPLORER_NO_GL=1`` forces the
projected 2-D fallback (broken drivers, remote sessions). The answer is cached; call it
after the QApplication exists (before that it answers False and does not cache).
"""

from __future__ import annotations

import os

MIN_VERSION = (2, 1)
NO_GL_PLATFORMS = ("offscreen", "minimal", "vnc", "linuxfb")

_cache: tuple[bool, str] | None = None


def reset_cache() -> None:
    global _cache
    _cache = None


def _platform() -> str:
    try:
        from PySide6.QtGui import QGuiApplication
        name = QGuiApplication.platformName()
        if name:
            return name.lower()
    except Exception:  # pragma: no cover - no Qt at all
        pass
    return os.environ.get("QT_QPA_PLATFORM", "").split(":")[0].lower()


def gl_available() -> tuple[bool, str]:
    """(True, "OpenGL 4.5 (llvmpipe ...)") or (False, why not)."""
    global _cache
    if _cache is not None:
        return _cache
    flag = os.environ.get("SCORE_EXPLORER_NO_GL", "").strip().lower()
    if flag not in ("", "0", "false", "no"):
        _cache = (False, "OpenGL switched off (SCORE_EXPLORER_NO_GL is set)")
        return _cache
    try:
        from PySide6.QtGui import QGuiApplication
    except Exception as e:  # pragma: no cover
        return False, f"Qt is not available ({e})"
    if QGuiApplication.instance() is None:
        return False, "no QApplication yet"
    platform = _platform()
    if platform in NO_GL_PLATFORMS:
        _cache = (False, f"no OpenGL under the {platform} platform")
        return _cache
    _cache = _probe()
    return _cache


def _probe() -> tuple[bool, str]:
    try:
        import OpenGL  # noqa: F401  (pyqtgraph.opengl needs PyOpenGL)
    except Exception:
        return False, "PyOpenGL is not installed (pip install PyOpenGL)"
    try:
        from PySide6.QtGui import QOffscreenSurface, QOpenGLContext, QSurfaceFormat
    except Exception as e:  # pragma: no cover
        return False, f"Qt has no OpenGL support ({e})"
    ctx = surface = None
    try:
        ctx = QOpenGLContext()
        ctx.setFormat(QSurfaceFormat.defaultFormat())
        if not ctx.create():
            return False, "no OpenGL context could be created"
        surface = QOffscreenSurface()
        surface.setFormat(ctx.format())
        surface.create()
        if not surface.isValid():
            return False, "no OpenGL surface could be created"
        if not ctx.makeCurrent(surface):
            return False, "the OpenGL context could not be made current"
        try:
            fmt = ctx.format()
            version = tuple(fmt.version())
            es = ctx.isOpenGLES()
            text = f"OpenGL{' ES' if es else ''} {version[0]}.{version[1]}"
            try:
                from OpenGL import GL
                v = GL.glGetString(GL.GL_VERSION)
                r = GL.glGetString(GL.GL_RENDERER)
                if v:
                    text = f"OpenGL {v.decode(errors='replace')}"
                if r:
                    text += f" ({r.decode(errors='replace')})"
            except Exception:
                pass
        finally:
            ctx.doneCurrent()
        need = (3, 0) if es else MIN_VERSION
        if version < need:
            return False, f"{text} is older than the {need[0]}.{need[1]} the 3-D view needs"
        return True, text
    except Exception as e:  # a driver that refuses: fall back, never crash
        return False, f"OpenGL probe failed ({type(e).__name__}: {e})"
    finally:
        if surface is not None:
            surface.destroy()
