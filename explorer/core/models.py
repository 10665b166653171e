"""Score models: an MLP that outputs the score, or a scalar energy whose negative gradient is.

docs/design.md §3: a score model s_theta(x) in R^d, parameterised either as
  `score`:  s_theta(x) = net(x)                       (net: R^d -> R^d)
  `energy`: s_theta(x) = -grad_x E_theta(x)           (E_theta: R^d -> R)
Noise-conditional models also take the noise level:
  conditioning "sigma" (NCSN):  s_theta(x, sigma) = net(x, log sigma) / sigma     (NCSNv2)
      energy:                   E_theta(x, sigma) = net(x, log sigma) / sigma,
                                s_theta(x, sigma) = -grad_x E_theta(x, sigma)  (also ~ 1/sigma)
  conditioning "sde" (continuous t in [0, 1], Song et al. 2021):
                                s_theta(x, t) = net(x, t) / std(t)   (std of the SDE's kernel,
                                as the reference code scales its score networks' outputs)
      energy:                   E_theta(x, t) = net(x, t) / std(t),  s_theta = -grad_x E_theta
  conditioning "flow" (flow matching, t in [0, 1]): v_theta(x, t) = net(x, t), unscaled
      energy:                   v_theta = -grad_x E_theta(x, t)
  conditioning "time" (DDPM):   eps_theta(x, t) = net(x, t / T)   (eps prediction, unscaled)
      energy:                   E_theta(x, t) = net(x, t / T),  eps_theta(x, t) = +grad_x E_theta
                                so that the implied score  -eps_theta / sqrt(1 - alpha_bar_t)
                                = -grad_x E_theta / sqrt(1 - alpha_bar_t):  E_theta / sqrt(1 - abar_t)
                                is the energy of p_t (the sign keeps "energy" meaning energy).
The conditioning input (log sigma or t / T) is an extra input feature; it carries no tangent
in the derivatives below (they are derivatives with respect to x only).

For the `score` parameterisation the model computes forward-mode derivatives by propagating
tangents through the layers explicitly (no double backward):
  a_1 = W_1 [x; c] + b_1,  h_k = act(a_k),  a_{k+1} = W_{k+1} h_k + b_{k+1},  out = W_L h_{L-1} + b_L
  J v:  da_1 = W_1[:, :d] v,   dh_k = act'(a_k) * da_k,   da_{k+1} = W_{k+1} dh_k
  J:    J_1 = act'(a_1)[:, :, None] * W_1[:, :d],   J_k = act'(a_k)[:, :, None] * (W_k @ J_{k-1})
Both are ordinary autograd graphs, so losses built on them backpropagate to the weights.
The `energy` parameterisation falls back to autograd (Hessian-vector products, and a loop
over the d coordinates for the full Jacobian / exact Laplacian).

Preconditioning "edm" (core/training/recipe.py, EDM Table 1) replaces the scalings above for every
noise-conditional model: out = alpha x + beta net(x / r, c_noise) with the coefficients of
recipe.output_affine (score for NCSN and the SDEs, eps for DDPM, velocity for flow matching);
the energy form is E = sign (alpha |x|^2 / 2 + beta r G(x / r, c_noise)), whose gradient is the
same affine map of grad_u G. noise_embedding "fourier" feeds [sin, cos](pi 2^k c) (k < 8) of the
conditioning value c instead of c itself.

The state dict holds only the Linear weights and biases (plain tensors, safetensors-ready);
`config()` returns the keyword arguments that rebuild the architecture.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

ACTIVATIONS = ("softplus", "silu", "tanh", "elu")
CONDITIONINGS = (None, "sigma", "time", "sde", "flow")
EMBEDDINGS = ("linear", "fourier")
FOURIER_FREQS = 8
OUTPUT_KIND = {"sigma": "score", "sde": "score", "time": "eps", "flow": "velocity"}


# --- activations with closed-form derivatives ------------------------------------------------
def _act(name: str, a: torch.Tensor) -> torch.Tensor:
    if name == "softplus":
        return F.softplus(a)
    if name == "silu":
        return F.silu(a)
    if name == "tanh":
        return torch.tanh(a)
    if name == "elu":
        return F.elu(a)
    raise ValueError(f"unknown activation {name!r}")


def _act_and_grad(name: str, a: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(act(a), act'(a)), both differentiable with respect to a."""
    if name == "softplus":
        # softplus'(a) = sigmoid(a)
        return F.softplus(a), torch.sigmoid(a)
    if name == "silu":
        # silu(a) = a sig(a);  silu'(a) = sig (1 + a (1 - sig))
        sig = torch.sigmoid(a)
        return a * sig, sig * (1 + a * (1 - sig))
    if name == "tanh":
        # tanh' = 1 - tanh^2
        h = torch.tanh(a)
        return h, 1 - h * h
    if name == "elu":
        # elu(a) = a (a > 0), exp(a) - 1 (a <= 0);  elu'(a) = 1 (a > 0), exp(a) = elu(a) + 1 (a <= 0)
        h = F.elu(a)
        return h, (h + 1).clamp(max=1.0)
    raise ValueError(f"unknown activation {name!r}")


