"""Training a score model one step at a time.

The window drives a `Trainer` from a worker thread, a few steps per call, and the command
line drives it in a loop; both see the same numbers for the same seed. The hot loop is
sample a batch, compute the loss, step Adam: everything else (Fisher divergence, copies
for the views) happens between calls, never inside `step`.

The recipe (core/training/recipe.py) lives here, so every trainer gets it: `net` is the network Adam
trains; with training.ema > 0, `model` is a second copy holding the moving average of net's
weights, and it is what samplers, metrics, views and the saved model.safetensors use (with
ema = 0 they are one object). The learning rate follows training.lr_warmup / lr_schedule.

A non-finite loss or a non-finite weight is caught at the step it appears: the weights go
back to the last state that gave a finite loss, Adam's moments are cleared, and
`DivergedError` tells the caller what happened and what to change.
"""

from __future__ import annotations

import copy
import time

import numpy as np
import torch

from .device import resolve_device
from ..errors import DivergedError
from ..objectives.network import build_model
from ..objectives import build_objective
from ..presets.preset import Preset
from .recipe import EMA, estimate_sigma_data, lr_factor
from ..scores import LearnedScore, TrueScore, fisher_level, level_noise
from ..presets import budget
from ..measures import metrics

EVAL_SAMPLES = 10_000


