"""The density library: `build_density(spec, base_dir)` turns a [density] table into a Density.

Every kind, the built-ins of docs/design.md §4 (kinds.py) and plugins', is found through the
registry (core/plugins/registry.py). The spec is checked again here (types, ranges, unknown keys,
missing required keys, then the combinations each builder checks), so a spec that did not come through the preset loader (the window's controls, a
test) still fails with a SpecError naming the key, never with a bare exception.
"""

from __future__ import annotations

import copy
from pathlib import Path

import numpy as np

from ..errors import SpecError
from ..presets.schema import REQUIRED, Field
from .base import Density, check_bounds, kernel_log_prob, kernel_score
from .gaussian import GaussianMixture
from .kernel import KernelDensity
from .params import COMMON
from .shapes2d import Banana, Checkerboard, Funnel, RadialShell
from .shapes3d import Torus


def density_kinds() -> dict:
    """name -> density kind (kinds.py says what one is): the built-ins, then plugins."""
    from ..plugins.registry import densities
    return densities()


def density_kind(kind):
    """The registered kind `kind` (SpecError on density.kind naming the known ones)."""
    from ..plugins.registry import unknown_kind_message
    known = density_kinds()
    if not isinstance(kind, str) or kind not in known:
        raise SpecError("density.kind", unknown_kind_message("density", kind, known))
    return known[kind]


def fields_for(kind: str) -> dict[str, Field]:
    """Every key of a [density] table of this kind: kind, bounds and the kind's own."""
    return {**COMMON, **density_kind(kind).fields}


def dim_of(kind: str) -> int | None:
    """The dimension a kind fixes (2 for ring, 3 for torus), None where the parameters say."""
    return getattr(density_kind(kind), "dim", None)


def _plain(v):
    return v.tolist() if isinstance(v, np.ndarray) else v


def resolve_spec(spec: dict) -> dict:
    """The spec with every key of its kind, types and ranges checked, defaults filled."""
    if not isinstance(spec, dict):
        raise SpecError("density", "expected a table [density]")
    kind = spec.get("kind", "mixture")
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
    dim = dim_of(kind)
    if dim is not None and s["bounds"] is not None:
        s["bounds"] = check_bounds(s["bounds"], dim)
    base = Path(base_dir) if base_dir is not None else Path.cwd()
    try:
        # numpy's overflow and invalid-value warnings become errors here, reported below,
        # instead of printing before (or without) a message
        with np.errstate(over="raise", invalid="raise", divide="raise", under="ignore"):
            density = density_kind(kind).build(s, base)
    except SpecError:
        raise
    except (ValueError, ArithmeticError, TypeError, IndexError, RecursionError,
            np.linalg.LinAlgError) as e:  # a numeric corner a builder did not foresee
        raise SpecError("density", f"cannot build a {kind} density from these values: {e}") from None
    from ..plugins.probe import probe_density
    probe_density(kind, density)   # a plugin's NaN is named now, not as numpy's error later
    return density


__all__ = [
    "density_kind", "density_kinds", "dim_of", "fields_for", "Banana", "Checkerboard", "Density", "Funnel", "GaussianMixture", "KernelDensity",
    "RadialShell", "Torus", "build_density", "check_bounds", "kernel_log_prob", "kernel_score",
    "resolve_spec",
]
