"""Training objectives against closed forms on Gaussians (docs/design.md §3)."""

from __future__ import annotations

import math
import types

import pytest
import torch
from torch import nn

from explorer.core.models import ScoreModel
from explorer.core.objectives import (DSM, ESM, ISM, NCSN, SSM, SSMVR, DDPMObjective, build_objective,
                                      sample_projections)
from explorer.core.noise.schedules import DDPMSchedule, ncsn_sigmas


class Gaussian:
    """p = N(mu, s^2 I): enough of the Density interface for the objectives."""

    def __init__(self, mu, s):
        self.mu = torch.as_tensor(mu, dtype=torch.float64)
        self.s = float(s)
        self.dim = self.mu.numel()

    def sample(self, n, dtype=torch.float64):
        return (self.mu + self.s * torch.randn(n, self.dim, dtype=torch.float64)).to(dtype)

    def score(self, x):
        key = (x.device, x.dtype)
        if getattr(self, "_mu_key", None) != key:          # one host-to-device copy per device
            self._mu_key, self._mu = key, self.mu.to(x)
        return -(x - self._mu) / self.s ** 2


class GaussScore(nn.Module):
    """-(x - mu) / var, var = s^2 + sigma^2 (sigma fixed, or per sample from c), times `sign`."""

    def __init__(self, mu, s, sigma=0.0, sign=1.0, use_c=False):
        super().__init__()
        self.mu, self.s, self.sigma, self.sign, self.use_c = torch.as_tensor(mu), s, sigma, sign, use_c
        self.seen = []

    def forward(self, x, c=None):
        if self.use_c:
            self.seen.append(c)
            var = (self.s ** 2 + c ** 2).unsqueeze(1)
        else:
            var = self.s ** 2 + self.sigma ** 2
        return self.sign * -(x - self.mu.to(x)) / var


def within_mc(values, expected, k=5.0):
    """mean(values) == expected within k standard errors."""
    mean = values.mean()
    se = values.std() / math.sqrt(values.numel())
    assert abs(float(mean) - expected) < k * float(se) + 1e-9, (float(mean), expected, float(se))


def small_model(d, kind, cond=None, seed=0, hidden=(32,)):
    torch.manual_seed(seed)
    m = ScoreModel(d, hidden, "softplus", kind, cond).double()
    with torch.no_grad():                     # make the output (and its Jacobian) order one
        m.layers[-1].weight.mul_(3.0 if kind == "score" else 10.0)
    return m


# --- ESM / ISM ----------------------------------------------------------------------------------
def test_esm_of_true_score_is_zero():
    p = Gaussian([1.0, -2.0], 0.7)
    x = p.sample(1000)
    obj = ESM(p)
    assert obj.needs_true_score
    assert float(obj.loss(GaussScore(p.mu, p.s), x)) < 1e-20
    # and the value of a wrong one is the closed form 1/2 E|(c - 1) score|^2 = 1/2 (c-1)^2 d / s^2
    loss = obj.losses(GaussScore(p.mu, p.s, sign=3.0), x)
    within_mc(loss, 0.5 * 4 * 2 / 0.49)


@pytest.mark.parametrize("kind", ["score", "energy"])
def test_esm_minus_ism_plus_constant_is_zero_in_expectation(kind):
    torch.manual_seed(3)
    p = Gaussian([0.5, -1.0], 0.8)
    x = p.sample(40_000)
    model = small_model(2, kind, seed=4)
    ism = ISM()
    const = ism.ism_constant(p, x)
    # 1/2 E|grad log p|^2 = d / (2 s^2)
    assert abs(const - 2 / (2 * 0.64)) < 0.02 * const
    with torch.no_grad():
        esm_i = ESM(p).losses(model, x)
    ism_i = ism.losses(model, x).detach()
    diff = esm_i - ism_i - 0.5 * p.score(x).pow(2).sum(1)
    within_mc(diff, 0.0)
    # the objectives' own scalars line up with the Fisher divergence as the UI plots them
    fisher = float(esm_i.mean())
    assert abs(float(ism_i.mean()) + const - fisher) < 0.05 * fisher + 5 * float(diff.std()) / math.sqrt(4e4)
    assert ESM(p).ism_constant(p, x) is None


