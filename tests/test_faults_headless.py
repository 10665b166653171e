"""Faults in headless runs (issue 16): each bad input or fault ends in one `error:` line with a
documented exit status, within seconds and a bounded amount of memory, and leaves complete
files or none."""

import json
import os
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import tomli_w

from explorer.core.presets import preset as P
from explorer.core.errors import SpecError

ROOT = Path(__file__).resolve().parents[1]
ENV = {**os.environ, "PYTHONPATH": str(ROOT), "SCORE_EXPLORER_DEBUG": ""}
ENV.pop("SCORE_EXPLORER_DEBUG")


def cli(*args, timeout=120, **kw):
    return subprocess.run([sys.executable, "-m", "explorer", "run", *map(str, args)],
                          capture_output=True, text=True, timeout=timeout, env=ENV, **kw)


def write(path: Path, table: dict) -> Path:
    path.write_text(tomli_w.dumps(table))
    return path


def one_error_line(r, *needles):
    lines = r.stderr.strip().splitlines()
    errors = [ln for ln in lines if ln.startswith("error:")]
    assert len(errors) == 1, r.stderr
    assert "Traceback" not in r.stderr, r.stderr
    for n in needles:
        assert n in errors[0], errors[0]
    return errors[0]


def strict_json(path: Path):
    def bad(c):
        raise AssertionError(f"{path.name} holds bare {c}: not valid JSON")
    return json.loads(path.read_text(), parse_constant=bad)


def sampling_only(**density):
    """A run that trains nothing and samples the exact score: fast."""
    return {"density": density or {"kind": "gaussian", "mean": [0.0, 0.0], "std": 1.0},
            "model": {"hidden": [8]},
            "training": {"steps": 0},
            "sampler": {"kind": "langevin", "score": "true", "particles": 64, "steps": 20},
            "view": {"grid": 4}}


# --- 2. divergence ------------------------------------------------------------------------------

DIVERGING = {"density": {"kind": "mixture"},
             "model": {"hidden": [128] * 10, "activation": "elu"},
             "objective": {"kind": "esm"},
             "training": {"steps": 200, "lr": 10.0, "batch_size": 256},
             "sampler": {"particles": 50, "steps": 10}, "view": {"grid": 4}}


def test_diverging_run_keeps_the_last_finite_weights_and_exits_3(tmp_path, cli_here):
    from safetensors.numpy import load_file
    out = tmp_path / "out"
    r = cli_here("run", write(tmp_path / "div.toml", DIVERGING), "--out", out)
    assert r.returncode == 3, r.stderr
    one_error_line(r, "diverged", "learning rate")
    m = strict_json(out / "metrics.json")
    assert m["diverged"] is True
    assert isinstance(m["diverged_step"], int) and 1 <= m["diverged_step"] <= 200
    assert "loss" in m["diverged_reason"]
    assert m["steps"] == m["diverged_step"] - 1
    weights = load_file(out / "model.safetensors")
    assert weights and all(np.isfinite(w).all() for w in weights.values())
    rows = (out / "loss.csv").read_text().splitlines()
    assert len(rows) == m["steps"] + 1
    assert (out / "preset.toml").is_file()
    assert not (out / "samples.npy").exists()  # nothing was sampled from a diverged model
    assert not list(out.glob(".*part"))


# --- 3. blow-ups that are not a NaN loss -----------------------------------------------------

def test_sampler_blowup_is_detected_with_step_and_advice(tmp_path, cli_here):
    # the banana has no certain bound (its curvature is not a Gaussian's), so a huge step
    # passes the load-time check (core/presets/step_rules.py) and blows up while sampling; on a
    # Gaussian the same step is refused before anything runs (tests/test_defaults.py)
    t = sampling_only(kind="banana")
    t["sampler"].update(step_size=1000.0, steps=200)
    out = tmp_path / "out"
    r = cli_here("run", write(tmp_path / "blow.toml", t), "--out", out)
    assert r.returncode == 3, r.stderr
    line = one_error_line(r, "sampler.step_size", "step")
    m = strict_json(out / "metrics.json")
    assert m["sampler_diverged"] is True
    k = m["sampler_diverged_step"]
    assert 1 <= k <= 200 and f"step {k}" in line
    assert not (out / "samples.npy").exists()


