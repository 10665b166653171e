"""Derived sampler settings and the step sizes refused before training (core/presets/step_rules.py),
derived keys derived again on edits (core/presets/edits.py), and the learned density's grid
refined until the exact score is at the floor (core/measures/density_grid.py). docs/defaults.md."""

from __future__ import annotations

import math
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch

from explorer import api
from explorer.core.presets import preset as P
from explorer.core.presets import step_rules as R
from explorer.core.noise.advisor import variance_after
from explorer.core.presets.edits import with_changes
from explorer.core.errors import SpecError

REPO = Path(__file__).resolve().parents[1]
SPIRALS_NCSN = {"density": {"kind": "spirals"}, "objective": {"kind": "ncsn"}}


# ------------------------------------------------------------------ the bound, independently
def _langevin_variance(eps: float, v: float, steps: int, n: int = 4000, seed: int = 0) -> float:
    """Empirical variance after `steps` Langevin steps on N(0, v) from N(0, v) (numpy)."""
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(n) * math.sqrt(v)
    for _ in range(steps):
        x = x + (eps / 2) * (-x / v) + math.sqrt(eps) * rng.standard_normal(n)
    return float(x.var())


def test_langevin_is_stable_below_four_variances_and_diverges_above():
    v = 0.3
    # below 4 v: bounded, at the stationary variance v / (1 - eps / (4 v)) = 20 v
    assert _langevin_variance(0.95 * 4 * v, v, 400) == pytest.approx(20 * v, rel=0.25)
    assert _langevin_variance(1.05 * 4 * v, v, 200) > 1e6 * v      # geometric growth above it
    # the derived Langevin step (the smallest variance) keeps the variance within 1/(1 - 1/4)
    assert _langevin_variance(v, v, 400) == pytest.approx(v / (1 - 0.25), rel=0.08)


def test_annealed_bound_is_the_first_levels_stability_on_the_perturbed_density():
    # 1-D Gaussian N(0, v): p_sigma has variance v + sigma^2; level 1 runs alpha_1 = eps
    # sigma_1^2 / sigma_L^2 on it. Just above the refused bound the first level explodes.
    v = 0.04
    p = P.parse({"density": {"kind": "gaussian", "mean": [0.0], "std": math.sqrt(v)},
                 "objective": {"kind": "ncsn", "sigma_max": 3.0, "sigma_min": 0.1, "levels": 5}})
    bound, why = R.divergence_bound(p, p.build_density())
    assert bound == pytest.approx(4 * 0.1 ** 2 * (1 + v / 3.0 ** 2))
    assert "objective.sigma_min" in why and "objective.sigma_max" in why
    for factor, grows in ((0.95, False), (1.05, True)):
        alpha = factor * bound * 3.0 ** 2 / 0.1 ** 2
        var = _langevin_variance(alpha, v + 9.0, 300)
        assert (var > 1e6) == grows


def test_one_level_annealed_is_langevin_on_p_sigma_min():
    p = P.parse({"density": {"kind": "gaussian", "mean": [0.0], "std": 0.2},
                 "objective": {"kind": "ncsn", "sigma_max": 3.0, "sigma_min": 0.1, "levels": 1}})
    bound, _ = R.divergence_bound(p, p.build_density())
    assert bound == pytest.approx(4 * (0.04 + 0.01))        # (1) on p_sigma_min, alpha = eps
    assert p.sampler["step_size"] == pytest.approx(0.04 + 0.01)


def test_derived_annealed_step_is_technique_4_of_the_ladder():
    p = P.parse(SPIRALS_NCSN)
    o, s = p.objective, p.sampler
    assert s["kind"] == "annealed_langevin" and s["steps"] == 100
    gamma = (o["sigma_max"] / o["sigma_min"]) ** (1 / (o["levels"] - 1))
    eps = s["step_size"] / 2                 # the paper's eps (x + eps s + sqrt(2 eps) z)
    # technique 4: the variance ratio after T steps is at its minimum (close to 1)
    here = variance_after(eps, s["steps"], gamma, o["sigma_min"])
    for other in (0.8 * eps, 1.25 * eps):
        assert here <= variance_after(other, s["steps"], gamma, o["sigma_min"])
    assert here < 1.05
    bound, _ = R.divergence_bound(p, p.build_density())
    assert s["step_size"] < bound / 2


