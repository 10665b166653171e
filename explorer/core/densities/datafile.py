"""Densities read from the user's files: an image (PNG) or a point cloud (CSV or NPY).

Both become Gaussian kernel densities, so their true score is the exact score of the
smoothed data. Every problem with the file is a SpecError on `density.path` that says
what is wrong in the user's terms (missing, not an image, no bright pixels, row 17 has a
NaN, ...).
"""

from __future__ import annotations

import io
import math
import re
from pathlib import Path

import numpy as np

from ..errors import SpecError
from ..files import IMAGE_LIMIT, POINTS_LIMIT, read_limited
from .base import check_bounds
from .kernel import KernelDensity

KEY = "density.path"
MAX_SIDE = 96  # longest side of the image after downsampling, in pixels
MAX_PIXELS = 40_000_000  # decoded, an RGBA image of this size is 160 MB
MAX_POINTS = 1_000_000  # rows of a points file; each is a kernel centre evaluated every step
DEFAULT_IMAGE_BOUNDS = [[-4.0, 4.0], [-4.0, 4.0]]


def resolve_path(path, base_dir) -> Path:
    if not isinstance(path, (str, Path)) or str(path).strip() == "":
        raise SpecError(KEY, "expected a file name")
    p = Path(path).expanduser()
    if not p.is_absolute() and base_dir is not None:
        p = Path(base_dir) / p
    try:
        if not p.exists():
            raise SpecError(KEY, f"no such file: {p}")
        if p.is_dir():
            raise SpecError(KEY, f"is a folder, not a file: {p}")
    except (OSError, ValueError) as e:  # a name too long, a NUL byte, ...
        raise SpecError(KEY, f"cannot use this file name ({e})") from None
    return p


# --- image ---------------------------------------------------------------------------------------

def load_image_mass(path: Path, invert: bool = False, max_side: int = MAX_SIDE) -> np.ndarray:
    """(H, W) float64 mass per pixel in [0, 1]: grey level (inverted if asked) times alpha."""
    from PIL import Image, UnidentifiedImageError

    data = read_limited(path, KEY, IMAGE_LIMIT)
    try:
        with Image.open(io.BytesIO(data)) as im:
            w, h = im.size
            if w * h > MAX_PIXELS:
                raise SpecError(KEY, f"the image has {w} x {h} pixels; at most {MAX_PIXELS:,} "
                                     f"({path})")
            im.load()
            rgba = im.convert("RGBA")
    except SpecError:
        raise
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError, MemoryError,
            Image.DecompressionBombError) as e:
        raise SpecError(KEY, f"cannot read as an image: {path} ({type(e).__name__})") from None
    w, h = rgba.size
    if w == 0 or h == 0:
        raise SpecError(KEY, f"the image is empty: {path}")
    f = min(1.0, max_side / max(w, h))
    if f < 1.0:
        rgba = rgba.resize((max(1, round(w * f)), max(1, round(h * f))), Image.Resampling.BOX)
    grey = np.asarray(rgba.convert("L"), dtype=np.float64) / 255.0
    alpha = np.asarray(rgba.getchannel("A"), dtype=np.float64) / 255.0
    return ((1.0 - grey) if invert else grey) * alpha


def image_density(mass: np.ndarray, bounds, blur: float, kind: str = "image") -> KernelDensity:
    """Kernel density over the pixel centres of `mass` (H, W), fitted into `bounds`, aspect kept."""
    H, W = mass.shape
    b = np.asarray(bounds, dtype=np.float64)
    px = min((b[0, 1] - b[0, 0]) / W, (b[1, 1] - b[1, 0]) / H)
    cx, cy = 0.5 * (b[0, 0] + b[0, 1]), 0.5 * (b[1, 0] + b[1, 1])
    rows, cols = np.nonzero(mass > 1e-9)
    if rows.size == 0:
        raise ValueError("no mass")
    x = cx + (cols + 0.5 - W / 2) * px
    y = cy + (H / 2 - rows - 0.5) * px  # row 0 is the top of the picture
    h = max(float(blur), 0.5 * px)
    return KernelDensity(np.stack([x, y], 1), h, weights=mass[rows, cols], bounds=b, kind=kind,
                         score_source=f"smoothed image, blur {h:.3g}")


def build_image(spec: dict, base_dir=None) -> KernelDensity:
    path = resolve_path(spec.get("path"), base_dir)
    invert = bool(spec.get("invert", False))
    blur = float(spec.get("blur", 0.1) if spec.get("blur") is not None else 0.1)
    if not blur > 0 or not math.isfinite(blur):
        raise SpecError("density.blur", f"must be a positive number, got {blur:g}")
    b = spec.get("bounds")
    bounds = check_bounds(DEFAULT_IMAGE_BOUNDS if b is None else b, 2)
    mass = load_image_mass(path, invert)
    if not np.any(mass > 1e-9):
        what = "dark pixels (invert = true)" if invert else "bright pixels"
        raise SpecError(KEY, f"has no {what}: nothing to learn ({path})")
    return image_density(mass, bounds, blur)


