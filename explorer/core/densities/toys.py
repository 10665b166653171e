"""The standard toy densities of FFJORD's lib/toy_data.py and torchcfm, with exact scores.

Researchers compare their numbers on these shapes, so the defaults reproduce the reference
generators' laws (rtqichen/ffjord lib/toy_data.py; atong01/conditional-flow-matching
torchcfm/utils.py), and each shape gets the exact score of a density, never an estimate:

- eight_gaussians: FFJORD's eight Gaussians (centres at radius 4 / 1.414, std 0.5 / 1.414,
  equal weights): a Gaussian mixture, so an alias of `mixture` with those parameters.
  (torchcfm's `sample_8gaussians` is radius 5, std 0.1 ** 0.25 = 0.562: its MultivariateNormal
  takes sqrt(var) as the *covariance*; set radius and std to get it.)
- circles, rings: points uniform on concentric circles plus isotropic Gaussian noise. The
  average of a Gaussian kernel over a circle is a Bessel function, so the law is closed form
  (`ConcentricCircles`), and so is every perturbed version (the noise only widens).
- line: uniform on a segment plus Gaussian noise: a box times a Gaussian, closed form
  (`Segment`). FFJORD's generator adds no noise (the law has no density); `blur` is ours.
- two_spirals, cos: sample-defined. The density is the Gaussian kernel density over a fixed,
  deterministic set of quasi-samples of the generator's noise-free part (two_spirals: the
  arm point plus its uniform offset; cos: the curve point), with the generator's own Gaussian
  noise as the bandwidth (two_spirals 0.1; cos has none in FFJORD, `blur` is ours). Its score
  is that kernel density's exact score, and `score_source` says so.
"""

from __future__ import annotations

import math

import numpy as np
import torch

from .base import Density, generator_device, symmetric_bounds
from .gaussian import GaussianMixture
from .kernel import KernelDensity
from .shapes2d import log_phi_diff

_HALF_LOG_2PI = 0.5 * math.log(2 * math.pi)

# FFJORD divides its eight Gaussians (centres at radius 4, std 0.5) by 1.414, not sqrt(2)
FFJORD_8G_RADIUS = 4.0 / 1.414
FFJORD_8G_STD = 0.5 / 1.414


# --- eight Gaussians: a mixture ------------------------------------------------------------------

def eight_centres(radius: float) -> np.ndarray:
    """FFJORD's centre order: (1, 0), (-1, 0), (0, 1), (0, -1), then the four diagonals."""
    c = 1.0 / math.sqrt(2.0)
    unit = [(1, 0), (-1, 0), (0, 1), (0, -1), (c, c), (c, -c), (-c, c), (-c, -c)]
    return radius * np.asarray(unit, dtype=np.float64)


def build_eight_gaussians(spec, base_dir=None):
    r, s = float(spec["radius"]), float(spec["std"])
    mix = GaussianMixture(np.ones(8), eight_centres(r), (s * s) * np.eye(2)[None].repeat(8, 0),
                          spec.get("bounds"), kind="eight_gaussians")
    if spec.get("bounds") is None:
        mix.bounds = symmetric_bounds(r + 4 * s, 2)
    return mix


# --- circles and rings: circles convolved with a Gaussian ------------------------------------------

def _i1_over_i0_over_t(t: torch.Tensor) -> torch.Tensor:
    """I1(t) / (t I0(t)), finite at t = 0 (the series 1/2 - t^2/16 below 1e-4)."""
    small = t < 1e-4
    ts = torch.where(small, torch.ones_like(t), t)
    ratio = torch.special.i1e(ts) / (torch.special.i0e(ts) * ts)
    return torch.where(small, 0.5 - t * t / 16.0, ratio)


