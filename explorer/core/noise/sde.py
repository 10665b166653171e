"""Score SDEs of Song et al. 2021 ("Score-based generative modeling through SDEs"), eqs. (5)-(11)
and appendix B, following the reference code (yang-song/score_sde_pytorch, sde_lib.py) symbol for
symbol, on tensors of shape (n, d) and times t in [eps_t, T = 1].

Why: NCSN is the discretisation of the VE SDE and DDPM of the VP SDE; one score network s(x, t)
then drives the reverse SDE, predictor-corrector samplers and the probability-flow ODE.

Forward SDE  dx = f(x, t) dt + g(t) dw,   perturbation kernel  p_0t(x_t | x_0) = N(a(t) x_0, s(t)^2 I).

- VE:     f = 0,  g(t) = sigma(t) sqrt(2 log(sigma_max / sigma_min)),
          sigma(t) = sigma_min (sigma_max / sigma_min)^t;  a = 1,  s = sigma(t);
          prior N(0, sigma_max^2 I).
- VP:     beta(t) = beta_min + t (beta_max - beta_min),  f = -1/2 beta(t) x,  g = sqrt(beta(t));
          log a(t) = -1/4 t^2 (beta_max - beta_min) - 1/2 t beta_min,  s = sqrt(1 - a^2);
          prior N(0, I).
- sub-VP: f = -1/2 beta(t) x,  g = sqrt(beta(t) (1 - exp(-2 beta_min t - (beta_max - beta_min) t^2))),
          a as VP,  s = 1 - a^2;  prior N(0, I).

Reverse SDE (eq. 6):           dx = [f - g^2 grad log p_t(x)] dt + g dw_bar
Probability-flow ODE (eq. 13): dx = [f - 1/2 g^2 grad log p_t(x)] dt
"""

from __future__ import annotations

import math

import torch

KINDS = ("ve", "vp", "subvp")
SAMPLE_EPS = 1e-3      # the reference code's sampling eps: the reverse process stops at t = 1e-3


def _t(t, x: torch.Tensor) -> torch.Tensor:
    """t as a (n,) tensor on x's device and dtype (a python number is broadcast)."""
    if isinstance(t, (int, float)):
        return x.new_full((x.shape[0],), float(t))
    return t.to(device=x.device, dtype=x.dtype).reshape(-1).expand(x.shape[0])