class Trainer:
    def __init__(self, preset: Preset, density=None, device: torch.device | None = None):
        self.preset = preset
        self.density = density if density is not None else preset.build_density()
        if device is None:
            device, self.device_note = resolve_device(preset.training["device"])
        else:
            self.device_note = None
        self.device = torch.device(device)
        self.reset()

    # --- lifecycle ----------------------------------------------------------------------
    def reset(self) -> None:
        """Fresh weights and optimizer from the preset's seed: the same seed, the same run."""
        p = self.preset
        seed = int(p.training["seed"])
        torch.manual_seed(seed)
        if p.model.get("preconditioning") == "edm" and p.model.get("sigma_data") is None:
            p.model["sigma_data"] = estimate_sigma_data(self.density)   # a drawing edited in
        self.net = build_model(p).to(self.device)
        decay = float(p.training.get("ema", 0.0))
        if decay > 0:
            self.model = copy.deepcopy(self.net)
            self.model.requires_grad_(False)
            self.ema = EMA(self.net.parameters(), decay, shadow=list(self.model.parameters()))
        else:
            self.model, self.ema = self.net, None
        self.objective = build_objective(p, self.density)
        self._optimizer = None
        self.data_gen = torch.Generator(device=self.device).manual_seed(seed)
        self.step_count = 0
        self.losses: list[float] = []
        self.fisher: list[tuple[int, float, float]] = []  # (step, F, relative F)
        self.train_seconds = 0.0
        self._params = [q for q in self.net.parameters()]
        self._last_good = [q.detach().clone() for q in self._params]
        self._eval_x = None
        self._ism_constant = None

    @property
    def optimizer(self) -> torch.optim.Optimizer:
        """Adam, built at the first step: torch.optim's first use imports torch._dynamo, which
        takes seconds, and it should happen in the thread that trains, not in the window's."""
        if self._optimizer is None:
            self._optimizer = torch.optim.Adam(self.net.parameters(), lr=self._scheduled_lr())
        return self._optimizer

    def _scheduled_lr(self) -> float:
        t = self.preset.training
        return float(t["lr"]) * lr_factor(self.step_count, self.budget, int(t.get("lr_warmup", 0)),
                                          t.get("lr_schedule", "constant"))

    def load_weights(self, state: dict) -> None:
        """Weights from elsewhere (a file, the training process, an earlier trainer): into the
        trained network and, when there is one, the average, which starts again from them."""
        state = {k: torch.as_tensor(v) for k, v in state.items()}
        self.net.load_state_dict(state)
        if self.ema is not None:
            self.ema.reset_to(self.net.parameters())

    def set_lr(self, lr: float) -> None:
        """Change the learning rate of the running optimizer, keeping weights and moments."""
        self.preset.training["lr"] = float(lr)
        if self._optimizer is not None:
            for g in self._optimizer.param_groups:
                g["lr"] = self._scheduled_lr()     # the base lr times the schedule's factor

    def set_density(self, density) -> None:
        """Go on training the same network on a new density (the user edited the drawing)."""
        self.density = density
        self.objective = build_objective(self.preset, density)
        self._eval_x = None
        self._ism_constant = None

    @property
    def budget(self) -> int:
        return int(self.preset.training["steps"])

    @property
    def finished(self) -> bool:
        return self.step_count >= self.budget

    # --- the hot loop ------------------------------------------------------------------
    def step(self, n: int = 1) -> None:
        """Run n optimisation steps (fewer if the budget ends first)."""
        batch = int(self.preset.training["batch_size"])
        t = self.preset.training
        scheduled = t.get("lr_schedule", "constant") != "constant" or int(t.get("lr_warmup", 0)) > 0
        t0 = time.perf_counter()
        try:
            for _ in range(n):
                x = self.density.sample(batch, self.data_gen)
                loss = self.objective.loss(self.net, x)
                value = loss.item()  # one host sync per step: it is also the divergence check
                if not np.isfinite(value):
                    self._rollback(f"the loss became {value} at step {self.step_count + 1}",
                                   self.step_count + 1)
                self.optimizer.zero_grad(set_to_none=True)
                loss.backward()
                torch._foreach_copy_(self._last_good, [q.detach() for q in self._params])
                if scheduled:
                    lr = self._scheduled_lr()
                    for g in self.optimizer.param_groups:
                        g["lr"] = lr
                self.optimizer.step()
                if self.ema is not None:
                    self.ema.update(self._params)
                self.step_count += 1
                self.losses.append(value)
        finally:
            self.train_seconds += time.perf_counter() - t0

    def _rollback(self, why: str, step: int) -> None:
        with torch.no_grad():
            torch._foreach_copy_(self._params, self._last_good)
        if self.ema is not None and not all(bool(torch.isfinite(q).all()) for q in self.ema.shadow):
            self.ema.reset_to(self._params)
        self.optimizer.state.clear()
        lr = self.optimizer.param_groups[0]["lr"]
        raise DivergedError(
            f"Training diverged: {why}. The weights were restored to the last finite state. "
            f"Lower the learning rate (now {lr:g}), or use a smaller step budget per level "
            f"or a larger sigma.", step=step, reason=why)

    # --- between steps ------------------------------------------------------------------
    def learned_score(self) -> LearnedScore:
        return LearnedScore(self.model, self.preset)

    def true_score(self) -> TrueScore:
        return TrueScore(self.density, self.preset)

    def eval_samples(self) -> torch.Tensor:
        """10,000 samples of the law the Fisher divergence is measured on: p, or for a
        noise-conditional model p perturbed to its `fisher_level` (fixed for the run)."""
        if self._eval_x is None:
            g = torch.Generator(device=self.device).manual_seed(int(self.preset.training["seed"]) + 1)
            x = self.density.sample(EVAL_SAMPLES, g)
            sigma, scale = level_noise(self.preset, self.fisher_level)
            if sigma > 0 or scale != 1.0:
                x = scale * x + sigma * torch.randn(x.shape, generator=g, device=x.device)
            self._eval_x = x
        return self._eval_x

    def evaluate(self, record: bool = True) -> dict:
        """Fisher and relative Fisher divergence of the current model on 10,000 samples:
        of p, or for NCSN and DDPM at their `fisher_level`, against the true score there."""
        level = self.fisher_level
        learned, true = self.learned_score(), self.true_score()   # once, not per chunk
        f, rel = metrics.fisher_divergence(lambda x: learned.at_level(x, level),
                                           lambda x: true.at_level(x, level),
                                           self.eval_samples(),
                                           chunk=min(4096, budget.rows_per_chunk(self.preset)))
        if record:
            self.fisher.append((self.step_count, f, rel))
        return {"step": self.step_count, "fisher_divergence": f, "relative_fisher_divergence": rel}

    @property
    def fisher_level(self):
        return fisher_level(self.preset)

    def ism_constant(self) -> float | None:
        """C = 1/2 E_p |grad log p|^2 where the objective's loss + C estimates the Fisher
        divergence (ISM, SSM, SSM-VR: `Objective.ism_constant`), else None."""
        if self._ism_constant is None:
            c = self.objective.ism_constant(self.density, self.eval_samples())
            self._ism_constant = (c,)
        return self._ism_constant[0]
