"""The 3-D view: particle cloud, density, learned and true score arrows, a slice plane.

Two widgets with one API, and a panel around either:

- `View3D` draws with pyqtgraph.opengl: pyqtgraph's GLViewMixin on a QOpenGLWindow in a
  window container (it draws straight into its native window: about twice the frame
  rate of a QOpenGLWidget under Mesa, which composes the whole top-level every frame).
  Drag to orbit, wheel to zoom, right- or middle-drag (or ctrl-drag) to pan, double-click
  to reset; `set_auto_rotate`. Axis names, ticks, legend and status are painted with
  QPainter after the scene. `render_image(w, h)` draws the same into an offscreen
  framebuffer at any size, on screen or not; `grab()` and `render()` are overridden to
  use it, so the exporter's `widget.render(painter)` captures the GL picture too.
- `Projected3DView` draws the same scene with 2-D pyqtgraph plots: an orthographic
  projection turning about x3 at a fixed elevation, with a visible note that OpenGL is
  not available. It is used when `gl_probe.gl_available()` says no (offscreen tests,
  remote sessions, old drivers), so there is never a blank widget.
- `View3DPanel` holds one of them, the controls (auto-rotate, density, arrows, slice
  axis and position) and a `FieldView` of learned vs true on the slice plane; it emits
  `slice_changed(axis, value)` and `arrow_points_changed("grid" | "particles")` so the
  window (which owns the model) recomputes fields there.

`make_view3d()` builds the panel with the right view; `render_rgb(widget, w, h)` returns
an RGB frame of any of them for export.

Modules: geometry.py (numpy only: grids, arrows, ticks, projection), scene.py (what both
views draw, validated once; auto-rotation), overlay.py (QPainter text: axis names, legend,
status), gl_view.py (View3D, render_rgb), projected_view.py (Projected3DView),
panel.py (View3DPanel, make_view3d), capture.py (QImage to RGB arrays).

Shared API of both views and the panel (numpy arrays, any float dtype; NaN rows dropped):
    set_bounds((3, 2)), set_density_points((m, 3), weights=(m,) | None),
    set_density_grid((n, n, n) | None), set_density_mode("cloud" | "surface" | "off"),
    set_particles((n, 3)), set_fields((G, 3), learned (G, 3) | None, true (G, 3) | None),
    set_arrow_mode("both" | "learned" | "true" | "off"), set_auto_rotate(bool),
    set_slice(axis, value), set_slice_visible(bool), set_status(str),
    set_mode_weights(fractions, true, labels), set_trails(...) (ignored), apply_style(style),
    reset_camera(), rotate_by(degrees), camera() -> {"azimuth", "elevation", "distance"}.
Grid helpers for the window: `coarse_grid`, `grid_subset` (thin an n^3 field for arrows),
`grid_slice` (the n x n plane of an n^3 field nearest a slice), `slice_grid`.

Arrows: a vector v at p becomes a shaft from p to p + u, u = v / scale * 0.9 * cell with
|u| clipped to 1.2 cell (as `quiver.QuiverItem`), scale = `reference_scale3` (95th percentile) of
learned and true together, cell = the grid spacing (or (volume / G)^(1/3) for scattered
points); a head of four barbs. Learned arrows are coloured by their error
|s_theta - grad log p| / scale: orange (accurate) to magenta (off by a typical score or more).
"""

from .capture import bgra_to_rgb, qimage_rgb
from .geometry import (ARROW_MODES, AZIMUTH, DENSITY_MODES, ELEVATION, ERROR_HIGH, NO_GL_NOTE, arrow_segments, coarse_grid, error_colors, grid_slice, grid_spacing3, grid_subset, nice_ticks, project, reference_scale3, slice_grid, view_basis)
from .gl_view import View3D, render_rgb
from .overlay import mode_weights_text
from .panel import View3DPanel, make_view3d
from .projected_view import Projected3DView

__all__ = [
    "ARROW_MODES", "AZIMUTH", "DENSITY_MODES", "ELEVATION", "ERROR_HIGH", "NO_GL_NOTE",
    "Projected3DView", "View3D", "View3DPanel", "arrow_segments", "bgra_to_rgb", "coarse_grid",
    "error_colors", "grid_slice", "grid_spacing3", "grid_subset", "make_view3d",
    "mode_weights_text", "nice_ticks", "project", "qimage_rgb", "reference_scale3", "render_rgb",
    "slice_grid", "view_basis",
]
