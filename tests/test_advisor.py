"""The noise-schedule advisor against independent computations of Song & Ermon (2020)'s formulas."""

from __future__ import annotations

import math
import subprocess
import sys
import tomllib

import numpy as np
import pytest
import torch
from scipy.spatial.distance import pdist

from explorer.core.noise import advisor as A
from explorer.core.presets import preset as P
from explorer.core.presets.shipped import resolve


def _phi(x: float) -> float:
    return 0.5 * (1 + math.erf(x / math.sqrt(2)))


def _overlap(g: float, d: int) -> float:
    c = math.sqrt(2 * d) * (g - 1)
    return _phi(c + 3 * g) - _phi(c - 3 * g)


@pytest.mark.parametrize("dim", [10, 100, 3072])
def test_gamma_solves_the_overlap_criterion(dim):
    g = A.ratio(dim)
    # bisection with erf, independent of scipy
    lo, hi = 1.0 + 1e-9, 100.0
    for _ in range(200):
        mid = (lo + hi) / 2
        lo, hi = (mid, hi) if _overlap(mid, dim) > 0.5 else (lo, mid)
    assert g == pytest.approx(lo, rel=1e-8)
    if dim == 3072:   # CIFAR-10: the paper's 232 levels from 50 to 0.01 have ratio 1.038
        assert g == pytest.approx(1.038, abs=0.003)


@pytest.mark.parametrize("dim", [1, 2, 3, 4])
def test_no_gamma_in_low_dimension(dim):
    assert A.ratio(dim) is None
    assert min(_overlap(g, dim) for g in np.linspace(1.0001, 100, 20000)) > 0.5


def test_variance_after_is_the_langevin_recursion():
    sigma_l, gamma, sigma_i, T = 0.2, 1.4, 0.7, 50
    for eps in (1e-4, 3e-3, 0.01):
        alpha = eps * sigma_i ** 2 / sigma_l ** 2
        s2 = (gamma * sigma_i) ** 2           # the previous level's variance
        for _ in range(T):                     # x <- x + alpha (-x / sigma_i^2) + sqrt(2 alpha) z
            s2 = (1 - alpha / sigma_i ** 2) ** 2 * s2 + 2 * alpha
        assert A.variance_after(eps, T, gamma, sigma_l) == pytest.approx(s2 / sigma_i ** 2, rel=1e-10)


def test_step_is_the_minimum_and_levels_cover_the_range():
    eps = A.step_for(100, 1.5, 0.1)
    v = A.variance_after(eps, 100, 1.5, 0.1)
    assert v >= 1 and all(A.variance_after(eps * f, 100, 1.5, 0.1) > v for f in (0.9, 1.1))
    L = A.level_count(20.0, 0.1, 1.5)
    assert 20.0 / 0.1 <= 1.5 ** (L - 1) and 20.0 / 0.1 > 1.5 ** (L - 2)


def test_largest_distance_matches_pdist():
    x = torch.randn(700, 3) * torch.tensor([1.0, 3.0, 0.5])
    assert A.largest_distance(x, chunk=128) == pytest.approx(pdist(x.double().numpy()).max(), rel=1e-12)


def test_advise_prints_tables_that_load(tmp_path):
    r = subprocess.run([sys.executable, "-m", "explorer", "advise", "two_modes_annealed"],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    tables = tomllib.loads(r.stdout)
    assert tables["objective"]["kind"] == "ncsn" and tables["sampler"]["kind"] == "annealed_langevin"
    assert "no solution in 2 dimensions" in r.stdout and "2 eps" in r.stdout
    base = P.load(str(resolve("two_modes_annealed"))).to_dict()
    base["objective"].update(tables["objective"])
    base["sampler"].update(tables["sampler"])
    p = P.parse(base)
    assert p.objective["levels"] == tables["objective"]["levels"]
    assert p.sampler["step_size"] == pytest.approx(2 * A.advise(p).eps_paper, rel=1e-4)


@pytest.mark.parametrize("std,sigma_min", [(0.005, 0.1), (1000.0, 1e-3), (1.0, 0.1)])
def test_advice_always_loads(std, sigma_min):
    """What advise suggests, the loader accepts: a density narrower than the preset's sigma_min
    (it used to suggest sigma_max 0.04 below sigma_min 0.1 and levels = -1) or very wide."""
    from explorer.core.presets.edits import with_changes
    p = P.parse({"name": "t", "density": {"kind": "gaussian", "mean": [0.0, 0.0], "std": std},
                 "objective": {"kind": "ncsn", "sigma_min": sigma_min, "sigma_max": 5000.0}})
    advice = A.advise(p, samples=500)
    q = with_changes(p, A.as_overrides(advice))
    assert q.objective["sigma_min"] < q.objective["sigma_max"] == pytest.approx(advice.sigma_max)
    assert 1 <= q.objective["levels"] == advice.levels <= A.LEVELS_MAX
