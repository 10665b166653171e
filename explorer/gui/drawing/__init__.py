"""Draw your own density: paint an image, place Gaussian components, or load a point file.

- `PaintCanvas`: a brush on a greyscale array over the density bounds -> an `image` density.
- `ComponentEditor`: Gaussians placed, moved, stretched and rotated -> a `mixture` density.
- `DrawPanel`: both, plus "Load CSV/NPY" for a `points` density, in tabs; it emits the
  [density] table to apply (`density_edited(dict)`).
"""

from .component_editor import ComponentEditor
from .draw_panel import DrawPanel
from .paint_canvas import PaintCanvas

__all__ = ["ComponentEditor", "DrawPanel", "PaintCanvas"]
