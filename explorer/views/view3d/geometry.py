"""3-D geometry for both views, in numpy only: grids and slices of them, arrow segments and
their error colours, tick values, the orthographic projection and the bounding box.

Kept free of Qt so that what the GL view and the projected view draw can be checked
against plain arithmetic.
"""

from __future__ import annotations

import math

import numpy as np

from .. import common as C
from ..style import LEARNED
from ..quiver import CLIP_CELLS, HEAD_FRACTION, HEAD_MAX_CELLS, TYPICAL_FRACTION

AXIS_NAMES = ("x\u2081", "x\u2082", "x\u2083")


DENSITY_MODES = ("cloud", "surface", "off")


ARROW_MODES = ("both", "learned", "true", "off")


NO_GL_NOTE = "OpenGL not available: projected 2-D view"


HEAD_ANGLE = math.radians(24.0)


ERROR_STOPS = np.array([[0.0, *LEARNED], [0.5, 240.0, 86.0, 60.0], [1.0, 255.0, 64.0, 200.0]])


ERROR_HIGH = tuple(int(c) for c in ERROR_STOPS[-1, 1:])


ERROR_MID = tuple(int(c) for c in ERROR_STOPS[1, 1:])


DENSITY_COLOR = (72, 190, 160)     # the cloud / surfaces when no weights are given


SLICE_COLOR = (235, 235, 235)


BOX_COLOR = (150, 150, 160)


ROTATE_DEG_PER_S = 24.0


SURFACE_LEVELS = ((0.08, 0.30), (0.5, 0.65))   # (fraction of max p, alpha): readable on a projector


SURFACE_GRID_MAX = 32                         # density grids are subsampled to this per axis


ELEVATION = 22.0                   # default camera elevation, degrees


AZIMUTH = -60.0


# ====================================================================== numbers (no Qt)
def bounds3(bounds) -> np.ndarray:
    return C.bounds_array(bounds, 3)


def clean3(x) -> np.ndarray:
    """(n, 3) float32, finite rows only (2-D input is padded with zeros)."""
    a = C.as_points(x, 3)
    if len(a) and not np.isfinite(a).all():
        a = a[np.isfinite(a).all(axis=1)]
    return np.ascontiguousarray(a, dtype=np.float32)


def fit_rows(a, g: int) -> np.ndarray | None:
    """(g, 3) float64 or None when missing or of the wrong length."""
    if a is None:
        return None
    a = np.asarray(a, dtype=np.float64)
    if a.size == 0 or g == 0:
        return None
    a = C.as_points(a, 3)
    return a if len(a) == g else None


def reference_scale3(*vector_sets, q: float = 95.0) -> float:
    """`quiver.reference_scale` for 3-D vectors: the q-th percentile of all finite norms."""
    norms = [np.linalg.norm(C.as_points(v, 3), axis=1) for v in vector_sets if v is not None]
    allv = np.concatenate(norms) if norms else np.zeros(0)
    allv = allv[np.isfinite(allv) & (allv > 0)]
    if allv.size == 0:
        return 1.0
    s = float(np.percentile(allv, q))
    return s if s > 0 else float(allv.max())


def grid_spacing3(points) -> float:
    """The spacing of a regular grid of points, or (volume / G)^(1/3) * 0.6 for scattered ones."""
    p = np.asarray(points, dtype=np.float64)
    p = p[np.isfinite(p).all(axis=1)] if len(p) else p
    if len(p) < 2:
        return 1.0
    steps = []
    sizes = []
    for k in range(3):
        u = np.unique(p[:, k])
        sizes.append(len(u))
        if len(u) > 1:
            steps.append(float(np.min(np.diff(u))))
    if int(np.prod(sizes)) == len(p) and steps:   # a full grid (or a plane of one)
        return min(steps)
    ext = np.ptp(p, axis=0)
    ext = ext[ext > 0]
    if not len(ext):
        return 1.0
    vol = float(np.prod(ext)) if len(ext) == 3 else float(np.prod(ext)) * float(ext.mean())
    return 0.6 * (vol / len(p)) ** (1.0 / 3.0)


def arrow_segments(points, vectors, scale: float, cell: float) -> tuple[np.ndarray, np.ndarray]:
    """Line-segment vertices (k * 10, 3) float32 for the drawable arrows and the (G,) mask of
    which rows were drawn: per arrow the shaft, then four barbs of the head."""
    p = np.asarray(points, dtype=np.float64)
    v = np.asarray(vectors, dtype=np.float64)
    norm = np.linalg.norm(v, axis=1)
    ok = np.isfinite(norm) & (norm > 0) & np.isfinite(p).all(axis=1)
    if not ok.any():
        return np.zeros((0, 3), np.float32), ok
    p0, n0 = p[ok], norm[ok]
    d = v[ok] / n0[:, None]
    length = np.minimum(n0 / scale * TYPICAL_FRACTION * cell, CLIP_CELLS * cell)
    tip = p0 + d * length[:, None]
    head = np.minimum(HEAD_FRACTION * length, HEAD_MAX_CELLS * cell)[:, None]
    # two unit vectors perpendicular to d
    e = np.zeros_like(d)
    e[np.arange(len(d)), np.argmin(np.abs(d), axis=1)] = 1.0
    a = np.cross(d, e)
    a /= np.linalg.norm(a, axis=1, keepdims=True)
    b = np.cross(d, a)
    c, s = math.cos(HEAD_ANGLE), math.sin(HEAD_ANGLE)
    seg = np.empty((len(p0), 10, 3))
    seg[:, 0] = p0
    seg[:, 1] = tip
    for i, side in enumerate((a, -a, b, -b)):
        seg[:, 2 + 2 * i] = tip
        seg[:, 3 + 2 * i] = tip + head * (-c * d + s * side)
    return np.ascontiguousarray(seg.reshape(-1, 3), dtype=np.float32), ok


