"""Sample-quality figures against direct computations, and their noise floors telling good
samples from bad ones (issue 12)."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
import torch

from explorer.core.presets import preset as P
from explorer.core.densities.gaussian import GaussianMixture
from explorer.core.measures.sample_quality import (SampleQuality, grid_figures, mmd2_unbiased,
                                          sample_metrics, sliced_wasserstein)
from small_preset import small_preset


def _naive_mmd2(x, y, bandwidths):
    """The unbiased estimator written out pair by pair."""
    total = 0.0
    for h in bandwidths:
        k = lambda a, b: math.exp(-float(((a - b) ** 2).sum()) / (2 * h * h))  # noqa: E731
        n, m = len(x), len(y)
        xx = sum(k(x[i], x[j]) for i in range(n) for j in range(n) if i != j) / (n * (n - 1))
        yy = sum(k(y[i], y[j]) for i in range(m) for j in range(m) if i != j) / (m * (m - 1))
        xy = sum(k(x[i], y[j]) for i in range(n) for j in range(m)) / (n * m)
        total += xx + yy - 2 * xy
    return total


def test_mmd_is_the_unbiased_estimator_far_from_the_origin_too():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(40, 2)) + 1000.0
    y = rng.normal(size=(35, 2)) * 1.3 + 1000.5
    bw = [0.5, 1.0, 2.0]
    assert mmd2_unbiased(x, y, bw) == pytest.approx(_naive_mmd2(x, y, bw), rel=1e-9, abs=1e-12)


def test_sliced_wasserstein_in_one_dimension_is_w2_of_sorted_samples():
    rng = np.random.default_rng(1)
    x, y = rng.normal(size=(500, 1)), rng.normal(2.0, 1.0, size=(500, 1))
    w2 = math.sqrt(((np.sort(x[:, 0]) - np.sort(y[:, 0])) ** 2).mean())
    assert sliced_wasserstein(x, y, np.ones((1, 1))) == pytest.approx(w2, rel=1e-12)
    # in 2-D: the mean over directions of the 1-D W2^2, one direction at a time
    x2, y2 = rng.normal(size=(300, 2)), rng.normal(size=(300, 2)) + [1.0, 0.0]
    v = rng.normal(size=(2, 16))
    v /= np.linalg.norm(v, axis=0)
    each = [((np.sort(x2 @ v[:, j]) - np.sort(y2 @ v[:, j])) ** 2).mean() for j in range(16)]
    assert sliced_wasserstein(x2, y2, v) == pytest.approx(math.sqrt(np.mean(each)), rel=1e-12)


def test_grid_figures_count_cells_as_written():
    bounds = np.array([[0.0, 2.0], [0.0, 2.0]])
    p = np.array([0.1, 0.2, 0.3, 0.4])       # cells in C order: (x0,y0), (x0,y1), (x1,y0), (x1,y1)
    x = np.array([[0.5, 0.5], [0.5, 1.5], [1.5, 1.5], [1.5, 1.5], [9.0, 9.0]])   # one outside
    tv, kl = grid_figures(x, p, bounds, 2)
    q = np.array([1, 1, 0, 2]) / 5
    assert tv == pytest.approx(0.5 * np.abs(p - q).sum())
    qs = (np.array([1, 1, 0, 2]) + 0.5) / (5 + 2.0)
    assert kl == pytest.approx((p * np.log(p / qs)).sum())


@pytest.fixture(scope="module")
def mixture():
    return GaussianMixture([0.2, 0.8], [[-5.0, -5.0], [5.0, 5.0]], np.eye(2)[None].repeat(2, 0),
                           bounds=[[-9.0, 9.0], [-9.0, 9.0]])


def test_exact_samples_score_at_the_floor_and_wrong_weights_far_above(mixture):
    n = 4000
    meter = SampleQuality(mixture, mixture.bounds, n, seed=0)
    exact = mixture.sample(n, torch.Generator().manual_seed(42)).numpy()
    good = meter.measure(exact)
    wrong = GaussianMixture([0.5, 0.5], [[-5.0, -5.0], [5.0, 5.0]], np.eye(2)[None].repeat(2, 0))
    bad = meter.measure(wrong.sample(n, torch.Generator().manual_seed(7)).numpy())
    floor = good["floor"]
    for key in ("sliced_wasserstein", "tv_grid", "kl_grid"):
        assert good[key] < 2 * floor[key], key
        assert bad[key] > 2 * floor[key], key
    assert abs(good["mmd"]) < 0.01 and bad["mmd"] > 10 * max(abs(floor["mmd"]), 1e-3)


def test_cell_probabilities_are_integrals_over_the_cells():
    """A Gaussian narrower than a cell, centred in one: P(cell) in closed form (products of
    normal CDF differences, normalised over the box), not the density at the centre."""
    from scipy.stats import norm
    mu, s = np.array([-3.0, 1.0]), 0.6
    g = GaussianMixture([1.0], [mu.tolist()], (s * s * np.eye(2))[None])
    bounds = np.array([[-8.0, 8.0], [-8.0, 8.0]])
    meter = SampleQuality(g, bounds, 1280, seed=0)
    c = meter.cells
    edges = np.linspace(-8.0, 8.0, c + 1)
    per_axis = [np.diff(norm.cdf(edges, loc=m, scale=s)) for m in mu]
    expected = np.outer(*per_axis)
    expected /= expected.sum()
    # the midpoint rule's O(h^2) error; the density at the cell centres was 0.12 off
    assert np.abs(meter.p_cells - expected.ravel()).max() < 1e-3
    # and exact samples of it score at their floor on the grid
    exact = g.sample(1280, torch.Generator().manual_seed(5)).numpy()
    q = meter.measure(exact)
    assert q["tv_grid"] < 2 * q["floor"]["tv_grid"] and q["floor"]["tv_grid"] < 0.05


def test_a_headless_run_writes_sample_metrics(tmp_path):
    from explorer.core.run.headless import train_and_sample, write_outputs
    preset = P.loads(small_preset(steps=50, particles=400, sampler_steps=20))
    result = train_and_sample(preset)
    write_outputs(result, preset, tmp_path)
    m = json.loads((tmp_path / "metrics.json").read_text())["sample_metrics"]
    assert set(m) == {"mmd", "sliced_wasserstein", "tv_grid", "kl_grid", "floor"}
    again = sample_metrics(result.samples, result.trainer.density, preset.density["bounds"],
                           preset.sampler["seed"])
    assert m["sliced_wasserstein"] == pytest.approx(again["sliced_wasserstein"])


def test_a_negative_mmd_is_shown_with_what_it_means():
    """Two clouds drawn from one law: the unbiased MMD² comes out below 0 for some seeds (it
    drops the kernels' diagonal); wherever it is printed (`run`'s line, the quality-vs-NFE
    axis) it says so rather than showing a distance under zero."""
    from explorer.core.compare.quality_vs_nfe import LABELS
    from explorer.core.measures.sample_quality import MMD_BELOW_NOISE, describe, mmd_text
    rng = np.random.default_rng(1)
    pairs = [(rng.normal(size=(30, 2)), rng.normal(size=(30, 2))) for _ in range(20)]
    values = [mmd2_unbiased(x, y, [1.0]) for x, y in pairs]
    i = int(np.argmin(values))
    negative = values[i]
    assert negative < 0, values                      # it happens, with the plain estimator:
    assert negative == pytest.approx(_naive_mmd2(*pairs[i], [1.0]), rel=1e-9)
    text = mmd_text(negative, 0.0004)
    assert MMD_BELOW_NOISE in text and f"{negative:.3g}" in text and "exact 0.0004" in text
    assert mmd_text(0.0123, 0.0004) == "MMD² 0.0123 (exact 0.0004)"
    # the exact samples' own figure below 0 (`run` printed "exact -0.00019" bare)
    assert mmd_text(0.0622, -0.00019) == f"MMD² 0.0622 (exact -0.00019 {MMD_BELOW_NOISE})"
    line = describe({"mmd": -0.0003, "sliced_wasserstein": 0.2, "tv_grid": 0.1, "kl_grid": 0.05,
                     "floor": {"mmd": 0.0001, "sliced_wasserstein": 0.2, "tv_grid": 0.1,
                               "kl_grid": 0.05}})
    assert line.startswith("MMD² -0.0003 (≈ 0: the unbiased estimate is below its noise")
    assert "below noise" in LABELS["mmd"]
