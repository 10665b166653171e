"""The training recipe (core/training/recipe.py): EDM preconditioning against EDM's closed forms, the
EMA and learning-rate formulas, the preset keys, and the saved model file."""

import math

import pytest
import torch

from explorer import api
from explorer.core.presets import preset as P
from explorer.core.errors import SpecError
from explorer.core.models import ScoreModel
from explorer.core.training.recipe import EMA, edm_coefficients, estimate_sigma_data, lr_factor
from explorer.core.noise.sde import make_sde
from explorer.core.noise.schedules import DDPMSchedule

SD = 1.7
MIXTURE = {"kind": "mixture", "weights": [0.3, 0.7], "means": [[-2.0, 0.0], [2.0, 1.0]],
           "stds": [0.5, 0.7]}


def _model(conditioning, **kw):
    torch.manual_seed(0)
    extra = {}
    if conditioning == "sde":
        extra["sde"] = make_sde("vp").config()
    if conditioning == "time":
        extra.update(timesteps=100, betas=[1e-4, 0.02])
    return ScoreModel(2, hidden=[16, 16], activation="silu", conditioning=conditioning,
                      preconditioning="edm", sigma_data=SD, **extra, **kw).double()


def _F(model, x_in, c_noise):
    """The raw network F(c_in x^, c_noise), c_noise (n,)."""
    return model._net(torch.cat([x_in, c_noise.reshape(-1, 1)], dim=1))


def _denoiser(model, x, a, s):
    """EDM's D(x^; sigma) = c_skip x^ + c_out F(c_in x^, c_noise) in scaled coordinates
    x^ = x / a, sigma = s / a (Table 1), from edm_coefficients alone."""
    sigma = s / a
    c_skip, c_out, c_in, c_noise = edm_coefficients(sigma, SD)
    xh = x / a.unsqueeze(1)
    return c_skip.unsqueeze(1) * xh + c_out.unsqueeze(1) * _F(model, c_in.unsqueeze(1) * xh, c_noise)


def test_edm_coefficients_are_table_1():
    sigma = torch.tensor([0.01, 0.5, 3.0, 80.0], dtype=torch.float64)
    c_skip, c_out, c_in, c_noise = edm_coefficients(sigma, 0.5)
    for i, sg in enumerate(sigma.tolist()):
        assert c_skip[i] == pytest.approx(0.25 / (sg ** 2 + 0.25))
        assert c_out[i] == pytest.approx(sg * 0.5 / math.sqrt(sg ** 2 + 0.25))
        assert c_in[i] == pytest.approx(1 / math.sqrt(sg ** 2 + 0.25))
        assert c_noise[i] == pytest.approx(math.log(sg) / 4)
    # EDM's derivation (appendix B.6): unit-variance input, c_in^2 (sigma^2 + s_d^2) = 1, and
    # c_out^2 = (1 - c_skip)^2 s_d^2 + c_skip^2 sigma^2 (unit-variance training target)
    assert torch.allclose(c_in ** 2 * (sigma ** 2 + 0.25), torch.ones_like(sigma))
    assert torch.allclose((1 - c_skip) ** 2 * 0.25 + c_skip ** 2 * sigma ** 2, c_out ** 2)


def test_ncsn_score_is_tweedie_of_the_edm_denoiser():
    m = _model("sigma")
    x = torch.randn(7, 2, dtype=torch.float64) * 3
    sigma = torch.tensor([0.05, 0.3, 1.0, 2.0, 5.0, 10.0, 40.0], dtype=torch.float64)
    D = _denoiser(m, x, torch.ones_like(sigma), sigma)
    # grad log p_sigma(x) = (D - x) / sigma^2
    assert torch.allclose(m(x, sigma), (D - x) / sigma.unsqueeze(1) ** 2, rtol=1e-9, atol=1e-12)


