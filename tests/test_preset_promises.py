"""Every shipped preset keeps the promise its description makes, measured headless with the
run's own code (core/run/headless.train_and_sample, one torch thread) and the sample metrics against
their noise floors (core/measures/sample_quality.py):

- "cloud": the sampled cloud within twice its floor on SW2 and TV (where a preset says the
  cloud is the density's);
- "weights": mode weights within 0.03 of the truth (where it says the sampler recovers them);
- the lesson's own figure otherwise (a relative Fisher divergence, a curl fraction, weights
  that plain Langevin gets wrong, a cloud that DSM with a large sigma blurs).

A preset whose promise is about sampling the exact score is run with training.steps = 0
(the exact score needs no training); the others train their own budget, so this is the
`slow` tier: docs/defaults.md lists the seconds each preset takes on one thread.
"""

from __future__ import annotations

import time

import pytest
import torch

from explorer import api
from explorer.core.run.headless import train_and_sample
from explorer.core.presets.shipped import shipped_presets

pytestmark = pytest.mark.slow

EXACT = {"training.steps": 0}      # a promise about the exact score: nothing to train

# name: (overrides of the run, [(check, value), ...]); checks are read by `_check`.
PROMISES = {
    "mixture_score": ({}, [("fisher_below", 0.05)]),
    "langevin_1d": (EXACT, [("weights", 0.03), ("cloud", 2.0)]),
    "plain_langevin_weights": (EXACT, [("weights_near", ([0.5, 0.5], 0.05))]),
    "esm_ism_aligned": ({}, [("fisher_below", 0.05)]),
    "ssm_vs_ism_cost": ({}, [("fisher_below", 0.5)]),
    "dsm_sigma_large": ({}, [("blurred", 3.0), ("fisher_above", 0.5)]),
    "dsm_sigma_small": ({}, [("fisher_above", 0.5)]),
    "low_density_error": ({}, [("fisher_below", 0.05), ("weights_near", ([0.5, 0.5], 0.05))]),
    "energy_vs_score": ({}, [("curl_below", 0.01), ("fisher_below", 0.2)]),
    "annealed_langevin_weights": (EXACT, [("weights", 0.03), ("cloud", 2.0)]),
    "two_modes_annealed": ({}, [("weights", 0.03)]),
    "ncsn_noise_levels": ({}, [("cloud", 2.0)]),
    "ddpm_moons": ({}, [("cloud", 2.0)]),
    "painted_heart": ({}, [("cloud", 2.0)]),
    "ve_sde": ({"training.steps": 0, "sampler.score": "true"}, [("weights", 0.03)]),
    "vp_sde_pc": ({}, [("weights", 0.03)]),
    "probability_flow_ode": (EXACT, [("weights", 0.03), ("nll", 0.05)]),
    "flow_matching": ({}, [("weights", 0.03)]),
    "gaussian_3d_langevin": (EXACT, [("cloud", 2.0)]),
    "helix_3d": ({}, [("fisher_below", 0.5)]),
    "mixture_3d": ({}, [("weights", 0.03), ("cloud", 2.0)]),
    "sphere_shell_3d": ({}, [("fisher_below", 0.05), ("cloud", 2.0)]),
    "torus_3d": ({}, [("fisher_below", 0.5)]),
}


def _check(m: dict, check: str, value) -> str | None:
    """None if the metrics keep the promise, else what is wrong."""
    sm = m.get("sample_metrics") or {}
    floor = sm.get("floor", {})
    if check == "cloud":
        for key in ("sliced_wasserstein", "tv_grid"):
            if not sm or not sm[key] <= value * floor[key]:
                return f"{key} {sm.get(key)} above {value} x its floor {floor.get(key)}"
    elif check == "tv":
        if not sm or not sm["tv_grid"] <= value * floor["tv_grid"]:
            return f"TV {sm.get('tv_grid')} above {value} x its floor {floor.get('tv_grid')}"
    elif check == "blurred":
        if not sm["sliced_wasserstein"] > value * floor["sliced_wasserstein"]:
            return f"SW2 {sm['sliced_wasserstein']} not above {value} x the floor"
    elif check in ("weights", "weights_near"):
        want, tol = (m.get("true_weights"), value) if check == "weights" else value
        got = m.get("mode_weights")
        if got is None or max(abs(a - b) for a, b in zip(got, want)) > tol:
            return f"mode weights {got}, promised {want} within {tol}"
    elif check == "fisher_below":
        if not m["relative_fisher_divergence"] <= value:
            return f"relative Fisher divergence {m['relative_fisher_divergence']} above {value}"
    elif check == "fisher_above":
        if not m["relative_fisher_divergence"] >= value:
            return f"relative Fisher divergence {m['relative_fisher_divergence']} below {value}"
    elif check == "curl_below":
        if not m["curl_fraction"] <= value:
            return f"curl fraction {m['curl_fraction']} above {value}"
    elif check == "nll":
        if not abs(m["nll"] - m["nll_true"]) <= value:
            return f"NLL {m['nll']} vs the true {m['nll_true']}"
    else:
        raise ValueError(check)
    return None


def _figures(m: dict) -> str:
    """The figures the promises are about, for the record (docs/defaults.md)."""
    sm, out = m.get("sample_metrics") or {}, []
    if m.get("mode_weights") is not None:
        out.append("mode weights " + " ".join(f"{w:.3f}" for w in m["mode_weights"]))
    if sm:
        f = sm["floor"]
        sw, tv = sm["sliced_wasserstein"], sm["tv_grid"]
        out.append(f"SW2 {sw:.3f} ({sw / f['sliced_wasserstein']:.2f}x floor), "
                   f"TV {tv:.3f} ({tv / f['tv_grid']:.2f}x floor)")
    if m.get("relative_fisher_divergence") is not None:
        out.append(f"relative Fisher {m['relative_fisher_divergence']:.3f}")
    return "; ".join(out)


def test_every_shipped_preset_has_a_promise():
    assert {p.stem for p in shipped_presets()} == set(PROMISES)


def _trains(name: str) -> bool:
    return PROMISES[name][0].get("training.steps") != 0


# A preset that trains its own budget takes 10 s to several minutes on one thread (about
# 15-50 minutes for all of them, docs/defaults.md): they are the opt-in `promises` tier
# (python -m pytest -m promises), the exact-score ones run with the suite.
@pytest.mark.parametrize("name", [pytest.param(n, marks=pytest.mark.promises) if _trains(n) else n
                                  for n in sorted(PROMISES)])
def test_a_shipped_preset_keeps_its_promise(name):
    overrides, checks = PROMISES[name]
    preset = api.load(name)
    if overrides:
        preset = api.edit(preset, overrides)
    torch.manual_seed(0)
    t = time.perf_counter()
    result = train_and_sample(preset, threads=1)
    print(f"\n{name}: {time.perf_counter() - t:.1f} s on one thread; {_figures(result.metrics)}")
    assert result.failure is None, result.failure
    wrong = [w for c, v in checks if (w := _check(result.metrics, c, v))]
    assert not wrong, f"{name}: " + "; ".join(wrong)
