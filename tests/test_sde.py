"""Score SDEs, their samplers and the ODE likelihood, each against an independent computation:
quadrature, finite differences, autograd of a closed-form log density, or the true density."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from explorer.core.densities.gaussian import GaussianMixture
from explorer.core.measures.likelihood import nll_per_dim, ode_log_likelihood
from explorer.core.models import ScoreModel
from explorer.core.noise.sde import make_sde
from explorer.core.presets import preset as P
from explorer.core.samplers import build_sampler
from explorer.core.samplers.predictors import (EulerMaruyamaPredictor, LangevinCorrector,
                                               ReverseDiffusionPredictor)
from explorer.core.scores import TrueScore


def mixture(dim: int) -> GaussianMixture:
    if dim == 1:
        return GaussianMixture([0.35, 0.65], [[-2.5], [2.0]], [[[0.6]], [[0.9]]])
    if dim == 2:
        return GaussianMixture([0.3, 0.7], [[-3.0, -1.0], [3.0, 1.5]],
                               [[[1.0, 0.3], [0.3, 0.5]], [[0.6, 0.0], [0.0, 0.8]]])
    return GaussianMixture([0.4, 0.6], [[-2.0, 0.0, 1.0], [2.0, 1.0, -1.0]],
                           [np.eye(3) * 0.7, np.eye(3) * 0.5])


def density_table(d: GaussianMixture) -> dict:
    return {"kind": "mixture", "weights": d.weights.tolist(), "means": d.means.tolist(),
            "covariances": d.covariances.tolist()}


def sde_sampler(d: GaussianMixture, objective: dict, **sampler):
    """The registered sampler `sampler["kind"]` on the exact score of d, through a preset."""
    p = P.parse({"name": "t", "density": density_table(d), "objective": objective,
                 "training": {"steps": 0}, "sampler": {"score": "true", "seed": 0, **sampler}})
    return build_sampler(p, TrueScore(d, p), "cpu")


def frac_first(d, x) -> float:
    return float((d.responsibilities(x).argmax(1) == 0).double().mean())


@pytest.mark.parametrize("kind", ["ve", "vp", "subvp"])
def test_marginal_moments_follow_the_sde(kind):
    """For x_0 = 0 the kernel variance v = s^2 obeys dv/dt = 2 c(t) v + g^2 (f = c(t) x), and
    the mean coefficient d log a/dt = c(t): checked by central differences on s(t), a(t)."""
    sde = make_sde(kind, sigma_min=0.01, sigma_max=50.0)
    t = torch.linspace(0.05, 0.95, 19, dtype=torch.float64)
    h = 1e-5
    one = torch.ones(t.shape[0], 1, dtype=torch.float64)
    c = sde.sde(one, t)[0][:, 0]                     # f(1, t) = c(t)
    g2 = sde.sde(one, t)[1] ** 2
    v = lambda u: sde.std(u) ** 2  # noqa: E731
    dv = (v(t + h) - v(t - h)) / (2 * h)
    if kind == "ve":   # VE's kernel starts at sigma_min, not 0: v = sigma(t)^2, dv/dt = g^2 exactly
        assert torch.allclose(dv, g2, rtol=1e-6)
    else:
        assert torch.allclose(dv, 2 * c * v(t) + g2, rtol=1e-5, atol=1e-8)
    dloga = (sde.mean_coeff(t + h).log() - sde.mean_coeff(t - h).log()) / (2 * h)
    assert torch.allclose(dloga, c, rtol=1e-6, atol=1e-9)


def test_vp_mean_coefficient_is_the_integral_of_beta():
    """a(t) = exp(-1/2 int_0^t beta(s) ds), the integral by the trapezoid rule."""
    sde = make_sde("vp")
    s = torch.linspace(0, 0.7, 200001, dtype=torch.float64)
    integral = torch.trapezoid(sde.beta(s), s)
    a = sde.mean_coeff(torch.tensor([0.7], dtype=torch.float64))
    assert abs(float(a) - math.exp(-0.5 * float(integral))) < 1e-9


@pytest.mark.parametrize("kind", ["ve", "vp", "subvp"])
@pytest.mark.parametrize("dim", [1, 2, 3])
def test_true_score_at_time_is_the_gradient_of_the_marginal_log_density(kind, dim):
    d = mixture(dim)
    sde = make_sde(kind, sigma_max=20.0)
    score = TrueScore(d, path=sde)
    x = (3 * torch.randn(64, dim, generator=torch.Generator().manual_seed(1))).double()
    for t in (1e-3, 0.3, 0.9):
        tt = torch.tensor([t], dtype=torch.float64)
        a, s = float(sde.mean_coeff(tt)), float(sde.std(tt))
        xg = x.clone().requires_grad_(True)
        (ref,) = torch.autograd.grad(d.perturbed_log_prob(xg, s, a).sum(), xg)
        assert torch.allclose(score(x, t), ref, rtol=1e-6, atol=1e-8)
        # the alternative form (1/a) * score of p * N(0, (s/a)^2) at x/a
        assert torch.allclose(score.at_time(x, t), d.perturbed_score(x / a, s / a) / a,
                              rtol=1e-6, atol=1e-8)


@pytest.mark.parametrize("param", ["score", "energy"])
@pytest.mark.parametrize("kind", ["ve", "vp"])
def test_sde_conditioned_model_derivatives_match_autograd(param, kind):
    torch.manual_seed(0)
    sde = make_sde(kind)
    m = ScoreModel(2, hidden=[16, 16], activation="silu", parameterisation=param,
                   conditioning="sde", sde=sde.config()).double()
    x = torch.randn(7, 2, dtype=torch.float64)
    t = torch.rand(7, dtype=torch.float64) * 0.9 + 0.05
    v = torch.randn(7, 2, dtype=torch.float64)
    s = m(x, t)
    # output scale 1/std(t): the raw network times 1/std
    if param == "score":
        raw = m._net(torch.cat([x, t[:, None]], 1))
        assert torch.allclose(s, raw / sde.std(t)[:, None])
    xg = x.clone().requires_grad_(True)
    sg = m(xg, t)
    J = torch.stack([torch.autograd.grad(sg[:, i].sum(), xg, retain_graph=True)[0] for i in range(2)], 1)
    s1, jv = m.forward_with_jvp(x, v, t)
    s2, jac = m.forward_with_jacobian(x, t)
    assert torch.allclose(s1, s, atol=1e-10) and torch.allclose(s2, s, atol=1e-10)
    assert torch.allclose(jv, torch.einsum("nij,nj->ni", J, v), atol=1e-8)
    assert torch.allclose(jac, J, atol=1e-8)
    assert m.config()["sde"] == sde.config()
    m2 = ScoreModel(**m.config()).double()              # config() rebuilds it, sde included
    m2.load_state_dict(m.state_dict())
    assert torch.allclose(m2(x, t), s, atol=1e-12)


def test_sde_loss_with_the_exact_score_matches_quadrature():
    """Data N(0, I_d), VE: the exact score of p_t is -x/(1 + s^2), so the sigma2-weighted loss
    is |s score + z|^2 = |(z - s x_0)|^2 / (1 + s^2)^2, expectation d / (1 + s(t)^2), averaged
    over t ~ U[eps_t, 1] by quadrature."""
    from explorer.core.objectives.sde import SDEObjective
    obj = SDEObjective(sde="ve", sigma_min=0.1, sigma_max=5.0)
    sde = obj.sde

    def exact(x, t):
        return -x / (1 + sde.std(t) ** 2)[:, None]

    torch.manual_seed(0)
    x = torch.randn(400_000, 2, dtype=torch.float64)
    got = float(obj.losses(exact, x).mean())
    t = torch.linspace(obj.eps_t, 1, 100001, dtype=torch.float64)
    want = float(torch.trapezoid(2 / (1 + sde.std(t) ** 2), t)) / (1 - obj.eps_t)
    assert abs(got - want) < 0.01 * want


def test_likelihood_weighting_is_g2_over_s2_times_sigma2():
    from explorer.core.objectives.sde import SDEObjective
    a = SDEObjective(sde="vp", weighting="sigma2")
    b = SDEObjective(sde="vp", weighting="likelihood")
    torch.manual_seed(0)
    model = ScoreModel(2, hidden=[8], conditioning="sde", sde=a.sde.config()).double()
    x = torch.randn(50, 2, dtype=torch.float64)
    torch.manual_seed(3)
    la = a.losses(model, x)
    torch.manual_seed(3)
    lb = b.losses(model, x)
    torch.manual_seed(3)
    t = torch.rand(50, dtype=torch.float64) * (1 - a.eps_t) + a.eps_t
    assert torch.allclose(lb, la * a.sde.diffusion(t) ** 2 / a.sde.std(t) ** 2, rtol=1e-9)


def test_ncsn_anneal_power_and_ddpm_beta_tilde():
    from explorer.core.objectives.ddpm import posterior_variance
    from explorer.core.objectives.ncsn import NCSN
    m = ScoreModel(2, hidden=[8], conditioning="sigma")
    x = torch.randn(64, 2)
    losses = []
    for p in (2.0, 0.0):
        torch.manual_seed(5)
        losses.append(NCSN(10.0, 0.1, 5, anneal_power=p).losses(m, x))
    torch.manual_seed(5)
    sigmas = NCSN(10.0, 0.1, 5).sigmas
    sigma = sigmas[torch.randint(0, 5, (64,))]
    assert torch.allclose(losses[1] * sigma ** 2, losses[0], rtol=1e-5)
    betas = torch.linspace(1e-4, 0.02, 10, dtype=torch.float64)
    bt = posterior_variance(betas, "beta_tilde")
    ab = [float(np.prod(1 - betas[: i + 1].numpy())) for i in range(10)]
    want = [0.0] + [(1 - ab[i - 1]) / (1 - ab[i]) * float(betas[i]) for i in range(1, 10)]
    assert np.allclose(bt.numpy(), want, rtol=1e-12, atol=0)
    assert torch.equal(posterior_variance(betas, "beta"), betas)


@pytest.mark.parametrize("dim", [1, 2])
def test_ode_likelihood_on_the_exact_score_is_the_true_log_density(dim):
    d = mixture(dim)
    sde = make_sde("vp")
    x = d.sample(300, torch.Generator().manual_seed(2)).double()
    logp, z, nfe = ode_log_likelihood(sde, TrueScore(d, path=sde), x)
    true = d.log_prob(x)
    assert abs(nll_per_dim(logp, dim) - nll_per_dim(true, dim)) < 0.02
    assert float((logp - true).abs().mean()) / dim < 0.02
    assert nfe > 10


def test_hutchinson_likelihood_is_unbiased_in_the_mean():
    d = mixture(2)
    sde = make_sde("vp")
    x = d.sample(2000, torch.Generator().manual_seed(4)).double()
    logp, _, _ = ode_log_likelihood(sde, TrueScore(d, path=sde), x, trace="hutchinson",
                                    generator=torch.Generator().manual_seed(0), rtol=1e-4, atol=1e-4)
    assert abs(nll_per_dim(logp, 2) - nll_per_dim(d.log_prob(x), 2)) < 0.05


def test_model_jacobian_trace_equals_the_autograd_trace():
    """The likelihood's two exact-trace paths (forward-mode Jacobian, autograd loop) agree."""
    torch.manual_seed(0)
    sde = make_sde("vp")
    m = ScoreModel(2, hidden=[16, 16], conditioning="sde", sde=sde.config()).double()
    x = torch.randn(20, 2, dtype=torch.float64)

    class WithJacobian:      # as core/measures/model_likelihood.py gives a model to the solver
        def __call__(self, y, t):
            return m(y, float(t))

        def jacobian(self, y, t):
            return m.forward_with_jacobian(y, float(t))

    a, _, _ = ode_log_likelihood(sde, WithJacobian(), x, rtol=1e-4, atol=1e-4)
    b, _, _ = ode_log_likelihood(sde, lambda y, t: m(y, float(t)), x, rtol=1e-4, atol=1e-4)
    assert torch.allclose(a, b, atol=1e-5)


