"""The oracle check: is a new objective (or density) right, judged against closed forms.

Users of the field's reference code report losses with a flipped sign or a missing factor
that a comparison with an exact score would have caught in seconds. `check_objective` trains
the objective on Gaussians and mixtures in 1, 2 and 3 dimensions, whose scores (and perturbed
scores) are known in closed form, and measures the relative Fisher divergence

    F_rel = E |s_theta - grad log p|^2 / E |grad log p|^2

on fresh samples; for a noise-conditional objective at every level of its ladder, against
the exact perturbed score there (noise_error.py), judged by the median level. When a case fails it names the likely
fault from the best scalar fit c = <s_theta, g> / <g, g> (g the true score, sums over the
samples): c clearly below 0 is a field pointing away from the modes (a sign error); a field that is
good once divided by c, with c far from 1, is a scale error; anything else did not learn.

`check_density` compares a density's score with autograd of its log-density, and the
histogram of its samples with its normalised density on a grid (against the noise floor of
as many exact draws from the grid's own probabilities).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import torch

from ..presets import preset as P
from ..measures.noise_error import NoiseError
from ..objectives import objective_class
from ..scores import DDPM_FISHER_NOISE, level_kind, level_noise

# Densities with exact scores; components wide enough that DSM's bias at its default sigma
# (0.1) is far below the pass threshold.
CASES = (
    ("Gaussian 1-D", {"kind": "gaussian", "mean": [0.5], "std": 0.8}),
    ("mixture 1-D", {"kind": "mixture", "weights": [0.3, 0.7], "means": [[-2.0], [2.0]], "stds": [0.7, 0.7]}),
    ("Gaussian 2-D", {"kind": "gaussian", "mean": [0.5, -0.5], "covariance": [[1.0, 0.5], [0.5, 1.0]]}),
    ("mixture 2-D", {"kind": "mixture", "weights": [0.4, 0.6], "means": [[-2.0, -1.0], [2.0, 1.0]],
                     "stds": [0.7, 0.7]}),
    ("Gaussian 3-D", {"kind": "gaussian", "mean": [0.0, 0.0, 0.0], "std": 1.0}),
    ("mixture 3-D", {"kind": "mixture", "weights": [0.5, 0.5], "means": [[-2.0, 0.0, 0.0], [2.0, 0.0, 0.0]],
                     "stds": [0.8, 0.8]}),
)
PASS = 0.1            # relative Fisher divergence a correct objective reaches in its steps
STEPS = 1000          # per dimension: DSM at sigma = 0.1 needs about 3,000 in 3-D
MAX_STEPS = 100_000   # per dimension: times 3 dimensions and 3 levels, under training.steps' limit
LADDER_STEPS = 3      # a noise-conditional objective shares its steps among its levels
SCALE_OFF = 0.25      # |c - 1| beyond this, with a good fit after dividing by c: a scale error


@dataclass
class CaseResult:
    case: str
    relative_fisher: float          # on p; for a ladder the median over its levels
    passed: bool
    scale: float                    # best scalar c with s_theta ~ c grad log p
    fault: str = ""
    by_level: list = field(default_factory=list)   # [[sigma or t, F, F_rel], ...] for a ladder

    def line(self) -> str:
        verdict = "pass" if self.passed else "FAIL"
        s = f"{verdict}  {self.case:<13} relative Fisher {self.relative_fisher:.3g}"
        # the scalar fit is a diagnosis: shown with the fault it names
        return s + (f"  (c = {self.scale:.3g})  {self.fault}" if self.fault else "")


def _preset(kind: str, density: dict, steps: int, seed: int) -> P.Preset:
    return P.parse({"name": f"check {kind}", "density": density,
                    "objective": {"kind": kind}, "model": {"hidden": [64, 64]},
                    "training": {"steps": steps, "batch_size": 512, "lr": 3e-3, "seed": seed,
                                 "device": "cpu"}})


def diagnose(learned: torch.Tensor, true: torch.Tensor) -> tuple[float, float, str]:
    """(F_rel, c, fault) of a learned field against the true one on the same points."""
    s, g = learned.double(), true.double()
    gg = float(g.pow(2).sum())
    rel = float((s - g).pow(2).sum()) / gg
    c = float((s * g).sum()) / gg
    if not math.isfinite(rel):
        return rel, c, "the learned field is not finite: the loss diverged"
    if rel < PASS:
        return rel, c, ""
    if c < -SCALE_OFF:   # clearly negative: c of a field unrelated to the score is near 0
        return rel, c, ("the learned field points away from the modes (c < 0): a sign error, "
                        "for instance a denoising target (x~ - x)/sigma^2 with the wrong sign")
    rescaled = float((s / c - g).pow(2).sum()) / gg if c > 0 else math.inf
    if rescaled < PASS and abs(c - 1) > SCALE_OFF:
        return rel, c, (f"the learned field is about {c:.2g} times the true score: a scale error "
                        f"(a missing or extra factor in the loss: 1/2, sigma^2, d)")
    return rel, c, "the learned field is not the score (nor a multiple of it); more steps may help"


def check_case(kind: str, case: str, density_spec: dict, steps: int, seed: int = 0) -> CaseResult:
    from ..training.trainer import Trainer
    p = _preset(kind, density_spec, steps, seed)
    trainer = Trainer(p, device=torch.device("cpu"))
    # the last 30% of the steps at a tenth of the learning rate: what is left is the model's
    # error, not the last steps' gradient noise (DSM's is large at small sigma)
    first = int(0.7 * steps)
    trainer.step(first)
    trainer.set_lr(p.training["lr"] / 10)
    trainer.step(steps - first)
    x = trainer.eval_samples()
    level = trainer.fisher_level
    with torch.no_grad():
        s = trainer.learned_score().at_level(x, level)
        g = trainer.true_score().at_level(x, level)
    rel, c, fault = diagnose(s, g)
    rows = []
    if objective_class(kind).conditioning is not None:
        # a ladder is judged by its median level: the finest levels carry the least loss
        # weight (sigma^2) and are the last to be learned (NCSN on a 1-D mixture after 3,000
        # steps: 0.34 at sigma = 0.1, 0.03 at the median level)
        rows = NoiseError(p, trainer.density).measure(trainer.model)
        judged = rows
        lk = level_kind(p)
        if lk != "sigma":
            # DDPM's first steps (a score SDE's or a flow's last times) perturb by less than
            # DDPM_FISHER_NOISE, where the true score is the data's own and the learned one
            # divides by 0.01: judged from the level the trainer measures its Fisher
            # divergence at (scores.py)
            judged = [r for r in rows if level_noise(p, (lk, r[0]))[0] >= DDPM_FISHER_NOISE]
        rel = float(np.median([r[2] for r in judged or rows]))
        if rel < PASS:
            fault = ""
        elif not fault:
            fault = "the median noise level is not learned: see the levels below"
    return CaseResult(case, rel, rel < PASS and not fault, c, fault, rows)


def check_objective(kind: str, steps: int = STEPS, seed: int = 0, progress=None,
                    keep_going: bool = False) -> list[CaseResult]:
    """Every case in order (`steps` training steps per dimension), stopping at the first that
    fails unless `keep_going`: one diagnosis is what a user needs to fix a loss."""
    objective_class(kind)   # ValueError naming the known kinds (or the failed plugin)
    out = []
    for case, spec in CASES:
        dim = len(spec.get("mean") or spec["means"][0])
        ladder = LADDER_STEPS if objective_class(kind).conditioning is not None else 1
        out.append(check_case(kind, case, spec, steps * dim * ladder, seed))
        if progress is not None:
            progress(out[-1])
        if not out[-1].passed and not keep_going:
            break
    return out


# ---------------------------------------------------------------------------------- densities
@dataclass
class DensityCheck:
    name: str
    passed: bool
    detail: str

    def line(self) -> str:
        return f"{'pass' if self.passed else 'FAIL'}  {self.name:<22} {self.detail}"


GRID_CELLS = {1: 200, 2: 60, 3: 16}
DENSITY_SAMPLES = 200_000


def check_density(kind: str, spec: dict | None = None) -> list[DensityCheck]:
    """Score against autograd of log p; samples against the normalised density on a grid."""
    density = P.parse({"density": {"kind": kind, **(spec or {})}}).build_density()
    g = torch.Generator().manual_seed(0)
    x = density.sample(4000, g)
    lo = torch.tensor(density.bounds[:, 0], dtype=torch.float32)
    hi = torch.tensor(density.bounds[:, 1], dtype=torch.float32)
    x = torch.cat([x, lo + (hi - lo) * torch.rand(x.shape, generator=g)])
    xg = x.clone().requires_grad_(True)
    auto = torch.autograd.grad(density.log_prob(xg).sum(), xg)[0].double()
    score = density.score(x).double()
    err = float((score - auto).norm() / auto.norm().clamp_min(1e-30))
    out = [DensityCheck("score = grad log p", err < 1e-3,
                        f"relative difference from autograd of log_prob {err:.2g} (needs < 1e-3)")]

    d = density.dim
    cells = GRID_CELLS[d]
    b = density.bounds
    edges = [np.linspace(lo_, hi_, cells + 1) for lo_, hi_ in b]
    centres = np.stack(np.meshgrid(*[(e[1:] + e[:-1]) / 2 for e in edges], indexing="ij"), -1).reshape(-1, d)
    with torch.no_grad():
        logp = density.log_prob(torch.tensor(centres, dtype=torch.float32)).double().numpy()
    bad = ~np.isfinite(logp) & ~(logp == -np.inf)
    if bad.any() or not np.isfinite(logp).any():
        out.append(DensityCheck("samples ~ p", False, f"log_prob is NaN or +inf at {int(bad.sum())} of "
                                f"{len(logp)} grid points (or -inf at all): not a density"))
        return out
    p = np.exp(logp - logp.max())
    p /= p.sum()
    y = density.sample(DENSITY_SAMPLES, torch.Generator().manual_seed(1)).double().numpy()
    inside = np.all((y >= b[:, 0]) & (y <= b[:, 1]), axis=1)
    h = np.histogramdd(y[inside], bins=edges)[0].reshape(-1) / len(y)
    tv = 0.5 * float(np.abs(h - p).sum() + (1 - inside.mean()))
    rng = np.random.default_rng(2)
    floor = 0.5 * float(np.abs(rng.multinomial(len(y), p) / len(y) - p).sum())
    # cell-centre values stand for cell averages: a smooth density's error of order h^2
    ok = tv < 3 * floor + 0.03
    out.append(DensityCheck("samples ~ p", ok,
                            f"total variation between the samples' histogram and p on a {cells}^{d} grid "
                            f"{tv:.3g} (noise floor {floor:.3g}; needs < 3 x floor + 0.03); "
                            f"{100 * (1 - inside.mean()):.2g}% of samples outside the box"))
    return out
