"""Drawing your own density: paint, place components, load points (offscreen, pytest-qt).

Strokes and drags are real mouse events (QTest) on the plots' GraphicsView viewports.
"""

from __future__ import annotations

import math
import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import numpy as np
import pytest
import torch

pytest.importorskip("pytestqt")

from PySide6 import QtCore  # noqa: E402
from PySide6.QtTest import QTest  # noqa: E402

from explorer.core.presets import preset as P  # noqa: E402
from explorer.core.presets.edits import with_changes
from explorer.core.densities import build_density  # noqa: E402
from explorer.core.errors import SpecError  # noqa: E402
from explorer.core.run.headless import portable_preset  # noqa: E402
from explorer.gui.drawing import ComponentEditor, DrawPanel, PaintCanvas  # noqa: E402
from explorer.gui.drawing.paint_canvas import paint_polyline, shape_for_bounds  # noqa: E402

LEFT = QtCore.Qt.LeftButton
NOMOD = QtCore.Qt.NoModifier


# ------------------------------------------------------------------ helpers
def show(widget, qtbot, w=640, h=560):
    qtbot.addWidget(widget)
    widget.resize(w, h)
    widget.show()
    qtbot.waitExposed(widget)
    return widget


def drag(widget, points):
    """Press at the first data point, move through the others, release at the last."""
    vp = widget.viewport()
    pix = [widget.map_data_to_viewport(x, y) for x, y in points]
    QTest.mousePress(vp, LEFT, NOMOD, pix[0])
    for p in pix[1:]:
        QTest.mouseMove(vp, p)
    QTest.mouseRelease(vp, LEFT, NOMOD, pix[-1])


def click(widget, x, y):
    vp = widget.viewport()
    p = widget.map_data_to_viewport(x, y)
    QTest.mousePress(vp, LEFT, NOMOD, p)
    QTest.mouseRelease(vp, LEFT, NOMOD, p)


def value_at(canvas, x, y):
    r, c = canvas.pixel_grid().to_pixel(x, y)
    return float(canvas.array()[int(round(r)), int(round(c))])


def data_px(widget):
    """Data units per screen pixel (the tolerance of a mouse position)."""
    a = widget.map_data_to_viewport(0.0, 0.0)
    b = widget.map_data_to_viewport(1.0, 0.0)
    return 1.0 / max(1, abs(b.x() - a.x()))


def dist_to_polyline(x, poly):
    poly = np.asarray(poly, dtype=np.float64)
    best = np.full(len(x), np.inf)
    for a, b in zip(poly[:-1], poly[1:]):
        v = b - a
        t = np.clip(((x - a) @ v) / (v @ v), 0, 1)
        best = np.minimum(best, np.linalg.norm(x - (a + t[:, None] * v), axis=1))
    return best


def score_matches_autograd(density, pts):
    x = torch.tensor(pts, dtype=torch.float64, requires_grad=True)
    lp = density.log_prob(x).sum()
    (g,) = torch.autograd.grad(lp, x)
    s = density.score(torch.tensor(pts, dtype=torch.float64))
    np.testing.assert_allclose(s.numpy(), g.numpy(), rtol=1e-6, atol=1e-6)


@pytest.fixture
def canvas(qtbot):
    return show(PaintCanvas(), qtbot)


@pytest.fixture
def panel(qtbot):
    p = show(DrawPanel(), qtbot, 820, 660)
    p.emitted = []
    p.density_edited.connect(p.emitted.append)
    return p


# ------------------------------------------------------------------ painting
def test_mouse_drag_paints_a_stroke_and_signals_once_at_the_end(canvas, qtbot):
    seen = []
    canvas.painting_changed.connect(lambda: seen.append(1))
    assert canvas.is_empty()
    drag(canvas, [(-2.0, 0.0), (-1.0, 0.0), (0.0, 0.0), (1.0, 0.0), (2.0, 0.0)])
    assert len(seen) == 1
    assert not canvas.is_empty()
    for x in np.linspace(-2, 2, 9):
        assert value_at(canvas, x, 0.0) > 0.9
    assert value_at(canvas, 0.0, 2.0) == 0.0
    assert value_at(canvas, 3.5, 0.0) == 0.0


