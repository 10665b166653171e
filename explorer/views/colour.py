"""Colour science for the views: sRGB and luminance, contrast, the dark density colour
map that keeps arrows readable over it, and alpha ramps (what a projector needs)."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg

from .style import BACKGROUND, DENSITY_CMAP, DENSITY_CMAP_RANGE, DENSITY_TOP_LUMINANCE


def srgb_to_linear(rgb) -> np.ndarray:
    """sRGB 0..255 to linear light 0..1 (the IEC 61966-2-1 curve WCAG uses)."""
    c = np.asarray(rgb, dtype=np.float64) / 255.0
    return np.where(c <= 0.04045, c / 12.92, ((c + 0.055) / 1.055) ** 2.4)


def linear_to_srgb(lin) -> np.ndarray:
    c = np.clip(np.asarray(lin, dtype=np.float64), 0.0, 1.0)
    return 255.0 * np.where(c <= 0.0031308, 12.92 * c, 1.055 * c ** (1 / 2.4) - 0.055)


def relative_luminance(rgb) -> np.ndarray:
    """WCAG 2 relative luminance of sRGB colours (..., 3) in 0..255."""
    return srgb_to_linear(rgb)[..., :3] @ np.array([0.2126, 0.7152, 0.0722])


def contrast_ratio(a, b) -> np.ndarray:
    """WCAG 2 contrast ratio (1..21) between sRGB colours (..., 3)."""
    la, lb = relative_luminance(a), relative_luminance(b)
    return (np.maximum(la, lb) + 0.05) / (np.minimum(la, lb) + 0.05)


def dark_lut(name: str = DENSITY_CMAP, top_luminance: float = DENSITY_TOP_LUMINANCE,
             span=DENSITY_CMAP_RANGE, n: int = 256) -> np.ndarray:
    """The density backdrop: hues of `span` of a colour map, lightness capped so that
    arrows and particles drawn over the densest part keep their contrast.

    Level t gets the CIE lightness L* from the background's to that of `top_luminance`
    along t^0.6 (low levels, a weak mode's peak, get more of the little lightness there
    is to share), the chromaticity of the map at t, blended
    from the background's own below t = 0.35 (exactly the background at 0, no step).
    Luminance is linear in linear-light RGB, so scaling and blending keep it exact.
    """
    cm = pg.colormap.get(name)
    lin = srgb_to_linear(cm.getLookupTable(span[0], span[1], n, alpha=False))
    bg = srgb_to_linear(BACKGROUND)
    y_bg = float(bg @ np.array([0.2126, 0.7152, 0.0722]))
    t = np.linspace(0.0, 1.0, n)
    lstar = _lstar(y_bg) + (_lstar(top_luminance) - _lstar(y_bg)) * t ** 0.6
    y = _lstar_inv(lstar)[:, None]
    y_map = np.maximum(lin @ np.array([0.2126, 0.7152, 0.0722]), 1e-6)[:, None]
    w = np.minimum(1.0, t / 0.35)[:, None]
    rgb = (1.0 - w) * bg * (y / y_bg) + w * lin * (y / y_map)
    return np.clip(np.rint(linear_to_srgb(rgb)), 0, 255).astype(np.ubyte)


def _lstar(y):
    y = np.asarray(y, dtype=np.float64)
    return np.where(y > 216 / 24389, 116 * np.cbrt(y) - 16, y * 24389 / 27)


def _lstar_inv(lstar):
    lstar = np.asarray(lstar, dtype=np.float64)
    return np.where(lstar > 8, ((lstar + 16) / 116) ** 3, lstar * 27 / 24389)


def density_swatch_color() -> tuple[int, int, int]:
    lut = dark_lut()
    return tuple(int(c) for c in lut[int(0.8 * (len(lut) - 1))])


def alpha_lut(color, max_alpha: int = 255, gamma: float = 0.6, n: int = 256) -> np.ndarray:
    """RGBA lookup table: one colour, transparent at 0, opaque at the top."""
    lut = np.zeros((n, 4), dtype=np.ubyte)
    lut[:, :3] = color[:3]
    lut[:, 3] = (max_alpha * np.linspace(0.0, 1.0, n) ** gamma).astype(np.ubyte)
    return lut
