"""What an edit invalidates, read off the presets before and after it.

Why a diff and not the keys the user typed: one edit moves others with it (a new density
kind derives a new noise range, a new objective a new sampler), and what must restart
depends on what actually changed, whoever made the edit.
"""

from __future__ import annotations

import enum

from ..presets.preset import Preset

# Keys of [training] that need fresh weights; the others are applied to the running loop.
RESTART_TRAINING_KEYS = ("batch_size", "seed", "device")


class Effect(enum.Enum):
    """What a window redraws and a session restarts after an edit, the largest first."""
    DIMENSION = "dimension"   # another dimension: every view is new
    DENSITY = "density"       # a new density: fresh weights, no particles
    TRAINING = "training"     # new model, objective or training setup: fresh weights
    LR = "lr"                 # the learning rate, applied to the running optimizer
    STEPS = "steps"           # the training budget
    SAMPLER = "sampler"       # the next sampling run differs: no particles
    VIEW = "view"             # same weights on a new grid
    NOTHING = "nothing"       # a name or a description


def edit_effect(old: Preset, new: Preset) -> Effect:
    if new.dim != old.dim:
        return Effect.DIMENSION
    if new.density != old.density or new.base_dir != old.base_dir:
        return Effect.DENSITY
    if new.model != old.model or new.objective != old.objective or any(
            new.training[k] != old.training[k] for k in RESTART_TRAINING_KEYS):
        return Effect.TRAINING
    if new.training["lr"] != old.training["lr"]:
        return Effect.LR
    if new.training != old.training:
        return Effect.STEPS
    if new.sampler != old.sampler:
        return Effect.SAMPLER
    if new.view != old.view:
        return Effect.VIEW
    return Effect.NOTHING