def test_fast_drag_is_continuous(canvas):
    canvas.set_brush(radius=0.15)
    drag(canvas, [(-3.5, -3.0), (3.5, 3.0)])          # one mouse move across the canvas
    a = canvas.array()
    g = canvas.pixel_grid()
    for t in np.linspace(0, 1, 200):                  # every pixel along the segment
        x, y = -3.5 + 7 * t, -3.0 + 6 * t
        r, c = g.to_pixel(x, y)
        assert a[int(round(r)), int(round(c))] > 0.5, (x, y)


def test_strength_and_soft_edge(canvas):
    canvas.set_brush(radius=0.5, strength=0.4)
    drag(canvas, [(0.0, 0.0), (0.01, 0.0)])
    centre = value_at(canvas, 0.0, 0.0)
    assert centre == pytest.approx(0.4, abs=0.02)
    edge = value_at(canvas, 0.42, 0.0)
    assert 0.0 < edge < centre                        # soft round brush
    drag(canvas, [(0.0, 0.0), (0.01, 0.0)])           # a second stroke builds up
    assert value_at(canvas, 0.0, 0.0) == pytest.approx(1 - 0.6 ** 2, abs=0.02)


def test_undo_restores_the_previous_array(canvas):
    drag(canvas, [(-2.0, -2.0), (2.0, -2.0)])
    first = canvas.array()
    drag(canvas, [(-2.0, 2.0), (2.0, 2.0)])
    assert not np.array_equal(first, canvas.array())
    assert canvas.undo()
    np.testing.assert_array_equal(canvas.array(), first)
    assert canvas.undo()
    assert canvas.is_empty()
    assert not canvas.undo()


def test_undo_keeps_at_least_20_strokes(canvas):
    states = []
    for k in range(25):
        states.append(canvas.array())
        canvas.stroke([(-3.5 + 0.28 * k, -3.0), (-3.5 + 0.28 * k, 3.0)])
    for k in reversed(range(5, 25)):
        assert canvas.undo()
        np.testing.assert_array_equal(canvas.array(), states[k])


def test_erase_removes_paint_and_clear_is_undoable(canvas):
    drag(canvas, [(-2.0, 0.0), (2.0, 0.0)])
    assert value_at(canvas, 0.0, 0.0) > 0.9
    canvas.set_brush(erase=True)
    drag(canvas, [(0.0, -1.0), (0.0, 1.0)])
    assert value_at(canvas, 0.0, 0.0) == 0.0
    assert value_at(canvas, -1.5, 0.0) > 0.9
    canvas.set_brush(erase=False)
    painted = canvas.array()
    canvas.clear()
    assert canvas.is_empty()
    canvas.undo()
    np.testing.assert_array_equal(canvas.array(), painted)


def test_blob_at_2_3_is_mass_at_2_3(canvas, tmp_path):
    drag(canvas, [(2.0, 3.0), (2.0, 3.0)])
    spec = canvas.density_spec(tmp_path / "blob.png")
    assert spec["kind"] == "image" and (tmp_path / "blob.png").is_file()
    from PIL import Image
    im = np.asarray(Image.open(tmp_path / "blob.png"))
    assert im.dtype == np.uint8 and im.ndim == 2
    rows, cols = np.nonzero(im)
    assert rows.mean() < im.shape[0] / 2 and cols.mean() > im.shape[1] / 2   # top right
    d = build_density(spec, tmp_path)
    x = d.sample(2000, torch.Generator().manual_seed(0)).numpy()
    np.testing.assert_allclose(x.mean(0), [2.0, 3.0], atol=0.05)


