"""The compare lab without a window: variants of a preset side by side in one training
process, each training exactly what a headless Trainer trains, mean +- sd over seeds."""

from __future__ import annotations

import time

import numpy as np
import pytest
import torch

from explorer.core.presets import preset as P
from explorer.core.compare.lab import MAX_SEEDS, MAX_SESSIONS, CompareLab
from explorer.core.compare.plan import parse_overrides, short_name, variant_preset
from explorer.core.errors import SpecError
from explorer.core.training.trainer import Trainer

from small_preset import small_preset


@pytest.fixture
def base(tmp_path):
    path = tmp_path / "small.toml"
    path.write_text(small_preset(steps=120, particles=300, sampler_steps=30, grid=10))
    return P.load(path)


@pytest.fixture
def lab(base):
    lab = CompareLab(base)
    yield lab
    lab.close()


def _wait(condition, timeout=120.0):
    t0 = time.time()
    while not condition():
        assert time.time() - t0 < timeout, "timed out"
        time.sleep(0.05)


def test_overrides_parse_like_vary_and_name_what_is_wrong():
    assert parse_overrides("objective.kind=ism, training.lr=0.003, model.hidden=[16, 16]") == \
        {"objective.kind": "ism", "training.lr": 0.003, "model.hidden": [16, 16]}
    assert parse_overrides("  ") == {}
    with pytest.raises(SpecError, match="share the density"):
        parse_overrides("density.stds=[1.0, 1.0]")
    with pytest.raises(SpecError, match="KEY=VALUE"):
        parse_overrides("objective.kind")
    with pytest.raises(SpecError, match="given twice"):
        parse_overrides("training.lr=0.1, training.lr=0.2")
    assert short_name({"objective.kind": "dsm", "objective.sigma": 0.5}) == "DSM, sigma=0.5"


def test_a_variant_is_the_preset_with_its_overrides_validated(base):
    ncsn = variant_preset(base, {"objective.kind": "ncsn"}, seed=2)
    assert ncsn.sampler["kind"] == "annealed_langevin", "the sampler follows the objective"
    assert ncsn.training["seed"] == base.training["seed"] + 2
    assert ncsn.sampler["seed"] == base.sampler["seed"] + 2
    with pytest.raises(SpecError) as e:
        variant_preset(base, {"training.lr": -1.0})
    assert e.value.key == "training.lr" and "training.lr=-1.0" in str(e.value)


def test_each_variant_trains_the_numbers_a_headless_trainer_trains(lab, base):
    """Interleaved in one process with another variant, a session's weights after the
    budget equal a Trainer's trained alone on the same preset (the fairness of the lab)."""
    dsm = lab.add("objective.kind=dsm", seeds=1)
    lab.add("training.lr=0.003", seeds=1)
    lab.play()
    _wait(lambda: lab.finished)
    alone = Trainer(variant_preset(base, {"objective.kind": "dsm"}, 0))
    alone.step(120)
    session = dsm.sessions[0]
    _wait(lambda: session.trainer.step_count == 120)
    for (k, mine), theirs in zip(session.trainer.model.state_dict().items(),
                                 alone.model.state_dict().values()):
        torch.testing.assert_close(mine, theirs, rtol=0, atol=0, msg=k)


def test_seeds_give_mean_and_sd_and_a_band(lab):
    v = lab.add("objective.kind=ssm_vr", seeds=3)
    lab.play()
    _wait(lambda: lab.finished)
    _wait(lambda: all(len(s.trainer.fisher) >= 2 for s in v.sessions))
    row = lab.rows()[0]
    rels = [s.trainer.fisher[-1][2] for s in v.sessions]
    assert row["relative_fisher"][0] == pytest.approx(np.mean(rels))
    assert row["relative_fisher"][1] == pytest.approx(np.std(rels, ddof=1))
    assert row["steps"] == (120.0, 0.0) and row["seeds"] == 3
    x, centre, low, high = lab.curve(v, "fisher")
    assert len(x) > 0 and np.all(low <= centre + 1e-12) and np.all(centre <= high + 1e-12)
    assert np.any(high > low), "three seeds spread"
    # the geometric mean of the seeds' F at a common step (log F interpolated between evaluations)
    log_f = [np.interp(x[-1], s.fisher_arrays()[0], np.log(s.fisher_arrays()[1])) for s in v.sessions]
    assert centre[-1] == pytest.approx(np.exp(np.mean(log_f)), rel=1e-9)


