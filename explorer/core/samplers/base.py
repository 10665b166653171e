"""Turning a score into samples, one step at a time so that the window can animate it.

A sampler owns its particles and its own random generator (seeded from the preset), so
that a run is reproducible and the animation does not disturb training's randomness.
Every sampler, built-in or plugin, is a subclass of `Sampler` registered under the entry-
point group `score_explorer.samplers` (core/plugins/registry.py; docs/plugins.md): it implements
`step(x)` (one step of its update rule, docs/design.md §3) and, if its schedule is not
`sampler.steps` steps long, `total_steps()`. Its class attributes say what the rest of the
program needs: its extra preset keys (`fields`, in [sampler]), the model a learned score
must come from (`needs_conditioning`), its default step size and step count.

A step size too large for the density (or a learned score that is wrong far from the
data) sends particles to infinity within a few steps. The sampler notes the first step
after which a particle is not finite (without a host sync per step: the check is kept on
the device and read once per `advance`), stops there, and `blowup_message` says what to
change. Scores are evaluated `budget.rows_per_chunk` particles at a time, so a wide
network on two million particles stays within memory.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import torch

from ..presets import budget
from ..presets.schema import Field

if TYPE_CHECKING:   # for annotations only: the preset module imports the registry of samplers
    from ..presets.preset import Preset


class Sampler:
    """Advance with `advance(n)`; `x` holds the particles, `done` says the schedule ended."""

    name: str = ""                           # the preset's sampler.kind
    label: str = ""                          # as written in prose: "annealed Langevin"
    fields: dict[str, Field] = {}            # its own keys in the preset's [sampler] table
    needs_conditioning: str | tuple | None = None  # a learned score must come from such a model
    needs_path: bool = False                 # the exact score too: the schedule is the objective's
                                             # continuous path (an sde or flow_matching objective)
    starts_from_noise: bool = False          # particles start from N(0, I) whatever sampler.init
    default_step_size: float = 0.01
    uses_step_size: bool = True              # sampler.step_size means something to it
    order: int = 100                         # place in the window's list

    @classmethod
    def default_steps(cls, preset: Preset) -> int:
        """sampler.steps when the preset does not give it."""
        return 1000

    def __init__(self, preset: Preset, score, device, bounds: np.ndarray | None = None,
                 particles: int | None = None):
        s = preset.sampler
        self.preset = preset
        self.kind = s["kind"]
        self.score = score
        self.score_kind = s["score"]
        self.params = {k: s.get(k, f.default) for k, f in self.fields.items()}
        self.rows = budget.rows_per_chunk(preset)
        self.blown_up_at: int | None = None  # first step after which a particle was not finite
        self.device = torch.device(device)
        self.eps = float(s["step_size"])
        self.steps = int(s["steps"])
        self.n = int(particles if particles is not None else s["particles"])
        self.gen = torch.Generator(device=self.device).manual_seed(int(s["seed"]))
        self.dim = preset.dim
        b = np.asarray(bounds if bounds is not None else preset.density["bounds"], dtype=np.float64)
        self.total = self.total_steps(preset)
        self.done_steps = 0
        self.nfe = 0       # score (or velocity) evaluations so far, counted by score_of
        self.x = self._init(s["init"], b)

    # --- what a sampler defines -----------------------------------------------------------
    @classmethod
    def check(cls, preset: Preset) -> None:
        """Raise SpecError where the preset's keys cannot work together for this sampler
        (called when a preset is parsed, after the defaults are derived)."""

    @classmethod
    def total_steps(cls, preset: Preset) -> int:
        """Steps of the whole schedule (known before any particle exists: export counts frames)."""
        return int(preset.sampler["steps"])

    def step(self, x: torch.Tensor) -> torch.Tensor:
        """x after one more step (`self.done_steps` steps are done before this one)."""
        raise NotImplementedError

    @property
    def level(self) -> int | None:
        """Index of the current noise level (annealed) or DDPM step t; None for Langevin."""
        return None

    @property
    def sigma(self) -> float | None:
        """The noise level the particles are at now, for the readout while annealing."""
        return None

    @property
    def t(self) -> float | None:
        """The continuous time the particles are at now (SDE and flow samplers), else None."""
        return None

    def paths_so_far(self) -> np.ndarray | None:
        """Particles' paths to draw (ODE samplers with paths = true), else None."""
        return None

    def blowup_hint(self) -> str:
        """What to change when the particles blew up."""
        more = (" (or train longer: a learned score can be far off away from the data)"
                if self.score_kind == "learned" else "")
        # x <- x + (eps/2) s + sqrt(eps) z contracts a Gaussian direction of variance V only
        # while eps < 4 V (core/presets/step_rules.py): V is the smallest variance of the score followed
        return (f"lower sampler.step_size (now {self.eps:g}); Langevin is stable only while the "
                f"step size is below 4 x the smallest variance of the density it follows (the "
                f"narrowest component or kernel bandwidth^2); leave sampler.step_size out to "
                f"get that variance as the step{more}")

    # --- machinery --------------------------------------------------------------------------
    def _init(self, how: str, bounds: np.ndarray) -> torch.Tensor:
        shape = (self.n, self.dim)
        if self.starts_from_noise or how == "gaussian":
            return torch.randn(shape, generator=self.gen, device=self.device)
        lo = torch.tensor(bounds[:, 0], dtype=torch.float32, device=self.device)
        hi = torch.tensor(bounds[:, 1], dtype=torch.float32, device=self.device)
        return lo + (hi - lo) * torch.rand(shape, generator=self.gen, device=self.device)

    @property
    def done(self) -> bool:
        """The schedule ended, or the particles blew up (then `blown_up_at` says when)."""
        return self.done_steps >= self.total or self.blown_up_at is not None

    def advance(self, n: int = 1) -> None:
        first_bad = None  # on the device: the first step of this call with a non-finite particle
        for _ in range(n):
            if self.done:
                break
            self.x = self.step(self.x)
            self.done_steps += 1
            if first_bad is None:
                first_bad = torch.zeros((), dtype=torch.long, device=self.device)
            bad = ~torch.isfinite(self.x.sum())  # NaN and inf propagate through the sum
            first_bad = torch.where((first_bad == 0) & bad, self.done_steps, first_bad)
        if first_bad is not None:
            k = int(first_bad)  # one host sync per call
            if k > 0:
                self.blown_up_at = k
                self.done_steps = k  # steps after the blow-up computed nothing meaningful

    def blowup_message(self) -> str | None:
        """What happened and what to change, or None while the particles are finite."""
        k = self.blown_up_at
        if k is None:
            return None
        return (f"the particles became infinite or NaN at sampler step {k} of {self.total}: "
                f"{self.blowup_hint()}")

    def score_of(self, fn, x: torch.Tensor, *args) -> torch.Tensor:
        """fn(x, *args) evaluated `self.rows` particles at a time: one evaluation of the score
        (`nfe`), however many chunks it takes."""
        self.nfe += 1
        if x.shape[0] <= self.rows:
            return fn(x, *args)
        return torch.cat([fn(xb, *args) for xb in torch.split(x, self.rows)])

    def noise(self) -> torch.Tensor:
        """z ~ N(0, I) shaped like the particles, from the sampler's own generator."""
        return torch.randn(self.x.shape, generator=self.gen, device=self.device)

    def run(self) -> torch.Tensor:
        self.advance(self.total - self.done_steps)
        return self.x

    def numpy(self) -> np.ndarray:
        return self.x.detach().to("cpu", torch.float32).numpy()