def test_non_square_bounds_keep_positions(qtbot, tmp_path):
    c = show(PaintCanvas(bounds=[[-6.0, 6.0], [-2.0, 4.0]]), qtbot)
    assert c.array().shape == shape_for_bounds([[-6, 6], [-2, 4]])
    drag(c, [(-5.0, 3.5), (-5.0, 3.5)])
    d = build_density(c.density_spec(tmp_path / "b.png"), tmp_path)
    x = d.sample(2000, torch.Generator().manual_seed(0)).numpy()
    np.testing.assert_allclose(x.mean(0), [-5.0, 3.5], atol=0.05)


def test_painted_density_has_its_mass_on_the_stroke_and_an_exact_score(panel, qtbot):
    stroke = [(-2.5, -1.0), (-0.5, 1.5), (1.0, -0.5), (2.5, 1.0)]
    with qtbot.waitSignal(panel.density_edited, timeout=2000) as sig:
        drag(panel.canvas, stroke)
    spec = sig.args[0]
    assert spec["kind"] == "image" and os.path.isfile(spec["path"])
    assert spec["bounds"] == [[-4.0, 4.0], [-4.0, 4.0]]
    d = build_density(spec)
    x = d.sample(2000, torch.Generator().manual_seed(1)).numpy()
    near = dist_to_polyline(x, stroke) < panel.canvas.brush_radius + 3 * spec["blur"]
    assert near.mean() > 0.97
    pts = np.array([[0.0, 0.0], [-2.4, -1.0], [1.0, 2.0], [3.0, -3.0], [-0.5, 1.4]])
    score_matches_autograd(d, pts)
    # the same spec as the window applies it (the one edit model): a preset with this density
    assert with_changes(P.default(), {"density": spec}).density["kind"] == "image"


def test_each_paint_edit_writes_a_new_png(panel):
    panel.canvas.stroke([(-1.0, 0.0), (1.0, 0.0)])
    panel.canvas.stroke([(0.0, -1.0), (0.0, 1.0)])
    paths = [s["path"] for s in panel.emitted]
    assert len(paths) == 2 and paths[0] != paths[1]
    assert all(os.path.isfile(p) for p in paths)   # an earlier preset keeps its PNG


def test_blur_box_changes_the_spec(panel):
    panel.canvas.stroke([(-1.0, 0.0), (1.0, 0.0)])
    panel.blur.setValue(0.3)
    assert panel.emitted[-1]["blur"] == pytest.approx(0.3)


def test_empty_canvas_gives_a_message_and_keeps_the_drawing(panel):
    with pytest.raises(SpecError, match="empty"):
        panel.canvas.density_spec("x.png", write=False)
    assert not panel.apply()
    assert "empty" in panel.error_text()
    assert panel.emitted == []
    panel.canvas.stroke([(-1.0, 0.0), (1.0, 0.0)])
    assert len(panel.emitted) == 1 and panel.error_text() == ""
    painted = panel.canvas.array()
    panel.canvas.clear()                               # clearing is an edit: message, no emit
    assert "empty" in panel.error_text()
    assert len(panel.emitted) == 1
    panel.canvas.undo()                                # and nothing is lost
    np.testing.assert_array_equal(panel.canvas.array(), painted)
    assert len(panel.emitted) == 2


def test_painting_saved_as_preset_reopens_unchanged(panel, tmp_path):
    panel.canvas.stroke([(-2.0, 2.0), (-2.0, -2.0), (1.0, -2.0)])
    spec = panel.emitted[-1]
    preset = with_changes(P.default(), {"density": spec})   # as the window applies a drawing
    folder = tmp_path / "saved"
    folder.mkdir()
    portable_preset(preset, folder).save(folder / "drawing.toml")     # what File > Save does
    png = os.path.basename(spec["path"])
    assert (folder / png).is_file()
    again = P.load(folder / "drawing.toml")
    assert again.density["path"] == png
    x = torch.tensor([[-2.0, 0.0], [0.0, -2.0], [2.0, 2.0]], dtype=torch.float64)
    torch.testing.assert_close(again.build_density().log_prob(x), preset.build_density().log_prob(x))
    before = panel.canvas.array()
    assert panel.show_density(again.density, again.base_dir)
    np.testing.assert_allclose(panel.canvas.array(), before, atol=1.0 / 255)


