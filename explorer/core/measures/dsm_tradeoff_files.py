"""The files of `score-explorer tradeoff`: tradeoff.csv, tradeoff.json, tradeoff.png, tradeoff.svg.

One log-log plot against sigma: on the left axis the relative bias of DSM's optimum (and the
relative Fisher divergence of DSM actually trained at a few sigmas, as points); on the right
axis the variance of the per-sample loss and of its gradient at the fixed network, with
their reference slopes d/(2 sigma^4) and c/sigma^2 dashed. Every file is written under a
temporary name and renamed; the JSON is strict (no NaN: metrics.json_safe).
"""

from __future__ import annotations

import json
from pathlib import Path

from .dsm_tradeoff import Tradeoff
from ..files import write_atomic

FILES = ("tradeoff.csv", "tradeoff.json", "tradeoff.png", "tradeoff.svg")
BIAS_COLOUR = "#1f77b4"
TRAINED_COLOUR = "#d62728"
LOSS_COLOUR = "#2ca02c"
GRAD_COLOUR = "#9467bd"


def figure(result: Tradeoff):
    """The matplotlib Figure (Agg canvas, no pyplot state)."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(9, 5.4), dpi=120, layout="constrained")
    ax = fig.add_subplot()
    s = result.sigmas
    ax.plot(s, result.bias_relative, color=BIAS_COLOUR, marker="o", ms=3, lw=2,
            label="bias: relative F of DSM's optimum ∇log p_σ")
    trained = [t for t in result.trained if t.get("relative_fisher_divergence") is not None]
    if trained:
        ax.plot([t["sigma"] for t in trained], [t["relative_fisher_divergence"] for t in trained],
                ls="none", marker="D", ms=8, color=TRAINED_COLOUR,
                label=f"DSM trained {trained[0]['steps']} steps: relative F")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("noise level σ")
    ax.set_ylabel(r"relative Fisher divergence against $\nabla \log p$", color=BIAS_COLOUR)
    ax.grid(True, which="major", alpha=0.3)

    right = ax.twinx()
    n = len(result.loss_variance)
    right.plot(s[:n], result.loss_variance, color=LOSS_COLOUR, marker="s", ms=3,
               label="Var of the loss ℓ(x, z)")
    right.plot(s, result.loss_variance_theory, color=LOSS_COLOUR, ls="--", lw=1,
               label="d / (2σ⁴)  (slope −4)")
    right.plot(s[:n], result.grad_variance, color=GRAD_COLOUR, marker="^", ms=3,
               label="E|∇θℓ − E∇θℓ|²  (gradient)")
    if result.grad_variance_reference:
        right.plot(s, result.grad_variance_reference, color=GRAD_COLOUR, ls="--", lw=1,
                   label="c / σ²  (slope −2)")
    right.set_yscale("log")
    right.set_ylabel("variance at the fixed network (per sample)")

    slopes = []
    if result.loss_variance_slope is not None:
        slopes.append(f"loss {result.loss_variance_slope:.2f}")
    if result.grad_variance_slope is not None:
        slopes.append(f"gradient {result.grad_variance_slope:.2f}")
    ax.set_title(f"DSM's bias and variance against σ: {result.preset} ({result.density}, d = {result.dim})"
                 + (f"\nmeasured slopes at small σ: {', '.join(slopes)}" if slopes else ""),
                 fontsize="medium")
    handles = ax.get_legend_handles_labels()
    more = right.get_legend_handles_labels()
    fig.legend(handles[0] + more[0], handles[1] + more[1], loc="outside lower center", ncols=3,
               fontsize="small", frameon=False)
    return fig


def write(out: Path, result: Tradeoff) -> list[Path]:
    """Every file of FILES into `out` (created); the paths written."""
    out.mkdir(parents=True, exist_ok=True)
    text = json.dumps(result.to_json(), indent=2, allow_nan=False) + "\n"
    write_atomic(out / "tradeoff.json", lambda p: p.write_text(text))
    write_atomic(out / "tradeoff.csv", lambda p: p.write_text(result.csv_text()))
    fig = figure(result)
    for suffix in ("png", "svg"):
        write_atomic(out / f"tradeoff.{suffix}", lambda p: fig.savefig(p, format=suffix))
    return [out / f for f in FILES]