class SDE:
    """Base class: `sde(x, t)` -> (f (n, d), g (n,)); `marginal_prob(x0, t)` -> (mean, std (n,));
    `prior_sampling`, `prior_logp`, `discretize` (the reference's discretisation with N steps)."""

    kind = ""
    T = 1.0

    def __init__(self, N: int = 1000, eps_t: float = 1e-5):
        self.N = int(N)
        self.eps_t = float(eps_t)

    # -- to be defined per SDE --
    def sde(self, x, t):
        raise NotImplementedError

    def mean_coeff(self, t: torch.Tensor) -> torch.Tensor:
        """a(t) with E[x_t | x_0] = a(t) x_0."""
        raise NotImplementedError

    def std(self, t: torch.Tensor) -> torch.Tensor:
        """s(t), the std of the perturbation kernel."""
        raise NotImplementedError

    def prior_std(self) -> float:
        return 1.0

    # -- shared --
    def marginal_prob(self, x0: torch.Tensor, t):
        t = _t(t, x0)
        return self.mean_coeff(t).unsqueeze(1) * x0, self.std(t)

    def prior_sampling(self, shape, generator=None, device=None) -> torch.Tensor:
        return self.prior_std() * torch.randn(shape, generator=generator, device=device)

    def prior_logp(self, z: torch.Tensor) -> torch.Tensor:
        """log N(z; 0, prior_std^2 I), (n,):  -d/2 log(2 pi sp^2) - |z|^2 / (2 sp^2)."""
        d = z.shape[1]
        sp = self.prior_std()
        return -0.5 * d * math.log(2 * math.pi * sp ** 2) - z.pow(2).sum(1) / (2 * sp ** 2)

    def diffusion(self, t: torch.Tensor) -> torch.Tensor:
        """g(t), (n,) for t (n,)."""
        return self.sde(t.new_zeros((t.shape[0], 1)), t)[1]

    def config(self) -> dict:
        raise NotImplementedError

    # -- the path as the rest of the program sees it (scores.py: the level ("t", t)) --
    t_noise = 1.0                       # the noisiest end (the prior) ...

    @property
    def t_data(self) -> float:
        """... and the end nearest the data that samplers and views stop at: the reference
        code's sampling eps (at eps_t = 1e-5 a learned s = net / s(t) divides by 1e-3)."""
        return max(self.eps_t, SAMPLE_EPS)

    def kernel(self, t: float) -> tuple[float, float]:
        """(s(t), a(t)) as floats: x_t = a(t) x_0 + s(t) z."""
        tt = torch.tensor([float(t)], dtype=torch.float64)
        return float(self.std(tt)), float(self.mean_coeff(tt))

    def t_at_std(self, std: float) -> float:
        """The t in [t_data, T] where s(t) first reaches `std` (s grows with t for all three
        SDEs), by bisection; the nearer end where s never reaches it."""
        lo, hi = self.t_data, self.T
        if self.kernel(lo)[0] >= std:
            return lo
        if self.kernel(hi)[0] <= std:
            return hi
        for _ in range(60):
            mid = 0.5 * (lo + hi)
            lo, hi = (mid, hi) if self.kernel(mid)[0] < std else (lo, mid)
        return hi

    def discretize(self, x, t):
        """(f_i, G_i) of x_{i+1} = x_i + f_i + G_i z (default: Euler-Maruyama with dt = 1/N)."""
        dt = 1.0 / self.N
        drift, diffusion = self.sde(x, t)
        return drift * dt, diffusion * math.sqrt(dt)

    def reverse_drift(self, x, t, score: torch.Tensor, ode: bool = False):
        """(f - g^2 score) for the reverse SDE, (f - 1/2 g^2 score) for the ODE; and g (or 0)."""
        f, g = self.sde(x, t)
        c = 0.5 if ode else 1.0
        return f - (g ** 2).unsqueeze(1) * score * c, (torch.zeros_like(g) if ode else g)

    def reverse_discretize(self, x, t, score: torch.Tensor, ode: bool = False):
        """rev_f = f - G^2 score (* 1/2 for the ODE), rev_G = G (0 for the ODE)."""
        f, G = self.discretize(x, t)
        c = 0.5 if ode else 1.0
        return f - (G ** 2).unsqueeze(1) * score * c, (torch.zeros_like(G) if ode else G)


class VESDE(SDE):
    kind = "ve"

    def __init__(self, sigma_min: float = 0.01, sigma_max: float = 50.0, N: int = 1000,
                 eps_t: float = 1e-5):
        super().__init__(N, eps_t)
        self.sigma_min, self.sigma_max = float(sigma_min), float(sigma_max)
        # discrete sigmas of NCSN: geometric from sigma_min to sigma_max over N
        self.discrete_sigmas = torch.exp(torch.linspace(math.log(self.sigma_min),
                                                        math.log(self.sigma_max), self.N,
                                                        dtype=torch.float64))

    def sigma(self, t):
        # sigma(t) = sigma_min (sigma_max / sigma_min)^t
        return self.sigma_min * (self.sigma_max / self.sigma_min) ** t

    def sde(self, x, t):
        t = _t(t, x)
        # f = 0;  g = sigma(t) sqrt(2 (log sigma_max - log sigma_min))
        g = self.sigma(t) * math.sqrt(2 * (math.log(self.sigma_max) - math.log(self.sigma_min)))
        return torch.zeros_like(x), g

    def mean_coeff(self, t):
        return torch.ones_like(t)

    def std(self, t):
        return self.sigma(t)

    def prior_std(self):
        return self.sigma_max

    def discretize(self, x, t):
        """SMLD: f_i = 0, G_i = sqrt(sigma_i^2 - sigma_{i-1}^2) with sigma_{-1} = 0."""
        t = _t(t, x)
        timestep = (t * (self.N - 1) / self.T).long()
        sig = self.discrete_sigmas.to(x.device, x.dtype)
        sigma = sig[timestep]
        adjacent = torch.where(timestep == 0, torch.zeros_like(sigma), sig[(timestep - 1).clamp(min=0)])
        return torch.zeros_like(x), (sigma ** 2 - adjacent ** 2).sqrt()

    def config(self):
        return dict(kind="ve", sigma_min=self.sigma_min, sigma_max=self.sigma_max, N=self.N,
                    eps_t=self.eps_t)


