"""The training process: the child trains exactly what a headless Trainer trains, obeys
play/pause/step/learning rate/budget, drops what belongs to an older session, reports
divergence with finite weights, and is gone after close."""

import sys
import time

import numpy as np
import pytest
import torch

from explorer.core.presets import preset as P
from explorer.core.measures.grid import grid_points
from explorer.core.training.trainer import Trainer
from explorer.core.training.process import TrainingProcess, TrainingProcessGone
from small_preset import small_preset

SMALL = small_preset("Process", steps=300, particles=100, sampler_steps=10, grid=8)


@pytest.fixture
def proc():
    p = TrainingProcess()
    yield p
    p.close()


def mirror(text=SMALL, **training):
    preset = P.loads(text)
    preset.training.update(training)
    return Trainer(preset)


def open_session(proc, trainer):
    grid = grid_points(trainer.preset.density["bounds"], 8)
    return proc.open_session(trainer, grid, None), grid


def receive_until(proc, session, done, timeout=60.0):
    """Messages of `session` until `done(message)` is true; older sessions' are dropped."""
    got = []
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        m = proc.receive(session, 0.2)
        if m is None:
            continue
        assert m[1] == session, "each session reads only its own messages"
        got.append(m)
        if done(m):
            return got
    raise AssertionError(f"no such message within {timeout} s; got {[m[0] for m in got]}")


def snapshot_at(step):
    return lambda m: m[0] == "snapshot" and m[2]["step"] == step


def test_the_child_trains_the_numbers_a_headless_trainer_trains(proc):
    t = mirror()
    session, grid = open_session(proc, t)
    proc.send("step", session, 40)
    got = receive_until(proc, session, snapshot_at(40))
    losses = [x for m in got if m[0] == "snapshot" for x in m[2]["losses"]]
    headless = mirror()
    headless.step(40)
    assert losses == headless.losses
    last = got[-1][2]
    for k, v in headless.model.state_dict().items():
        np.testing.assert_array_equal(last["state"][k], v.numpy())
    expected = headless.learned_score().field(torch.from_numpy(grid)).numpy()
    np.testing.assert_allclose(last["learned"], expected, rtol=1e-6, atol=1e-6)
    fisher_steps = [f[0] for m in got if m[0] == "snapshot" for f in m[2]["fisher"]]
    # evaluated at the start and at 10, 20, 40, where a fast run's curve falls fastest
    assert {0, 10, 20, 40} <= set(fisher_steps) and fisher_steps[-1] == 40


def test_play_pause_learning_rate_and_budget(proc):
    t = mirror(steps=150)
    session, _ = open_session(proc, t)
    proc.send("lr", session, 0.0005)
    proc.send("play", session)
    got = receive_until(proc, session, lambda m: m[0] == "finished")
    snaps = [m[2] for m in got if m[0] == "snapshot"]
    assert snaps[-1]["step"] == 150, "training stops exactly at the budget"
    assert snaps[-1]["lr"] == 0.0005
    assert sum(len(s["losses"]) for s in snaps) == 150, "every loss arrives once"
    proc.send("budget", session, 200)
    proc.send("play", session)
    receive_until(proc, session, lambda m: m[0] == "finished")
    proc.send("step", session, 5)   # past the budget: nothing trains, it says so
    receive_until(proc, session, lambda m: m[0] == "finished")
    proc.send("pause", session)
    last = receive_until(proc, session, lambda m: m[0] == "snapshot")[-1][2]
    assert last["step"] == 200
    proc.send("lr", session, 0.002)   # while paused, the change is reported at once
    last = receive_until(proc, session, lambda m: m[0] == "snapshot")[-1][2]
    assert last["lr"] == 0.002 and last["step"] == 200