def test_derived_langevin_step_is_the_smallest_variance():
    mix = P.parse({"density": {"kind": "mixture", "weights": [1, 1], "means": [[0, 0], [4, 0]],
                               "stds": [0.5, 2.0]}, "objective": {"kind": "ssm_vr"}})
    assert mix.sampler["kind"] == "langevin" and mix.sampler["step_size"] == pytest.approx(0.25)
    # a learned DSM score is the score of p * N(0, sigma^2 I): its variances are sigma^2 wider
    dsm = P.parse({"density": {"kind": "ring", "width": 0.2}, "objective": {"kind": "dsm", "sigma": 0.3}})
    assert dsm.sampler["step_size"] == pytest.approx(0.2 ** 2 + 0.3 ** 2)
    # a density of no family: 1 / the largest curvature of -log p, measured
    banana = P.parse({"density": {"kind": "banana"}, "objective": {"kind": "ssm_vr"}})
    assert 0 < banana.sampler["step_size"] <= 0.5 ** 2 * 1.01      # std_y = 0.5 is its narrowest


def test_measured_variance_matches_a_gaussians():
    from explorer.core.densities import build_density
    g = build_density({"kind": "gaussian", "mean": [0.0, 0.0],
                       "covariance": [[1.0, 0.0], [0.0, 0.09]]}, None)
    assert R.measured_min_variance(g) == pytest.approx(0.09, rel=1e-3)


def test_a_step_set_in_the_file_stays():
    p = P.parse({**SPIRALS_NCSN, "sampler": {"step_size": 0.001}})
    assert p.sampler["step_size"] == 0.001


# ------------------------------------------------------------------ refused before training
def test_a_certainly_divergent_step_is_a_spec_error_naming_its_sources():
    with pytest.raises(SpecError) as e:
        P.parse({"density": {"kind": "spirals"},
                 "objective": {"kind": "ncsn", "sigma_min": 0.05},
                 "sampler": {"step_size": 0.5}}, source="x.toml")
    assert e.value.key == "sampler.step_size"
    text = str(e.value)
    assert text.startswith("x.toml: sampler.step_size") and "\n" not in text
    assert "objective.sigma_min = 0.05" in text and "objective.sigma_max" in text
    assert "density.bandwidth" in text or "kernel bandwidth" in text
    with pytest.raises(SpecError, match="sampler.step_size"):
        P.parse({"density": {"kind": "mixture"}, "objective": {"kind": "dsm"},
                 "sampler": {"kind": "langevin", "score": "true", "step_size": 4.0}})


def test_api_edit_refuses_a_divergent_step_and_derives_the_others():
    base = P.parse(SPIRALS_NCSN)
    with pytest.raises(SpecError, match="sampler.step_size"):
        api.edit(base, {"sampler.step_size": 0.5})
    # a new sigma_min gets its own step (the base's derived one would be refused)
    finer = api.edit(base, {"objective.sigma_min": 0.02})
    assert finer.sampler["step_size"] < base.sampler["step_size"]
    assert finer.sampler["step_size"] == pytest.approx(P.parse(
        {**SPIRALS_NCSN, "objective": {"kind": "ncsn", "sigma_min": 0.02}}).sampler["step_size"])


def test_cli_run_exits_2_before_training(tmp_path):
    f = tmp_path / "bad.toml"
    f.write_text('[density]\nkind = "spirals"\n[objective]\nkind = "ncsn"\nsigma_min = 0.05\n'
                 '[training]\nsteps = 3000\n[sampler]\nstep_size = 0.5\n')
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    t = time.monotonic()
    r = subprocess.run([sys.executable, "-m", "explorer", "run", str(f), "--out", str(tmp_path / "o")],
                       capture_output=True, text=True, env=env, timeout=120)
    took = time.monotonic() - t
    assert r.returncode == 2, r.stderr
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error:") and "sampler.step_size" in lines[0]
    assert "objective.sigma_min" in lines[0] and "Traceback" not in r.stderr
    assert not (tmp_path / "o" / "metrics.json").exists()
    print(f"refused in {took:.1f} s")


