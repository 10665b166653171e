"""Sample quality against cost: quality_vs_nfe.csv and quality_vs_nfe.png / .svg, written by
`compare` when a sampler key varies (sampler.kind, sampler.steps, ...).

Why: a few-step sampler is worth its name only if its samples are as good at fewer score
evaluations. Each variant is a point (mean over its seeds): x its score evaluations (`nfe`,
metrics.json), y the sample metrics against exact samples divided by their noise floor (the
same metric for a second set of exact samples: 1 is as good as exact sampling can tell) and
the largest mode-weight error; one curve per sampler kind and score (exact or learned: vary
sampler.score too to get both). No Qt: the window draws the same rows (`points`).
"""

from __future__ import annotations

import csv
import io
from collections import defaultdict
from pathlib import Path

import numpy as np

from ..files import write_atomic
from .execute import Finished

QUALITY = ("sliced_wasserstein", "tv_grid", "mmd")       # metrics.json sample_metrics, over the floor
LABELS = {"sliced_wasserstein": "SW2 / floor", "tv_grid": "TV / floor",
          "mmd": "MMD^2 (grey: its floor; < 0: below noise)",   # unbiased: may be < 0
          "weight_error": "max |mode weight - truth|"}
COLUMNS = ("sampler", "score", "steps", "runs", "nfe", *(c for q in QUALITY for c in (q, f"{q}_floor")),
           "weight_error")


def wanted(keys: list[str]) -> bool:
    """Whether a comparison varies the sampler (then quality against cost is worth drawing)."""
    return any(k.startswith("sampler.") for k in keys)


def weight_error(metrics: dict) -> float | None:
    """max_k |mode weight_k - true weight_k| of one run, None without mixture weights."""
    w, t = metrics.get("mode_weights"), metrics.get("true_weights")
    if not w or not t or len(w) != len(t):
        return None
    return float(np.max(np.abs(np.asarray(w, float) - np.asarray(t, float))))


def _mean(values) -> float | None:
    v = [x for x in values if x is not None]
    return float(np.mean(v)) if v else None


def point(sampler: str, score: str, steps: int, metrics: list[dict]) -> dict:
    """One variant's row: the means over its runs' metrics."""
    row = {"sampler": sampler, "score": score, "steps": steps, "runs": len(metrics),
           "nfe": _mean(m.get("nfe") for m in metrics)}
    for q in QUALITY:
        row[q] = _mean((m.get("sample_metrics") or {}).get(q) for m in metrics)
        row[f"{q}_floor"] = _mean(((m.get("sample_metrics") or {}).get("floor") or {}).get(q)
                                  for m in metrics)
    row["weight_error"] = _mean(weight_error(m) for m in metrics)
    return row


def points(finished: list[Finished]) -> list[dict]:
    """One row per variant, ordered by sampler, score, then evaluations."""
    groups: dict = defaultdict(list)
    for f in finished:
        s = f.run.preset.sampler
        groups[(f.run.variant.name, s["kind"], s["score"], int(s["steps"]))].append(f.metrics)
    rows = [point(kind, score, steps, ms) for (_, kind, score, steps), ms in groups.items()]
    return sorted(rows, key=lambda r: (r["sampler"], r["score"], r["nfe"] or 0))


def ratio(row: dict, q: str) -> float | None:
    """metric / its floor (None where either is missing or the floor is 0). MMD^2 is an
    unbiased estimate whose floor is ~0 (and may be negative): it is drawn as it is, its
    floor beside it."""
    v, f = row.get(q), row.get(f"{q}_floor")
    if q == "mmd":
        return v
    return None if v is None or not f else v / f


def curves(rows: list[dict]) -> dict[tuple[str, str], list[dict]]:
    """(sampler, score) -> its rows in order of evaluations: one curve each."""
    out: dict = defaultdict(list)
    for r in rows:
        if r["nfe"]:
            out[(r["sampler"], r["score"])].append(r)
    return dict(out)


def csv_text(rows: list[dict]) -> str:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(COLUMNS)
    for r in rows:
        w.writerow(["" if r.get(c) is None else (repr(r[c]) if isinstance(r[c], float) else r[c])
                    for c in COLUMNS])
    return buf.getvalue()


def plot(rows: list[dict], title: str, out: Path) -> None:
    """Four panels against NFE (log axis): SW2, TV and MMD over their floors, mode-weight error."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(10, 7), dpi=110, layout="constrained")
    axes = fig.subplots(2, 2).ravel()
    lines = curves(rows)
    for ax, q in zip(axes, (*QUALITY, "weight_error")):
        for i, ((kind, score), rs) in enumerate(sorted(lines.items())):
            ys = [r["weight_error"] if q == "weight_error" else ratio(r, q) for r in rs]
            xs = [r["nfe"] for r, y in zip(rs, ys) if y is not None]
            ys = [y for y in ys if y is not None]
            if xs:
                ax.plot(xs, ys, marker="o", color=f"C{i % 10}",
                        linestyle="-" if score == "true" else "--", label=f"{kind} ({score} score)")
        if q == "mmd":
            floor = _mean(r.get("mmd_floor") for r in rows)
            if floor is not None:
                ax.axhline(floor, color="0.5", linewidth=0.8)
        elif q != "weight_error":
            ax.axhline(1.0, color="0.5", linewidth=0.8)      # the noise floor
        ax.set_xscale("log")
        ax.set_xlabel("score evaluations (NFE)")
        ax.set_ylabel(LABELS[q])
        ax.grid(True, which="both", alpha=0.3)
    handles, labels = axes[0].get_legend_handles_labels()
    if not handles:
        handles, labels = axes[3].get_legend_handles_labels()
    if handles:
        fig.legend(handles, labels, loc="outside lower center", ncols=min(4, len(labels)),
                   fontsize="small")
    fig.suptitle(f"{title}: sample quality against cost")
    for suffix in ("png", "svg"):
        write_atomic(out / f"quality_vs_nfe.{suffix}", lambda p: fig.savefig(p, format=suffix))


def write(out: Path, finished: list[Finished], title: str) -> list[dict]:
    rows = points(finished)
    write_atomic(out / "quality_vs_nfe.csv", lambda p: p.write_text(csv_text(rows)))
    plot(rows, title, out)
    return rows
