"""The keys each built-in density kind accepts in a preset's [density] table.

One table per kind, so the preset loader, the window's parameter controls and the
builders all agree on names, defaults and ranges. `None` defaults are derived by the
builder (for example `bounds` from the shape's extent).
"""

from __future__ import annotations

from ..presets.schema import REQUIRED, Field

POS = dict(min=0.0, exclusive_min=True)

COMMON = {
    "kind": Field("str", REQUIRED),
    "bounds": Field("matrix", None, help="[[lo, hi], ...] per axis: the view box and uniform-init box"),
}

DENSITY_FIELDS: dict[str, dict[str, Field]] = {
    # --- any dimension (1, 2 or 3) ---
    "gaussian": {
        "mean": Field("vector", [0.0, 0.0]),
        "std": Field("float", 1.0, **POS),
        "covariance": Field("matrix", None),
    },
    "mixture": {
        "weights": Field("vector", [0.2, 0.8], **POS),
        "means": Field("matrix", [[-5.0, -5.0], [5.0, 5.0]]),
        "stds": Field("vector", None, **POS),
        "covariances": Field("matrices", None),
    },
    # --- 2-D shapes ---
    "ring": {
        "radius": Field("float", 3.0, **POS),
        "width": Field("float", 0.3, **POS),
    },
    "moons": {
        "scale": Field("float", 2.0, **POS, help="radius of each moon"),
        "noise": Field("float", 0.15, **POS, help="std of the Gaussian around the curve"),
    },
    "swiss_roll": {
        "scale": Field("float", 0.4, **POS),
        "turns": Field("float", 1.5, **POS),
        "noise": Field("float", 0.2, **POS),
    },
    "spirals": {
        "arms": Field("int", 2, min=1, max=12),
        "scale": Field("float", 3.0, **POS),
        "turns": Field("float", 1.0, **POS),
        "noise": Field("float", 0.15, **POS),
    },
    "checkerboard": {
        "cells": Field("int", 4, min=2, max=32, help="squares per side"),
        "size": Field("float", 4.0, **POS, help="half-width of the board"),
        "blur": Field("float", 0.05, **POS, help="std of the smoothing that gives an exact score"),
    },
    "pinwheel": {
        "arms": Field("int", 5, min=1, max=16),
        "radial_std": Field("float", 0.3, **POS),
        "tangential_std": Field("float", 0.1, **POS),
        "rate": Field("float", 0.25),
        "radius": Field("float", 2.0, **POS),
    },
    "banana": {
        "std_x": Field("float", 2.0, **POS),
        "std_y": Field("float", 0.5, **POS),
        "curvature": Field("float", 0.3),
    },
    "funnel": {
        "scale": Field("float", 1.5, **POS, help="std of the log-scale coordinate"),
    },
    "image": {
        "path": Field("str", REQUIRED, help="PNG relative to the preset file"),
        "blur": Field("float", 0.1, **POS),
        "invert": Field("bool", False, help="darker pixels = more mass"),
    },
    "points": {
        "path": Field("str", REQUIRED, help="CSV or NPY (n x d) relative to the preset file"),
        "bandwidth": Field("float", 0.1, **POS),
    },
    # --- 3-D shapes ---
    "torus": {
        "major_radius": Field("float", 2.5, **POS),
        "minor_radius": Field("float", 1.0, **POS),
        "width": Field("float", 0.15, **POS),
    },
    "helix": {
        "radius": Field("float", 2.0, **POS),
        "pitch": Field("float", 1.0, **POS),
        "turns": Field("float", 3.0, **POS),
        "noise": Field("float", 0.15, **POS),
    },
    "sphere_shell": {
        "radius": Field("float", 3.0, **POS),
        "width": Field("float", 0.2, **POS),
    },
    # --- the standard toy densities (FFJORD's lib/toy_data.py, torchcfm; densities/toys.py) ---
    "eight_gaussians": {
        "radius": Field("float", 4.0 / 1.414, **POS, help="distance of the centres from the origin "
                                                         "(FFJORD: 4 / 1.414; torchcfm: 5)"),
        "std": Field("float", 0.5 / 1.414, **POS, help="std of each Gaussian (FFJORD: 0.5 / 1.414)"),
    },
    "circles": {
        "radius": Field("float", 3.0, **POS, help="outer circle (sklearn make_circles times 3)"),
        "factor": Field("float", 0.5, min=0.0, max=1.0, exclusive_min=True,
                        help="inner radius / outer radius"),
        "noise": Field("float", 0.24, **POS, help="std of the Gaussian noise (0.08 times 3)"),
    },
    "rings": {
        "rings": Field("int", 4, min=1, max=32, help="concentric circles, radii radius * k / rings"),
        "radius": Field("float", 3.0, **POS, help="outer circle"),
        "noise": Field("float", 0.08, **POS, help="std of the Gaussian noise"),
    },
    "two_spirals": {
        "noise": Field("float", 0.1, **POS, help="std of the Gaussian noise: the kernel bandwidth"),
    },
    "cos": {
        "half_width": Field("float", 2.5, **POS, help="x uniform on [-half_width, half_width]"),
        "amplitude": Field("float", 2.5, **POS, help="y = amplitude * sin(x) (FFJORD's 'cos')"),
        "blur": Field("float", 0.1, **POS, help="std of the smoothing (FFJORD adds none)"),
    },
    "line": {
        "half_width": Field("float", 2.5, **POS, help="x uniform on [-half_width, half_width], y = x"),
        "blur": Field("float", 0.1, **POS, help="std of the smoothing (FFJORD adds none)"),
    },
}

DIM_OF_KIND = {
    "ring": 2, "moons": 2, "swiss_roll": 2, "spirals": 2, "checkerboard": 2, "pinwheel": 2,
    "banana": 2, "funnel": 2, "image": 2, "torus": 3, "helix": 3, "sphere_shell": 3,
    "eight_gaussians": 2, "circles": 2, "rings": 2, "two_spirals": 2, "cos": 2, "line": 2,
}

DENSITY_KINDS = tuple(DENSITY_FIELDS)  # the built-ins; densities.density_kinds() adds plugins
