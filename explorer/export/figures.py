"""The window's pictures as matplotlib Figures, for notebooks and scripts (`se.show`).

Jupyter displays a Figure inline and `savefig` writes it, with no Qt event loop and no
screen. The look is the window's: the colours, names and titles come from the views
(explorer/views/style.py, common.py, field_view.py, loss_view.py, quiver.py), the dark
density backdrop is the views' own lookup table with the same square-root stretch, arrow
lengths follow views/quiver.py (a vector of the panel's 95th-percentile norm is 0.9 of a
cell, none longer than 1.2 cells), and the loss plot has the loss view's axes (loss on the
left, logarithmic when every loss is positive; Fisher divergence F on its own logarithmic
axis on the right, in green; for ISM the smoothed loss + 1/2 E|grad log p|^2, which aligns
with F). The figure is a plain `matplotlib.figure.Figure`, not a pyplot one, so a
notebook cell that returns it shows it once.
"""

from __future__ import annotations

import math

import numpy as np
from matplotlib.colors import ListedColormap
from matplotlib.figure import Figure

from ..core.measures import pictures
from ..core.errors import SpecError
from ..core.measures.grid import grid_axes, volume_slice
from ..core.measures.learned_density import learned_log_density
from ..core.session import captions as T
from ..core.objectives import short_label
from ..core.run.headless import field_arrays
from ..core.samplers import sampler_label
from ..core.scores import level_label
from ..views import common as C
from ..views import colour as Kc
from ..views.field_view import DENSITY_LEARNED_TITLE, DENSITY_TRUE_TITLE, LEARNED_TITLE, TRUE_TITLE
from ..views.loss_view import FISHER_LEGEND, ema, objective_is_positive
from ..views.quiver import CLIP_CELLS, TYPICAL_FRACTION
from ..views.style import BACKGROUND, FISHER, FOREGROUND, LEARNED, LOSS, PARTICLES, TRUE

WHATS = ("field", "particles", "loss", "density")
MAX_ARROWS = 24        # per axis: a 32-point grid thinned to every 2nd arrow at figure size
PANEL_INCHES = 4.6


def rgb(c, alpha: float | None = None):
    t = tuple(v / 255.0 for v in c[:3])
    return (*t, alpha) if alpha is not None else t


def figure(run, what: str = "field", particles=None, width: float | None = None) -> Figure:
    """`what`: field | particles | loss | density. `run`: anything with `preset`, `trainer`,
    `fisher` ((k, 3) rows) and `loss_curve()` (explorer.api.Run). `particles` (n, d) replace
    the run's latest cloud (`run.particles`). `width` in inches."""
    if what not in WHATS:
        raise SpecError("what", f"must be one of {', '.join(WHATS)}, got {what!r}")
    p = run.preset
    if what == "loss":
        fig = _figure(1, width if width is not None else 1.4 * PANEL_INCHES, aspect=0.55)
        _loss(fig, fig.add_subplot(1, 1, 1), run)
        return fig
    if what == "particles":
        x = particles if particles is not None else getattr(run, "particles", None)
        if x is None:
            raise SpecError("particles", "no particles to draw: sample first (se.sample(run))")
        return _particles(run, np.asarray(x, dtype=np.float64).reshape(-1, p.dim), width)
    if what == "field":
        return _field(run, width)
    return _density(run, width)


# ----------------------------------------------------------------- frame
def _figure(panels: int, width: float | None, bounds=None, aspect: float = 0.8) -> Figure:
    """A dark figure of `panels` panels side by side; with 2-D `bounds` its height fits
    boxes of equal aspect (plus the titles, axes and legend)."""
    w = width if width is not None else PANEL_INCHES * panels + 0.6
    if bounds is not None:
        b = np.asarray(bounds, dtype=np.float64)
        aspect = float(np.clip((b[1, 1] - b[1, 0]) / (b[0, 1] - b[0, 0]), 0.4, 1.6))
    h = (w - 0.6) / panels * aspect + 1.4
    return Figure(figsize=(w, h), facecolor=rgb(BACKGROUND), layout="constrained")


def _style(ax, title: str, xlabel: str = C.X1, ylabel: str = C.X2) -> None:
    fg = rgb(FOREGROUND)
    ax.set_facecolor(rgb(BACKGROUND))
    ax.set_title(title, color=fg)
    ax.set_xlabel(xlabel, color=fg)
    ax.set_ylabel(ylabel, color=fg)
    ax.tick_params(colors=fg, which="both")
    for spine in ax.spines.values():
        spine.set_color(rgb(FOREGROUND, 0.5))