@pytest.mark.parametrize("kind", ["vp", "ve", "subvp"])
def test_ode_sampling_on_the_exact_score_recovers_the_weights(kind):
    # VE's prior N(0, sigma_max^2 I) ignores the data's mean (1.2, 0.75): at sigma_max = 30 that
    # shift alone moves the weights by ~0.02, at the reference's default 50 by ~0.01
    d = mixture(2)
    obj = {"kind": "sde", "sde": kind, **({"sigma_max": 50.0} if kind == "ve" else {})}
    s = sde_sampler(d, obj, kind="ode", particles=10_000, steps=1, method="dopri5")
    s.run()
    assert s.done and s.x.shape == (10_000, 2)
    assert abs(frac_first(d, s.x) - 0.3) < 0.02


@pytest.mark.parametrize("dim", [1, 3])
@pytest.mark.parametrize("kind", ["pc", "euler_maruyama", "ode"])
def test_every_sampler_runs_step_by_step_in_1d_and_3d(dim, kind):
    d = mixture(dim)
    extra = dict(steps=20, method="rk4", paths=True) if kind == "ode" else dict(steps=200)
    s = sde_sampler(d, {"kind": "sde", "sde": "vp"}, kind=kind, particles=3000, **extra)
    s.advance(5)
    assert s.done_steps == 5 and not s.done
    s.run()
    assert s.done and s.x.shape == (3000, dim)
    if kind == "ode":       # the first 200 particles' paths: the start and after every step
        assert s.paths_so_far().shape == (s.total + 1, 200, dim)
    w0 = float(d.weights[0])
    assert abs(frac_first(d, s.x) - w0) < 0.04


