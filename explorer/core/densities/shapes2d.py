"""Two-dimensional toy shapes.

Closed forms where the shape has one (ring, banana, funnel, checkerboard); the others
(moons, swiss roll, spirals, pinwheel) are classic *sample* generators with no density,
so they are defined here as Gaussian kernel densities over a fixed, deterministic set of
points along the curve (pinwheel: deterministic quasi-samples of each arm). Their true
score is then the exact score of that kernel density, and `score_source` says so.
"""

from __future__ import annotations

import math

import numpy as np
import torch

from .base import (DeviceCache, Density, generator_device, nice_bounds, rejection_sample, symmetric_bounds)
from .kernel import KernelDensity
from .perturbed import TINY, chunked, dlog_sphere_avg, log_sphere_avg, midpoints, weighted_mean

_EPS2 = 1e-12  # smoothing of |x| at the origin: sqrt(|x|^2 + eps) in log_prob and score alike


# --- ring (and, in shapes3d, the sphere shell) -------------------------------------------------

class RadialShell(Density):
    """log p = -(|x| - r)^2 / (2 w^2): mass near the sphere of radius r in d dimensions.

    The perturbed law is radially symmetric too: with y = r u (radius r, direction u) the
    average over u of the Gaussian kernel is closed form (`log_sphere_avg`), leaving a 1-D
    integral over the radius, whose Gaussian factors combine into one (see `_radial`).
    """

    score_source = "analytic"

    def __init__(self, radius: float, width: float, bounds=None, dim: int = 2, kind: str = "ring"):
        self.dim, self.kind = dim, kind
        self.radius, self.width = float(radius), float(width)
        if bounds is None:
            bounds = symmetric_bounds(self.radius + 4 * self.width, dim)
        super().__init__(bounds)

    def _rho(self, x):
        return torch.sqrt(x.square().sum(-1) + _EPS2)

    def log_prob(self, x):
        return -(self._rho(x) - self.radius).square() / (2 * self.width ** 2)

    def score(self, x):
        rho = self._rho(x)
        return x * (-(rho - self.radius) / (self.width ** 2 * rho)).unsqueeze(-1)

    # --- perturbed law: 1-D quadrature over the radius of y ----------------------------
    _NODES = 48

    def _radial(self, x, sigma, scale, want_log):
        """(d/drho log p_sigma, log p_sigma up to a constant) at rho = |x|, float64.

        p_sigma(x) prop. int_0^inf dr r^(d-1) exp(-(r - R)^2 / 2w^2 - (rho - s r)^2 / 2 sig^2)
                                         * A_d(s r rho / sig^2)
        with A_d the sphere average. The two Gaussians in r combine:
            -(r-R)^2/2w^2 - (rho - s r)^2/2sig^2 = -(r - m)^2 / 2 tau^2 - (rho - s R)^2 / 2V,
            V = sig^2 + s^2 w^2,  m = (R sig^2 + s rho w^2) / V,  tau = w sig / sqrt(V),
        so the nodes are r = m + tau u, and
            d/drho log p_sigma = -(rho - s R) / V + E[s tau u / sig^2 + (s r / sig^2) A_d'/A_d(t)].
        """
        d, R, w, s, g2 = self.dim, self.radius, self.width, scale, sigma * sigma
        x = x.double()
        rho = torch.sqrt(x.square().sum(-1) + _EPS2)
        V = g2 + s * s * w * w
        m = (R * g2 + s * rho * w * w) / V
        tau = w * sigma / math.sqrt(V)
        u, h = midpoints(self._NODES, 8.0, x.device)
        r = m.unsqueeze(1) + tau * u
        pos = r > 0
        rs = torch.where(pos, r, torch.ones_like(r))
        t = (s / g2) * rs * rho.unsqueeze(1)
        logw = -0.5 * u.square() + (d - 1) * torch.log(rs) + log_sphere_avg(t, d)
        logw = torch.where(pos, logw, torch.full_like(logw, -math.inf))
        mean, = weighted_mean(logw, (s * tau / g2) * u + (s / g2) * rs * dlog_sphere_avg(t, d))
        drho = -(rho - s * R) / V + mean
        if not want_log:
            return drho, rho, None
        lp = (-(rho - s * R).square() / (2 * V) + torch.logsumexp(logw, 1)
              + math.log(tau * h) - 0.5 * d * math.log(2 * math.pi * g2))
        return drho, rho, lp

    def perturbed_score(self, x, sigma, scale=1.0):
        sigma, scale = float(sigma), float(scale)
        if sigma <= TINY * self.width * scale:
            return self.score(x / scale) / scale

        def fn(xb):
            drho, rho, _ = self._radial(xb, sigma, scale, False)
            return (xb.double() * (drho / rho).unsqueeze(1)).to(xb.dtype)

        return chunked(x, self._NODES, fn)

    def perturbed_log_prob(self, x, sigma=0.0, scale=1.0):
        """log p_sigma(x) up to a constant that does not depend on x."""
        sigma, scale = float(sigma), float(scale)
        if sigma <= TINY * self.width * scale:
            return self.log_prob(x / scale)
        return chunked(x, self._NODES, lambda xb: self._radial(xb, sigma, scale, True)[2].to(xb.dtype))

    def exact_perturbed(self):
        return True

    def sample(self, n, generator):
        dev = generator_device(generator)
        r, w, d = self.radius, self.width, self.dim
        rmax = r + 8 * w  # the radial density beyond 8 widths is below 1e-14

        def propose(m):
            rho = r + w * torch.randn(m, generator=generator, device=dev)
            u = torch.rand(m, generator=generator, device=dev)
            ok = (rho > 0) & (rho < rmax) & (u * rmax ** (d - 1) < rho.clamp(min=0) ** (d - 1))
            return rho, ok

        # acceptance ~ E[rho^(d-1)] / rmax^(d-1)
        rate = max(r, w) ** (d - 1) / rmax ** (d - 1)
        rho = rejection_sample(n, propose, rate)
        direction = torch.randn(n, d, generator=generator, device=dev)
        direction = direction / direction.norm(dim=1, keepdim=True).clamp(min=1e-12)
        return direction * rho.unsqueeze(1)