def test_sampler_records_the_first_nonfinite_step_exactly():
    import torch
    from explorer.core.samplers import build_sampler

    p = P.parse(sampling_only())

    class Exploding:
        calls = 0

        def field(self, x):
            Exploding.calls += 1
            return -x if Exploding.calls < 7 else x * float("inf")

    s = build_sampler(p, Exploding(), "cpu")
    s.advance(5)
    assert s.blown_up_at is None and s.done_steps == 5
    s.advance(15)
    assert s.blown_up_at == 7  # the step at which the particles stopped being finite
    assert s.done_steps == 7  # it stopped there
    assert s.done  # and says so, so loops driving it end
    assert not torch.isfinite(s.x).all()


def test_tiny_std_gives_valid_json_and_a_float32_warning(tmp_path, cli_here):
    t = sampling_only(kind="gaussian", mean=[0.0, 0.0], std=1e-18)
    t["objective"] = {"kind": "esm"}
    t["training"] = {"steps": 3, "batch_size": 16}
    t["sampler"]["score"] = "learned"
    out = tmp_path / "out"
    r = cli_here("run", write(tmp_path / "tiny.toml", t), "--out", out)
    assert r.returncode in (0, 3), r.stderr
    assert any(ln.startswith("warning:") and "float32" in ln and "density.std" in ln
               for ln in r.stderr.splitlines()), r.stderr
    m = strict_json(out / "metrics.json")
    for k, v in m.items():
        if v is None and k in ("fisher_divergence", "relative_fisher_divergence", "final_loss"):
            assert f"{k}_note" in m


def test_dsm_sigma_below_float32_resolution_warns(tmp_path, cli_here):
    t = sampling_only()
    t["objective"] = {"kind": "dsm", "sigma": 1e-20}
    t["training"] = {"steps": 2, "batch_size": 8}
    r = cli_here("run", write(tmp_path / "dsm.toml", t), "--out", tmp_path / "out")
    assert r.returncode == 0, r.stderr
    warn = [ln for ln in r.stderr.splitlines() if ln.startswith("warning:")]
    assert len(warn) == 1 and "objective.sigma" in warn[0] and "float32" in warn[0], r.stderr


def test_relative_fisher_far_above_one_warns():
    from explorer.core.run.headless import metric_warnings
    assert any("worse than zero" in w for w in metric_warnings({"relative_fisher_divergence": 2000.0}))
    assert metric_warnings({"relative_fisher_divergence": 0.5}) == []


def test_json_safe_replaces_nonfinite_with_null_and_a_note():
    from explorer.core.measures.metrics import json_safe
    m = json_safe({"a": float("nan"), "b": [1.0, float("inf")], "c": 2.0})
    text = json.dumps(m, allow_nan=False)
    back = json.loads(text)
    assert back["a"] is None and "NaN" in back["a_note"]
    assert back["b"] == [1.0, None] and "inf" in back["b_note"]
    assert back["c"] == 2.0 and "c_note" not in back


# --- 4. memory ---------------------------------------------------------------------------------

def test_3d_grid_512_is_rejected_naming_the_key(tmp_path, cli_here):
    t = sampling_only(kind="gaussian", mean=[0.0, 0.0, 0.0], std=1.0)
    t["view"]["grid"] = 512
    t0 = time.monotonic()
    r = cli_here("run", write(tmp_path / "g.toml", t), "--out", tmp_path / "out")
    assert r.returncode == 2
    one_error_line(r, "view.grid", "at most")
    assert time.monotonic() - t0 < 15
    assert not (tmp_path / "out").exists()


def test_too_many_components_rejected_in_process():
    t = sampling_only(kind="mixture", means=[[float(i), 0.0] for i in range(20_001)],
                      weights=[1.0] * 20_001)
    with pytest.raises(SpecError) as e:
        P.parse(t)
    assert e.value.key == "density.means" and "at most" in e.value.message


@pytest.mark.parametrize("hidden,key", [([4096] * 16, "model.hidden"),
                                        ([1024] * 4, "training.batch_size")])