def test_flow_matching_velocity_and_score_agree_with_gaussian_posterior_means():
    """1-D data N(m, c^2): x_t ~ N(t m, V), V = t^2 c^2 + (1 - t)^2; E[x_1 | x] and E[z | x]
    are Gaussian posterior means, v = E[x_1 | x] - E[z | x]; the score is -(x - t m)/V."""
    from explorer.core.objectives.flow_matching import true_velocity, velocity_to_score
    m, c = 1.5, 0.7
    d = GaussianMixture([1.0], [[m]], [[[c * c]]])
    x = torch.linspace(-3, 3, 13, dtype=torch.float64)[:, None]
    for t in (0.1, 0.5, 0.9):
        V = t * t * c * c + (1 - t) ** 2
        e1 = m + t * c * c * (x - t * m) / V
        ez = (1 - t) * (x - t * m) / V
        v = true_velocity(d, x, t)
        assert torch.allclose(v, e1 - ez, atol=1e-10)
        assert torch.allclose(velocity_to_score(v, x, t), -(x - t * m) / V, atol=1e-10)


def test_flow_ode_on_the_exact_velocity_recovers_the_weights():
    d = mixture(2)
    s = sde_sampler(d, {"kind": "flow_matching"}, kind="ode", particles=10_000, steps=1,
                    method="dopri5")
    s.run()
    assert abs(frac_first(d, s.x) - 0.3) < 0.02


