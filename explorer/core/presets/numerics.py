"""Values a preset may hold that float32 cannot compute with: said before the run, not after.

The model, the data and the particles are float32 (24 significant bits, largest value
3.4e38). A valid preset can still ask for a computation that is meaningless there:

- a noise level below the resolution of the data: x + sigma z rounds back to x when
  sigma |z| < 2^-24 |x|, so DSM sees no noise and its target -(x~ - x)/sigma^2 is zero or
  garbage;
- a density narrower than float32 can place points at its location (the same rounding),
  or so narrow that its score, of order 1/width, overflows when squared in the losses and
  the Fisher divergence.

`preset_warnings` returns one sentence per such value, naming the key, for the CLI to
print as `warning:` lines and the window to show.
"""

from __future__ import annotations

import numpy as np

from .preset import Preset

EPS32 = 2.0 ** -23
# A noise level or width below this many float32 spacings of the data's magnitude keeps
# fewer than ~4 significant bits of itself once added to a coordinate.
RESOLUTION = 16 * EPS32
SQUARE_OVERFLOW = 1e-15  # width below which (1/width)^2 summed over a batch nears 3.4e38

# The smallest length of each kind of density, and the key it comes from.
_WIDTH_KEY = {"ring": "width", "sphere_shell": "width", "torus": "width", "moons": "noise",
              "swiss_roll": "noise", "spirals": "noise", "helix": "noise",
              "checkerboard": "blur", "image": "blur", "points": "bandwidth",
              "pinwheel": "tangential_std", "banana": "std_y", "eight_gaussians": "std",
              "circles": "noise", "rings": "noise", "two_spirals": "noise", "cos": "blur", "line": "blur"}


def _smallest_width(d: dict) -> tuple[str, float] | None:
    kind = d["kind"]
    if kind == "gaussian":
        if d.get("covariance") is not None:
            return "density.covariance", float(np.sqrt(max(np.linalg.eigvalsh(d["covariance"]).min(), 0)))
        return "density.std", float(d["std"])
    if kind == "mixture":
        if d.get("covariances") is not None:
            lam = min(float(np.linalg.eigvalsh(c).min()) for c in d["covariances"])
            return "density.covariances", float(np.sqrt(max(lam, 0)))
        if d.get("stds") is not None:
            return "density.stds", float(min(d["stds"]))
        return None
    key = _WIDTH_KEY.get(kind)
    return (f"density.{key}", float(d[key])) if key else None


def preset_warnings(p: Preset) -> list[str]:
    out = []
    b = np.asarray(p.density["bounds"], dtype=np.float64)
    scale = float(np.abs(b).max())  # the largest coordinate magnitude the run works at
    spacing = scale * EPS32
    w = _smallest_width(p.density)
    if w is not None:
        key, width = w
        if width < SQUARE_OVERFLOW:
            out.append(f"{key}: a width of {width:g} is meaningless in float32: the score, of order "
                       f"1/{width:g}, overflows float32 when squared in the losses and metrics")
        elif width < RESOLUTION * scale:
            out.append(f"{key}: a width of {width:g} is below float32's resolution at this location "
                       f"(coordinates up to {scale:g}, spacing {spacing:.2g}): the density cannot "
                       f"be represented in float32")
    o = p.objective
    noise = []
    from ..objectives import objective_class
    own = objective_class(o["kind"])
    if "sigma" in own.fields:              # a single noise level (DSM)
        noise.append(("objective.sigma", float(o["sigma"])))
    if own.conditioning == "sigma":        # a ladder's finest level (NCSN)
        noise.append(("objective.sigma_min", float(o["sigma_min"])))
    for key, sigma in noise:
        if sigma < RESOLUTION * scale:
            out.append(f"{key} = {sigma:g} is below float32's resolution for this data (coordinates "
                       f"up to {scale:g}, spacing {spacing:.2g}): x + sigma z rounds to x, so the "
                       f"model learns nothing; use sigma of at least {RESOLUTION * scale * 10:.2g}")
    return out
