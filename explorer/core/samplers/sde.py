"""The score-SDE samplers (Song et al. 2021): the reverse SDE by Euler-Maruyama,
predictor-corrector, and the probability-flow ODE (on flow matching: the flow's own ODE
dx/dt = v(x, t)).

The design is the reference code's (score_sde_pytorch, sampling.py): a predictor and a
corrector (predictors.py) composed by one loop (`ReverseSDE.update`, its pc_sampler), and
an ODE sampler. The samplers step on grid.py's time grid: one step of `euler_maruyama` or
`pc` is one time step t_i -> t_{i+1} of N = sampler.steps on linspace(1, 1e-3, N) (the
reference's sampling eps), the last one returning x_mean (no noise at the end: the reference's
`denoise`); one step of `ode` is one segment of linspace(1, 1e-3, N + 1) (flow matching: from
its noise end t = 0 to t = 1), solved by torchdiffeq (dopri5 takes as many internal steps as
rtol/atol need inside it; euler and rk4 take one). The SDE (or flow matching's path) is the
preset's [objective]: these samplers need an `sde` (or, `ode` only, a `flow_matching`)
objective, even on the exact score, because the path is the objective's.
"""

from __future__ import annotations

from functools import cached_property

import numpy as np
import torch

from ..errors import SpecError
from ..noise.sde import SAMPLE_EPS, sde_from_config
from ..objectives import objective_path
from ..presets.schema import Field
from .grid import GridSampler
from .predictors import (PREDICTORS, Corrector, EulerMaruyamaPredictor, LangevinCorrector,
                         NoneCorrector, Predictor)

PATHS_KEPT = 200       # particles whose paths an ODE sampler records (paths = true)
PATH_POINTS = 400      # positions kept per path (every k-th step beyond that)
ODE_METHODS = ("euler", "rk4", "dopri5")
ADAPTIVE = ("dopri5", "dopri8", "bosh3", "adaptive_heun")   # torchdiffeq's methods with rtol/atol


class _PathSampler(GridSampler):
    """Shared: the path of the preset's objective, particles from its prior, s(x, t)."""

    needs_conditioning = "sde"
    needs_path = True              # the exact score too needs an sde (or flow) objective

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

    @property
    def t(self) -> float:
        """The time the particles are at now."""
        return self.grid_now()

    @property
    def sigma(self) -> float:
        """The noise std s(t) of the marginal the particles are at now (the readout)."""
        return float(self.path.kernel(self.t)[0])


class ReverseSDE(_PathSampler):
    """The predictor-corrector loop (the reference's pc_sampler) on N = sampler.steps times
    t_i = linspace(1, 1e-3, N); a subclass says which predictor and corrector it composes."""

    pc_order = "corrector_first"

    @cached_property
    def sde(self):
        """The objective's SDE discretised with N = sampler.steps (its SMLD sigmas or DDPM
        betas), as the reference sets sde.N to the number of sampling steps."""
        path = self.path
        return path if path.N == self.steps else sde_from_config({**path.config(), "N": self.steps})

    @cached_property
    def grid(self) -> list[float]:
        # timesteps = linspace(T, eps, N)
        return torch.linspace(self.sde.T, SAMPLE_EPS, self.steps, dtype=torch.float64).tolist()

    def _noise(self, x: torch.Tensor) -> torch.Tensor:
        return torch.randn(x.shape, generator=self.gen, device=x.device, dtype=x.dtype)

    def make_predictor(self) -> Predictor:
        raise NotImplementedError

    def make_corrector(self) -> Corrector:
        raise NotImplementedError

    @cached_property
    def predictor(self) -> Predictor:
        return self.make_predictor()

    @cached_property
    def corrector(self) -> Corrector:
        return self.make_corrector()

    def update(self, x, i, t, t_next):
        if self.pc_order == "corrector_first":    # the reference: correct at t_i, then predict
            x, x_mean = self.corrector.update(x, t)
            x, x_mean = self.predictor.update(x, t)
        else:                                     # the paper's Algorithms 2, 3: predict, correct at t_{i+1}
            x, x_mean = self.predictor.update(x, t)
            if not isinstance(self.corrector, NoneCorrector):
                x, x_mean = self.corrector.update(x, t_next)
        # denoise: the last step returns the mean, without the final noise
        return x_mean if i == self.total - 1 else x