def test_vp_sde_score_eps_and_flow_velocity_from_the_denoiser():
    x = torch.randn(6, 2, dtype=torch.float64) * 3
    # VP SDE: x = a x0 + s z, score = (a D - x) / s^2
    m = _model("sde")
    t = torch.tensor([1e-3, 0.05, 0.2, 0.5, 0.8, 1.0], dtype=torch.float64)
    sde = make_sde("vp")
    a, s = sde.mean_coeff(t), sde.std(t)
    D = _denoiser(m, x, a, s)
    want = (a.unsqueeze(1) * D - x) / s.unsqueeze(1) ** 2
    assert torch.allclose(m(x, t), want, rtol=1e-7, atol=1e-9)
    # DDPM: eps = -s score = (x - a D) / s
    m = _model("time")
    steps = torch.tensor([0, 5, 20, 50, 80, 99])
    ab = DDPMSchedule(100, 1e-4, 0.02).alpha_bars[steps].double()
    a, s = ab.sqrt(), (1 - ab).sqrt()
    D = _denoiser(m, x, a, s)
    assert torch.allclose(m(x, steps), (x - a.unsqueeze(1) * D) / s.unsqueeze(1), rtol=1e-5, atol=1e-6)
    # flow matching (a = t, s = 1 - t): v = E[x_1 - z | x] = (D - x) / s
    m = _model("flow")
    t = torch.tensor([0.01, 0.1, 0.3, 0.5, 0.9, 0.99], dtype=torch.float64)
    D = _denoiser(m, x, t, 1 - t)
    assert torch.allclose(m(x, t), (D - x) / (1 - t).unsqueeze(1), rtol=1e-7, atol=1e-9)


def test_gaussian_data_is_exact_with_a_zero_network():
    """The skip term alone is the exact output for N(0, s_d^2 I) data: F = 0 gives it."""
    m = _model("sde")
    with torch.no_grad():
        m.layers[-1].weight.zero_()
        m.layers[-1].bias.zero_()
    x = torch.randn(5, 2, dtype=torch.float64)
    t = torch.full((5,), 0.3, dtype=torch.float64)
    a, s = make_sde("vp").mean_coeff(t), make_sde("vp").std(t)
    var = (a ** 2 * SD ** 2 + s ** 2).unsqueeze(1)          # p_t = N(0, (a^2 s_d^2 + s^2) I)
    assert torch.allclose(m(x, t), -x / var)


@pytest.mark.parametrize("conditioning", ["sigma", "sde", "flow", "time"])
def test_preconditioned_jvp_and_jacobian_match_autograd(conditioning):
    m = _model(conditioning)
    x = torch.randn(4, 2, dtype=torch.float64) * 2
    c = (torch.tensor([0, 10, 50, 99]) if conditioning == "time"
         else torch.tensor([0.1, 0.4, 0.7, 0.95], dtype=torch.float64))
    jac = torch.stack([torch.autograd.functional.jacobian(lambda y: m(y.unsqueeze(0), c[i:i + 1])[0], x[i])
                       for i in range(4)])
    s, J = m.forward_with_jacobian(x, c)
    assert torch.allclose(s, m(x, c)) and torch.allclose(J, jac, atol=1e-10)
    v = torch.randn(4, 2, dtype=torch.float64)
    _, jv = m.forward_with_jvp(x, v, c)
    assert torch.allclose(jv, torch.einsum("nij,nj->ni", jac, v), atol=1e-10)


def test_preconditioned_energy_gives_the_affine_output():
    torch.manual_seed(1)
    m = ScoreModel(2, hidden=[16], parameterisation="energy", conditioning="sigma",
                   preconditioning="edm", sigma_data=SD).double()
    x = torch.randn(5, 2, dtype=torch.float64)
    sigma = torch.tensor([0.1, 0.5, 1.0, 3.0, 9.0], dtype=torch.float64)
    r = (sigma ** 2 + SD ** 2).sqrt().unsqueeze(1)
    u = (x / r).requires_grad_(True)
    g = m._net(torch.cat([u, (sigma.log() / 4).unsqueeze(1)], 1)).sum()
    (grad_g,) = torch.autograd.grad(g, u)
    # out = alpha x + beta grad_u G with alpha = -1/r^2, beta = s_d / (sigma r)
    want = -x / r ** 2 + SD / (sigma.unsqueeze(1) * r) * grad_g
    assert torch.allclose(m(x, sigma), want, atol=1e-10)


