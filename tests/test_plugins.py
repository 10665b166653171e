"""Plugins through entry points: the built-ins register that way, the example plugin's objective
and density appear everywhere a built-in does, and a broken plugin is named and left out.

A plugin is "installed" here the way pip installs one: a package on sys.path with a
`*.dist-info` folder whose entry_points.txt declares it (importlib.metadata reads nothing else).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from explorer.core.presets import preset as P
from explorer.core.plugins import registry
from explorer.core.errors import SpecError

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "examples" / "plugin"
EXAMPLE_EPS = {
    "score_explorer.objectives": {"dsm_antithetic": "score_explorer_example.objective:AntitheticDSM"},
    "score_explorer.densities": {"student_t": "score_explorer_example.density:StudentT"},
}


def _install(root: Path, dist: str, entry_points: dict, modules: dict[str, str] | None = None) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    for name, source in (modules or {}).items():
        (root / name).write_text(source)
    info = root / f"{dist.replace('-', '_')}-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {dist}\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text("".join(
        f"[{group}]\n" + "".join(f"{k} = {v}\n" for k, v in eps.items()) + "\n"
        for group, eps in entry_points.items()))
    return root


@pytest.fixture
def plugins(tmp_path, monkeypatch):
    """install(dist, entry_points, modules): a plugin on sys.path, the registry reloaded."""
    monkeypatch.setenv("SCORE_EXPLORER_LOG_DIR", str(tmp_path / "log"))
    added = []

    def install(dist, entry_points, modules=None, extra_path=None):
        root = _install(tmp_path / dist, dist, entry_points, modules)
        for p in (root, extra_path):
            if p is not None:
                sys.path.insert(0, str(p))
                added.append(str(p))
        registry.reload()
        return root

    yield install
    for p in added:
        sys.path.remove(p)
    for mod in [m for m in sys.modules if m.startswith(("score_explorer_example", "broken_", "bad_",
                                                         "flipped_"))]:
        del sys.modules[mod]
    registry.reload()


def _example_installed() -> bool:
    from importlib.metadata import PackageNotFoundError, distribution
    try:
        distribution("score-explorer-example")
        return True
    except PackageNotFoundError:
        return False


@pytest.fixture
def example(plugins):
    if _example_installed():          # CI installs it with pip: use that
        registry.reload()
        return
    plugins("score-explorer-example", EXAMPLE_EPS, extra_path=EXAMPLE)


def test_the_builtins_register_through_entry_points():
    builtin = {g: [e.name for e in registry.REGISTRY.entries(g).values() if e.builtin]
               for g in registry.GROUPS}
    assert builtin["objective"] == ["esm", "ism", "ssm", "ssm_vr", "dsm", "ncsn", "ddpm", "ncsn_ssm", "sde",
                                    "flow_matching"]
    assert builtin["sampler"] == ["langevin", "annealed_langevin", "ddpm", "euler_maruyama", "pc", "ode",
                                  "heun", "dpm_solver", "ddim"]
    assert "mixture" in builtin["density"] and "torus" in builtin["density"]
    assert not [f for f in registry.failures() if f.distribution == "score-explorer"]


def test_example_plugin_trains_and_samples_headless(example):
    from explorer.core.run.headless import train_and_sample
    assert "dsm_antithetic" in registry.objectives() and "student_t" in registry.densities()
    p = P.parse({"density": {"kind": "mixture", "weights": [0.5, 0.5], "means": [[-2.0, 0.0], [2.0, 0.0]],
                             "stds": [0.8, 0.8]},
                 "objective": {"kind": "dsm_antithetic", "sigma": 0.1},
                 "model": {"hidden": [64, 64]},
                 "training": {"steps": 600, "batch_size": 256, "lr": 3e-3},
                 "sampler": {"particles": 2000, "steps": 300, "step_size": 0.05}})
    result = train_and_sample(p)
    # a DSM-like objective learns the score: relative Fisher divergence small
    assert result.metrics["relative_fisher_divergence"] < 0.1, result.metrics
    w = result.metrics["mode_weights"]
    assert abs(w[0] - 0.5) < 0.1, w
    # the resolved preset keeps the plugin's key and loads again
    again = P.loads(p.to_toml())
    assert again.objective["kind"] == "dsm_antithetic" and again.objective["sigma"] == 0.1


def test_example_density_score_and_samples_match_its_formula(example):
    p = P.parse({"density": {"kind": "student_t", "dof": 5.0, "scale": 1.5}})
    d = p.build_density()
    x = torch.randn(200, 2, dtype=torch.float64).float() * 3
    xg = x.clone().requires_grad_(True)
    auto = torch.autograd.grad(d.log_prob(xg).sum(), xg)[0]
    assert torch.allclose(d.score(x), auto, atol=1e-5)
    y = d.sample(200_000, torch.Generator().manual_seed(0)).numpy()
    # covariance of a Student-t: s^2 nu / (nu - 2) I
    cov = np.cov(y.T)
    assert np.allclose(cov, 1.5 ** 2 * 5 / 3 * np.eye(2), rtol=0.05, atol=0.05), cov


def test_a_plugin_that_raises_on_import_is_named_and_left_out(plugins, tmp_path):
    plugins("broken-plugin", {"score_explorer.objectives": {"broken": "broken_mod:Broken"}},
            {"broken_mod.py": "raise RuntimeError('the GPU library is missing')\n"})
    (failure,) = [f for f in registry.failures() if f.name == "broken"]
    assert failure.distribution == "broken-plugin"
    assert "RuntimeError: the GPU library is missing" in failure.message()
    assert "broken-plugin" in failure.message() and str(failure.log) in failure.message()
    assert "Traceback" in failure.log.read_text() and "broken_mod.py" in failure.log.read_text()
    # everything else still works; a preset asking for it says why it is missing
    assert "dsm" in registry.objectives()
    with pytest.raises(SpecError) as info:
        P.parse({"objective": {"kind": "broken"}})
    assert info.value.key == "objective.kind" and "broken-plugin" in str(info.value)


@pytest.mark.parametrize("source, reason", [
    ("class Bad:\n    name = 'bad'\n    label = 'BAD x'\n"
     "    def losses(self, model, x):\n        return model(x).sum()\n", "shape (n,) = (4,), got ()"),
    ("class Bad:\n    name = 'other'\n    label = 'BAD x'\n"
     "    def losses(self, model, x):\n        return model(x).sum(1)\n", "registered as 'bad'"),
    ("class Bad:\n    name = 'bad'\n    label = 'BAD x'\n    fields = {'sigma': 0.1}\n"
     "    def losses(self, model, x):\n        return model(x).sum(1)\n", "not an explorer.core.presets.schema.Field"),
])
def test_a_plugin_that_breaks_the_interface_is_named(plugins, source, reason):
    plugins("bad-plugin", {"score_explorer.objectives": {"bad": "bad_obj:Bad"}}, {"bad_obj.py": source})
    (failure,) = [f for f in registry.failures() if f.name == "bad"]
    assert reason in failure.reason, failure.reason
    assert "bad" not in registry.objectives()


def test_a_grid_sampler_without_its_update_is_named(plugins):
    """A sampler on grid.py's stepping loop must give its grid and update (it inherits step)."""
    plugins("grid-plugin", {"score_explorer.samplers": {"half": "half_grid:Half"}},
            {"half_grid.py": "from explorer.core.samplers.grid import GridSampler\n"
                             "class Half(GridSampler):\n    name = 'half'\n    label = 'half a sampler'\n"
                             "    grid = [1.0, 0.5, 0.0]\n"})
    (failure,) = [f for f in registry.failures() if f.name == "half"]
    assert "update(x, i, g, g_next)" in failure.reason, failure.reason
    assert "half" not in registry.samplers()


