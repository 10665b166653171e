"""Score models: forward-mode derivatives against autograd, energy scores, conditioning."""

from __future__ import annotations

import types

import pytest
import torch
from torch.autograd.functional import jacobian as ag_jacobian

from explorer.core.models import ACTIVATIONS, ScoreModel
from explorer.core.objectives.network import build_model

torch.set_default_dtype(torch.float32)


def make(dim, param, act, cond=None, hidden=(16, 12), seed=0):
    torch.manual_seed(seed)
    return ScoreModel(dim, hidden, act, param, cond, timesteps=50 if cond == "time" else None).double()


def cond_value(cond, n, seed=1):
    g = torch.Generator().manual_seed(seed)
    if cond == "sigma":
        return torch.exp(torch.randn(n, generator=g, dtype=torch.float64))
    if cond == "time":
        return torch.randint(0, 50, (n,), generator=g)
    return None


def autograd_jacobian(model, x, c):
    """Per-sample d s_i / d x_j from torch.autograd.functional.jacobian, (n, d, d)."""
    full = ag_jacobian(lambda y: model(y, c), x)              # (n, d, n, d)
    idx = torch.arange(x.shape[0])
    return full[idx, :, idx, :]


CASES = [(p, a, d, c) for p in ("score", "energy") for a in ACTIVATIONS for d in (1, 2, 3)
         for c in (None, "sigma")]


@pytest.mark.parametrize("param,act,d,cond", CASES)
def test_jacobian_and_trace_match_autograd(param, act, d, cond):
    model = make(d, param, act, cond)
    x = torch.randn(5, d, dtype=torch.float64) * 2
    c = cond_value(cond, 5)
    s, jac = model.forward_with_jacobian(x, c)
    ref = autograd_jacobian(model, x, c)
    torch.testing.assert_close(s, model(x, c), rtol=1e-10, atol=1e-12)
    torch.testing.assert_close(jac, ref, rtol=1e-8, atol=1e-10)
    torch.testing.assert_close(jac.diagonal(dim1=1, dim2=2).sum(1),
                               ref.diagonal(dim1=1, dim2=2).sum(1), rtol=1e-8, atol=1e-10)


@pytest.mark.parametrize("param,act,d,cond", CASES + [("score", "tanh", 2, "time"), ("energy", "elu", 3, "time")])
def test_jvp_matches_jacobian_times_v(param, act, d, cond):
    model = make(d, param, act, cond)
    x = torch.randn(6, d, dtype=torch.float64) * 2
    v = torch.randn(6, d, dtype=torch.float64)
    c = cond_value(cond, 6)
    s, jv = model.forward_with_jvp(x, v, c)
    ref = autograd_jacobian(model, x, c)
    torch.testing.assert_close(s, model(x, c), rtol=1e-10, atol=1e-12)
    torch.testing.assert_close(jv, torch.einsum("nij,nj->ni", ref, v), rtol=1e-8, atol=1e-10)


@pytest.mark.parametrize("act", ACTIVATIONS)
def test_activation_derivative_large_inputs(act):
    # far in the tails (softplus threshold, elu saturation) the closed forms still match autograd
    model = make(2, "score", act)
    x = torch.tensor([[40.0, -35.0], [-60.0, 55.0], [0.0, 0.0]], dtype=torch.float64)
    _, jac = model.forward_with_jacobian(x)
    torch.testing.assert_close(jac, autograd_jacobian(model, x, None), rtol=1e-7, atol=1e-9)


@pytest.mark.parametrize("param", ["score", "energy"])
def test_jacobian_trace_backprops_like_double_backward(param):
    model = make(2, param, "softplus", "sigma")
    x = torch.randn(7, 2, dtype=torch.float64)
    c = cond_value("sigma", 7)
    _, jac = model.forward_with_jacobian(x, c)
    loss_fast = jac.diagonal(dim1=1, dim2=2).sum()
    g_fast = torch.autograd.grad(loss_fast, list(model.parameters()), allow_unused=True,
                                 materialize_grads=True)
    # reference: exact trace by autograd with create_graph (double backward)
    xg = x.clone().requires_grad_(True)
    s = model(xg, c)
    tr = sum(torch.autograd.grad(s[:, i].sum(), xg, create_graph=True)[0][:, i].sum() for i in range(2))
    g_ref = torch.autograd.grad(tr, list(model.parameters()), allow_unused=True, materialize_grads=True)
    for a, b in zip(g_fast, g_ref):
        torch.testing.assert_close(a, b, rtol=1e-8, atol=1e-10)


