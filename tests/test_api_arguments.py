"""explorer.api checks its arguments as the loader checks a preset (issue 28): one SpecError
naming the argument, never a raw TypeError/AttributeError/AssertionError, numpy scalars
accepted. Training is a few steps of a tiny network."""

from __future__ import annotations

import numpy as np
import pytest

import explorer.api as se
from explorer.core.errors import SpecError


@pytest.fixture(scope="module")
def preset():
    return se.edit(se.load("mixture_score"), {"model.hidden": [8], "training.batch_size": 16,
                                              "sampler.particles": 32, "sampler.steps": 2,
                                              "view.grid": 4})


@pytest.fixture(scope="module")
def run(preset):
    return se.train(preset, steps=np.int64(2), every=np.int32(1))


def test_numpy_scalars_are_numbers(run, preset):
    assert run.trainer.step_count == 2
    x = se.sample(run, particles=np.int64(10), steps=np.int16(1))
    assert x.shape == (10, 2)
    p = se.edit(preset, {"training.lr": np.float32(0.002), "model.hidden": np.array([4, 4])})
    assert p.model["hidden"] == [4, 4] and abs(p.training["lr"] - 0.002) < 1e-9


@pytest.mark.parametrize("kwargs, key", [
    ({"steps": -5}, "steps"), ({"steps": 2.5}, "steps"), ({"steps": "10"}, "steps"),
    ({"steps": 10**9}, "steps"), ({"steps": True}, "steps"), ({"every": 0}, "every"),
    ({"device": 5}, "device"), ({"device": "tpu"}, "device"), ({"callback": 3}, "callback")])
def test_train_arguments(preset, kwargs, key):
    with pytest.raises(SpecError) as e:
        se.train(preset, **kwargs)
    assert e.value.key == key, str(e.value)


def test_an_absent_gpu_falls_back_to_the_cpu(preset):
    import torch
    if torch.cuda.is_available():
        pytest.skip("a GPU is present")
    r = se.train(preset, steps=1, device="cuda")
    assert r.trainer.device.type == "cpu"


@pytest.mark.parametrize("kwargs, key", [
    ({"particles": 3_000_000}, "particles"), ({"particles": 0}, "particles"),
    ({"particles": float("nan")}, "particles"), ({"score": "exact"}, "score"),
    ({"steps": -1}, "steps")])
def test_sample_arguments(run, kwargs, key):
    with pytest.raises(SpecError) as e:
        se.sample(run, **kwargs)
    assert e.value.key == key, str(e.value)


@pytest.mark.parametrize("particles, needle", [
    (np.full((5, 2), np.nan), "not finite"), (np.zeros((5, 3)), "shape"), ("abc", "array"),
    (np.zeros((0, 2)), "shape"), (np.full((2, 2), 1e38), "1e30")])
def test_evaluate_refuses_particles_it_cannot_measure(run, particles, needle):
    with pytest.raises(SpecError, match=needle) as e:
        se.evaluate(run, particles)
    assert e.value.key == "particles"


@pytest.mark.parametrize("call", [lambda: se.sample("run"), lambda: se.evaluate(None),
                                  lambda: se.field(3), lambda: se.train({"density": {}}),
                                  lambda: se.edit("p", {}), lambda: se.load(3)])
def test_wrong_objects_are_spec_errors(call):
    with pytest.raises(SpecError):
        call()