def test_a_duck_typed_objective_gets_the_base_class_behaviour(plugins):
    plugins("duck-plugin", {"score_explorer.objectives": {"bad": "bad_duck:Duck"}},
            {"bad_duck.py": "class Duck:\n    name = 'bad'\n    label = 'DUCK x'\n"
                            "    def losses(self, model, x):\n        return 0.5 * model(x).pow(2).sum(1)\n"})
    from explorer.core.objectives import build_objective
    obj = build_objective(P.parse({"objective": {"kind": "bad"}}))
    x = torch.randn(8, 2)
    model = torch.nn.Linear(2, 2)
    assert torch.allclose(obj.loss(model, x), obj.losses(model, x).mean())


def test_the_cli_names_a_broken_plugin_and_runs(tmp_path):
    site = _install(tmp_path / "site", "broken-plugin",
                    {"score_explorer.densities": {"broken_density": "broken_dens:Nope"}},
                    {"broken_dens.py": "import a_module_that_is_not_there\n"})
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(site), str(ROOT)]),
           "SCORE_EXPLORER_LOG_DIR": str(tmp_path / "log")}
    out = tmp_path / "out"
    r = subprocess.run([sys.executable, "-m", "explorer", "run", "langevin_1d", "--steps", "5",
                        "--out", str(out)], capture_output=True, text=True, env=env, timeout=300)
    assert r.returncode == 0, r.stderr
    line = [ln for ln in r.stderr.splitlines() if "broken_density" in ln]
    assert line and line[0].startswith("warning: plugin density 'broken_density' from broken-plugin"), r.stderr
    assert "ModuleNotFoundError" in line[0] and (tmp_path / "log" / "plugins.log").is_file()
    assert "Traceback" not in r.stderr
    assert (out / "metrics.json").is_file()
    # where a preset asks for it, the failure is the error that names it
    asks = tmp_path / "asks.toml"
    asks.write_text('[density]\nkind = "broken_density"\n')
    r = subprocess.run([sys.executable, "-m", "explorer", "run", str(asks), "--out", str(out)],
                       capture_output=True, text=True, env=env, timeout=300)
    assert r.returncode == 2, r.stderr
    errors = [ln for ln in r.stderr.splitlines() if ln.startswith("error:")]
    assert len(errors) == 1 and "broken_density" in errors[0] and "ModuleNotFoundError" in errors[0]