def _legend(fig: Figure, handles) -> None:
    """Under the plots, as the window's legends are (views/legends.legend_under_plot)."""
    if not handles:
        return
    leg = fig.legend(handles=handles, loc="outside lower center", ncol=min(4, len(handles)),
                     frameon=False, fontsize="small")
    for t in leg.get_texts():
        t.set_color(rgb(FOREGROUND))


def _log_ticks(ax, values) -> None:
    """Within one decade matplotlib labels the minor ticks in 1.29x10^0 form: a few plain
    numbers instead (the loss view's SparseLogAxis also keeps log labels sparse)."""
    from matplotlib.ticker import FixedLocator, FuncFormatter, NullFormatter
    v = np.asarray(values, dtype=np.float64)
    v = v[np.isfinite(v) & (v > 0)]
    if v.size and v.max() / v.min() < 10:
        ax.yaxis.set_major_locator(FixedLocator(np.geomspace(v.min(), v.max(), 4)))
        ax.yaxis.set_major_formatter(FuncFormatter(lambda y, _: f"{y:.3g}"))
        ax.yaxis.set_minor_formatter(NullFormatter())


def _box(ax, bounds) -> None:
    b = np.asarray(bounds, dtype=np.float64)
    ax.set_xlim(b[0, 0], b[0, 1])
    ax.set_ylim(b[1, 0], b[1, 1])
    ax.set_aspect("equal")


# ----------------------------------------------------------------- the density backdrop
_LUT = None


def _backdrop_cmap() -> ListedColormap:
    """The views' dark density lookup table (views/colour.dark_lut), as a matplotlib map."""
    global _LUT
    if _LUT is None:
        _LUT = ListedColormap(Kc.dark_lut() / 255.0, name="score_explorer_density")
    return _LUT


def _backdrop(ax, density, bounds, gamma: float = 0.5) -> None:
    """p over 2-D bounds, square-root stretched as the window's DensityImage shows it."""
    img = pictures.density_image(density, bounds)
    b = np.asarray(bounds, dtype=np.float64)
    ax.imshow(np.clip(img, 0, None).T ** gamma, origin="lower", cmap=_backdrop_cmap(),
              extent=(b[0, 0], b[0, 1], b[1, 0], b[1, 1]), vmin=0.0, vmax=1.0,
              interpolation="bilinear", aspect="auto", zorder=0)


def _density_patch():
    from matplotlib.patches import Patch
    return Patch(color=rgb(Kc.density_swatch_color()), label=C.DENSITY_NAME)


# ----------------------------------------------------------------- fields
def _arrows(ax, pts2: np.ndarray, vec2: np.ndarray, n: int, cell: float, color, label: str):
    """Quiver in views/quiver.py's lengths: u = v / scale * 0.9 * cell, |u| <= 1.2 cell, the
    scale the 95th percentile of the panel's norms; thinned to MAX_ARROWS per axis."""
    k = max(1, math.ceil(n / MAX_ARROWS))
    P = pts2.reshape(n, n, 2)[::k, ::k].reshape(-1, 2)
    V = vec2.reshape(n, n, 2)[::k, ::k].reshape(-1, 2).astype(np.float64)
    ok = np.isfinite(V).all(axis=1)
    P, V = P[ok], V[ok]
    norms = np.linalg.norm(V, axis=1)
    pos = norms[norms > 0]
    scale = float(np.percentile(pos, 95)) if pos.size else 1.0
    c = cell * k
    U = V / scale * TYPICAL_FRACTION * c
    length = np.linalg.norm(U, axis=1)
    too_long = length > CLIP_CELLS * c
    U[too_long] *= (CLIP_CELLS * c / length[too_long])[:, None]
    return ax.quiver(P[:, 0], P[:, 1], U[:, 0], U[:, 1], angles="xy", scale_units="xy", scale=1,
                     color=rgb(color), width=0.004, headwidth=3.5, headlength=4,
                     headaxislength=3.5, label=label, zorder=2)


def _plane(pts, learned, true, preset):
    """2-D points and the first two components of both fields: the grid itself in 2-D, the
    plane x3 = middle of the box in 3-D (linear between the grid planes, as the window's
    slice panel). Returns (points (n*n, 2), learned, true, n, title suffix)."""
    n = int(round(len(pts) ** (1.0 / preset.dim)))
    if preset.dim == 2:
        return pts, learned, true, n, ""
    b = np.asarray(preset.density["bounds"], dtype=np.float64)
    z = float(b[2].mean())
    ax0, ax1 = grid_axes(b[:2], n)
    mesh = np.stack(np.meshgrid(ax0, ax1, indexing="ij"), axis=-1).reshape(-1, 2)
    cut = [np.stack([volume_slice(f[:, j], b, n, 2, z).ravel() for j in (0, 1)], axis=1)
           for f in (learned, true)]
    return mesh, cut[0], cut[1], n, f" (slice x\u2083 = {z:.3g})"


