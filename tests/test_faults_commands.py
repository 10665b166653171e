"""Every subcommand under the contract of `run` (issue 28, docs/faults.md): a bad input or
address is one `error:` line and exit 2 before any work; a fault names its cause; Ctrl-C is
130 and SIGTERM 143; nothing is written through a planted symlink.

In process (cli.main) wherever possible: these must stay cheap. The true subprocess tests
(signals to a parent, orphans) are in test_faults_processes.py.
"""

from __future__ import annotations

import errno
import os
import signal
import socket
import threading
import time
from pathlib import Path

import pytest

from explorer import cli
from explorer.commands import guard
from explorer.core import files
from explorer.core.errors import OutputError, SpecError
from small_preset import small_preset


def one_error_line(capsys, *needles):
    err = capsys.readouterr().err
    lines = [ln for ln in err.splitlines() if ln.startswith("error:")]
    assert len(lines) == 1, err
    assert "Traceback" not in err, err
    for n in needles:
        assert n in lines[0], err
    return lines[0]


@pytest.fixture
def preset_file(tmp_path):
    f = tmp_path / "p.toml"
    f.write_text(small_preset(steps=2, particles=20, sampler_steps=2, grid=4))
    return f


# --- the one wrapper ------------------------------------------------------------------------

def test_guard_maps_each_outcome_to_its_status(capsys):
    def raises(e):
        def command(argv):
            raise e
        return command
    assert guard.guarded(raises(SpecError("--x", "bad\nvalue")), []) == 2
    assert one_error_line(capsys, "--x: bad value")
    assert guard.guarded(raises(KeyboardInterrupt()), []) == 130
    assert guard.guarded(raises(RecursionError()), []) == 2
    one_error_line(capsys, "nested too deeply")
    assert guard.guarded(raises(OutputError("/x/y", OSError(errno.ENOSPC, "full"))), []) == 1
    one_error_line(capsys, "no space left on device writing /x/y")
    assert guard.guarded(raises(ZeroDivisionError("boom")), []) == 1
    one_error_line(capsys, "unexpected failure: ZeroDivisionError: boom")
    assert guard.guarded(lambda argv: 0, []) == 0


def test_sigterm_takes_the_interrupt_path_and_exits_143():
    cleaned = []

    def command(argv):
        try:
            os.kill(os.getpid(), signal.SIGTERM)
            time.sleep(5)
        finally:
            cleaned.append(True)
        return 0

    before = signal.getsignal(signal.SIGTERM)
    assert guard.guarded(command, []) == 143
    assert cleaned and signal.getsignal(signal.SIGTERM) is before

    def handles_it(argv):   # a command that stops cleanly itself and returns 130
        try:
            os.kill(os.getpid(), signal.SIGTERM)
            time.sleep(5)
        except KeyboardInterrupt:
            return 130
    assert guard.guarded(handles_it, []) == 143


def test_the_dispatch_table_runs_every_command_and_takes_a_new_row(monkeypatch, capsys):
    import importlib
    for name, c in cli.COMMANDS.items():
        assert callable(getattr(importlib.import_module(c.module), c.function)), name
    seen = []
    monkeypatch.setitem(cli.COMMANDS, "probe-cmd", cli.Command("tests_probe_cmd"))
    import sys
    import types
    mod = types.ModuleType("tests_probe_cmd")
    mod.main = lambda argv: seen.append(argv) or 0
    monkeypatch.setitem(sys.modules, "tests_probe_cmd", mod)
    assert cli.main(["probe-cmd", "a"]) == 0 and seen == [["a"]]
    mod.main = lambda argv: 1 / 0
    assert cli.main(["probe-cmd"]) == 1
    one_error_line(capsys, "ZeroDivisionError")


@pytest.mark.parametrize("argv", [["run"], ["compare"], ["tradeoff"], ["check"], ["advise"],
                                  ["lesson", "--scale", "x"], ["run", "p", "--steps", "1e8"],
                                  ["check", "objective", "nope"], ["check", "density", "nope"],
                                  ["advise", "/nonexistent.toml"], ["lesson", "nope", "--headless"],
                                  ["a.toml", "b.toml"]])
def test_bad_arguments_are_one_line(argv, capsys):
    assert cli.main(argv) == 2
    one_error_line(capsys)


# --- compare --------------------------------------------------------------------------------

@pytest.mark.parametrize("address, needle", [
    ("", "is empty"), ("  ", "is empty"), ("ucx://127.0.0.1:8786", "ucx://"),
    ("tls://127.0.0.1:8786", "tls://"), ("tcp://host", "HOST:PORT"), ("tcp://h:99999", "HOST:PORT"),
    ("tcp://127.0.0.1:1", "cannot reach")])
