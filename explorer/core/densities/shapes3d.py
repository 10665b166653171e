"""Three-dimensional toy shapes: torus, sphere shell (closed forms) and helix (kernel density)."""

from __future__ import annotations

import math

import numpy as np
import torch

from .base import Density, generator_device, rejection_sample, nice_bounds
from .perturbed import TINY, chunked, log_i0e_ratio, midpoints, weighted_mean
from .shapes2d import RadialShell, curves_kde

_EPS2 = 1e-12


class Torus(Density):
    """Mass near the surface of a torus around the z axis.

    With s = |(x, y)| and q = |(s - R, z)| (distance to the tube's centre circle),
    log p = -(q - a)^2 / (2 w^2): R the major radius, a the minor radius, w the width.

    The perturbed law keeps the symmetry about the z axis: the average over the azimuth is
    a Bessel function, leaving a 2-D integral over the tube's cross-section in polar
    coordinates (q, theta) around the centre circle (see `_perturbed`).
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

    # Quadrature nodes: 12 in q over +-7 posterior std, 16 in psi over +-8 / sqrt(kappa)
    # (at most the full circle). Against a 48 x 128-node reference the score's RMS relative
    # error is the same as the previous 12 x 24 nodes over +-9 / sqrt(kappa) gave (<= 2e-5 at
    # every sigma from 0.01 to 3, on and off the torus: bench/bench_torus_score.py), and
    # +-7 / sqrt(kappa) broke the 1e-5 agreement of log p_sigma's gradient with the score.
    _NQ, _NPSI = 12, 16
    _Q_HALF, _PSI_STD = 7.0, 8.0

    def _nodes(self, device):
        """(u, hq, v, hv): the fixed midpoint nodes in q (in posterior std) and in psi (as a
        fraction of the window), made once per device: every call at every sigma reuses them."""
        cache = self.__dict__.setdefault("_node_cache", {})
        hit = cache.get(device)
        if hit is None:
            u, hq = midpoints(self._NQ, self._Q_HALF, device)
            v, hv = midpoints(self._NPSI, 1.0, device)
            hit = cache[device] = (u, hq, v, hv, (-0.5 * u.square())[None, :, None])
        return hit

    def _perturbed(self, x, sigma, scale, want_log):
        """(score, log p_sigma up to a constant) in float64.

        y = ((R + q cos th) cos phi, (R + q cos th) sin phi, q sin th), dy = q rho' dq dth dphi
        with rho' = R + q cos th (the half-plane rho' >= 0 is covered once). For x with
        S = |(x1, x2)|, Z = x3, the azimuthal average of the kernel is
            <exp(-|x - s y|^2 / 2 sig^2)>_phi = exp(-((S - s rho')^2 + (Z - s z')^2) / 2 sig^2)
                                                 * i0e(S s rho' / sig^2).
        In the cross-section, the scaled point (S / s - R, Z / s) = delta (cos th0, sin th0)
        and tau = sig / s:  (S - s rho')^2 + (Z - s z')^2
            = s^2 [(q - delta)^2 + 2 delta q (1 - cos(th - th0))], so the Gaussians in q combine:
            -(q - a)^2 / 2w^2 - (q - delta)^2 / 2tau^2 = -(q - m)^2 / 2tq^2 - (delta - a)^2 / 2(w^2 + tau^2),
        m = (a tau^2 + delta w^2) / (w^2 + tau^2), tq = w tau / sqrt(w^2 + tau^2): nodes q = m + tq u.
        In psi = th - th0 the weight exp(-kappa (1 - cos psi)), kappa = delta q / tau^2, is
        concentrated within ~1/sqrt(kappa): midpoint nodes on |psi| <= min(pi, 8/sqrt(kappa))
        (on the whole circle the midpoint rule is the periodic trapezoid, spectrally accurate).
        The score is the posterior mean E[(s y - x) / sig^2]:
            d/dS = E[(s rho' I1/I0(t) - S) / sig^2] (t = S s rho' / sig^2),  d/dZ = E[(s z' - Z) / sig^2].
        The work is ~25 elementwise passes over (rows, NQ, NPSI) float64 arrays; torch's
        Bessel functions were half of it, so log i0e and I1/I0 come from their asymptotic
        series where t >= 30 (perturbed.log_i0e_ratio); the masks apply only where some node
        leaves the half-plane.
        """
        R, a, w, s, g2 = self.R, self.a, self.w, scale, sigma * sigma
        x = x.double()
        S = torch.sqrt(x[:, 0].square() + x[:, 1].square() + _EPS2)
        Z = x[:, 2]
        tau = sigma / s
        dr, dz = S / s - R, Z / s
        delta = torch.sqrt(dr.square() + dz.square())
        th0 = torch.atan2(dz, dr)
        W = w * w + tau * tau
        m = (a * tau * tau + delta * w * w) / W
        tq = w * tau / math.sqrt(W)
        u, hq, v, hv, gauss = self._nodes(x.device)
        q = (m.unsqueeze(1) + tq * u).unsqueeze(2)  # (n, NQ, 1)
        kappa = delta[:, None, None] * q.clamp(min=0) / (tau * tau)
        psimax = torch.clamp(self._PSI_STD / torch.sqrt(kappa.clamp(min=1e-300)), max=math.pi)
        psi = psimax * v  # (n, NQ, NPSI)
        th = th0[:, None, None] + psi
        rho = R + q * torch.cos(th)
        zz = q * torch.sin(th)
        ok = (q > 0) & (rho > 0)
        masked = not bool(ok.all())
        if masked:
            q, rho = torch.where(ok, q, torch.ones_like(q)), torch.where(ok, rho, torch.ones_like(rho))
        t = (s / g2) * S[:, None, None] * rho
        logi0, ratio = log_i0e_ratio(t)   # the costliest terms: a series where t is large
        logw = (gauss + torch.log(q * rho) + logi0 - 2 * kappa * torch.sin(0.5 * psi).square()
                + torch.log(psimax * hv))
        if masked:
            logw = torch.where(ok, logw, torch.full_like(logw, -math.inf))
        mS, mZ = weighted_mean(logw, (s * rho * ratio - S[:, None, None]) / g2,
                               (s * zz - Z[:, None, None]) / g2)
        score = torch.stack([mS * x[:, 0] / S, mS * x[:, 1] / S, mZ], 1)
        if not want_log:
            return score, None
        lp = (-(delta - a).square() / (2 * W) + torch.logsumexp(logw.flatten(1), 1)
              + math.log(tq * hq) - 1.5 * math.log(2 * math.pi * g2))
        return score, lp

    def perturbed_score(self, x, sigma, scale=1.0):
        sigma, scale = float(sigma), float(scale)
        if sigma <= TINY * self.w * scale:
            return self.score(x / scale) / scale
        if self._washed_out(sigma, scale):
            # s Y + sigma Z with s |Y| << sigma (DDPM's alpha_bar -> 0): N(0, sigma^2 I),
            # score -x / sigma^2 (the exact limit; the formula above divides by s)
            return -x / (sigma * sigma)
        return chunked(x, self._NQ * self._NPSI,
                       lambda xb: self._perturbed(xb, sigma, scale, False)[0].to(xb.dtype))

    def perturbed_log_prob(self, x, sigma=0.0, scale=1.0):
        """log p_sigma(x) up to a constant that does not depend on x."""
        sigma, scale = float(sigma), float(scale)
        if sigma <= TINY * self.w * scale:
            return self.log_prob(x / scale)
        if self._washed_out(sigma, scale):
            return -0.5 * x.pow(2).sum(1) / (sigma * sigma)   # log N(0, sigma^2 I) + const
        return chunked(x, self._NQ * self._NPSI,
                       lambda xb: self._perturbed(xb, sigma, scale, True)[1].to(xb.dtype))

    def exact_perturbed(self):
        return True

    def _washed_out(self, sigma: float, scale: float) -> bool:
        """The scaled torus is below float64's resolution of the noise: s (R + a + 10 w) < 1e-9 sigma."""
        return scale * (self.R + self.a + 10 * self.w) < 1e-9 * sigma

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
