"""The score-SDE samplers as registered samplers (Song et al. 2021): the reverse SDE by
Euler-Maruyama, predictor-corrector, and the probability-flow ODE (on flow matching: the
flow's own ODE dx/dt = v(x, t)).

Why a thin layer: the update rules live once, in core/samplers/sde_steppers.py (the reference code's
symbols); these classes give them what every sampler has here: the preset's keys, the
learned or the exact score through scores.py (`at_time`, `velocity`), particles owned by
the base class (so trajectories, blow-up checks and the window's animation work), one
step per call. The SDE (or flow matching's path) is the preset's [objective]: these
samplers need an `sde` (or, `ode` only, a `flow_matching`) objective, even on the exact
score, because the path is the objective's.

One step of `euler_maruyama` or `pc` is one time step t_i -> t_{i+1} of N = sampler.steps
on linspace(1, 1e-3, N); one step of `ode` is one segment of the same grid (dopri5 takes as
many internal steps as rtol/atol need inside it; euler and rk4 take one).
"""

from __future__ import annotations

from functools import cached_property

import numpy as np
import torch

from ..errors import SpecError
from ..objectives import objective_path
from ..presets.schema import Field
from ..noise.sde import SAMPLE_EPS
from .sde_steppers import PREDICTORS, FlowODESampler, ProbabilityFlowSampler, SDESampler
from .base import Sampler
PATHS_KEPT = 200       # particles whose paths an ODE sampler records (paths = true)
PATH_POINTS = 400      # positions kept per path (every k-th step beyond that)
ODE_METHODS = ("euler", "rk4", "dopri5")


class _PathSampler(Sampler):
    """Shared: the SDE of the preset's objective, particles from its prior, the inner stepper."""

    needs_conditioning = "sde"
    needs_path = True              # the exact score too needs an sde (or flow) objective
    starts_from_noise = True
    default_step_size = 1.0        # unused: the step is the time grid's
    uses_step_size = False

    @classmethod
    def default_steps(cls, preset) -> int:
        return 500

    @property
    def path(self):
        return objective_path(self.preset)

    def _init(self, how: str, bounds: np.ndarray) -> torch.Tensor:
        # the reverse process starts from the prior: N(0, sigma_max^2 I) for VE, N(0, I) else
        std = self.path.prior_std() if hasattr(self.path, "prior_std") else 1.0
        return std * torch.randn((self.n, self.dim), generator=self.gen, device=self.device)

    def _score(self, x: torch.Tensor, t: float) -> torch.Tensor:
        return self.score_of(self.score.at_time, x, float(t))

    @cached_property
    def inner(self):
        raise NotImplementedError

    def step(self, x: torch.Tensor) -> torch.Tensor:
        inner = self.inner
        inner.x, inner.done_steps = x, self.done_steps
        with torch.no_grad():
            inner._step(self.done_steps)
        inner.done_steps = self.done_steps + 1
        return inner.x

    @property
    def t(self) -> float:
        """The time the particles are at now."""
        ts = self.inner.timesteps
        return float(ts[min(self.done_steps, len(ts) - 1)])

    @property
    def sigma(self) -> float:
        """The noise std s(t) of the marginal the particles are at now (the readout)."""
        return float(self.path.kernel(self.t)[0])

    def blowup_hint(self) -> str:
        more = (" (or train longer: a learned score can be far off away from the data)"
                if self.score_kind == "learned" else "")
        return f"use more sampler.steps (now {self.steps}){more}"


class EulerMaruyama(_PathSampler):
    """The reverse SDE dx = [f - g^2 s] dt + g dw_bar by Euler-Maruyama (no corrector)."""

    name = "euler_maruyama"
    label = "reverse-SDE Euler-Maruyama"
    order = 4

    @cached_property
    def inner(self) -> SDESampler:
        return SDESampler(self.path, self._score, self.n, self.dim, kind="euler_maruyama",
                          steps=self.steps, eps=SAMPLE_EPS, generator=self.gen, device=self.device,
                          x0=self.x)


SNR_HELP = ("signal-to-noise ratio r of each Langevin corrector step: the step is chosen so that "
            "the noise's norm is r times the score step's, eps = 2 alpha (r |z| / |s|)^2; larger r, "
            "bigger corrector steps (0.16 on VE images, 0.01 VP in the paper)")


