"""What the OpenGL view draws of its scene: the slice plane, the arrows of both fields, the
density as a cloud or as isosurfaces. A mixin of View3D, which owns the GL items."""

from __future__ import annotations

import math

import numpy as np
import pyqtgraph as pg

from ..style import LEARNED
from .geometry import DENSITY_COLOR, SLICE_COLOR, SURFACE_GRID_MAX, SURFACE_LEVELS, arrow_segments, error_colors


class GLItems:
    """View3D's drawing of its GL items from `self.scene` (see View3D.__init__ for the items)."""

    def _draw_slice(self) -> None:
        s = self.scene
        quad = s.slice_quad().astype(np.float32)
        self.slice_item.setMeshData(vertexes=quad, faces=np.array([[0, 1, 2], [0, 2, 3]]),
                                    color=(*np.array(SLICE_COLOR) / 255, 0.07), smooth=False)
        loop = quad[[0, 1, 1, 2, 2, 3, 3, 0]]
        self.slice_outline.setData(pos=loop)
        for it in (self.slice_item, self.slice_outline):
            it.setVisible(s.slice_visible)
        self.gl.update()

    def _draw_arrows(self) -> None:
        s = self.scene
        show_l = s.arrow_mode in ("both", "learned") and s.learned is not None
        show_t = s.arrow_mode in ("both", "true") and s.true is not None
        if show_t:
            seg, _ = arrow_segments(s.field_points, s.true, s.scale, s.cell)
            self.true_item.setData(pos=seg if len(seg) else np.zeros((2, 3), np.float32))
        self.true_item.setVisible(show_t)
        if show_l:
            seg, ok = arrow_segments(s.field_points, s.learned, s.scale, s.cell)
            err = s.learned_error()
            if err is None:
                rgb = np.tile(np.array(LEARNED) / 255.0, (int(ok.sum()), 1))
            else:
                rgb = error_colors(err[ok])
            col = np.ones((len(rgb), 4), np.float32)
            col[:, :3] = rgb
            col = np.repeat(col, 10, axis=0)
            if len(seg):
                self.learned_item.setData(pos=seg, color=col)
            else:
                self.learned_item.setData(pos=np.zeros((2, 3), np.float32),
                                          color=np.zeros((2, 4), np.float32))
        self.learned_item.setVisible(show_l)
        self.gl.update()

    def _draw_density(self) -> None:
        s = self.scene
        mode = s.density_mode
        if mode == "surface" and s.density_grid is None and len(s.density_points):
            mode = "cloud"
        if mode == "cloud" and not len(s.density_points) and s.density_grid is not None:
            mode = "surface"
        pts = s.density_points
        if mode == "cloud" and len(pts):
            col = np.empty((len(pts), 4), np.float32)
            if s.density_weights is not None:
                w = np.clip(s.density_weights / max(float(np.max(s.density_weights)), 1e-300), 0, 1)
                lut = pg.colormap.get("viridis").getLookupTable(0.0, 1.0, 256, alpha=False) / 255.0
                idx = (np.sqrt(w) * 255).astype(int)
                col[:, :3] = lut[idx]
                col[:, 3] = ((0.04 + 0.12 * np.sqrt(w))
                             * float(np.clip(math.sqrt(20000.0 / len(pts)), 0.3, 2.5)))
            else:
                col[:, :3] = np.array(DENSITY_COLOR) / 255.0
                col[:, 3] = float(np.clip(0.11 * math.sqrt(20000.0 / len(pts)), 0.04, 0.3))
            self.density_item.setData(pos=pts, color=col)
            self.density_item.setVisible(True)
        else:
            self.density_item.setVisible(False)
        self._draw_surfaces(mode == "surface")
        self.gl.update()

    def _draw_surfaces(self, show: bool) -> None:
        s = self.scene
        key = (id(s.density_grid), s.bounds.tobytes())
        if show and s.density_grid is not None and key != self._surface_key:
            for m in self._surfaces:
                self.gl.removeItem(m)
            self._surfaces = []
            self._surface_key = key
            gl = self._gl_mod
            d = np.where(np.isfinite(s.density_grid), s.density_grid, 0.0)
            n = np.array(d.shape, dtype=np.float64)
            f = max(1, int(math.ceil(max(d.shape) / SURFACE_GRID_MAX)))
            d = d[::f, ::f, ::f]          # triangles cost frames in software GL
            top = float(d.max())
            if top > 0:
                b = s.bounds
                step = (b[:, 1] - b[:, 0]) / n
                lut = pg.colormap.get("viridis")
                for frac, alpha in SURFACE_LEVELS:
                    verts, faces = pg.isosurface(d / top, frac)
                    if not len(faces):
                        continue
                    verts = b[:, 0] + (np.asarray(verts) * f + 0.5) * step
                    c = lut.map(0.45 + 0.55 * frac, mode="float")   # teal to green: not orange, not sky blue
                    md = gl.MeshData(vertexes=verts.astype(np.float32), faces=np.asarray(faces))
                    item = gl.GLMeshItem(meshdata=md, color=(c[0], c[1], c[2], alpha),
                                         shader="shaded", smooth=True, glOptions="additive")
                    item.setDepthValue(-9)
                    self.gl.addItem(item)
                    self._surfaces.append(item)
        for m in self._surfaces:
            m.setVisible(show)