def test_huge_network_or_batch_is_rejected_naming_the_key(tmp_path, hidden, key, cli_here):
    t = sampling_only()
    t["model"] = {"hidden": hidden}
    t["training"] = {"steps": 10, "batch_size": 1_000_000}
    t0 = time.monotonic()
    r = cli_here("run", write(tmp_path / "big.toml", t), "--out", tmp_path / "out")
    assert r.returncode == 2
    one_error_line(r, key, "GB")
    assert time.monotonic() - t0 < 15


@pytest.mark.slow
def test_memory_estimate_is_within_a_factor_of_two_of_torch():
    """The training estimate behind the refusal above, against a measured training step."""
    from explorer.core.presets import budget
    table = {"density": {"kind": "gaussian"}, "model": {"hidden": [1024, 1024]},
             "objective": {"kind": "ssm_vr"}, "training": {"batch_size": 4096}, "view": {"grid": 4}}
    estimate = sum(budget.training_bytes(P.parse(table))) >> 20
    base = ("from explorer.core.training.trainer import Trainer\n"
            f"p = P.parse({table!r})\n"
            "t = Trainer(p); t.optimizer")
    grow = peak_mb("t.step(1)", base)
    assert grow < 2 * estimate and estimate < 4 * max(grow, 1), (grow, estimate)


GROWTH = """
import sys, torch
sys.path.insert(0, {root!r})
from explorer.core.presets import preset as P
{base}
def status(key):
    for line in open("/proc/self/status"):
        if line.startswith(key):
            return int(line.split()[1]) // 1024
rss0 = status("VmRSS:")
with open("/proc/self/clear_refs", "w") as f:   # resets the peak (VmHWM) to the current RSS
    f.write("5")
{body}
print(status("VmHWM:") - rss0)
"""


def peak_mb(body: str, base: str = "") -> int:
    """How far `body` raises the resident memory above what `base` left, in MB, measured in
    one process (Linux resets the peak through /proc/self/clear_refs): two processes' peaks
    differ by their start-up, which on a loaded machine was as large as the step measured."""
    r = subprocess.run([sys.executable, "-c", GROWTH.format(root=str(ROOT), base=base, body=body)],
                       capture_output=True, text=True, timeout=300, env=ENV)
    assert r.returncode == 0, r.stderr
    return int(r.stdout.split()[-1])


@pytest.mark.slow
def test_mixture_score_is_evaluated_in_bounded_memory():
    base = ("import numpy as np\n"
            "means = np.random.default_rng(0).normal(size=(3000, 2)).tolist()\n"
            "p = P.parse({'density': {'kind': 'mixture', 'means': means, 'weights': [1.0] * 3000},"
            " 'view': {'grid': 4}})\n"
            "d = p.build_density(); x = torch.randn(10000, 2)\n"
            "d.score(x[:10]); d.log_prob(x[:10])  # warm-up: torch's own buffers")
    grow = peak_mb("s = d.score(x); lp = d.log_prob(x)\nassert torch.isfinite(s).all()", base)
    # unchunked, each (10000, 3000, 2) float32 temporary is 240 MB, and there are several
    # (1,368 MB measured before chunking); chunked, a few temporaries of a ~128 MB chunk
    assert grow < 400, f"grew {grow} MB"


def test_mixture_chunked_score_matches_an_independent_computation():
    import torch
    rng = np.random.default_rng(1)
    means = rng.normal(size=(300, 2)) * 3
    stds = rng.uniform(0.3, 1.0, 300)
    d = P.parse({"density": {"kind": "mixture", "means": means.tolist(), "stds": stds.tolist(),
                             "weights": [1.0] * 300},
                 "view": {"grid": 4}}).build_density()
    x = torch.randn(5000, 2, dtype=torch.float64) * 4
    got = d.score(x).numpy()
    # independent: numpy, float64, all at once
    xn = x.numpy()
    diff = xn[:, None, :] - means[None]
    logc = -0.5 * (diff ** 2).sum(-1) / stds ** 2 - 2 * np.log(stds)
    r = np.exp(logc - logc.max(1, keepdims=True))
    r /= r.sum(1, keepdims=True)
    want = -(r[:, :, None] * diff / stds[None, :, None] ** 2).sum(1)
    np.testing.assert_allclose(got, want, rtol=1e-7, atol=1e-9)


