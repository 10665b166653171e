"""The training recipe of noise-conditional networks: EDM preconditioning, weight EMA and the
learning-rate schedule. One place that the headless runner, the API, the window's training
process, export and compare workers all reach through `Trainer` and `build_model`.

Why: a plain MLP fed raw x and a raw noise feature has to learn outputs whose scale moves by
orders of magnitude along the noise path; on a 0.3/0.7 mixture the learned VP SDE put 0.63
of the particles in the heavy mode and flow matching 0.67 (issue 23). Karras et al. 2022
(EDM, Table 1 and section 5) make the network's input and target unit-variance at every noise
level; the reference codes (yang-song/score_sde_pytorch models/ema.py, optim warm-up) average
the weights and warm the learning rate up.

Preconditioning (EDM Table 1, "ours"), for a path x = a x_0 + s z (a = 1 for NCSN), in EDM's
scaled coordinates x^ = x / a with noise sigma = s / a and data std s_d (sigma_data):
    c_skip = s_d^2 / (sigma^2 + s_d^2),   c_out = sigma s_d / sqrt(sigma^2 + s_d^2),
    c_in = 1 / sqrt(sigma^2 + s_d^2),      c_noise = ln(sigma) / 4,
    D(x^; sigma) = c_skip x^ + c_out F(c_in x^, c_noise)          (the denoiser, E[x_0 | x])
Tweedie turns D into what each objective's model outputs. With r = sqrt(s^2 + a^2 s_d^2)
(so c_in x^ = x / r), every output is affine in F:  out = alpha x + beta F(x / r, c_noise):
    score (NCSN, SDE):  grad log p_t = (a D - x) / s^2         -> alpha = -1/r^2,           beta = a s_d / (s r)
    eps (DDPM):         eps = -s grad log p_t                  -> alpha = s / r^2,           beta = -a s_d / r
    velocity (flow, a + s = 1):  v = E[x_1 - z | x] = (D - x) / s  -> alpha = (a s_d^2 - s) / r^2, beta = s_d / r
(derivation of the first: a D = a^2 s_d^2 x / r^2 + a s s_d F / r, and a^2 s_d^2 - r^2 = -s^2.)
The alpha x term is the exact output for Gaussian data N(0, s_d^2 I): the network learns only
the departure from it, with unit-scale input and target.
"""

from __future__ import annotations

import math

import torch

PRECONDITIONINGS = ("none", "edm")
LR_SCHEDULES = ("constant", "cosine")
COSINE_FLOOR = 0.1          # cosine decay ends at this fraction of lr, not 0: a window that
                            # trains past its budget keeps learning
NOISE_CLAMP = (1e-4, 1e4)   # sigma = s / a is clamped here for c_noise (flow's a = 0 at t = 0)
SIGMA_DATA_SAMPLES = 8192


WARMUP = 200

# The recipe's defaults, measured in bench/bench_recipe.py (docs/recipe.md): for objectives whose
# model is conditioned on a noise level, and the plain defaults for the others.
RECIPE = {("model", "activation"): ("silu", "softplus"),
          # three hidden layers: the spirals A/B of bench/bench_defaults.py (docs/recipe.md)
          ("model", "hidden"): ([128, 128, 128], [128, 128]),
          ("model", "preconditioning"): ("edm", "none"),
          ("training", "lr"): (3e-3, 1e-3),
          ("training", "ema"): (0.999, 0.0),
          ("training", "lr_warmup"): (WARMUP, 0),   # at most a tenth of training.steps
          ("training", "lr_schedule"): ("cosine", "constant")}


