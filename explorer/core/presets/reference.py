"""The preset format's reference, written from the field tables the loader checks against.

A hand-written list of keys drifts from the code; this one cannot: docs/presets.md is this
module's output, and a test fails when the two differ. Regenerate with

    python -m explorer.core.presets.reference > docs/presets.md
"""

from __future__ import annotations

from dataclasses import replace

from ..densities.params import COMMON, DENSITY_FIELDS, DIM_OF_KIND
from .preset import FIXED_SECTIONS, FORMAT, KINDED
from ..plugins.registry import REGISTRY
from .schema import REQUIRED, Field

INTRO = f"""# Preset files

A preset is a TOML file: data, never code. Every key but the density's own has a default;
an unknown key, a wrong type or an impossible value is an error that names the file and the
key (`error: preset.toml: density.stds[1]: must be > 0, got -1`). `score-explorer run`
writes the fully resolved preset beside its results, every default filled in: the quickest
way to see every key of a preset is to run it with `--steps 0`. The presets that come with
the program (`explorer/presets/`) are worked examples, each describing what to look at.

Top level: `format = {FORMAT}`, `name` (shown in the title and the gallery), `description` (the
lesson: shown above the plots and in the gallery), and the sections below. Paths (image,
points) are relative to the preset file.

This reference is generated from the loader's own field tables
(`python -m explorer.core.presets.reference`); the math behind each objective and sampler
is in the docstrings of `explorer/core/objectives/` and `explorer/core/samplers/`. Keys of
plugins (docs/plugins.md) are not listed: each plugin documents its own.
"""


# What each key means, where its field carries no help text of its own.
MEANING = {
    "kind": "which family (the headings below)",
    "mean": "the mean (its length sets the dimension)",
    "std": "isotropic standard deviation",
    "covariance": "full covariance matrix (positive definite), instead of std",
    "weights": "mixture weights, normalised to sum 1",
    "means": "one mean per component (their length sets the dimension)",
    "stds": "isotropic standard deviation per component",
    "covariances": "one covariance matrix per component, instead of stds",
    "path": "file, relative to the preset",
    "blur": "std of the Gaussian blur in data units: the true score is the blurred image's",
    "invert": "dark pixels carry the mass instead of bright ones",
    "bandwidth": "kernel bandwidth: the true score is the kernel density's",
    "noise": "std of the Gaussian noise around the shape (its kernel bandwidth)",
    "radius": "radius of the shape", "width": "width of the shape",
    "scale": "overall size", "size": "overall size", "arms": "number of arms",
    "cells": "cells per side", "turns": "number of turns", "pitch": "rise per turn",
    "curvature": "how strongly the banana bends", "rate": "radial growth per turn",
    "major_radius": "distance from the centre of the tube to the axis",
    "minor_radius": "radius of the tube", "radial_std": "spread across the arm",
    "tangential_std": "spread along the arm", "std_x": "spread along x1",
    "std_y": "spread along x2",
    "model.kind": "score: the network outputs s; energy: it outputs E and s = -grad E",
    "model.hidden": "widths of the hidden layers",
    "model.activation": "nonlinearity between layers",
    "objective.kind": "the loss (the headings below; docs/design.md §3)",
    "training.steps": "optimisation steps (0: train nothing)",
    "training.batch_size": "samples of p per step",
    "training.lr": "Adam's learning rate",
    "training.seed": "seed of the weights and the data stream",
    "training.device": "auto, cpu, cuda, cuda:N or mps (auto: a GPU if there is one)",
    "sampler.kind": "the sampler (the headings below); derived: the objective's own",
    "sampler.score": "learned: the network's; true: the density's exact score",
    "sampler.particles": "number of particles",
    "sampler.step_size": "Langevin eps: x <- x + eps/2 s(x) + sqrt(eps) z; derived: annealed "
                         "Langevin's from the noise ladder (Song & Ermon 2020, technique 4), "
                         "Langevin's the density's smallest variance; a value certain to "
                         "diverge is refused (docs/defaults.md)",
    "sampler.steps": "langevin: total steps; annealed_langevin: steps per level",
    "sampler.init": "start uniform over bounds or from N(0, I)",
    "sampler.seed": "seed of the initial particles and the noise",
    "view.grid": "arrows per axis (also the grid of field.npz)",
}


def _meaning(section: str, key: str, f: Field) -> str:
    return f.help or MEANING.get(f"{section}.{key}", MEANING.get(key, ""))


def _range(f: Field) -> str:
    parts = []
    if f.choices:
        parts.append(" | ".join(f"`{c}`" for c in f.choices))
    if f.min is not None:
        parts.append(f"{'>' if f.exclusive_min else '>='} {f.min:g}")
    if f.max is not None:
        parts.append(f"<= {f.max:g}")
    return ", ".join(parts)


def _default(f: Field) -> str:
    if f.default is REQUIRED:
        return "required"
    if f.default is None:
        return "derived"
    return f"`{f.default!r}`".replace("'", '"')


def _table(fields: dict[str, Field], section: str = "density") -> list[str]:
    rows = ["| key | type | default | allowed | meaning |", "|---|---|---|---|---|"]
    for key, f in fields.items():
        rows.append(f"| `{key}` | {f.type} | {_default(f)} | {_range(f)} | "
                    f"{_meaning(section, key, f)} |")
    return rows


def reference() -> str:
    out = [INTRO, "## [density]", "",
           "Keys every density has:", "", *_table(COMMON), ""]
    for kind, fields in DENSITY_FIELDS.items():
        dim = DIM_OF_KIND.get(kind)
        out += [f"### kind = \"{kind}\"" + (f" ({dim}-D)" if dim else " (1-, 2- or 3-D)"), ""]
        out += (_table(fields) if fields else ["No keys of its own."]) + [""]
    for name, fields in FIXED_SECTIONS.items():
        if name not in KINDED:
            out += [f"## [{name}]", "", *_table(fields, name), ""]
            continue
        builtins = [e for e in REGISTRY.entries(KINDED[name]).values() if e.builtin]
        fields = {**fields, "kind": replace(fields["kind"], choices=tuple(e.name for e in builtins))}
        out += [f"## [{name}]", "", f"Keys of every {name}:", "", *_table(fields, name), ""]
        for entry in builtins:
            own = entry.value.fields
            out += [f"### kind = \"{entry.name}\"", ""]
            out += (_table(own, name) if own else ["No keys of its own."]) + [""]
    out += ["\"derived\" defaults depend on other keys (the sampler's kind and step size on the",
            "objective, the noise ladder and the density's scale, NCSN's sigma_max on the box, the",
            "bounds on the density); the resolved preset written by `score-explorer run` shows",
            "the values chosen, and docs/defaults.md gives each rule.", ""]
    return "\n".join(out)


if __name__ == "__main__":
    print(reference(), end="")