def test_open_image_that_is_not_an_image(panel, tmp_path):
    panel.canvas.stroke([(-1.0, 0.0), (1.0, 0.0)])
    before = panel.canvas.array()
    n = len(panel.emitted)
    bad = tmp_path / "notes.png"
    bad.write_text("this is not a picture")
    assert not panel.load_image(bad)
    assert "image" in panel.error_text()
    np.testing.assert_array_equal(panel.canvas.array(), before)
    assert len(panel.emitted) == n


def test_numpy_brush_equals_mouse_stroke(canvas):
    pts = [(-2.0, 1.0), (0.5, -1.5), (2.0, 2.0)]
    drag(canvas, pts)
    mouse = canvas.array()
    ref = paint_polyline(np.zeros_like(mouse), canvas.bounds(), pts, canvas.brush_radius)
    # the mouse lands on whole screen pixels: compare where the stroke is unambiguous
    assert np.mean(np.abs(mouse - ref) > 0.5) < 0.01


# ------------------------------------------------------------------ components
@pytest.fixture
def editor(qtbot):
    e = show(ComponentEditor(), qtbot, 760, 560)
    e.changes = []
    e.components_changed.connect(lambda: e.changes.append(1))
    return e


def test_click_adds_a_component_at_the_click(editor):
    click(editor, 1.5, -2.0)
    w, m, c = editor.components()
    tol = 2 * data_px(editor)
    assert len(w) == 1 and w[0] == 1.0
    np.testing.assert_allclose(m[0], [1.5, -2.0], atol=tol)
    np.testing.assert_allclose(c[0], 0.25 * np.eye(2), atol=1e-12)
    assert editor.changes == [1]
    click(editor, -2.0, 2.0)
    assert editor.count() == 2 and editor.selected() == 1


def test_dragging_the_centre_moves_the_component(editor):
    editor.set_components([1.0, 2.0], [[-2.0, -2.0], [2.0, 2.0]], [0.3, 0.4])
    editor.changes.clear()
    drag(editor, [(2.0, 2.0), (1.5, 1.0), (1.0, 0.0), (0.5, -1.0)])
    w, m, c = editor.components()
    tol = 2 * data_px(editor)
    np.testing.assert_allclose(m[1], [0.5, -1.0], atol=tol)
    np.testing.assert_allclose(m[0], [-2.0, -2.0])
    np.testing.assert_allclose(c[1], 0.16 * np.eye(2), atol=1e-12)   # shape unchanged
    assert editor.changes == [1]                                      # once, at the end


def test_dragging_the_axis_handle_rotates_and_stretches(editor):
    editor.set_components([1.0], [[0.0, 0.0]], [[[0.25, 0.0], [0.0, 0.09]]])   # stds 0.5, 0.3
    hx, hy = 1.0, 0.0                                   # handle: end of the major axis, 2 std
    target = np.array([1.2, 1.2 * math.sqrt(3)])        # 60 degrees, length 2.4 -> std 1.2
    drag(editor, [(hx, hy), (0.9, 0.9), tuple(target)])
    _, m, c = editor.components()
    lam, vec = np.linalg.eigh(c[0])
    major = vec[:, 1] * np.sign(vec[0, 1])
    angle = math.degrees(math.atan2(major[1], major[0]))
    tol = 2 * data_px(editor)
    assert angle == pytest.approx(60.0, abs=1.0)
    assert math.sqrt(lam[1]) == pytest.approx(1.2, abs=tol)
    assert math.sqrt(lam[0]) == pytest.approx(0.3, abs=1e-9)           # minor std kept
    np.testing.assert_allclose(m[0], [0.0, 0.0])
    assert editor.changes == [1]