def build_ring(spec, base_dir=None):
    return RadialShell(spec["radius"], spec["width"], spec.get("bounds"), dim=2, kind="ring")


# --- banana ------------------------------------------------------------------------------------

class Banana(Density):
    """x1 ~ N(0, sx^2),  x2 | x1 ~ N(c (x1^2 - sx^2), sy^2)  (so E[x2] = 0).

    Given y1 the rest of y is Gaussian, so the perturbed law is a 1-D integral over y1
    (see `_perturbed`).
    """

    kind = "banana"
    dim = 2
    score_source = "analytic"

    def __init__(self, std_x: float, std_y: float, curvature: float, bounds=None):
        self.sx, self.sy, self.c = float(std_x), float(std_y), float(curvature)
        if bounds is None:
            c, sx, sy = self.c, self.sx, self.sy
            xh = 3 * sx
            tip = abs(c) * (2.5 * sx) ** 2 - abs(c) * sx ** 2 + 3 * sy  # far end of the arms
            base = abs(c) * sx ** 2 + 3 * sy  # the bend
            lo, hi = (-base, tip) if c >= 0 else (-tip, base)
            bounds = nice_bounds([-xh, lo], [xh, hi])
        super().__init__(bounds)

    def _m(self, x1):
        return self.c * (x1.square() - self.sx ** 2)

    def log_prob(self, x):
        x1, x2 = x[:, 0], x[:, 1]
        return -x1.square() / (2 * self.sx ** 2) - (x2 - self._m(x1)).square() / (2 * self.sy ** 2)

    def score(self, x):
        x1, x2 = x[:, 0], x[:, 1]
        e = (x2 - self._m(x1)) / self.sy ** 2
        return torch.stack([-x1 / self.sx ** 2 + e * (2 * self.c) * x1, -e], dim=1)

    _NODES = 128  # the bend makes the x2 factor sharper in y1 than the y1 posterior

    def _perturbed(self, x, sigma, scale, want_log):
        """(score, log p_sigma) in float64. With m(y1) = c (y1^2 - sx^2):

            p_sigma(x) = N(x1; 0, V1) int N(y1; mu, tau^2) N(x2; s m(y1), V2) dy1,
            V1 = sig^2 + s^2 sx^2,  mu = s sx^2 x1 / V1,  tau = sx sig / sqrt(V1),
            V2 = sig^2 + s^2 sy^2   (y2 given y1 integrated in closed form);
            d/dx1 log p_sigma = -x1 / V1 + E[s tau u / sig^2]     (y1 = mu + tau u),
            d/dx2 log p_sigma = E[-(x2 - s m(y1)) / V2].
        """
        s, g2, sx, sy = scale, sigma * sigma, self.sx, self.sy
        x = x.double()
        x1, x2 = x[:, 0:1], x[:, 1:2]
        V1, V2 = g2 + s * s * sx * sx, g2 + s * s * sy * sy
        mu = (s * sx * sx / V1) * x1
        tau = sx * sigma / math.sqrt(V1)
        u, h = midpoints(self._NODES, 8.0, x.device)
        y1 = mu + tau * u
        e2 = x2 - s * self.c * (y1.square() - sx * sx)
        logw = -0.5 * u.square() - e2.square() / (2 * V2)
        m1, m2 = weighted_mean(logw, (s * tau / g2) * u, -e2 / V2)
        score = torch.stack([-x1[:, 0] / V1 + m1, m2], 1)
        if not want_log:
            return score, None
        lp = (-x1[:, 0].square() / (2 * V1) + torch.logsumexp(logw, 1)
              + math.log(h / (2 * math.pi) ** 1.5) - 0.5 * math.log(V1 * V2))
        return score, lp

    def perturbed_score(self, x, sigma, scale=1.0):
        sigma, scale = float(sigma), float(scale)
        if sigma <= TINY * min(self.sx, self.sy) * scale:
            return self.score(x / scale) / scale
        return chunked(x, self._NODES, lambda xb: self._perturbed(xb, sigma, scale, False)[0].to(xb.dtype))

    def perturbed_log_prob(self, x, sigma=0.0, scale=1.0):
        """Normalised log p_sigma(x)."""
        sigma, scale = float(sigma), float(scale)
        if sigma <= TINY * min(self.sx, self.sy) * scale:
            return (self.log_prob(x / scale) - math.log(2 * math.pi * self.sx * self.sy * scale ** 2))
        return chunked(x, self._NODES, lambda xb: self._perturbed(xb, sigma, scale, True)[1].to(xb.dtype))

    def exact_perturbed(self):
        return True

    def sample(self, n, generator):
        dev = generator_device(generator)
        z = torch.randn(n, 2, generator=generator, device=dev)
        x1 = self.sx * z[:, 0]
        return torch.stack([x1, self._m(x1) + self.sy * z[:, 1]], dim=1)