# --- points --------------------------------------------------------------------------------------

_SPLIT = re.compile(r"[,;\s]+")


def _parse_text(path: Path) -> tuple[np.ndarray, list[int]]:
    """Rows of numbers from a CSV / whitespace file; an optional header line is skipped."""
    try:
        text = read_limited(path, KEY, POINTS_LIMIT).decode("utf-8-sig")
    except UnicodeDecodeError:
        raise SpecError(KEY, f"cannot read as text (CSV): {path}") from None
    rows, lines, ncol = [], [], None
    for lineno, line in enumerate(text.splitlines(), start=1):
        s = line.strip()
        if not s or s.startswith("#"):
            continue
        toks = [t for t in _SPLIT.split(s) if t]
        if len(toks) > 64:  # neither a header nor a row of 1 to 3 coordinates
            raise SpecError(KEY, f"line {lineno} has {len(toks):,} fields; points need 1, 2 or 3 "
                                 f"columns ({path.name})")
        try:
            vals = [float(t) for t in toks]
        except ValueError:
            if not rows and not lines:  # first non-empty line: a header
                lines.append(-lineno)
                continue
            bad = next(i for i, t in enumerate(toks, start=1) if not _is_float(t))
            # the field is not quoted: the file may be anything (a secret named by mistake)
            raise SpecError(KEY, f"row {len(rows) + 1} (line {lineno}): cannot read field {bad} as a "
                                 f"number ({path.name})") from None
        if len(rows) >= MAX_POINTS:
            raise SpecError(KEY, f"has more than {MAX_POINTS:,} rows ({path.name})")
        if ncol is None:
            if not 1 <= len(vals) <= 3:
                raise SpecError(KEY, f"has {len(vals)} columns; points need 1, 2 or 3 ({path.name})")
            ncol = len(vals)
        elif len(vals) != ncol:
            raise SpecError(KEY, f"row {len(rows) + 1} (line {lineno}) has {len(vals)} values "
                                 f"but the first row has {ncol} ({path.name})")
        rows.append(vals)
        lines.append(lineno)
    if not rows:
        raise SpecError(KEY, f"has no rows of numbers: {path}")
    return np.asarray(rows, dtype=np.float64), [ln for ln in lines if ln > 0]


def _is_float(t: str) -> bool:
    try:
        float(t)
        return True
    except ValueError:
        return False


def load_points(path: Path) -> np.ndarray:
    """(n, d) float64 points from a .npy file or a CSV / text file, fully checked."""
    lines = None
    if path.suffix.lower() == ".npy":
        data = read_limited(path, KEY, POINTS_LIMIT)
        try:
            a = np.load(io.BytesIO(data), allow_pickle=False)
        except (ValueError, OSError, EOFError, MemoryError) as e:
            raise SpecError(KEY, f"cannot read as a .npy file: {path} ({type(e).__name__})") from None
        if not isinstance(a, np.ndarray) or a.dtype.kind not in "biuf":
            raise SpecError(KEY, f"holds {getattr(a, 'dtype', type(a))} values, not real numbers ({path.name})")
        a = a.astype(np.float64)
        if a.ndim == 1:
            a = a[:, None]
        if a.ndim != 2:
            raise SpecError(KEY, f"expected an n x d array, got shape {a.shape} ({path.name})")
    else:
        a, lines = _parse_text(path)
    n, d = a.shape
    if n > MAX_POINTS:
        raise SpecError(KEY, f"has {n:,} points; at most {MAX_POINTS:,} ({path.name})")
    if not 1 <= d <= 3:
        raise SpecError(KEY, f"has {d} columns; points need 1, 2 or 3 ({path.name})")
    bad = ~np.isfinite(a)
    if bad.any():
        i = int(np.argmax(bad.any(1)))
        what = "a NaN" if np.isnan(a[i]).any() else "an infinite value"
        where = f" (line {lines[i]})" if lines is not None else ""
        raise SpecError(KEY, f"row {i + 1}{where} has {what} ({path.name})")
    if n < 2:
        raise SpecError(KEY, f"has {n} point{'s' if n != 1 else ''}; need at least 2 ({path.name})")
    return a


def build_points(spec: dict, base_dir=None) -> KernelDensity:
    path = resolve_path(spec.get("path"), base_dir)
    h = float(spec.get("bandwidth", 0.1) if spec.get("bandwidth") is not None else 0.1)
    if not h > 0 or not math.isfinite(h):
        raise SpecError("density.bandwidth", f"must be a positive number, got {h:g}")
    pts = load_points(path)
    b = spec.get("bounds")
    bounds = None if b is None else check_bounds(b, pts.shape[1])
    return KernelDensity(pts, h, bounds=bounds, kind="points")
