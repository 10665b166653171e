"""The built-in density kinds, registered as entry points exactly as a plugin's are.

A density kind is what the registry holds for `[density] kind = NAME`: its `name`, its
preset keys besides kind and bounds (`fields`), its dimension (`dim`: 1, 2 or 3, or None
for a kind that takes the dimension from its parameters), and `build(spec, base_dir)`,
which returns the Density for a checked spec (every key present, bounds None or an (d, 2)
array). A plugin density is usually a Density subclass with the same attributes; the
Density base class gives it `build` (docs/plugins.md).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from ..presets.schema import Field
from .datafile import build_image, build_points
from .gaussian import build_gaussian, build_mixture
from .params import DENSITY_FIELDS, DIM_OF_KIND
from .shapes2d import (build_banana, build_checkerboard, build_funnel, build_moons, build_pinwheel, build_ring, build_spirals, build_swiss_roll)
from .shapes3d import build_helix, build_sphere_shell, build_torus
from .toys import (build_circles, build_cos, build_eight_gaussians, build_line, build_rings, build_two_spirals)


@dataclass(frozen=True)
class DensityKind:
    name: str
    builder: Callable[[dict, Path], object]
    order: int

    @property
    def fields(self) -> dict[str, Field]:
        return DENSITY_FIELDS[self.name]

    @property
    def dim(self) -> int | None:
        return DIM_OF_KIND.get(self.name)

    def build(self, spec: dict, base_dir: Path):
        return self.builder(spec, base_dir)


GAUSSIAN = DensityKind("gaussian", build_gaussian, 1)
MIXTURE = DensityKind("mixture", build_mixture, 2)
RING = DensityKind("ring", build_ring, 3)
MOONS = DensityKind("moons", build_moons, 4)
SWISS_ROLL = DensityKind("swiss_roll", build_swiss_roll, 5)
SPIRALS = DensityKind("spirals", build_spirals, 6)
CHECKERBOARD = DensityKind("checkerboard", build_checkerboard, 7)
PINWHEEL = DensityKind("pinwheel", build_pinwheel, 8)
BANANA = DensityKind("banana", build_banana, 9)
FUNNEL = DensityKind("funnel", build_funnel, 10)
IMAGE = DensityKind("image", build_image, 11)
POINTS = DensityKind("points", build_points, 12)
TORUS = DensityKind("torus", build_torus, 13)
HELIX = DensityKind("helix", build_helix, 14)
SPHERE_SHELL = DensityKind("sphere_shell", build_sphere_shell, 15)
# the standard toy densities (FFJORD, torchcfm): densities/toys.py
EIGHT_GAUSSIANS = DensityKind("eight_gaussians", build_eight_gaussians, 16)
CIRCLES = DensityKind("circles", build_circles, 17)
RINGS = DensityKind("rings", build_rings, 18)
TWO_SPIRALS = DensityKind("two_spirals", build_two_spirals, 19)
COS = DensityKind("cos", build_cos, 20)
LINE = DensityKind("line", build_line, 21)