def test_weight_box_changes_the_weight(editor):
    editor.set_components([1.0, 1.0], [[-2.0, 0.0], [2.0, 0.0]], [0.5, 0.5])
    editor.select(0)
    editor.changes.clear()
    editor.weight_box.setValue(3.0)
    w, _, _ = editor.components()
    np.testing.assert_allclose(w, [3.0, 1.0])
    assert editor.changes == [1]
    assert "0.750" in editor.share.text()
    editor.delete_selected()
    assert editor.count() == 1 and editor.changes == [1, 1]


def test_mixture_spec_builds_the_drawn_density(editor):
    click(editor, -2.0, -1.0)
    click(editor, 2.0, 1.5)
    drag(editor, [(2.0 + 1.0, 1.5), (2.0 + 0.6, 1.5 + 1.2)])   # turn the second one
    editor.weight_box.setValue(3.0)
    spec = editor.density_spec()
    assert spec["kind"] == "mixture" and spec["bounds"] == [[-4.0, 4.0], [-4.0, 4.0]]
    d = build_density(spec)
    w, m, c = editor.components()
    np.testing.assert_allclose(spec["covariances"], c, atol=1e-6)   # rounded for the TOML
    w, m, c = (np.asarray(spec[k], dtype=np.float64) for k in ("weights", "means", "covariances"))
    np.testing.assert_allclose(d.components()[0], w / w.sum(), atol=1e-6)
    x = d.sample(4000, torch.Generator().manual_seed(0)).numpy()
    near2 = np.linalg.norm(x - m[1], axis=1) < np.linalg.norm(x - m[0], axis=1)
    assert near2.mean() == pytest.approx(0.75, abs=0.03)
    score_matches_autograd(d, np.array([[0.0, 0.0], [-2.0, -1.0], [2.5, 2.0], [-3.0, 3.0]]))
    # exact score of a 2-D Gaussian mixture, computed here
    pts = np.array([[0.3, -0.2], [2.2, 1.9]])
    p = np.stack([wk * np.exp(-0.5 * np.einsum("ni,ij,nj->n", pts - mk, np.linalg.inv(ck), pts - mk))
                  / (2 * np.pi * np.sqrt(np.linalg.det(ck))) for wk, mk, ck in zip(w / w.sum(), m, c)], 1)
    g = np.stack([-(pts - mk) @ np.linalg.inv(ck) for mk, ck in zip(m, c)], 1)
    exact = (p[..., None] * g).sum(1) / p.sum(1, keepdims=True)
    s = d.score(torch.tensor(pts, dtype=torch.float64)).numpy()
    np.testing.assert_allclose(s, exact, rtol=1e-6, atol=1e-8)


def test_no_components_is_a_clear_error(qtbot):
    panel = show(DrawPanel(), qtbot)
    panel.set_mode("components")
    with pytest.raises(SpecError, match="no components"):
        panel.editor.density_spec()
    assert not panel.apply()
    assert "no components" in panel.error_text()


def test_components_panel_emits_mixture_specs(panel):
    panel.set_mode("components")
    click(panel.editor, 0.0, 0.0)
    assert panel.emitted[-1]["kind"] == "mixture"
    assert len(panel.emitted[-1]["weights"]) == 1
    panel.editor.delete_selected()                     # the last one: message, nothing emitted
    assert "no components" in panel.error_text()
    assert len(panel.emitted) == 1


def test_mixture_preset_shows_in_the_editor(panel):
    spec = {"kind": "mixture", "weights": [0.2, 0.8], "means": [[-2.0, -2.0], [2.0, 2.0]],
            "stds": [0.5, 1.0], "bounds": [[-5.0, 5.0], [-5.0, 5.0]]}
    assert panel.show_density(spec)
    w, m, c = panel.editor.components()
    np.testing.assert_allclose(w, [0.2, 0.8])
    np.testing.assert_allclose(c[1], np.eye(2))
    assert panel.editor.bounds() == [[-5.0, 5.0], [-5.0, 5.0]]
    assert panel.emitted == []


