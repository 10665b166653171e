"""Where along the noise levels a noise-conditional model is wrong (issue 12).

For NCSN at each of its sigma levels, for DDPM at a ladder of steps t, for a score SDE or
flow matching at 12 times t of its path (noise std log-spaced down to 0.01), the Fisher divergence
of the learned score at that level against the exact score of the perturbed law there,
measured on samples of that law:

    F(level) = 1/2 E_{x ~ p_level} |s_theta(x, level) - grad log p_level(x)|^2,
    relative F = F / (1/2 E_{x ~ p_level} |grad log p_level(x)|^2),

p_level the law of scale * y + sigma * z, y ~ p, z ~ N(0, I) (scores.level_noise). The
samples of each level are fixed for a run (one generator from the training seed), so the
curve moves only because the model does.
"""

from __future__ import annotations

import numpy as np
import torch

from . import metrics
from ..objectives import CONTINUOUS, conditioning, objective_path
from ..scores import LearnedScore, Level, TrueScore, level_noise

DDPM_STEPS_SHOWN = 12     # steps t of DDPM's ladder measured (log-spaced from 0 to T - 1)
TIMES_SHOWN = 12          # times t of a continuous path measured (noise std log-spaced)
SMALLEST_STD = 0.01       # ... down to this std (below it a learned score says little)


def noise_levels(preset) -> list[Level]:
    """The levels measured, from the most noise to the least: NCSN's sigmas, DDPM's steps."""
    o = preset.objective
    cond = conditioning(preset)
    if cond == "sigma":
        from ..noise.schedules import ncsn_sigmas
        return [("sigma", float(s)) for s in ncsn_sigmas(o["sigma_max"], o["sigma_min"], o["levels"])]
    if cond == "time":
        T = int(o["timesteps"])
        ts = np.unique(np.round(np.geomspace(1, T, DDPM_STEPS_SHOWN)).astype(int) - 1)
        return [("step", int(t)) for t in ts[::-1]]
    if cond in CONTINUOUS:
        # noise std geometric from the noisy end's down to SMALLEST_STD (or the data end's)
        path = objective_path(preset)
        hi = path.kernel(path.t_noise)[0]
        lo = max(path.kernel(path.t_data)[0], SMALLEST_STD)
        stds = np.geomspace(hi, lo, TIMES_SHOWN)
        return [("t", float(path.t_at_std(float(s)))) for s in stds]
    return []


class NoiseError:
    """F and relative F at every level of a preset's ladder, on fixed samples per level."""

    def __init__(self, preset, density, samples: int = 2000, device="cpu"):
        self.preset = preset
        self.density = density
        self.levels = noise_levels(preset)
        g = torch.Generator(device=device).manual_seed(int(preset.training["seed"]) + 2)
        self.samples = []
        for level in self.levels:
            sigma, scale = level_noise(preset, level)
            y = density.sample(samples, g)
            self.samples.append(scale * y + sigma * torch.randn(y.shape, generator=g, device=y.device))

    def measure(self, model) -> list[list[float]]:
        """[[sigma or t, F, relative F], ...] from the most noise to the least."""
        learned, true = LearnedScore(model, self.preset), TrueScore(self.density, self.preset)
        out = []
        with torch.no_grad():
            for level, x in zip(self.levels, self.samples):
                f, rel = metrics.fisher_divergence(lambda b: learned.at_level(b, level),
                                                   lambda b: true.at_level(b, level), x)
                out.append([float(level[1]), float(f), float(rel)])
        return out
