"""Plugins that misbehave after they loaded (issue 28): an objective that raises, returns NaN,
or is slow when a signal comes; a density whose sample() raises or whose log-density or
weights are NaN. The command ends with its documented status, one `error:` line that names
the plugin and its entry point, no traceback; what finished is kept.

The plugin is installed in process the way pip would (test_plugins.py's fixture); its
behaviour is switched through the module's FAULT dict, so one install serves every case.
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from explorer import cli
from small_preset import small_preset
from test_plugins import plugins  # noqa: F401  (the fixture)

OBJECTIVE = '''
import os, signal, time
import torch
from explorer.core.objectives import Objective

FAULT = {"mode": None, "at": 1, "calls": 0}

class Faulty(Objective):
    name = "faulty"
    label = "Faulty  a test objective"
    positive_loss = True

    def losses(self, model, x):
        out = 0.5 * model(x).pow(2).sum(1) + (model(x) * 0).sum(1)
        if x.shape[0] == 4:          # the registry's check on load: behave
            return out
        FAULT["calls"] += 1
        if FAULT["calls"] >= FAULT["at"]:
            mode = FAULT["mode"]
            if mode == "raise":
                raise ValueError("the faulty objective broke")
            if mode == "nan":
                return out * float("nan")
            if mode == "sigterm":     # a slow plugin, and the user's patience ends
                FAULT["mode"] = None
                os.kill(os.getpid(), signal.SIGTERM)
                time.sleep(2)
        return out
'''

DENSITY = '''
import torch
from explorer.core.densities.base import Density, symmetric_bounds

FAULT = {"mode": None}

class FaultyDensity(Density):
    name = kind = "faulty_density"
    dim = 2
    fields = {}

    def __init__(self):
        super().__init__(symmetric_bounds(4.0, 2))

    def sample(self, n, generator):
        if FAULT["mode"] == "sample_raises":
            raise RuntimeError("the faulty density cannot sample")
        return torch.randn((n, 2), generator=generator, device=generator.device)

    def log_prob(self, x):
        lp = -0.5 * x.pow(2).sum(1)
        return lp * float("nan") if FAULT["mode"] == "nan" else lp

    def score(self, x):
        return -x * float("nan") if FAULT["mode"] == "nan" else -x

    def components(self):
        import numpy as np
        w = np.array([float("nan")]) if FAULT["mode"] == "nan_weights" else np.array([1.0])
        return w, np.zeros((1, 2)), np.eye(2)[None]
'''


@pytest.fixture
def faulty(plugins):  # noqa: F811
    import importlib
    plugins("bad-faulty-plugin",
            {"score_explorer.objectives": {"faulty": "bad_faulty_obj:Faulty"},
             "score_explorer.densities": {"faulty_density": "bad_faulty_dens:FaultyDensity"}},
            {"bad_faulty_obj.py": OBJECTIVE, "bad_faulty_dens.py": DENSITY})
    return importlib.import_module("bad_faulty_obj").FAULT, importlib.import_module("bad_faulty_dens").FAULT


def _preset(folder: Path, objective="faulty", density=None) -> Path:
    import tomllib
    import tomli_w
    d = tomllib.loads(small_preset(steps=30, particles=20, sampler_steps=2, grid=4))
    d["objective"] = {"kind": objective}
    d["training"]["batch_size"] = 16
    if density:
        d["density"] = {"kind": density}
    f = folder / "p.toml"
    f.write_text(tomli_w.dumps(d))
    return f


def _error_lines(capsys):
    err = capsys.readouterr().err
    assert "Traceback" not in err, err
    return [ln for ln in err.splitlines() if ln.startswith("error:")], err


PLUGIN = "plugin objective 'faulty' from bad-faulty-plugin (entry point score_explorer.objectives)"


@settings(max_examples=8, deadline=None, database=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(mode=st.sampled_from(["raise", "nan", "sigterm"]), at=st.integers(1, 25))
def test_a_plugin_objective_that_fails_mid_training(faulty, capsys, mode, at):
    fault, _ = faulty
    fault.update(mode=mode, at=at, calls=0)
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        rc = cli.main(["run", str(_preset(tmp)), "--out", str(tmp / "o")])
        lines, err = _error_lines(capsys)
        if mode == "raise":
            assert rc == 1 and len(lines) == 1 and PLUGIN in lines[0], err
            assert "the faulty objective broke" in lines[0]
            assert not list((tmp / "o").glob("*.part")) if (tmp / "o").exists() else True
        elif mode == "nan":
            assert rc == 3 and len(lines) == 1, err   # divergence: rolled back, written, named
            m = json.loads((tmp / "o" / "metrics.json").read_text())
            assert m["diverged"]
        else:
            assert rc == 143 and not lines, err
            m = json.loads((tmp / "o" / "metrics.json").read_text())
            assert m["interrupted"] is True


def test_a_plugin_objective_that_raises_is_named_by_the_api(faulty):
    import explorer.api as se
    fault, _ = faulty
    fault.update(mode="raise", at=1, calls=0)
    p = se.edit(se.load("mixture_score"), {"objective.kind": "faulty", "model.hidden": [8],
                                           "training.batch_size": 8})
    with pytest.raises(ValueError, match="the faulty objective broke"):
        se.train(p, steps=2)


@pytest.mark.parametrize("mode", ["sample_raises", "nan"])
def test_a_plugin_density_that_fails_is_named(faulty, tmp_path, capsys, mode):
    _, fault = faulty
    fault["mode"] = mode
    rc = cli.main(["run", str(_preset(tmp_path, objective="ssm_vr", density="faulty_density")),
                   "--out", str(tmp_path / "o")])
    lines, err = _error_lines(capsys)
    assert rc in (1, 2, 3) and len(lines) == 1, err
    if mode == "sample_raises":
        assert rc == 1 and "plugin density 'faulty_density'" in lines[0], err


@pytest.mark.parametrize("mode", ["nan", "nan_weights", "sample_raises"])
def test_check_density_on_a_faulty_plugin_is_a_verdict_or_one_line(faulty, capsys, mode):
    _, fault = faulty
    fault["mode"] = mode
    rc = cli.main(["check", "density", "faulty_density"])
    lines, err = _error_lines(capsys)
    assert rc == 1, err
    assert "pvals" not in err
    if mode == "sample_raises":
        assert len(lines) == 1 and "plugin density 'faulty_density'" in lines[0]
    else:
        assert "FAIL" in capsys.readouterr().out or "FAIL" in err or lines
