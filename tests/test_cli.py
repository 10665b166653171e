"""`score-explorer run` as docs/design.md §5 specifies it: files, metrics, exit codes, reproducibility."""

import csv
import json
import os
import subprocess
import sys

import numpy as np
import pytest
from safetensors.numpy import load_file

from explorer.core.presets import preset as P
from small_preset import small_preset

SMALL = small_preset()


def run(*args, cwd=None):
    return subprocess.run([sys.executable, "-m", "explorer", "run", *map(str, args)],
                          capture_output=True, text=True, cwd=cwd, timeout=300)


@pytest.fixture(scope="module")
def small_run(tmp_path_factory):
    d = tmp_path_factory.mktemp("run")
    preset = d / "small.toml"
    preset.write_text(SMALL)
    out = d / "out"
    r = run(preset, "--out", out)
    assert r.returncode == 0, r.stderr
    return preset, out


def test_run_writes_every_file(small_run):
    _, out = small_run
    for name in ("preset.toml", "metrics.json", "loss.csv", "samples.npy", "field.npz",
                 "model.safetensors"):
        assert (out / name).is_file(), name
    m = json.loads((out / "metrics.json").read_text())
    for key in ("steps", "train_seconds", "steps_per_second", "final_loss", "fisher_divergence",
                "relative_fisher_divergence", "device", "mode_weights", "true_weights"):
        assert key in m, key
    assert m["steps"] == 150 and m["device"] == "cpu"
    assert m["true_weights"] == [0.3, 0.7]
    assert abs(sum(m["mode_weights"]) - 1) < 1e-6
    samples = np.load(out / "samples.npy")
    assert samples.dtype == np.float32 and samples.shape == (300, 2)
    f = np.load(out / "field.npz")
    assert f["points"].shape == (144, 2) and f["learned"].shape == (144, 2)
    assert f["true"].shape == (144, 2)
    # the true field there is the analytic score, far from zero away from the modes
    assert np.abs(f["true"]).max() > 1
    rows = list(csv.DictReader(open(out / "loss.csv")))
    assert len(rows) == 150 and rows[0].keys() == {"step", "loss", "fisher"}
    assert float(rows[-1]["fisher"]) == pytest.approx(m["fisher_divergence"], rel=1e-5)


def test_written_preset_is_resolved_and_reproduces_the_run(small_run, tmp_path, cli_here):
    _, out = small_run
    resolved = P.load(out / "preset.toml")
    assert resolved.sampler["step_size"] > 0 and resolved.objective["sigma_max"] > 0
    r = cli_here("run", out / "preset.toml", "--out", tmp_path / "again")
    assert r.returncode == 0, r.stderr
    a = np.load(out / "samples.npy")
    b = np.load(tmp_path / "again" / "samples.npy")
    assert np.array_equal(a, b)
    la = (out / "loss.csv").read_text()
    lb = (tmp_path / "again" / "loss.csv").read_text()
    assert [r.split(",")[1] for r in la.splitlines()] == [r.split(",")[1] for r in lb.splitlines()]


def test_model_loads_without_pickle_into_a_fresh_model(small_run):
    import torch
    from explorer.core.objectives.network import build_model
    _, out = small_run
    state = load_file(str(out / "model.safetensors"))
    model = build_model(P.load(out / "preset.toml"))
    model.load_state_dict({k: torch.from_numpy(v) for k, v in state.items()})
    f = np.load(out / "field.npz")
    with torch.no_grad():
        s = model(torch.from_numpy(f["points"])).numpy()
    assert np.allclose(s, f["learned"], atol=1e-5)


def test_steps_zero_with_the_true_score_is_a_pure_sampling_run(tmp_path, cli_here):
    preset = tmp_path / "p.toml"
    text = small_preset(sampler_steps=1000, step_size=0.02, score="true")
    preset.write_text(text)
    r = cli_here("run", preset, "--out", tmp_path / "o", "--steps", "0", "--particles", "500",
                 "--seed", "5")
    assert r.returncode == 0, r.stderr
    m = json.loads((tmp_path / "o" / "metrics.json").read_text())
    assert m["steps"] == 0 and m["final_loss"] is None
    x = np.load(tmp_path / "o" / "samples.npy")
    assert x.shape == (500, 2)
    # the exact score drew the particles onto the two modes
    near = np.minimum(np.linalg.norm(x - [-2, 0], axis=1), np.linalg.norm(x - [2, 1], axis=1))
    assert (near < 2.5).mean() > 0.95


@pytest.mark.parametrize("text,key", [
    ("", "empty"),
    ("[density\n", "TOML"),
    ('[density]\nkind = "blob"', "density.kind"),
    ('[density]\nkind = "mixture"\nstds = [-1.0, 1.0]', "density.stds[0]"),
    ('[density]\nkind = "mixture"\nweights = [-1.0, 1.0]', "density.weights[0]"),
    ('[density]\nkind = "gaussian"\nmean = [0.0, 0.0]\ncovariance = [[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]]',
     "density.covariance"),
    ('[density]\nkind = "points"\npath = "missing.csv"', "density.path"),
    ('[sampler]\nparticles = 999999999', "sampler.particles"),
    ('[model]\nwidth = 3', "model.width"),
])
def test_bad_presets_exit_2_with_one_error_line(tmp_path, monkeypatch, cli_here, text, key):
    f = tmp_path / "bad.toml"
    f.write_text(text)
    monkeypatch.chdir(tmp_path)      # in process; the real console script: the test below
    r = cli_here("run", f, "--out", tmp_path / "o")
    assert r.returncode == 2
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error:"), r.stderr
    assert key in lines[0] and "bad.toml" in lines[0]
    assert "Traceback" not in r.stderr


