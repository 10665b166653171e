"""Three-dimensional toy shapes: torus, sphere shell (closed forms) and helix (kernel density)."""

from __future__ import annotations

import math

import numpy as np
import torch

from .base import Density, generator_device, rejection_sample, nice_bounds
from .kernel import MCPerturbedMixin
from .shapes2d import RadialShell, curves_kde

_EPS2 = 1e-12


class Torus(MCPerturbedMixin, Density):
    """Mass near the surface of a torus around the z axis.

    With s = |(x, y)| and q = |(s - R, z)| (distance to the tube's centre circle),
    log p = -(q - a)^2 / (2 w^2): R the major radius, a the minor radius, w the width.
    """

    kind = "torus"
    dim = 3
    score_source = "analytic"

    def __init__(self, major_radius: float, minor_radius: float, width: float, bounds=None):
        self.R, self.a, self.w = float(major_radius), float(minor_radius), float(width)
        if bounds is None:
            xy = self.R + self.a + 4 * self.w
            z = self.a + 4 * self.w
            bounds = nice_bounds([-xy, -xy, -z], [xy, xy, z])
        super().__init__(bounds)

    def _parts(self, x):
        s = torch.sqrt(x[:, 0].square() + x[:, 1].square() + _EPS2)
        t = s - self.R
        q = torch.sqrt(t.square() + x[:, 2].square() + _EPS2)
        return s, t, q

    def log_prob(self, x):
        _, _, q = self._parts(x)
        return -(q - self.a).square() / (2 * self.w ** 2)

    def score(self, x):
        s, t, q = self._parts(x)
        g = -(q - self.a) / (self.w ** 2 * q)  # d log p / dq, divided by q
        gxy = g * t / s
        return torch.stack([gxy * x[:, 0], gxy * x[:, 1], g * x[:, 2]], dim=1)

    def sample(self, n, generator):
        """Exact: in (phi, q, theta) the density is prop. to exp(-(q-a)^2/2w^2) q (R + q cos theta)."""
        dev = generator_device(generator)
        R, a, w = self.R, self.a, self.w
        qmax = a + 8 * w
        bound = qmax * (R + qmax)

        def propose(m):
            q = a + w * torch.randn(m, generator=generator, device=dev)
            th = 2 * math.pi * torch.rand(m, generator=generator, device=dev)
            u = torch.rand(m, generator=generator, device=dev)
            s = R + q * torch.cos(th)
            ok = (q > 0) & (q < qmax) & (s > 0) & (u * bound < q * s)
            return torch.stack([q, th], 1), ok

        rate = max(a, w) * R / bound
        qt = rejection_sample(n, propose, rate)
        q, th = qt[:, 0], qt[:, 1]
        phi = 2 * math.pi * torch.rand(n, generator=generator, device=dev)
        s = R + q * torch.cos(th)
        return torch.stack([s * torch.cos(phi), s * torch.sin(phi), q * torch.sin(th)], dim=1)


def build_torus(spec, base_dir=None):
    return Torus(spec["major_radius"], spec["minor_radius"], spec["width"], spec.get("bounds"))


def build_sphere_shell(spec, base_dir=None):
    return RadialShell(spec["radius"], spec["width"], spec.get("bounds"), dim=3, kind="sphere_shell")


def build_helix(spec, base_dir=None):
    r, pitch, turns = spec["radius"], spec["pitch"], spec["turns"]
    height = pitch * turns  # pitch: rise per turn; centred on z = 0

    def fn(t):
        ang = 2 * math.pi * turns * t
        return np.stack([r * np.cos(ang), r * np.sin(ang), height * (t - 0.5)], 1)

    return curves_kde([(fn, 0.0, 1.0)], spec["noise"], "helix", spec.get("bounds"), dim=3)