def _field(run, width) -> Figure:
    t, p = run.trainer, run.preset
    pts, learned, true = field_arrays(t, p)
    if p.dim == 1:
        fig = _figure(1, width)
        ax = fig.add_subplot(1, 1, 1)
        order = np.argsort(pts[:, 0])
        x = pts[order, 0]
        h1 = ax.plot(x, true[order, 0], color=rgb(TRUE), lw=2, label=C.TRUE_NAME)[0]
        h2 = ax.plot(x, learned[order, 0], color=rgb(LEARNED), lw=2, label=C.LEARNED_NAME)[0]
        _style(ax, "Score", "x", "score")
        ax.set_xlim(*p.density["bounds"][0])
        _legend(fig, [h2, h1])
        return fig
    pts2, l2, t2, n, where = _plane(pts, learned, true, p)
    b = np.asarray(p.density["bounds"], dtype=np.float64)[:2]
    cell = float((b[0, 1] - b[0, 0]) / n)
    fig = _figure(2, width, b)
    axes = fig.subplots(1, 2, sharex=True, sharey=True)
    handles = [_density_patch()] if p.dim == 2 else []
    for ax, vec, color, title, name in ((axes[0], l2, LEARNED, LEARNED_TITLE, C.LEARNED_NAME),
                                        (axes[1], t2, TRUE, TRUE_TITLE, C.TRUE_NAME)):
        if p.dim == 2:
            _backdrop(ax, t.density, b)
        handles.append(_arrows(ax, pts2, vec, n, cell, color, name))
        _style(ax, title + where)
        _box(ax, b)
    _legend(fig, handles)
    if t.step_count == 0:
        fig.suptitle("untrained: 0 training steps", color=rgb(C.HINT))
    return fig


# ----------------------------------------------------------------- particles
def _particles(run, x: np.ndarray, width) -> Figure:
    t, p = run.trainer, run.preset
    x = x[np.isfinite(x).all(axis=1)]
    title = f"Particles ({sampler_label(p.sampler['kind'])}, {len(x):,})"
    modes = T.mode_readout(x.astype(np.float32), t.density) if len(x) else None
    note = "" if modes is None else T.mode_weights_line(modes)
    fig = _figure(1, width, p.density["bounds"] if p.dim == 2 else None)
    if p.dim == 1:
        ax = fig.add_subplot(1, 1, 1)
        xs, dens = pictures.density_curve(t.density, p.density["bounds"])
        ax.fill_between(xs, dens, color=rgb(Kc.density_swatch_color()), label=C.DENSITY_NAME)
        ax.hist(x[:, 0], bins=60, range=tuple(p.density["bounds"][0]), density=True,
                histtype="step", color=rgb(PARTICLES), lw=1.5, label="particles")
        _style(ax, title, "x", "density")
        handles = ax.get_legend_handles_labels()[0]
    elif p.dim == 2:
        ax = fig.add_subplot(1, 1, 1)
        _backdrop(ax, t.density, p.density["bounds"])
        size = max(0.5, 6.0 / math.sqrt(max(1.0, len(x) / 1000.0)))
        ax.scatter(x[:, 0], x[:, 1], s=size, color=rgb(PARTICLES), linewidths=0,
                   alpha=0.85, zorder=2)
        _style(ax, title)
        _box(ax, p.density["bounds"])
        handles = [_density_patch()]
    else:
        ax = fig.add_subplot(1, 1, 1, projection="3d")
        ax.scatter(x[:, 0], x[:, 1], x[:, 2], s=1.5, color=rgb(PARTICLES), linewidths=0)
        _style(ax, title)
        ax.set_zlabel("x\u2083", color=rgb(FOREGROUND))
        b = np.asarray(p.density["bounds"], dtype=np.float64)
        ax.set(xlim=b[0], ylim=b[1], zlim=b[2])
        for axis in (ax.xaxis, ax.yaxis, ax.zaxis):
            axis.set_pane_color(rgb(BACKGROUND))
        handles = []
    if note:   # the window's mode readout, under the title
        ax.set_title(f"{title}\n{note}", color=rgb(FOREGROUND))
    _legend(fig, handles)
    return fig