def build_banana(spec, base_dir=None):
    return Banana(spec["std_x"], spec["std_y"], spec["curvature"], spec.get("bounds"))


# --- funnel ------------------------------------------------------------------------------------

class Funnel(Density):
    """Neal's funnel: v = x2 ~ N(0, s^2), x1 | v ~ N(0, e^v).

    log p = -v^2 / (2 s^2) - x1^2 e^(-v) / 2 - v / 2. The factor e^(-v) is evaluated at
    max(v, -V_FLOOR) so that the score stays finite in float32 far below the neck (the
    floor sits ~25 standard deviations of v away: it changes nothing the user can see).
    Given v the rest of y is Gaussian, so the perturbed law is a 1-D integral over v
    (see `_perturbed`).
    """

    kind = "funnel"
    dim = 2
    score_source = "analytic"
    V_FLOOR = 40.0

    def __init__(self, scale: float, bounds=None):
        self.s = float(scale)
        if bounds is None:
            bounds = nice_bounds([-4 * self.s, -10 / 3 * self.s], [4 * self.s, 10 / 3 * self.s])
        super().__init__(bounds)

    def log_prob(self, x):
        x1, v = x[:, 0], x[:, 1]
        ev = torch.exp(-torch.clamp(v, min=-self.V_FLOOR))
        return -v.square() / (2 * self.s ** 2) - 0.5 * x1.square() * ev - 0.5 * v

    def score(self, x):
        x1, v = x[:, 0], x[:, 1]
        ev = torch.exp(-torch.clamp(v, min=-self.V_FLOOR))
        dv = -v / self.s ** 2 - 0.5 + torch.where(v > -self.V_FLOOR, 0.5 * x1.square() * ev,
                                                   torch.zeros_like(ev))
        return torch.stack([-x1 * ev, dv], dim=1)

    _NODES = 64

    def _perturbed(self, x, sigma, scale, want_log):
        """(score, log p_sigma) in float64:

            p_sigma(x) = N(x2; 0, V2) int N(v; mu, tau^2) N(x1; 0, s^2 e^v + sig^2) dv,
            V2 = sig^2 + s^2 S^2,  mu = s S^2 x2 / V2,  tau = S sig / sqrt(V2)   (S: self.s),
            d/dx1 log p_sigma = E[-x1 / (s^2 e^v + sig^2)],
            d/dx2 log p_sigma = -x2 / V2 + E[s tau u / sig^2]     (v = mu + tau u).
        """
        s, g2, S = scale, sigma * sigma, self.s
        x = x.double()
        x1, x2 = x[:, 0:1], x[:, 1:2]
        V2 = g2 + s * s * S * S
        mu = (s * S * S / V2) * x2
        tau = S * sigma / math.sqrt(V2)
        u, h = midpoints(self._NODES, 8.0, x.device)
        v = mu + tau * u
        V1 = s * s * torch.exp(v) + g2
        logw = -0.5 * u.square() - x1.square() / (2 * V1) - 0.5 * torch.log(V1)
        m1, m2 = weighted_mean(logw, -x1 / V1, (s * tau / g2) * u)
        score = torch.stack([m1, -x2[:, 0] / V2 + m2], 1)
        if not want_log:
            return score, None
        lp = (-x2[:, 0].square() / (2 * V2) + torch.logsumexp(logw, 1)
              + math.log(h / (2 * math.pi) ** 1.5) - 0.5 * math.log(V2))
        return score, lp

    def perturbed_score(self, x, sigma, scale=1.0):
        sigma, scale = float(sigma), float(scale)
        if sigma <= TINY * scale * math.exp(-2 * self.s):  # the neck's width two stds down
            return self.score(x / scale) / scale
        return chunked(x, self._NODES, lambda xb: self._perturbed(xb, sigma, scale, False)[0].to(xb.dtype))

    def perturbed_log_prob(self, x, sigma=0.0, scale=1.0):
        """log p_sigma(x) (normalised, but for sigma ~ 0 up to a constant)."""
        sigma, scale = float(sigma), float(scale)
        if sigma <= TINY * scale * math.exp(-2 * self.s):
            return self.log_prob(x / scale)
        return chunked(x, self._NODES, lambda xb: self._perturbed(xb, sigma, scale, True)[1].to(xb.dtype))

    def exact_perturbed(self):
        return True

    def sample(self, n, generator):
        dev = generator_device(generator)
        z = torch.randn(n, 2, generator=generator, device=dev)
        v = self.s * z[:, 1]
        return torch.stack([torch.exp(0.5 * v) * z[:, 0], v], dim=1)


