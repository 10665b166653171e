"""Generated input for the commands other than `run` (issue 28): whatever `--vary` strings,
`--seeds`, `--sigmas` texts or lesson files a user types, the answer is a plan (or a list of
sigmas, or a lesson) or one SpecError: never another exception, never a traceback, and never
work started before the input was found bad.
"""

from __future__ import annotations

import math

import pytest
import tomli_w
from hypothesis import HealthCheck, given, settings, strategies as st

from explorer import cli
from explorer.core.compare import runner
from explorer.core.compare.plan import parse_vary, plan
from explorer.core.measures.dsm_tradeoff import MAX_SIGMAS, SIGMA_RANGE, parse_sigmas
from explorer.core.errors import SpecError
from explorer.core.lessons.format import loads as lesson_loads
from small_preset import small_preset

FAST = settings(max_examples=150, deadline=None, database=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much,
                                       HealthCheck.function_scoped_fixture])

KEYS = st.sampled_from(["training.lr", "training.seed", "objective.kind", "objective.sigma",
                        "model.hidden", "sampler.particles", "sampler.score", "density.stds",
                        "view.grid", "nope.key", "training", "a..b", "", "x" * 300])
ATOMS = st.one_of(
    st.integers(-10**20, 10**20).map(str),
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.sampled_from(["esm", "ism", "dsm", "true", "false", "learned", "nan", "inf", "-inf",
                     '"x"', "'y'", "[64, 64]", "[]", "{}", "{a = 1}", "1e308", "1e-320",
                     "[" * 50 + "]" * 50, "[" * 3000 + "]" * 3000, '"\n"', "\x00", ",", "=", "[,]"]),
    st.text(max_size=20))
VALUES = st.lists(ATOMS, min_size=0, max_size=6).map(",".join)


@pytest.fixture(scope="module")
def preset_file(tmp_path_factory):
    f = tmp_path_factory.mktemp("prop") / "p.toml"
    f.write_text(small_preset(steps=2, particles=20, sampler_steps=2, grid=4))
    return f


@FAST
@given(varies=st.lists(st.tuples(KEYS, VALUES).map(lambda kv: f"{kv[0]}={kv[1]}")
                       | st.text(max_size=40), max_size=3))
def test_any_vary_strings_plan_or_fail_with_a_spec_error(preset_file, varies):
    try:
        runs = plan(preset_file, [parse_vary(v) for v in varies], 1, None)
    except SpecError as e:
        assert "\n" not in str(e)
        return
    assert runs and all(r.preset.name for r in runs)


@settings(max_examples=40, deadline=None, database=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(sizes=st.lists(st.integers(1, 60), min_size=1, max_size=4), seeds=st.integers(-3, 10**7))
def test_sweeps_run_when_small_and_are_refused_before_any_work_when_large(
        preset_file, tmp_path, monkeypatch, capsys, sizes, seeds):
    started = []
    monkeypatch.setattr(runner, "execute", lambda runs, *a, **k: started.append(len(runs)) or runner.Outcome())
    monkeypatch.setattr(runner.S, "write", lambda *a, **k: {"variants": []})
    monkeypatch.setattr(runner, "plan", lambda path, vs, s, steps: plan_stub(vs, s))
    varies = [f"training.seed={','.join(str(100 * i + j) for j in range(n))}" for i, n in enumerate(sizes)]
    argv = ["compare", str(preset_file), "--seeds", str(seeds), "--out", str(tmp_path / "o")]
    for v in varies:
        argv += ["--vary", v]
    total = math.prod(sizes) * seeds
    rc = cli.main(argv)
    err = capsys.readouterr().err
    assert "Traceback" not in err
    if 1 <= seeds and total <= runner.MAX_RUNS:
        assert rc == 0 and started == [total], err
    else:
        assert rc == 2 and not started and err.count("error:") == 1, err


def plan_stub(varies, seeds):
    """As many runs as the real plan would make, without building presets: the limit is the
    point here, and plan() is tested above."""
    from explorer.core.compare.plan import variants
    from explorer.core.presets import preset as P
    from explorer.core.compare.plan import Run
    base = P.parse({"density": {"kind": "gaussian"}})
    return [Run(v, s, base) for v in variants(varies) for s in range(seeds)]


SIGMA_TEXT = st.one_of(
    st.text(max_size=30),
    st.lists(st.floats(allow_nan=True, allow_infinity=True), min_size=0, max_size=8)
    .map(lambda v: ",".join(map(repr, v))),
    st.tuples(st.floats(allow_nan=True, allow_infinity=True), st.floats(allow_nan=True, allow_infinity=True),
              st.integers(-5, 10**6)).map(lambda t: f"{t[0]!r}:{t[1]!r}:{t[2]}"))


@FAST
@given(text=SIGMA_TEXT)
def test_any_sigmas_text_is_sigmas_in_range_or_one_spec_error(text):
    try:
        sigmas = parse_sigmas(text)
    except SpecError as e:
        assert e.key == "--sigmas" and "\n" not in str(e)
        return
    lo, hi = SIGMA_RANGE
    assert 1 <= len(sigmas) <= MAX_SIGMAS and sigmas == sorted(sigmas)
    assert all(lo <= s <= hi and math.isfinite(s) for s in sigmas)


TOML_VALUES = st.recursive(
    st.one_of(st.integers(-10**6, 10**6), st.floats(allow_nan=False), st.text(max_size=10), st.booleans()),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text("abcxyz", min_size=1, max_size=4),
                                                                 inner, max_size=3),
    max_leaves=12)
STEP_KEYS = ["title", "text", "preset", "train", "until_fisher", "sigma", "t", "view", "arrows",
             "compare", "variant_seeds", "tradeoff", "overrides", "sample", "variants", "junk"]


@st.composite
def lesson_text(draw):
    steps = []
    for _ in range(draw(st.integers(0, 3))):
        step = {"preset": draw(st.sampled_from(["mixture_score", "nope", "two_modes_annealed"]))}
        for key in draw(st.lists(st.sampled_from(STEP_KEYS), max_size=4, unique=True)):
            step[key] = draw(TOML_VALUES)
        steps.append(step)
    data = {"title": draw(st.text(max_size=10) | st.integers()), "step": steps}
    text = tomli_w.dumps(data)
    if draw(st.booleans()):   # deep nesting, as a hand-written file may have
        text += f"\nx = {'[' * draw(st.integers(1, 3000))}"
    return text


@settings(max_examples=80, deadline=None, database=None,
          suppress_health_check=[HealthCheck.too_slow])
@given(text=lesson_text())
def test_any_lesson_file_loads_or_fails_with_one_spec_error(text):
    try:
        lesson = lesson_loads(text, ".", "l.toml")
    except SpecError as e:
        assert "\n" not in str(e)
        return
    assert lesson.steps
