"""Generated presets, valid and mutated: loading ends in a Preset or a SpecError, nothing else.

Hypothesis builds presets from the same field tables the loader checks (so every key and
kind is reached), then mutates them the way a hand-edited file goes wrong: wrong types,
huge, negative, NaN and infinite numbers, unknown keys, keys with newlines, deep nesting.
Any exception other than the project's SpecError is a failure, and so is a resolved preset
that does not load back to itself. One small sample also runs through the CLI.
"""

import json
import math
import os
import subprocess
import sys
from pathlib import Path

import pytest
import tomli_w
from hypothesis import HealthCheck, given, settings, strategies as st

from explorer.core.presets import preset as P
from explorer.core.densities.params import DENSITY_FIELDS, DIM_OF_KIND
from explorer.core.errors import SpecError

BUILTIN_OBJECTIVES = ("esm", "ism", "ssm", "ssm_vr", "dsm", "ncsn", "ddpm")

ROOT = Path(__file__).resolve().parents[1]
FAST = settings(max_examples=200, deadline=None, database=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])

# --- valid presets ------------------------------------------------------------------------------

KINDS = [k for k in DENSITY_FIELDS if k not in ("image", "points")]  # those need files
pos = st.floats(0.05, 5.0)


@st.composite
def density(draw):
    kind = draw(st.sampled_from(KINDS))
    d = DIM_OF_KIND.get(kind) or draw(st.integers(1, 3))
    coord = st.floats(-5, 5)
    if kind == "gaussian":
        spec = {"mean": draw(st.lists(coord, min_size=d, max_size=d)), "std": draw(pos)}
    elif kind == "mixture":
        k = draw(st.integers(1, 4))
        spec = {"means": draw(st.lists(st.lists(coord, min_size=d, max_size=d), min_size=k, max_size=k)),
                "weights": draw(st.lists(st.floats(0.1, 3), min_size=k, max_size=k)),
                "stds": draw(st.lists(pos, min_size=k, max_size=k))}
    else:
        spec = {}
        for key, f in DENSITY_FIELDS[kind].items():
            if f.type == "float" and draw(st.booleans()):
                lo = f.min if f.min is not None else -2.0
                spec[key] = draw(st.floats(max(lo, 0.05), 3.0 if f.max is None else min(f.max, 3.0)))
            elif f.type == "int" and draw(st.booleans()):
                spec[key] = draw(st.integers(int(f.min or 1), int(min(f.max or 8, 8))))
    return {"kind": kind, **spec}


@st.composite
def valid_preset(draw):
    obj = draw(st.sampled_from(BUILTIN_OBJECTIVES))
    t = {"name": draw(st.text(max_size=20)), "description": draw(st.text(max_size=40)),
         "density": draw(density()),
         "model": {"kind": draw(st.sampled_from(["score", "energy"])),
                   "hidden": draw(st.lists(st.integers(1, 64), min_size=1, max_size=3)),
                   "activation": draw(st.sampled_from(["softplus", "silu", "tanh", "elu"]))},
         "objective": {"kind": obj},
         "training": {"steps": draw(st.integers(0, 5)), "batch_size": draw(st.integers(1, 64)),
                      "lr": draw(st.floats(1e-4, 1e-1)), "seed": draw(st.integers(0, 2**31))},
         "sampler": {"particles": draw(st.integers(1, 64)), "steps": draw(st.integers(1, 5)),
                     "score": draw(st.sampled_from(["learned", "true"]))},
         "view": {"grid": draw(st.integers(2, 12))}}
    if obj == "ddpm":
        t["objective"]["timesteps"] = draw(st.integers(2, 20))
    return t


# --- mutations ------------------------------------------------------------------------------------

def nested(depth: int):
    v = 1.0
    for _ in range(depth):
        v = [v]
    return v


scalars = st.one_of(
    st.integers(-2**70, 2**70), st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([0, -1, 1e308, -1e308, 1e-320, 1e200, 1e-200, 2**63, float("nan")]),
    st.text(max_size=10), st.booleans())
values = st.recursive(scalars, lambda inner: st.one_of(st.lists(inner, max_size=4),
                                                        st.dictionaries(st.text(max_size=5), inner,
                                                                        max_size=3)),
                      max_leaves=12)
values = st.one_of(values, st.integers(9, 600).map(nested))
keys = st.one_of(st.text(max_size=8), st.sampled_from(["a\nb", "kind", "means", "stds", "weights",
                                                       "covariances", "bounds", "hidden", "grid"]))


@st.composite
def mutated_preset(draw):
    t = draw(valid_preset())
    for _ in range(draw(st.integers(1, 3))):
        sections = [s for s in t if isinstance(t[s], dict)]
        where = draw(st.sampled_from(sections + ["<top>"]))
        table = t if where == "<top>" else t[where]
        known = list(table) + (list(P.section_fields(where)) if where in P.SECTION_NAMES else [])
        if where == "density":
            known += list(DENSITY_FIELDS.get(table.get("kind"), {}) if isinstance(table.get("kind"), str) else [])
        key = draw(st.one_of(st.sampled_from(known), keys)) if known else draw(keys)
        if draw(st.integers(0, 9)) == 0:
            table.pop(key, None)
        else:
            table[key] = draw(values)
    return t


def parses_or_spec_error(t):
    try:
        p = P.parse(t)
    except SpecError as e:
        text = str(e)
        assert "\n" not in text and text.strip(), repr(text)
        return None
    return p


@FAST
@given(valid_preset())
def test_valid_presets_load_and_reload_to_themselves(t):
    p = parses_or_spec_error(t)
    if p is not None:  # valid tables may still combine into a SpecError (e.g. ddpm sampler)
        again = P.loads(p.to_toml())
        assert again.to_dict() == p.to_dict()


@FAST
@given(mutated_preset())
def test_mutated_presets_raise_only_spec_errors(t):
    parses_or_spec_error(t)


@FAST
@given(mutated_preset())
def test_mutated_preset_files_raise_only_spec_errors(t):
    try:
        text = tomli_w.dumps(t)
    except (TypeError, ValueError, RecursionError):  # not representable in TOML (e.g. NaN key types)
        return
    try:
        P.loads(text, source="generated.toml")
    except SpecError as e:
        assert "\n" not in str(e)


@settings(max_examples=100, deadline=None, database=None)
@given(st.text(max_size=200))
def test_arbitrary_text_raises_only_spec_errors(text):
    try:
        P.loads(text)
    except SpecError:
        pass


@pytest.mark.slow
@settings(max_examples=2, deadline=None, database=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(t=valid_preset())
def test_generated_preset_runs_through_the_cli(tmp_path_factory, t):
    d = tmp_path_factory.mktemp("gen")
    f = d / "p.toml"
    f.write_text(tomli_w.dumps(t))
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    r = subprocess.run([sys.executable, "-m", "explorer", "run", str(f), "--out", str(d / "out")],
                       capture_output=True, text=True, timeout=120, env=env)
    assert "Traceback" not in r.stderr
    assert r.returncode in (0, 2, 3), r.stderr
    errors = [ln for ln in r.stderr.splitlines() if ln.startswith("error:")]
    if r.returncode == 0:
        assert not errors
        m = json.loads((d / "out" / "metrics.json").read_text(),
                       parse_constant=lambda c: pytest.fail(f"bare {c} in metrics.json"))
        assert m["steps"] == t["training"]["steps"]
        for v in m.values():
            assert not (isinstance(v, float) and not math.isfinite(v))
    else:
        assert len(errors) == 1, r.stderr