@pytest.mark.slow
def test_sampler_evaluates_a_wide_energy_model_in_bounded_memory():
    base = ("p = P.parse({'density': {'kind': 'gaussian'}, 'model': {'kind': 'energy', "
            "'hidden': [512, 512, 512]}, 'sampler': {'kind': 'langevin', 'particles': 60000, "
            "'steps': 1}, 'view': {'grid': 4}})\n"
            "from explorer.core.objectives.network import build_model\n"
            "from explorer.core.scores import LearnedScore\n"
            "from explorer.core.samplers import build_sampler\n"
            "s = build_sampler(p, LearnedScore(build_model(p), p), 'cpu')\n"
            "LearnedScore(s.score.model, p).field(s.x[:100])  # warm-up: torch's own buffers")
    # unchunked, the graph kept for grad E holds 60000 x 512 x 4 B x (3 layers x ~3) = 1.1 GB
    grow = peak_mb("s.advance(1)", base)
    assert grow < 500, f"grew {grow} MB"


# --- 5. special files ------------------------------------------------------------------------

def _quick_error(r, t0, *needles):
    assert r.returncode == 2, r.stderr
    one_error_line(r, *needles)
    assert time.monotonic() - t0 < 10


def test_fifo_as_preset_is_rejected_at_once(tmp_path):
    fifo = tmp_path / "p.toml"
    os.mkfifo(fifo)
    t0 = time.monotonic()
    r = cli(fifo, "--out", tmp_path / "out", timeout=20)
    _quick_error(r, t0, "not a regular file")


def test_dev_zero_as_preset_is_rejected_at_once(tmp_path):
    t0 = time.monotonic()
    r = cli("/dev/zero", "--out", tmp_path / "out", timeout=20)
    _quick_error(r, t0, "not a regular file")


def test_oversized_preset_is_rejected(tmp_path, cli_here):
    big = tmp_path / "big.toml"
    with open(big, "wb") as f:
        f.truncate(5 << 20)  # sparse: costs no disk
    t0 = time.monotonic()
    r = cli_here("run", big, "--out", tmp_path / "out")
    _quick_error(r, t0, "larger than")


@pytest.mark.parametrize("kind,name", [("points", "d.csv"), ("points", "d.npy"), ("image", "d.png")])
def test_fifo_as_data_file_is_rejected_at_once(tmp_path, kind, name):
    os.mkfifo(tmp_path / name)
    t = sampling_only(kind=kind, path=name)
    t0 = time.monotonic()
    r = cli(write(tmp_path / "p.toml", t), "--out", tmp_path / "out", timeout=20)
    _quick_error(r, t0, "density.path", "not a regular file")


def test_dev_zero_as_points_is_rejected_at_once(tmp_path):
    t = sampling_only(kind="points", path="/dev/zero")
    t0 = time.monotonic()
    r = cli(write(tmp_path / "p.toml", t), "--out", tmp_path / "out", timeout=20)
    _quick_error(r, t0, "density.path", "not a regular file")


def test_read_limited_refuses_more_than_the_limit(tmp_path):
    from explorer.core.files import read_limited
    f = tmp_path / "x.csv"
    f.write_bytes(b"1,2\n" * 100)
    assert read_limited(f, "density.path", 400) == b"1,2\n" * 100
    with pytest.raises(SpecError) as e:
        read_limited(f, "density.path", 399)
    assert e.value.key == "density.path" and "larger than" in e.value.message


# --- 6. exceptions that escaped the loader --------------------------------------------------------

def _load_error(cli_here, tmp_path, text: str, *needles):
    """The run refused in this process with one error line and no warning of any kind
    (numpy's included: recorded here, where a separate Python would print them)."""
    import warnings
    f = tmp_path / "p.toml"
    f.write_text(text)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        r = cli_here("run", f, "--out", tmp_path / "out")
    assert r.returncode == 2, r.stderr
    assert len(r.stderr.strip().splitlines()) == 1, r.stderr
    assert not caught, [str(w.message) for w in caught]
    return one_error_line(r, *needles)