class EulerMaruyama(ReverseSDE):
    """The reverse SDE dx = [f - g^2 s] dt + g dw_bar by Euler-Maruyama (no corrector)."""

    name = "euler_maruyama"
    label = "reverse-SDE Euler-Maruyama"
    order = 4

    def make_predictor(self) -> Predictor:
        return EulerMaruyamaPredictor(self.sde, self._score, self._noise)

    def make_corrector(self) -> Corrector:
        return NoneCorrector(self.sde, self._score, self._noise, snr=0.0, n_steps=0)


SNR_HELP = ("signal-to-noise ratio r of each Langevin corrector step: the step is chosen so that "
            "the noise's norm is r times the score step's, eps = 2 alpha (r |z| / |s|)^2; larger r, "
            "bigger corrector steps (0.16 on VE images, 0.01 VP in the paper)")


class PredictorCorrector(ReverseSDE):
    """Predictor (reverse diffusion, Euler-Maruyama or none) and `corrector_steps` Langevin
    correctors with signal-to-noise ratio snr at each time step."""

    name = "pc"
    label = "predictor-corrector"
    order = 5
    fields = {
        "predictor": Field("str", "reverse_diffusion", choices=tuple(PREDICTORS),
                           help="reverse_diffusion: the SDE's own discretisation (DDPM's ancestral "
                                "step on VP, NCSN's on VE); euler_maruyama; none: corrector only "
                                "(annealed Langevin on VE)"),
        # 0: with a learned score the corrector took the 0.3/0.7 mixture's cloud from about 1x to
        # 3-4x its TV floor on all three SDEs (bench/bench_defaults.py, docs/recipe.md)
        "corrector_steps": Field("int", 0, min=0, max=100,
                                 help="Langevin corrector steps per time step (0: predictor only, "
                                      "the default: a corrector following a learned score near "
                                      "t = 0 spread the cloud 3-4x its noise floor; 1: the "
                                      "paper's PC)"),
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

    @property
    def pc_order(self) -> str:
        return self.params["pc_order"]

    def make_predictor(self) -> Predictor:
        return PREDICTORS[self.params["predictor"]](self.sde, self._score, self._noise)

    def make_corrector(self) -> Corrector:
        p = self.params
        cls = LangevinCorrector if p["corrector_steps"] > 0 else NoneCorrector
        return cls(self.sde, self._score, self._noise, snr=p["snr"], n_steps=p["corrector_steps"])


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

    @cached_property
    def grid(self) -> list[float]:
        """sampler.steps + 1 times: from T to 1e-3 (an SDE), from t = 0 to 1 (flow matching)."""
        path, n = self.path, self.steps + 1
        lo_hi = (path.t_noise, 1.0) if self.flow else (path.T, SAMPLE_EPS)
        return torch.linspace(*lo_hi, n, dtype=torch.float64).tolist()

    def field(self, x: torch.Tensor, t: float) -> torch.Tensor:
        """dx/dt: v(x, t) (flow matching), or f - 1/2 g^2 s (eq. 13); one counted evaluation."""
        if self.flow:
            return self.score_of(self.score.velocity, x, float(t))
        return self.path.reverse_drift(x, t, self._score(x, t), ode=True)[0]

    def update(self, x, i, t, t_next):
        from torchdiffeq import odeint
        lo, hi = min(self.grid[0], self.grid[-1]), max(self.grid[0], self.grid[-1])

        def f(tt, y):
            # the solver's state and error control are float64 (float32 steps underflow at rtol
            # 1e-5); the field (a float32 network, say) is evaluated in the particles' own dtype.
            # Adaptive steps evaluate past the end of the interval (then interpolate back): the
            # field is clamped to the grid, where it is defined (VP's std is NaN for t < 0)
            tt = min(max(float(tt), lo), hi)
            return self.field(y.to(x.dtype), tt).to(y.dtype)

        p = self.params
        kw = dict(rtol=float(p["rtol"]), atol=float(p["atol"])) if p["method"] in ADAPTIVE else {}
        ts = torch.tensor([t, t_next], dtype=torch.float64, device=x.device)
        return odeint(f, x.double(), ts, method=p["method"], **kw)[-1].to(x.dtype)

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