@pytest.mark.parametrize("cls", [SSM, SSMVR])
def test_sliced_loss_plus_the_constant_is_the_fisher_divergence(cls):
    """The loss + C curve drawn for SSM and SSM-VR (as for ISM) estimates F: E[v v^T] = I."""
    torch.manual_seed(5)
    p = Gaussian([0.5, -1.0], 0.8)
    x = p.sample(40_000)
    model = small_model(2, "score", seed=6)
    obj = cls(projections=1, projection="gaussian")
    with torch.no_grad():
        fisher = ESM(p).losses(model, x)
    sliced = obj.losses(model, x).detach()
    diff = sliced + obj.ism_constant(p, x) - fisher
    within_mc(diff, 0.0)
    assert cls(noise_sigma=0.3).ism_constant(p, x) is None, "noisy data: another constant"


# --- sliced -------------------------------------------------------------------------------------
@pytest.mark.parametrize("proj", ["gaussian", "rademacher", "sphere"])
def test_projection_distributions(proj):
    torch.manual_seed(0)
    v = sample_projections(proj, torch.empty(200_000, 3, dtype=torch.float64))
    cov = v.T @ v / v.shape[0]
    torch.testing.assert_close(cov, torch.eye(3, dtype=torch.float64), atol=0.02, rtol=0)
    if proj == "rademacher":
        assert set(v.unique().tolist()) == {-1.0, 1.0}
    if proj == "sphere":
        torch.testing.assert_close(v.norm(dim=1), torch.full((200_000,), math.sqrt(3), dtype=torch.float64))


@pytest.mark.parametrize("kind", ["score", "energy"])
@pytest.mark.parametrize("proj", ["gaussian", "rademacher", "sphere"])
@pytest.mark.parametrize("cls", [SSM, SSMVR])
def test_sliced_equals_ism_over_many_projections(cls, proj, kind):
    torch.manual_seed(1)
    d, n, m = 3, 64, 1500
    model = small_model(d, kind, seed=2)
    x = torch.randn(n, d, dtype=torch.float64) * 1.5
    ism_i = ISM().losses(model, x).detach()
    sliced_i = cls(projections=m, projection=proj).losses(model, x).detach()
    assert sliced_i.shape == (n,)
    with torch.no_grad():
        s, jac = model.forward_with_jacobian(x)
    scale = float((0.5 * s.pow(2).sum(1)).mean() + jac.diagonal(dim1=1, dim2=2).sum(1).abs().mean())
    trace = float(jac.diagonal(dim1=1, dim2=2).sum(1).abs().mean())
    assert scale > 0.3 and trace > 0.05, (scale, trace)     # the check is not vacuous
    diff = sliced_i - ism_i
    within_mc(diff, 0.0)                   # unbiased: per-sample errors average out over the batch
    # within a few percent of the loss scale, per sample and for the batch
    assert float(diff.abs().mean()) < 0.05 * scale
    assert abs(float(diff.mean())) < 0.02 * scale
    if cls is SSMVR:
        # the 1/2|s|^2 terms cancel exactly, so what is left is E_v[v^T J v] - tr J: a few percent of tr J
        assert abs(float(diff.mean())) < 0.05 * trace


def test_sliced_single_projection_unbiased():
    """M = 1 (the default) averaged over many draws: same expectation as ISM."""
    torch.manual_seed(5)
    model = small_model(2, "score", seed=6)
    x = torch.randn(50, 2, dtype=torch.float64).repeat(1500, 1)
    ism = float(ISM().loss(model, x).detach())
    for cls in (SSM, SSMVR):
        vals = cls(projections=1, projection="rademacher").losses(model, x).detach()
        within_mc(vals, ism)


