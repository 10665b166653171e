"""The density library: `build_density(spec, base_dir)` turns a [density] table into a Density.

Every kind of DESIGN section 4 is registered in BUILDERS. The spec is checked again here
(types, ranges, unknown keys, missing required keys, then the combinations each builder
checks), so a spec that did not come through the preset loader (the window's controls, a
test) still fails with a SpecError naming the key, never with a bare exception.
"""

from __future__ import annotations

import copy
from pathlib import Path

import numpy as np

from ..errors import SpecError
from ..schema import REQUIRED, show
from .base import Density, check_bounds, kernel_log_prob, kernel_score
from .datafile import build_image, build_points
from .gaussian import GaussianMixture, build_gaussian, build_mixture
from .kernel import KernelDensity
from .params import DENSITY_KINDS, DIM_OF_KIND, fields_for
from .shapes2d import (Banana, Checkerboard, Funnel, RadialShell, build_banana, build_checkerboard,
                       build_funnel, build_moons, build_pinwheel, build_ring, build_spirals,
                       build_swiss_roll)
from .shapes3d import Torus, build_helix, build_sphere_shell, build_torus

BUILDERS = {
    "gaussian": build_gaussian,
    "mixture": build_mixture,
    "ring": build_ring,
    "moons": build_moons,
    "swiss_roll": build_swiss_roll,
    "spirals": build_spirals,
    "checkerboard": build_checkerboard,
    "pinwheel": build_pinwheel,
    "banana": build_banana,
    "funnel": build_funnel,
    "image": build_image,
    "points": build_points,
    "torus": build_torus,
    "helix": build_helix,
    "sphere_shell": build_sphere_shell,
}

assert set(BUILDERS) == set(DENSITY_KINDS), "every kind in params.py needs a builder"


def _plain(v):
    return v.tolist() if isinstance(v, np.ndarray) else v


def resolve_spec(spec: dict) -> dict:
    """The spec with every key of its kind, types and ranges checked, defaults filled."""
    if not isinstance(spec, dict):
        raise SpecError("density", "expected a table [density]")
    kind = spec.get("kind", "mixture")
    if not isinstance(kind, str) or kind not in BUILDERS:
        raise SpecError("density.kind", f"unknown density kind {show(kind)} (known: {', '.join(BUILDERS)})")
    fields = fields_for(kind)
    unknown = sorted(map(str, set(spec) - set(fields)))
    if unknown:
        raise SpecError(f"density.{unknown[0]}", f"unknown key for kind {kind!r} "
                                                 f"(known keys: {', '.join(sorted(fields))})")
    out = {}
    for key, field in fields.items():
        v = _plain(spec.get(key))
        if v is None:
            if field.default is REQUIRED:
                raise SpecError(f"density.{key}", "is required")
            out[key] = copy.deepcopy(field.default)
        else:
            out[key] = field.convert(f"density.{key}", v)
    out["kind"] = kind
    return out


def build_density(spec: dict, base_dir: Path | str | None = None) -> Density:
    """Build the density a [density] table describes. Raises SpecError for any bad input.

    Paths (image, points) are relative to base_dir (the preset's folder; default: the
    current folder). `bounds` may be None: each kind then derives its own box.
    """
    s = resolve_spec(spec)
    kind = s["kind"]
    if kind in DIM_OF_KIND and s["bounds"] is not None:
        s["bounds"] = check_bounds(s["bounds"], DIM_OF_KIND[kind])
    base = Path(base_dir) if base_dir is not None else Path.cwd()
    try:
        # numpy's overflow and invalid-value warnings become errors here, reported below,
        # instead of printing before (or without) a message
        with np.errstate(over="raise", invalid="raise", divide="raise", under="ignore"):
            return BUILDERS[kind](s, base)
    except SpecError:
        raise
    except (ValueError, ArithmeticError, TypeError, IndexError, RecursionError,
            np.linalg.LinAlgError) as e:  # a numeric corner a builder did not foresee
        raise SpecError("density", f"cannot build a {kind} density from these values: {e}") from None


__all__ = [
    "BUILDERS", "Banana", "Checkerboard", "Density", "Funnel", "GaussianMixture", "KernelDensity",
    "RadialShell", "Torus", "build_density", "check_bounds", "kernel_log_prob", "kernel_score",
    "resolve_spec",
]