def test_bad_command_line_values_exit_2(small_run, tmp_path, cli_here):
    preset, _ = small_run
    for args, key in ((["--steps", "-5"], "--steps"), (["--particles", "0"], "--particles"),
                      (["--device", "tpu"], "--device"), (["--bogus"], "bogus")):
        r = cli_here("run", preset, "--out", tmp_path / "o", *args)
        assert r.returncode == 2, (args, r.stderr)
        assert r.stderr.startswith("error:") and key in r.stderr
    r = run(preset, "--out", tmp_path / "o", "--steps", "-5")   # the console script's own exit
    assert r.returncode == 2 and r.stderr.startswith("error:") and "--steps" in r.stderr


def test_absent_gpu_falls_back_to_cpu_with_a_note(small_run, tmp_path, cli_here):
    import torch
    if torch.cuda.is_available():
        pytest.skip("this machine has a GPU: the fallback is not exercised")
    preset, _ = small_run
    r = cli_here("run", preset, "--out", tmp_path / "o", "--device", "cuda", "--steps", "5")
    assert r.returncode == 0, r.stderr
    assert "using CPU" in r.stderr
    assert json.loads((tmp_path / "o" / "metrics.json").read_text())["device"] == "cpu"


def test_export_into_the_results_folder_that_does_not_exist_yet(small_run, tmp_path, cli_here):
    preset, _ = small_run
    out = tmp_path / "fresh"
    r = cli_here("run", preset, "--out", out, "--steps", "5", "--export", out / "still.png")
    assert r.returncode == 0, r.stderr
    from PIL import Image
    assert Image.open(out / "still.png").size[0] >= 480


def test_impossible_export_path_exits_2_and_leaves_nothing(small_run, tmp_path, cli_here):
    preset, _ = small_run
    out = tmp_path / "never"
    r = cli_here("run", preset, "--out", out, "--export", "/nonexistent/dir/a.mp4")
    assert r.returncode == 2 and r.stderr.startswith("error:") and "--export" in r.stderr
    assert not out.exists()


def test_ctrl_c_stops_cleanly_and_keeps_what_is_written(small_run, tmp_path):
    import signal
    import time
    preset, _ = small_run
    out = tmp_path / "interrupted"
    p = subprocess.Popen([sys.executable, "-m", "explorer", "run", str(preset), "--out", str(out),
                          "--steps", "10000000"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         text=True, preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    # past the imports (the output folder is made just before training), then into training
    t0 = time.time()
    while not out.is_dir() and p.poll() is None and time.time() - t0 < 120:
        time.sleep(0.1)
    time.sleep(3)
    p.send_signal(signal.SIGINT)
    _, err = p.communicate(timeout=120)
    assert p.returncode == 130, err
    assert "Traceback" not in err
    m = json.loads((out / "metrics.json").read_text())
    assert m["interrupted"] is True and 0 < m["steps"] < 10000000
    rows = (out / "loss.csv").read_text().splitlines()
    assert len(rows) == m["steps"] + 1


# ----------------------------------------------------------------- a newcomer's first minutes
def _explorer(*args, env=None):
    return subprocess.run([sys.executable, "-m", "explorer", *map(str, args)], capture_output=True,
                          text=True, timeout=120, env=env)


def test_without_a_display_the_window_exits_2_with_one_line(tmp_path):
    env = {k: v for k, v in os.environ.items()
           if k not in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM")}
    r = _explorer(env=env)
    assert r.returncode == 2, r.stderr
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: no display found")
    assert "score-explorer run" in lines[0]


def test_version_and_help_list_every_command():
    r = _explorer("--version")
    assert r.returncode == 0 and r.stdout.startswith("score-explorer ")
    h = _explorer("--help")
    assert h.returncode == 0
    for word in ("run PRESET", "compare PRESET", "--version", "ddpm_moons"):
        assert word in h.stdout
    rh = _explorer("run", "--help")
    assert rh.returncode == 0 and "training@1080:t.mp4" in rh.stdout   # the export syntax


def test_run_accepts_a_shipped_preset_by_name(tmp_path, cli_here):
    r = cli_here("run", "langevin_1d", "--steps", "3", "--particles", "20", "--out", tmp_path / "o")
    assert r.returncode == 0, r.stderr
    assert (tmp_path / "o" / "samples.npy").is_file()
    bad = cli_here("run", "no_such_preset", "--out", tmp_path / "p")
    assert bad.returncode == 2 and "no_such_preset" in bad.stderr


def test_several_exports_in_one_run_and_a_live_progress_line(small_run, tmp_path, cli_here):
    """--export may be given several times; a terminal gets tqdm's progress lines (a pipe
    gets none)."""
    preset, _out = small_run
    out = tmp_path / "o"
    r = cli_here("run", preset, "--out", out, "--steps", "20", "--export", tmp_path / "a.png",
            "--export", f"loss:{tmp_path / 'b.svg'}", "--export", tmp_path / "c.npy")
    assert r.returncode == 0, r.stderr
    for name in ("a.png", "b.svg", "c.npy"):
        assert (tmp_path / name).stat().st_size > 0
    assert "it/s" not in r.stderr and "step/s" not in r.stderr   # not a terminal: no bar
    import pty
    import fcntl
    import struct
    import termios
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 120, 0, 0))  # 120 columns
    p = subprocess.run([sys.executable, "-m", "explorer", "run", str(preset), "--out",
                        str(tmp_path / "t"), "--steps", "20"], stdout=subprocess.PIPE,
                       stderr=slave, timeout=300)
    os.close(slave)
    text = b""
    try:
        while True:
            chunk = os.read(master, 65536)
            if not chunk:
                break
            text += chunk
    except OSError:
        pass
    assert p.returncode == 0
    assert b"train" in text and b"step/s" in text and b"100%" in text, text[-500:]
