"""Samplers for score SDEs and flow matching that advance step by step (like sampling.Sampler:
`advance(n)`, `done`, `x`, `done_steps`, `total`), so the window can animate them.

Each takes a score callable `score(x, t) -> (n, d)` (t a python float), learned (`ModelScore`)
or exact (`ExactScore`, the density's closed-form perturbed score), so they work in any d.
Following the reference code (score_sde_pytorch, sampling.py):

- time grid t_i = linspace(T, eps, N), eps = 1e-3 by default (the reference's sampling eps);
- `euler_maruyama` (EulerMaruyamaPredictor): dt = -1/N,
      x_mean = x + [f - g^2 s] dt,  x = x_mean + g sqrt(-dt) z;
- `reverse_diffusion` predictor: x_mean = x - (f_i - G_i^2 s),  x = x_mean + G_i z
  (f_i, G_i the SDE's own discretisation: SMLD for VE, DDPM ancestral for VP);
- `pc`: at each t_i the Langevin corrector (`corrector_steps` times) THEN the predictor, the
  order of the reference code's pc_sampler (order="predictor_first" gives Algorithm 2/3 of the
  paper's appendix: predictor, then corrector at the new time); Langevin step, snr r:
      eps_step = 2 alpha (r |z| / |s|)^2  (norms averaged over the batch; alpha = alpha_i for VP,
      1 for VE),  x_mean = x + eps_step s,  x = x_mean + sqrt(2 eps_step) z.
  snr is the ratio of the Langevin update's noise norm to its signal (score) norm;
- the last step returns x_mean (no noise at the end: the reference's `denoise`);
- `ode`: the probability-flow ODE dx/dt = f - 1/2 g^2 s from T to eps with torchdiffeq, one
  `odeint` per animation segment: fixed-step ("euler", "rk4") or adaptive ("dopri5") with
  rtol/atol; `nfe` counts score evaluations;
- `FlowODESampler`: dx/dt = v(x, t) from t = 0 (noise) to 1 (data), the same segments.
`record_paths=True` keeps every particle's position after each step in `paths` (list of (n, d)).
"""

from __future__ import annotations

import math

import numpy as np
import torch

from ..noise.sde import SDE, VPSDE, sde_from_config, true_score_at

PREDICTORS = ("euler_maruyama", "reverse_diffusion", "none")


class ExactScore:
    """score(x, t) = grad log p_t(x), exact (closed form for mixtures)."""

    def __init__(self, density, sde: SDE):
        self.density, self.sde = density, sde

    def __call__(self, x: torch.Tensor, t) -> torch.Tensor:
        return true_score_at(self.density, self.sde, x, float(t))


class ModelScore:
    """score(x, t) = model(x, t) for a ScoreModel with conditioning "sde"; `jacobian` uses the
    model's forward-mode Jacobian (no double backward) for the exact likelihood trace."""

    def __init__(self, model):
        self.model = model

    def __call__(self, x: torch.Tensor, t) -> torch.Tensor:
        return self.model(x, float(t))

    def jacobian(self, x: torch.Tensor, t):
        return self.model.forward_with_jacobian(x, float(t))


class _Stepper:
    """Shared bookkeeping: particles, step counter, path recording, a private generator."""

    def __init__(self, x: torch.Tensor, steps: int, generator: torch.Generator | None,
                 record_paths: bool):
        self.x = x
        self.total = int(steps)
        self.done_steps = 0
        self.gen = generator
        self.nfe = 0
        self.paths = [x.detach().cpu().numpy()] if record_paths else None

    @property
    def done(self) -> bool:
        return self.done_steps >= self.total

    def advance(self, n: int = 1) -> None:
        with torch.no_grad():
            for _ in range(n):
                if self.done:
                    break
                self._step(self.done_steps)
                self.done_steps += 1
                if self.paths is not None:
                    self.paths.append(self.x.detach().cpu().numpy())

    def run(self) -> torch.Tensor:
        self.advance(self.total - self.done_steps)
        return self.x

    def numpy(self) -> np.ndarray:
        return self.x.detach().cpu().float().numpy()

    def _noise(self) -> torch.Tensor:
        return torch.randn(self.x.shape, generator=self.gen, device=self.x.device, dtype=self.x.dtype)

    def _step(self, i: int) -> None:
        raise NotImplementedError