def test_fourier_embedding_widens_the_input():
    m = ScoreModel(2, hidden=[8], conditioning="sigma", noise_embedding="fourier")
    assert m.layers[0].in_features == 2 + 16
    assert m(torch.zeros(3, 2), 0.5).shape == (3, 2)


# --- EMA and learning rate -----------------------------------------------------------------
def test_ema_follows_the_reference_formula():
    p = [torch.tensor([1.0, 2.0]), torch.tensor([[3.0]])]
    ema = EMA(p, 0.9)
    shadow = [q.clone() for q in p]
    for n in range(30):
        for q in p:
            q.add_(0.5 * (n % 3) - 0.4)
        ema.update(p)
        decay = min(0.9, (1 + n) / (10 + n))               # score_sde_pytorch models/ema.py
        shadow = [sh - (1 - decay) * (sh - q) for sh, q in zip(shadow, p)]
        assert all(torch.allclose(a, b) for a, b in zip(ema.shadow, shadow))


def test_lr_warmup_and_cosine_values():
    assert lr_factor(0, 1000, 100, "constant") == pytest.approx(0.01)
    assert lr_factor(49, 1000, 100, "constant") == pytest.approx(0.5)
    assert lr_factor(99, 1000, 100, "cosine") == pytest.approx(1.0)
    assert lr_factor(100, 1000, 100, "cosine") == pytest.approx(1.0)
    assert lr_factor(550, 1000, 100, "cosine") == pytest.approx(0.1 + 0.9 * 0.5)   # halfway
    assert lr_factor(1000, 1000, 100, "cosine") == pytest.approx(0.1)
    assert lr_factor(5000, 1000, 100, "cosine") == pytest.approx(0.1)              # past the budget
    assert lr_factor(7, 1000, 0, "constant") == 1.0


def test_trainer_applies_schedule_and_samples_with_the_average():
    p = P.parse({"density": MIXTURE, "model": {"hidden": [16]}, "objective": {"kind": "ncsn"},
                 "training": {"steps": 20, "batch_size": 64, "ema": 0.9, "lr_warmup": 10,
                              "lr_schedule": "cosine"}})
    from explorer.core.training.trainer import Trainer
    tr = Trainer(p, device=torch.device("cpu"))
    assert tr.model is not tr.net
    tr.step(5)
    assert p.training["lr"] == 3e-3 and p.model["activation"] == "silu"      # the derived recipe
    assert tr.optimizer.param_groups[0]["lr"] == pytest.approx(3e-3 * lr_factor(4, 20, 10, "cosine"))
    tr.step(15)
    assert tr.ema.updates == 20
    assert not all(torch.equal(a, b) for a, b in zip(tr.model.parameters(), tr.net.parameters()))
    assert tr.learned_score().model is tr.model


# --- preset keys ------------------------------------------------------------------------------
@pytest.mark.parametrize("section,key,value,why", [
    ("model", "preconditioning", "karras", "must be one of"),
    ("model", "preconditioning", 1, "expected a string"),
    ("model", "sigma_data", -1.0, "greater than"),
    ("model", "noise_embedding", "sinusoid", "must be one of"),
    ("training", "ema", 1.0, "at most"),
    ("training", "ema", -0.1, "at least"),
    ("training", "ema", "yes", "expected a number"),
    ("training", "lr_warmup", -5, "at least"),
    ("training", "lr_warmup", 2.5, "expected an integer"),
    ("training", "lr_schedule", "linear", "must be one of"),
    ("training", "ema_decay", 0.9, "unknown key"),
])
def test_bad_recipe_keys_name_the_key(section, key, value, why):
    with pytest.raises(SpecError) as e:
        P.parse({"density": MIXTURE, "objective": {"kind": "sde"}, section: {key: value}})
    assert f"{section}.{key}" in str(e.value) and why in str(e.value)