def test_discretisations_are_ncsn_and_ddpm():
    """VP with N = 1000 discretises to DDPM's linear betas 1e-4 .. 0.02 (beta_bar / N), and VE's
    discrete sigmas are NCSN's geometric ladder: the connection the issue wants shown."""
    from explorer.core.noise.schedules import DDPMSchedule, ncsn_sigmas
    vp = make_sde("vp", N=1000)
    assert torch.allclose(vp.discrete_betas, DDPMSchedule(1000).betas, rtol=1e-12)
    ve = make_sde("ve", sigma_min=1.0, sigma_max=20.0, N=10)
    assert torch.allclose(ve.discrete_sigmas.flip(0).float(), ncsn_sigmas(20.0, 1.0, 10), rtol=1e-6)
    # SMLD step noise G_i = sqrt(sigma_i^2 - sigma_{i-1}^2), sigma_{-1} = 0
    x = torch.zeros(10, 1, dtype=torch.float64)
    t = torch.linspace(0, 1, 10, dtype=torch.float64)
    _, G = ve.discretize(x, t)
    s = ve.discrete_sigmas
    assert torch.allclose(G ** 2, s ** 2 - torch.cat([s.new_zeros(1), s[:-1]]) ** 2)


class MinusX:
    """The score of N(0, I) at every time: s(x, t) = -x."""

    def at_time(self, x, t):
        return -x


def test_corrector_step_follows_the_snr_rule():
    """One Langevin corrector step of the registered pc sampler (predictor none): eps = 2 alpha
    (snr |z| / |s|)^2 (batch-mean norms), x' = x + eps s + sqrt(2 eps) z, recomputed here with
    the same generator state."""
    d = mixture(2)
    p = P.parse({"name": "t", "density": density_table(d), "objective": {"kind": "sde", "sde": "ve"},
                 "training": {"steps": 0},
                 "sampler": {"kind": "pc", "score": "true", "particles": 50, "steps": 10,
                             "predictor": "none", "corrector_steps": 1, "snr": 0.2}})
    smp = build_sampler(p, MinusX(), "cpu")
    x = smp.x.clone()
    state = smp.gen.get_state()
    smp.advance(1)
    z = torch.randn(x.shape, generator=torch.Generator().set_state(state))
    eps = 2 * (0.2 * z.norm(dim=1).mean() / x.norm(dim=1).mean()) ** 2
    assert torch.allclose(smp.x, x - eps * x + torch.sqrt(2 * eps) * z, atol=1e-5)
    assert smp.nfe == 1