# --- DSM ----------------------------------------------------------------------------------------
def test_dsm_minimiser_is_perturbed_score():
    torch.manual_seed(7)
    mu, s, sigma, d = [1.0, -2.0], 0.7, 0.5, 2
    p = Gaussian(mu, s)
    x = p.sample(200_000)
    obj = DSM(sigma)
    exact = obj.losses(GaussScore(mu, s, sigma), x)
    # closed-form minimum: 1/2 E|grad log q(x~|x)|^2 - 1/2 E|grad log p_sigma|^2
    within_mc(exact, d / 2 * (1 / sigma ** 2 - 1 / (s ** 2 + sigma ** 2)))
    flipped = obj.loss(GaussScore(mu, s, sigma, sign=-1.0), x)
    unperturbed = obj.loss(GaussScore(mu, s, 0.0), x)    # the score of p itself is not the minimiser
    assert float(exact.mean()) < float(unperturbed) < float(flipped)
    assert float(flipped) > 2 * float(exact.mean())


# --- NCSN ---------------------------------------------------------------------------------------
def test_ncsn_exact_perturbed_score_is_best_and_matches_closed_form():
    torch.manual_seed(8)
    mu, s, d = [2.0, 0.0], 0.6, 2
    p = Gaussian(mu, s)
    x = p.sample(200_000)
    obj = NCSN(sigma_max=3.0, sigma_min=0.1, levels=5)
    sig = ncsn_sigmas(3.0, 0.1, 5).double()
    exact_model = GaussScore(mu, s, use_c=True)
    exact = obj.losses(exact_model, x)
    # per level: 1/2 sigma^2 * d (1/sigma^2 - 1/(s^2 + sigma^2)) = d/2 s^2/(s^2 + sigma^2)
    within_mc(exact, float((d / 2 * s ** 2 / (s ** 2 + sig ** 2)).mean()))
    c = exact_model.seen[0]
    assert c.shape == (200_000,) and c.dtype == x.dtype
    assert torch.isin(c, sig).all()                                    # sigmas from the schedule
    assert torch.unique(c).numel() == 5                                # every level drawn
    counts = torch.stack([(c == v).sum() for v in sig]).double()
    assert (counts / 200_000 - 0.2).abs().max() < 0.01                 # uniformly
    wrong_sigma = obj.loss(GaussScore(mu, s, sigma=3.0), x)            # ignores the sample's sigma
    flipped = obj.loss(GaussScore(mu, s, sign=-1.0, use_c=True), x)
    assert float(exact.mean()) < float(wrong_sigma)
    assert float(exact.mean()) < float(flipped)


# --- DDPM ---------------------------------------------------------------------------------------
class EpsOracle(nn.Module):
    """Knows the data is the constant x0, so recovers eps = (x_t - sqrt(ab_t) x0) / sqrt(1 - ab_t)."""

    def __init__(self, x0, sched):
        super().__init__()
        self.x0, self.ab = x0, sched.alpha_bars
        self.seen = []

    def forward(self, x_t, t):
        self.seen.append(t)
        ab = self.ab[t].unsqueeze(1)
        return (x_t - ab.sqrt() * self.x0) / (1 - ab).sqrt()


def test_ddpm_loss_formula():
    torch.manual_seed(9)
    T, d = 20, 3
    obj = DDPMObjective(T, 1e-4, 0.2)
    x0 = torch.tensor([3.0, -1.0, 0.5], dtype=torch.float64)
    oracle = EpsOracle(x0, DDPMSchedule(T, 1e-4, 0.2))
    x = x0.expand(50_000, d).clone()
    assert float(obj.loss(oracle, x)) < 1e-20
    t = oracle.seen[0]
    assert t.dtype == torch.long and int(t.min()) == 0 and int(t.max()) == T - 1
    # zero prediction: E|eps|^2 = d (squared norm summed over coordinates, mean over the batch)
    zeros = obj.losses(lambda xt, tt: torch.zeros_like(xt), torch.randn(50_000, d, dtype=torch.float64))
    within_mc(zeros, float(d))
    # an off-by-one step index is caught
    shifted = EpsOracle(x0, DDPMSchedule(T, 1e-4, 0.2))
    shifted.ab = torch.cat([shifted.ab[1:], shifted.ab[-1:]])
    assert float(obj.loss(shifted, x)) > 1e-4


