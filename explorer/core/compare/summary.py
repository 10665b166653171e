"""The comparison's own files: summary.csv (one row per run), summary.json (mean and sd per
variant), compare.png / compare.svg (Fisher divergence against step), the printed table, and
where a sampler key varies quality_vs_nfe.csv / .png / .svg (quality_vs_nfe.py).

Mean and sd are over the seeds of a variant, for every numeric metric of summary.csv (the
varied keys are the same within a variant and the seed is an index, so neither is averaged);
sd is the sample standard deviation (n - 1), null for a single run. mode_weights, a list per
run, is averaged component by component. Every file is written under a temporary name and
renamed.
"""

from __future__ import annotations

import csv
import io
import json
import math
import statistics
from pathlib import Path
from typing import Any

import numpy as np

from ..files import write_atomic
from . import quality_vs_nfe as QN
from .execute import Finished
from .plan import Variant, format_value

METRICS = ("steps", "train_seconds", "steps_per_second", "final_loss", "fisher_divergence",
           "relative_fisher_divergence", "nfe")      # nfe: the sampler's score evaluations
SAMPLE_METRICS = ("mmd", "sliced_wasserstein", "tv_grid", "kl_grid")   # metrics.json's sample_metrics
LIKELIHOOD = ("nll", "nll_true")     # where the objective has an ODE likelihood


def _flat(metrics: dict) -> dict:
    """A run's metrics with its sample metrics (and their exact-sample floor) as columns."""
    out = dict(metrics)
    sm = metrics.get("sample_metrics") or {}
    for m in SAMPLE_METRICS:
        if m in sm:
            out[m] = sm[m]
            out[f"{m}_floor"] = (sm.get("floor") or {}).get(m)
    return out


def _sample_columns(table: list[dict]) -> list[str]:
    present = [m for m in SAMPLE_METRICS if any(m in r for r in table)]
    return [c for m in present for c in (m, f"{m}_floor")]


# --- summary.csv -----------------------------------------------------------------------------

def rows(finished: list[Finished], keys: list[str]) -> list[dict[str, Any]]:
    out = []
    for f in finished:
        row: dict[str, Any] = {k: f.run.variant.overrides[k] for k in keys}
        row["seed"] = f.run.seed
        flat = _flat(f.metrics)
        row.update({m: flat.get(m) for m in METRICS})
        row.update({c: flat[c] for c in _sample_columns([flat])})
        if "mode_weights" in f.metrics:
            row["mode_weights"] = f.metrics["mode_weights"]
        for m in LIKELIHOOD:          # sde and flow_matching runs: NLL by the ODE
            if m in f.metrics:
                row[m] = f.metrics[m]
        out.append(row)
    return out


def csv_text(table: list[dict[str, Any]], keys: list[str]) -> str:
    columns = [*keys, "seed", *METRICS, *_sample_columns(table)]
    if any("mode_weights" in r for r in table):
        columns.append("mode_weights")
    columns += [m for m in LIKELIHOOD if any(m in r for r in table)]
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(columns)
    for r in table:
        w.writerow([_cell(r.get(c)) for c in columns])
    return buf.getvalue()


def _cell(v: Any) -> str:
    if v is None:
        return ""
    if isinstance(v, float):
        return repr(v)
    return format_value(v)   # "esm", 3, [0.31, 0.69]


# --- summary.json ----------------------------------------------------------------------------

def mean_sd(values: list) -> tuple[Any, Any]:
    """Mean and sample sd of numbers, or component-wise of equal-length lists; Nones skipped."""
    values = [v for v in values if v is not None]
    if not values:
        return None, None
    if isinstance(values[0], list):
        pairs = [mean_sd([v[i] for v in values]) for i in range(len(values[0]))]
        return [m for m, _ in pairs], (None if len(values) < 2 else [s for _, s in pairs])
    mean = statistics.fmean(values)
    return mean, (statistics.stdev(values) if len(values) > 1 else None)


def by_variant(finished: list[Finished], variants: list[Variant]) -> list[tuple[Variant, list[Finished]]]:
    groups = [(v, [f for f in finished if f.run.variant is v]) for v in variants]
    return [(v, fs) for v, fs in groups if fs]


def summary_dict(finished: list[Finished], variants: list[Variant], failed=()) -> dict:
    out = []
    for v, fs in by_variant(finished, variants):
        flats = [_flat(f.metrics) for f in fs]
        names = [*METRICS, *_sample_columns(flats),
                 *(["mode_weights"] if "mode_weights" in fs[0].metrics else [])]
        stats = {m: mean_sd([f.get(m) for f in flats]) for m in names}
        out.append({"name": v.name, "overrides": v.overrides, "runs": len(fs),
                    "seeds": [f.run.seed for f in fs],
                    "mean": {m: s[0] for m, s in stats.items()},
                    "sd": {m: s[1] for m, s in stats.items()}})
    result: dict[str, Any] = {"variants": out}
    if failed:
        result["failed"] = [{"overrides": r.variant.overrides, "seed": r.seed, "error": why}
                            for r, why in failed]
    return result