def build_funnel(spec, base_dir=None):
    return Funnel(spec["scale"], spec.get("bounds"))


# --- checkerboard ------------------------------------------------------------------------------

_HALF_LOG_2PI = 0.5 * math.log(2 * math.pi)
_LN2 = math.log(2.0)


def _log1mexp(d):
    """log(1 - exp(d)) for d < 0, stable at both ends (and NaN-free under autograd)."""
    near = d > -_LN2
    a = torch.where(near, d, torch.full_like(d, -1.0))
    b = torch.where(near, torch.full_like(d, -1.0), d)
    return torch.where(near, torch.log(-torch.expm1(a)), torch.log1p(-torch.exp(b)))


def log_phi_diff(a, b):
    """log(Phi(a) - Phi(b)) for a > b, stable in both tails."""
    flip = (a + b) > 0  # both in the upper tail: use Phi(a) - Phi(b) = Phi(-b) - Phi(-a)
    a2 = torch.where(flip, -b, a)
    b2 = torch.where(flip, -a, b)
    la = torch.special.log_ndtr(a2)
    lb = torch.special.log_ndtr(b2)
    return la + _log1mexp(lb - la)


class Checkerboard(Density):
    """Uniform on the dark squares of a cells x cells board on [-size, size]^2, blurred.

    Square (i, j) (i along x from the left, j along y from the bottom) is dark when
    i + j is even. The blur (a Gaussian of std `blur`) makes the density smooth, so
    log p = log sum_dark prod_axes [Phi((hi - x) / b) - Phi((lo - x) / b)] has an exact score.

    Its perturbed law is a board of the same kind, in closed form: y = u + b z' with u
    uniform on the dark squares, so  scale * y + sigma * z = (scale u) + sqrt(scale^2 b^2 +
    sigma^2) z'', a board scaled by `scale` with blur sqrt(scale^2 b^2 + sigma^2).
    """

    kind = "checkerboard"
    dim = 2

    def __init__(self, cells: int, size: float, blur: float, bounds=None):
        self.cells, self.size, self.blur = int(cells), float(size), float(blur)
        self.score_source = f"analytic (board smoothed by a Gaussian, blur {self.blur:g})"
        if bounds is None:
            bounds = symmetric_bounds(self.size + max(4 * self.blur, 0.05 * self.size), 2)
        super().__init__(bounds)
        self._cache = DeviceCache(self._make_params)
        edges = np.linspace(-self.size, self.size, self.cells + 1)
        self.edges = edges
        ii, jj = np.meshgrid(np.arange(self.cells), np.arange(self.cells), indexing="ij")
        self.dark = np.stack([ii[(ii + jj) % 2 == 0], jj[(ii + jj) % 2 == 0]], axis=1)  # (S, 2)

    def _make_params(self, device, dtype):
        dark = torch.zeros(self.cells, self.cells, dtype=torch.bool)
        dark[self.dark[:, 0], self.dark[:, 1]] = True
        mask = torch.where(dark, 0.0, -math.inf).to(device=device, dtype=dtype)
        e64 = torch.as_tensor(self.edges, dtype=torch.float64, device=device)
        return {"lo64": e64[:-1], "hi64": e64[1:], "mask": mask,
                "dark_lo": torch.as_tensor(self.edges[self.dark], dtype=torch.float32, device=device)}

    def _axis(self, xj, p, with_grad: bool, scale: float = 1.0, blur: float | None = None):
        """Per interval: log mass L (n, cells) and, optionally, dL/dx (n, cells), for the
        board scaled by `scale` with blur `blur` (default: this board).

        Computed in float64 (these tensors are small): far from the board, float32 would
        lose ~1e-3 of the score to the cancellation in phi(a) / (Phi(a) - Phi(c)).
        """
        b = self.blur if blur is None else blur
        x64 = xj.double().unsqueeze(1)
        a = (p["hi64"] * scale - x64) / b
        c = (p["lo64"] * scale - x64) / b
        L = log_phi_diff(a, c)
        if not with_grad:
            return L.to(xj.dtype), None
        # d/dx log(Phi(a) - Phi(c)) = (phi(c) - phi(a)) / (b (Phi(a) - Phi(c)))
        ga = torch.exp(-0.5 * a.square() - _HALF_LOG_2PI - L)
        gc = torch.exp(-0.5 * c.square() - _HALF_LOG_2PI - L)
        return L.to(xj.dtype), ((gc - ga) / b).to(xj.dtype)

    def _logits(self, x, with_grad, scale=1.0, blur=None):
        p = self._cache.get(x.device, x.dtype)
        L0, D0 = self._axis(x[:, 0], p, with_grad, scale, blur)
        L1, D1 = self._axis(x[:, 1], p, with_grad, scale, blur)
        logits = L0.unsqueeze(2) + L1.unsqueeze(1) + p["mask"]  # (n, cells_x, cells_y)
        return logits, D0, D1

    def log_prob(self, x):
        return self.perturbed_log_prob(x)

    def score(self, x):
        return self.perturbed_score(x, 0.0)

    def _perturbed_blur(self, sigma, scale):
        # b' = sqrt(scale^2 b^2 + sigma^2)
        return math.sqrt(scale * scale * self.blur ** 2 + sigma * sigma)

    def perturbed_log_prob(self, x, sigma=0.0, scale=1.0):
        """log p_sigma(x) up to a constant (closed form, see the class docstring)."""
        sigma, scale = float(sigma), float(scale)
        logits, _, _ = self._logits(x, False, scale, self._perturbed_blur(sigma, scale))
        return torch.logsumexp(logits.flatten(1), dim=1)

    def perturbed_score(self, x, sigma, scale=1.0):
        sigma, scale = float(sigma), float(scale)
        logits, D0, D1 = self._logits(x, True, scale, self._perturbed_blur(sigma, scale))
        n = x.shape[0]
        r = torch.softmax(logits.reshape(n, -1), dim=1).reshape(logits.shape)
        g0 = (r.sum(2) * D0).sum(1)
        g1 = (r.sum(1) * D1).sum(1)
        return torch.stack([g0, g1], dim=1)

    def exact_perturbed(self):
        return True

    def sample(self, n, generator):
        dev = generator_device(generator)
        p = self._cache.get(dev, torch.float32)
        k = torch.randint(self.dark.shape[0], (n,), generator=generator, device=dev)
        u = torch.rand(n, 2, generator=generator, device=dev)
        z = torch.randn(n, 2, generator=generator, device=dev)
        width = 2 * self.size / self.cells
        return p["dark_lo"][k] + width * u + self.blur * z


