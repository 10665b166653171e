"""The thread policy (core/training/threads.py): one torch thread per trainer unless OMP_NUM_THREADS
says otherwise (the headless run here; compare workers in test_compare, through metrics.json's `threads`;
the window's training process calls the same `threads.apply`)."""

import os
import subprocess
import sys

from explorer.core.training import threads

CHECK = """
import torch
from explorer.core.presets import preset as P
from explorer.core.run.headless import train_and_sample
p = P.parse({"density": {"kind": "gaussian"}, "model": {"hidden": [8]},
             "training": {"steps": 3, "batch_size": 8}, "sampler": {"particles": 5, "steps": 2},
             "view": {"grid": 4}})
before = torch.get_num_threads()
m = train_and_sample(p).metrics
assert m["threads"] == torch.get_num_threads()
print(before, m["threads"])
"""


def run_check(env_threads):
    env = {k: v for k, v in os.environ.items() if k not in threads.ENV}
    if env_threads:
        env["OMP_NUM_THREADS"] = env_threads
    r = subprocess.run([sys.executable, "-c", CHECK], capture_output=True, text=True, env=env,
                       timeout=120)
    assert r.returncode == 0, r.stderr
    return [int(x) for x in r.stdout.split()]


def test_a_headless_run_trains_on_one_thread():
    before, after = run_check(None)
    assert after == 1
    if threads.usable_cores() > 1:
        assert before > 1   # torch's own default was more: the policy changed it


def test_an_explicit_omp_num_threads_is_left_alone():
    assert run_check("2") == [2, 2]


def test_choose(monkeypatch):
    for v in threads.ENV:
        monkeypatch.delenv(v, raising=False)
    assert threads.choose() == 1
    for v in threads.ENV:
        monkeypatch.setenv(v, "3")
        assert threads.choose() is None
        monkeypatch.delenv(v)
