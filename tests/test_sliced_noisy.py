"""Sliced score matching on noisy data (issue 14): SSM / SSM-VR with noise_sigma, and NCSN with
the sliced loss, against the ncsn reference code's formula and a closed-form optimum."""

from __future__ import annotations

import pytest
import torch

from explorer.core.presets import preset as P
from explorer.core.models import ScoreModel
from explorer.core.objectives import build_objective
from explorer.core.training.trainer import Trainer


def _reference_anneal_sliced_vr(scorenet, samples, labels, sigmas):
    """ermongroup/ncsn losses/sliced_sm.py anneal_sliced_score_estimation_vr, n_particles = 1,
    written with autograd (double backward), per sample."""
    used = sigmas[labels].view(samples.shape[0], *([1] * len(samples.shape[1:])))
    perturbed = samples + torch.randn_like(samples) * used
    dup = perturbed.clone().requires_grad_(True)
    vectors = torch.randn_like(dup)
    grad1 = scorenet(dup, sigmas[labels])
    gradv = torch.sum(grad1 * vectors)
    grad2 = torch.autograd.grad(gradv, dup, create_graph=True)[0]
    loss1 = torch.sum(grad1 * grad1, dim=-1) / 2.0
    loss2 = torch.sum(vectors * grad2, dim=-1)
    return (loss1 + loss2) * used.squeeze() ** 2


def test_sliced_ncsn_is_the_reference_loss():
    p = P.parse({"objective": {"kind": "ncsn_ssm", "sigma_max": 3.0, "sigma_min": 0.1, "levels": 6}})
    obj = build_objective(p)
    model = ScoreModel(2, hidden=(32, 32), conditioning="sigma").double()
    x = torch.randn(64, 2, dtype=torch.float64)
    torch.manual_seed(3)
    ours = obj.losses(model, x)
    torch.manual_seed(3)
    labels = torch.randint(0, obj.levels, (64,))
    ref = _reference_anneal_sliced_vr(model, x, labels, obj.sigmas_on("cpu", torch.float64))
    assert torch.allclose(ours, ref, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("kind", ["ssm", "ssm_vr"])
def test_noisy_ssm_learns_the_perturbed_score(kind):
    # p = N(0, 1) in 1-D, noise_sigma = 1: the optimum is the score of N(0, 2), -x/2
    p = P.parse({"density": {"kind": "gaussian", "mean": [0.0], "std": 1.0},
                 "objective": {"kind": kind, "noise_sigma": 1.0, "projections": 4},
                 "model": {"hidden": [32]}, "training": {"steps": 600, "batch_size": 512, "lr": 3e-3}})
    t = Trainer(p, device=torch.device("cpu"))
    t.step(600)
    x = torch.linspace(-2, 2, 41).unsqueeze(1)
    with torch.no_grad():
        s = t.model(x)
    c = float((s * x).sum() / (-x * x).sum())      # s ~ -c x
    assert c == pytest.approx(0.5, abs=0.07), c