class PredictorCorrector(_PathSampler):
    """Predictor (reverse diffusion, Euler-Maruyama or none) and `corrector_steps` Langevin
    correctors with signal-to-noise ratio snr at each time step."""

    name = "pc"
    label = "predictor-corrector"
    order = 5
    fields = {
        "predictor": Field("str", "reverse_diffusion", choices=PREDICTORS,
                           help="reverse_diffusion: the SDE's own discretisation (DDPM's ancestral "
                                "step on VP, NCSN's on VE); euler_maruyama; none: corrector only "
                                "(annealed Langevin on VE)"),
        "corrector_steps": Field("int", 1, min=0, max=100,
                                 help="Langevin corrector steps per time step (0: predictor only)"),
        "snr": Field("float", 0.16, min=0.0, exclusive_min=True, max=10.0, help=SNR_HELP),
        "pc_order": Field("str", "predictor_first", choices=("predictor_first", "corrector_first"),
                          help="predictor_first: the paper's Algorithms 2 and 3 (predict t_i -> "
                               "t_{i+1}, then correct at t_{i+1}); corrector_first: the reference "
                               "code's pc_sampler (correct at t_i, then predict)"),
    }

    @classmethod
    def check(cls, preset) -> None:
        # VP's reverse-diffusion step and its corrector use DDPM's discrete betas
        # beta_i = beta(t_i) / N (linear from beta_min/N to beta_max/N) and sqrt(1 - beta_i):
        # with N < beta_max the last ones pass 1 and the particles become NaN at once
        o, s = preset.objective, preset.sampler
        if o.get("kind") != "sde" or o.get("sde") != "vp":
            return
        uses_betas = s.get("predictor") == "reverse_diffusion" or (s.get("corrector_steps") or 0) > 0
        if uses_betas and int(s["steps"]) < o["beta_max"]:
            raise SpecError("sampler.steps", f"must be at least objective.beta_max = {o['beta_max']:g} "
                            f"on the VP SDE (got {s['steps']}): DDPM's discrete beta_i = beta(t)/steps "
                            "of the reverse-diffusion step and the corrector must stay below 1")

    @cached_property
    def inner(self) -> SDESampler:
        p = self.params
        return SDESampler(self.path, self._score, self.n, self.dim, kind="pc", steps=self.steps,
                          predictor=p["predictor"], corrector_steps=p["corrector_steps"],
                          snr=p["snr"], order=p["pc_order"], eps=SAMPLE_EPS, generator=self.gen,
                          device=self.device, x0=self.x)


class ProbabilityFlowODE(_PathSampler):
    """The probability-flow ODE dx/dt = f - 1/2 g^2 s from t = 1 to 1e-3 (a score SDE), or
    flow matching's dx/dt = v(x, t) from t = 0 to 1: deterministic, so `paths` draws each
    particle's path."""

    name = "ode"
    label = "ODE sampler"
    needs_conditioning = ("sde", "flow")
    order = 6
    fields = {
        "method": Field("str", "rk4", choices=ODE_METHODS,
                        help="euler, rk4: one fixed step per segment (sampler.steps segments); "
                             "dopri5: adaptive Runge-Kutta 4(5) inside each segment (rtol, atol)"),
        "rtol": Field("float", 1e-5, min=0.0, exclusive_min=True, max=1.0, help="dopri5's relative tolerance"),
        "atol": Field("float", 1e-5, min=0.0, exclusive_min=True, max=1.0, help="dopri5's absolute tolerance"),
        "paths": Field("bool", False, help=f"draw each particle's path (the first {PATHS_KEPT})"),
    }

    @classmethod
    def default_steps(cls, preset) -> int:
        return 100

    @property
    def flow(self) -> bool:
        return not hasattr(self.path, "prior_std")

    def _velocity(self, x: torch.Tensor, t: float) -> torch.Tensor:
        return self.score_of(self.score.velocity, x, float(t))

    @cached_property
    def inner(self):
        p = self.params
        kw = dict(segments=self.steps, method=p["method"], rtol=p["rtol"], atol=p["atol"],
                  device=self.device, x0=self.x)
        if self.flow:
            return FlowODESampler(self._velocity, self.n, self.dim, t_start=self.path.t_noise,
                                  t_end=1.0, **kw)
        return ProbabilityFlowSampler(self.path, self._score, self.n, self.dim, eps=SAMPLE_EPS, **kw)

    @property
    def t(self) -> float:
        return float(self.inner.times[min(self.done_steps, len(self.inner.times) - 1)])

    def paths_so_far(self) -> np.ndarray | None:
        """(positions, k, d): the first PATHS_KEPT particles at the start and after every step
        (every k-th beyond PATH_POINTS steps), or None unless sampler.paths (recorded by `step`)."""
        return np.stack(self._paths) if self.params["paths"] and self._paths else None

    _paths: list = []

    def step(self, x: torch.Tensor) -> torch.Tensor:
        keep = self.params["paths"]
        if keep and self.done_steps == 0:
            self._paths = [x[:PATHS_KEPT].detach().cpu().numpy().copy()]
        out = super().step(x)
        stride = -(-self.total // PATH_POINTS)     # at most PATH_POINTS positions per path
        if keep and ((self.done_steps + 1) % stride == 0 or self.done_steps + 1 == self.total):
            self._paths.append(out[:PATHS_KEPT].detach().cpu().numpy().copy())
        return out