def test_resolved_preset_carries_the_recipe():
    p = P.parse({"density": MIXTURE, "objective": {"kind": "sde"}, "model": {"preconditioning": "edm"}})
    text = p.to_toml()
    for k in ("preconditioning", "sigma_data", "noise_embedding", "ema", "lr_warmup", "lr_schedule"):
        assert f"\n{k} = " in text
    again = P.loads(text)
    assert again.model == p.model and again.training == p.training
    # sigma_data = sqrt(tr Cov / d): the mixture's closed form, to the estimate's accuracy
    w, m, s = [0.3, 0.7], [[-2.0, 0.0], [2.0, 1.0]], [0.5, 0.7]
    mean = [sum(wi * mi[j] for wi, mi in zip(w, m)) for j in range(2)]
    var = sum(sum(wi * (si ** 2 + (mi[j] - mean[j]) ** 2) for wi, mi, si in zip(w, m, s)) for j in range(2)) / 2
    assert p.model["sigma_data"] == pytest.approx(math.sqrt(var), rel=0.03)
    assert estimate_sigma_data(p.build_density()) == p.model["sigma_data"]


# --- the saved model --------------------------------------------------------------------------
def test_saved_and_reloaded_model_gives_identical_scores(tmp_path):
    from safetensors.torch import save_file
    from explorer.core.training.model_file import file_metadata, load_model, state_of
    from explorer.core.training.trainer import Trainer
    p = P.parse({"density": MIXTURE, "model": {"hidden": [16], "preconditioning": "edm",
                                              "noise_embedding": "fourier"},
                 "objective": {"kind": "sde", "sde": "ve"},
                 "training": {"steps": 10, "batch_size": 64, "ema": 0.5}})
    tr = Trainer(p, device=torch.device("cpu"))
    tr.step(10)
    path = tmp_path / "model.safetensors"
    save_file(state_of(tr), str(path), metadata=file_metadata(tr))
    model, meta = load_model(path)
    assert meta["weights"] == "ema 0.5"
    x = torch.randn(50, 2)
    t = torch.rand(50) * 0.99 + 0.01
    with torch.no_grad():
        assert torch.equal(model(x, t), tr.model(x, t))          # the average is what is saved
        assert not torch.equal(model(x, t), tr.net(x, t))


def test_recipe_defaults_are_derived_per_objective():
    noisy = P.parse({"density": MIXTURE, "objective": {"kind": "ncsn"}, "training": {"steps": 150}})
    assert (noisy.model["activation"], noisy.model["preconditioning"]) == ("silu", "edm")
    assert noisy.training["lr"] == 3e-3 and noisy.training["ema"] == 0.999
    assert noisy.training["lr_warmup"] == 15 and noisy.training["lr_schedule"] == "cosine"
    assert noisy.model["hidden"] == [128, 128, 128]         # bench_defaults.py's A/B
    plain = P.parse({"density": MIXTURE, "objective": {"kind": "ssm_vr"}})
    assert plain.model["hidden"] == [128, 128]
    switched = api.edit(plain, {"objective.kind": "sde"})   # an objective switch derives it again
    assert switched.model["hidden"] == [128, 128, 128]
    kept = P.parse({"density": MIXTURE, "objective": {"kind": "ncsn"}, "model": {"hidden": [64]}})
    assert kept.model["hidden"] == [64] and P.loads(kept.to_toml()).model["hidden"] == [64]
    assert (plain.model["activation"], plain.model["preconditioning"]) == ("softplus", "none")
    assert (plain.training["lr"], plain.training["ema"], plain.training["lr_warmup"]) == (1e-3, 0.0, 0)
    given = P.parse({"density": MIXTURE, "objective": {"kind": "sde"},
                     "model": {"activation": "tanh"}, "training": {"ema": 0.0, "lr": 5e-4}})
    assert (given.model["activation"], given.training["ema"], given.training["lr"]) == ("tanh", 0.0, 5e-4)