class VPSDE(SDE):
    kind = "vp"

    def __init__(self, beta_min: float = 0.1, beta_max: float = 20.0, N: int = 1000,
                 eps_t: float = 1e-5):
        super().__init__(N, eps_t)
        self.beta_0, self.beta_1 = float(beta_min), float(beta_max)
        # DDPM's discrete betas: beta_i = beta_bar_i / N, linear from beta_min/N to beta_max/N
        self.discrete_betas = torch.linspace(self.beta_0 / self.N, self.beta_1 / self.N, self.N,
                                             dtype=torch.float64)
        self.alphas = 1.0 - self.discrete_betas

    def beta(self, t):
        # beta(t) = beta_min + t (beta_max - beta_min)
        return self.beta_0 + t * (self.beta_1 - self.beta_0)

    def sde(self, x, t):
        t = _t(t, x)
        b = self.beta(t)
        # f = -1/2 beta(t) x;  g = sqrt(beta(t))
        return -0.5 * b.unsqueeze(1) * x, b.sqrt()

    def log_mean_coeff(self, t):
        # log a(t) = -1/4 t^2 (beta_max - beta_min) - 1/2 t beta_min
        return -0.25 * t ** 2 * (self.beta_1 - self.beta_0) - 0.5 * t * self.beta_0

    def mean_coeff(self, t):
        return torch.exp(self.log_mean_coeff(t))

    def std(self, t):
        # s(t) = sqrt(1 - exp(2 log a(t)))
        return self._std_from_log_mean(self.log_mean_coeff(t))

    def _std_from_log_mean(self, lmc):
        return torch.sqrt(1.0 - torch.exp(2.0 * lmc))

    def marginal_prob(self, x0, t):
        """(a(t) x_0, s(t)) from one evaluation of log a(t) (the training step's hot path)."""
        lmc = self.log_mean_coeff(_t(t, x0))
        return torch.exp(lmc).unsqueeze(1) * x0, self._std_from_log_mean(lmc)

    def discretize(self, x, t):
        """DDPM: x_{i+1} = sqrt(1 - beta_i) x_i + sqrt(beta_i) z:  f_i = sqrt(alpha_i) x - x, G_i = sqrt(beta_i)."""
        t = _t(t, x)
        timestep = (t * (self.N - 1) / self.T).long()
        beta = self.discrete_betas.to(x.device, x.dtype)[timestep]
        alpha = self.alphas.to(x.device, x.dtype)[timestep]
        return alpha.sqrt().unsqueeze(1) * x - x, beta.sqrt()

    def config(self):
        return dict(kind=self.kind, beta_min=self.beta_0, beta_max=self.beta_1, N=self.N,
                    eps_t=self.eps_t)


class SubVPSDE(VPSDE):
    kind = "subvp"

    def sde(self, x, t):
        t = _t(t, x)
        b = self.beta(t)
        # discount = 1 - exp(-2 beta_min t - (beta_max - beta_min) t^2);  g = sqrt(beta(t) discount)
        discount = 1.0 - torch.exp(-2 * self.beta_0 * t - (self.beta_1 - self.beta_0) * t ** 2)
        return -0.5 * b.unsqueeze(1) * x, (b * discount).sqrt()

    def _std_from_log_mean(self, lmc):
        # s(t) = 1 - exp(2 log a(t))   (no square root: the sub-VP variance is (1 - a^2)^2)
        return 1.0 - torch.exp(2.0 * lmc)

    def discretize(self, x, t):
        return SDE.discretize(self, x, t)


def make_sde(kind: str = "vp", *, sigma_min: float = 0.01, sigma_max: float = 50.0,
             beta_min: float = 0.1, beta_max: float = 20.0, N: int = 1000, eps_t: float = 1e-5) -> SDE:
    """The SDE named by `kind` ("ve" | "vp" | "subvp")."""
    if kind == "ve":
        return VESDE(sigma_min, sigma_max, N, eps_t)
    if kind == "vp":
        return VPSDE(beta_min, beta_max, N, eps_t)
    if kind == "subvp":
        return SubVPSDE(beta_min, beta_max, N, eps_t)
    raise ValueError(f"unknown sde {kind!r} (known: {', '.join(KINDS)})")


def sde_from_config(cfg: dict) -> SDE:
    cfg = dict(cfg)
    return make_sde(cfg.pop("kind"), **cfg)
