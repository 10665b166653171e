"""Exports: MP4/GIF animations, PNG/SVG stills, data; atomic writes, cancel, errors (docs/design.md §5, 7, 8)."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import threading
from pathlib import Path

import numpy as np
import pytest

from explorer.core.errors import SpecError
from explorer.core.run.headless import train_and_sample
from explorer.export import check_export_path, parse_export_arg
from explorer.export.encode import (ExportCancelled, GifSink, Mp4Sink, write_frames)
from small_preset import shipped

ROOT = Path(__file__).resolve().parents[1]
PRESETS = ROOT / "explorer" / "presets"


def _env():
    env = dict(os.environ)
    env["QT_QPA_PLATFORM"] = "offscreen"
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    return env


def _cli(*args, cwd):
    return subprocess.run([sys.executable, "-m", "explorer", "run", *map(str, args)],
                          capture_output=True, text=True, env=_env(), cwd=cwd, timeout=600)


def _frames(n=30, w=480, h=270):
    for i in range(n):
        a = np.full((h, w, 3), 20, np.uint8)
        a[20 + i: 60 + i, 30: 30 + 5 * i + 10] = (230, 159, 0)
        yield a


def _md5(path) -> str:
    return hashlib.md5(Path(path).read_bytes()).hexdigest()


def _mp4_meta(path):
    import imageio_ffmpeg
    gen = imageio_ffmpeg.read_frames(str(path))
    meta = next(gen)
    frames = list(gen)
    return meta, frames


def _gif(path):
    from PIL import Image
    im = Image.open(path)
    durations = []
    for i in range(im.n_frames):
        im.seek(i)
        durations.append(im.info.get("duration"))
    return im.n_frames, im.size, durations


def _leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


# ----------------------------------------------------------------- the run shared by the tests

@pytest.fixture(scope="module")
def run2d():
    """A small trained 2-D run with a learned NCSN score and annealed Langevin (200 steps)."""
    preset = shipped("two_modes_annealed", training={"steps": 20}, sampler={"particles": 300, "steps": 20})
    return preset, train_and_sample(preset)


# ----------------------------------------------------------------- destinations

def test_unsupported_extension_names_the_supported_ones(tmp_path):
    with pytest.raises(SpecError) as e:
        check_export_path(tmp_path / "a.avi", "--export")
    assert e.value.key == "--export"
    for ext in (".mp4", ".gif", ".png", ".svg"):
        assert ext in str(e.value)


@pytest.mark.parametrize("make", [
    lambda t: Path("/nonexistent/dir/a.mp4"),
    lambda t: (t / "file.txt").write_text("x") and t / "file.txt" / "a.gif",
    lambda t: (t / "folder.mp4").mkdir() or t / "folder.mp4",
])
def test_impossible_destinations_are_spec_errors(tmp_path, make):
    path = make(tmp_path)
    with pytest.raises(SpecError) as e:
        check_export_path(path, "--export")
    assert e.value.key == "--export"


@pytest.mark.skipif(hasattr(os, "geteuid") and os.geteuid() == 0,
                    reason="root writes into read-only folders")
def test_read_only_folder_is_a_spec_error(tmp_path):
    ro = tmp_path / "ro"
    ro.mkdir()
    ro.chmod(0o555)
    try:
        with pytest.raises(SpecError):
            check_export_path(ro / "a.mp4", "--export")
    finally:
        ro.chmod(0o755)


def test_prefix_chooses_what_and_size(tmp_path):
    s = parse_export_arg(f"training@1080:{tmp_path / 't.mp4'}")
    assert (s.what, s.size, s.style) == ("training", (1920, 1080), "slide_1080")
    s = parse_export_arg(str(tmp_path / "a.gif"))
    assert (s.what, s.size, s.style) == ("particles", (1280, 720), "slide_720")
    s = parse_export_arg(f"@641x361:{tmp_path / 'a.mp4'}")
    assert s.size == (640, 360)                      # even for H.264 yuv420p
    assert parse_export_arg(str(tmp_path / "x.csv")).what == "loss"
    with pytest.raises(SpecError):
        parse_export_arg(f"loss:{tmp_path / 'a.mp4'}")


@pytest.mark.parametrize("dest", ["/nonexistent/dir/a.mp4", "out.avi"])
def test_cli_impossible_export_exits_2_with_one_error_line(tmp_path, monkeypatch, cli_here, dest):
    monkeypatch.chdir(tmp_path)
    r = cli_here("run", PRESETS / "plain_langevin_weights.toml", "--steps", "0", "--particles", "10",
                 "--out", tmp_path / "out", "--export", dest)
    assert r.returncode == 2, r.stderr
    lines = [ln for ln in r.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("error:"), r.stderr
    assert "--export" in lines[0]
    assert not Path("/nonexistent").exists()
    assert not (tmp_path / "out.avi").exists()
    assert "Traceback" not in r.stderr


# ----------------------------------------------------------------- animations from the command line

def test_cli_exports_an_h264_mp4(tmp_path, monkeypatch, cli_here):
    monkeypatch.chdir(tmp_path)   # in process, where a run leaves its temporary files
    dest = tmp_path / "a.mp4"
    r = cli_here("run", PRESETS / "plain_langevin_weights.toml", "--steps", "30", "--particles",
                 "200", "--out", tmp_path / "out", "--export", f"particles@640x360:{dest}")
    assert r.returncode == 0, r.stderr
    meta, frames = _mp4_meta(dest)
    assert meta["codec"] == "h264"
    assert meta["pix_fmt"].startswith("yuv420p")
    assert meta["fps"] == 30
    w, h = meta["size"]
    assert w >= 480 and w % 2 == 0 and h % 2 == 0
    assert len(frames) >= 20
    assert _leftovers(tmp_path) == ["a.mp4", "out"]


def test_cli_exports_a_gif_at_12_to_15_fps(tmp_path, monkeypatch, cli_here):
    monkeypatch.chdir(tmp_path)   # in process, where a run leaves its temporary files
    dest = tmp_path / "a.gif"
    r = cli_here("run", PRESETS / "plain_langevin_weights.toml", "--steps", "30", "--particles",
                 "200", "--out", tmp_path / "out", "--export", f"@640x360:{dest}")
    assert r.returncode == 0, r.stderr
    import imageio.v3 as iio
    frames = iio.imread(dest, index=None)
    assert frames.shape[0] >= 20 and frames.shape[2] >= 480
    n, size, durations = _gif(dest)
    assert n >= 20 and size[0] >= 480
    fps = 1000.0 / np.median([d for d in durations if d])
    assert 12 <= fps <= 15
    assert _leftovers(tmp_path) == ["a.gif", "out"]


def test_cli_export_is_byte_identical_when_run_twice(tmp_path, monkeypatch, cli_here):
    """Once by the console script, once in this process: two processes, one file."""
    monkeypatch.chdir(tmp_path)
    digests = []
    for i, run in enumerate((lambda *a: _cli(*a, cwd=tmp_path), lambda *a: cli_here("run", *a))):
        dest = tmp_path / f"a{i}.mp4"
        r = run(PRESETS / "plain_langevin_weights.toml", "--steps", "0", "--particles", "100",
                "--out", tmp_path / f"out{i}", "--export", f"@480x270:{dest}")
        assert r.returncode == 0, r.stderr
        digests.append(_md5(dest))
    assert digests[0] == digests[1]


# ----------------------------------------------------------------- animations in process

def test_same_run_exported_twice_gives_identical_files(run2d, tmp_path):
    """In one process (the command-line test above covers MP4 across processes)."""
    preset, result = run2d
    for ext in ("gif",):
        a = check_export_path(f"@480x270:{tmp_path / ('a.' + ext)}")(result, preset)
        b = check_export_path(f"@480x270:{tmp_path / ('b.' + ext)}")(result, preset)
        assert _md5(a) == _md5(b), ext


def test_training_animation_has_field_and_loss_frames(run2d, tmp_path):
    preset, result = run2d
    calls = []
    path = check_export_path(f"training@480x270:{tmp_path / 't.gif'}")(
        result, preset, progress=lambda phase, done, total: calls.append((done, total)))
    n, size, _ = _gif(path)
    assert n >= 20 and size == (480, 270)
    assert calls and calls[-1][0] == calls[-1][1]
    assert _leftovers(tmp_path) == ["t.gif"]


def test_particle_animation_ends_on_the_run_samples(run2d, tmp_path):
    """The replay re-creates the run's sampler: its last frame is the run's samples."""
    from explorer.export.frames import particle_snapshots
    preset, result = run2d
    t = result.trainer
    snaps = list(particle_snapshots(preset, t.learned_score(), t.device, t.density, 30))
    assert len(snaps) >= 20
    np.testing.assert_array_equal(snaps[-1]["x"], result.samples)
    assert snaps[-1]["modes"] is not None


@pytest.mark.parametrize("name,dim", [("langevin_1d", 1), ("torus_3d", 3)])
def test_one_and_three_dimensional_animations(name, dim, tmp_path):
    preset = shipped(name, training={"steps": 10}, sampler={"particles": 200, "steps": 60})
    result = train_and_sample(preset)
    path = check_export_path(f"@480x270:{tmp_path / 'a.gif'}")(result, preset)
    n, size, _ = _gif(path)
    assert n >= 20 and size == (480, 270)
    if dim == 3:  # the projection turns while the last frame is held
        from PIL import Image, ImageChops
        im = Image.open(path)
        im.seek(n - 1)
        last = im.convert("RGB")
        im.seek(n - 5)
        assert ImageChops.difference(last, im.convert("RGB")).getbbox() is not None


# ----------------------------------------------------------------- stills and data

@pytest.mark.parametrize("what", ["particles", "field", "error", "loss", "training"])
def test_png_stills_open_with_pillow(run2d, tmp_path, what):
    from PIL import Image
    preset, result = run2d
    path = check_export_path(f"{what}:{tmp_path / 'a.png'}")(result, preset)
    with Image.open(path) as im:
        im.load()
        assert im.size == (1280, 720) and im.format == "PNG"
        assert len(np.unique(np.asarray(im.convert("L")))) > 10   # not blank


@pytest.mark.parametrize("what", ["particles", "field"])
def test_svg_is_svg(run2d, tmp_path, what):
    preset, result = run2d
    path = check_export_path(f"{what}:{tmp_path / 'a.svg'}")(result, preset)
    text = path.read_text(encoding="utf-8")
    assert text.lstrip().startswith("<?xml")
    assert "<svg" in text and text.rstrip().endswith("</svg>")
    import xml.etree.ElementTree as ET
    assert ET.fromstring(text.encode()).tag.endswith("svg")


def test_any_widget_to_png_and_svg(qtbot, tmp_path):
    from PySide6.QtWidgets import QLabel
    from PIL import Image
    from explorer.export.stills import save_widget
    w = QLabel("hello")
    qtbot.addWidget(w)
    w.resize(200, 80)
    w.show()
    png = save_widget(w, tmp_path / "w.png")
    with Image.open(png) as im:
        assert im.size == (200, 80)
    svg = save_widget(w, tmp_path / "w.svg")
    assert "<svg" in svg.read_text()
    assert _leftovers(tmp_path) == ["w.png", "w.svg"]


def test_data_exports(run2d, tmp_path):
    preset, result = run2d
    x = np.load(check_export_path(tmp_path / "s.npy")(result, preset))
    np.testing.assert_array_equal(x, result.samples.astype(np.float32))
    csv_s = check_export_path(f"samples:{tmp_path / 's.csv'}")(result, preset).read_text()
    assert csv_s.splitlines()[0] == "x1,x2" and len(csv_s.splitlines()) == len(x) + 1
    loss = check_export_path(tmp_path / "loss.csv")(result, preset).read_text().splitlines()
    assert loss[0] == "step,loss,fisher" and len(loss) == 21
    z = np.load(check_export_path(tmp_path / "all.npz")(result, preset))
    assert {"points", "learned", "true", "samples", "loss"} <= set(z.files)
    quality = result.metrics["sample_metrics"]   # the samples against exact ones, and the floor
    assert float(z["sample_sliced_wasserstein"]) == quality["sliced_wasserstein"]
    assert float(z["sample_tv_grid_floor"]) == quality["floor"]["tv_grid"]
    f = np.load(check_export_path(f"field:{tmp_path / 'f.npz'}")(result, preset))
    assert set(f.files) == {"points", "learned", "true"}
    assert not [n for n in _leftovers(tmp_path) if n.startswith(".")]


# ----------------------------------------------------------------- atomic writes, cancel, failure

@pytest.mark.parametrize("sink_cls,ext", [(Mp4Sink, "mp4"), (GifSink, "gif")])
def test_cancel_midway_leaves_nothing(tmp_path, sink_cls, ext):
    cancel = threading.Event()
    sink = sink_cls(tmp_path / f"a.{ext}", cancel=cancel)
    with pytest.raises(ExportCancelled):
        for i, f in enumerate(_frames()):
            if i == 5:
                cancel.set()
            sink.write(f)
    assert _leftovers(tmp_path) == []


@pytest.mark.parametrize("ext", ["mp4", "gif"])
def test_cancel_with_a_callable_through_write_frames(tmp_path, ext):
    seen = []

    def frames():
        for f in _frames():
            seen.append(1)
            yield f

    with pytest.raises(ExportCancelled):
        write_frames(tmp_path / f"a.{ext}", frames(), cancel=lambda: len(seen) > 4)
    assert _leftovers(tmp_path) == []


@pytest.mark.parametrize("ext", ["mp4", "gif"])
def test_failure_in_the_frame_source_leaves_nothing(tmp_path, ext):
    def broken():
        for i, f in enumerate(_frames()):
            if i == 7:
                raise RuntimeError("the frame source broke")
            yield f

    with pytest.raises(RuntimeError, match="broke"):
        write_frames(tmp_path / f"a.{ext}", broken())
    assert _leftovers(tmp_path) == []


def test_cancelled_particle_export_leaves_nothing(run2d, tmp_path):
    preset, result = run2d
    done = []
    exporter = check_export_path(f"@480x270:{tmp_path / 'a.mp4'}")
    with pytest.raises(ExportCancelled):
        exporter(result, preset, progress=lambda *a: done.append(a), cancel=lambda: len(done) >= 5)
    assert _leftovers(tmp_path) == []


def test_existing_file_is_replaced_only_when_the_export_completes(tmp_path):
    dest = tmp_path / "a.gif"
    dest.write_bytes(b"old")
    with pytest.raises(ExportCancelled):
        write_frames(dest, _frames(), cancel=lambda: True)
    assert dest.read_bytes() == b"old"
    write_frames(dest, _frames())
    assert dest.read_bytes()[:6] == b"GIF89a"
    assert _leftovers(tmp_path) == ["a.gif"]


def test_mp4_sink_makes_odd_sizes_even_and_is_deterministic(tmp_path):
    a = write_frames(tmp_path / "a.mp4", _frames(w=481, h=271))
    b = write_frames(tmp_path / "b.mp4", _frames(w=481, h=271))
    meta, frames = _mp4_meta(a)
    assert meta["size"] == (480, 270) and len(frames) == 30
    assert _md5(a) == _md5(b)


# ----------------------------------------------------------------- the window's dialog

@pytest.fixture
def dialog_factory(qtbot, run2d, monkeypatch, tmp_path_factory):
    from explorer.gui.export_dialog import ExportDialog
    preset, result = run2d
    monkeypatch.setenv("SCORE_EXPLORER_SETTINGS",
                       str(tmp_path_factory.mktemp("settings") / "settings.ini"))

    def make(**kw):
        dlg = ExportDialog(None, preset=preset, density=result.trainer.density,
                           trainer=result.trainer, particles=result.samples, **kw)
        qtbot.addWidget(dlg)
        return dlg
    return make


def _choose(dlg, what, fmt=None, size="720", path=None):
    dlg.what.setCurrentIndex(dlg.what.findData(what))
    if fmt is not None:
        dlg.format.setCurrentIndex(dlg.format.findData(fmt))
    dlg.size.setCurrentIndex(dlg.size.findData(size))
    if path is not None:
        dlg.file.setText(str(path))


@pytest.mark.parametrize("what,fmt,name", [("particles", ".gif", "p.gif"),
                                           ("still", ".svg", "v.svg"),
                                           ("data", ".npz", "f.npz")])
def test_dialog_exports_in_a_worker_thread(qtbot, dialog_factory, tmp_path, what, fmt, name):
    dlg = dialog_factory()
    _choose(dlg, what, fmt, path=tmp_path / name)
    dlg.start_export()
    qtbot.waitUntil(lambda: dlg.last_outcome is not None, timeout=120_000)
    assert dlg.last_outcome == ("ok", str(tmp_path / name))
    assert _leftovers(tmp_path) == [name]


def test_dialog_cancel_leaves_nothing_and_joins(qtbot, dialog_factory, tmp_path):
    dlg = dialog_factory()
    _choose(dlg, "training", ".mp4", path=tmp_path / "t.mp4")
    dlg.start_export()
    runner = dlg.runner
    qtbot.waitUntil(lambda: runner.progress.value() >= 2, timeout=120_000)
    runner.request_cancel()
    qtbot.waitUntil(lambda: dlg.last_outcome is not None, timeout=30_000)
    assert dlg.last_outcome[0] == "cancelled"
    assert not runner.running
    assert _leftovers(tmp_path) == []


def test_dialog_closed_while_exporting_joins_the_thread(qtbot, dialog_factory, tmp_path):
    dlg = dialog_factory()
    _choose(dlg, "particles", ".mp4", path=tmp_path / "p.mp4")
    dlg.start_export()
    runner = dlg.runner
    qtbot.waitUntil(lambda: runner.progress.value() >= 1, timeout=120_000)
    dlg.reject()
    assert not runner.running
    assert _leftovers(tmp_path) == []


def test_dialog_reports_an_unwritable_path_without_a_traceback(qtbot, dialog_factory, monkeypatch,
                                                                 tmp_path):
    from explorer.gui import export_dialog as D
    shown = []
    monkeypatch.setattr(D.QMessageBox, "warning", lambda *a: shown.append(a[1:]))
    dlg = dialog_factory()
    _choose(dlg, "particles", ".mp4", path="/nonexistent/dir/a.mp4")
    dlg.start_export()
    assert dlg.runner is None
    assert shown and "does not exist" in shown[0][1]


@pytest.mark.parametrize("what", ["particles", "training"])
def test_close_mid_frame_of_a_long_export_takes_effect_within_a_second(qtbot, monkeypatch,
                                                                       tmp_path_factory, what):
    """Issue 16.1: a frame of a long export spans tens of thousands of sampler (or training)
    steps; closing the dialog in the middle of one must not wait for it to end."""
    import time
    from explorer.gui.export_dialog import ExportDialog
    monkeypatch.setenv("SCORE_EXPLORER_SETTINGS",
                       str(tmp_path_factory.mktemp("settings") / "settings.ini"))
    preset = shipped("two_modes_annealed", training={"steps": 2_000_000},
                    sampler={"kind": "langevin", "score": "true", "particles": 5000,
                             "steps": 5_000_000})
    from explorer.core.training.trainer import Trainer
    trainer = Trainer(preset)
    out = tmp_path_factory.mktemp("out")
    dlg = ExportDialog(None, preset=preset, density=trainer.density, trainer=trainer)
    qtbot.addWidget(dlg)
    _choose(dlg, what, ".mp4", path=out / "long.mp4")
    dlg.start_export()
    runner = dlg.runner
    qtbot.waitUntil(lambda: runner.progress.value() >= 1, timeout=60_000)
    qtbot.wait(700)  # now inside the second frame's many steps
    t0 = time.perf_counter()
    dlg.reject()
    took = time.perf_counter() - t0
    assert not runner.running
    assert took < 1.0, f"closing took {took:.1f} s"
    assert _leftovers(out) == []


@pytest.mark.skipif(not hasattr(os, "fchmod"), reason="file modes are POSIX")
def test_exports_respect_the_umask(tmp_path):
    """Issue 16.11: exports were created 0600 whatever the umask."""
    from explorer.export.stills import atomic_write
    old = os.umask(0o022)
    try:
        a = write_frames(tmp_path / "a.gif", _frames(n=3))
        b = atomic_write(tmp_path / "b.csv", lambda p: p.write_text("x\n"))
    finally:
        os.umask(old)
    for f in (a, b):
        assert (os.stat(f).st_mode & 0o777) == 0o644, oct(os.stat(f).st_mode)


def test_a_title_heads_every_frame_when_asked(run2d, tmp_path):
    """Issue 10: an optional preset title on exported frames, in the slide's font."""
    from explorer.export.frames import ParticleScene, ensure_qapp
    from explorer.views.style import SLIDE_720
    preset, result = run2d
    ensure_qapp()
    snap = {"x": result.samples, "status": "", "modes": None}
    plain = ParticleScene(preset, result.trainer.density, (640, 360), SLIDE_720)
    titled = ParticleScene(preset, result.trainer.density, (640, 360), SLIDE_720,
                           title="Two modes, unequal weights")
    try:
        a, b = plain.render(snap), titled.render(snap)
        assert a.shape == b.shape == (360, 640, 3)
        label = titled.widget.title_label
        assert label.text() == "Two modes, unequal weights" and label.isVisible()
        assert label.font().pointSizeF() >= SLIDE_720.font_pt + 6
        top = b[: label.height()].astype(int)
        assert (top.max(axis=2) > 180).sum() > 200, "the title's light text is in the top rows"
        assert (a[: label.height()].astype(int).max(axis=2) > 180).sum() < (top.max(axis=2) > 180).sum()
    finally:
        plain.close()
        titled.close()