class ConcentricCircles(Density):
    """x = r_k u + s z: circle k (radius r_k, weight w_k) picked, u uniform on the unit circle,
    z ~ N(0, I). Averaging N(x; r u, s^2 I) over u gives, with rho = |x|, t_k = r_k rho / s^2,

        p(x) = sum_k w_k exp(-(rho - r_k)^2 / (2 s^2)) i0e(t_k) / (2 pi s^2)

    (i0e(t) = e^-t I0(t)), and its score  grad log p = -x / s^2 + x sum_k q_k r_k^2 / s^4 *
    I1(t_k) / (t_k I0(t_k)),  q_k the circles' responsibilities. The perturbed law
    (scale y + sigma z) is the same kind with radii scale r_k and noise
    sqrt(scale^2 s^2 + sigma^2): closed form at every noise level.
    """

    dim = 2
    log_prob_normalised = True

    def __init__(self, radii, weights, noise: float, bounds=None, kind: str = "rings"):
        self.kind = kind
        self.radii = np.asarray(radii, dtype=np.float64).reshape(-1)
        w = np.asarray(weights, dtype=np.float64).reshape(-1)
        self.weights = w / w.sum()
        self.noise = float(noise)
        self.score_source = (f"analytic (circles convolved with a Gaussian of std {self.noise:g}: "
                             f"Bessel closed form)")
        if bounds is None:
            bounds = symmetric_bounds(float(self.radii.max()) + 4 * self.noise, 2)
        super().__init__(bounds)

    def _params(self, sigma, scale, device):
        s2 = scale * scale * self.noise ** 2 + sigma * sigma     # widened noise variance
        r = torch.as_tensor(self.radii * scale, dtype=torch.float64, device=device)
        lw = torch.as_tensor(np.log(self.weights), dtype=torch.float64, device=device)
        return s2, r, lw

    def _terms(self, x, s2, r, lw):
        """(rho (n,), t (n, K), per-circle log terms (n, K)), float64."""
        x64 = x.double()
        rho = torch.sqrt(x64.square().sum(1) + 1e-300)
        t = rho.unsqueeze(1) * r / s2
        logits = lw - (rho.unsqueeze(1) - r).square() / (2 * s2) + torch.log(torch.special.i0e(t))
        return rho, t, logits

    def perturbed_log_prob(self, x, sigma=0.0, scale=1.0):
        """Normalised log p_sigma(x), differentiable (i0e has a derivative in torch)."""
        s2, r, lw = self._params(float(sigma), float(scale), x.device)
        _, _, logits = self._terms(x, s2, r, lw)
        return (torch.logsumexp(logits, 1) - math.log(2 * math.pi * s2)).to(x.dtype)

    def log_prob(self, x):
        return self.perturbed_log_prob(x)

    def perturbed_score(self, x, sigma, scale=1.0):
        s2, r, lw = self._params(float(sigma), float(scale), x.device)
        with torch.no_grad():
            _, t, logits = self._terms(x.detach(), s2, r, lw)
            q = torch.softmax(logits, 1)
            # r_k I1(t_k) / (rho I0(t_k)) = (r_k^2 / s^2) I1(t_k) / (t_k I0(t_k))
            pull = (q * r.square() * _i1_over_i0_over_t(t)).sum(1) / (s2 * s2)
            x64 = x.detach().double()
            return (x64 * (pull.unsqueeze(1) - 1.0 / s2)).to(x.dtype)

    def score(self, x):
        return self.perturbed_score(x, 0.0)

    def exact_perturbed(self):
        return True

    def sample(self, n, generator):
        dev = generator_device(generator)
        cdf = torch.as_tensor(np.cumsum(self.weights), dtype=torch.float64, device=dev)
        k = torch.searchsorted(cdf, torch.rand(n, generator=generator, device=dev, dtype=torch.float64),
                               right=True).clamp_(max=len(self.weights) - 1)
        ang = 2 * math.pi * torch.rand(n, generator=generator, device=dev)
        r = torch.as_tensor(self.radii, dtype=torch.float32, device=dev)[k]
        z = torch.randn(n, 2, generator=generator, device=dev)
        return torch.stack([r * torch.cos(ang), r * torch.sin(ang)], 1) + self.noise * z


def build_circles(spec, base_dir=None):
    """sklearn's make_circles(factor=0.5, noise=0.08) times 3 (FFJORD): radii 3 and 1.5, half the
    points each, noise 0.08 * 3 = 0.24 (sklearn adds it before FFJORD scales)."""
    r = float(spec["radius"])
    return ConcentricCircles([r, r * float(spec["factor"])], [0.5, 0.5], spec["noise"],
                             spec.get("bounds"), kind="circles")


def build_rings(spec, base_dir=None):
    """FFJORD's rings: radii 3 * (1, 0.75, 0.5, 0.25), a quarter of the points each, noise 0.08
    added after scaling. `rings` n gives radii radius * k / n, k = n..1."""
    n, r = int(spec["rings"]), float(spec["radius"])
    radii = [r * k / n for k in range(n, 0, -1)]
    return ConcentricCircles(radii, [1.0] * n, spec["noise"], spec.get("bounds"), kind="rings")


# --- line: a segment convolved with a Gaussian ----------------------------------------------------