def test_the_window_lists_plugins_and_names_broken_ones(qtbot, example, plugins):
    plugins("broken-plugin", {"score_explorer.samplers": {"broken_sampler": "broken_smp:Nope"}},
            {"broken_smp.py": "raise ImportError('needs torchsde')\n"})
    from explorer.gui.app import make_app, open_window
    make_app()
    w = open_window(None)
    qtbot.addWidget(w)
    try:
        panel = w.panel
        kinds = [panel.kind_combo.itemData(i) for i in range(panel.kind_combo.count())]
        assert "student_t" in kinds
        assert "broken_sampler" in w.banner.label.text() and "needs torchsde" in w.banner.label.text()
        combo = panel.forms["objective"].editors["kind"].widget
        assert combo.findText("dsm_antithetic") >= 0
        combo.setCurrentText("dsm_antithetic")          # as the user picks it
        assert w.preset.objective["kind"] == "dsm_antithetic"
        assert "antithetic" in panel.formula.text()
        w.play()                                        # trains in the training process
        qtbot.waitUntil(lambda: w.session.trainer.step_count >= 50, timeout=60000)
        assert np.isfinite(w.session.trainer.fisher[-1][2])
        w.pause()
        panel.kind_combo.setCurrentIndex(panel.kind_combo.findData("student_t"))
        panel.kind_combo.activated.emit(panel.kind_combo.currentIndex())   # as a click does
        assert w.preset.density["kind"] == "student_t" and w.preset.dim == 2
        assert "dof" in panel.forms["density"].editors
    finally:
        w.close()


# ------------------------------------------------------------------------------ the oracle
FLIPPED_DSM = '''
import torch
from explorer.core.objectives import Objective
from explorer.core.presets.schema import Field


class FlippedDSM(Objective):
    name = "dsm_flipped"
    label = "DSM-flipped  1/2 E|s(x~) - (x~ - x)/sigma^2|^2"
    fields = {"sigma": Field("float", 0.1, min=0.0, exclusive_min=True)}

    def __init__(self, sigma=0.1):
        self.sigma = sigma

    def losses(self, model, x):
        x_tilde = x + self.sigma * torch.randn_like(x)
        return 0.5 * (model(x_tilde) - (x_tilde - x) / self.sigma ** 2).pow(2).sum(dim=1)
'''


def test_diagnose_names_sign_and_scale_errors():
    from explorer.core.plugins.oracle import diagnose
    g = torch.randn(5000, 2)
    assert diagnose(g + 0.05 * torch.randn(5000, 2), g)[2] == ""
    rel, c, fault = diagnose(-g, g)
    assert rel == pytest.approx(4.0, rel=1e-6) and c == pytest.approx(-1.0) and "sign error" in fault
    rel, c, fault = diagnose(0.5 * g, g)
    assert c == pytest.approx(0.5) and "scale error" in fault and "0.5 times" in fault
    assert "not the score" in diagnose(torch.randn(5000, 2), g)[2]


def test_check_fails_a_dsm_with_its_target_sign_flipped(plugins, cli_here):
    plugins("flipped-plugin", {"score_explorer.objectives": {"dsm_flipped": "flipped_dsm:FlippedDSM"}},
            {"flipped_dsm.py": FLIPPED_DSM})
    r = cli_here("check", "objective", "dsm_flipped", "--steps", "300")
    assert r.returncode == 1, r.stdout + r.stderr
    assert "FAIL  Gaussian 1-D" in r.stdout and "sign error" in r.stdout, r.stdout


def test_check_passes_the_example_objective(example):
    from explorer.core.plugins.oracle import check_objective
    results = check_objective("dsm_antithetic")
    assert [r.case for r in results] == ["Gaussian 1-D", "mixture 1-D", "Gaussian 2-D", "mixture 2-D",
                                         "Gaussian 3-D", "mixture 3-D"]
    assert all(r.passed for r in results), [r.line() for r in results]


