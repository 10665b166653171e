"""heun, dpm_solver and ddim against independent ports of the authors' update loops (numpy,
float64, a Gaussian whose denoiser is closed form), against the exact solution of the
probability-flow ODE on a Gaussian, and on a mixture defined here (exact score): the mode
weights at the default step budgets, and the evaluations they cost."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from explorer.core.densities import build_density
from explorer.core.errors import SpecError
from explorer.core.measures.metrics import mode_weights
from explorer.core.presets.preset import loads
from explorer.core.samplers import build_sampler
from explorer.core.samplers.noise_levels import NoiseLevels, karras_sigmas
from explorer.core.scores import TrueScore

M, V = np.array([1.5, -0.5]), 0.64           # the Gaussian N(M, V I): std 0.8


def preset(kind: str, *, objective: str = "ssm_vr", density: str | None = None, **sampler) -> object:
    dens = density or ('kind = "mixture"\nweights = [1.0]\nmeans = [[1.5, -0.5]]\nstds = [0.8]\n'
                       'bounds = [[-4.0, 4.0], [-4.0, 4.0]]')
    extra = "\n".join(f"{k} = {v!r}" if not isinstance(v, str) else f'{k} = "{v}"'
                      for k, v in sampler.items())
    return loads(f'[density]\n{dens}\n[objective]\nkind = "{objective}"\n[training]\nsteps = 0\n'
                 f'[sampler]\nkind = "{kind}"\nscore = "true"\n{extra}\n')


def sampler_of(p, double: bool = True):
    d = build_density(p.density)
    s = build_sampler(p, TrueScore(d, p), "cpu")
    if double:
        s.x = s.x.double()
    return s, d


def gaussian_denoiser(x: np.ndarray, sigma: float) -> np.ndarray:
    """D(x; sigma) = E[y | y + sigma z = x] for y ~ N(M, V I): M + V / (V + sigma^2) (x - M)."""
    return M + V / (V + sigma ** 2) * (x - M)


# --- the reference loops, ported line by line --------------------------------------------------

def edm_sampler_port(x0, t_steps, noises, S_churn=0.0, S_min=0.0, S_max=float("inf"), S_noise=1.0):
    """NVlabs/edm generate.py edm_sampler (t_steps given, the final 0 included)."""
    num_steps = len(t_steps) - 1
    x_next = x0 * t_steps[0]
    for i, (t_cur, t_next) in enumerate(zip(t_steps[:-1], t_steps[1:])):
        x_cur = x_next
        gamma = min(S_churn / num_steps, np.sqrt(2) - 1) if S_min <= t_cur <= S_max else 0
        t_hat = t_cur + gamma * t_cur
        x_hat = x_cur + np.sqrt(t_hat ** 2 - t_cur ** 2) * S_noise * noises[i]
        denoised = gaussian_denoiser(x_hat, t_hat)
        d_cur = (x_hat - denoised) / t_hat
        x_next = x_hat + (t_next - t_hat) * d_cur
        if i < num_steps - 1:
            denoised = gaussian_denoiser(x_next, t_next)
            d_prime = (x_next - denoised) / t_next
            x_next = x_hat + (t_next - t_hat) * (0.5 * d_cur + 0.5 * d_prime)
    return x_next


def dpmpp_2m_port(x, sigmas):
    """crowsonkb/k-diffusion sampling.py sample_dpmpp_2m."""
    sigma_fn = lambda t: np.exp(-t)                   # noqa: E731
    t_fn = lambda sigma: -np.log(sigma)               # noqa: E731
    old_denoised = None
    for i in range(len(sigmas) - 1):
        denoised = gaussian_denoiser(x, sigmas[i])
        if sigmas[i + 1] == 0:                        # h = inf: k-diffusion's expression is `denoised`
            x = denoised
        else:
            t, t_next = t_fn(sigmas[i]), t_fn(sigmas[i + 1])
            h = t_next - t
            if old_denoised is None:
                x = (sigma_fn(t_next) / sigma_fn(t)) * x - np.expm1(-h) * denoised
            else:
                h_last = t - t_fn(sigmas[i - 1])
                r = h_last / h
                denoised_d = (1 + 1 / (2 * r)) * denoised - (1 / (2 * r)) * old_denoised
                x = (sigma_fn(t_next) / sigma_fn(t)) * x - np.expm1(-h) * denoised_d
        old_denoised = denoised
    return x


def ddim_port(x, alpha_bars, noises, eta):
    """ermongroup/ddim functions/denoising.py generalized_steps on alpha_bar (descending steps,
    then alpha_bar = 1 for the last 'next' step), in x_t, not x / sqrt(ab)."""
    x = x * math.sqrt(alpha_bars[0])      # x_T from the sampler's start x^_T = x_T / sqrt(ab_T)
    for i in range(len(alpha_bars)):
        at = alpha_bars[i]
        at_next = alpha_bars[i + 1] if i + 1 < len(alpha_bars) else 1.0
        xh = x / math.sqrt(at)
        sigma_hat = math.sqrt((1 - at) / at)
        e = (xh - gaussian_denoiser(xh, sigma_hat)) / sigma_hat    # et = eps prediction
        x0_t = (x - e * math.sqrt(1 - at)) / math.sqrt(at)
        c1 = eta * math.sqrt((1 - at / at_next) * (1 - at_next) / (1 - at))
        c2 = math.sqrt((1 - at_next) - c1 ** 2)
        x = math.sqrt(at_next) * x0_t + c1 * noises[i] + c2 * e
    return x


def _trajectory(s):
    out = []
    while not s.done:
        s.advance(1)
        out.append(s.x.numpy().copy())
    return out


def test_heun_matches_edm_sampler_with_and_without_churn():
    for churn in (0.0, 5.0):
        p = preset("heun", steps=12, s_churn=churn, s_min=0.05, s_max=50.0, s_noise=1.003,
                   sigma_min=0.002, sigma_max=80.0)
        s, _ = sampler_of(p)
        x0 = s.x.numpy() / s.sigmas[0]
        noises = [torch.randn(s.x.shape, dtype=torch.float64) for _ in range(12)]
        it = iter(noises)
        s.noise = lambda: next(it)
        t_steps = np.append(karras_sigmas(0.002, 80.0, 12, 7.0), 0.0)
        np.testing.assert_allclose(s.sigmas, t_steps, rtol=1e-12)
        got = _trajectory(s)
        drawn = [n.numpy() for n in noises]
        if churn == 0:
            drawn = [np.zeros_like(d) for d in drawn]
        else:  # the port draws one noise per step; the sampler only where gamma > 0
            k = iter(noises)
            drawn = []
            for t in t_steps[:-1]:
                drawn.append(next(k).numpy() if 0.05 <= t <= 50.0 else np.zeros(s.x.shape))
        want = edm_sampler_port(x0, t_steps, drawn, churn, 0.05, 50.0, 1.003)
        np.testing.assert_allclose(got[-1], want, atol=1e-5, rtol=1e-5)
        assert s.nfe == 2 * 12 - 1


def test_dpm_solver_matches_k_diffusion_every_step():
    p = preset("dpm_solver", steps=10)
    s, _ = sampler_of(p)
    x = s.x.numpy().copy()
    got = _trajectory(s)
    for i in range(len(got)):
        want = dpmpp_2m_port(x, s.sigmas[: i + 2] if i + 2 < len(s.sigmas) else s.sigmas)
        if i + 2 < len(s.sigmas):   # a prefix of the grid: the port stops at sigma_{i+1}
            np.testing.assert_allclose(got[i], want, atol=1e-5, rtol=1e-5)
    np.testing.assert_allclose(got[-1], dpmpp_2m_port(x, s.sigmas), atol=1e-5, rtol=1e-5)
    assert s.nfe == 10


@pytest.mark.parametrize("eta", [0.0, 0.5, 1.0])
def test_ddim_matches_the_ddim_reference_on_ddpm_steps(eta):
    p = preset("ddim", objective="ddpm", steps=20, eta=eta)
    s, _ = sampler_of(p)
    T = p.objective["timesteps"]
    from explorer.core.noise.schedules import DDPMSchedule
    ab = DDPMSchedule(T, p.objective["beta_min"], p.objective["beta_max"]).alpha_bars.numpy()
    seq = list(range(0, T, T // 20))[::-1]                  # ermongroup: range(0, T, skip), reversed
    np.testing.assert_allclose(s.sigmas[:-1], np.sqrt((1 - ab[seq]) / ab[seq]), rtol=1e-12)
    x = s.x.numpy() / s.sigmas[0]
    noises = [torch.randn(s.x.shape, dtype=torch.float64) for _ in range(20)]
    it = iter(noises)
    s.noise = lambda: next(it)
    got = _trajectory(s)
    want = ddim_port(x * s.sigmas[0], ab[seq], [n.numpy() for n in noises], eta)
    # the sampler's particles are x^ = x_t / sqrt(ab_t); at the end (ab = 1) they are x_0
    np.testing.assert_allclose(got[-1], want, atol=1e-5, rtol=1e-5)
    assert s.nfe == 20


def _exact_ode_error(kind: str, steps: int) -> float:
    """Largest distance from the exact solution of the probability-flow ODE on N(M, V I):
    dx/dsigma = (x - D) / sigma gives x(sigma) = M + sqrt((V + sigma^2) / (V + sigma_0^2)) (x_0 - M);
    the last step to 0 is D(x; sigma_min), so the map is
    x_0 -> M + V / sqrt((V + sigma_min^2)(V + sigma_0^2)) (x_0 - M)."""
    s, _ = sampler_of(preset(kind, steps=steps, schedule="karras", sigma_min=0.05, sigma_max=20.0))
    x0 = s.x.numpy().copy()
    s.run()
    want = M + V / math.sqrt((V + 0.05 ** 2) * (V + 20.0 ** 2)) * (x0 - M)
    return float(np.abs(s.x.numpy() - want).max())


@pytest.mark.parametrize("kind,order", [("heun", 2), ("dpm_solver", 2), ("ddim", 1)])
def test_samplers_converge_to_the_exact_ode_solution_at_their_order(kind, order):
    errs = [_exact_ode_error(kind, n) for n in (16, 32, 64)]
    rate = 2 ** order * 0.75          # doubling the steps divides the error by about 2^order
    assert errs[0] / errs[1] > rate and errs[1] / errs[2] > rate, errs
    assert errs[2] < (0.02 if order == 2 else 0.1), errs


# --- the learned-score path: a "model" that is the exact score gives the exact denoiser ----------

@pytest.mark.parametrize("objective", ["ddpm", "sde", "flow_matching", "ncsn"])
def test_learned_conversion_to_sigma_is_exact_for_an_exact_model(objective):
    p = preset("heun", objective=objective)
    d = build_density(p.density)
    exact = TrueScore(d, p)
    learned_view = NoiseLevels(p, "learned")
    x = torch.randn(64, 2, dtype=torch.float64) * 3
    for sigma in learned_view.grid(8)[:-1]:
        want = exact.at_sigma(x, sigma)
        got = learned_view.score_hat(exact, x, sigma)      # through at_step / at_time / at_sigma
        torch.testing.assert_close(got, want, rtol=1e-4, atol=1e-6)


# --- mode weights at the default budgets (exact score) --------------------------------------------

MIXTURE = ('kind = "mixture"\nweights = [0.15, 0.35, 0.5]\nmeans = [[-4.0, 3.0], [4.5, 4.0], [1.0, -4.5]]\n'
           'stds = [0.8, 1.1, 0.6]\nbounds = [[-8.0, 8.0], [-8.0, 8.0]]')


BUDGETS = {"heun": (40, 0.02), "dpm_solver": (25, 0.03), "ddim": (50, 0.02)}


@pytest.mark.parametrize("kind,objective", [("heun", "ncsn"), ("heun", "sde"),
                                            ("dpm_solver", "ssm_vr"), ("dpm_solver", "ddpm"),
                                            ("ddim", "ddpm"), ("ddim", "flow_matching")])
def test_mode_weights_at_the_default_step_budget(kind, objective):
    max_nfe, tol = BUDGETS[kind]
    p = preset(kind, objective=objective, density=MIXTURE, particles=20000)
    assert p.sampler["steps"] == {"heun": 18, "dpm_solver": 10, "ddim": 50}[kind]
    s, d = sampler_of(p, double=False)
    s.run()
    assert s.nfe <= max_nfe
    w = mode_weights(s.numpy(), d.components())
    assert np.abs(np.asarray(w) - d.components()[0]).max() < tol, w


# --- presets ---------------------------------------------------------------------------------------

def test_bad_keys_are_named():
    with pytest.raises(SpecError, match="sampler.eta"):
        preset("ddim", eta=2.0)
    with pytest.raises(SpecError, match="sampler.schedule"):
        preset("heun", schedule="cosine")
    with pytest.raises(SpecError, match="sampler.sigma_min"):
        preset("dpm_solver", sigma_min=5.0, sigma_max=1.0)
    with pytest.raises(SpecError, match="sampler.steps"):
        preset("ddim", objective="ddpm", steps=2000)
    with pytest.raises(SpecError, match="sampler.sigma_min"):   # above the schedule's sigma_max
        preset("heun", objective="ddpm", sigma_min=5000.0)


def test_learned_score_needs_a_noise_schedule():
    with pytest.raises(SpecError, match="sampler.kind"):
        loads('[objective]\nkind = "ssm_vr"\n[sampler]\nkind = "heun"\nscore = "learned"\n')


def test_nfe_in_the_run_metrics():
    from explorer.core.run.headless import train_and_sample
    r = train_and_sample(preset("heun", density=MIXTURE, particles=500), threads=None)
    assert r.metrics["nfe"] == 35
    assert r.metrics["sampler"] == "heun"
