"""The words of the pictures: captions, titles, labels, readouts and status lines.

Why one module: the window (gui/views_area.py), the exported animations and stills
(export/frames.py, run_export.py) and the notebook figures (export/figures.py) draw the same
pictures, and a lecturer who exports a slide must read on it what the class saw in the
window. Plain functions of the preset, the density and numbers: no Qt (the tests read them
directly, tests/test_presets_contract.py keeps Qt out).
"""

from __future__ import annotations

import numpy as np

from ..measures.metrics import mode_weights
from ..objectives import conditioning, short_label
from ..samplers import sampler_class, sampler_label
from ..scores import finest_level, level_kind, level_label, level_noise

BLOWN_UP = 1e4   # SW2 this many times its noise floor: the particles diverged


# ------------------------------------------------------------------ levels and fields
def level_text(preset, level) -> str:
    """The noise slider's label: the level, and for a time its noise std."""
    if level[0] == "sigma":
        return level_label(level)
    sigma, _ = level_noise(preset, level)
    return f"{level_label(level)} (σ_t = {sigma:.2g})"


def backdrop_name(level) -> str:
    """The density drawn under the arrows and particles, named for its noise level (the
    slider's): p(x) at the data, p_σ or p_t, the noised density, elsewhere."""
    if level is None:
        return "density p(x)"
    sub = "σ" if level[0] == "sigma" else "t"
    return f"noised density p_{sub} at {level_label(level)}"


def field_caption(preset, density, level=None, step: int | None = None,
                  budget: int | None = None) -> str:
    """The caption under the learned and true fields: the level they are drawn at and where
    the true score comes from; with `step`, an exported frame's training step and objective."""
    src = density.score_source
    if level is not None and level[0] == "sigma":
        text = f"at noise level σ = {level[1]:.3g} (true: score of p_σ, {src}); density p_σ"
    elif level is not None and level[0] == "t":
        sigma, scale = level_noise(preset, level)
        text = (f"at {level_label(level)}: x_t = {scale:.3g} x + {sigma:.3g} z "
                f"(true: score of p_t, {src}); density p_t")
    elif level is not None:
        sigma, _ = level_noise(preset, level)
        text = (f"at DDPM step t = {int(level[1])}, noise √(1−ᾱ_t) = {sigma:.3g} "
                f"(true: score of the marginal p_t, {src}); density p_t")
    elif conditioning(preset) == "sigma":
        text = f"learned at σ_min = {preset.objective['sigma_min']:.3g}; true score: {src}"
    elif conditioning(preset) == "time":
        text = f"learned at t = 0; true score: {src}"
    elif level_kind(preset) == "t":
        text = f"learned at {level_label(finest_level(preset))}; true score: {src}"
    else:
        text = f"true score: {src}"
    if step is not None:
        text = f"step {step}/{budget} · {short_label(preset.objective['kind'])}, {text}"
    return text


def loss_title(objective_kind: str) -> str:
    return f"Loss ({short_label(objective_kind)})"


def noise_errors_what(preset) -> str:
    """What the error-by-noise-level plot's x axis runs over."""
    name = short_label(preset.objective["kind"])
    kind = level_kind(preset)
    return {"sigma": f"{name}'s σ levels", "step": f"{name} steps t"}.get(kind, f"{name} times t")


# ------------------------------------------------------------------ learned density
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


def learned_density_source(energy_model: bool) -> str:
    """How the learned density is made: -E of an energy model, else the field's potential."""
    return "pθ ∝ exp(−Eθ)" if energy_model else "pθ ∝ exp(φ), ∇φ ≈ sθ"


def density_titles(level, energy_model: bool, short: bool = False) -> tuple[str, str]:
    """(learned, true) panel titles; `short` for the 3-D slice panel's narrow column."""
    if short:
        return (learned_density_source(energy_model),
                "True p" if level is None else f"True p, {level_label(level)}")
    return (f"Learned density {learned_density_source(energy_model)}",
            "True density p(x)" if level is None else f"True density at {level_label(level)}")


# ------------------------------------------------------------------ particles
def outside_count(x: np.ndarray, bounds) -> int:
    """Particles outside the view box (or not finite): the readout says how many are off view."""
    b = np.asarray(bounds, dtype=np.float64)
    x = np.asarray(x)
    inside = np.isfinite(x).all(axis=1) & ((x >= b[:, 0]) & (x <= b[:, 1])).all(axis=1)
    return int(len(x) - inside.sum())


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


def mode_label(mean) -> str:
    return "(" + ", ".join(f"{v:g}" for v in np.atleast_1d(mean)) + ")"


def mode_readout(x: np.ndarray, density, fractions=None):
    """(fractions in each mode, true weights, labels) for a mixture, else None; `fractions`
    already measured (the sampling loop measures them) are not measured again."""
    comps = density.components()
    if comps is None:
        return None
    if fractions is None:
        fractions = mode_weights(x, comps)
    return fractions, [float(w) for w in comps[0]], [mode_label(m) for m in comps[1]]


def mode_weights_line(readout) -> str:
    """A mode readout (mode_readout) on one line, for a figure's title."""
    fractions, weights, _ = readout
    return ("mode weights " + " / ".join(f"{float(v):.2f}" for v in fractions)
            + "   (true " + " / ".join(f"{v:.2f}" for v in weights) + ")")


def sampler_status(kind: str, step: int, total: int, *, sigma=None, t=None, nfe: int = 0,
                   score: str | None = None) -> str:
    """The sampler's line over the particles: its name, the step, its cost in score
    evaluations, and the noise it is at (σ, or t and σ_t on a continuous path)."""
    s = sampler_label(kind) + (f" ({score} score)" if score else "") + f", step {step}/{total}"
    if nfe:
        s += f", {nfe:,} NFE"
    if t is not None:
        s += f"\nt = {t:.3g}, σ_t = {sigma:.2g}"
    elif sigma is not None:
        s += f", σ = {sigma:.3g}"
    return s


def sampler_idle_status(sampler: dict) -> str:
    """The line over an empty cloud: which sampler will run, on which score, and its step."""
    uses_eps = getattr(sampler_class(sampler["kind"]), "uses_step_size", True)
    return (f"{sampler_label(sampler['kind'])}, {sampler['score']} score"
            + (f", ε = {sampler['step_size']:g}" if uses_eps else f", {sampler['steps']} time steps"))