def test_arrays_nested_500_deep(tmp_path, cli_here):
    _load_error(cli_here, tmp_path,
                "[density]\nkind = \"mixture\"\nmeans = " + "[" * 500 + "]" * 500 + "\n", "density.means")


def test_arrays_nested_500_deep_in_process():
    deep = []
    for _ in range(500):
        deep = [deep]
    with pytest.raises(SpecError):
        P.parse({"density": {"kind": "mixture", "means": deep}})


def test_means_of_1e308(tmp_path, cli_here):
    _load_error(cli_here, tmp_path,
                "[density]\nkind = \"mixture\"\nmeans = [[1e308, 0.0], [-1e308, 0.0]]\n", "density.means")


def test_key_with_a_newline_gives_one_line(tmp_path, cli_here):
    _load_error(cli_here, tmp_path, "[model]\n\"a\\nb\" = 1\n", "model.")


def test_huge_stds_name_the_given_key_without_numpy_warnings(tmp_path, cli_here):
    _load_error(cli_here, tmp_path, "[density]\nkind = \"mixture\"\nstds = [1e200, 1.0]\n", "density.stds[0]")


def test_bom_preset_is_accepted(tmp_path):
    f = tmp_path / "bom.toml"
    f.write_bytes(b"\xef\xbb\xbf" + tomli_w.dumps(sampling_only()).encode())
    assert P.load(f).density["kind"] == "gaussian"


# --- 7. disk full and read-only output ---------------------------------------------------------

def test_disk_full_names_the_file_and_exits_1(tmp_path, monkeypatch, capsys):
    import errno

    from explorer import cli as cli_module
    from explorer.core.run import headless as run_module

    def full(path, arr):   # what a full disk does to a write (ENOSPC), in process
        raise OSError(errno.ENOSPC, "No space left on device")
    monkeypatch.setattr(run_module, "_save_npy", full)
    out = tmp_path / "out"
    rc = cli_module.main(["run", str(write(tmp_path / "p.toml", sampling_only())), "--out", str(out)])
    err = capsys.readouterr().err
    assert rc == 1, err
    lines = [ln for ln in err.splitlines() if ln.startswith("error:")]
    assert len(lines) == 1 and "no space left on device" in lines[0] and str(out / "samples.npy") in lines[0]
    assert not (out / "samples.npy").exists() and not list(out.glob(".*part*"))


def test_a_planted_symlink_in_the_out_folder_is_never_written_through(tmp_path, cli_here):
    victim = tmp_path / "victim.txt"
    victim.write_text("precious")
    os.chmod(victim, 0o600)
    out = tmp_path / "out"
    out.mkdir()
    for name in ("metrics.json", "samples.npy", "preset.toml"):
        os.symlink(victim, out / f".{name}.part")
    os.symlink(victim, out / f".score-explorer-probe-{os.getpid()}")
    r = cli_here("run", write(tmp_path / "p.toml", sampling_only()), "--out", out)
    assert r.returncode == 0, r.stderr
    assert victim.read_text() == "precious" and stat.S_IMODE(victim.stat().st_mode) == 0o600
    assert json.loads((out / "metrics.json").read_text())["steps"] == 0


def test_unwritable_out_is_refused_before_training(tmp_path, cli_here):
    ro = Path("/sys")  # an existing folder no one can write, even root
    t = sampling_only()
    t["training"] = {"steps": 100_000, "batch_size": 8}
    t0 = time.monotonic()
    r = cli_here("run", write(tmp_path / "p.toml", t), "--out", ro)
    assert r.returncode == 2, r.stderr
    one_error_line(r, "--out", "cannot write")
    assert time.monotonic() - t0 < 15


# --- 8. copies are atomic ---------------------------------------------------------------------