class Segment(Density):
    """x = a u + h z along the diagonal: a ~ U[-L, L], u = (1, 1) / sqrt 2, z ~ N(0, I).

    With along = x . u and across = x . (-1, 1) / sqrt 2,
        p(x) = [Phi((L - along) / h) - Phi((-L - along) / h)] / (2 L) * N(across; 0, h^2),
    and the perturbed law is the same with L -> scale L, h -> sqrt(scale^2 h^2 + sigma^2).
    """

    dim = 2
    kind = "line"
    log_prob_normalised = True

    def __init__(self, half_width: float, blur: float, bounds=None):
        self.c = float(half_width)                 # x runs over [-c, c], y = x
        self.L = self.c * math.sqrt(2.0)           # half-length of the segment
        self.blur = float(blur)
        self.score_source = f"analytic (segment convolved with a Gaussian of std {self.blur:g})"
        if bounds is None:
            bounds = symmetric_bounds(self.c + 4 * self.blur, 2)
        super().__init__(bounds)

    def _coords(self, x, sigma, scale):
        h = math.sqrt(scale * scale * self.blur ** 2 + sigma * sigma)
        x64 = x.double()
        k = 1.0 / math.sqrt(2.0)
        along = (x64[:, 0] + x64[:, 1]) * k
        across = (x64[:, 1] - x64[:, 0]) * k
        return along, across, h, scale * self.L

    def perturbed_log_prob(self, x, sigma=0.0, scale=1.0):
        along, across, h, L = self._coords(x, float(sigma), float(scale))
        lp = (log_phi_diff((L - along) / h, (-L - along) / h) - math.log(2 * L)
              - across.square() / (2 * h * h) - _HALF_LOG_2PI - math.log(h))
        return lp.to(x.dtype)

    def log_prob(self, x):
        return self.perturbed_log_prob(x)

    def perturbed_score(self, x, sigma, scale=1.0):
        with torch.no_grad():
            along, across, h, L = self._coords(x.detach(), float(sigma), float(scale))
            a, c = (L - along) / h, (-L - along) / h
            lm = log_phi_diff(a, c)
            # d/d along log(Phi(a) - Phi(c)) = (phi(c) - phi(a)) / (h (Phi(a) - Phi(c)))
            g_along = (torch.exp(-0.5 * c.square() - _HALF_LOG_2PI - lm)
                       - torch.exp(-0.5 * a.square() - _HALF_LOG_2PI - lm)) / h
            g_across = -across / (h * h)
            k = 1.0 / math.sqrt(2.0)
            out = torch.stack([(g_along - g_across) * k, (g_along + g_across) * k], 1)
            return out.to(x.dtype)

    def score(self, x):
        return self.perturbed_score(x, 0.0)

    def exact_perturbed(self):
        return True

    def sample(self, n, generator):
        dev = generator_device(generator)
        u = torch.rand(n, generator=generator, device=dev) * (2 * self.c) - self.c
        z = torch.randn(n, 2, generator=generator, device=dev)
        return torch.stack([u, u], 1) + self.blur * z


def build_line(spec, base_dir=None):
    return Segment(spec["half_width"], spec["blur"], spec.get("bounds"))


# --- sample-defined: two spirals, cos ---------------------------------------------------------------

def r_sequence(n: int, d: int) -> np.ndarray:
    """n points of the d-dimensional R_d low-discrepancy sequence in [0, 1)^d (Roberts 2018):
    deterministic and evenly spread, so the kernel density needs few centres."""
    g = 2.0
    for _ in range(40):                       # g: the root of g^(d+1) = g + 1
        g = (1.0 + g) ** (1.0 / (d + 1))
    alpha = (1.0 / g) ** np.arange(1, d + 1)
    return (0.5 + np.arange(1, n + 1)[:, None] * alpha) % 1.0


SPIRAL_CENTRES = 4000


def two_spirals_centres(n: int = SPIRAL_CENTRES) -> np.ndarray:
    """FFJORD's 2spirals without its Gaussian noise: t = sqrt(u) * 540 deg (in radians),
    arm (-t cos t + U[0, 0.5], t sin t + U[0, 0.5]) and its mirror image, all over 3."""
    q = r_sequence(n // 2, 3)
    t = np.sqrt(q[:, 0]) * 540 * (2 * np.pi) / 360
    arm = np.stack([-np.cos(t) * t + 0.5 * q[:, 1], np.sin(t) * t + 0.5 * q[:, 2]], 1)
    return np.concatenate([arm, -arm]) / 3.0


def build_two_spirals(spec, base_dir=None):
    h = float(spec["noise"])
    pts = two_spirals_centres()
    bounds = spec.get("bounds")
    if bounds is None:
        bounds = symmetric_bounds(float(np.abs(pts).max()) + 3.5 * h, 2)
    return KernelDensity(pts, h, bounds=bounds, kind="two_spirals",
                         score_source=f"Gaussian kernel density (bandwidth {h:g}, the generator's noise) "
                                      f"over {len(pts)} quasi-samples of FFJORD's 2spirals")


COS_CENTRES = 1500


def build_cos(spec, base_dir=None):
    """FFJORD's `cos`: x ~ U[-c, c], y = a sin(x) (sic: a sine), smoothed by `blur`."""
    c, a, h = float(spec["half_width"]), float(spec["amplitude"]), float(spec["blur"])
    xs = -c + (2 * c) * (np.arange(COS_CENTRES) + 0.5) / COS_CENTRES   # uniform in x, as the generator
    pts = np.stack([xs, a * np.sin(xs)], 1)
    bounds = spec.get("bounds")
    if bounds is None:
        bounds = symmetric_bounds(max(c, abs(a)) + 4 * h, 2)
    return KernelDensity(pts, h, bounds=bounds, kind="cos",
                         score_source=f"Gaussian kernel density (bandwidth {h:g}) over {COS_CENTRES} "
                                      f"points of the curve y = {a:g} sin x, uniform in x")