def test_bad_scheduler_addresses_are_refused(address, needle, preset_file, tmp_path, capsys):
    rc = cli.main(["compare", str(preset_file), "--vary", "training.lr=0.001",
                   "--scheduler", address, "--out", str(tmp_path / "o")])
    assert rc == 2
    one_error_line(capsys, "--scheduler", needle)
    assert not (tmp_path / "o").exists()


def _listener(answer: bytes | None):
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(4)
    conns = []

    def serve():
        while True:
            try:
                c, _ = srv.accept()
            except OSError:
                return
            conns.append(c)
            if answer is not None:
                c.sendall(answer)

    threading.Thread(target=serve, daemon=True).start()
    return srv, conns


@pytest.mark.parametrize("answer", [None, b"HTTP/1.0 400 Bad Request\r\n\r\n", b"\xff" * 64])
def test_a_listener_that_is_not_a_scheduler_is_refused_within_seconds(answer, preset_file, tmp_path,
                                                                      capsys, monkeypatch):
    from explorer.core.compare import scheduler_address
    monkeypatch.setattr(scheduler_address, "PROBE_SECONDS", 1.0)
    srv, conns = _listener(answer)
    try:
        t0 = time.monotonic()
        rc = cli.main(["compare", str(preset_file), "--vary", "training.lr=0.001", "--scheduler",
                       f"tcp://127.0.0.1:{srv.getsockname()[1]}", "--out", str(tmp_path / "o")])
        assert rc == 2 and time.monotonic() - t0 < 5
        one_error_line(capsys, "--scheduler")
    finally:
        srv.close()
        for c in conns:
            c.close()


@pytest.mark.parametrize("extra, needle", [
    (["--seeds", "1000000"], "--seeds"),
    (["--vary", "training.lr=" + ",".join(f"{1e-3 + i * 1e-6}" for i in range(40)),
      "--vary", "training.seed=" + ",".join(map(str, range(40)))], "1,600 runs"),
    (["--vary", "training.seed=" + ",".join(map(str, range(5000)))], "5,000 values"),
    (["--vary", "training.lr=" + "[" * 5000 + "]" * 5000], "nested"),
    (["--vary", "model.hidden=" + "[" * 40 + "1" + "]" * 40], "nested")])
def test_sweeps_too_large_or_too_deep_are_refused_at_once(extra, needle, preset_file, tmp_path, capsys):
    t0 = time.monotonic()
    assert cli.main(["compare", str(preset_file), "--out", str(tmp_path / "o"), *extra]) == 2
    assert time.monotonic() - t0 < 5
    one_error_line(capsys, needle)
    assert not (tmp_path / "o").exists()


def test_compare_refuses_an_unwritable_out_before_any_run(preset_file, capsys, monkeypatch):
    from explorer.core.compare import runner
    monkeypatch.setattr(runner, "execute", lambda *a, **k: pytest.fail("ran"))
    assert cli.main(["compare", str(preset_file), "--vary", "training.lr=0.001", "--out", "/proc"]) == 2
    one_error_line(capsys, "--out", "cannot write in /proc")


def test_workers_are_capped_at_the_cores(preset_file, tmp_path, monkeypatch, capsys):
    from explorer.core.compare import runner
    from explorer.core.compare.execute import Outcome
    seen = {}
    monkeypatch.setattr(runner, "usable_cores", lambda: 2)
    monkeypatch.setattr(runner, "execute", lambda runs, out, workers, **k: seen.update(w=workers) or Outcome())
    monkeypatch.setattr(runner.S, "write", lambda *a, **k: {"variants": []})
    runner.run_compare(preset_file, ["training.lr=0.001,0.002,0.003"], seeds=2, workers=16,
                       out=tmp_path / "o")
    assert seen["w"] == 2
    assert "--workers 16: 2 used" in capsys.readouterr().err


def test_a_full_disk_in_compare_names_the_file_and_leaves_no_folder(tmp_path, monkeypatch, preset_file):
    from explorer.core.compare import execute
    from explorer.core.compare.plan import parse_vary, plan
    run = plan(preset_file, [parse_vary("training.lr=0.001")], 1, None)[0]
    real = Path.write_bytes

    def full(self, data):
        if self.name == "samples.npy":
            raise OSError(errno.ENOSPC, "No space left on device")
        return real(self, data)
    monkeypatch.setattr(Path, "write_bytes", full)
    out = tmp_path / "o"
    out.mkdir()
    with pytest.raises(OutputError, match="no space left on device writing .*samples.npy"):
        execute.write_run(out, run, {"metrics.json": b"{}", "samples.npy": b"x"})
    assert list(out.rglob("*")) == []


# --- tradeoff, check, lesson, advise ------------------------------------------------------------

