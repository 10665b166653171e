"""likelihood_probes.png: how the Hutchinson NLL's variance falls with the number of probes.

Why a picture: the estimator's cost grows with k and its variance falls as 1/k; seeing the
measured variance on the 1/k line (and the exact-trace NLL inside the error bar) is the
lesson of issue 26's likelihood estimators. Drawn from metrics.json's
nll_hutchinson_variance_by_k with matplotlib (Agg), as compare's figures are.
"""

from __future__ import annotations

from pathlib import Path

from ..files import write_atomic


def draw_variance_by_k(metrics: dict, path: Path) -> bool:
    """Write the figure; False (nothing written) when the metrics hold no Hutchinson estimate."""
    vk = metrics.get("nll_hutchinson_variance_by_k")
    if not vk or metrics.get("nll_hutchinson") is None:
        return False
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    ks = vk["k"]
    fig, ax = plt.subplots(figsize=(6.4, 4.0), dpi=100)
    pred = [(k, v) for k, v in zip(ks, vk["predicted"]) if v is not None and v > 0]
    obs = [(k, v) for k, v in zip(ks, vk["observed"]) if v is not None and v > 0]
    if pred:
        ax.plot(*zip(*pred), "-", color="#0072B2", label="predicted  Σᵢ vᵢ / (k n² d²)")
    if obs:
        ax.plot(*zip(*obs), "o", color="#D55E00", label="observed between disjoint groups of k probes")
    if pred or obs:
        ax.set_xscale("log", base=2)
        ax.set_yscale("log")
    else:
        ax.text(0.5, 0.5, "zero variance: the probes give the exact trace here",
                ha="center", va="center", transform=ax.transAxes)
    ax.set_xlabel("probes k")
    ax.set_ylabel("Var of the NLL estimate (nats/dim)²")
    exact = metrics.get("nll")
    line = (f"Hutchinson ({metrics.get('nll_hutchinson_probe')}, k = {metrics.get('nll_hutchinson_probes')}): "
            f"NLL {metrics['nll_hutchinson']:.4f} ± {metrics['nll_hutchinson_se']:.4f}")
    if exact is not None:
        line += f";  exact trace {exact:.4f}"
    ax.set_title(line, fontsize=9)
    if pred or obs:
        ax.legend(fontsize=8, loc="upper right")
    fig.tight_layout()
    try:   # through a private temporary folder: a planted link is never written through
        write_atomic(path, lambda tmp: fig.savefig(tmp, format="png"))
    finally:
        plt.close(fig)
    return True