# ------------------------------------------------------------------ derived again on edits
def test_an_edit_derives_the_derived_keys_again_and_keeps_what_the_user_set():
    base = P.parse(SPIRALS_NCSN)
    user_steps = with_changes(base, {"sampler.steps": 7})
    finer = with_changes(user_steps, {"objective.sigma_min": base.objective["sigma_min"] / 2})
    fresh = P.parse({**base.to_dict(), "objective": {"kind": "ncsn",
                                                     "sigma_min": base.objective["sigma_min"] / 2},
                     "sampler": {"steps": 7}})
    assert finer.sampler["step_size"] == fresh.sampler["step_size"] != base.sampler["step_size"]
    assert finer.sampler["steps"] == 7, "what the user set stays"
    assert finer.objective["levels"] == base.objective["levels"]


def test_cli_overrides_keep_the_derived_step_derived():
    from types import SimpleNamespace

    from explorer.commands.run import apply_overrides
    base = P.parse(SPIRALS_NCSN)
    args = SimpleNamespace(steps=10, particles=None, seed=None, device=None)
    again = apply_overrides(base, args)
    assert "sampler.step_size" not in again.given
    assert again.sampler["step_size"] == base.sampler["step_size"]


# ------------------------------------------------------------------ the learned density's grid
def test_density_grid_refines_until_the_exact_score_is_at_the_floor():
    from explorer.core.measures.density_grid import KL_FLOOR, MASS_FLOOR, density_grid, mode_masses
    from explorer.core.training.trainer import Trainer
    p = P.parse({"density": {"kind": "mixture"}, "objective": {"kind": "ssm_vr"},
                 "model": {"hidden": [8]}, "view": {"grid": 32}})
    t = Trainer(p)
    n, pts, true_logp, exact = density_grid(t, p)
    assert n == 64
    comps = t.density.components()
    masses = mode_masses(exact, comps)
    assert exact.kl_grid <= KL_FLOOR
    assert max(abs(m - w) for m, w in zip(masses, comps[0])) <= MASS_FLOOR
    # on view.grid = 32 the exact score's own density was off (the 0.165 / 0.200)
    from explorer.core.measures.density_grid import _exact_on
    _, _, coarse = _exact_on(t, p, 32)
    assert coarse.kl_grid > KL_FLOOR and abs(mode_masses(coarse, comps)[0] - 0.2) > 0.02


# ------------------------------------------------------------------ hidden-density defaults
def _drawn_cloud(path: Path) -> None:
    rng = np.random.default_rng(5)
    th = rng.uniform(0.5, 2 * np.pi - 0.5, 600)                 # a "C" and a stroke under it
    c = np.c_[2.0 * np.cos(th), 2.0 * np.sin(th)] + 0.06 * rng.standard_normal((600, 2))
    line = np.c_[rng.uniform(-1, 3, 250), np.full(250, -3.2)] + 0.06 * rng.standard_normal((250, 2))
    np.savetxt(path, np.concatenate([c, line]), delimiter=",")


@pytest.mark.slow
@pytest.mark.parametrize("objective", ["ncsn", "dsm"])
def test_a_drawn_cloud_samples_with_the_exact_score_under_the_defaults(tmp_path, objective):
    from explorer.core.run.headless import train_and_sample
    _drawn_cloud(tmp_path / "cloud.csv")
    p = P.parse({"density": {"kind": "points", "path": "cloud.csv"},
                 "objective": {"kind": objective}, "sampler": {"score": "true"},
                 "training": {"steps": 0}}, tmp_path)
    torch.manual_seed(0)
    r = train_and_sample(p, threads=1)
    assert r.failure is None
    m = r.metrics["sample_metrics"]
    assert m["tv_grid"] <= 2 * m["floor"]["tv_grid"], m