@pytest.mark.parametrize("sigmas", ["1e-300", "1e300", "1e-6,0.1", "0.1:1e9:4", "1e-320:1:3"])
def test_tradeoff_refuses_sigmas_it_cannot_compute(sigmas, preset_file, tmp_path, capsys):
    assert cli.main(["tradeoff", str(preset_file), "--sigmas", sigmas, "--out", str(tmp_path / "o")]) == 2
    one_error_line(capsys, "--sigmas")
    assert not (tmp_path / "o").exists()


@pytest.mark.parametrize("argv, flag", [(["tradeoff", "P", "--train", "100000000"], "--train"),
                                        (["check", "objective", "dsm", "--steps", "100000000"], "--steps")])
def test_flags_are_blamed_not_the_preset_keys_they_set(argv, flag, preset_file, capsys):
    assert cli.main([str(preset_file) if a == "P" else a for a in argv]) == 2
    line = one_error_line(capsys, flag)
    assert "training.steps" not in line


@pytest.mark.parametrize("where", ["top", "variant", "override"])
def test_a_lesson_nested_deep_is_one_line(where, tmp_path, capsys):
    deep = "[" * 1000 + "]" * 1000
    text = {"top": f'title = "t"\nx = {deep}\n',
            "variant": f'title = "t"\n[[step]]\npreset = "mixture_score"\ntext = "a"\n'
                       f'variants = ["training.lr={deep}"]\n',
            "override": f'title = "t"\n[[step]]\npreset = "mixture_score"\ntext = "a"\n'
                        f'overrides = {{ "training.lr" = {deep} }}\n'}[where]
    f = tmp_path / "deep.toml"
    f.write_text(text)
    assert cli.main(["lesson", str(f), "--headless"]) == 2
    one_error_line(capsys, str(f))


def test_lesson_headless_ctrl_c_is_130(tmp_path, monkeypatch, capsys):
    from explorer.core.session.session import HeadlessTraining, Session
    monkeypatch.setattr(Session, "train_here", lambda self, *a, **k: HeadlessTraining(interrupted=True))
    f = tmp_path / "l.toml"
    f.write_text('title = "t"\n[[step]]\npreset = "mixture_score"\ntext = "a"\ntrain = 10\n')
    assert cli.main(["lesson", str(f), "--headless", "--scale", "0.01"]) == 130


def test_advise_suggests_only_what_the_loader_accepts(tmp_path):
    import tomllib
    from explorer.core.presets import preset as P
    from explorer.core.noise.advisor import advise
    from explorer.core.presets.shipped import names, resolve
    for name in names():
        p = P.load(resolve(name))
        d = p.to_dict()
        for section, table in tomllib.loads(advise(p).toml()).items():
            if table.get("kind", d[section].get("kind")) != d[section].get("kind"):
                d[section] = table      # another kind: its table replaces the old one
            else:
                d[section].update(table)
        P.parse(d, p.base_dir, p.source)   # a SpecError here is the fault of issue 28


# --- files: never through a link ---------------------------------------------------------------

def test_write_atomic_never_writes_through_a_planted_link(tmp_path):
    victim = tmp_path / "victim"
    victim.write_text("keep")
    os.chmod(victim, 0o600)
    out = tmp_path / "shared"
    out.mkdir()
    for name in (".metrics.json.part", ".metrics.json.tmp"):
        os.symlink(victim, out / name)
    files.write_atomic(out / "metrics.json", lambda p: p.write_text("new"))
    assert victim.read_text() == "keep" and (victim.stat().st_mode & 0o777) == 0o600
    assert (out / "metrics.json").read_text() == "new"
    os.symlink(victim, out / "loss.csv")   # a link at the final name is replaced, not followed
    files.write_atomic(out / "loss.csv", lambda p: p.write_text("x"))
    assert victim.read_text() == "keep" and not (out / "loss.csv").is_symlink()
    assert sorted(p.name for p in out.iterdir()) == [".metrics.json.part", ".metrics.json.tmp",
                                                     "loss.csv", "metrics.json"]


def test_the_out_probe_never_follows_a_link(tmp_path):
    victim = tmp_path / "victim"
    victim.write_text("keep")
    out = tmp_path / "shared"
    out.mkdir()
    os.symlink(victim, out / f".score-explorer-probe-{os.getpid()}")
    files.probe_writable(out)
    assert victim.read_text() == "keep"


def test_write_atomic_names_the_file_on_a_full_disk(tmp_path):
    def full(p):
        raise OSError(errno.ENOSPC, "No space left on device")
    with pytest.raises(OutputError, match=f"no space left on device writing {tmp_path / 'a.npy'}"):
        files.write_atomic(tmp_path / "a.npy", full)
    assert list(tmp_path.iterdir()) == []