def build_checkerboard(spec, base_dir=None):
    return Checkerboard(spec["cells"], spec["size"], spec["blur"], spec.get("bounds"))


# --- shapes defined by points along curves ---------------------------------------------------

def arc_points(fn, t0: float, t1: float, n: int) -> np.ndarray:
    """n points of the curve fn(t), t in [t0, t1], equally spaced in arc length."""
    t = np.linspace(t0, t1, 20001)
    pts = fn(t)
    seg = np.linalg.norm(np.diff(pts, axis=0), axis=1)
    cum = np.concatenate([[0.0], np.cumsum(seg)])
    return fn(np.interp(np.linspace(0.0, cum[-1], n), cum, t))


def curve_length(fn, t0: float, t1: float) -> float:
    pts = fn(np.linspace(t0, t1, 20001))
    return float(np.linalg.norm(np.diff(pts, axis=0), axis=1).sum())


def points_for(total_length: float, h: float, lo: int = 500, hi: int = 3000) -> int:
    """Curve points for a kernel of bandwidth h: spacing at most h / 3 where the cap allows.

    At spacing h / 3 the ripple of the kernel sum along the curve is ~e^(-2 pi^2 9), far
    below anything visible, so more points would only slow the score down.
    """
    return int(np.clip(math.ceil(3 * total_length / h), lo, hi))