def path_segments(paths) -> np.ndarray:
    """Particle paths, (steps + 1, k, d) positions, as line segments (2m, d): each particle's
    step i -> i + 1 as one pair (for connect="pairs" and GL "lines"), non-finite steps left out."""
    if paths is None:
        return np.zeros((0, 3))
    a = np.asarray(paths, dtype=np.float64)
    if a.ndim != 3 or a.shape[0] < 2:
        return np.zeros((0, a.shape[-1] if a.ndim else 3))
    start, end = a[:-1].reshape(-1, a.shape[2]), a[1:].reshape(-1, a.shape[2])
    ok = np.isfinite(start).all(1) & np.isfinite(end).all(1)
    return np.stack([start[ok], end[ok]], 1).reshape(-1, a.shape[2])


def error_colors(frac) -> np.ndarray:
    """(k, 3) float in 0..1: orange at 0, red at 0.5, magenta at >= 1."""
    t = np.clip(np.nan_to_num(np.asarray(frac, dtype=np.float64), nan=1.0), 0.0, 1.0)
    out = np.empty((len(t), 3))
    for k in range(3):
        out[:, k] = np.interp(t, ERROR_STOPS[:, 0], ERROR_STOPS[:, k + 1])
    return out / 255.0


def slice_grid(bounds, axis: int, value: float, n: int = 24) -> np.ndarray:
    """(n*n, 3) float32 cell-centred points on the plane x_axis = value; the two other
    axes in increasing order, the first slowest (the order of `core.grid.grid_points`)."""
    b = bounds3(bounds)
    others = [k for k in range(3) if k != axis]
    axes = [b[k, 0] + (b[k, 1] - b[k, 0]) / n * (np.arange(n) + 0.5) for k in others]
    U, V = np.meshgrid(*axes, indexing="ij")
    pts = np.empty((n * n, 3))
    pts[:, axis] = value
    pts[:, others[0]] = U.ravel()
    pts[:, others[1]] = V.ravel()
    return pts.astype(np.float32)


def coarse_grid(bounds, n: int = 9) -> np.ndarray:
    """(n**3, 3) float32 cell-centred grid, x1 slowest: a good place for 3-D arrows."""
    from ...core.measures.grid import grid_points
    return grid_points(bounds3(bounds), n)