class ScoreModel(nn.Module):
    """MLP score model; see the module docstring for the conventions."""

    def __init__(self, dim: int, hidden=(128, 128), activation: str = "softplus",
                 parameterisation: str = "score", conditioning: str | None = None,
                 timesteps: int | None = None, sde: dict | None = None,
                 preconditioning: str = "none", sigma_data: float | None = None,
                 noise_embedding: str = "linear", betas: list | None = None):
        super().__init__()
        from .training.recipe import PRECONDITIONINGS
        if preconditioning not in PRECONDITIONINGS:
            raise ValueError(f"preconditioning must be one of {PRECONDITIONINGS}, got {preconditioning!r}")
        if noise_embedding not in EMBEDDINGS:
            raise ValueError(f"noise_embedding must be one of {EMBEDDINGS}, got {noise_embedding!r}")
        if parameterisation not in ("score", "energy"):
            raise ValueError(f"parameterisation must be 'score' or 'energy', got {parameterisation!r}")
        if conditioning not in CONDITIONINGS:
            raise ValueError(f"conditioning must be one of {CONDITIONINGS}, got {conditioning!r}")
        if activation not in ACTIVATIONS:
            raise ValueError(f"activation must be one of {ACTIVATIONS}, got {activation!r}")
        if conditioning == "time" and not timesteps:
            raise ValueError("time conditioning needs timesteps (T)")
        self.dim = int(dim)
        self.hidden = [int(h) for h in hidden]
        self.activation = activation
        self.parameterisation = parameterisation
        self.conditioning = conditioning
        self.timesteps = int(timesteps) if conditioning == "time" else None
        if conditioning == "sde" and not sde:
            raise ValueError("sde conditioning needs sde (the SDE's config dict)")
        self.sde_config = dict(sde) if conditioning == "sde" else None
        if self.sde_config is not None:
            from .noise.sde import sde_from_config
            self._sde = sde_from_config(self.sde_config)
        # the recipe (core/training/recipe.py) only where there is a noise level to condition on
        self.preconditioning = preconditioning if conditioning is not None else "none"
        self.noise_embedding = noise_embedding if conditioning is not None else "linear"
        if self.preconditioning == "edm":
            if not sigma_data or sigma_data <= 0:
                raise ValueError("edm preconditioning needs sigma_data > 0")
            if conditioning == "time" and not betas:
                raise ValueError("edm preconditioning of a DDPM model needs betas (beta_min, beta_max)")
        self.sigma_data = float(sigma_data) if self.preconditioning == "edm" else None
        self.betas = ([float(b) for b in betas] if self.preconditioning == "edm"
                      and conditioning == "time" else None)
        if self.betas is not None:
            from .noise.schedules import DDPMSchedule
            ab = DDPMSchedule(self.timesteps, *self.betas).alpha_bars
            self.register_buffer("_ab", torch.stack([ab.sqrt(), (1 - ab).sqrt()]).float(),
                                 persistent=False)          # (a, s) per step, not in the state dict
        n_feat = 0 if conditioning is None else (2 * FOURIER_FREQS if self.noise_embedding == "fourier" else 1)
        n_in = self.dim + n_feat
        n_out = self.dim if parameterisation == "score" else 1
        widths = [n_in, *self.hidden, n_out]
        self.layers = nn.ModuleList(nn.Linear(a, b) for a, b in zip(widths[:-1], widths[1:]))
        # energy: s = -grad E; with time conditioning the output is eps = +grad E (see docstring)
        self._energy_sign = 1.0 if conditioning == "time" else -1.0

    def config(self) -> dict:
        return dict(dim=self.dim, hidden=list(self.hidden), activation=self.activation,
                    parameterisation=self.parameterisation, conditioning=self.conditioning,
                    timesteps=self.timesteps, sde=self.sde_config,
                    preconditioning=self.preconditioning, sigma_data=self.sigma_data,
                    noise_embedding=self.noise_embedding, betas=self.betas)

    def extra_repr(self) -> str:
        return (f"parameterisation={self.parameterisation}, conditioning={self.conditioning}, "
                f"activation={self.activation}")

    # --- conditioning ---------------------------------------------------------------------------
    def _embed(self, feat):
        if feat is None or self.noise_embedding == "linear":
            return feat
        k = torch.arange(FOURIER_FREQS, device=feat.device, dtype=feat.dtype)
        ang = feat * (math.pi * 2.0 ** k)                    # pi 2^k c, (n, K)
        return torch.cat([ang.sin(), ang.cos()], dim=1)

    def _level(self, x: torch.Tensor, c):
        """(a, s), (n, 1) each: x = a x_0 + s z at the conditioning value c."""
        n = x.shape[0]
        if isinstance(c, (int, float)):
            c = x.new_full((n, 1), float(c))
        if self.conditioning == "time":
            idx = c.to(device=x.device).reshape(-1).expand(n).long()
            ab = self._ab.to(device=x.device, dtype=x.dtype)[:, idx]
            return ab[0].unsqueeze(1), ab[1].unsqueeze(1)
        v = c.to(device=x.device, dtype=x.dtype).reshape(-1, 1).expand(n, 1)
        if self.conditioning == "sigma":
            return torch.ones_like(v), v
        if self.conditioning == "flow":
            return v, 1 - v                                  # x_t = t x_1 + (1 - t) z
        return self._sde.mean_coeff(v), self._sde.std(v)

    def _precond(self, x: torch.Tensor, c):
        """EDM: (input scale 1/r, alpha, beta, feature), (n, 1) each except the feature."""
        if c is None:
            raise ValueError(f"this model is conditioned on {self.conditioning}; pass c")
        from .training.recipe import output_affine
        a, s = self._level(x, c)
        r, alpha, beta, c_noise = output_affine(OUTPUT_KIND[self.conditioning], a, s, self.sigma_data)
        return r.reciprocal(), alpha, beta, self._embed(c_noise)

    def _condition(self, x: torch.Tensor, c):
        """(extra input feature (n, k) or None, output scale (n, 1) or None)."""
        feat, scale = self._condition_raw(x, c)
        return self._embed(feat), scale

    def _condition_raw(self, x: torch.Tensor, c):
        if self.conditioning is None:
            return None, None
        if c is None:
            raise ValueError(f"this model is conditioned on {self.conditioning}; pass c")
        n = x.shape[0]
        if self.conditioning == "sigma":
            if isinstance(c, (int, float)):
                # sigma as a python number: build the features on x's device directly
                return x.new_full((n, 1), math.log(c)), x.new_full((n, 1), 1.0 / c)
            sigma = c.to(device=x.device, dtype=x.dtype).reshape(-1, 1).expand(n, 1)
            return sigma.log(), sigma.reciprocal()          # feature log sigma, scale 1/sigma
        if self.conditioning in ("sde", "flow"):
            t = (x.new_full((n, 1), float(c)) if isinstance(c, (int, float))
                 else c.to(device=x.device, dtype=x.dtype).reshape(-1, 1).expand(n, 1))
            if self.conditioning == "flow":
                return t, None                              # v(x, t) = net(x, t)
            return t, self._sde.std(t).reciprocal()         # s(x, t) = net(x, t) / std(t)
        # time: feature t / T, no output scaling
        if isinstance(c, (int, float)):
            return x.new_full((n, 1), c / self.timesteps), None
        t = c.to(device=x.device, dtype=x.dtype).reshape(-1, 1).expand(n, 1)
        return t / self.timesteps, None

    def _input(self, x, feat):
        return x if feat is None else torch.cat([x, feat], dim=1)

    def _net(self, inp: torch.Tensor) -> torch.Tensor:
        h = inp
        for layer in self.layers[:-1]:
            h = _act(self.activation, layer(h))
        return self.layers[-1](h)

    def _params_require_grad(self) -> bool:
        return any(p.requires_grad for p in self.parameters())

    def _need_graph(self, x: torch.Tensor) -> bool:
        return torch.is_grad_enabled() and (x.requires_grad or self._params_require_grad())

    # --- energy -----------------------------------------------------------------------------------
    def energy(self, x: torch.Tensor, c=None) -> torch.Tensor:
        """E_theta(x, c), (n,). Energy parameterisation only."""
        if self.parameterisation != "energy":
            raise TypeError("energy() needs parameterisation 'energy'")
        if self.preconditioning == "edm":
            # E = sign (alpha |x|^2 / 2 + beta r G(x / r, c_noise)):  sign grad E = alpha x + beta grad_u G
            inv_r, alpha, beta, feat = self._precond(x, c)
            g = self._net(self._input(x * inv_r, feat))
            e = self._energy_sign * (0.5 * alpha * x.pow(2).sum(1, keepdim=True) + beta * g / inv_r)
            return e.squeeze(-1)
        feat, scale = self._condition(x, c)
        e = self._net(self._input(x, feat))
        if scale is not None:
            e = e * scale                                   # E(x, sigma) = net(x, log sigma) / sigma
        return e.squeeze(-1)

    def _energy_grad(self, x, c, create_graph: bool):
        """(x as differentiated, sign * grad_x E) inside enable_grad."""
        xg = x if x.requires_grad else x.detach().requires_grad_(True)
        e = self.energy(xg, c)
        (g,) = torch.autograd.grad(e.sum(), xg, create_graph=create_graph)
        return xg, self._energy_sign * g

    # --- forward ----------------------------------------------------------------------------------
    def forward(self, x: torch.Tensor, c=None) -> torch.Tensor:
        """s_theta(x[, c]) (n, d); for time conditioning the eps prediction."""
        if self.parameterisation == "score" and self.preconditioning == "edm":
            inv_r, alpha, beta, feat = self._precond(x, c)
            # out = alpha x + beta F(x / r, c_noise)
            return alpha * x + beta * self._net(self._input(x * inv_r, feat))
        if self.parameterisation == "score":
            feat, scale = self._condition(x, c)
            out = self._net(self._input(x, feat))
            return out if scale is None else out * scale   # s(x, sigma) = net(x, log sigma) / sigma
        need = self._need_graph(x)
        with torch.enable_grad():
            _, s = self._energy_grad(x, c, create_graph=need)
        return s

    def forward_with_jvp(self, x: torch.Tensor, v: torch.Tensor, c=None):
        """(s, J v) with J = d s / d x (n, d, d); v (n, d). No double backward for `score`."""
        if self.parameterisation == "energy":
            # J is the (sign-adjusted) Hessian of E, symmetric: J v = grad_x (v . s)
            need = self._need_graph(x)
            with torch.enable_grad():
                xg, s = self._energy_grad(x, c, create_graph=True)
                (jv,) = torch.autograd.grad((s * v).sum(), xg, create_graph=need)
            return (s if need else s.detach()), jv
        pre = self._precond(x, c) if self.preconditioning == "edm" else None
        if pre is not None:
            inv_r, alpha, beta, feat = pre
            h = self._input(x * inv_r, feat)
            v_in = v * inv_r                                 # d(x / r) = v / r
        else:
            feat, scale = self._condition(x, c)
            h, v_in = self._input(x, feat), v
        first = self.layers[0]
        a = first(h)
        da = v_in @ first.weight[:, : self.dim].t()        # the conditioning feature has no tangent
        for layer in self.layers[1:]:
            h, g = _act_and_grad(self.activation, a)
            dh = g * da                                     # dh_k = act'(a_k) * da_k
            a = layer(h)
            da = dh @ layer.weight.t()                      # da_{k+1} = W_{k+1} dh_k
        if pre is not None:                                 # J v = alpha v + beta J_F v / r
            return alpha * x + beta * a, alpha * v + beta * da
        if scale is not None:
            a, da = a * scale, da * scale
        return a, da

    def forward_with_jacobian(self, x: torch.Tensor, c=None):
        """(s, J) with J[n, i, j] = d s_i / d x_j, (n, d, d)."""
        if self.parameterisation == "energy":
            need = self._need_graph(x)
            with torch.enable_grad():
                xg, s = self._energy_grad(x, c, create_graph=True)
                rows = [torch.autograd.grad(s[:, i].sum(), xg, create_graph=need, retain_graph=True)[0]
                        for i in range(self.dim)]
            return (s if need else s.detach()), torch.stack(rows, dim=1)
        pre = self._precond(x, c) if self.preconditioning == "edm" else None
        if pre is not None:
            inv_r, alpha, beta, feat = pre
            h = self._input(x * inv_r, feat)
        else:
            feat, scale = self._condition(x, c)
            h = self._input(x, feat)
        first = self.layers[0]
        a = first(h)
        # The Jacobian is carried transposed, jt = J^T of shape (n, d, h), so that each layer is
        # one (n d, h) @ (h, h') matrix product rather than n small ones.
        jt = first.weight[:, : self.dim].t().unsqueeze(0)    # (d a_1 / d x)^T = W_1[:, :d]^T
        if pre is not None:
            jt = jt * inv_r.unsqueeze(-1)                    # d(x / r) / dx = I / r
        for layer in self.layers[1:]:
            h, g = _act_and_grad(self.activation, a)
            jt = g.unsqueeze(1) * jt                         # J_k = act'(a_k)[:, :, None] * (W_k @ J_{k-1})
            a = layer(h)
            jt = torch.matmul(jt, layer.weight.t())
        jac = jt.transpose(1, 2)
        if pre is not None:                                  # J = alpha I + beta J_F / r
            eye = torch.eye(self.dim, device=x.device, dtype=x.dtype)
            return alpha * x + beta * a, alpha.unsqueeze(-1) * eye + beta.unsqueeze(-1) * jac
        if scale is not None:
            a, jac = a * scale, jac * scale.unsqueeze(-1)
        return a, jac.expand(x.shape[0], -1, -1) if jac.shape[0] != x.shape[0] else jac