# The judged check of issue 23: a spirals density the repository does not ship, with NCSN's
# defaults (objective.kind = "ncsn" and nothing else but the density), learned and sampled,
# within twice its noise floor on SW2 and TV. Each trains 5,000 steps of the derived
# [128, 128, 128] network (20-40 s on one thread, docs/recipe.md): the opt-in promises tier.
UNSEEN_SPIRALS = {
    "default": {"kind": "spirals"},
    "thin": {"kind": "spirals", "arms": 2, "turns": 1.5, "noise": 0.08},
    "three_arms": {"kind": "spirals", "arms": 3, "turns": 1.2, "noise": 0.12},
}


@pytest.mark.promises
@pytest.mark.parametrize("name", sorted(UNSEEN_SPIRALS))
def test_ncsn_defaults_learn_a_spirals_variant_within_twice_the_floor(name):
    from explorer.core.run.headless import train_and_sample
    p = P.parse({"density": UNSEEN_SPIRALS[name], "objective": {"kind": "ncsn"}})
    assert p.model["hidden"] == [128, 128, 128] and p.sampler["kind"] == "annealed_langevin"
    torch.manual_seed(0)
    t = time.perf_counter()
    r = train_and_sample(p, threads=1)
    assert r.failure is None, r.failure
    m = r.metrics["sample_metrics"]
    print(f"\n{name}: {time.perf_counter() - t:.1f} s on one thread; SW2 "
          f"{m['sliced_wasserstein'] / m['floor']['sliced_wasserstein']:.2f}x, "
          f"TV {m['tv_grid'] / m['floor']['tv_grid']:.2f}x the floor")
    for key in ("sliced_wasserstein", "tv_grid"):
        assert m[key] <= 2 * m["floor"][key], (key, m)


def test_pc_runs_no_corrector_unless_asked():
    """Every SDE's default PC sampler is predictor-only (bench_defaults.py: with a learned score
    the corrector spread the cloud to 3-4x its TV floor); a preset that asks keeps its corrector."""
    for sde in ("vp", "subvp", "ve"):
        p = P.parse({"objective": {"kind": "sde", "sde": sde}})
        assert p.sampler["kind"] == "pc" and p.sampler["corrector_steps"] == 0, sde
    given = P.parse({"objective": {"kind": "sde"}, "sampler": {"corrector_steps": 1}})
    assert given.sampler["corrector_steps"] == 1
    assert api.edit(given, {"objective.sde": "ve"}).sampler["corrector_steps"] == 1
    assert api.load("vp_sde_pc").sampler["corrector_steps"] == 1      # its lesson compares them


# The judged VP setting of issue 23: a 0.3/0.7 mixture (stds 0.7, 1.0), only the density, the
# objective, 6,000 steps and 20,000 particles: the learned VP SDE sampled by its default PC
# sampler gets the weights within 0.02 and the cloud within twice its TV floor.
@pytest.mark.promises
def test_vp_sde_defaults_learn_the_mixture_weights_and_cloud():
    from explorer.core.run.headless import train_and_sample
    p = P.parse({"density": {"kind": "mixture", "weights": [0.3, 0.7], "means": [[-4.0, 0.0], [4.0, 0.0]],
                             "stds": [0.7, 1.0]},
                 "objective": {"kind": "sde", "sde": "vp"}, "training": {"steps": 6000},
                 "sampler": {"particles": 20000}})
    torch.manual_seed(0)
    t = time.perf_counter()
    r = train_and_sample(p, threads=1)
    assert r.failure is None, r.failure
    w, m = r.metrics["mode_weights"], r.metrics["sample_metrics"]
    print(f"\nvp mixture: {time.perf_counter() - t:.1f} s on one thread; weights {w}, TV "
          f"{m['tv_grid']:.3f} = {m['tv_grid'] / m['floor']['tv_grid']:.2f}x the floor")
    assert abs(w[0] - 0.3) <= 0.02, w
    assert m["tv_grid"] <= 2 * m["floor"]["tv_grid"], m
