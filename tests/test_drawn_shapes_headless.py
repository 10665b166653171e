"""Drawn densities end to end, headless: a painted shape and a point file made here (not from
the repo), saved as presets the way the window saves them (PNG or CSV beside the TOML), run
with `score-explorer run` (NCSN, small MLP, annealed Langevin on the learned score):
at least 90% of the particles land on the shape.

"On the shape": within 3 blur of a painted pixel (mass > 0.1 in the image the density reads),
or within 3 bandwidths of a data point.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import numpy as np
import pytest

from explorer.core.presets import preset as P
from explorer.core.densities.datafile import load_image_mass, load_points
from explorer.core.run.headless import portable_preset

REPO = Path(__file__).resolve().parents[1]
ON_SHAPE = 0.90

# NCSN settings that reach the figure in a few seconds of training on one CPU core.
TRAINING = {
    "model": {"kind": "score", "hidden": [64, 64], "activation": "silu"},
    "objective": {"kind": "ncsn", "sigma_min": 0.05, "levels": 10},   # sigma_max: half the box diagonal
    "training": {"steps": 2500, "batch_size": 256, "lr": 5e-3, "seed": 0, "device": "cpu"},
    "sampler": {"kind": "annealed_langevin", "score": "learned", "particles": 2000,
                "step_size": 0.002, "steps": 100, "init": "uniform"},
    "view": {"grid": 8},
}


def save_drawing(spec: dict, folder: Path, name: str) -> Path:
    """What the window does with a drawn density and File > Save: resolve the preset with the
    same parser, copy the data file beside the TOML, write paths relative to it."""
    d = {"format": 1, "name": name, "density": spec, **TRAINING}
    preset = P.parse(d, folder)
    folder.mkdir(parents=True, exist_ok=True)
    out = folder / f"{name}.toml"
    portable_preset(preset, folder).save(out)
    return out


def run_headless(cli_here, toml: Path, out: Path) -> np.ndarray:
    """`score-explorer run TOML --out OUT` from the preset's folder (in this process)."""
    here = os.getcwd()
    os.chdir(toml.parent)
    try:
        r = cli_here("run", toml, "--out", out)
    finally:
        os.chdir(here)
    assert r.returncode == 0, r.stderr[-2000:]
    m = json.loads((out / "metrics.json").read_text())
    assert m["objective"] == "ncsn" and m["sampler"] == "annealed_langevin"
    assert m["sampler_score"] == "learned" and m["steps"] == TRAINING["training"]["steps"]
    # the run's own preset.toml reopens to the same density (file copied beside it)
    again = P.load(out / "preset.toml")
    assert (out / again.density["path"]).is_file()
    return np.load(out / "samples.npy")


def fraction_near(x: np.ndarray, centres: np.ndarray, radius: float) -> float:
    d2 = np.full(len(x), np.inf)
    for chunk in np.array_split(centres, max(1, len(centres) // 2000)):
        d2 = np.minimum(d2, ((x[:, None, :] - chunk[None]) ** 2).sum(-1).min(1))
    return float(np.mean(np.sqrt(d2) <= radius))


def report(name: str, frac: float) -> None:
    print(f"\n{name}: {100 * frac:.1f}% of the particles on the shape")


def test_painted_letter_is_learned_and_sampled(qtbot, tmp_path, cli_here):
    pytest.importorskip("pytestqt")
    from explorer.gui.drawing import DrawPanel

    panel = DrawPanel()
    qtbot.addWidget(panel)
    emitted = []
    panel.density_edited.connect(emitted.append)
    panel.canvas.set_brush(radius=0.35)
    panel.canvas.stroke([(-2.0, 2.5), (-2.0, -2.0), (1.5, -2.0)])     # a letter L
    panel.canvas.set_brush(radius=0.3)
    panel.canvas.stroke([(2.2, 2.2), (2.2, 2.21)])                     # and a dot
    spec = emitted[-1]
    assert spec["kind"] == "image"

    toml = save_drawing(spec, tmp_path / "preset", "painted")
    png = tmp_path / "preset" / Path(spec["path"]).name
    assert png.is_file() and P.load(toml).density["path"] == png.name

    x = run_headless(cli_here, toml, tmp_path / "out")
    mass = load_image_mass(png)
    H, W = mass.shape
    px = 8.0 / W
    rows, cols = np.nonzero(mass > 0.1)
    painted = np.c_[-4.0 + (cols + 0.5) * px, 4.0 - (rows + 0.5) * px]
    frac = fraction_near(x, painted, 3 * spec["blur"])
    report("painted L + dot", frac)
    assert frac >= ON_SHAPE


def test_points_file_is_learned_and_sampled(tmp_path, cli_here):
    rng = np.random.default_rng(7)
    th = rng.uniform(0.0, 2 * np.pi, 600)
    ring = np.c_[1.5 + 1.2 * np.cos(th), -0.5 + 1.2 * np.sin(th)] + 0.05 * rng.standard_normal((600, 2))
    blob = np.array([-2.0, 1.5]) + 0.2 * rng.standard_normal((200, 2))
    pts = np.concatenate([ring, blob])
    data = tmp_path / "drawn" / "ring_and_blob.csv"
    data.parent.mkdir()
    np.savetxt(data, pts, delimiter=",", header="x1,x2", comments="")

    spec = {"kind": "points", "path": str(data), "bandwidth": 0.1}
    toml = save_drawing(spec, tmp_path / "preset", "points")
    assert (tmp_path / "preset" / data.name).is_file()

    x = run_headless(cli_here, toml, tmp_path / "out")
    frac = fraction_near(x, load_points(data), 3 * spec["bandwidth"])
    report("points file (ring + blob)", frac)
    assert frac >= ON_SHAPE
