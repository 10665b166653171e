"""The right-hand side of the window: the views of one session and the row that steers them.

One arrangement of views per dimension (1-D curves, 2-D field + particles, 3-D scene),
each with the loss plot; above them the noise-level slider (NCSN's sigma, DDPM's t), the
learned-vs-true comparison mode and the arrow-length mode. Everything drawn comes from the
session (core/session): its density pictures, its true field at the slider's level, and the
snapshots its runs publish, which the window hands to `show_training` and `show_particles`.

The likelihood map (comparison mode "Likelihood (ODE)", score SDEs and flow matching in 2-D;
a dotted curve beside p in 1-D) is computed in a worker thread (gui/likelihood_map.py). The
learned density (comparison mode "Learned density" in 2-D and 3-D, a curve beside p in 1-D)
is computed from a copy of the model; in 3-D in a worker thread on a coarse 16^3 grid
(gui/density_volume.py: the 3-D Poisson solve takes about half a second), the slice panel
showing the learned and the true density on the current plane side by side, with the KL on
the 3-D grid. In 1-D and 2-D it is computed here, in the GUI thread: only while
it is shown, at most DENSITY_HZ times a second, on a grid of DENSITY_GRID points per axis
sized so that one update (model on the grid, Poisson solve) takes about 10-25 ms on a busy
2-core machine; the true density on that grid is cached per density and noise level.
"""

from __future__ import annotations

import time

import numpy as np
import torch
from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import (QCheckBox, QComboBox, QHBoxLayout, QLabel, QPushButton, QSlider, QSplitter,
                               QTabWidget, QVBoxLayout, QWidget)

from ..core.measures import learned_density as LD
from ..core.measures import model_likelihood as ML
from ..core.measures import pictures
from ..core.measures.grid import grid_points
from ..core.objectives import conditioning
from ..core.noise.schedules import ncsn_sigmas
from ..core.scores import level_kind, level_label, level_noise, time_levels
from ..core.session import Session
from ..views.style import ViewStyle
from .density_volume import GRID as VOLUME_GRID, DensityVolume
from .likelihood_map import LikelihoodMap
from .views_layout import two_d_arrangement

DENSITY_GRID_3D = 40  # points per axis of p drawn as level sets in the 3-D view
DENSITY_SAMPLES_3D = 20000
DENSITY_GRID = {1: 256, 2: 64}   # points per axis of the learned-density grid
DENSITY_HZ = 4.0                          # learned-density updates per second, at most


from ..core.session import captions as T


