"""The standard toy densities (densities/toys.py) against independent computations: the
reference generators re-written here from FFJORD's lib/toy_data.py, quadratures of the
convolutions that define them, autograd of their log densities, and their preset keys.
(The generic checks of every registered density, tests/test_densities.py, cover them too.)"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from explorer.core.densities import build_density
from explorer.core.errors import SpecError

TOYS = ["eight_gaussians", "circles", "rings", "two_spirals", "cos", "line"]


# --- FFJORD's generators, written out from lib/toy_data.py (numpy, independent of the library) ---

def ffjord(name: str, n: int, rng: np.random.RandomState) -> np.ndarray:
    if name == "eight_gaussians":
        c = 1 / np.sqrt(2)
        centres = 4.0 * np.array([(1, 0), (-1, 0), (0, 1), (0, -1), (c, c), (c, -c), (-c, c), (-c, -c)])
        x = rng.randn(n, 2) * 0.5 + centres[rng.randint(8, size=n)]
        return x / 1.414
    if name == "circles":      # sklearn make_circles(factor=.5, noise=.08) * 3
        outer = n // 2
        t = rng.rand(n) * 2 * np.pi
        r = np.where(np.arange(n) < outer, 1.0, 0.5)
        x = np.stack([r * np.cos(t), r * np.sin(t)], 1) + rng.randn(n, 2) * 0.08
        return x * 3
    if name == "rings":
        t = rng.rand(n) * 2 * np.pi
        r = np.array([1.0, 0.75, 0.5, 0.25])[np.arange(n) % 4]
        return np.stack([r * np.cos(t), r * np.sin(t)], 1) * 3.0 + rng.normal(scale=0.08, size=(n, 2))
    if name == "two_spirals":
        m = n // 2
        t = np.sqrt(rng.rand(m, 1)) * 540 * (2 * np.pi) / 360
        d1x = -np.cos(t) * t + rng.rand(m, 1) * 0.5
        d1y = np.sin(t) * t + rng.rand(m, 1) * 0.5
        x = np.vstack((np.hstack((d1x, d1y)), np.hstack((-d1x, -d1y)))) / 3
        return x + rng.randn(*x.shape) * 0.1
    if name == "cos":          # FFJORD adds no noise; the density smooths by blur = 0.1
        x = rng.rand(n) * 5 - 2.5
        return np.stack((x, np.sin(x) * 2.5), 1) + rng.randn(n, 2) * 0.1
    if name == "line":
        x = rng.rand(n) * 5 - 2.5
        return np.stack((x, x), 1) + rng.randn(n, 2) * 0.1
    raise KeyError(name)


def hist_tv(a: np.ndarray, b: np.ndarray, box: float, bins: int = 24) -> float:
    edges = np.linspace(-box, box, bins + 1)
    ha, _, _ = np.histogram2d(a[:, 0], a[:, 1], bins=[edges, edges])
    hb, _, _ = np.histogram2d(b[:, 0], b[:, 1], bins=[edges, edges])
    return 0.5 * np.abs(ha / len(a) - hb / len(b)).sum()


@pytest.mark.parametrize("name", TOYS)
def test_samples_match_the_reference_generator(name):
    """Our sampler's law and FFJORD's generator's agree: 2-D histogram TV near the noise of two
    independent 60k-sample histograms (about 0.02 here)."""
    d = build_density({"kind": name})
    n = 60_000
    ours = d.sample(n, torch.Generator().manual_seed(5)).double().numpy()
    ref = ffjord(name, n, np.random.RandomState(6))
    box = float(np.abs(d.bounds).max())
    tv = hist_tv(ours, ref, box)
    noise = hist_tv(ffjord(name, n, np.random.RandomState(7)), ref, box)
    assert tv < noise + 0.02, f"{name}: TV {tv:.3f} against the reference, noise {noise:.3f}"


def test_eight_gaussians_is_ffjords_mixture():
    d = build_density({"kind": "eight_gaussians"})
    w, means, covs = d.components()
    assert np.allclose(w, 1 / 8)
    assert np.allclose(np.linalg.norm(means, axis=1), 4 / 1.414)
    assert np.allclose(covs, (0.5 / 1.414) ** 2 * np.eye(2))
    x = d.sample(80_000, torch.Generator().manual_seed(1)).double().numpy()
    nearest = np.argmin(((x[:, None, :] - means[None]) ** 2).sum(-1), 1)
    frac = np.bincount(nearest, minlength=8) / len(x)
    assert np.all(np.abs(frac - 1 / 8) < 0.006), frac
    # torchcfm's eight Gaussians through the keys
    t = build_density({"kind": "eight_gaussians", "radius": 5.0, "std": 0.1 ** 0.25})
    assert np.allclose(np.linalg.norm(t.components()[1], axis=1), 5.0)


def test_eight_gaussians_exact_score_sampling_puts_an_eighth_in_each_cluster():
    """The judged figure: exact-score sampling (annealed Langevin, and the probability-flow
    ODE) puts 1/8 of the particles in each cluster."""
    import explorer.api as se
    from explorer.core.measures import metrics as M
    from explorer.core.presets import preset as P
    for objective in ("ncsn", "sde"):
        spec = {"name": "8g", "density": {"kind": "eight_gaussians"}, "objective": {"kind": objective},
                "model": {"hidden": [16]}, "training": {"steps": 0, "seed": 3},
                "sampler": {"score": "true", "particles": 4000}}
        if objective == "sde":
            spec["sampler"].update(kind="ode", steps=40)
        else:   # annealed Langevin: the last level's step eps below 2 sigma_min^2 (0.02) to be stable
            spec["sampler"].update(step_size=0.005, steps=20)
        run = se.train(P.parse(spec), steps=0)
        x = se.sample(run)
        w = M.mode_weights(x, run.trainer.density.components())
        assert np.all(np.abs(np.asarray(w) - 1 / 8) < 0.02), (objective, w)


# --- exact densities against quadratures of the convolutions that define them ---------------------

def circle_quadrature(x: np.ndarray, radii, weights, s: float, m: int = 4000) -> np.ndarray:
    """log sum_k w_k mean_u N(x; r_k u, s^2 I), u on m equally spaced angles (spectrally exact)."""
    a = 2 * np.pi * (np.arange(m) + 0.5) / m
    out = np.zeros(len(x))
    for r, w in zip(radii, weights):
        c = np.stack([r * np.cos(a), r * np.sin(a)], 1)
        d2 = ((x[:, None, :] - c[None]) ** 2).sum(-1)
        out += w * np.exp(-d2 / (2 * s * s)).mean(1) / (2 * np.pi * s * s)
    return np.log(out)


@pytest.mark.parametrize("spec,radii,weights,s", [
    ({"kind": "circles"}, [3.0, 1.5], [0.5, 0.5], 0.24),
    ({"kind": "rings"}, [3.0, 2.25, 1.5, 0.75], [0.25] * 4, 0.08),
    ({"kind": "rings", "rings": 2, "radius": 2.0, "noise": 0.3}, [2.0, 1.0], [0.5, 0.5], 0.3),
])
def test_circles_and_rings_are_the_convolved_circles(spec, radii, weights, s):
    d = build_density(spec)
    x = torch.cat([torch.rand(400, 2, generator=torch.Generator().manual_seed(0), dtype=torch.float64) * 8 - 4,
                   d.sample(200, torch.Generator().manual_seed(1)).double(),
                   torch.zeros(1, 2, dtype=torch.float64)])
    ref = circle_quadrature(x.numpy(), radii, weights, s)
    assert np.allclose(d.log_prob(x).numpy(), ref, atol=1e-8)
    # perturbed: the noise widens to sqrt(scale^2 s^2 + sigma^2), the radii scale
    sigma, scale = 0.7, 0.6
    ref_p = circle_quadrature(x.numpy(), [scale * r for r in radii], weights, math.hypot(scale * s, sigma))
    assert np.allclose(d.perturbed_log_prob(x, sigma, scale).numpy(), ref_p, atol=1e-8)
    xg = x.clone().requires_grad_(True)
    auto = torch.autograd.grad(d.perturbed_log_prob(xg, sigma, scale).sum(), xg)[0]
    assert torch.allclose(d.perturbed_score(x, sigma, scale), auto, atol=1e-8)
    assert torch.isfinite(d.score(torch.zeros(3, 2))).all()


def test_line_is_the_blurred_segment():
    d = build_density({"kind": "line", "half_width": 2.0, "blur": 0.2})
    x = torch.rand(300, 2, generator=torch.Generator().manual_seed(2), dtype=torch.float64) * 6 - 3
    # quadrature over the segment {(u, u): u in [-2, 2]}, uniform in u
    u = -2 + 4 * (np.arange(20000) + 0.5) / 20000
    d2 = (x.numpy()[:, None, 0] - u) ** 2 + (x.numpy()[:, None, 1] - u) ** 2
    ref = np.log(np.exp(-d2 / (2 * 0.04)).mean(1) / (2 * np.pi * 0.04))
    assert np.allclose(d.log_prob(x).numpy(), ref, atol=1e-6)
    xg = x.clone().requires_grad_(True)
    for sigma, scale in [(0.0, 1.0), (0.5, 1.0), (0.3, 0.5)]:
        auto = torch.autograd.grad(d.perturbed_log_prob(xg, sigma, scale).sum(), xg)[0]
        assert torch.allclose(d.perturbed_score(x, sigma, scale), auto, atol=1e-8)


@pytest.mark.parametrize("name", TOYS)
def test_normalised_on_a_grid(name):
    d = build_density({"kind": name})
    n = 160    # spacing 0.075: the Riemann sum of a Gaussian of std >= 0.08 is exact to ~1e-6
    g = np.linspace(-6, 6, n)
    pts = torch.as_tensor(np.stack(np.meshgrid(g, g, indexing="ij"), -1).reshape(-1, 2))
    mass = float(torch.exp(d.log_prob(pts)).sum()) * (g[1] - g[0]) ** 2
    assert d.log_prob_normalised and abs(mass - 1) < 2e-3, mass


@pytest.mark.parametrize("name", ["two_spirals", "cos"])
def test_sample_defined_shapes_say_so(name):
    d = build_density({"kind": name})
    assert "kernel density" in d.score_source and d.exact_perturbed()


# --- preset keys ------------------------------------------------------------------------------------

@pytest.mark.parametrize("spec,key", [
    ({"kind": "rings", "rings": 0}, "density.rings"),
    ({"kind": "rings", "noise": -0.1}, "density.noise"),
    ({"kind": "circles", "factor": 1.5}, "density.factor"),
    ({"kind": "circles", "factor": 0.0}, "density.factor"),
    ({"kind": "eight_gaussians", "std": 0.0}, "density.std"),
    ({"kind": "eight_gaussians", "radius": "far"}, "density.radius"),
    ({"kind": "two_spirals", "noise": 0}, "density.noise"),
    ({"kind": "cos", "blur": -1}, "density.blur"),
    ({"kind": "line", "half_width": -2}, "density.half_width"),
    ({"kind": "line", "means": [[0, 0]]}, "density.means"),
    ({"kind": "cos", "bounds": [[1, -1], [0, 1]]}, "density.bounds[0]"),
])
def test_bad_keys_name_the_key(spec, key):
    with pytest.raises(SpecError) as e:
        build_density(spec)
    assert e.value.key == key, str(e.value)


def test_preset_file_with_a_toy_density_reports_the_file_and_key(tmp_path):
    from explorer.core.presets import preset as P
    f = tmp_path / "bad.toml"
    f.write_text('format = 1\n[density]\nkind = "rings"\nrings = 2.5\n')
    with pytest.raises(SpecError) as e:
        P.load(f)
    assert "density.rings" in str(e.value) and "bad.toml" in str(e.value)
    ok = tmp_path / "ok.toml"
    ok.write_text('format = 1\n[density]\nkind = "two_spirals"\n')
    p = P.load(ok)
    assert p.density["noise"] == 0.1 and p.density["bounds"] is not None


def test_float32_width_warning_names_the_toy_key():
    from explorer.core.presets import preset as P
    from explorer.core.presets.numerics import preset_warnings
    w = preset_warnings(P.parse({"density": {"kind": "rings", "noise": 1e-9}}))
    assert len(w) == 1 and w[0].startswith("density.noise")
    assert preset_warnings(P.parse({"density": {"kind": "eight_gaussians"}})) == []
