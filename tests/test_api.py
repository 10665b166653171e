"""The Python API of explorer/api.py and the notebook in examples/ that uses it."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
import torch

import explorer.api as se

ROOT = Path(__file__).resolve().parents[1]


def test_api_trains_samples_and_evaluates_like_run():
    base = se.load("mixture_score")
    p = se.edit(base, {"objective.kind": "ssm_vr", "training.steps": 400, "model.hidden": [64, 64],
                       "sampler.steps": 300})
    assert p.objective["kind"] == "ssm_vr" and base.objective["kind"] == "esm"   # base untouched
    seen = []
    run = se.train(p, every=100, callback=lambda step, loss: seen.append((step, loss)))
    assert [s for s, _ in seen] == [100, 200, 300, 400] and all(np.isfinite(l) for _, l in seen)
    assert run.losses.shape == (400,) and run.fisher.shape == (4, 3)
    assert run.fisher[-1, 2] < run.fisher[0, 2]            # it learns
    pts, learned, true = se.field(run)
    # the true score on the grid is the density's own (independent evaluation)
    assert np.allclose(true, run.trainer.density.score(torch.from_numpy(pts)).numpy(), atol=1e-5)
    x = se.sample(run, particles=2000, score="true")
    assert x.shape == (2000, 2) and np.isfinite(x).all()
    assert np.array_equal(x, se.sample(run, particles=2000, score="true"))   # seeded by the preset
    # evaluated on exact samples of p, the figures must say "as good as exact"
    exact = run.trainer.density.sample(3000, torch.Generator().manual_seed(5)).numpy()
    m = se.evaluate(run, exact)
    assert np.allclose(m["mode_weights"], [0.5, 0.3, 0.2], atol=0.03), m["mode_weights"]
    q = m["sample_metrics"]
    assert q["sliced_wasserstein"] < 3 * q["floor"]["sliced_wasserstein"], q
    assert m["relative_fisher_divergence"] == pytest.approx(run.fisher[-1, 2], rel=1e-6)
    assert {"mmd", "sliced_wasserstein", "floor"} <= set(m["sample_metrics"])
    assert "curl_fraction" in m and "density_kl_grid" in m


def test_api_stops_when_the_callback_says_so_and_names_bad_keys():
    p = se.edit(se.load("mixture_score"), {"training.steps": 1000, "model.hidden": [16]})
    run = se.train(p, every=50, callback=lambda step, loss: step >= 100)
    assert run.trainer.step_count == 100
    with pytest.raises(se.SpecError) as info:
        se.edit(p, {"training.lr": -1.0})
    assert info.value.key == "training.lr"


def test_the_example_notebook_runs(tmp_path):
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    pytest.importorskip("ipykernel")
    nb = nbformat.read(ROOT / "examples" / "compare_objectives.ipynb", as_version=4)
    env_before = dict(os.environ)
    os.environ.update(NOTEBOOK_STEPS="200", NOTEBOOK_OUT=str(tmp_path), MPLBACKEND="Agg")
    try:
        nbclient.NotebookClient(nb, timeout=600, kernel_name="python3",
                                resources={"metadata": {"path": str(tmp_path)}}).execute()
    finally:
        os.environ.clear()
        os.environ.update(env_before)
    errors = [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", [])
              if o.get("output_type") == "error"]
    assert not errors
    assert (tmp_path / "comparison.png").stat().st_size > 10_000
    text = "".join(o.get("text", "") for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", []))
    assert "mode weights" in text and "relative Fisher" in text