def test_add_remove_rename_pause(lab):
    a = lab.add("objective.kind=ism")
    b = lab.add("objective.kind=ism")
    assert (a.name, b.name) == ("ISM", "ISM #2")
    with pytest.raises(SpecError, match="another variant"):
        lab.rename(b, "ISM")
    lab.rename(b, "ISM again")
    lab.play()
    lab.set_paused(a, True)
    time.sleep(1.0)
    steps = a.sessions[0].trainer.step_count
    _wait(lambda: b.sessions[0].trainer.step_count >= 60)
    assert a.sessions[0].trainer.step_count <= steps + 50, "a paused variant stops"
    process = lab.process
    lab.remove(a)
    assert [v.name for v in lab.variants] == ["ISM again"] and process.alive
    with pytest.raises(SpecError, match="between 1 and"):
        lab.add("", seeds=0)
    for _ in range((MAX_SESSIONS - 1) // MAX_SEEDS):
        lab.add("", seeds=MAX_SEEDS)
    with pytest.raises(SpecError, match="at most 16 runs"):
        lab.add("", seeds=MAX_SEEDS)   # no input may exhaust memory: the runs are bounded


def test_equal_time_stops_every_run_at_its_seconds(lab):
    lab.set_budget("seconds", 1.5)
    v = lab.add("objective.kind=ism", seeds=2)
    w = lab.add("objective.kind=dsm", seeds=1)
    lab.play()
    _wait(lambda: lab.finished, timeout=60)
    for s in v.sessions + w.sessions:
        assert 1.5 <= s.trainer.train_seconds < 4.0
    # at equal time the cheaper objective has taken more steps
    assert w.sessions[0].trainer.step_count > v.sessions[0].trainer.step_count


def test_sampling_side_by_side_reads_out_mode_weights(lab):
    v = lab.add("objective.kind=dsm", seeds=2)
    lab.play()
    _wait(lambda: lab.finished)
    lab.sample(steps_per_frame=30)
    _wait(lambda: all(m is not None for m in v.mode_weights))
    mean, sd = lab.rows()[0]["mode_weights"]
    assert len(mean) == 2 and abs(sum(mean) - 1) < 1e-6 and sd is not None


def test_close_ends_the_shared_process_and_every_thread(base):
    import threading
    lab = CompareLab(base)
    lab.add("objective.kind=ism", seeds=2)
    lab.play()
    process = lab.process.process
    lab.close()
    assert process.poll() is not None
    assert not [t for t in threading.enumerate() if t.name in ("TrainingRun", "SamplingRun")]


def test_a_killed_training_process_is_replaced_and_training_goes_on(base):
    """The shared child is killed (out of memory, a user's kill): every variant says so, and
    Train all starts a new process in which each goes on from its last weights."""
    import os
    import signal
    base.training["steps"] = 100_000
    lab = CompareLab(base)
    try:
        failures = []
        lab.failed.connect(failures.append)
        a = lab.add("objective.kind=dsm")
        b = lab.add("objective.kind=ssm_vr")
        lab.play()
        _wait(lambda: all(v.sessions[0].trainer.step_count >= 40 for v in (a, b)))
        old = lab.process.process
        os.kill(old.pid, signal.SIGKILL)
        _wait(lambda: len(failures) >= 2)
        assert all("SIGKILL" in f for f in failures), failures
        before = [v.sessions[0].trainer.step_count for v in (a, b)]
        assert all(n > 0 for n in before)
        lab.play()
        assert lab.process.alive and lab.process.process is not old
        _wait(lambda: all(v.sessions[0].trainer.step_count >= n + 40 for v, n in zip((a, b), before)))
        assert lab.playing
    finally:
        lab.close()
    assert lab.process.process.poll() is not None