def derived_recipe(noise_conditional: bool, steps: int):
    """(section, key, value) of each recipe key for a preset that leaves it out; the warm-up
    is at most a tenth of the step budget (a 150-step demo should not spend it warming up)."""
    out = []
    for (sec, key), v in RECIPE.items():
        value = v[0] if noise_conditional else v[1]
        if key == "lr_warmup":
            value = min(value, int(steps) // 10)
        out.append((sec, key, value))
    return out


# --- preconditioning ------------------------------------------------------------------------
def edm_coefficients(sigma, sigma_data: float):
    """(c_skip, c_out, c_in, c_noise) of EDM Table 1 at noise level sigma (tensor or float)."""
    sigma = torch.as_tensor(sigma, dtype=torch.float64)
    sd2 = sigma_data ** 2
    c_skip = sd2 / (sigma ** 2 + sd2)                          # s_d^2 / (sigma^2 + s_d^2)
    c_out = sigma * sigma_data / (sigma ** 2 + sd2).sqrt()     # sigma s_d / sqrt(sigma^2 + s_d^2)
    c_in = 1.0 / (sigma ** 2 + sd2).sqrt()                     # 1 / sqrt(sigma^2 + s_d^2)
    c_noise = sigma.log() / 4                                  # ln(sigma) / 4
    return c_skip, c_out, c_in, c_noise


def output_affine(kind: str, a: torch.Tensor, s: torch.Tensor, sigma_data: float):
    """(r, alpha, beta, c_noise), each shaped like a and s: the model outputs
    alpha x + beta F(x / r, c_noise) (module docstring). kind: "score", "eps" or "velocity"."""
    sd = float(sigma_data)
    r = (s * s + (a * sd) ** 2).sqrt()                         # r = sqrt(s^2 + a^2 s_d^2)
    if kind == "score":
        alpha, beta = -1.0 / r ** 2, a * sd / (s * r)
    elif kind == "eps":
        alpha, beta = s / r ** 2, -a * sd / r
    elif kind == "velocity":
        alpha, beta = (a * sd * sd - s) / r ** 2, sd / r
    else:
        raise ValueError(f"unknown output kind {kind!r}")
    sigma = (s / a.clamp(min=1e-30)).clamp(*NOISE_CLAMP)
    return r, alpha, beta, sigma.log() / 4                     # c_noise = ln(sigma) / 4


def estimate_sigma_data(density, seed: int = 0) -> float:
    """s_d = sqrt(tr Cov[x] / d), from SIGMA_DATA_SAMPLES samples with a fixed generator (the
    same preset gives the same value), to 3 significant digits as it is written to the preset."""
    g = torch.Generator().manual_seed(seed)
    x = density.sample(SIGMA_DATA_SAMPLES, g).double().cpu()
    v = float(x.var(dim=0).mean())
    return float(f"{math.sqrt(max(v, 1e-12)):.3g}")


# --- weight EMA (score_sde_pytorch models/ema.py) -----------------------------------------------
class EMA:
    """shadow <- shadow - (1 - decay_n) (shadow - param), decay_n = min(decay, (1 + n) / (10 + n))
    with n the updates so far: the reference code's warm-up, so that early shadows are not
    dominated by the random initial weights."""

    def __init__(self, params, decay: float, shadow=None):
        """`shadow`: tensors to hold the average in place (another model's parameters, so that
        model is the averaged network with no copying); by default fresh copies."""
        if not 0.0 <= decay < 1.0:
            raise ValueError(f"EMA decay must be in [0, 1), got {decay}")
        self.decay = float(decay)
        self.updates = 0
        params = [p.detach() for p in params]
        if shadow is None:
            self.shadow = [p.clone() for p in params]
        else:
            self.shadow = [q.data for q in shadow]
            torch._foreach_copy_(self.shadow, params)

    def rate(self) -> float:
        """decay_n for the next update."""
        n = self.updates
        return min(self.decay, (1.0 + n) / (10.0 + n))

    @torch.no_grad()
    def update(self, params) -> None:
        one_minus = 1.0 - self.rate()
        self.updates += 1
        ps = [p.detach() for p in params]
        # shadow -= (1 - decay) (shadow - param)
        torch._foreach_lerp_(self.shadow, ps, one_minus)

    @torch.no_grad()
    def copy_to(self, params) -> None:
        torch._foreach_copy_([p.data for p in params], self.shadow)

    @torch.no_grad()
    def reset_to(self, params) -> None:
        """Start again from these weights (weights loaded from a file or another run)."""
        torch._foreach_copy_(self.shadow, [p.detach() for p in params])
        self.updates = 0


# --- learning rate ----------------------------------------------------------------------------
def lr_factor(step: int, total: int, warmup: int, schedule: str) -> float:
    """The multiplier of training.lr for optimiser step `step` (0-based):
    warm-up (score_sde_pytorch losses.optimization_manager):  min((step + 1) / warmup, 1);
    then "constant": 1, or "cosine" over the steps after warm-up up to `total`:
      COSINE_FLOOR + (1 - COSINE_FLOOR) * 1/2 (1 + cos(pi * progress)),  progress in [0, 1]."""
    f = min((step + 1) / warmup, 1.0) if warmup > 0 else 1.0
    if schedule == "constant" or step < warmup:
        return f
    if schedule != "cosine":
        raise ValueError(f"unknown lr schedule {schedule!r}")
    span = max(total - warmup, 1)
    progress = min(max((step - warmup) / span, 0.0), 1.0)
    return f * (COSINE_FLOOR + (1 - COSINE_FLOOR) * 0.5 * (1 + math.cos(math.pi * progress)))