class SDESampler(_Stepper):
    """Reverse-SDE samplers: kind "euler_maruyama" (predictor only) or "pc"."""

    def __init__(self, sde: SDE, score, n: int, dim: int, *, kind: str = "pc", steps: int | None = None,
                 predictor: str = "reverse_diffusion", corrector_steps: int = 1, snr: float = 0.16,
                 eps: float = 1e-3, order: str = "corrector_first", generator=None, device="cpu",
                 record_paths: bool = False, x0: torch.Tensor | None = None):
        if kind not in ("euler_maruyama", "pc"):
            raise ValueError(f"kind must be 'euler_maruyama' or 'pc', got {kind!r}")
        if predictor not in PREDICTORS:
            raise ValueError(f"predictor must be one of {PREDICTORS}, got {predictor!r}")
        if order not in ("corrector_first", "predictor_first"):
            raise ValueError(f"order must be 'corrector_first' or 'predictor_first', got {order!r}")
        N = int(steps if steps is not None else sde.N)
        if N != sde.N:
            # the discretisation (SMLD sigmas, DDPM betas) is of the SDE with N = the sampler's
            # steps, as the reference sets sde.N to the number of sampling steps
            sde = sde_from_config({**sde.config(), "N": N})
        self.sde, self.score = sde, score
        self.kind = kind
        self.predictor = "euler_maruyama" if kind == "euler_maruyama" else predictor
        self.corrector_steps = 0 if kind == "euler_maruyama" else int(corrector_steps)
        self.snr, self.order = float(snr), order
        self.N = N
        # timesteps = linspace(T, eps, N)
        self.timesteps = torch.linspace(sde.T, eps, N, dtype=torch.float64).tolist()
        x = x0 if x0 is not None else sde.prior_sampling((int(n), int(dim)), generator=generator,
                                                         device=device)
        super().__init__(x, N, generator, record_paths)
        self.x_mean = x

    @property
    def t(self) -> float:
        return self.timesteps[min(self.done_steps, self.N - 1)]

    def _s(self, x, t):
        self.nfe += 1
        return self.score(x, t)

    def _predict(self, x, t):
        if self.predictor == "none":
            return x, x
        s = self._s(x, t)
        if self.predictor == "euler_maruyama":
            dt = -1.0 / self.N
            drift, g = self.sde.reverse_drift(x, t, s)
            x_mean = x + drift * dt                              # x_mean = x + [f - g^2 s] dt
            return x_mean + g.unsqueeze(1) * math.sqrt(-dt) * self._noise(), x_mean
        f, G = self.sde.reverse_discretize(x, t, s)
        x_mean = x - f                                           # x_mean = x - (f_i - G_i^2 s)
        return x_mean + G.unsqueeze(1) * self._noise(), x_mean

    def _correct(self, x, t):
        x_mean = x
        if isinstance(self.sde, VPSDE):
            timestep = int(t * (self.sde.N - 1) / self.sde.T)
            alpha = float(self.sde.alphas[timestep])
        else:
            alpha = 1.0
        for _ in range(self.corrector_steps):
            grad = self._s(x, t)
            noise = self._noise()
            grad_norm = grad.reshape(grad.shape[0], -1).norm(dim=-1).mean()
            noise_norm = noise.reshape(noise.shape[0], -1).norm(dim=-1).mean()
            # step = 2 alpha (snr |z| / |s|)^2
            step = (self.snr * noise_norm / grad_norm) ** 2 * 2 * alpha
            x_mean = x + step * grad
            x = x_mean + torch.sqrt(step * 2) * noise
        return x, x_mean

    def _step(self, i):
        t = self.timesteps[i]
        x = self.x
        if self.order == "corrector_first":
            x, x_mean = self._correct(x, t)
            x, x_mean = self._predict(x, t)
        else:
            x, x_mean = self._predict(x, t)
            t_next = self.timesteps[i + 1] if i + 1 < self.N else t
            if self.corrector_steps:
                x, x_mean = self._correct(x, t_next)
        self.x_mean = x_mean
        # denoise: the last step returns the mean, without the final noise
        self.x = x_mean if i == self.N - 1 else x


