"""The Qt-free session model: what an edit restarts, what its signals say, how it ends.

No window here: a script or a compare lab drives a Session the same way the window does.
"""

from __future__ import annotations

import threading
import time

import numpy as np
import pytest
import torch

from explorer.core.presets import preset as P
from explorer.core.errors import SpecError
from explorer.core.session import Effect, Session

from small_preset import small_preset


@pytest.fixture
def session(tmp_path):
    path = tmp_path / "small.toml"
    path.write_text(small_preset(steps=200, particles=400, sampler_steps=40))
    s = Session(P.load(path))
    s.restart_training()
    yield s
    s.close()


def _wait(condition, timeout=60.0):
    t0 = time.time()
    while not condition():
        assert time.time() - t0 < timeout, "timed out"
        time.sleep(0.02)


def _edited(s: Session, section: str, key: str, value) -> str:
    return s.edit({f"{section}.{key}": value}).value


def test_trains_in_the_background_and_says_so_from_its_run_thread(session):
    threads = []
    session.trained.connect(lambda: threads.append(threading.current_thread().name))
    finished = threading.Event()
    session.budget_reached.connect(finished.set)
    assert session.play()
    assert finished.wait(120), "the 200-step budget is reached"
    _wait(lambda: session.trainer.step_count == 200)
    assert threads and set(threads) == {"TrainingRun"}
    steps, losses = session.loss_arrays()
    assert len(steps) > 0 and steps[-1] <= 200 and np.isfinite(losses).all()
    f_steps, f, rel = session.fisher_arrays()
    assert len(f) > 0 and np.all(np.diff(f_steps) > 0)
    assert not session.play(), "the budget is spent: play says no"


def test_an_edit_restarts_only_what_it_invalidates(session):
    session.step(20)
    _wait(lambda: session.trainer.step_count == 20)
    trainer, run = session.trainer, session.training
    assert _edited(session, "training", "lr", 5e-4) == "lr"
    assert session.trainer is trainer and session.training is run
    _wait(lambda: run.reported_lr == 5e-4)

    assert _edited(session, "sampler", "step_size", 0.02) == "sampler"
    assert session.trainer is trainer, "a sampler edit keeps the weights"

    assert _edited(session, "objective", "kind", "dsm") == "training"
    assert session.trainer is not trainer and session.trainer.step_count == 0
    assert not run.alive, "the old run's thread has ended"


def test_a_view_edit_keeps_the_weights_on_a_new_grid(session):
    session.step(10)
    _wait(lambda: session.trainer.step_count == 10)
    before = [p.detach().clone() for p in session.trainer.model.parameters()]
    assert _edited(session, "view", "grid", 20) == "view"
    assert session.grid.shape == (400, 2) and session.trainer.step_count == 10
    after = list(session.trainer.model.parameters())
    assert all(torch.equal(a, b) for a, b in zip(before, after))


def test_an_invalid_edit_names_the_field_and_changes_nothing(session):
    preset, trainer = session.preset, session.trainer
    with pytest.raises(SpecError) as e:
        session.edit({"training.batch_size": -3})
    assert e.value.key == "training.batch_size"
    assert session.preset is preset and session.trainer is trainer


def test_a_new_dimension_replaces_everything(session):
    changes = {"density.kind": "gaussian", "density.mean": [0.0], "density.std": 1.0}
    assert session.edit(changes) is Effect.DIMENSION
    assert session.preset.dim == 1 and session.training is None
    session.restart_training()
    assert session.grid.shape[1] == 1 and session.true_on_grid(None).shape == session.grid.shape


def test_sampling_the_true_score_publishes_particles_and_ends(session):
    session.edit({"sampler.score": "true"})
    done = threading.Event()
    session.sampling_done.connect(done.set)
    assert session.start_sampling(steps_per_frame=10)
    assert done.wait(60)
    x = session.particles()
    assert x.shape == (400, 2) and np.isfinite(x).all()
    snap = session.sampling.take_snapshot()
    assert snap is not None and snap["step"] == snap["total"] == 40
    assert snap["mode_weights"] is not None and abs(sum(snap["mode_weights"]) - 1) < 1e-6


def test_sampling_an_untrained_network_says_so(session):
    notes = []
    session.note.connect(notes.append)
    assert session.start_sampling(steps_per_frame=5)
    assert any("untrained" in n for n in notes)


def test_close_ends_both_threads_and_the_training_process(session):
    session.play()
    session.start_sampling(5)
    runs = [session.training, session.sampling]
    child = session.training_process.process
    t0 = time.perf_counter()
    session.close()
    assert time.perf_counter() - t0 < 3.0
    assert not any(r.alive for r in runs)
    assert child.poll() is not None
    assert not [t for t in threading.enumerate() if t.name in ("TrainingRun", "SamplingRun")]