def curves_kde(curves, h: float, kind: str, bounds=None, dim: int = 2) -> KernelDensity:
    """A kernel density over points spread along several curves [(fn, t0, t1), ...]."""
    lengths = [curve_length(*c) for c in curves]
    total = points_for(sum(lengths), h)
    pts = np.concatenate([arc_points(fn, t0, t1, max(2, round(total * L / sum(lengths))))
                          for (fn, t0, t1), L in zip(curves, lengths)])
    return shape_kde(pts, h, kind, bounds, dim)


def shape_kde(pts, h, kind, bounds=None, dim=2) -> KernelDensity:
    if bounds is None:
        bounds = symmetric_bounds(float(np.abs(pts).max()) + 3.5 * h, dim)
    return KernelDensity(pts, h, bounds=bounds, kind=kind)


def build_moons(spec, base_dir=None):
    s = spec["scale"]
    # the classic two moons (radius 1), centred on their bounding box, scaled to radius s
    upper = lambda t: s * np.stack([np.cos(t) - 0.5, np.sin(t) - 0.25], 1)  # noqa: E731
    lower = lambda t: s * np.stack([0.5 - np.cos(t), 0.25 - np.sin(t)], 1)  # noqa: E731
    return curves_kde([(upper, 0.0, math.pi), (lower, 0.0, math.pi)], spec["noise"], "moons",
                      spec.get("bounds"))