class _ODEStepper(_Stepper):
    """Integrates dx/dt = field(x, t) over a time grid, one torchdiffeq `odeint` per segment."""

    def __init__(self, field, x: torch.Tensor, times: list, method: str, rtol: float, atol: float,
                 record_paths: bool):
        from torchdiffeq import odeint  # noqa: F401  (fail early if missing)
        self.field, self.times = field, times
        self.t_lo, self.t_hi = min(times), max(times)
        self.method, self.rtol, self.atol = method, float(rtol), float(atol)
        super().__init__(x, len(times) - 1, None, record_paths)

    def _f(self, t, x):
        # the solver's state and error control are float64 (float32 steps underflow at rtol 1e-5);
        # the field (a float32 network, say) is evaluated in the particles' own dtype
        # adaptive steps evaluate past the end of the interval (then interpolate back); the
        # field is clamped to the interval, where it is defined (VP's std is NaN for t < 0)
        self.nfe += 1
        t = min(max(float(t), self.t_lo), self.t_hi)
        return self.field(x.to(self.x.dtype), t).to(x.dtype)

    def _step(self, i):
        from torchdiffeq import odeint
        tt = torch.tensor([self.times[i], self.times[i + 1]], dtype=torch.float64, device=self.x.device)
        kw = dict(rtol=self.rtol, atol=self.atol) if self.method in ("dopri5", "dopri8", "bosh3",
                                                                      "adaptive_heun") else {}
        self.x = odeint(self._f, self.x.double(), tt, method=self.method, **kw)[-1].to(self.x.dtype)


class ProbabilityFlowSampler(_ODEStepper):
    """dx/dt = f(x, t) - 1/2 g(t)^2 s(x, t) (eq. 13) from T to eps; x_T from the prior.
    `segments` animation frames; method "euler"/"rk4" (fixed, one step per segment) or
    "dopri5" (adaptive inside each segment, rtol/atol)."""

    def __init__(self, sde: SDE, score, n: int, dim: int, *, segments: int = 100, method: str = "dopri5",
                 rtol: float = 1e-5, atol: float = 1e-5, eps: float = 1e-3, generator=None,
                 device="cpu", x0: torch.Tensor | None = None, record_paths: bool = False):
        self.sde, self.score = sde, score
        x = x0 if x0 is not None else sde.prior_sampling((int(n), int(dim)), generator=generator,
                                                         device=device)
        times = torch.linspace(sde.T, eps, int(segments) + 1, dtype=torch.float64).tolist()

        def field(x, t):
            return sde.reverse_drift(x, t, score(x, t), ode=True)[0]
        super().__init__(field, x, times, method, rtol, atol, record_paths)


class FlowODESampler(_ODEStepper):
    """Flow matching: dx/dt = v(x, t) from t_start (noise, x ~ N(0, I)) to t_end (data)."""

    def __init__(self, velocity, n: int, dim: int, *, segments: int = 100, method: str = "dopri5",
                 rtol: float = 1e-5, atol: float = 1e-5, t_start: float = 0.0, t_end: float = 1.0,
                 generator=None, device="cpu", record_paths: bool = False,
                 x0: torch.Tensor | None = None):
        x = x0 if x0 is not None else torch.randn((int(n), int(dim)), generator=generator, device=device)
        times = torch.linspace(t_start, t_end, int(segments) + 1, dtype=torch.float64).tolist()
        super().__init__(velocity, x, times, method, rtol, atol, record_paths)


def make_sampler(kind: str, sde: SDE, score, n: int, dim: int, **kw):
    """kind "euler_maruyama" | "pc" | "ode" -> a step-by-step sampler."""
    if kind == "ode":
        return ProbabilityFlowSampler(sde, score, n, dim, **kw)
    return SDESampler(sde, score, n, dim, kind=kind, **kw)
