"""The 3-D view: its OpenGL probe, the projected 2-D fallback (offscreen, here) and the
OpenGL view itself (marked `gl`: a subprocess on a private Xvfb screen with the xcb platform).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import numpy as np  # noqa: E402
import pytest  # noqa: E402

pytest.importorskip("pytestqt")

from explorer.views import style as S  # noqa: E402
from explorer.views.gl_probe import gl_available  # noqa: E402
from explorer.views import common as C
from explorer.views import view3d as V  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
BOUNDS = np.array([[-4.0, 4.0], [-4.0, 4.0], [-3.0, 3.0]])


def torus_score(x, R=2.5, a=0.6, w=0.3):
    s = np.sqrt(x[:, 0] ** 2 + x[:, 1] ** 2) + 1e-12
    t = s - R
    q = np.sqrt(t ** 2 + x[:, 2] ** 2) + 1e-12
    g = -(q - a) / (w ** 2 * q)
    return np.stack([g * t / s * x[:, 0], g * t / s * x[:, 1], g * x[:, 2]], axis=1)


def torus_points(n, seed=0, R=2.5, a=0.6):
    rng = np.random.default_rng(seed)
    phi, th = rng.uniform(0, 2 * np.pi, (2, n))
    s = R + a * np.cos(th)
    return np.stack([s * np.cos(phi), s * np.sin(phi), a * np.sin(th)], axis=1)


def shown(w, qtbot, size=(900, 600)):
    w.resize(*size)
    w.show()
    qtbot.waitExposed(w)
    return w


# ------------------------------------------------------------------ numbers
def test_arrow_segments_follow_vectors_and_skip_bad_rows():
    pts = V.coarse_grid(BOUNDS, 4).astype(np.float64)
    vec = torus_score(pts)
    vec[3] = np.nan
    vec[5] = 0.0
    scale = V.reference_scale3(vec)
    cell = V.grid_spacing3(pts)
    assert cell == pytest.approx(1.5)               # 8 / 4 along x1, x2; 6 / 4 along x3
    seg, ok = V.arrow_segments(pts, vec, scale, cell)
    assert not ok[3] and not ok[5] and ok.sum() == len(pts) - 2
    seg = seg.reshape(-1, 10, 3)
    shaft = seg[:, 1] - seg[:, 0]
    v = vec[ok]
    cos = np.sum(shaft * v, 1) / np.linalg.norm(shaft, axis=1) / np.linalg.norm(v, axis=1)
    assert np.all(cos > 0.999)
    assert np.linalg.norm(shaft, axis=1).max() <= 1.2 * cell + 1e-6
    assert np.allclose(seg[:, 0], pts[ok])


def test_grid_spacing_of_a_grid_and_of_scattered_points():
    pts = V.coarse_grid([[-4, 4]] * 3, 8)
    assert V.grid_spacing3(pts) == pytest.approx(1.0)
    cloud = np.random.default_rng(0).uniform(-4, 4, (512, 3))
    assert 0.3 < V.grid_spacing3(cloud) < 1.0


def test_error_colours_run_from_learned_orange_to_magenta():
    c = V.error_colors([0.0, 1.0, 5.0, np.nan]) * 255
    assert np.allclose(c[0], S.LEARNED, atol=1)
    assert np.allclose(c[1], V.ERROR_HIGH, atol=1)
    assert np.allclose(c[2], c[1]) and np.allclose(c[3], c[1])


def test_slice_grid_is_in_core_grid_order():
    pts = V.slice_grid(BOUNDS, 1, 0.5, 4)
    assert pts.shape == (16, 3)
    assert np.all(pts[:, 1] == 0.5)
    assert np.all(np.diff(pts[:4, 2]) > 0) and np.all(pts[:4, 0] == pts[0, 0])   # x1 slowest


def test_grid_subset_and_grid_slice_index_the_core_grid():
    from explorer.core.measures.grid import grid_points
    n = 12
    pts = grid_points(BOUNDS, n)
    sub = V.grid_subset(n, 6)
    assert len(sub) == 6 ** 3
    assert V.grid_spacing3(pts[sub]) == pytest.approx(2 * V.grid_spacing3(pts))
    assert np.array_equal(V.grid_subset(5, 9), np.arange(125))
    idx, v = V.grid_slice(BOUNDS, n, 2, 0.3)
    assert len(idx) == n * n and np.allclose(pts[idx, 2], v) and abs(v - 0.3) <= 0.25
    assert np.allclose(pts[idx], V.slice_grid(BOUNDS, 2, v, n))
    idx, v = V.grid_slice(BOUNDS, n, 0, -99.0)
    assert v == pytest.approx(BOUNDS[0, 0] + 8 / n / 2)


def test_mode_weights_text():
    t = V.mode_weights_text([0.55, 0.3, 0.15], [0.5, 0.3, 0.2])
    assert t.splitlines()[0] == "particle fraction per mode"
    assert t.splitlines()[2].split() == ["1", "0.550", "0.500"]
    assert V.mode_weights_text(None) == "" and V.mode_weights_text([]) == ""


def test_nice_ticks_and_projection_basis():
    assert V.nice_ticks(-4, 4) == [-4, -2, 0, 2, 4]
    assert V.nice_ticks(-3.5, 3.5)[0] >= -3.5
    r, u, t = V.view_basis(30, 20)
    assert np.allclose([r @ u, r @ t, u @ t], 0, atol=1e-12)
    assert u[2] > 0                                    # screen up is along +x3 when looking from above
    uv = V.project(np.array([[0, 0, 1.0]]), np.zeros(3), 30, 0)
    assert np.allclose(uv, [[0, 1]])


def test_bgra_to_rgb():
    a = np.zeros((2, 3, 4), np.uint8)
    a[..., 0], a[..., 1], a[..., 2], a[..., 3] = 10, 20, 30, 255
    assert V.bgra_to_rgb(a)[0, 0].tolist() == [30, 20, 10]


# ------------------------------------------------------------------ probe and fallback (offscreen)
def test_probe_says_no_gl_offscreen(qapp):
    ok, why = gl_available()
    assert ok is False
    assert "offscreen" in why


def test_make_view3d_falls_back_and_says_so(qtbot):
    panel = V.make_view3d()
    qtbot.addWidget(panel)
    shown(panel, qtbot)
    assert isinstance(panel, V.View3DPanel)
    assert isinstance(panel.view, V.Projected3DView) and not panel.is_gl
    assert V.NO_GL_NOTE in panel.view.note_text()
    assert panel.view.note.isVisible()
    assert not C.image_is_uniform(panel)              # never a blank widget


def test_fallback_setters_take_data_empty_and_nan(qtbot):
    panel = V.make_view3d()
    qtbot.addWidget(panel)
    shown(panel, qtbot)
    v = panel.view
    bad = np.full((5, 3), np.nan)
    for b in (BOUNDS, [[1, 0], [0, 0], [np.nan, 2]], np.zeros((0, 2))):
        panel.set_bounds(b)
    panel.set_bounds(BOUNDS)
    pts = torus_points(3000)
    for d, w in ((pts, None), (pts, np.ones(len(pts))), (pts, np.ones(3)), (np.zeros((0, 3)), None),
                 (bad, None), (np.vstack([pts, bad]), None), (pts[:, :2], None)):
        panel.set_density_points(d, w)
    for g in (np.random.default_rng(0).random((16, 16, 16)), None, np.ones((4, 4)),
              np.full((8, 8, 8), np.nan)):
        panel.set_density_grid(g)
    for mode in V.DENSITY_MODES:
        panel.set_density_mode(mode)
    for x in (pts, np.zeros((0, 3)), bad, np.vstack([pts, bad]), None, pts[:10, :2]):
        panel.set_particles(x)
    grid = V.coarse_grid(BOUNDS, 5)
    true = torus_score(grid)
    for args in ((grid, true * 0.9, true), (grid, None, true), (grid, true, None), (grid, None, None),
                 (np.zeros((0, 3)), None, None), (grid, np.full_like(true, np.nan), true),
                 (grid, true[:5], true)):
        panel.set_fields(*args)
    for mode in V.ARROW_MODES:
        panel.set_arrow_mode(mode)
    panel.set_slice(0, np.nan)
    panel.set_slice(2, 1.0)
    panel.set_slice_visible(False)
    panel.set_slice_visible(True)
    sp = panel.slice_points(12)
    panel.set_slice_fields(sp, torus_score(sp), torus_score(sp), np.ones(len(sp)))
    panel.set_slice_fields(sp, None, None, None)
    panel.set_slice_fields(np.zeros((0, 3)))
    panel.set_status("step 10\nLangevin")
    panel.set_mode_weights([0.5, np.nan, 0.2], [0.5, 0.3, 0.2])
    assert "particle fraction per mode" in v.status_text.plain_text
    panel.set_mode_weights(None)
    panel.set_trails(True)
    panel.set_status("")
    panel.apply_style(S.SLIDE_1080)
    panel.set_auto_rotate(True)
    qtbot.wait(60)
    panel.set_auto_rotate(False)
    with pytest.raises(ValueError):
        v.set_density_mode("fog")
    assert v.scene.n_particles == 10


def test_projected_particles_are_drawn(qtbot):
    v = V.Projected3DView(reason="test")
    qtbot.addWidget(v)
    shown(v, qtbot)
    v.set_bounds(BOUNDS)
    before = V.render_rgb(v, 600, 400)
    v.set_particles(torus_points(5000))
    after = V.render_rgb(v, 600, 400)
    assert after.shape == (400, 600, 3) and after.dtype == np.uint8
    white = (after.min(axis=2) > 200).sum()
    assert white > 500 and white > 5 * (before.min(axis=2) > 200).sum()
    assert not C.image_is_uniform(v)
    assert "particles (n = 5,000)" in v.legend_plain


def test_projected_view_turns(qtbot):
    v = V.Projected3DView()
    qtbot.addWidget(v)
    shown(v, qtbot)
    v.set_bounds(BOUNDS)
    v.set_particles(torus_points(500))
    a = v.points_item.points()
    v.rotate_by(90)
    assert not np.allclose(a, v.points_item.points())
    az = v.camera()["azimuth"]
    v.set_auto_rotate(True)
    qtbot.waitUntil(lambda: v.camera()["azimuth"] != az, timeout=2000)
    v.set_auto_rotate(False)
    assert not v.auto_rotating()


def test_projected_arrows_coloured_by_error(qtbot):
    v = V.Projected3DView()
    qtbot.addWidget(v)
    v.set_bounds(BOUNDS)
    grid = V.coarse_grid(BOUNDS, 4)
    true = -grid / np.linalg.norm(grid, axis=1, keepdims=True)   # unit arrows to the centre
    v.set_fields(grid, true, true)                      # no error: every arrow in the first bin
    n0 = [len(c.xData) if c.xData is not None else 0 for c in v.learned_curves]
    assert n0[0] > 0 and sum(n0[1:]) == 0
    assert len(v.true_curve.xData) == n0[0]
    v.set_fields(grid, -true, true)                     # opposite: error 2 scales, the top bin
    n1 = [len(c.xData) if c.xData is not None else 0 for c in v.learned_curves]
    assert n1[-1] == n0[0] and sum(n1[:-1]) == 0


def test_panel_slice_controls_emit(qtbot):
    panel = V.View3DPanel(view=V.Projected3DView())
    qtbot.addWidget(panel)
    panel.set_bounds(BOUNDS)
    got = []
    panel.slice_changed.connect(lambda a, x: got.append((a, x)))
    panel.set_slice(1, 2.0)                              # from code: no signal
    assert got == [] and panel.slice() == (1, 2.0)
    assert panel.axis_combo.currentIndex() == 1
    panel.slice_slider.setValue(panel.SLIDER_STEPS)      # the user drags to the end
    assert got[-1] == (1, pytest.approx(4.0))
    panel.axis_combo.setCurrentIndex(2)
    assert got[-1] == (2, pytest.approx(0.0))
    pts = panel.slice_points(10)
    assert np.all(pts[:, 2] == 0.0)
    t = torus_score(pts)
    panel.set_slice_fields(pts, t * 0.5, t, np.exp(-np.sum(pts ** 2, 1)))
    fv = panel.field_view
    assert fv.points.shape == (100, 2) and np.allclose(fv.points, pts[:, :2])
    assert fv.overlay_plot.axis_labels == ("x\u2081", "x\u2082")
    assert "x\u2083 = 0" in fv.caption
    panel.axis_combo.setCurrentIndex(0)
    assert fv.overlay_plot.axis_labels == ("x\u2082", "x\u2083")
    arrows = []
    panel.arrow_points_changed.connect(arrows.append)
    panel.where_combo.setCurrentIndex(1)
    assert arrows == ["particles"]


def test_render_rgb_of_the_fallback_panel(qtbot):
    panel = V.make_view3d()
    qtbot.addWidget(panel)
    panel.set_bounds(BOUNDS)
    panel.set_particles(torus_points(2000))
    img = V.render_rgb(panel, 800, 500)
    assert img.shape == (500, 800, 3)
    assert len(np.unique(img.reshape(-1, 3), axis=0)) > 20


# ------------------------------------------------------------------ OpenGL, under Xvfb
GL_SCRIPT = r'''
import json, math, os, sys, time
import numpy as np
from PySide6 import QtCore
from explorer.views.application import make_app
from explorer.views.gl_probe import gl_available
from explorer.views import view3d as V
from explorer.views import style as S

out = {}
app = make_app(["test"])
out["probe"] = list(gl_available())
out["platform"] = app.platformName()

def wait(ms):
    t = time.perf_counter()
    while time.perf_counter() - t < ms / 1000:
        app.processEvents(QtCore.QEventLoop.ProcessEventsFlag.AllEvents, 20)

def colour_count(img, rgb, tol):
    d = np.abs(img.astype(int) - np.asarray(rgb, int)).max(axis=2)
    return int((d <= tol).sum())

B = np.array([[-4.0, 4.0], [-4.0, 4.0], [-3.0, 3.0]])
rng = np.random.default_rng(0)
phi, th = rng.uniform(0, 2 * np.pi, (2, 1500))
s = 2.5 + 0.6 * np.cos(th)
ring = np.stack([s * np.cos(phi), s * np.sin(phi), 0.6 * np.sin(th)], 1)
grid = V.coarse_grid(B, 6)
true = -grid / (1.0 + np.linalg.norm(grid, axis=1, keepdims=True))

panel = V.make_view3d()
out["panel_view"] = type(panel.view).__name__
panel.resize(1100, 700)
panel.show()
wait(300)
view = panel.view
panel.set_bounds(B)
panel.set_particles(ring)
panel.set_fields(grid, true, true)           # learned == true: exact orange, no error
panel.set_status("gl test")
panel.set_mode_weights([0.6, 0.4], [0.5, 0.5])
panel.set_trails(True)
wait(300)
PARTICLE = S.PARTICLES
TRUE_ON_BG = [0.9 * c + 0.1 * b for c, b in zip(S.TRUE, S.BACKGROUND)]
img = V.render_rgb(view, 800, 600)
out["offscreen_shape"] = list(img.shape)
out["offscreen_particles"] = colour_count(img, PARTICLE, 14)
out["offscreen_learned"] = colour_count(img, S.LEARNED, 14)
out["offscreen_unique"] = int(len(np.unique(img.reshape(-1, 3), axis=0)))
panel.set_arrow_mode("true")                # where both coincide the learned arrow is on top
out["offscreen_true"] = colour_count(V.render_rgb(view, 800, 600), TRUE_ON_BG, 14)
panel.set_arrow_mode("both")

wait(300)
# what is on the screen: the X server's pixels under the GL window
c = view.container
top_left = c.mapToGlobal(QtCore.QPoint(0, 0))
shot = app.primaryScreen().grabWindow(0, top_left.x(), top_left.y(), c.width(), c.height())
scr = V.qimage_rgb(shot.toImage())
out["screen_shape"] = list(scr.shape)
out["screen_particles"] = colour_count(scr, PARTICLE, 14)
out["same_size_particles"] = colour_count(
    V.qimage_rgb(view.render_image(c.width(), c.height(), text_in_frame=False)), PARTICLE, 14)
out["screen_learned"] = colour_count(scr, S.LEARNED, 14)
out["paints"] = view.gl.paint_count

# the panel's grab() includes the GL picture
pg = V.qimage_rgb(panel.grab().toImage())
out["grab_particles"] = colour_count(pg, PARTICLE, 14)

# auto-rotate turns the camera
az0 = view.camera()["azimuth"]
p0 = view.gl.paint_count
panel.set_auto_rotate(True)
wait(600)
panel.set_auto_rotate(False)
out["azimuth_change"] = (view.camera()["azimuth"] - az0) % 360
out["paints_while_rotating"] = view.gl.paint_count - p0

# the mouse: left-drag orbits, right-drag pans, double-click resets
from PySide6 import QtGui
def mouse(kind, x, y, button, buttons):
    pos = QtCore.QPointF(x, y)
    return QtGui.QMouseEvent(kind, pos, view.gl.mapToGlobal(pos), button, buttons,
                             QtCore.Qt.KeyboardModifier.NoModifier)
E, L, R = QtCore.QEvent.Type, QtCore.Qt.MouseButton.LeftButton, QtCore.Qt.MouseButton.RightButton
cam = view.camera()
view.gl.mousePressEvent(mouse(E.MouseButtonPress, 100, 100, L, L))
view.gl.mouseMoveEvent(mouse(E.MouseMove, 160, 120, L, L))
out["drag_azimuth"] = view.camera()["azimuth"] - cam["azimuth"]
out["drag_elevation"] = view.camera()["elevation"] - cam["elevation"]
c0 = view.gl.opts["center"].toTuple()
view.gl.mousePressEvent(mouse(E.MouseButtonPress, 100, 100, R, R))
view.gl.mouseMoveEvent(mouse(E.MouseMove, 150, 100, R, R))
out["pan"] = float(np.linalg.norm(np.subtract(view.gl.opts["center"].toTuple(), c0)))
view.gl.mouseDoubleClickEvent(mouse(E.MouseButtonDblClick, 100, 100, L, L))
out["reset"] = [view.camera()["azimuth"], view.camera()["elevation"],
                float(np.linalg.norm(np.subtract(view.gl.opts["center"].toTuple(), B.mean(1))))]

# a rotating animation: frames differ
frames = []
for k in range(3):
    view.rotate_by(40)
    frames.append(V.render_rgb(view, 320, 240))
out["frames_differ"] = bool(np.abs(frames[0].astype(int) - frames[1]).sum() > 0
                            and np.abs(frames[1].astype(int) - frames[2]).sum() > 0)

# 20,000 particles update, on screen
big = rng.uniform(-3, 3, (20000, 3))
p0 = view.gl.paint_count
t = time.perf_counter()
for k in range(15):
    panel.set_particles(big + 0.01 * k)
    wait(1)
out["big_n"] = view.scene.n_particles
out["big_paints"] = view.gl.paint_count - p0
out["big_seconds"] = time.perf_counter() - t
img = V.render_rgb(view, 640, 480)
out["big_white"] = int((img.min(axis=2) > 120).sum())

# a second GL view in another window draws too (shader programs per context)
other = V.View3D()
other.resize(400, 300)
other.show()
wait(200)
other.set_bounds(B)
other.set_particles(ring)
o = V.render_rgb(other, 400, 300)
out["second_view_particles"] = colour_count(o, PARTICLE, 14)
img = V.render_rgb(view, 400, 300)
out["first_view_again"] = colour_count(img, PARTICLE, 14)
other.close()

# a view that was never shown renders too (export scenes are not on screen)
hidden = V.View3D()
hidden.set_bounds(B)
hidden.set_particles(ring)
h = V.render_rgb(hidden, 320, 200)
out["hidden_shape"] = list(h.shape)
out["hidden_particles"] = colour_count(h, PARTICLE, 14)

# the legend and readouts sit beside or under the picture, never over the cube
for size in ((1100, 700), (560, 330), (900, 600)):
    panel.resize(*size)
    wait(300)
    view.sync_side()
    wait(100)
    corners = np.array([[x, y, z] for x in B[0] for y in B[1] for z in B[2]])
    px = view.screen_projector()(corners)
    tl = c.mapTo(view, QtCore.QPoint(0, 0))
    cube = QtCore.QRectF(px[:, 0].min() + tl.x(), px[:, 1].min() + tl.y(),
                         np.ptp(px[:, 0]), np.ptp(px[:, 1]))
    boxes = [QtCore.QRectF(r.translated(view.side.mapTo(view, QtCore.QPoint(0, 0))))
             for r in view.side.box_rects()]
    out.setdefault("legend_boxes", []).append(len(boxes))
    out.setdefault("legend_over_cube", []).append(
        sum(1 for r in boxes if r.intersected(cube).width() * r.intersected(cube).height() > 0))
    out.setdefault("cube_in_picture", []).append(
        bool(QtCore.QRectF(c.geometry()).adjusted(-1, -1, 1, 1).contains(cube)))
panel.resize(1100, 700)
wait(200)

# an exported frame of the view alone: the boxes beside or under the cube there too
for fw, fh in ((800, 600), (1280, 720), (480, 360)):
    cube_rect, boxes = view.frame_layout(fw, fh)
    px = view.screen_projector(cube_rect.width(), cube_rect.height(),
                               view.frame_distance(cube_rect.width(), cube_rect.height()))(corners)
    cube = QtCore.QRectF(px[:, 0].min() + cube_rect.x(), px[:, 1].min() + cube_rect.y(),
                         np.ptp(px[:, 0]), np.ptp(px[:, 1]))
    out.setdefault("frame_boxes", []).append(len(boxes))
    out.setdefault("frame_over_cube", []).append(
        sum(1 for _img, r in boxes if QtCore.QRectF(r).intersects(cube)))

# isosurfaces of p read on a projector: the outer one stands out from the background
n = 32
ax = [np.linspace(lo, hi, n) for lo, hi in B]
X, Y, Z = np.meshgrid(*ax, indexing="ij")
blob = np.exp(-0.5 * ((X - 1.0) ** 2 + Y ** 2 + Z ** 2))
iso = V.View3D()
iso.set_bounds(B)
iso.set_slice_visible(False)
iso.set_density_grid(blob)
with_s = V.render_rgb(iso, 480, 360).astype(float)
iso.set_density_mode("off")
without = V.render_rgb(iso, 480, 360).astype(float)
changed = np.abs(with_s - without).max(axis=2) > 3
lum = with_s[changed] @ [0.2126, 0.7152, 0.0722]
from explorer.views import colour as Kc
ratio = Kc.contrast_ratio(with_s[changed], without[changed])
out["iso_pixels"] = int(changed.sum())
out["iso_contrast_median"] = float(np.median(ratio))
out["iso_contrast_p90"] = float(np.percentile(ratio, 90))
panel.close()
wait(100)
print("RESULT " + json.dumps(out))
sys.stdout.flush()
'''


@pytest.fixture(scope="module")
def xvfb_display():
    if shutil.which("Xvfb") is None:
        pytest.skip("Xvfb not installed (apt-get install xvfb)")
    r, w = os.pipe()
    proc = subprocess.Popen(["Xvfb", "-displayfd", str(w), "-screen", "0", "1280x800x24",
                             "+extension", "GLX", "+render", "-nolisten", "tcp", "-noreset"],
                            pass_fds=(w,), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    os.close(w)
    try:
        with os.fdopen(r) as f:
            number = f.readline().strip()
        if not number:
            pytest.fail("Xvfb did not start")
        yield f":{number}"
    finally:
        proc.terminate()
        try:
            proc.wait(5)
        except subprocess.TimeoutExpired:
            proc.kill()


@pytest.fixture(scope="module")
def gl_results(xvfb_display):
    env = dict(os.environ, DISPLAY=xvfb_display, QT_QPA_PLATFORM="xcb",
               PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    env.pop("SCORE_EXPLORER_NO_GL", None)
    env.pop("WAYLAND_DISPLAY", None)
    proc = subprocess.run([sys.executable, "-c", textwrap.dedent(GL_SCRIPT)], env=env, cwd=ROOT,
                          capture_output=True, text=True, timeout=240)
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("RESULT ")]
    assert proc.returncode == 0 and lines, (proc.returncode, proc.stdout[-3000:], proc.stderr[-3000:])
    return json.loads(lines[-1][len("RESULT "):])


@pytest.mark.gl
def test_gl_probe_finds_opengl_under_xvfb(gl_results):
    ok, why = gl_results["probe"]
    assert gl_results["platform"] == "xcb"
    assert ok, why
    assert "OpenGL" in why
    assert gl_results["panel_view"] == "View3D"


@pytest.mark.gl
def test_gl_view_draws_particles_and_arrows(gl_results):
    r = gl_results
    assert r["offscreen_shape"] == [600, 800, 3]
    assert r["offscreen_unique"] > 50
    assert r["offscreen_particles"] > 60, r           # 1,500 white particles (3 px), the cube
    #                                                   sharing the frame with its legend
    assert r["offscreen_learned"] > 1000, r           # learned arrows, zero error: pure orange
    assert r["offscreen_true"] > 1000, r              # true arrows: sky blue


@pytest.mark.gl
def test_gl_view_is_on_screen(gl_results):
    r = gl_results
    assert r["paints"] > 0
    # the picture is narrower now that the legend has a column of its own: compare the
    # screen with an offscreen picture of the same size
    assert r["screen_particles"] > 30 and r["screen_particles"] >= 0.5 * r["same_size_particles"], r
    assert r["screen_learned"] > 1000, r
    assert r["grab_particles"] > 100, r


@pytest.mark.gl
def test_gl_mouse_orbits_pans_and_resets(gl_results):
    r = gl_results
    assert r["drag_azimuth"] == pytest.approx(-60) and r["drag_elevation"] == pytest.approx(20)
    assert r["pan"] > 0.01
    assert r["reset"] == pytest.approx([V.AZIMUTH, V.ELEVATION, 0.0], abs=1e-6)


@pytest.mark.gl
def test_gl_auto_rotate_turns_the_camera(gl_results):
    assert gl_results["azimuth_change"] > 1.0
    assert gl_results["paints_while_rotating"] >= 3
    assert gl_results["frames_differ"]


@pytest.mark.gl
def test_gl_20k_particles_update(gl_results):
    r = gl_results
    assert r["big_n"] == 20000
    assert r["big_paints"] >= 3
    assert r["big_white"] > 5000


@pytest.mark.gl
def test_gl_view_renders_when_never_shown(gl_results):
    assert gl_results["hidden_shape"] == [200, 320, 3]
    assert gl_results["hidden_particles"] > 30


@pytest.mark.gl
def test_gl_second_window_draws_too(gl_results):
    assert gl_results["second_view_particles"] > 50
    assert gl_results["first_view_again"] > 50


@pytest.mark.gl
def test_gl_legend_is_beside_or_under_the_cube(gl_results):
    """The legend box was painted over the cube; now every text box is in a column beside
    or under the picture, at a wide, a small and a medium size."""
    r = gl_results
    assert all(n >= 2 for n in r["legend_boxes"]), r["legend_boxes"]   # title and legend at least
    assert r["legend_over_cube"] == [0, 0, 0], r
    assert all(r["cube_in_picture"]), r
    assert all(n >= 3 for n in r["frame_boxes"]), r          # exported frames keep the title
    assert r["frame_over_cube"] == [0, 0, 0], r


@pytest.mark.gl
def test_gl_isosurfaces_stand_out(gl_results):
    """Isosurfaces were faint (alpha 0.09 and 0.2): the outer one must differ from what is
    behind it by a contrast ratio of 1.5 (median) and the inner one by 3."""
    r = gl_results
    assert r["iso_pixels"] > 2000, r
    assert r["iso_contrast_median"] >= 1.5, r
    assert r["iso_contrast_p90"] >= 3.0, r
