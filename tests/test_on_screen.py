"""The real program: on a virtual X screen it appears, trains on Space, draws, quits on Ctrl+Q;
from a terminal, Ctrl-C closes it and its training process."""

import os
import shutil
import subprocess
import sys
import time

import numpy as np
import pytest

needs = [b for b in ("Xvfb", "xdotool", "import") if shutil.which(b) is None]
pytestmark = pytest.mark.skipif(bool(needs), reason=f"{', '.join(needs)} not installed "
                                "(Debian: apt-get install xvfb xdotool imagemagick)")


def _xvfb(display: str, size="1600x1000"):
    proc = subprocess.Popen(["Xvfb", display, "-screen", "0", f"{size}x24", "+extension", "GLX",
                             "-noreset"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(1.0)
    return proc


def _xdotool(env, *args, check=True):
    return subprocess.run(["xdotool", *args], env=env, capture_output=True, text=True, check=check,
                          timeout=30)


def _find_window(env, timeout=60.0) -> str:
    t0 = time.time()
    while time.time() - t0 < timeout:
        r = _xdotool(env, "search", "--onlyvisible", "--name", "Score Explorer", check=False)
        ids = r.stdout.split()
        if ids:
            return ids[0]
        time.sleep(0.5)
    raise AssertionError("the main window did not appear")


def _screenshot(env, path) -> np.ndarray:
    from PIL import Image
    subprocess.run(["import", "-window", "root", str(path)], env=env, check=True, timeout=30)
    return np.asarray(Image.open(path).convert("RGB")).astype(np.int16)


def test_window_trains_on_space_for_20_seconds_and_quits_on_ctrl_q(tmp_path):
    display = f":{200 + os.getpid() % 500}"
    xvfb = _xvfb(display)
    env = {**os.environ, "DISPLAY": display, "QT_QPA_PLATFORM": "xcb",
           "SCORE_EXPLORER_SETTINGS": str(tmp_path / "settings.ini")}
    # the default preset with a budget that outlasts the 20 seconds on a fast machine
    from explorer.core.presets import preset as P
    long_run = P.default()
    long_run.training["steps"] = 1_000_000
    long_run.save(tmp_path / "long.toml")
    log = open(tmp_path / "app.log", "w")
    app = subprocess.Popen([sys.executable, "-m", "explorer", str(tmp_path / "long.toml")], env=env,
                           stdout=log, stderr=log)
    try:
        win = _find_window(env)
        time.sleep(2.0)
        before = _screenshot(env, tmp_path / "before.png")
        _xdotool(env, "windowfocus", "--sync", win)
        _xdotool(env, "key", "space")
        time.sleep(10.0)
        middle = _screenshot(env, tmp_path / "middle.png")
        time.sleep(10.0)
        after = _screenshot(env, tmp_path / "after.png")
        assert app.poll() is None, "the program ended on its own"
        # real content: a picture with many colours, and it changed while training ran
        assert len(np.unique(after.reshape(-1, 3), axis=0)) > 500
        changed = lambda a, b: (np.abs(a - b).sum(2) > 30).mean()  # noqa: E731
        assert changed(before, middle) > 0.005 and changed(middle, after) > 0.005
        assert _xdotool(env, "getwindowname", win).stdout.startswith("Score Explorer — ")
        _xdotool(env, "windowfocus", "--sync", win)
        _xdotool(env, "key", "ctrl+q")
        code = app.wait(timeout=20)
        text = (tmp_path / "app.log").read_text()
        assert code == 0, text
        assert "Traceback" not in text and "Destroyed while thread" not in text, text
    finally:
        if app.poll() is None:
            app.kill()
        xvfb.kill()


def _training_children(pid: int) -> list[int]:
    """Pids of the training processes started by `pid` (from /proc)."""
    out = []
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open(f"/proc/{d}/stat") as f:
                ppid = int(f.read().rsplit(")", 1)[1].split()[1])
            with open(f"/proc/{d}/cmdline", "rb") as f:
                cmd = f.read()
        except OSError:
            continue
        if ppid == pid and b"explorer.core.training.process" in cmd:
            out.append(int(d))
    return out


@pytest.mark.skipif(not sys.platform.startswith("linux"),
                    reason="reads /proc, which only Linux has")
@pytest.mark.parametrize("signame,to_group,status", [("SIGINT", True, 130),
                                                      ("SIGTERM", False, 143)])
def test_ctrl_c_or_sigterm_closes_the_window_and_its_training_process(tmp_path, signame, to_group,
                                                                      status):
    """Ctrl-C reaches the terminal's whole process group; a SIGTERM (kill, a session manager)
    reaches the window alone, which must still end its training process."""
    import signal
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen",
           "SCORE_EXPLORER_SETTINGS": str(tmp_path / "settings.ini")}
    log = open(tmp_path / "app.log", "w")
    # its own process group, as a terminal's: Ctrl-C reaches the program and its child
    app = subprocess.Popen([sys.executable, "-m", "explorer"], env=env, stdout=log, stderr=log,
                           start_new_session=True)
    try:
        t0 = time.time()
        while not _training_children(app.pid) and time.time() - t0 < 60:
            time.sleep(0.2)
        children = _training_children(app.pid)
        assert children, "the window started a training process"
        time.sleep(3.0)   # the child has imported torch and waits for commands
        (os.killpg if to_group else os.kill)(app.pid, getattr(signal, signame))
        code = app.wait(timeout=20)
        text = (tmp_path / "app.log").read_text()
        assert code == status, text
        assert "Traceback" not in text, text
        time.sleep(0.5)
        assert not any(os.path.exists(f"/proc/{c}") for c in children), "no child outlives it"
    finally:
        if app.poll() is None:
            app.kill()