class ViewsArea(QWidget):
    """The views of one session, rebuilt only when the dimension changes."""

    rebuilt = Signal()   # new view widgets: whoever watches them (hover, focus) looks again
    probes_requested = Signal()   # "Hutchinson vs k…" beside the likelihood map

    def __init__(self, session: Session):
        super().__init__()
        self.session = session
        self.views_widget: QWidget | None = None
        self._views_dim: int | None = None
        self.field_view = self.particles_view = self.curve_view = self.loss_view = None
        self.noise_view = self.loss_area = None
        self.view3d = None
        self._levels: list = []
        self._backdrop_level = None   # the noise level of the density image now drawn
        self._last_learned = None
        self._quality: dict | None = None   # the last sample-quality figures of the cloud
        self._style: ViewStyle | None = None
        self._density_timer = QTimer(self)
        self._density_timer.setSingleShot(True)
        self._density_timer.timeout.connect(self.update_learned_density)
        self._density_last = -1e9     # perf_counter of the last learned-density update
        self._truth = LD.TruthOnGrid()   # the true side of the 1-D and 2-D learned density
        self.learned_density = None   # the last core.learned_density.LearnedDensity shown
        self.density_ms = None        # how long that update took in the GUI thread
        self.likelihood_map = LikelihoodMap(self)   # "Likelihood (ODE)": sde and flow_matching
        self.density_volume = DensityVolume(self)   # "Learned density" in 3-D
        self._volume = None   # the last 3-D result: (LearnedDensity | None, true log p, floor, n, level)
        self.card = None          # the lesson card (place_card)
        self.card_column = None   # 2-D: the particles' column, headed by the card
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        self.top = lay
        lay.addLayout(self._build_controls())
        self.holder = QVBoxLayout()
        lay.addLayout(self.holder, 1)

    # ================================================================ the control row
    def _build_controls(self) -> QHBoxLayout:
        """The views' own controls, above the views they change (in the toolbar they were
        pushed off a 1280-pixel screen): noise level (NCSN, DDPM), comparison, arrows."""
        row = QHBoxLayout()
        row.setContentsMargins(0, 0, 0, 0)
        self.sigma_label = QLabel("σ")
        self.sigma_slider = QSlider(Qt.Horizontal)
        self.sigma_slider.setToolTip("Noise level at which the learned and true fields and the "
                                     "density are drawn (left: most noise; right: the data)")
        self.sigma_slider.valueChanged.connect(self._sigma_changed)
        sig = QHBoxLayout()
        sig.setContentsMargins(0, 0, 0, 0)
        sig.addWidget(QLabel("Noise level"))
        sig.addWidget(self.sigma_slider, 1)
        sig.addWidget(self.sigma_label)
        self.sigma_row = QWidget()
        self.sigma_row.setLayout(sig)
        row.addWidget(self.sigma_row, 1)

        self.mode_combo = QComboBox()
        self.mode_combo.addItem("Side by side", "side")
        self.mode_combo.addItem("Overlay", "overlay")
        self.mode_combo.addItem("Error map", "error")
        self.mode_combo.addItem("Learned density", "density")
        self.mode_combo.addItem("Likelihood (ODE)", "likelihood")
        self.mode_combo.setToolTip(
            "How to compare the learned and the true score. Learned density: the density the "
            "model stands for (energy model: exp(−E); score model: exp(φ), φ the potential "
            "whose gradient is closest to sθ) beside the true p, with the KL on the grid and "
            "the curl fraction, the part of sθ that no gradient explains (a real score has none). "
            "Likelihood (ODE), score SDEs and flow matching in 2-D: pθ by the probability-flow "
            "ODE's change of variables on a coarse grid, computed in the background every few seconds")
        self.mode_combo.currentIndexChanged.connect(self._mode_changed)
        self.arrow_combo = QComboBox()
        self.arrow_combo.addItem("Arrows: own scale", "per_panel")
        self.arrow_combo.addItem("Arrows: one scale", "shared")
        self.arrow_combo.addItem("Arrows: direction, colour = |s|", "direction")
        self.arrow_combo.setToolTip(
            "Arrow length: each panel on its own scale (directions of a weak field stay "
            "visible), one scale for both (equal vectors, equal arrows), or equal lengths "
            "coloured by magnitude")
        self.arrow_combo.currentIndexChanged.connect(
            lambda: self.field_view and self.field_view.set_arrow_mode(self.arrow_combo.currentData()))
        self.probes_button = QPushButton("Hutchinson vs k…")
        self.probes_button.setToolTip("The likelihood estimators: the exact-trace NLL beside "
                                      "Hutchinson's estimate ± its standard error, and its "
                                      "variance against the number of probes k (Ctrl+H)")
        self.probes_button.clicked.connect(self.probes_requested)
        self.probes_button.setVisible(False)
        self.weighted = QCheckBox("Weight error by p(x)")
        self.weighted.toggled.connect(
            lambda on: self.field_view and self.field_view.set_error_weighted(on))
        for w in (self.mode_combo, self.probes_button, self.arrow_combo, self.weighted):
            row.addWidget(w)
        return row

    def field_mode(self) -> str:
        """The field view's page for the comparison chosen (the likelihood uses the density page)."""
        mode = self.mode_combo.currentData()
        return "density" if mode == "likelihood" else mode

    def _show_mode_controls(self) -> None:
        """Only the controls the chosen comparison uses (the row is full at 720p): arrows
        where arrows are drawn, the p-weighting on the error map, the estimators beside the
        likelihood map; none in 1-D, which draws curves."""
        mode, flat = self.mode_combo.currentData(), self._views_dim != 1
        self.mode_combo.setVisible(flat)
        self.arrow_combo.setVisible(flat and mode not in ("density", "likelihood"))
        self.weighted.setVisible(flat and mode == "error")
        self.probes_button.setVisible(flat and mode == "likelihood")

    def _mode_changed(self) -> None:
        self._show_mode_controls()
        if self.field_view is not None:
            self.field_view.set_mode(self.field_mode())
        if self.view3d is not None:   # the slice panel's width, caption and page follow the mode
            self.view3d.set_slice_wide(self.mode_combo.currentData() == "density")
            self.redraw_fields()
        self.request_learned_density(now=True)
        self.likelihood_map.request(now=True)

    def _enable_likelihood(self) -> None:
        item = self.mode_combo.model().item(self.mode_combo.findData("likelihood"))
        ok = self._views_dim == 2 and ML.available(self.session.preset)
        item.setEnabled(ok)
        if not ML.available(self.session.preset):
            why = "score SDEs and flow matching only (objective.kind = \"sde\" or \"flow_matching\")"
        elif self._views_dim == 3:
            why = ("2-D only: the 3-D slice panel has no room for two maps (score-explorer run "
                   "writes log p by the ODE on a 10×10×10 grid to field.npz)")
        else:
            why = "in 1-D it is the dotted curve beside p"
        item.setToolTip("" if ok else why)
        if self.curve_view is not None and not ML.available(self.session.preset):
            self.curve_view.set_ode_density(None)
        if not ok and self.mode_combo.currentData() == "likelihood":
            self.mode_combo.setCurrentIndex(self.mode_combo.findData("side"))

    def setup_levels(self) -> None:
        """NCSN: its sigma levels, largest on the left. DDPM: its steps t, the noisiest
        (t = T - 1) on the left. The right end, the finest level, is the default."""
        preset = self.session.preset
        o = preset.objective
        cond = conditioning(preset)
        show = cond is not None
        self._enable_likelihood()
        self.sigma_row.setVisible(show)
        if self.loss_area is not None:
            self.loss_area.setTabVisible(1, show)
            self.loss_area.tabBar().setVisible(show)
            if not show:
                self.loss_area.setCurrentIndex(0)
            self.noise_view.clear()
            self.noise_view.set_level(None)
        if not show:
            self._levels = []
            return
        if cond == "sigma":
            sigmas = ncsn_sigmas(o["sigma_max"], o["sigma_min"], o["levels"]).tolist()
            self._levels = [("sigma", s) for s in sigmas]
        elif level_kind(preset) == "t":     # a continuous path: t from its noisy end to the data
            self._levels = time_levels(preset)
        else:
            self._levels = [("step", t) for t in range(int(o["timesteps"]) - 1, -1, -1)]
        level = self.session.view_level
        i = self._levels.index(level) if level in self._levels else len(self._levels) - 1
        self.sigma_slider.blockSignals(True)
        self.sigma_slider.setRange(0, len(self._levels) - 1)
        self.sigma_slider.setValue(i)
        self.sigma_slider.blockSignals(False)
        self.sigma_label.setText(T.level_text(preset, self._levels[i]))

    def set_view_level(self, level) -> None:
        """Draw the fields and the density at `level` (None: the finest); moves the slider."""
        i = len(self._levels) - 1 if level is None else self._levels.index(level)
        self.sigma_slider.setValue(i)

    def _sigma_changed(self, i: int) -> None:
        level = self._levels[i]
        self.sigma_label.setText(T.level_text(self.session.preset, level))
        self.session.set_view_level(None if i == len(self._levels) - 1 else level)
        if self.noise_view is not None:
            self.noise_view.set_level(level_noise(self.session.preset, level)[0]
                                      if i < len(self._levels) - 1 else None)
        self.draw_true_field()

    # ================================================================ the views
    def build(self, dim: int) -> None:
        """One arrangement of views per dimension; rebuilt only when the dimension changes."""
        if self.views_widget is not None and self._views_dim == dim:
            return
        if self.views_widget is not None:
            if self.card is not None and self.card.parentWidget() is not self:
                shown = self.card.isVisibleTo(self.card.parentWidget())
                self.card.setParent(self)   # out of the old column before it is deleted
                self.card.setVisible(shown)
            self.views_widget.setParent(None)
            self.views_widget.deleteLater()
        from ..views.loss_view import LossView
        from ..views.noise_error_view import NoiseErrorView
        self.loss_view = LossView()
        self.noise_view = NoiseErrorView()
        # the loss, and for NCSN and DDPM the error at each noise level, in one place
        self.loss_area = QTabWidget()
        self.loss_area.setDocumentMode(True)
        self.loss_view.set_compact(True)
        self.loss_area.addTab(self.loss_view, "Loss")
        self.loss_area.addTab(self.noise_view, "Error per noise level")
        self.field_view = self.particles_view = self.curve_view = None
        self.view3d = None
        self.card_column = None
        w = QSplitter(Qt.Vertical)
        if dim == 3:
            from ..views.view3d import make_view3d
            self.view3d = make_view3d()
            self.field_view = self.view3d.field_view   # the slice's learned-vs-true view
            self.particles_view = self.view3d
            self.view3d.slice_changed.connect(lambda *_: self.redraw_fields())
            # the slice panel is narrow: one overlaid plot reads better than two side by side
            # (its density page widens the panel to half the view for its two maps)
            if self.mode_combo.currentData() in ("side", "likelihood"):
                self.mode_combo.setCurrentIndex(self.mode_combo.findData("overlay"))
            w.addWidget(self.view3d)
            w.addWidget(self.loss_area)
            w.setSizes([640, 300])
        elif dim == 1:
            from ..views.curve1d_view import Curve1DView
            self.curve_view = Curve1DView()
            w.addWidget(self.curve_view)
            w.addWidget(self.loss_area)
            w.setSizes([600, 300])
        else:
            from ..views.field_view import FieldView
            from ..views.particles_view import ParticlesView
            self.field_view = FieldView()
            self.field_view.set_compact(True)
            self.particles_view = ParticlesView()
            self.particles_view.set_compact(True)
            w, self.card_column = two_d_arrangement(self.field_view, self.loss_area,
                                                    self.particles_view)
        self.views_widget = w
        self._views_dim = dim
        if self.card is not None:
            self.place_card(self.card)
        self._truth.clear()
        self.learned_density = None
        self._volume = None
        self.holder.addWidget(w)
        self._show_mode_controls()
        density_item = self.mode_combo.model().item(self.mode_combo.findData("density"))
        density_item.setEnabled(dim in (2, 3))
        density_item.setToolTip("3-D: the learned and the true density on the slice plane, from "
                                f"a {VOLUME_GRID}³ grid updated every few seconds" if dim == 3 else "")
        if self.view3d is not None:
            self.view3d.set_slice_wide(self.mode_combo.currentData() == "density")
        if self.field_view is not None:
            self.field_view.set_mode(self.field_mode())
            self.field_view.set_error_weighted(self.weighted.isChecked())
            self.field_view.set_arrow_mode(self.arrow_combo.currentData())
        if self._style is not None:
            self.apply_style(self._style)
        self.rebuilt.emit()

    def place_card(self, card: QWidget) -> None:
        """The preset's lesson card: in 2-D at the head of the particles' column (a row of
        its own above the views took the height the field panels need at 720p), else above
        the views."""
        self.card = card
        if self._views_dim == 2 and self.card_column is not None:
            self.card_column.insertWidget(0, card, 0)
        else:
            self.top.insertWidget(0, card)

    def focusable_views(self) -> dict:
        """The views Ctrl+1..3 show alone (1-D and 3-D have one main view)."""
        one = self.view3d or self.curve_view
        return {"field": one or self.field_view, "particles": one or self.particles_view,
                "loss": self.loss_area}

    def hover_plots(self) -> list:
        """The plots whose points the status bar reads out under the mouse."""
        plots = []
        fv = self.field_view
        if fv is not None and hasattr(fv, "learned_plot"):
            plots += [fv.learned_plot, fv.true_plot, fv.overlay_plot, fv.error_plot]
        pv = self.particles_view
        if pv is not None and hasattr(pv, "plot"):
            plots.append(pv.plot)
        return plots

    def particle_view(self):
        """Where particles are drawn: the particle plot, the 3-D view, or the 1-D curves."""
        return self.curve_view if self.curve_view is not None else self.particles_view

    def apply_style(self, style: ViewStyle) -> None:
        self._style = style
        for v in (self.field_view, self.particles_view, self.curve_view, self.loss_view,
                  self.noise_view):
            if v is not None:
                v.apply_style(style)

    # ================================================================ drawing
    def draw_density(self) -> None:
        s = self.session
        b = np.asarray(s.preset.density["bounds"])
        if s.preset.dim == 1:
            xs, p = pictures.density_curve(s.density, b)
            self.curve_view.set_bounds(b)
            self.curve_view.set_density(xs, p)
        elif s.preset.dim == 2:
            img = pictures.density_image(s.density, b)
            self._backdrop_level = None
            for v in (self.field_view, self.particles_view):
                v.set_bounds(b)
                v.set_density(img)
                v.set_density_name(T.backdrop_name(None))
        else:
            # a cloud of samples of p and translucent level sets of p on a 40^3 grid
            x = s.density.sample(DENSITY_SAMPLES_3D, torch.Generator().manual_seed(0)).numpy()
            self.view3d.set_bounds(b)
            self.view3d.set_density_points(x)
            n = DENSITY_GRID_3D
            p = pictures.density_at(s.density, grid_points(b, n))
            self.view3d.set_density_grid(p.reshape(n, n, n))

    def draw_true_field(self) -> None:
        self.draw_fields(None, self.session.view_level)

    def redraw_fields(self) -> None:
        self.draw_fields(self._last_learned, self.session.view_level)

    @property
    def has_learned(self) -> bool:
        """A learned field is drawn: the model has trained (the workers copy it only then)."""
        return self._last_learned is not None

    def draw_fields(self, learned: np.ndarray | None, level) -> None:
        s = self.session
        true = s.true_on_grid(level)
        self._last_learned = learned
        self.request_learned_density()
        if s.preset.dim == 1:
            xs = s.grid[:, 0]
            self.curve_view.set_scores(xs, None if learned is None else learned[:, 0], true[:, 0])
            return
        if s.preset.dim == 3:
            return self._draw_fields_3d(learned, true, s.p_on_grid(None), level)
        if self._backdrop_level != level:  # the density drawn is p at the slider's noise level
            self._backdrop_level = level
            img = pictures.density_image(s.density, s.preset.density["bounds"],
                                         noise=level_noise(s.preset, level))
            name = T.backdrop_name(level)
            for v in (self.field_view, self.particles_view):
                v.set_density(img)
                v.set_density_name(name)
        self.field_view.set_fields(s.grid, learned, true, s.p_on_grid(level))
        self.field_view.set_caption(self._field_caption(level))

    def _draw_fields_3d(self, learned, true, p, level) -> None:
        """Arrows on a coarse subset of the grid, and learned vs true on the slice plane."""
        from ..views.view3d import grid_slice, grid_subset
        s = self.session
        n, g = s.grid_n(), s.grid
        sub = grid_subset(n, 9)
        self.view3d.set_fields(g[sub], None if learned is None else learned[sub], true[sub])
        axis, value = self.view3d.slice()
        idx, snapped = grid_slice(s.preset.density["bounds"], n, axis, value)
        self.view3d.set_slice(axis, snapped)
        self.view3d.set_slice_fields(g[idx], None if learned is None else learned[idx], true[idx], p[idx])
        if self.learned_density_shown():   # the density page: the last volume on the new plane
            self._show_density_slice()
        else:
            self.field_view.set_caption(f"{self.view3d.slice_caption()} · {self._field_caption(level)}")

    # ================================================================ the learned density
    def learned_density_shown(self) -> bool:
        if self.curve_view is not None:
            return True   # 1-D: the learned density is a curve beside p, always drawn
        return self.field_view is not None and self.mode_combo.currentData() == "density"

    def request_learned_density(self, now: bool = False) -> None:
        """Update the learned density if it is shown: at once if the last update is
        1/DENSITY_HZ old (or `now`), else once when it is."""
        if not self.learned_density_shown():
            return
        if self.view3d is not None:
            self.density_volume.request(now=now)
            return
        wait = 1.0 / DENSITY_HZ - (time.perf_counter() - self._density_last)
        if now or wait <= 0:
            self._density_timer.stop()
            self.update_learned_density()
        elif not self._density_timer.isActive():
            self._density_timer.start(int(1000 * wait) + 1)

    def update_learned_density(self) -> None:
        """The learned density of the model as it is now, beside the true one (see the
        module docstring for the cost); before training only the true density is drawn."""
        if not self.learned_density_shown():
            return
        t0 = time.perf_counter()
        s = self.session
        dim, level = s.preset.dim, s.view_level
        n = DENSITY_GRID[dim]
        bounds = s.preset.density["bounds"]
        pts, true_logp, floor = self._truth.get(s.density, s.preset, level, n)
        model = s.model_copy() if self.has_learned else None
        res = None if model is None else LD.model_density(model, s.preset, pts, n, true_logp, level)
        self.learned_density = res
        self._density_last = time.perf_counter()
        true_p = np.exp(LD.normalise_log(true_logp, float(np.prod(LD.grid_spacing(bounds, n)))))
        learned_p = None if res is None else np.exp(res.learned_logp)
        readout = "" if res is None else T.density_readout(res, n, dim, floor)
        energy_model = model is not None and LD.has_energy_density(model)
        learned_title, true_title = T.density_titles(level, energy_model)
        if dim == 1:
            self.curve_view.set_learned_density(pts[:, 0], learned_p,
                                                None if res is None else res.kl_grid, n)
        else:
            shape = (n, n)
            self.field_view.set_densities(None if learned_p is None else learned_p.reshape(shape),
                                          true_p.reshape(shape), readout, learned_title, true_title)
        self.density_ms = 1000 * (time.perf_counter() - t0)

    def show_volume(self, result) -> None:
        """A 3-D learned density from the worker: keep it, draw the current plane of it."""
        if self.view3d is not None:
            self._volume = result
            self.learned_density = result[0]
            if self.learned_density_shown():
                self._show_density_slice()

    def _show_density_slice(self) -> None:
        """The learned and true density on the slice plane, from the last 3-D volume."""
        from ..core.measures.grid import volume_slice
        if self._volume is None:
            self.view3d.set_slice_densities(None, None, "computing the 3-D densities…")
            return
        res, true_logp, floor, n, level, error = self._volume
        bounds = self.session.preset.density["bounds"]
        axis, value = self.view3d.slice()
        true = None if true_logp is None else volume_slice(np.exp(true_logp), bounds, n, axis, value)
        learned = None
        if res is not None and np.isfinite(res.learned_logp).all():
            learned = volume_slice(np.exp(res.learned_logp), bounds, n, axis, value)
        readout = error or ("" if res is None else T.density_readout(res, n, 3, floor))
        source, true_title = T.density_titles(level, res is not None and res.source == "energy",
                                              short=True)
        self.view3d.set_slice_densities(learned, true, readout, source, true_title)

    def _field_caption(self, level) -> str:
        return T.field_caption(self.session.preset, self.session.density, level)

    def show_training(self, snap: dict) -> None:
        """A training snapshot: the learned field at its level, the loss and Fisher curves."""
        self.draw_fields(snap["learned"], snap["view_level"])
        self.draw_loss(snap["loss_steps"], snap["loss_values"])
        self.likelihood_map.request()
        rows = snap.get("fisher_by_noise")
        if rows and self.noise_view is not None:
            preset = self.session.preset
            kind = level_kind(preset)
            noise = [level_noise(preset, (kind, r[0]))[0] for r in rows]
            self.noise_view.set_errors(noise, [r[2] for r in rows], T.noise_errors_what(preset))

    def show_loss_hint(self, preset) -> None:
        """A preset that trains 0 steps (the exact score) has no loss to show: its empty loss
        plot says why instead of "no training yet" (plain_langevin_weights at 1280x720)."""
        if self.loss_view is not None:
            exact = int(preset.training.get("steps", 0) or 0) == 0
            self.loss_view.set_hint("exact score: nothing to train" if exact else "no training yet")

    def draw_loss(self, steps: np.ndarray, losses: np.ndarray) -> None:
        s = self.session
        obj = s.preset.objective["kind"]
        tab = T.loss_title(obj)   # the plot's title, which the window leaves out
        if self.loss_area.tabText(0) != tab:
            self.loss_area.setTabText(0, tab)
        ism_c = s.trainer.ism_constant()
        f_steps, f, _rel = s.fisher_arrays()   # F itself, not the relative F: it shares the loss axis
        self.loss_view.set_curves(steps, losses, f_steps, f, ism_c, obj,
                                  level_label(s.trainer.fisher_level))

    def show_particles(self, snap: dict) -> None:
        s = self.session
        x = snap["x"]
        view = self.particle_view()
        view.set_particles(x)
        if hasattr(view, "set_paths"):     # ODE samplers with sampler.paths
            view.set_paths(snap.get("paths"))
        status = T.sampler_status(snap["kind"], snap["step"], snap["total"], sigma=snap["sigma"],
                                  t=snap.get("t"), nfe=snap.get("nfe", 0))
        outside = T.outside_count(x, s.preset.density["bounds"])
        if outside:
            status += f"\n{outside:,} of {len(x):,} particles outside the box"
        if snap.get("quality") is not None:
            self._quality = snap["quality"]
        if self._quality is not None:
            if self.curve_view is None:
                status += "\n" + T.quality_lines(self._quality)
            else:   # 1-D: in the top plot's title (its readout column has no room left)
                self.curve_view.set_quality(T.quality_lines(self._quality))
        view.set_status(status)
        if snap["mode_weights"] is not None:
            modes = T.mode_readout(x, s.density, snap["mode_weights"])
            if modes is not None:
                view.set_mode_weights(*modes)

    def clear_particles(self) -> None:
        """A new cloud (reset, a new preset or density): its readouts and a traced path go."""
        self._quality = None
        if self.particles_view is not None and hasattr(self.particles_view, "set_trace"):
            self.particles_view.set_trace(None)
        if self.curve_view is not None:
            self.curve_view.set_quality("")
        view = self.particle_view()
        if view is None:
            return
        view.set_particles(np.zeros((0, self.session.preset.dim), np.float32))
        view.set_status(T.sampler_idle_status(self.session.preset.sampler))
        view.set_mode_weights(None, None, None)