def test_check_density_passes_the_example_and_catches_a_wrong_score(example, plugins):
    from explorer.core.plugins.oracle import check_density
    assert all(r.passed for r in check_density("student_t")), [r.line() for r in check_density("student_t")]
    plugins("wrong-score", {"score_explorer.densities": {"student_t_wrong": "bad_t:Wrong"}},
            {"bad_t.py": "from score_explorer_example.density import StudentT\n"
                         "class Wrong(StudentT):\n    name = kind = 'student_t_wrong'\n"
                         "    def score(self, x):\n        return 2 * super().score(x)\n"})
    score, samples = check_density("student_t_wrong")
    assert not score.passed and samples.passed


def test_compare_runs_a_plugin_objective_beside_a_builtin_on_two_workers(example, tmp_path):
    import csv
    import tomli_w
    preset = tmp_path / "tiny.toml"
    preset.write_text(tomli_w.dumps({
        "density": {"kind": "student_t", "dof": 4.0},
        "model": {"hidden": [16, 16]}, "training": {"steps": 60, "batch_size": 64},
        "sampler": {"particles": 50, "steps": 10}, "view": {"grid": 6}}))
    path = [p for p in sys.path if "plugin" in p or "score-explorer-example" in p]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([*path, str(ROOT)])}
    out = tmp_path / "out"
    r = subprocess.run([sys.executable, "-m", "explorer", "compare", str(preset), "--vary",
                        "objective.kind=dsm,dsm_antithetic", "--workers", "2", "--out", str(out)],
                       capture_output=True, text=True, env=env, timeout=600)
    assert r.returncode == 0, r.stderr
    rows = list(csv.DictReader((out / "summary.csv").open()))
    assert sorted(row["objective.kind"] for row in rows) == ["dsm", "dsm_antithetic"]
    assert all(float(row["relative_fisher_divergence"]) >= 0 for row in rows)


TEMPERED_LANGEVIN = '''
import math
from explorer.core.samplers import Sampler
from explorer.core.presets.schema import Field


class TemperedLangevin(Sampler):
    """x <- x + (eps/2) s(x) + sqrt(eps T) z: Langevin on p^(1/T)."""
    name = "tempered_langevin"
    label = "tempered Langevin"
    fields = {"temperature": Field("float", 1.0, min=0.0, exclusive_min=True)}

    def step(self, x):
        s = self.score_of(self.score.field, x)
        return x + (self.eps / 2) * s + math.sqrt(self.eps * self.params["temperature"]) * self.noise()
'''


def test_a_plugin_sampler_is_a_preset_key_and_runs(plugins):
    from explorer.core.samplers import build_sampler
    from explorer.core.scores import TrueScore
    plugins("tempered-plugin", {"score_explorer.samplers": {"tempered_langevin": "tempered:TemperedLangevin"}},
            {"tempered.py": TEMPERED_LANGEVIN})
    spec = {"density": {"kind": "gaussian", "mean": [0.0, 0.0], "std": 1.0},
            "sampler": {"kind": "tempered_langevin", "score": "true", "particles": 4000, "steps": 400,
                        "step_size": 0.05}}
    p = P.parse({**spec, "sampler": {**spec["sampler"], "temperature": 1.0}})
    d = p.build_density()
    same = build_sampler(p, TrueScore(d, p), "cpu").run()
    plain = P.parse({**spec, "sampler": {**spec["sampler"], "kind": "langevin"}})
    assert torch.equal(same, build_sampler(plain, TrueScore(d, plain), "cpu").run())   # T = 1: Langevin
    hot = P.parse({**spec, "sampler": {**spec["sampler"], "temperature": 4.0}})
    x = build_sampler(hot, TrueScore(d, hot), "cpu").run()
    # Langevin at temperature T on N(0, I) samples N(0, T I) (up to the step's O(eps) bias)
    assert float(x.var(0).mean()) == pytest.approx(4.0, rel=0.1)
    with pytest.raises(SpecError) as info:
        P.parse({**spec, "sampler": {**spec["sampler"], "temperature": -1.0}})
    assert info.value.key == "sampler.temperature"
    assert "temperature" in P.loads(p.to_toml()).sampler


def test_loading_the_registry_leaves_torchs_random_state_alone():
    # the registry loads lazily (in a child process after its seed is set): its interface
    # checks must not draw from the generator a seeded run uses
    torch.manual_seed(7)
    before = torch.get_rng_state()
    registry.reload()
    assert registry.objectives()
    assert torch.equal(torch.get_rng_state(), before)