# --- construction -------------------------------------------------------------------------------
def preset(kind, **kw):
    o = {"kind": kind, "projections": 2, "projection": "sphere", "sigma": 0.2, "sigma_max": 4.0,
         "sigma_min": 0.1, "levels": 6, "timesteps": 30, "beta_min": 1e-4, "beta_max": 0.02, **kw}
    return types.SimpleNamespace(model={"kind": "score", "hidden": [16], "activation": "silu"},
                                 objective=o, dim=2)


@pytest.mark.parametrize("kind", ["esm", "ism", "ssm", "ssm_vr", "dsm", "ncsn", "ddpm"])
def test_build_objective(kind):
    p = Gaussian([0.0, 0.0], 1.0)
    obj = build_objective(preset(kind), p)
    assert obj.name == kind
    assert obj.needs_true_score == (kind == "esm")
    assert (obj.ism_constant(p, p.sample(100)) is None) == (kind not in ("ism", "ssm", "ssm_vr"))
    if kind in ("ssm", "ssm_vr"):
        assert obj.projections == 2 and obj.projection == "sphere"
    if kind == "dsm":
        assert obj.sigma == 0.2
    if kind == "ncsn":
        torch.testing.assert_close(obj.sigmas, ncsn_sigmas(4.0, 0.1, 6))
    if kind == "ddpm":
        assert obj.T == 30


# --- device and host synchronisation ------------------------------------------------------------
def _all_cases():
    for kind in ["esm", "ism", "ssm", "ssm_vr", "dsm", "ncsn", "ddpm"]:
        for param in ["score", "energy"]:
            yield kind, param


def _setup(kind, param, device="cpu"):
    cond = {"ncsn": "sigma", "ddpm": "time"}.get(kind)
    model = ScoreModel(2, [16, 16], "softplus", param, cond, timesteps=30 if cond == "time" else None)
    return model.to(device), build_objective(preset(kind), Gaussian([0.0, 1.0], 1.0))


@pytest.mark.parametrize("kind,param", list(_all_cases()))
def test_loss_does_not_sync_host(kind, param, monkeypatch):
    """Any .item(), .cpu(), .tolist(), .numpy() or python branching on a tensor value in the loss
    would read the device back; make each of them raise while the loss is computed."""
    model, obj = _setup(kind, param)
    x = torch.randn(64, 2)
    obj.loss(model, x)                        # warm the per-device caches first

    def boom(*a, **k):
        raise AssertionError("host synchronisation inside the loss")

    for name in ("item", "cpu", "tolist", "numpy", "__bool__", "__float__", "__int__"):
        monkeypatch.setattr(torch.Tensor, name, boom)
    loss = obj.loss(model, x)
    monkeypatch.undo()
    assert loss.dim() == 0 and loss.requires_grad
    loss.backward()
    assert all(p.grad is None or torch.isfinite(p.grad).all() for p in model.parameters())


@pytest.mark.parametrize("kind,param", list(_all_cases()))
def test_loss_device_agnostic_on_meta(kind, param):
    """Every tensor of the loss follows x's device (a CPU tensor would clash with meta)."""
    model, obj = _setup(kind, param, "meta")
    loss = obj.loss(model, torch.empty(32, 2, device="meta"))
    assert loss.device.type == "meta" and loss.dim() == 0


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
@pytest.mark.parametrize("kind,param", list(_all_cases()))
def test_loss_does_not_sync_cuda(kind, param):
    model, obj = _setup(kind, param, "cuda")
    x = torch.randn(256, 2, device="cuda")
    obj.loss(model, x).backward()             # warm caches and kernels
    torch.cuda.synchronize()
    torch.cuda.set_sync_debug_mode("error")
    try:
        loss = obj.loss(model, x)
    finally:
        torch.cuda.set_sync_debug_mode("default")
    loss.backward()
    assert torch.isfinite(loss)