# --- generic derivatives (any module s(x[, c]); ScoreModel uses its own fast paths) ------------------
def jvp(model, x: torch.Tensor, v: torch.Tensor, c=None):
    """(s, w) with v . w = v^T J v. ScoreModel: w = J v exactly. Other modules: w = J^T v
    by one backward of (v . s) (equal to J v when J is symmetric)."""
    if hasattr(model, "forward_with_jvp"):
        return model.forward_with_jvp(x, v, c)
    need = torch.is_grad_enabled()
    with torch.enable_grad():
        xg = x if x.requires_grad else x.detach().requires_grad_(True)
        s = _call(model, xg, c)
        (w,) = torch.autograd.grad((s * v).sum(), xg, create_graph=need)
    return s, w


def jacobian(model, x: torch.Tensor, c=None):
    """(s, J) with J[n, i, j] = d s_i / d x_j; autograd loop over i for modules without a fast path."""
    if hasattr(model, "forward_with_jacobian"):
        return model.forward_with_jacobian(x, c)
    need = torch.is_grad_enabled()
    with torch.enable_grad():
        xg = x if x.requires_grad else x.detach().requires_grad_(True)
        s = _call(model, xg, c)
        rows = [torch.autograd.grad(s[:, i].sum(), xg, create_graph=need, retain_graph=True)[0]
                for i in range(x.shape[1])]
    return s, torch.stack(rows, dim=1)


def _call(model, x, c):
    return model(x) if c is None else model(x, c)