# ------------------------------------------------------------------ points files
def test_points_file_loads_and_emits(panel, tmp_path):
    rng = np.random.default_rng(0)
    pts = rng.standard_normal((300, 2)) * 0.3 + [1.0, -1.0]
    np.save(tmp_path / "blob.npy", pts)
    panel.bandwidth.setValue(0.2)
    assert panel.load_points(tmp_path / "blob.npy")
    spec = panel.emitted[-1]
    assert spec["kind"] == "points" and spec["bandwidth"] == pytest.approx(0.2)
    d = build_density(spec)
    assert d.n_centres == 300
    score_matches_autograd(d, np.array([[1.0, -1.0], [0.0, 0.0], [2.0, 1.0]]))
    panel.bandwidth.setValue(0.3)
    assert panel.emitted[-1]["bandwidth"] == pytest.approx(0.3)


@pytest.mark.parametrize("name,content,words", [
    ("nan.csv", "x,y\n0.0,1.0\n1.0,nan\n2.0,2.0\n", "nan"),
    ("four.csv", "1,2,3,4\n5,6,7,8\n", "4 columns"),
    ("one.csv", "1.0,2.0\n", "1 point"),
    ("words.csv", "x,y\nhello,world\nfoo,bar\n", "cannot read"),
    ("picture.npy", None, "npy"),
])
def test_bad_points_files_give_a_message_and_keep_the_previous_points(panel, tmp_path, name,
                                                                      content, words):
    good = tmp_path / "good.csv"
    np.savetxt(good, np.random.default_rng(0).standard_normal((50, 2)), delimiter=",")
    assert panel.load_points(good)
    n = len(panel.emitted)
    bad = tmp_path / name
    if content is None:
        from PIL import Image
        Image.new("L", (8, 8), 255).save(bad, format="PNG")   # an image is not a point file
    else:
        bad.write_text(content)
    assert not panel.load_points(bad)
    assert words.lower() in panel.error_text().lower()
    assert len(panel.emitted) == n                              # nothing applied
    assert panel.current_spec()["path"] == str(good.resolve())  # the previous file stays


def test_restart_on_edit_defaults_to_checked(panel):
    assert panel.restart_on_edit() is True
    seen = []
    panel.restart_on_edit_toggled.connect(seen.append)
    panel.restart_box.setChecked(False)
    assert panel.restart_on_edit() is False and seen == [False]


def test_keys_undo_a_stroke_and_delete_a_component(panel, qtbot):
    drag(panel.canvas, [(-1.0, 0.0), (1.0, 0.0)])
    assert panel.canvas.view.hasFocus()
    QTest.keyClick(panel.canvas.view, QtCore.Qt.Key_Z, QtCore.Qt.ControlModifier)
    assert panel.canvas.is_empty()
    panel.set_mode("components")
    click(panel.editor, 0.0, 0.0)
    click(panel.editor, 2.0, 2.0)
    panel.editor.weight_box.setFocus()
    QTest.keyClick(panel.editor.weight_box, QtCore.Qt.Key_Backspace)    # edits the box only
    assert panel.editor.count() == 2
    click(panel.editor, 2.0, 2.0)                                        # select, focus the plot
    QTest.keyClick(panel.editor.view, QtCore.Qt.Key_Delete)
    assert panel.editor.count() == 1


# ------------------------------------------------------------------ the Draw tab on real screens
# The left tab's size in the window at 1280 x 720 and 1920 x 1080, and a wide one.
TAB_SIZES = [(400, 600), (420, 960), (820, 660)]
BOX = [[-8.0, 8.0], [-8.0, 8.0]]


def _draw_tab(qtbot, size):
    from PySide6 import QtWidgets
    tabs = QtWidgets.QTabWidget()
    panel = DrawPanel()
    tabs.addTab(panel, "Draw")
    show(tabs, qtbot, *size)
    panel.set_bounds(BOX)
    panel.tab_widget = tabs   # pytest-qt keeps only a weak reference
    return panel