def test_a_data_file_that_fails_to_parse_is_not_quoted(tmp_path, capsys):
    secret = "password=hunter2"
    (tmp_path / "data.csv").write_text(f"1,2\n{secret},3\n")
    f = tmp_path / "p.toml"
    f.write_text('[density]\nkind = "points"\npath = "data.csv"\n')
    assert cli.main(["run", str(f), "--out", str(tmp_path / "o")]) == 2
    line = one_error_line(capsys, "density.path")
    assert "hunter2" not in line


# --- limits in combination, and a valid preset that divided by zero ---------------------------

def _mixture(k: int, dim: int, **sections):
    import numpy as np
    means = np.random.default_rng(0).normal(size=(k, dim)).tolist()
    return {"density": {"kind": "mixture", "weights": [1.0] * k, "means": means, "stds": [1.0] * k},
            **sections}


@pytest.mark.parametrize("table, key", [
    (_mixture(10_000, 2, view={"grid": 512}, sampler={"particles": 2_000_000}), "sampler.particles"),
    (_mixture(10_000, 3, view={"grid": 100}), "view.grid")])
def test_large_products_are_refused_naming_the_key_and_the_limit(table, key):
    from explorer.core.presets import preset as P
    t0 = time.monotonic()
    with pytest.raises(SpecError) as e:
        P.parse(table)
    assert e.value.key == key and "at most 4e+09" in e.value.message
    assert time.monotonic() - t0 < 5


def test_a_million_point_file_is_refused_before_any_evaluation(tmp_path, capsys):
    import numpy as np
    np.save(tmp_path / "pts.npy", np.random.default_rng(0).normal(size=(1_000_000, 2)).astype(np.float32))
    f = tmp_path / "p.toml"
    f.write_text('[density]\nkind = "points"\npath = "pts.npy"\n')
    t0 = time.monotonic()
    assert cli.main(["run", str(f), "--out", str(tmp_path / "o")]) == 2
    one_error_line(capsys, "density.path", "400,000")
    assert time.monotonic() - t0 < 30 and not (tmp_path / "o").exists()


def test_the_torus_score_when_ddpm_washes_the_data_out():
    import torch
    from explorer.core.presets import preset as P
    dens = P.parse({"density": {"kind": "torus"}}).build_density()
    x = torch.randn(50, 3, dtype=torch.float64) * 2
    sigma = 1.0
    # at scale 0 the perturbed density is N(0, sigma^2 I) exactly
    assert torch.allclose(dens.perturbed_score(x, sigma, 0.0).double(), -x / sigma ** 2)
    # just above the switch the closed form agrees with that limit to float precision
    s = 2e-9 / (dens.R + dens.a + 10 * dens.w)
    near = dens.perturbed_score(x, sigma, s).double()
    assert torch.allclose(near, -x / sigma ** 2, rtol=1e-6, atol=1e-6)


def test_a_torus_ddpm_preset_with_beta_max_0999_runs(tmp_path, capsys):
    f = tmp_path / "t.toml"
    f.write_text('[density]\nkind = "torus"\n[objective]\nkind = "ddpm"\nbeta_max = 0.999\n'
                 'timesteps = 50\n[training]\nsteps = 0\n[sampler]\nkind = "ddpm"\nscore = "true"\n'
                 'particles = 20\n[view]\ngrid = 4\n')
    assert cli.main(["run", str(f), "--out", str(tmp_path / "o")]) == 0, capsys.readouterr().err


def test_the_compare_windows_variant_text_nested_deep_is_a_spec_error():
    from explorer.core.compare.plan import parse_overrides
    for text in ("training.lr=" + "[" * 5000 + "]" * 5000, "model.hidden=" + "[" * 20 + "]" * 20):
        with pytest.raises(SpecError, match="nested"):
            parse_overrides(text)


def test_the_compare_lab_stops_every_run_before_joining_any():
    """Quitting with four variants training joined them one after another (2.4 s); now every
    run is told to stop first, and the joins overlap."""
    from types import SimpleNamespace

    from explorer.core.compare.lab import CompareLab
    calls = []

    class FakeSession:
        def __init__(self, i):
            self.i = i

        def request_stop(self):
            calls.append(("stop", self.i))

        def close(self):
            calls.append(("close", self.i))

    lab = SimpleNamespace(variants=[SimpleNamespace(sessions=[FakeSession(2 * v), FakeSession(2 * v + 1)])
                                    for v in range(4)],
                          process=SimpleNamespace(close=lambda: calls.append(("process", None))))
    CompareLab.close(lab)
    assert [c[0] for c in calls] == ["stop"] * 8 + ["close"] * 8 + ["process"]