def test_a_new_session_replaces_the_old_and_continues_from_the_mirror(proc):
    t = mirror()
    old, _ = open_session(proc, t)
    proc.send("play", old)
    receive_until(proc, old, lambda m: m[0] == "snapshot" and m[2]["step"] > 0)
    t.step(7)   # the mirror moves on (as after a snapshot); the child must start from it
    new, _ = open_session(proc, t)
    proc.send("play", old)          # a command of the old session is ignored
    proc.send("step", new, 3)
    got = receive_until(proc, new, snapshot_at(10))
    first = got[0][2]
    assert got[0][0] == "snapshot" and first["step"] == 7
    for k, v in t.model.state_dict().items():
        np.testing.assert_array_equal(first["state"][k], v.numpy())
    assert sum(len(m[2]["losses"]) for m in got) == 3


def test_divergence_is_reported_with_finite_weights(proc):
    t = mirror(lr=10.0)
    t.preset.model["activation"] = "silu"
    t.preset.objective["kind"] = "ism"
    t = Trainer(t.preset)
    session, _ = open_session(proc, t)
    proc.send("play", session)
    got = receive_until(proc, session, lambda m: m[0] in ("failed", "finished"), timeout=120)
    if got[-1][0] == "failed":
        assert "diverged" in got[-1][2].lower()
        state = [m[2]["state"] for m in got if m[0] == "snapshot"][-1]
        assert all(np.isfinite(v).all() for v in state.values())


def test_a_bad_device_is_a_message_not_a_dead_process(proc):
    t = mirror()
    t.device = torch.device("cuda:7" if not torch.cuda.is_available() else "cuda:99")
    session, _ = open_session(proc, t)
    got = receive_until(proc, session, lambda m: m[0] == "failed")
    assert "Training stopped" in got[-1][2]
    assert proc.alive


def test_close_ends_the_child_and_a_killed_child_is_reported():
    p = TrainingProcess()
    p.close()
    assert p.process.poll() is not None and not p.alive
    q = TrainingProcess()
    try:
        session, _ = open_session(q, mirror())
        q.process.kill()
        q.process.wait()
        with pytest.raises(TrainingProcessGone, match="stopped by SIGKILL"):
            for _ in range(50):
                q.receive(session, 0.1)
    finally:
        q.close()


def test_sessions_opened_side_by_side_train_in_turn_each_its_own_numbers(proc):
    """The compare lab's variants share one child: each session trains exactly what it
    would alone, and the child alternates between them."""
    a, b = mirror(), mirror(lr=0.003)
    alone = mirror(lr=0.003)
    sa = proc.open_session(a, grid_points(a.preset.density["bounds"], 8), None, replace=False)
    sb = proc.open_session(b, grid_points(b.preset.density["bounds"], 8), None, replace=False)
    proc.send("step", sa, 30)
    proc.send("step", sb, 30)
    got_a = receive_until(proc, sa, snapshot_at(30))
    got_b = receive_until(proc, sb, snapshot_at(30))
    alone.step(30)
    for k, v in alone.model.state_dict().items():
        np.testing.assert_allclose(got_b[-1][2]["state"][k], v.numpy(), rtol=0, atol=0)
    state_a, state_b = got_a[-1][2]["state"], got_b[-1][2]["state"]
    assert not all(np.array_equal(state_a[k], state_b[k]) for k in state_a), \
        "the two learning rates train two different networks"
    proc.send("stop", sa)
    receive_until(proc, sa, lambda m: m[0] == "stopped")
    proc.send("step", sb, 5)   # the other session goes on after one stops
    receive_until(proc, sb, snapshot_at(35))


@pytest.mark.skipif(not sys.platform.startswith("linux"),
                    reason="reads /proc, which only Linux has")
def test_the_child_loads_no_qt(proc):
    t = mirror()
    session, _ = open_session(proc, t)
    receive_until(proc, session, lambda m: m[0] == "snapshot")
    libraries = open(f"/proc/{proc.process.pid}/maps").read()
    assert "libtorch" in libraries and "Qt6Core" not in libraries