def test_ffmpeg_failures_are_said_in_the_users_terms(tmp_path):
    """Issue 16.7: on a full disk ffmpeg's last line is "Conversion failed!"."""
    from explorer.export.encode import ffmpeg_error_summary
    log = ["frame=   12 fps=0.0 q=0.0 size=       0kB",
           "[mp4 @ 0x55] Error writing trailer: No space left on device",
           "av_interleaved_write_frame(): No space left on device",
           "Conversion failed!"]
    assert ffmpeg_error_summary(log, tmp_path / "a.mp4") == \
        f"no space left on device writing {tmp_path / 'a.mp4'}"
    assert ffmpeg_error_summary(["Unknown encoder 'libx264'", "Conversion failed!"], "a.mp4") == \
        "Unknown encoder 'libx264'"
    assert ffmpeg_error_summary([], "a.mp4") == "no error message"


def test_a_scene_paints_each_frame_once_and_with_its_layout_settled(run2d):
    """Issue 10 (export speed): an export frame is painted once (not also into the hidden
    window's backing store), and an axis that widens while painting (the Fisher axis on the
    first frame) still shows in that frame: the same snapshot drawn twice gives one picture."""
    from PySide6.QtCore import QEvent, QObject
    from PySide6.QtWidgets import QGraphicsView
    from explorer.export.frames import TrainingScene, ensure_qapp, field_grid, training_state, _eval_field
    from explorer.views.style import SLIDE_720
    preset, result = run2d
    ensure_qapp()
    t = result.trainer
    pts, _ = field_grid(preset)
    true = _eval_field(t.true_score().field, pts, t.device)
    snap = training_state(t, preset, pts, true, fisher_abs=sorted(result.fisher_rows.items()))
    assert len(snap["fisher"]) > 0

    class Count(QObject):
        n = 0

        def eventFilter(self, obj, ev):
            if ev.type() == QEvent.Type.Paint:
                self.n += 1
            return False

    scene = TrainingScene(preset, t.density, (960, 540), SLIDE_720)
    try:
        views = [v for v in scene.widget.findChildren(QGraphicsView) if v.isVisible()]
        assert len(views) == 2   # the field (overlay page) and the loss
        counters = []
        for v in views:
            c = Count(v)
            v.viewport().installEventFilter(c)
            counters.append(c)
        first = scene.render(snap)
        for c in counters:
            c.n = 0
        second = scene.render(snap)
        assert [c.n for c in counters] == [1, 1], "each view painted once per frame"
        np.testing.assert_array_equal(first, second)
    finally:
        scene.close()