# ----------------------------------------------------------------- loss
def _loss(fig: Figure, ax, run) -> None:
    p, t = run.preset, run.trainer
    steps, loss = run.loss_curve()
    ok = np.isfinite(loss)
    steps, loss = steps[ok], loss[ok]
    obj = p.objective["kind"]
    name = short_label(obj)
    log = objective_is_positive(obj) and len(loss) > 0 and bool(np.all(loss > 0))
    handles = []
    if len(loss):
        handles.append(ax.plot(steps, loss, color=rgb(LOSS, 70 / 255), lw=0.9,
                               label="loss (raw)")[0])
        smooth = ema(loss)
        handles.append(ax.plot(steps, smooth, color=rgb(LOSS), lw=2.1,
                               label="loss (smoothed)")[0])
    _style(ax, f"Training loss ({name})", "training step", "loss (log)" if log else "loss")
    if log:
        ax.set_yscale("log")
    fisher = run.fisher
    on_right = []   # values on the Fisher axis, for its ticks
    if len(fisher) or obj == "ism":
        right = ax.twinx()
        right.set_yscale("log")
        right.tick_params(colors=rgb(FISHER), which="both")
        right.set_ylabel("Fisher F (log)", color=rgb(FISHER))
        for spine in right.spines.values():
            spine.set_visible(False)
        if obj == "ism" and len(loss):
            c = t.ism_constant()
            shifted = ema(loss) + c
            keep = shifted > 0
            on_right.append(shifted[keep])
            handles.append(right.plot(steps[keep], shifted[keep], color=rgb(C.ISM_SHIFTED),
                                      lw=2.1, ls="--", label="loss + \u00bd E|\u2207log p|\u00b2 "
                                                              "(aligns with Fisher)")[0])
        if len(fisher):
            at = level_label(t.fisher_level)
            label = FISHER_LEGEND + (f" (at {at})" if at else "")
            keep = fisher[:, 1] > 0
            handles.append(right.plot(fisher[keep, 0], fisher[keep, 1], color=rgb(FISHER), lw=2.1,
                                      marker="o" if len(fisher) <= 300 else None, ms=4,
                                      label=label)[0])
            on_right.append(fisher[keep, 1])
        _log_ticks(right, np.concatenate(on_right) if on_right else [])
    if not handles:
        ax.text(0.5, 0.5, "no training yet", color=rgb(C.HINT), ha="center", va="center",
                transform=ax.transAxes)
    _legend(fig, handles)


# ----------------------------------------------------------------- learned density
def _density(run, width) -> Figure:
    t, p = run.trainer, run.preset
    if p.dim == 3:
        raise SpecError("what", "the learned density is drawn for 1-D and 2-D presets; "
                                "for 3-D use what='field' (a slice) or 'particles'")
    d = learned_log_density(t, p)
    learned = np.exp(d.learned_logp)
    true = np.exp(d.true_logp) if d.true_logp is not None else None
    n = int(p.view["grid"])
    kl = "" if d.kl_grid is None else f"KL(p \u2016 p\u03b8) on the grid {d.kl_grid:.3g}"
    if p.dim == 1:
        fig = _figure(1, width)
        ax = fig.add_subplot(1, 1, 1)
        x = d.points[:, 0]
        hs = []
        if true is not None:
            hs.append(ax.plot(x, true, color=rgb(TRUE), lw=2, label=DENSITY_TRUE_TITLE)[0])
        hs.append(ax.plot(x, learned, color=rgb(LEARNED), lw=2, label=DENSITY_LEARNED_TITLE)[0])
        _style(ax, f"Density\n{kl}" if kl else "Density", "x", "density")
        _legend(fig, hs)
        return fig
    b = np.asarray(p.density["bounds"], dtype=np.float64)
    top = np.nanmax([np.nanmax(learned), np.nanmax(true) if true is not None else 0.0])
    fig = _figure(2, width, b)
    axes = fig.subplots(1, 2, sharex=True, sharey=True)
    image = None
    for ax, values, title in ((axes[0], learned, DENSITY_LEARNED_TITLE),
                              (axes[1], true, DENSITY_TRUE_TITLE)):
        _style(ax, title)
        _box(ax, b)
        if values is None:
            ax.text(0.5, 0.5, "no true density", color=rgb(C.HINT), ha="center",
                    transform=ax.transAxes)
            continue
        image = ax.imshow(values.reshape(n, n).T, origin="lower", cmap="viridis", vmin=0,
                          vmax=top, extent=(b[0, 0], b[0, 1], b[1, 0], b[1, 1]), aspect="auto")
        if true is not None and values is learned:   # contours of p over the learned one
            ax.contour(*np.meshgrid(*grid_axes(b, n), indexing="ij"), true.reshape(n, n),
                       levels=4, colors=[rgb(C.CONTOUR, 0.6)], linewidths=0.8)
    if image is not None:
        bar = fig.colorbar(image, ax=list(axes), shrink=0.8)
        bar.ax.tick_params(colors=rgb(FOREGROUND))
    if kl:
        fig.suptitle(kl, color=rgb(FOREGROUND), fontsize="medium")
    return fig