@pytest.mark.parametrize("kind", ["vp", "ve"])
def test_predictors_step_as_the_reference_writes_them(kind):
    """score_sde's predictors written out from the SDE's coefficients: Euler-Maruyama
    x + [f - g^2 s] dt + g sqrt(-dt) z with dt = -1/N; reverse diffusion x - (f_i - G_i^2 s) + G_i z,
    on VP f_i = sqrt(1 - beta_i) x - x, G_i = sqrt(beta_i) (DDPM), on VE f_i = 0,
    G_i^2 = sigma_i^2 - sigma_{i-1}^2 (SMLD)."""
    sde = make_sde(kind, N=100)       # VP: beta_i = beta(t) / N below 1
    x = torch.randn(7, 2, generator=torch.Generator().manual_seed(1), dtype=torch.float64)
    z = torch.randn(7, 2, generator=torch.Generator().manual_seed(2), dtype=torch.float64)
    t, score = 0.6, (lambda y, tt: -2.0 * y)
    s = -2.0 * x
    x1, m1 = EulerMaruyamaPredictor(sde, score, lambda y: z).update(x, t)
    tt = torch.full((7,), t, dtype=torch.float64)
    if kind == "vp":
        beta = sde.beta_0 + t * (sde.beta_1 - sde.beta_0)
        f, g = -0.5 * beta * x, math.sqrt(beta)
    else:
        f = torch.zeros_like(x)
        g = float(sde.sde(x, tt)[1][0])
    want = x + (f - g * g * s) * (-0.01)
    assert torch.allclose(m1, want, atol=1e-12) and torch.allclose(x1, want + g * math.sqrt(0.01) * z, atol=1e-12)
    x2, m2 = ReverseDiffusionPredictor(sde, score, lambda y: z).update(x, t)
    i = int(t * (sde.N - 1) / sde.T)
    if kind == "vp":
        b = float(sde.discrete_betas[i])
        want = x - ((math.sqrt(1 - b) * x - x) - b * s)          # x - (f_i - G_i^2 s)
        G = math.sqrt(b)
    else:
        sig = sde.discrete_sigmas
        G2 = float(sig[i] ** 2 - (sig[i - 1] ** 2 if i > 0 else 0.0))
        want, G = x + G2 * s, math.sqrt(G2)
    assert torch.allclose(m2, want, atol=1e-12) and torch.allclose(x2, want + G * z, atol=1e-12)


def test_langevin_corrector_uses_ddpm_alpha_on_vp():
    """VP's corrector step is 2 alpha_i (snr |z| / |s|)^2 with alpha_i = 1 - beta_i, the
    reference's `sde.alphas[timestep]`."""
    sde = make_sde("vp", N=50)
    x = torch.randn(9, 2, generator=torch.Generator().manual_seed(3), dtype=torch.float64)
    z = torch.randn(9, 2, generator=torch.Generator().manual_seed(4), dtype=torch.float64)
    t = 0.37
    y, _ = LangevinCorrector(sde, lambda v, tt: -v, lambda v: z, snr=0.3, n_steps=1).update(x, t)
    alpha = 1.0 - float(sde.discrete_betas[int(t * 49)])
    eps = 2 * alpha * (0.3 * z.norm(dim=1).mean() / x.norm(dim=1).mean()) ** 2
    assert torch.allclose(y, x - eps * x + torch.sqrt(2 * eps) * z, atol=1e-12)


def test_euler_maruyama_is_pc_composing_its_predictor_with_no_corrector():
    """One predictor-corrector loop: `euler_maruyama` is `pc` with the Euler-Maruyama predictor
    and no corrector, to the bit (same generator draws, same evaluations)."""
    d = mixture(2)
    obj = {"kind": "sde", "sde": "subvp"}
    em = sde_sampler(d, obj, kind="euler_maruyama", particles=300, steps=40)
    pc = sde_sampler(d, obj, kind="pc", particles=300, steps=40, predictor="euler_maruyama",
                     corrector_steps=0, pc_order="corrector_first")
    em.run()
    pc.run()
    assert torch.equal(em.x, pc.x) and em.nfe == pc.nfe == 40
    assert torch.isfinite(em.x).all()