@pytest.mark.parametrize("cond", [None, "sigma", "time"])
def test_energy_score_is_minus_grad_energy(cond):
    model = make(3, "energy", "silu", cond)
    x = torch.randn(8, 3, dtype=torch.float64)
    c = cond_value(cond, 8)
    xg = x.clone().requires_grad_(True)
    grad_e = torch.autograd.grad(model.energy(xg, c).sum(), xg)[0]
    sign = 1.0 if cond == "time" else -1.0     # time conditioning: eps = +grad E (documented)
    torch.testing.assert_close(model(x, c), sign * grad_e, rtol=1e-10, atol=1e-12)
    # no_grad: still computes, and returns a detached tensor
    with torch.no_grad():
        s = model(x, c)
    assert not s.requires_grad
    torch.testing.assert_close(s, sign * grad_e)
    # training: gradient reaches the weights through the score
    model(x, c).pow(2).sum().backward()
    # (the last bias shifts E by a constant and does not reach the score)
    assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in list(model.parameters())[:-1])


def test_sigma_conditioning_convention():
    model = make(2, "score", "tanh", "sigma")
    x = torch.randn(4, 2, dtype=torch.float64)
    sig = torch.tensor([0.1, 1.0, 3.0, 10.0], dtype=torch.float64)
    net = model._net(torch.cat([x, sig.log()[:, None]], 1))
    torch.testing.assert_close(model(x, sig), net / sig[:, None])   # s = net(x, log sigma) / sigma
    # scalar tensor and python float equal a per-sample vector of the same value
    torch.testing.assert_close(model(x, torch.tensor(2.0)), model(x, torch.full((4,), 2.0)))
    torch.testing.assert_close(model(x, 2.0), model(x, torch.full((4,), 2.0)))
    e = make(2, "energy", "tanh", "sigma")
    torch.testing.assert_close(e.energy(x, sig), e._net(torch.cat([x, sig.log()[:, None]], 1))[:, 0] / sig)


def test_time_conditioning_convention():
    model = make(2, "score", "silu", "time")
    x = torch.randn(4, 2, dtype=torch.float64)
    t = torch.tensor([0, 10, 25, 49])
    net = model._net(torch.cat([x, (t.double() / 50)[:, None]], 1))
    torch.testing.assert_close(model(x, t), net)                      # eps, unscaled
    torch.testing.assert_close(model(x, 7), model(x, torch.full((4,), 7)))
    with pytest.raises(ValueError):
        model(x)


def preset(kind="score", objective="ssm_vr", dim=2, act="softplus", hidden=(32, 32)):
    return types.SimpleNamespace(model={"kind": kind, "hidden": list(hidden), "activation": act},
                                 objective={"kind": objective, "timesteps": 100}, dim=dim)


@pytest.mark.parametrize("objective,cond", [("esm", None), ("ism", None), ("ssm", None), ("ssm_vr", None),
                                            ("dsm", None), ("ncsn", "sigma"), ("ddpm", "time")])
@pytest.mark.parametrize("kind", ["score", "energy"])
def test_build_model(objective, cond, kind):
    m = build_model(preset(kind, objective, dim=3))
    assert m.dim == 3 and m.parameterisation == kind and m.conditioning == cond
    assert m.layers[0].in_features == 3 + (cond is not None)
    assert m.layers[-1].out_features == (3 if kind == "score" else 1)
    c = {None: None, "sigma": torch.ones(5), "time": torch.zeros(5, dtype=torch.long)}[cond]
    assert m(torch.randn(5, 3), c).shape == (5, 3)
    if cond == "time":
        assert m.timesteps == 100


def test_state_dict_plain_tensors_roundtrip(tmp_path):
    m = build_model(preset("energy", "ncsn"))
    sd = m.state_dict()
    assert set(sd) == {f"layers.{i}.{w}" for i in range(3) for w in ("weight", "bias")}
    assert all(type(v) is torch.Tensor for v in sd.values())
    st = pytest.importorskip("safetensors.torch")
    st.save_file(sd, tmp_path / "m.safetensors")
    m2 = ScoreModel(**m.config())
    m2.load_state_dict(st.load_file(tmp_path / "m.safetensors"))
    x = torch.randn(4, 2)
    torch.testing.assert_close(m2(x, 1.5), m(x, 1.5))


@pytest.mark.parametrize("kind", ["score", "energy"])
@pytest.mark.parametrize("cond", [None, "sigma", "time"])
def test_device_agnostic_on_meta(kind, cond):
    """A tensor created on the CPU inside the model would clash with meta tensors."""
    m = ScoreModel(2, [8], "softplus", kind, cond, timesteps=10 if cond == "time" else None).to("meta")
    x = torch.empty(4, 2, device="meta")
    c = {None: None, "sigma": torch.empty(4, device="meta"),
         "time": torch.zeros(4, dtype=torch.long, device="meta")}[cond]
    assert m(x, c).device.type == "meta"
    s, jv = m.forward_with_jvp(x, torch.empty(4, 2, device="meta"), c)
    s2, jac = m.forward_with_jacobian(x, c)
    assert jv.device.type == jac.device.type == "meta" and jac.shape == (4, 2, 2)
