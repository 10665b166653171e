"""Accuracy of trained score networks against the exact score (docs/design.md §6, issue 2).

A 128x128 softplus MLP, 3,000 steps of batch 512 on a mixture that no preset uses:
relative Fisher divergence at most 0.02 (ESM), 0.04 (ISM), 0.05 (SSM-VR), 0.10 (DSM,
sigma 0.1); NCSN trained 10,000 steps plus annealed Langevin recovers the mixture weights
within 0.06. These train real networks, so they take a minute or two on two CPU cores.
"""

import pytest

from explorer.core.presets import preset as P
from explorer.core.run.headless import train_and_sample

MIXTURE = {"kind": "mixture", "weights": [0.5, 0.3, 0.2],
           "means": [[-2.5, 0.5], [2.0, 1.5], [0.5, -2.5]],
           "covariances": [[[0.6, 0.2], [0.2, 0.4]], [[0.3, 0.0], [0.0, 0.8]],
                           [[0.5, -0.1], [-0.1, 0.3]]]}


@pytest.mark.slow
@pytest.mark.parametrize("objective,limit", [
    ({"kind": "esm"}, 0.02),
    ({"kind": "ism"}, 0.04),
    ({"kind": "ssm_vr"}, 0.05),
    ({"kind": "dsm", "sigma": 0.1}, 0.10),
])
def test_relative_fisher_divergence_after_3000_steps(objective, limit):
    p = P.parse({"density": MIXTURE, "objective": objective,
                 "model": {"hidden": [128, 128], "activation": "softplus"},
                 "training": {"steps": 3000, "batch_size": 512, "seed": 1},
                 "sampler": {"particles": 10, "steps": 1}})
    m = train_and_sample(p).metrics
    assert m["relative_fisher_divergence"] <= limit, m


@pytest.mark.slow
def test_ncsn_and_annealed_langevin_recover_mixture_weights():
    p = P.parse({"density": {"kind": "mixture", "weights": [0.3, 0.7],
                             "means": [[-4.0, 3.0], [4.0, -2.0]], "stds": [0.8, 1.2]},
                 "objective": {"kind": "ncsn", "sigma_max": 20.0, "sigma_min": 1.0, "levels": 10},
                 "training": {"steps": 3000, "batch_size": 512, "seed": 2},
                 "sampler": {"kind": "annealed_langevin", "score": "learned", "particles": 2000,
                             "step_size": 0.1, "steps": 100, "init": "uniform"}})
    # measured with the training recipe: 0.313 / 0.687 after 3,000 steps (12 s), 0.3025 after
    # 10,000 (44 s); before the recipe 10,000 steps were needed
    m = train_and_sample(p).metrics
    for got, want in zip(m["mode_weights"], m["true_weights"]):
        assert abs(got - want) <= 0.06, m


@pytest.mark.slow
def test_three_dimensional_mixture_with_ssm_vr():
    """Issue 5: a 3-D mixture, 3,000 SSM-VR steps of batch 512: relative Fisher at most 0.06."""
    p = P.parse({"density": {"kind": "mixture", "weights": [0.4, 0.35, 0.25],
                             "means": [[-2.0, 0.0, 1.0], [2.0, 1.5, -0.5], [0.0, -2.0, -1.5]],
                             "covariances": [[[0.5, 0.1, 0.0], [0.1, 0.4, 0.0], [0.0, 0.0, 0.6]],
                                             [[0.7, 0.0, 0.2], [0.0, 0.5, 0.0], [0.2, 0.0, 0.4]],
                                             [[0.4, 0.0, 0.0], [0.0, 0.6, -0.1], [0.0, -0.1, 0.5]]]},
                 "objective": {"kind": "ssm_vr"},
                 "training": {"steps": 3000, "batch_size": 512, "seed": 3},
                 "sampler": {"particles": 300, "steps": 50}})
    r = train_and_sample(p)
    assert r.samples.shape == (300, 3)
    assert r.metrics["relative_fisher_divergence"] <= 0.06, r.metrics
