"""One particle's path from a chosen point: the sampler's own recursion, step by step."""

import math

import numpy as np
import torch

from explorer.core.presets import preset as P
from explorer.core.scores import TrueScore
from explorer.core.samplers.trajectory import MAX_POINTS, trajectory


def _preset(**sampler):
    return P.parse({"density": {"kind": "gaussian", "mean": [1.0, -2.0], "std": 0.5},
                    "training": {"steps": 0},
                    "sampler": {"kind": "langevin", "score": "true", "step_size": 0.01,
                                "steps": 300, **sampler}})


def test_path_is_the_langevin_recursion_from_the_start_point():
    p = _preset()
    path = trajectory(p, TrueScore(p.build_density(), p), "cpu", [3.0, 3.0], seed=7)
    assert path.shape == (301, 2) and np.allclose(path[0], [3.0, 3.0])
    # x <- x + eps/2 s(x) + sqrt(eps) z with s(x) = -(x - mu)/std^2, z from the same generator
    g = torch.Generator().manual_seed(7)
    x = torch.tensor([[3.0, 3.0]])
    mu = torch.tensor([1.0, -2.0])
    for k in range(300):
        z = torch.randn(x.shape, generator=g)
        x = x + 0.005 * (-(x - mu) / 0.25) + math.sqrt(0.01) * z
        np.testing.assert_allclose(path[k + 1], x[0].numpy(), rtol=1e-5, atol=1e-5)


def test_long_paths_are_thinned_and_keep_their_end():
    p = _preset(steps=10 * MAX_POINTS + 3)
    path = trajectory(p, TrueScore(p.build_density(), p), "cpu", [0.0, 0.0], seed=1)
    assert len(path) <= MAX_POINTS + 2
    assert np.linalg.norm(path[-1] - [1.0, -2.0]) < 2.5   # it reached the Gaussian