def test_data_file_is_copied_through_a_temporary_name(tmp_path, monkeypatch):
    import shutil
    from explorer.core.run import headless as R
    src_dir = tmp_path / "src"
    src_dir.mkdir()
    (src_dir / "pts.csv").write_text("\n".join(f"{i},{i % 7}" for i in range(200)))
    p = P.parse(sampling_only(kind="points", path="pts.csv"), src_dir)
    out = tmp_path / "out"
    out.mkdir()

    def dies_halfway(src, dst, *a, **k):
        data = Path(src).read_bytes()
        Path(dst).write_bytes(data[: len(data) // 2])
        raise KeyboardInterrupt  # as if killed in the middle of the copy

    monkeypatch.setattr(shutil, "copyfile", dies_halfway)
    with pytest.raises(KeyboardInterrupt):
        R.portable_preset(p, out)
    assert not (out / "pts.csv").exists()
    assert list(out.iterdir()) == []


# --- 9. a huge description --------------------------------------------------------------------

def test_huge_description_keeps_model_header_small(tmp_path):
    from safetensors import safe_open
    from explorer.core.run.headless import train_and_sample, write_outputs
    t = sampling_only()
    t["description"] = "x" * 100_000_001
    p = P.parse(t)
    out = tmp_path / "out"
    write_outputs(train_and_sample(p), p, out)
    with safe_open(str(out / "model.safetensors"), "pt") as f:
        meta = f.metadata()
        assert sum(len(k) + len(v) for k, v in meta.items()) < 100_000
        assert f.keys()


# --- 11. umask, SIGTERM ---------------------------------------------------------------------

def test_outputs_respect_the_umask(tmp_path):
    out = tmp_path / "out"
    r = subprocess.run(f"umask 022 && {sys.executable} -m explorer run p.toml --out out",
                       shell=True, cwd=write(tmp_path / "p.toml", sampling_only()).parent,
                       capture_output=True, text=True, env=ENV, timeout=120)
    assert r.returncode == 0, r.stderr
    for f in out.iterdir():
        assert stat.S_IMODE(f.stat().st_mode) == 0o644, f.name


@pytest.mark.slow
def test_sigterm_stops_like_ctrl_c_with_complete_files(tmp_path):
    t = sampling_only()
    t["objective"] = {"kind": "dsm"}
    t["training"] = {"steps": 1_000_000, "batch_size": 8}
    out = tmp_path / "out"
    proc = subprocess.Popen([sys.executable, "-m", "explorer", "run",
                             str(write(tmp_path / "p.toml", t)), "--out", str(out)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=ENV)
    # imports (the output folder is made just before training), the optimizer's first use
    # (seconds), then training
    t0 = time.time()
    while not out.is_dir() and proc.poll() is None and time.time() - t0 < 120:
        time.sleep(0.1)
    time.sleep(3)
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 143, err
    assert "Traceback" not in err
    m = strict_json(out / "metrics.json")
    assert m["interrupted"] is True and m["steps"] > 0
    assert not list(out.glob(".*part"))
    for name in ("preset.toml", "loss.csv", "field.npz", "model.safetensors"):
        assert (out / name).is_file()


def test_brackets_inside_strings_and_comments_are_not_nesting():
    text = ('name = "[[[[[[[[[[[[[[[[[[[["  # [[[[[[[[[[[[[[[[[[\n'
            "description = '''{{{{{{{{{{{{{{{{{{{{\n[[[[[[[[[[[[[[[[[[[['''\n"
            "[density]\nkind = \"mixture\"\nmeans = [[-1.0, 0.0], [1.0, 0.0]]\n")
    p = P.loads(text)
    assert p.name.startswith("[[[[") and p.density["means"] == [[-1.0, 0.0], [1.0, 0.0]]


def test_float32_resolution_warning_names_the_key():
    from explorer.core.presets.numerics import preset_warnings
    far = P.parse({"density": {"kind": "gaussian", "mean": [1e5, 0.0], "std": 1e-4}})
    (w,) = preset_warnings(far)
    assert w.startswith("density.std") and "resolution" in w
    assert preset_warnings(P.parse({"density": {"kind": "mixture"}})) == []
    ncsn = P.parse({"density": {"kind": "mixture"}, "objective": {"kind": "ncsn", "sigma_min": 1e-9}})
    assert [w.split(" ")[0] for w in preset_warnings(ncsn)] == ["objective.sigma_min"]