def grid_subset(n: int, max_per_axis: int = 9) -> np.ndarray:
    """Indices into an n**3 grid in `core.grid` order keeping every k-th point per axis
    (k = ceil(n / max_per_axis)): 3-D arrows on a coarser grid than the field's."""
    k = max(1, int(math.ceil(n / max_per_axis)))
    keep = np.arange(n)[(k - 1) // 2::k] if k > 1 else np.arange(n)
    i, j, m = np.meshgrid(keep, keep, keep, indexing="ij")
    return ((i * n + j) * n + m).ravel()


def grid_slice(bounds, n: int, axis: int, value: float) -> tuple[np.ndarray, float]:
    """The plane of an n**3 cell-centred grid (`core.grid` order) nearest to x_axis = value:
    (indices of its n*n points, in `slice_grid` order; the plane's x_axis)."""
    b = bounds3(bounds)
    lo, hi = b[axis]
    step = (hi - lo) / n
    k = int(np.clip(np.floor((value - lo) / step), 0, n - 1))
    idx = np.arange(n ** 3).reshape(n, n, n)
    plane = np.take(idx, k, axis=axis).ravel()
    return plane, float(lo + (k + 0.5) * step)


def nice_ticks(lo: float, hi: float, target: int = 4) -> list[float]:
    span = hi - lo
    if not span > 0:
        return [lo]
    raw = span / target
    mag = 10 ** math.floor(math.log10(raw))
    step = min((m * mag for m in (1, 2, 2.5, 5, 10) if m * mag >= raw), default=10 * mag)
    first = math.ceil(lo / step - 1e-9) * step
    ticks = []
    t = first
    while t <= hi + 1e-9 * span:
        ticks.append(0.0 if abs(t) < 1e-12 * span else t)
        t += step
    return ticks


def tick_text(v: float) -> str:
    return f"{v:.3g}".replace("-", "\u2212")


def view_basis(azimuth: float, elevation: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Screen right, screen up and toward-camera unit vectors for a camera at (azimuth,
    elevation) degrees looking at the centre (the conventions of GLViewWidget)."""
    a, e = math.radians(azimuth), math.radians(elevation)
    toward = np.array([math.cos(e) * math.cos(a), math.cos(e) * math.sin(a), math.sin(e)])
    right = np.array([-math.sin(a), math.cos(a), 0.0])
    up = np.cross(toward, right)
    return right, up, toward


def project(points, centre, azimuth: float, elevation: float) -> np.ndarray:
    """Orthographic (u, v) of 3-D points seen from (azimuth, elevation), v up."""
    p = np.asarray(points, dtype=np.float64).reshape(-1, 3) - centre
    r, u, _ = view_basis(azimuth, elevation)
    return np.stack([p @ r, p @ u], axis=1)


def box_corners(b: np.ndarray) -> np.ndarray:
    idx = np.array([[i, j, k] for i in (0, 1) for j in (0, 1) for k in (0, 1)])
    return np.stack([b[0, idx[:, 0]], b[1, idx[:, 1]], b[2, idx[:, 2]]], axis=1)


def box_edges(b: np.ndarray) -> np.ndarray:
    """(24, 3) vertices: the 12 edges of the box as segment pairs."""
    c = box_corners(b)
    segs = []
    for i in range(8):
        for j in range(i + 1, 8):
            if bin(i ^ j).count("1") == 1:
                segs += [c[i], c[j]]
    return np.asarray(segs)


def axis_labels_layout(b: np.ndarray, to_screen, font_px: float):
    """Where to write the axis names and ticks, in screen coordinates (y down).

    `to_screen((n, 3)) -> (n, 2)` (called twice, batched). x1 and x2 go on their lowest
    edge on screen, x3 on its leftmost vertical edge, each pushed outward from the box
    centre; tick labels that would overlap one already placed are left out. Returns a
    list of ("name" | "tick", text, (x, y), (dx, dy) outward direction).
    """
    corners = box_corners(b)                        # index i*4 + j*2 + k for (x_i, y_j, z_k)
    cs = to_screen(np.vstack([corners, b.mean(axis=1)[None]]))
    centre_s = cs[8]
    cs = cs[:8]
    chosen = []
    for ax in range(3):
        best = None
        for i in (0, 1):
            for j in (0, 1):
                bits = [0, 0, 0]
                others = [k for k in range(3) if k != ax]
                bits[others[0]], bits[others[1]] = i, j
                lo = list(bits)
                hi = list(bits)
                lo[ax], hi[ax] = 0, 1
                s0 = cs[lo[0] * 4 + lo[1] * 2 + lo[2]]
                s1 = cs[hi[0] * 4 + hi[1] * 2 + hi[2]]
                if not (np.isfinite(s0).all() and np.isfinite(s1).all()):
                    continue
                mid = (s0 + s1) / 2
                key = -mid[0] if ax == 2 else mid[1]
                if best is None or key > best[0]:
                    p0 = corners[lo[0] * 4 + lo[1] * 2 + lo[2]]
                    best = (key, p0, mid)
        chosen.append(best)
    tick_pts, tick_meta = [], []
    for ax, best in enumerate(chosen):
        if best is None:
            continue
        for t in nice_ticks(b[ax, 0], b[ax, 1]):
            q = best[1].copy()
            q[ax] = t
            tick_pts.append(q)
            tick_meta.append((ax, t))
    ts = to_screen(np.asarray(tick_pts)) if tick_pts else np.zeros((0, 2))

    out = []
    placed: list[np.ndarray] = []

    def free(at) -> bool:
        if any(np.all(np.abs(at - q) < (font_px * 1.3, font_px * 1.0)) for q in placed):
            return False
        placed.append(at)
        return True

    dirs = {}
    for ax, best in enumerate(chosen):
        if best is None:
            continue
        mid = best[2]
        out_dir = mid - centre_s
        n = float(np.hypot(*out_dir))
        out_dir = out_dir / n if n > 0 and np.isfinite(n) else np.array([0.0, 1.0])
        dirs[ax] = out_dir
        ticks = [t for a, t in tick_meta if a == ax]
        # the name beyond the tick labels: half a label's extent along out_dir, plus room
        half = max((len(tick_text(t)) for t in ticks), default=1) * 0.3 * font_px
        reach = abs(out_dir[0]) * half + abs(out_dir[1]) * 0.5 * font_px
        name_at = mid + out_dir * (font_px * 2.2 + reach)
        placed.append(name_at)
        out.append(("name", AXIS_NAMES[ax], (float(name_at[0]), float(name_at[1])),
                    (float(out_dir[0]), float(out_dir[1]))))
    for (ax, t), sp in zip(tick_meta, ts):
        d = dirs[ax]
        if np.isfinite(sp).all() and free(sp + d * font_px):
            out.append(("tick", tick_text(t), (float(sp[0]), float(sp[1])), (float(d[0]), float(d[1]))))
    return out
