"""Signals to the parent of a compare sweep: nothing outlives it (issue 28).

The only true subprocess tests of the fault contract: a parent killed with SIGKILL cannot
clean up, so its spawn workers must notice and end themselves (and with them the
multiprocessing resource tracker); SIGTERM stops the sweep like Ctrl-C, keeps the summary,
and exits 143. Each test costs a few torch imports; no run gets near its training budget.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time

import psutil
import pytest

from small_preset import small_preset


def _start(tmp_path):
    preset = tmp_path / "p.toml"
    preset.write_text(small_preset(steps=10, particles=20, sampler_steps=2, grid=4))
    out = tmp_path / "out"
    p = subprocess.Popen([sys.executable, "-m", "explorer", "compare", str(preset), "--vary",
                          "training.lr=0.001,0.002", "--steps", "5000000", "--workers", "2",
                          "--out", str(out)], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         text=True, start_new_session=True)
    return p, out


def _workers(p, n=2, timeout=120):
    """The parent's descendants once `n` pool workers run (the resource tracker included)."""
    parent = psutil.Process(p.pid)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        kids = parent.children(recursive=True)
        workers = [k for k in kids if _is_worker(k)]
        if len(workers) >= n:
            time.sleep(3)   # into their runs: past the imports
            return parent.children(recursive=True)
        if p.poll() is not None:
            pytest.fail(f"compare ended early: {p.communicate()}")
        time.sleep(0.3)
    pytest.fail("the pool workers did not start")


def _is_worker(proc) -> bool:
    try:
        return "spawn_main" in " ".join(proc.cmdline())
    except psutil.Error:
        return False


def _survivors(procs, timeout):
    deadline = time.monotonic() + timeout
    alive = procs
    while alive and time.monotonic() < deadline:
        alive = [q for q in alive if _alive(q)]
        time.sleep(0.3)
    return alive


def _alive(q) -> bool:
    try:
        return q.is_running() and q.status() != psutil.STATUS_ZOMBIE
    except psutil.Error:
        return False


def _reap(procs):
    for q in procs:
        try:
            q.kill()
        except psutil.Error:
            pass


def test_sigkill_of_the_parent_leaves_no_worker_or_resource_tracker(tmp_path):
    p, _ = _start(tmp_path)
    kids = []
    try:
        kids = _workers(p)
        assert any("resource_tracker" in " ".join(k.cmdline()) for k in kids if _alive(k)) or kids
        p.kill()
        p.wait(timeout=30)
        alive = _survivors(kids, timeout=30)
        assert not alive, [" ".join(q.cmdline()) for q in alive if _alive(q)]
    finally:
        _reap(kids)
        if p.poll() is None:
            p.kill()
        p.communicate()


def test_sigterm_of_the_parent_keeps_the_summary_exits_143_and_leaves_no_process(tmp_path):
    p, out = _start(tmp_path)
    kids = []
    try:
        kids = _workers(p)
        p.send_signal(signal.SIGTERM)
        _, err = p.communicate(timeout=120)
        assert p.returncode == 143, err
        assert "Traceback" not in err
        assert json.loads((out / "summary.json").read_text())["variants"] == []
        alive = _survivors(kids, timeout=30)
        assert not alive, [" ".join(q.cmdline()) for q in alive if _alive(q)]
        assert not list(out.rglob("*.part"))
    finally:
        _reap(kids)
        if p.poll() is None:
            p.kill()
            p.communicate()


def test_a_second_ctrl_c_still_writes_the_summary_and_leaves_no_process(tmp_path):
    p, out = _start(tmp_path)
    kids = []
    try:
        kids = _workers(p)
        p.send_signal(signal.SIGINT)
        time.sleep(0.5)
        p.send_signal(signal.SIGINT)   # impatient: stop the running runs now
        _, err = p.communicate(timeout=120)
        assert p.returncode == 130, err
        assert "Traceback" not in err
        assert (out / "summary.json").is_file() and (out / "summary.csv").is_file()
        alive = _survivors(kids, timeout=30)
        assert not alive, [" ".join(q.cmdline()) for q in alive if _alive(q)]
    finally:
        _reap(kids)
        if p.poll() is None:
            p.kill()
            p.communicate()
