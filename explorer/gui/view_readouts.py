"""The text of the views' readouts: the learned-density line, the sample quality of the
cloud beside its floor, particles off view, what the backdrop is, a mode's label. Plain
functions of numbers (gui/views_area.py puts them on screen; the tests read them)."""

from __future__ import annotations

import numpy as np

from ..core.objectives import conditioning
from ..core.scores import finest_level, level_kind, level_label, level_noise


def _percent(f: float) -> str:
    return "< 0.01%" if 100 * f < 0.01 else f"{100 * f:.2g}%"


def density_readout(res, n: int, dim: int, floor: float | None) -> str:
    """Two lines under the densities: the grid KL, and how far the field is from a gradient
    (beside the same figure for the exact score on the same grid: what the grid resolves)."""
    grid = f"{n}-point" if dim == 1 else "×".join([str(n)] * dim)
    kl = "n/a" if res.kl_grid is None else f"{res.kl_grid:.3g}"
    lines = [f"KL(p ‖ pθ) on the {grid} grid: {kl} nats"]
    if res.curl_fraction is not None:
        ref = "" if floor is None else f" (exact score: {_percent(floor)})"
        lines.append(f"curl fraction {_percent(res.curl_fraction)}{ref}")
    return "\n".join(lines)


def outside_count(x: np.ndarray, bounds) -> int:
    """Particles outside the view box (or not finite): the readout says how many are off view."""
    b = np.asarray(bounds, dtype=np.float64)
    x = np.asarray(x)
    inside = np.isfinite(x).all(axis=1) & ((x >= b[:, 0]) & (x <= b[:, 1])).all(axis=1)
    return int(len(x) - inside.sum())


BLOWN_UP = 1e4   # SW2 this many times its noise floor: the particles diverged


def quality_lines(q: dict) -> str:
    """One line for the particle readout: the sliced Wasserstein distance (in data units) and
    the grid total variation (0 to 1) of the cloud to exact samples, and the same for exact
    samples of the same size (the noise floor). MMD and KL are in metrics.json, the compare
    table and exports; the readout column has no room for four."""
    f = q["floor"]
    sw, tv = q["sliced_wasserstein"], q["tv_grid"]
    if not np.isfinite(sw) or sw > BLOWN_UP * max(f["sliced_wasserstein"], 1e-12):
        # 3.9e+37 read as a distance; it is a cloud that left the box for infinity
        return "SW₂, TV: none: the particles blew up (not finite or far outside the box)"
    # the floor is what exact samples of the same size score: at or under it is as good as
    # the cloud can be measured, not better than exact
    floor = f"{f['sliced_wasserstein']:.2g} · {f['tv_grid']:.2f}"
    at = sw <= f["sliced_wasserstein"] and tv <= f["tv_grid"]
    return (f"SW₂ {sw:.2g} · TV {tv:.2f} "
            + (f"(at the floor of exact samples: {floor})" if at
               else f"(floor of exact samples: {floor})"))


def backdrop_name(level) -> str:
    """The density drawn under the arrows and particles, named for its noise level (the
    slider's): p(x) at the data, p_σ or p_t, the noised density, elsewhere."""
    if level is None:
        return "density p(x)"
    sub = "σ" if level[0] == "sigma" else "t"
    return f"noised density p_{sub} at {level_label(level)}"


def mode_label(mean) -> str:
    return "(" + ", ".join(f"{v:g}" for v in mean) + ")"


def field_caption(session, level) -> str:
    """The caption under the field panels: the level the fields are drawn at and where the
    true score comes from."""
    preset = session.preset
    src = session.density.score_source
    if level is not None and level[0] == "sigma":
        return f"at noise level σ = {level[1]:.3g} (true: score of p_σ, {src}); density p_σ"
    if level is not None and level[0] == "t":
        sigma, scale = level_noise(preset, level)
        return (f"at {level_label(level)}: x_t = {scale:.3g} x + {sigma:.3g} z "
                f"(true: score of p_t, {src}); density p_t")
    if level is not None:
        sigma, _ = level_noise(preset, level)
        return (f"at DDPM step t = {int(level[1])}, noise √(1−ᾱ_t) = {sigma:.3g} "
                f"(true: score of the marginal p_t, {src}); density p_t")
    cond = conditioning(preset)
    if cond == "sigma":
        return f"learned at σ_min = {preset.objective['sigma_min']:.3g}; true score: {src}"
    if cond == "time":
        return f"learned at t = 0; true score: {src}"
    if level_kind(preset) == "t":
        return f"learned at {level_label(finest_level(preset))}; true score: {src}"
    return f"true score: {src}"
