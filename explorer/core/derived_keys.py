"""The keys a resolved preset fills from other keys, and how an edit gets them derived again.

Why: the window (and `api.edit`, compare's variants, the command line's overrides) edit a
*resolved* preset: every key is present, derived ones included. Parsed again as it is, a
derived value would pass for one the user chose and stay put when what it was derived from
moves: a drawing that changes the density's scale kept the old noise ladder's annealed step,
and the sampler blew up. `drop_derived` removes, before the edit is parsed, each derived key
the user did not set, so that `preset._derive` computes it afresh from the edited preset
(docs/defaults.md lists each rule).
"""

from __future__ import annotations

# "section.key": what it is derived from (preset._derive, core/step_rules.py)
DERIVED = {
    "objective.sigma_max": "the density's box (half its diagonal; VE SDE: five times it)",
    "objective.sigma_min": "sigma_max",
    "sampler.kind": "the objective (its own sampler)",
    "sampler.steps": "the sampler (and DDPM's timesteps)",
    "sampler.step_size": "the noise ladder (annealed Langevin, Song & Ermon 2020 technique 4) "
                         "or the density's smallest variance (Langevin)",
    "sampler.seed": "training.seed",
}


def drop_derived(data: dict, user_keys) -> dict:
    """`data` (a preset as a dict, changed in place and returned) without the derived keys
    that are not in `user_keys` ("section.key" the file or the user set)."""
    user = set(user_keys)
    for dotted in DERIVED:
        section, key = dotted.split(".", 1)
        table = data.get(section)
        if isinstance(table, dict) and dotted not in user:
            table.pop(key, None)
    return data


def user_set(preset) -> set[str]:
    """The keys of a resolved preset its author set (what its file or table held)."""
    return set(preset.given)


__all__ = ["DERIVED", "drop_derived", "user_set"]
