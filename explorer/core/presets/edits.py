"""What an edit of a preset means: the one rule book every editor uses.

The window's settings and drawings, the API's `se.edit`, `compare --vary`, the compare
lab's variants, lessons' overrides, the DSM trade-off and the command line's flags all
change a preset through `with_changes`, so that an edit means the same thing wherever it
is made (they once had five copies of these rules, and the copies disagreed).

Why it starts from what the author set (`Preset.given`) and not from the resolved preset:
a resolved preset holds every derived value (sigma_max from the box, the sampler and its
step from the objective), and an edit must derive them again, not carry the old ones over.
The rules, on top of that:

- a new density kind starts its table afresh (the old kind's keys mean nothing to it), and
  a new density kind or box forgets the noise range (it was in the old density's scale);
  any density edit forgets the sampler's step size, which is in the density's scale;
- a new objective keeps only the keys the user set that it declares the same way
  (`objective_switch`), with what the user had set under it before (`remembered`); keys it
  refuses are dropped, and the sampler's kind, steps and step size follow it;
- a new sampler kind brings its own steps and step size;
- a value of None returns a key to its default (or derived) value.
"""

from __future__ import annotations

import copy
from typing import Any, Mapping

from . import preset as P
from ..errors import SpecError
from .objective_switch import switched_objective, user_values

# Keys whose meaning belongs to the density's scale or to the objective or sampler kind.
NOISE_RANGE = ("sigma_max", "sigma_min")
FOLLOWS_OBJECTIVE = ("kind", "steps", "step_size")
FOLLOWS_SAMPLER = ("steps", "step_size")
TOP_KEYS = ("name", "description")


def given_table(preset: P.Preset) -> dict[str, Any]:
    """The preset as its author set it: the keys of `preset.given` with their values (the
    density's kind always), so that everything else is derived again when it is parsed."""
    out: dict[str, Any] = {"name": preset.name, "description": preset.description}
    for section in ("density", *P.SECTION_NAMES):
        table = getattr(preset, section)
        kept = {k: copy.deepcopy(v) for k, v in table.items()
                if f"{section}.{k}" in preset.given and v is not None}
        if section == "density":
            kept["kind"] = table["kind"]
        out[section] = kept
    return out


def split_key(dotted: str) -> tuple[str, str]:
    """("objective", "sigma") from "objective.sigma"; ("name", "") for a top-level key and
    ("density", "") for a whole table."""
    if dotted in TOP_KEYS or dotted in ("density", *P.SECTION_NAMES):
        return dotted, ""
    section, dot, key = dotted.partition(".")
    if not dot or not key or "." in key or section not in ("density", *P.SECTION_NAMES):
        raise SpecError(dotted, "expected section.key (density, model, objective, training, "
                                "sampler or view), or name or description")
    return section, key


def with_changes(preset: P.Preset, changes: Mapping[str, Any],
                 remembered: Mapping[str, dict] | None = None) -> P.Preset:
    """`preset` with `changes` ({"objective.kind": "dsm", "objective.sigma": 0.3}; None
    unsets a key; a section's name with a table replaces that table whole, as a drawing
    replaces [density]) applied by the rules above, validated as a file is: a SpecError names the
    key, and `preset` itself never changes. `remembered`: objective kind -> the values the
    user set under it before (the window's memory across objective switches)."""
    parts = {dotted: split_key(dotted) for dotted in changes}
    for dotted, (section, key) in parts.items():
        if not key and section not in TOP_KEYS and not isinstance(changes[dotted], dict):
            raise SpecError(section, f"expected a table [{section}]")
    changes = {**{f"density.{k}": v for k, v in changes.get("density", {}).items()},
               **{k: v for k, v in changes.items() if k != "density"}}
    whole_density = "density" in parts
    parts = {dotted: split_key(dotted) for dotted in changes}
    data = given_table(preset)
    old = preset

    kind = changes.get("density.kind")
    new_kind = kind is not None and kind != old.density["kind"]
    if new_kind or whole_density:
        data["density"] = {"kind": kind or old.density["kind"]}
    new_box = ("density.bounds" in changes or whole_density) \
        and changes.get("density.bounds") != old.density["bounds"]
    if new_kind or new_box:
        for key in NOISE_RANGE:
            data["objective"].pop(key, None)
    if any(section == "density" for section, _ in parts.values()):
        # the sampler's step is in the density's scale (its smallest variance, the ladder
        # derived from its box: core/presets/step_rules.py); one set for the old density is forgotten
        data["sampler"].pop("step_size", None)

    objective = changes.get("objective.kind")
    switched = objective is not None and objective != old.objective["kind"]
    if switched:
        user = {k for k in data["objective"] if k != "kind"}
        data["objective"] = switched_objective(
            data["objective"] | {"kind": old.objective["kind"]}, objective, user,
            (remembered or {}).get(objective))
        for key in FOLLOWS_OBJECTIVE:
            data["sampler"].pop(key, None)
    sampler = changes.get("sampler.kind")
    if sampler is not None and sampler != old.sampler["kind"]:
        for key in FOLLOWS_SAMPLER:
            data["sampler"].pop(key, None)

    for dotted, value in changes.items():
        section, key = parts[dotted]
        if not key:
            data[section] = copy.deepcopy(value)
        elif value is None:
            data[section].pop(key, None)
        else:
            data[section][key] = copy.deepcopy(value)
    if switched:
        _drop_refused(data, preset, set(changes))
    return P.parse(data, preset.base_dir, preset.source)


def remember_objective(preset: P.Preset, memory: dict[str, dict]) -> None:
    """Keep what the user set under the preset's objective, for when it comes back."""
    user = {k.split(".", 1)[1] for k in preset.given if k.startswith("objective.")}
    memory[preset.objective["kind"]] = user_values(preset.objective, user)


def _drop_refused(data: dict, preset: P.Preset, changed: set[str]) -> None:
    """Drop the objective keys the user set earlier that the new objective refuses (they were
    valid for the old one), so that a switch never fails on them; a value the edit itself
    names is never dropped: its error is the user's to see."""
    for _ in range(len(data["objective"])):
        try:
            P.parse(data, preset.base_dir, None)
            return
        except SpecError as e:
            section, _, key = e.key.partition(".")
            if section != "objective" or key == "kind" or key not in data["objective"] \
                    or e.key in changed:
                return
            data["objective"].pop(key)