def build_swiss_roll(spec, base_dir=None):
    s, turns = spec["scale"], spec["turns"]
    t0, t1 = 0.5 * math.pi, 0.5 * math.pi + 2 * math.pi * turns
    raw = lambda t: s * np.stack([t * np.cos(t), t * np.sin(t)], 1)  # noqa: E731
    probe = raw(np.linspace(t0, t1, 20001))
    centre = 0.5 * (probe.min(0) + probe.max(0))  # centre the roll's bounding box
    fn = lambda t: raw(t) - centre  # noqa: E731
    return curves_kde([(fn, t0, t1)], spec["noise"], "swiss_roll", spec.get("bounds"))


def build_spirals(spec, base_dir=None):
    arms, s, turns = int(spec["arms"]), spec["scale"], spec["turns"]
    curves = []
    for k in range(arms):
        phase = 2 * math.pi * k / arms
        fn = (lambda ph: lambda t: s * t[:, None] * np.stack(
            [np.cos(2 * math.pi * turns * t + ph), np.sin(2 * math.pi * turns * t + ph)], 1))(phase)
        curves.append((fn, 0.05, 1.0))
    return curves_kde(curves, spec["noise"], "spirals", spec.get("bounds"))


def _quasi_normal(n: int) -> np.ndarray:
    """n deterministic, evenly spread points of N(0, I_2) (R2 sequence through the normal quantile)."""
    g = 1.32471795724474602596  # plastic number
    alpha = np.array([1 / g, 1 / g ** 2])
    u = (0.5 + np.arange(1, n + 1)[:, None] * alpha) % 1.0
    return torch.special.ndtri(torch.as_tensor(u, dtype=torch.float64)).numpy()


def build_pinwheel(spec, base_dir=None):
    arms = int(spec["arms"])
    rs, ts, rate, radius = spec["radial_std"], spec["tangential_std"], spec["rate"], spec["radius"]
    per_arm = max(200, 3000 // arms)
    q = _quasi_normal(per_arm)
    f = np.stack([1.0 + rs * q[:, 0], ts * q[:, 1]], 1)  # (radial, tangential) features
    pts = []
    for k in range(arms):
        ang = 2 * math.pi * k / arms + rate * np.exp(f[:, 0])
        c, s = np.cos(ang), np.sin(ang)
        # as in the classic generator: features @ [[cos, -sin], [sin, cos]], times the radius
        pts.append(radius * np.stack([f[:, 0] * c + f[:, 1] * s, -f[:, 0] * s + f[:, 1] * c], 1))
    h = 0.5 * radius * ts
    return shape_kde(np.concatenate(pts), h, "pinwheel", spec.get("bounds"))