# --- compare.png / compare.svg ---------------------------------------------------------------

def fisher_band(fs: list[Finished]) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """Steps every run of the variant evaluated at, the mean Fisher there, and the sd (or None)."""
    steps = sorted(set.intersection(*(set(s for s, _ in f.fisher) for f in fs)))
    if not steps:
        return np.array([]), np.array([]), None
    values = np.array([[dict(f.fisher)[s] for s in steps] for f in fs], dtype=float)
    sd = values.std(axis=0, ddof=1) if len(fs) > 1 else None
    return np.array(steps), values.mean(axis=0), sd


def plot(groups: list[tuple[Variant, list[Finished]]], title: str, out: Path) -> None:
    """Fisher divergence against step, one colour per variant: mean line, +-sd band."""
    from matplotlib.figure import Figure   # the Agg canvas, no pyplot state, no window

    fig = Figure(figsize=(8, 5), dpi=120, layout="constrained")
    ax = fig.add_subplot()
    colours = [f"C{i % 10}" for i in range(len(groups))]
    drawn = 0
    for (v, fs), colour in zip(groups, colours):
        steps, mean, sd = fisher_band(fs)
        if len(steps) == 0:
            continue
        label = f"{v.name} (n={len(fs)})"
        ax.plot(steps, mean, color=colour, label=label, marker="o" if len(steps) < 4 else None)
        if sd is not None:
            lo = np.maximum(mean - sd, mean * 1e-3)   # a log axis has no room below zero
            ax.fill_between(steps, lo, mean + sd, color=colour, alpha=0.2, linewidth=0)
        drawn += 1
    ax.set_yscale("log")
    ax.set_xlabel("training step")
    ax.set_ylabel(r"Fisher divergence  $\frac{1}{2}\,E_p\,|s_\theta - \nabla \log p|^2$")
    ax.set_title(title + ("" if drawn else " (no training steps: nothing to plot)"))
    ax.grid(True, which="both", alpha=0.3)
    if drawn:
        ax.legend(fontsize="small", title="mean ± sd over seeds")
    for suffix in ("png", "svg"):
        write_atomic(out / f"compare.{suffix}", lambda p: fig.savefig(p, format=suffix))


# --- the printed table ------------------------------------------------------------------------

def _num(v: Any) -> str:
    if v is None or (isinstance(v, float) and not math.isfinite(v)):
        return "-"
    return f"{v:.4g}"


def _pm(mean: Any, sd: Any) -> str:
    return _num(mean) if sd is None else f"{_num(mean)} ± {_num(sd)}"


def table(summary: dict) -> str:
    head = ["variant", "runs", "steps", "steps/s", "final loss", "Fisher", "relative Fisher", "NFE"]
    modes = any("mode_weights" in v["mean"] for v in summary["variants"])
    if modes:
        head.append("mode weights")
    body = []
    for v in summary["variants"]:
        m, s = v["mean"], v["sd"]
        row = [v["name"], str(v["runs"]), _num(m["steps"]), _num(m["steps_per_second"]),
               _pm(m["final_loss"], s["final_loss"]), _pm(m["fisher_divergence"], s["fisher_divergence"]),
               _pm(m["relative_fisher_divergence"], s["relative_fisher_divergence"]),
               _num(m.get("nfe"))]
        if modes:
            row.append(", ".join(f"{w:.3f}" for w in m.get("mode_weights") or []))
        body.append(row)
    widths = [max(len(r[i]) for r in [head, *body]) for i in range(len(head))]
    line = lambda r: "  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip()
    return "\n".join([line(head), line(["-" * w for w in widths]), *map(line, body)])


# --- all of it --------------------------------------------------------------------------------

def write(out: Path, finished: list[Finished], variants: list[Variant], keys: list[str],
          title: str, failed=()) -> dict:
    out.mkdir(parents=True, exist_ok=True)
    summary = summary_dict(finished, variants, failed)
    write_atomic(out / "summary.csv", lambda p: p.write_text(csv_text(rows(finished, keys), keys)))
    write_atomic(out / "summary.json", lambda p: p.write_text(json.dumps(summary, indent=2) + "\n"))
    plot(by_variant(finished, variants), title, out)
    if QN.wanted(keys) and finished:
        QN.write(out, finished, title)
    return summary
