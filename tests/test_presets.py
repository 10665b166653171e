"""Every shipped preset loads, says what to look at, and runs headless (docs/design.md §4, 5)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from explorer.core.presets import preset as P

ROOT = Path(__file__).resolve().parents[1]
PRESET_DIR = ROOT / "explorer" / "presets"
PRESETS = sorted(PRESET_DIR.glob("*.toml"))
FILES = ("preset.toml", "metrics.json", "loss.csv", "samples.npy", "field.npz", "model.safetensors")



def test_there_are_at_least_twelve_presets_and_the_default_is_kept():
    assert len(PRESETS) >= 12
    assert (PRESET_DIR / "two_modes_annealed.toml").is_file()
    assert (PRESET_DIR / "painted_shape.png").is_file()


@pytest.mark.parametrize("path", PRESETS, ids=[p.stem for p in PRESETS])
def test_preset_loads_with_a_name_and_a_description(path):
    p = P.load(path)
    assert p.name and p.name != "Untitled"
    assert len(p.description) >= 80, "the description must say what to look at"
    assert any(w in p.description.lower() for w in ("look", "watch", "see", "compare", "note"))
    p.build_density()


def test_presets_cover_the_lessons():
    ps = {path.stem: P.load(path) for path in PRESETS}
    objectives = {p.objective["kind"] for p in ps.values()}
    assert {"esm", "ism", "ssm", "dsm", "ncsn", "ddpm"} <= objectives
    assert {p.dim for p in ps.values()} == {1, 2, 3}
    assert any(p.model["kind"] == "energy" for p in ps.values())
    assert any(p.density["kind"] == "image" for p in ps.values())
    dsm = sorted(p.objective["sigma"] for p in ps.values() if p.objective["kind"] == "dsm")
    assert dsm[0] <= 0.02 and dsm[-1] >= 1.0            # too small and too large
    samplers = {(p.sampler["kind"], p.sampler["score"]) for p in ps.values()
                if p.density["kind"] == "mixture" and p.density["weights"] == [0.2, 0.8]}
    assert ("langevin", "true") in samplers and ("annealed_langevin", "true") in samplers


def test_one_dimensional_langevin_preset_is_the_one_of_the_material():
    p = P.load(PRESET_DIR / "langevin_1d.toml")
    d = p.density
    assert p.dim == 1
    assert d["weights"] == [0.6, 0.4]
    assert d["means"] == [[2.0], [-2.0]]
    assert d["stds"] == [0.5, 0.2]
    assert d["bounds"] == [[-3.0, 3.0]] and p.sampler["init"] == "uniform"


def test_demo_budgets_are_small():
    # 8,000 is what ncsn_noise_levels and painted_heart need to keep their promise (their
    # descriptions; docs/defaults.md): under a minute on one thread
    for path in PRESETS:
        p = P.load(path)
        assert p.training["steps"] <= 8000, path.name


def test_resolved_presets_round_trip():
    for path in PRESETS:
        p = P.load(path)
        again = P.loads(p.to_toml(), p.base_dir, str(path))
        assert again.to_dict() == p.to_dict(), path.name


@pytest.mark.parametrize("path", PRESETS, ids=[p.stem for p in PRESETS])
def test_preset_runs_headless(path, tmp_path, capsys):
    # in-process, as `score-explorer run` calls it (tests/test_cli.py starts the real command)
    from explorer.cli import main
    out = tmp_path / "out"
    code = main(["run", str(path), "--steps", "30", "--particles", "200", "--out", str(out)])
    assert code == 0, capsys.readouterr().err
    for name in FILES:
        assert (out / name).is_file(), name
    m = json.loads((out / "metrics.json").read_text())
    assert m["steps"] == 30
    x = np.load(out / "samples.npy")
    assert x.shape == (200, P.load(path).dim)
    assert np.isfinite(x).all()