def _inside(inner, outer) -> bool:
    return (inner.left() >= outer.left() - 0.5 and inner.top() >= outer.top() - 0.5
            and inner.right() <= outer.right() + 0.5 and inner.bottom() <= outer.bottom() + 0.5)


def _shows_whole_box(view, plot, box=BOX) -> bool:
    """The plot fits in its GraphicsView (nothing cut at the viewport's edge) and its view
    range holds the whole density box."""
    (x0, x1), (y0, y1) = plot.getViewBox().viewRange()
    whole = x0 <= box[0][0] and x1 >= box[0][1] and y0 <= box[1][0] and y1 >= box[1][1]
    return whole and _inside(view.mapFromScene(plot.sceneBoundingRect()).boundingRect(),
                             view.viewport().rect())


def _title_whole(label) -> bool:
    """A word-wrapped title inside its parent, tall enough for all its lines."""
    return (_inside(label.geometry(), label.parentWidget().rect())
            and label.heightForWidth(label.width()) <= label.height())


@pytest.mark.parametrize("size", TAB_SIZES)
def test_component_at_5_5_is_on_the_canvas(qtbot, size):
    """In [-8, 8]^2 the canvas showed x from -8 to 0: the plot was wider than its view (its
    title's width), so a component at (5, 5) was cut off."""
    from PySide6 import QtGui
    from explorer.gui.drawing.component_editor import SELECTED
    panel = _draw_tab(qtbot, size)
    ed = panel.editor
    ed.add_component(5.0, 5.0, emit=False)
    panel.set_mode("components")
    qtbot.wait(20)
    assert _shows_whole_box(ed.view, ed.plot)
    p = ed.map_data_to_viewport(5.0, 5.0)
    assert ed.viewport().rect().contains(p)
    img = ed.viewport().grab().toImage()
    c = QtGui.QColor(img.pixel(p))
    assert np.allclose((c.red(), c.green(), c.blue()), SELECTED, atol=40)   # the orange centre
    side = min(ed.view.width(), ed.view.height())
    assert side >= 0.6 * min(size[0], size[1] - 200)   # the canvas, not the side panel, gets the room
    assert _title_whole(ed.canvas_title)


@pytest.mark.parametrize("size", TAB_SIZES)
def test_paint_canvas_title_and_box_not_clipped(qtbot, size):
    panel = _draw_tab(qtbot, size)
    panel.set_mode("paint")
    qtbot.wait(20)
    c = panel.canvas
    assert _shows_whole_box(c.view, c.plot)
    assert _title_whole(c.title)
    assert c.title.text().startswith("Paint the density")


@pytest.mark.parametrize("size", TAB_SIZES[:2])
def test_points_tab_shows_the_box_and_a_hint_until_a_file_is_loaded(qtbot, size, tmp_path):
    panel = _draw_tab(qtbot, size)
    panel.set_mode("points")
    qtbot.wait(20)
    assert _shows_whole_box(panel.points_view, panel.points_plot)   # not 0..1 axes
    assert panel.points_hint.isVisible() and "load a csv" in panel.points_hint.textItem.toPlainText().lower()
    pts = np.random.default_rng(0).standard_normal((200, 2))
    np.savetxt(tmp_path / "cloud.csv", pts, delimiter=",")
    assert panel.load_points(tmp_path / "cloud.csv")
    qtbot.wait(20)
    assert not panel.points_hint.isVisible()
    assert panel.points_title.text() == "cloud.csv: 200 points" and _title_whole(panel.points_title)
    (x0, x1), (y0, y1) = panel.points_plot.getViewBox().viewRange()
    assert x0 <= pts[:, 0].min() and x1 >= pts[:, 0].max() and y0 <= pts[:, 1].min() and y1 >= pts[:, 1].max()
