"""`score-explorer compare --vary` on the score-SDE keys (issue 13): values are TOML as in the
issue-11 contract, but a key that takes a string takes the word as typed
(`sampler.score=true` is the exact score, not a boolean), and a value of the wrong type is
one `error:` line naming the key and the value, exit 2, before anything runs."""

import csv
import json
import subprocess
import sys
import tomllib

import pytest
import tomli_w

from explorer.core.presets import preset as P
from explorer.core.compare import plan as PL

TINY = tomli_w.dumps({
    "name": "tiny sde",
    "density": {"kind": "mixture", "weights": [0.3, 0.7], "means": [[-2.0, 0.0], [2.0, 1.0]],
                "stds": [0.5, 0.7]},
    "model": {"hidden": [16, 16]},
    "objective": {"kind": "sde", "sde": "vp", "likelihood_samples": 20},
    "training": {"steps": 10, "batch_size": 64},
    "sampler": {"kind": "pc", "particles": 200, "steps": 30},
    "view": {"grid": 6},
})


@pytest.fixture
def preset_file(tmp_path):
    p = tmp_path / "tiny_sde.toml"
    p.write_text(TINY)
    return p


def compare(*args):
    return subprocess.run([sys.executable, "-m", "explorer", "compare", *map(str, args)],
                          capture_output=True, text=True, timeout=300)


def test_string_keys_take_words_that_toml_reads_as_booleans_or_numbers():
    assert PL.parse_vary("sampler.score=true,learned").values == ("true", "learned")
    assert PL.parse_vary("sampler.kind=ode,pc,euler_maruyama").values == ("ode", "pc", "euler_maruyama")
    assert PL.parse_vary("objective.sde=ve,vp,subvp").values == ("ve", "vp", "subvp")
    # keys of other types keep the TOML value
    assert PL.parse_vary("sampler.paths=true,false").values == (True, False)
    assert PL.parse_vary("sampler.snr=0.1,1").values == (0.1, 1)
    assert PL.parse_vary("objective.eps_t=1e-5,1e-3").values == (1e-5, 1e-3)
    # the window's compare lab reads its overrides the same way
    assert PL.parse_overrides("sampler.score=true, sampler.corrector_steps=0") == {
        "sampler.score": "true", "sampler.corrector_steps": 0}


def test_varying_sampler_and_score_gives_those_runs(preset_file):
    runs = PL.plan(preset_file, [PL.parse_vary("sampler.kind=ode,pc"),
                                 PL.parse_vary("sampler.score=true,learned")], seeds=1, steps=0)
    got = [(r.preset.sampler["kind"], r.preset.sampler["score"]) for r in runs]
    assert got == [("ode", "true"), ("ode", "learned"), ("pc", "true"), ("pc", "learned")]
    assert [r.variant.name for r in runs][0] == "sampler.kind=ode,sampler.score=true"


@pytest.mark.parametrize("vary, names", [
    ("sampler.paths=true,yes", "--vary sampler.paths=yes: expected true or false, got 'yes'"),
    ("sampler.snr=0.1,high", "--vary sampler.snr=high: expected a number, got 'high'"),
    ("sampler.corrector_steps=0,1.5", "--vary sampler.corrector_steps=1.5: expected an integer, got 1.5"),
    ("objective.sde=ve,vpp", "--vary objective.sde=vpp: must be one of ve, vp, subvp; got 'vpp'"),
    ("sampler.score=true,exact", "--vary sampler.score=exact: must be one of learned, true; got 'exact'"),
    ("objective.weighting=sigma2,1", "--vary objective.weighting=1: must be one of sigma2, likelihood; got '1'"),
    ("sampler.method=rk4,rk45", "--vary sampler.method=rk45: must be one of euler, rk4, dopri5"),
])
def test_a_value_of_the_wrong_type_is_one_error_line_naming_key_and_value(preset_file, tmp_path,
                                                                          cli_here, vary, names):
    out = tmp_path / "out"
    r = cli_here("compare", preset_file, "--vary", vary, "--out", out)
    assert r.returncode == 2, r.stderr
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and names in lines[0], r.stderr
    assert not out.exists()


def test_compare_runs_the_exact_and_the_learned_score_side_by_side(preset_file, tmp_path):
    out = tmp_path / "out"
    r = compare(preset_file, "--vary", "sampler.score=true,learned", "--steps", 0,
                "--workers", 1, "--out", out)
    assert r.returncode == 0, r.stderr
    rows = list(csv.DictReader(open(out / "summary.csv")))
    assert sorted(row["sampler.score"] for row in rows) == ["learned", "true"]
    exact = next(row for row in rows if row["sampler.score"] == "true")
    # on the exact score the PC sampler finds the 0.3/0.7 weights (an untrained model need not)
    assert abs(json.loads(exact["mode_weights"])[1] - 0.7) < 0.1, exact


def test_too_few_vp_steps_for_ddpm_betas_is_an_error_not_nan_particles(preset_file, tmp_path,
                                                                      cli_here):
    # beta_i = beta(t)/steps must stay below 1 (12 steps with beta_max = 20 gave NaN at step 1)
    r = cli_here("compare", preset_file, "--vary", "sampler.steps=30,12", "--out", tmp_path / "out")
    assert r.returncode == 2
    assert "--vary sampler.steps=12: must be at least objective.beta_max = 20" in r.stderr
    # the Euler-Maruyama predictor without a corrector does not use them
    raw = tomllib.loads(TINY)
    raw["sampler"].update(kind="euler_maruyama", steps=12)
    assert P.parse(raw).sampler["steps"] == 12
    raw["sampler"].update(kind="pc", predictor="euler_maruyama", corrector_steps=0)
    assert P.parse(raw).sampler["steps"] == 12
