"""The density library: exact scores, perturbed scores, samplers, derived bounds, errors."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from explorer.core.densities import Density, KernelDensity, build_density
from explorer.core.densities.params import DENSITY_KINDS, DIM_OF_KIND
from explorer.core.errors import SpecError

# --- the densities under test ------------------------------------------------------------------

COV3 = [[2.0, 0.3, 0.1], [0.3, 1.0, 0.2], [0.1, 0.2, 0.5]]
SPECS = {
    "gaussian_1d": {"kind": "gaussian", "mean": [0.5], "std": 0.7},
    "gaussian_2d": {"kind": "gaussian", "mean": [1.0, -1.0], "covariance": [[1.0, 0.6], [0.6, 2.0]]},
    "gaussian_3d": {"kind": "gaussian", "mean": [0.0, 1.0, 2.0], "covariance": COV3},
    "mixture": {"kind": "mixture"},
    "mixture_1d": {"kind": "mixture", "weights": [1.0, 2.0, 1.0], "means": [[-3.0], [0.0], [4.0]],
                   "covariances": [[[0.5]], [[1.0]], [[0.3]]]},
    "mixture_2d_cov": {"kind": "mixture", "weights": [0.3, 0.7], "means": [[-2.0, 0.0], [2.0, 1.0]],
                       "covariances": [[[1.0, 0.5], [0.5, 0.8]], [[0.4, -0.1], [-0.1, 0.3]]]},
    "mixture_3d_cov": {"kind": "mixture", "weights": [1.0, 1.0], "means": [[0.0, 0.0, 0.0], [3.0, -1.0, 1.0]],
                       "covariances": [COV3, [[0.5, 0.0, 0.0], [0.0, 0.5, 0.1], [0.0, 0.1, 0.4]]]},
    **{k: {"kind": k} for k in DENSITY_KINDS if k not in ("gaussian", "mixture", "image", "points")},
    "checkerboard_wide_blur": {"kind": "checkerboard", "cells": 3, "size": 2.0, "blur": 0.4},
    "image": {"kind": "image", "path": "shape.png", "blur": 0.1},
    "points_csv": {"kind": "points", "path": "cloud.csv", "bandwidth": 0.2},
    "points_npy_3d": {"kind": "points", "path": "cloud3.npy", "bandwidth": 0.3},
    "points_npy_1d": {"kind": "points", "path": "line.npy", "bandwidth": 0.25},
}


def _write_png(path, array):
    from PIL import Image
    Image.fromarray(np.asarray(array, dtype=np.uint8)).save(path)


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory):
    d = tmp_path_factory.mktemp("data")
    img = np.zeros((40, 60), dtype=np.uint8)
    img[5:20, 10:25] = 255  # a bright square, top left
    img[25:35, 35:55] = 120  # a dimmer bar, bottom right
    _write_png(d / "shape.png", img)
    rng = np.random.default_rng(0)
    pts = rng.normal(size=(300, 2)) * [1.5, 0.5] + [1.0, -1.0]
    (d / "cloud.csv").write_text("x,y\n" + "\n".join(f"{a:.6f},{b:.6f}" for a, b in pts) + "\n")
    np.save(d / "cloud3.npy", rng.normal(size=(200, 3)).astype(np.float32))
    np.save(d / "line.npy", np.concatenate([rng.normal(-2, 0.5, 100), rng.normal(2, 0.3, 50)]))
    return d


_cache: dict = {}


def density(name, data_dir) -> Density:
    if name not in _cache:
        _cache[name] = build_density(dict(SPECS[name]), data_dir)
    return _cache[name]


def points_around(dens, n, factor, seed=0, dtype=torch.float64):
    """Uniform points on the bounds box scaled by `factor` about its centre."""
    g = torch.Generator().manual_seed(seed)
    b = torch.as_tensor(dens.bounds, dtype=torch.float64)
    mid, half = b.mean(1), (b[:, 1] - b[:, 0]) / 2
    u = torch.rand(n, dens.dim, generator=g, dtype=torch.float64) * 2 - 1
    return (mid + factor * half * u).to(dtype)


def corners(dens, factor, dtype=torch.float64):
    b = torch.as_tensor(dens.bounds, dtype=torch.float64)
    mid, half = b.mean(1), (b[:, 1] - b[:, 0]) / 2
    signs = torch.cartesian_prod(*[torch.tensor([-1.0, 1.0], dtype=torch.float64)] * dens.dim)
    return (mid + factor * half * signs.reshape(-1, dens.dim)).to(dtype)


def autograd_score(fn, x):
    x = x.clone().requires_grad_(True)
    return torch.autograd.grad(fn(x).sum(), x)[0]


def assert_scores_close(s, ref, rtol=1e-4, floor=0.0):
    """Error relative to each row's largest component (at least 1e-3, and at least `floor`
    times the median row size: float32 is compared with a floor, where the score is ~0)."""
    size = ref.abs().amax(dim=1, keepdim=True)
    scale = size.clamp(min=max(1e-3, floor * size.median().item()))
    err = ((s - ref).abs() / scale).max().item()
    assert err < rtol, f"max relative error {err:.3g}"


ALL = list(SPECS)


# --- score = grad log p --------------------------------------------------------------------------

@pytest.mark.parametrize("name", ALL)
def test_score_equals_autograd_of_log_prob(name, data_dir):
    d = density(name, data_dir)
    x = torch.cat([points_around(d, 300, 1.0), points_around(d, 100, 3.0, seed=1),
                   d.sample(200, torch.Generator().manual_seed(3)).double()])
    s = d.score(x)
    assert s.shape == x.shape and s.dtype == torch.float64
    assert_scores_close(s, autograd_score(d.log_prob, x))


@pytest.mark.parametrize("name", ALL)
def test_float32_in_float32_out_and_stable_far_away(name, data_dir):
    d = density(name, data_dir)
    x = torch.cat([points_around(d, 200, 1.0), points_around(d, 200, 3.0, seed=2),
                   corners(d, 1.0), corners(d, 3.0)])
    s32 = d.score(x.float())
    lp32 = d.log_prob(x.float())
    assert s32.dtype == torch.float32 and lp32.dtype == torch.float32
    assert s32.shape == x.shape and lp32.shape == (x.shape[0],)
    assert torch.isfinite(s32).all() and torch.isfinite(lp32).all()
    assert_scores_close(s32.double(), d.score(x), rtol=2e-3, floor=0.01)
    ps = d.perturbed_score(x.float(), 0.5)
    assert ps.dtype == torch.float32 and torch.isfinite(ps).all()


@pytest.mark.parametrize("name", ALL)
def test_samples_shape_dtype_device_and_seed(name, data_dir):
    d = density(name, data_dir)
    a = d.sample(257, torch.Generator().manual_seed(7))
    b = d.sample(257, torch.Generator().manual_seed(7))
    c = d.sample(257, torch.Generator().manual_seed(8))
    assert a.shape == (257, d.dim) and a.dtype == torch.float32 and a.device.type == "cpu"
    assert torch.isfinite(a).all()
    assert torch.equal(a, b) and not torch.equal(a, c)
    assert d.sample(0, torch.Generator()).shape == (0, d.dim)
    assert isinstance(d.score_source, str) and d.score_source
    assert d.bounds.shape == (d.dim, 2) and np.all(d.bounds[:, 0] < d.bounds[:, 1])


def _cells_tv(d, samples, bins, sub):
    """Total variation between the samples' histogram and p integrated over the bounds' cells."""
    b = d.bounds
    dim = d.dim
    edges = [np.linspace(lo, hi, bins + 1) for lo, hi in b]
    fine = [np.linspace(lo, hi, bins * sub + 1) for lo, hi in b]
    mids = [(f[:-1] + f[1:]) / 2 for f in fine]
    grid = np.stack(np.meshgrid(*mids, indexing="ij"), -1).reshape(-1, dim)
    lp = d.log_prob(torch.as_tensor(grid)).numpy()
    p = np.exp(lp - lp.max()).reshape([bins, sub] * dim if dim > 1 else [bins, sub])
    p = p.reshape(*[x for _ in range(dim) for x in (bins, sub)])
    p = p.sum(axis=tuple(range(1, 2 * dim, 2)))
    p = p / p.sum()
    s = samples.double().numpy()
    inside = np.all((s >= b[:, 0]) & (s <= b[:, 1]), axis=1)
    h, _ = np.histogramdd(s[inside], bins=edges)
    h = h / h.sum()
    return 0.5 * np.abs(h - p).sum()


@pytest.mark.parametrize("name", ALL)
def test_samples_follow_the_density(name, data_dir):
    d = density(name, data_dir)
    n = 40000
    x = d.sample(n, torch.Generator().manual_seed(11))
    bins, sub, tol = {1: (60, 8, 0.03), 2: (24, 4, 0.05), 3: (10, 3, 0.06)}[d.dim]
    tv = _cells_tv(d, x, bins, sub)
    assert tv < tol, f"total variation {tv:.3f} between samples and density"


# --- mixtures --------------------------------------------------------------------------------------

def explicit_mixture_log_prob(w, means, covs):
    w = torch.as_tensor(w, dtype=torch.float64)
    mvn = torch.distributions.MultivariateNormal(torch.as_tensor(means, dtype=torch.float64),
                                                 covariance_matrix=torch.as_tensor(covs, dtype=torch.float64))

    def f(x):
        return torch.logsumexp(mvn.log_prob(x.unsqueeze(1)) + torch.log(w / w.sum()), dim=1)
    return f


MIXTURES = ["gaussian_1d", "gaussian_2d", "gaussian_3d", "mixture", "mixture_1d", "mixture_2d_cov",
            "mixture_3d_cov"]


@pytest.mark.parametrize("name", MIXTURES)
def test_mixture_log_prob_and_components(name, data_dir):
    d = density(name, data_dir)
    w, m, c = d.components()
    assert isinstance(w, np.ndarray) and abs(w.sum() - 1) < 1e-12
    assert m.shape == (len(w), d.dim) and c.shape == (len(w), d.dim, d.dim)
    assert d.exact_perturbed()
    x = points_around(d, 200, 2.0)
    torch.testing.assert_close(d.log_prob(x), explicit_mixture_log_prob(w, m, c)(x), rtol=1e-10, atol=1e-9)


@pytest.mark.parametrize("name", MIXTURES)
@pytest.mark.parametrize("sigma,scale", [(0.5, 1.0), (3.0, 1.0), (0.3, 0.8), (0.99, 0.1), (0.0, 0.7)])
def test_mixture_perturbed_score_is_the_explicit_perturbed_mixture(name, sigma, scale, data_dir):
    d = density(name, data_dir)
    w, m, c = d.components()
    ref = explicit_mixture_log_prob(w, scale * m, scale ** 2 * c + sigma ** 2 * np.eye(d.dim))
    x = torch.cat([points_around(d, 200, 1.0), points_around(d, 50, 3.0, seed=4)])
    assert_scores_close(d.perturbed_score(x, sigma, scale), autograd_score(ref, x), rtol=1e-6)
    s32 = d.perturbed_score(x.float(), sigma, scale)
    assert s32.dtype == torch.float32
    assert_scores_close(s32.double(), autograd_score(ref, x), rtol=2e-3, floor=0.02)


def test_two_mode_mixture_sample_statistics():
    d = build_density({"kind": "mixture", "weights": [0.2, 0.8], "means": [[-5.0, -5.0], [5.0, 5.0]],
                       "stds": [1.0, 1.0]})
    x = d.sample(20000, torch.Generator().manual_seed(0)).double()
    frac = (x.sum(1) > 0).double().mean().item()
    assert abs(frac - 0.8) < 0.02
    mean = np.array([3.0, 3.0])  # 0.2 * (-5) + 0.8 * 5
    cov = np.eye(2) + 0.2 * 0.8 * np.outer([10.0, 10.0], [10.0, 10.0])
    assert np.allclose(x.mean(0).numpy(), mean, atol=0.1)
    assert np.allclose(np.cov(x.numpy().T), cov, rtol=0.05, atol=0.1)
    # responsibilities assign each particle to its mode
    r = d.responsibilities(x)
    assert abs(r.argmax(1).double().mean().item() - frac) < 1e-3


@pytest.mark.parametrize("name", ["gaussian_3d", "mixture_1d", "mixture_2d_cov", "mixture_3d_cov"])
def test_full_covariance_sample_moments(name, data_dir):
    d = density(name, data_dir)
    w, m, c = d.components()
    mean = w @ m
    cov = np.einsum("k,kij->ij", w, c + np.einsum("ki,kj->kij", m, m)) - np.outer(mean, mean)
    x = d.sample(40000, torch.Generator().manual_seed(5)).double().numpy()
    sd = np.sqrt(np.diag(cov))
    assert np.all(np.abs(x.mean(0) - mean) < 4 * sd / np.sqrt(len(x)))
    assert np.allclose(np.cov(x.T).reshape(cov.shape), cov, atol=0.03 * sd.max() ** 2)


def test_mixture_derived_bounds_cover_the_modes():
    d = build_density({"kind": "mixture", "weights": [0.2, 0.8], "means": [[-5.0, -5.0], [5.0, 5.0]]})
    assert np.all(d.bounds[:, 0] <= -9) and np.all(d.bounds[:, 0] >= -10.5)
    assert np.all(d.bounds[:, 1] >= 9) and np.all(d.bounds[:, 1] <= 10.5)
    g = build_density({"kind": "gaussian", "mean": [2.0], "std": 0.5})
    assert g.bounds[0, 0] <= 0 and g.bounds[0, 1] >= 4
    given = build_density({"kind": "mixture", "bounds": [[-8.0, 8.0], [-7.0, 7.0]]})
    assert given.bounds.tolist() == [[-8.0, 8.0], [-7.0, 7.0]]


def test_mixture_score_is_stable_very_far_away():
    d = build_density({"kind": "mixture", "stds": [0.05, 0.05]})
    x = torch.tensor([[1e3, -1e3], [0.0, 0.0], [-300.0, 250.0]])
    s = d.score(x)
    assert torch.isfinite(s).all()
    # far away the score points back towards the mass
    assert (s * x).sum(1)[0] < 0


# --- kernel densities ------------------------------------------------------------------------------

def explicit_kernel_log_prob(centres, weights, h):
    c = torch.as_tensor(centres, dtype=torch.float64)
    lw = torch.log(torch.as_tensor(weights, dtype=torch.float64))
    d = c.shape[1]

    def f(x):
        d2 = (x.unsqueeze(1) - c).pow(2).sum(-1)
        return torch.logsumexp(lw - d2 / (2 * h * h), dim=1) - 0.5 * d * math.log(2 * math.pi * h * h)
    return f


@pytest.mark.parametrize("dim", [1, 2, 3])
@pytest.mark.parametrize("sigma,scale", [(0.0, 1.0), (0.4, 1.0), (2.0, 1.0), (0.3, 0.6), (0.995, 0.1)])
def test_kernel_perturbed_score_is_the_widened_kernel_mixture(dim, sigma, scale):
    rng = np.random.default_rng(dim)
    c = rng.normal(size=(300, dim)) * 2 + 1.5
    w = rng.uniform(0.1, 1.0, 300)
    h = 0.2
    kde = KernelDensity(c, h, weights=w)
    ref = explicit_kernel_log_prob(scale * c, w / w.sum(), math.sqrt(scale ** 2 * h ** 2 + sigma ** 2))
    x = torch.cat([points_around(kde, 200, 1.0), points_around(kde, 50, 3.0, seed=1)])
    assert_scores_close(kde.perturbed_score(x, sigma, scale), autograd_score(ref, x), rtol=1e-6)
    torch.testing.assert_close(kde.perturbed_log_prob(x, sigma, scale), ref(x), rtol=1e-9, atol=1e-9)
    s32 = kde.perturbed_score(x.float(), sigma, scale)
    assert s32.dtype == torch.float32
    assert_scores_close(s32.double(), autograd_score(ref, x), rtol=2e-3, floor=0.02)
    assert kde.exact_perturbed()


def test_kernel_small_bandwidth_float32_stays_accurate():
    rng = np.random.default_rng(3)
    c = rng.uniform(-4, 4, size=(500, 2))
    kde = KernelDensity(c, 0.01)
    x = torch.as_tensor(c[:100] + rng.normal(size=(100, 2)) * 0.01)
    ref = kde.score(x)
    assert_scores_close(kde.score(x.float()).double(), ref, rtol=1e-3, floor=0.01)


def test_kernel_many_centres_are_chunked():
    rng = np.random.default_rng(4)
    c = rng.normal(size=(6000, 2))
    kde = KernelDensity(c, 0.3)
    x = torch.as_tensor(rng.normal(size=(700, 2)) * 2)  # 700 x 6000 > one chunk
    ref = explicit_kernel_log_prob(c, np.full(6000, 1 / 6000), 0.3)
    torch.testing.assert_close(kde.log_prob(x), ref(x), rtol=1e-9, atol=1e-9)
    assert_scores_close(kde.score(x), autograd_score(ref, x), rtol=1e-6)


def test_kernel_sampling_uses_weights():
    kde = KernelDensity([[-3.0, 0.0], [3.0, 0.0]], 0.1, weights=[1.0, 3.0])
    x = kde.sample(20000, torch.Generator().manual_seed(0))
    assert abs((x[:, 0] > 0).float().mean().item() - 0.75) < 0.02
    assert abs(x[x[:, 0] > 0, 1].std().item() - 0.1) < 0.005


@pytest.mark.parametrize("kind,h", [("moons", 0.15), ("swiss_roll", 0.2), ("spirals", 0.15),
                                    ("helix", 0.15), ("pinwheel", 0.1)])
def test_sample_defined_shapes_are_kernel_densities(kind, h):
    d = build_density({"kind": kind})
    assert isinstance(d, KernelDensity) and d.kind == kind
    assert d.score_source == f"Gaussian kernel density, bandwidth {h:g}"
    assert 500 <= d.n_centres <= 4000
    assert d.exact_perturbed()
    b = d.bounds
    assert np.all(b[:, 0] >= -5) and np.all(b[:, 1] <= 5)  # about [-4, 4] with the defaults
    centre = d.centres.mean(0)
    assert np.all(np.abs(centre) < 1.0)
    again = build_density({"kind": kind})
    assert np.array_equal(again.centres, d.centres)  # deterministic


def test_funnel_default_bounds_and_finite_score():
    d = build_density({"kind": "funnel"})
    assert d.bounds.tolist() == [[-6.0, 6.0], [-5.0, 5.0]]
    x = torch.tensor([[6.0, -5.0], [18.0, -15.0], [0.0, -200.0], [50.0, -200.0], [1e4, 30.0]])
    assert torch.isfinite(d.score(x)).all() and torch.isfinite(d.log_prob(x)).all()


def test_checkerboard_mass_is_on_the_dark_squares():
    d = build_density({"kind": "checkerboard"})
    x = d.sample(5000, torch.Generator().manual_seed(0))
    i = torch.floor((x[:, 0] + 4) / 2)
    j = torch.floor((x[:, 1] + 4) / 2)
    inside = (i >= 0) & (i < 4) & (j >= 0) & (j < 4)
    assert ((i + j)[inside] % 2 == 0).float().mean() > 0.95
    lp = d.log_prob(torch.tensor([[-3.0, -3.0], [-1.0, -3.0]]))
    assert lp[0] > lp[1] + 10


# --- data files ----------------------------------------------------------------------------------

def test_image_density_maps_pixels_onto_bounds(data_dir):
    d = density("image", data_dir)
    assert d.kind == "image" and d.score_source == "smoothed image, blur 0.1"
    assert d.bounds.tolist() == [[-4.0, 4.0], [-4.0, 4.0]]
    # 60 x 40 pixels into an 8 x 8 box: pixel 8/60, image spans y in [-8/3, 8/3]
    assert d.centres[:, 1].max() < 8 / 3 and d.centres[:, 1].min() > -8 / 3
    x = d.sample(20000, torch.Generator().manual_seed(0))
    bright = (x[:, 0] < 0) & (x[:, 1] > 0)  # the square is in the top-left quadrant
    # mass 225 * 255 against 200 * 120
    assert abs(bright.float().mean().item() - 225 * 255 / (225 * 255 + 200 * 120)) < 0.02
    inv = build_density({"kind": "image", "path": "shape.png", "invert": True}, data_dir)
    assert inv.n_centres == 60 * 40 - 225  # every pixel but the pure white ones


def test_image_is_downsampled_and_keeps_its_aspect(tmp_path):
    img = np.zeros((100, 300), dtype=np.uint8)
    img[40:60, 100:200] = 255
    _write_png(tmp_path / "wide.png", img)
    d = build_density({"kind": "image", "path": str(tmp_path / "wide.png"), "blur": 0.01,
                       "bounds": [[0.0, 12.0], [-2.0, 2.0]]})
    px = 4.0 / 32  # 300 x 100 -> 96 x 32 pixels, the height fills the box
    assert d.bandwidth == pytest.approx(px / 2)
    assert d.score_source == f"smoothed image, blur {px / 2:.3g}"
    assert d.centres[:, 0].min() > 6 - 48 * px and d.centres[:, 0].max() < 6 + 48 * px
    assert abs(d.centres[:, 0].mean() - 6.0) < 0.1 and abs(d.centres[:, 1].mean()) < 0.1


def test_points_from_csv_and_npy(data_dir, tmp_path):
    d = density("points_csv", data_dir)
    assert d.dim == 2 and d.n_centres == 300 and d.kind == "points"
    assert d.score_source == "Gaussian kernel density, bandwidth 0.2"
    lo, hi = d.centres.min(0), d.centres.max(0)
    assert np.all(d.bounds[:, 0] <= lo - 0.1 * (hi - lo) - 0.6 + 1e-9)
    assert np.all(d.bounds[:, 1] >= hi + 0.1 * (hi - lo) + 0.6 - 1e-9)
    assert np.all(d.bounds[:, 0] >= lo - 0.2 * (hi - lo) - 1.5)
    assert density("points_npy_3d", data_dir).dim == 3
    assert density("points_npy_1d", data_dir).dim == 1
    (tmp_path / "ws.txt").write_text("# comment\n1 2\n3\t4\n\n5 6\n")
    w = build_density({"kind": "points", "path": "ws.txt"}, tmp_path)
    assert w.centres.tolist() == [[1, 2], [3, 4], [5, 6]]
    (tmp_path / "one.csv").write_text("v\n1.5\n2.5\n")
    assert build_density({"kind": "points", "path": "one.csv"}, tmp_path).dim == 1


# --- errors ----------------------------------------------------------------------------------------

def _bad_files(tmp):
    (tmp / "text.png").write_text("not an image")
    _write_png(tmp / "black.png", np.zeros((10, 10)))
    _write_png(tmp / "white.png", np.full((10, 10), 255))
    (tmp / "nan.csv").write_text("x,y\n" + "1,2\n" * 16 + "nan,3\n")
    (tmp / "inf.csv").write_text("1,2\n3,inf\n")
    (tmp / "cols.csv").write_text("1,2,3,4\n5,6,7,8\n")
    (tmp / "ragged.csv").write_text("1,2\n3,4,5\n")
    (tmp / "word.csv").write_text("x,y\n1,2\n3,abc\n")
    (tmp / "single.csv").write_text("1,2\n")
    (tmp / "empty.csv").write_text("")
    (tmp / "garbage.npy").write_bytes(b"\x00\x01garbage")
    np.save(tmp / "cube.npy", np.zeros((4, 2, 2)))
    np.save(tmp / "nan.npy", np.array([[0.0, 1.0], [np.nan, 2.0]]))
    np.save(tmp / "strings.npy", np.array(["a", "b"]))
    (tmp / "binary.csv").write_bytes(b"\xff\xfe\x00\x81")


ERRORS = [
    ({"kind": "mixture", "stds": [1.0, 1.0, 1.0]}, "density.stds", "has 3 entries but there are 2 means"),
    ({"kind": "mixture", "weights": [1.0, 1.0, 1.0]}, "density.weights", "has 3 entries but there are 2 means"),
    ({"kind": "mixture", "covariances": [[[1.0, 0.0], [0.0, 1.0]]]}, "density.covariances", "1 entries"),
    ({"kind": "mixture", "covariances": [[[1.0, 0.0], [0.0, 1.0]], [[1.0]]]}, "density.covariances[1]", "1 x 1"),
    ({"kind": "mixture", "covariances": [[[1.0, 0.0], [0.0, 1.0]], [[1.0, 2.0], [2.0, 1.0]]]},
     "density.covariances[1]", "positive definite"),
    ({"kind": "mixture", "covariances": [[[1.0, 0.5], [0.0, 1.0]], [[1.0, 0.0], [0.0, 1.0]]]},
     "density.covariances[0]", "not symmetric"),
    ({"kind": "mixture", "stds": [1.0, 1.0], "covariances": [[[1.0]], [[1.0]]]}, "density.covariances", "not both"),
    ({"kind": "mixture", "means": [[0.0, 0, 0, 0], [1.0, 1, 1, 1]]}, "density.means", "1, 2 or 3"),
    ({"kind": "mixture", "stds": [1.0, -1.0]}, "density.stds[1]", "greater than 0"),
    ({"kind": "mixture", "weights": [0.0, 1.0]}, "density.weights[0]", "greater than 0"),
    ({"kind": "gaussian", "mean": [0.0, 0.0, 0.0, 0.0]}, "density.mean", "1, 2 or 3"),
    ({"kind": "gaussian", "covariance": [[1.0, 0.0], [0.0, -1.0]]}, "density.covariance", "positive definite"),
    ({"kind": "gaussian", "mean": [0.0], "covariance": [[1.0, 0.0], [0.0, 1.0]]}, "density.covariance", "1-D"),
    ({"kind": "gaussian", "covariance": [[1.0, 0.1], [0.2, 1.0]]}, "density.covariance", "not symmetric"),
    ({"kind": "mixture", "bounds": [[-1.0, 1.0]]}, "density.bounds", "2 rows"),
    ({"kind": "ring", "bounds": [[-1.0, 1.0], [-1.0, 1.0], [-1.0, 1.0]]}, "density.bounds", "2 rows"),
    ({"kind": "ring", "bounds": [[1.0, -1.0], [-1.0, 1.0]]}, "density.bounds[0]", "below"),
    ({"kind": "torus", "bounds": [[-1.0, 1.0], [-1.0, 1.0], [2.0, 2.0]]}, "density.bounds[2]", "below"),
    ({"kind": "sphere_shell", "bounds": [[-1.0, 1.0], [-1.0, 1.0]]}, "density.bounds", "3 rows"),
    ({"kind": "nope"}, "density.kind", "unknown density kind"),
    ({"kind": "ring", "radius": 2.0, "stds": [1.0]}, "density.stds", "unknown key"),
    ({"kind": "ring", "width": 0.0}, "density.width", "greater than 0"),
    ({"kind": "image"}, "density.path", "is required"),
    ({"kind": "image", "path": "missing.png"}, "density.path", "no such file"),
    ({"kind": "image", "path": "."}, "density.path", "folder"),
    ({"kind": "image", "path": "text.png"}, "density.path", "cannot read as an image"),
    ({"kind": "image", "path": "black.png"}, "density.path", "has no bright pixels: nothing to learn"),
    ({"kind": "image", "path": "white.png", "invert": True}, "density.path", "nothing to learn"),
    ({"kind": "image", "path": "black.png", "bounds": [[0.0, 1.0]]}, "density.bounds", "2 rows"),
    ({"kind": "points", "path": "missing.csv"}, "density.path", "no such file"),
    ({"kind": "points", "path": "nan.csv"}, "density.path", "row 17 (line 18) has a NaN"),
    ({"kind": "points", "path": "inf.csv"}, "density.path", "row 2 (line 2) has an infinite value"),
    ({"kind": "points", "path": "cols.csv"}, "density.path", "has 4 columns"),
    ({"kind": "points", "path": "ragged.csv"}, "density.path", "row 2 (line 2) has 3 values"),
    ({"kind": "points", "path": "word.csv"}, "density.path", "cannot read field 2 as a number"),
    ({"kind": "points", "path": "single.csv"}, "density.path", "need at least 2"),
    ({"kind": "points", "path": "empty.csv"}, "density.path", "no rows of numbers"),
    ({"kind": "points", "path": "binary.csv"}, "density.path", "cannot read"),
    ({"kind": "points", "path": "garbage.npy"}, "density.path", "cannot read as a .npy file"),
    ({"kind": "points", "path": "cube.npy"}, "density.path", "n x d"),
    ({"kind": "points", "path": "nan.npy"}, "density.path", "row 2 has a NaN"),
    ({"kind": "points", "path": "strings.npy"}, "density.path", "not real numbers"),
    ({"kind": "points", "path": "nan.csv", "bandwidth": -1.0}, "density.bandwidth", "greater than 0"),
]


@pytest.mark.parametrize("spec,key,message", ERRORS, ids=[f"{e[0]['kind']}-{e[1]}-{e[2][:20]}" for e in ERRORS])
def test_bad_specs_raise_spec_error_naming_the_key(spec, key, message, tmp_path):
    _bad_files(tmp_path)
    with pytest.raises(SpecError) as info:
        build_density(spec, tmp_path)
    assert info.value.key == key, str(info.value)
    assert message in info.value.message, str(info.value)


def test_registry_covers_every_kind_and_dimension():
    from explorer.core.plugins.registry import REGISTRY
    builtins = [e.name for e in REGISTRY.entries("density").values() if e.builtin]
    assert builtins == list(DENSITY_KINDS)   # every kind of params.py, through its entry point
    for kind, dim in DIM_OF_KIND.items():
        if kind != "image":
            assert build_density({"kind": kind}).dim == dim


def test_preset_loader_builds_and_fills_bounds():
    pytest.importorskip("tomli_w")
    from explorer.core.presets import preset
    p = preset.parse({"density": {"kind": "ring", "radius": 2.0}})
    assert p.density["bounds"] == [[-3.5, 3.5], [-3.5, 3.5]]
    with pytest.raises(SpecError) as info:
        preset.parse({"density": {"kind": "mixture", "stds": [1.0, 2.0, 3.0]}}, source="x.toml")
    assert info.value.key == "density.stds" and info.value.path == "x.toml"


# --- devices ---------------------------------------------------------------------------------------

@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device")
@pytest.mark.parametrize("name", ["mixture", "mixture_3d_cov", "ring", "moons", "checkerboard", "torus",
                                  "funnel", "banana", "pinwheel"])
def test_cuda_generator_samples_and_scores_on_the_gpu(name, data_dir):
    d = density(name, data_dir)
    g = torch.Generator(device="cuda").manual_seed(0)
    x = d.sample(512, g)
    assert x.device.type == "cuda" and x.dtype == torch.float32
    assert torch.equal(x, d.sample(512, torch.Generator(device="cuda").manual_seed(0)))
    s = d.score(x)
    assert s.device.type == "cuda"
    assert_scores_close(s.double().cpu(), d.score(x.cpu().double()), rtol=2e-3, floor=0.01)
    assert d.perturbed_score(x, 0.5).device.type == "cuda"
