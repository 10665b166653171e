"""The one edit model (core/presets/edits.py): what an edit means, wherever it is made."""

from __future__ import annotations

import pytest

import explorer.api as se
from explorer.core.presets import preset as P
from explorer.core.compare.plan import parse_vary, plan
from explorer.core.errors import SpecError
from explorer.core.presets.edits import with_changes
from explorer.core.session.effects import Effect, edit_effect

from small_preset import small_preset


@pytest.fixture
def base() -> P.Preset:
    return P.loads(small_preset())


def test_a_new_density_kind_starts_its_table_afresh_and_derives_its_box(base):
    ring = se.edit(base, {"density.kind": "ring"})
    assert ring.density["kind"] == "ring" and "means" not in ring.density
    fresh = P.parse({"density": {"kind": "ring"}, "objective": {"kind": "ssm_vr"}})
    assert ring.density["bounds"] == fresh.density["bounds"]
    assert ring.model == base.model and ring.training == base.training, "the rest is kept"
    assert edit_effect(base, ring) is Effect.DENSITY


def test_a_new_density_derives_the_noise_range_again_even_where_the_file_set_it():
    p = P.loads(small_preset().replace('kind = "ssm_vr"', 'kind = "ncsn"\nsigma_max = 3.0'))
    assert p.objective["sigma_max"] == 3.0
    wide = with_changes(p, {"density.kind": "ring", "density.radius": 30.0})
    fresh = P.parse({"density": {"kind": "ring", "radius": 30.0}, "objective": {"kind": "ncsn"}})
    assert wide.objective["sigma_max"] == fresh.objective["sigma_max"] > 3.0
    assert wide.objective["sigma_min"] == fresh.objective["sigma_min"]


def test_a_new_objective_brings_its_defaults_and_the_sampler_follows(base):
    ncsn = with_changes(base, {"objective.kind": "ncsn"})
    fresh = P.parse({**base.to_dict(), "objective": {"kind": "ncsn"},
                     "sampler": {"particles": base.sampler["particles"]}})
    assert ncsn.sampler["kind"] == fresh.sampler["kind"] == "annealed_langevin"
    assert ncsn.sampler["step_size"] == fresh.sampler["step_size"]
    assert ncsn.objective["sigma_max"] == fresh.objective["sigma_max"]
    assert ncsn.sampler["particles"] == base.sampler["particles"], "what the user set stays"
    back = with_changes(ncsn, {"objective.kind": "ssm_vr"})
    assert back.sampler["kind"] == base.sampler["kind"]


def test_a_key_the_user_set_survives_a_switch_only_where_both_objectives_declare_it_alike():
    p = P.loads(small_preset().replace('kind = "ssm_vr"', 'kind = "ncsn"\nlevels = 7'))
    sliced = with_changes(p, {"objective.kind": "ncsn_ssm"})
    assert sliced.objective["levels"] == 7
    ddpm = with_changes(p, {"objective.kind": "ddpm"})
    assert "objective.levels" not in ddpm.given


def test_values_set_under_an_objective_come_back_with_it(base):
    dsm = with_changes(base, {"objective.kind": "dsm", "objective.sigma": 0.37})
    ism = with_changes(dsm, {"objective.kind": "ism"})
    again = with_changes(ism, {"objective.kind": "dsm"}, remembered={"dsm": {"sigma": 0.37}})
    assert again.objective["sigma"] == 0.37
    plain = with_changes(ism, {"objective.kind": "dsm"})
    assert plain.objective["sigma"] == P.parse({"objective": {"kind": "dsm"}}).objective["sigma"]


def test_none_returns_a_key_to_its_default_or_derived_value(base):
    lr = with_changes(base, {"training.lr": 0.01})
    assert lr.training["lr"] == 0.01 and "training.lr" in lr.given
    again = with_changes(lr, {"training.lr": None})
    assert again.training["lr"] == base.training["lr"] and "training.lr" not in again.given


def test_a_new_sampler_kind_brings_its_own_steps(base):
    p = with_changes(base, {"sampler.kind": "langevin", "sampler.steps": 777})
    annealed = with_changes(p, {"objective.kind": "ncsn", "sampler.kind": "annealed_langevin"})
    fresh = with_changes(base, {"objective.kind": "ncsn"})
    assert annealed.sampler["steps"] == fresh.sampler["steps"] != 777


def test_a_drawing_replaces_the_density_table_whole(base):
    spec = {"kind": "mixture", "weights": [1.0], "means": [[0.5, 0.5]], "stds": [0.3]}
    p = with_changes(base, {"density": spec})
    assert p.density["weights"] == [1.0] and p.density["means"] == [[0.5, 0.5]]
    with pytest.raises(SpecError) as e:
        with_changes(base, {"density": 3})
    assert e.value.key == "density"


def test_an_invalid_edit_names_the_key_and_leaves_the_preset_alone(base):
    before = base.to_dict()
    with pytest.raises(SpecError) as e:
        se.edit(base, {"density.kind": "ring", "density.radius": -1.0})
    assert e.value.key == "density.radius"
    with pytest.raises(SpecError) as e:
        se.edit(base, {"objective.nonsense": 1})
    assert e.value.key == "objective.nonsense"
    with pytest.raises(SpecError) as e:
        se.edit(base, {"training": 5})
    assert e.value.key == "training"
    with pytest.raises(SpecError) as e:
        se.edit(base, {"lr": 5})
    assert e.value.key == "lr"
    assert base.to_dict() == before


def test_compare_varies_the_density_kind(tmp_path):
    path = tmp_path / "p.toml"
    path.write_text(small_preset())
    runs = plan(path, [parse_vary("density.kind=ring,moons")], seeds=2, steps=5)
    assert [r.preset.density["kind"] for r in runs] == ["ring", "ring", "moons", "moons"]
    assert [r.preset.training["seed"] for r in runs] == [0, 1, 0, 1]
    assert runs[1].preset.sampler["seed"] == 1, "the sampler's seed follows the training seed"
    assert all(r.preset.training["steps"] == 5 for r in runs)


def test_the_window_the_api_and_compare_agree(tmp_path, base):
    """One rule book: the same edit gives the same preset through every door."""
    from explorer.core.compare.plan import variant_preset
    from explorer.core.session import Session
    changes = {"objective.kind": "ncsn", "density.kind": "moons"}
    s = Session(base)
    try:
        assert s.edit(changes) is Effect.DENSITY
        via_session = s.preset
    finally:
        s.close()
    assert via_session.to_dict() == se.edit(base, changes).to_dict() \
        == variant_preset(base, changes).to_dict()
