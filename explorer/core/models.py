"""Score models: an MLP that outputs the score, or a scalar energy whose negative gradient is.

DESIGN section 3: a score model s_theta(x) in R^d, parameterised either as
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
                 timesteps: int | None = None, sde: dict | None = None):
        super().__init__()
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
            from .sde import sde_from_config
            self._sde = sde_from_config(self.sde_config)
        n_in = self.dim + (0 if conditioning is None else 1)
        n_out = self.dim if parameterisation == "score" else 1
        widths = [n_in, *self.hidden, n_out]
        self.layers = nn.ModuleList(nn.Linear(a, b) for a, b in zip(widths[:-1], widths[1:]))
        # energy: s = -grad E; with time conditioning the output is eps = +grad E (see docstring)
        self._energy_sign = 1.0 if conditioning == "time" else -1.0

    def config(self) -> dict:
        return dict(dim=self.dim, hidden=list(self.hidden), activation=self.activation,
                    parameterisation=self.parameterisation, conditioning=self.conditioning,
                    timesteps=self.timesteps, sde=self.sde_config)

    def extra_repr(self) -> str:
        return (f"parameterisation={self.parameterisation}, conditioning={self.conditioning}, "
                f"activation={self.activation}")

    # --- conditioning ---------------------------------------------------------------------------
    def _condition(self, x: torch.Tensor, c):
        """(extra input feature (n, 1) or None, output scale (n, 1) or None)."""
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
        feat, scale = self._condition(x, c)
        h = self._input(x, feat)
        first = self.layers[0]
        a = first(h)
        da = v @ first.weight[:, : self.dim].t()           # the conditioning feature has no tangent
        for layer in self.layers[1:]:
            h, g = _act_and_grad(self.activation, a)
            dh = g * da                                     # dh_k = act'(a_k) * da_k
            a = layer(h)
            da = dh @ layer.weight.t()                      # da_{k+1} = W_{k+1} dh_k
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
        feat, scale = self._condition(x, c)
        h = self._input(x, feat)
        first = self.layers[0]
        a = first(h)
        # The Jacobian is carried transposed, jt = J^T of shape (n, d, h), so that each layer is
        # one (n d, h) @ (h, h') matrix product rather than n small ones.
        jt = first.weight[:, : self.dim].t().unsqueeze(0)    # (d a_1 / d x)^T = W_1[:, :d]^T
        for layer in self.layers[1:]:
            h, g = _act_and_grad(self.activation, a)
            jt = g.unsqueeze(1) * jt                         # J_k = act'(a_k)[:, :, None] * (W_k @ J_{k-1})
            a = layer(h)
            jt = torch.matmul(jt, layer.weight.t())
        jac = jt.transpose(1, 2)
        if scale is not None:
            a, jac = a * scale, jac * scale.unsqueeze(-1)
        return a, jac.expand(x.shape[0], -1, -1) if jac.shape[0] != x.shape[0] else jac


def build_model(preset) -> ScoreModel:
    """The model a preset asks for: preset.model (kind, hidden, activation), preset.dim, and the
    conditioning the objective declares (NCSN: sigma, DDPM: time, score SDE: sde, flow: flow)."""
    from .objectives import conditioning as objective_conditioning
    m = preset.model
    o = preset.objective
    conditioning = objective_conditioning(preset)
    sde = None
    if conditioning == "sde":   # s(x, t) = net(x, t) / std(t): the model carries its SDE
        from .objectives import objective_path
        sde = objective_path(preset).config()
    return ScoreModel(dim=preset.dim, hidden=m.get("hidden", [128, 128]),
                      activation=m.get("activation", "softplus"),
                      parameterisation=m.get("kind", "score"), conditioning=conditioning,
                      timesteps=o.get("timesteps", 1000) if conditioning == "time" else None,
                      sde=sde)


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
