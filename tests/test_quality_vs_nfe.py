"""quality_vs_nfe: one point per variant (means over seeds), one curve per sampler and score,
the files written; built from Finished runs as compare makes them (no training here)."""

from __future__ import annotations

import csv
import io
from types import SimpleNamespace

import pytest

from explorer.core.compare import quality_vs_nfe as Q
from explorer.core.compare.execute import Finished


def finished(kind, score, steps, nfe, sw2, weights, seed=0, name=None):
    preset = SimpleNamespace(sampler={"kind": kind, "score": score, "steps": steps})
    variant = SimpleNamespace(name=name or f"{kind}-{score}-{steps}")
    run = SimpleNamespace(variant=variant, seed=seed, preset=preset)
    metrics = {"nfe": nfe, "mode_weights": weights, "true_weights": [0.2, 0.8],
               "sample_metrics": {"sliced_wasserstein": sw2, "tv_grid": 0.1, "mmd": 0.01,
                                  "floor": {"sliced_wasserstein": 0.5, "tv_grid": 0.05, "mmd": 0.0}}}
    return Finished(run=run, metrics=metrics, fisher=[])


def test_points_average_seeds_and_curves_split_by_sampler_and_score():
    fs = [finished("heun", "true", 5, 9, 1.0, [0.25, 0.75], seed=0),
          finished("heun", "true", 5, 9, 2.0, [0.15, 0.85], seed=1),
          finished("heun", "true", 10, 19, 0.5, [0.21, 0.79]),
          finished("heun", "learned", 10, 19, 3.0, [0.4, 0.6]),
          finished("dpm_solver", "true", 10, 10, 0.6, [0.2, 0.8])]
    rows = Q.points(fs)
    first = next(r for r in rows if r["sampler"] == "heun" and r["score"] == "true" and r["steps"] == 5)
    assert first["runs"] == 2 and first["nfe"] == 9
    assert first["sliced_wasserstein"] == pytest.approx(1.5)
    assert Q.ratio(first, "sliced_wasserstein") == pytest.approx(3.0)
    assert first["weight_error"] == pytest.approx(0.05)
    lines = Q.curves(rows)
    assert set(lines) == {("heun", "true"), ("heun", "learned"), ("dpm_solver", "true")}
    assert [r["nfe"] for r in lines[("heun", "true")]] == [9, 19]
    table = list(csv.DictReader(io.StringIO(Q.csv_text(rows))))
    assert len(table) == 4 and set(Q.COLUMNS) == set(table[0])


def test_files_are_written(tmp_path):
    fs = [finished("heun", "true", s, 2 * s - 1, 1.0 / s, [0.2, 0.8]) for s in (5, 10)]
    Q.write(tmp_path, fs, "t")
    for name in ("quality_vs_nfe.csv", "quality_vs_nfe.png", "quality_vs_nfe.svg"):
        assert (tmp_path / name).stat().st_size > 0
    assert Q.wanted(["sampler.kind"]) and not Q.wanted(["objective.kind"])
