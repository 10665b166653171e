"""The score-SDE and flow-matching presets in the window, offscreen (issue 13): each loads, its
continuous-t slider draws the fields at t, its sampler animates on the exact score, ODE paths
are drawn, and the likelihood comparison mode fills the density page from its worker."""

import numpy as np
import pytest

pytest.importorskip("pytestqt")

PRESETS = ["ve_sde", "vp_sde_pc", "probability_flow_ode", "flow_matching"]


def _open(open_main_window, name, edits=()):
    from explorer.core.presets.shipped import resolve
    w = open_main_window(resolve(name))
    for section, key, value in edits:
        w.on_edit(section, key, value)
    return w


@pytest.mark.parametrize("name", PRESETS)
def test_sde_presets_load_slide_in_t_and_sample(qtbot, open_main_window, name):
    # corrector-only (ve_sde) is annealed Langevin: it needs its 1,000 steps
    steps = [] if name == "ve_sde" else [("sampler", "steps", 40)]
    w = _open(open_main_window, name, [("sampler", "score", "true"), ("sampler", "particles", 300), *steps])
    try:
        assert w.views.sigma_row.isVisible()
        levels = w.views._levels
        assert levels[0][0] == "t" and len(levels) > 50
        mid = levels[len(levels) // 2]
        w.set_view_level(mid)
        assert f"t = {mid[1]:.3g}" in w.views.sigma_label.text()
        assert f"t = {mid[1]:.3g}" in w.field_view.caption
        # the true field at t is the score of p_t = law of a(t) y + s(t) z
        from explorer.core.scores import TrueScore, level_noise
        import torch
        want = TrueScore(w.session.density, w.preset).at_level(
            torch.from_numpy(w.session.grid), mid).numpy()
        np.testing.assert_allclose(w.field_view.true, want, rtol=1e-4, atol=1e-4)
        assert level_noise(w.preset, mid)[0] > 0
        w.toggle_sampling()
        qtbot.waitUntil(lambda: w.session.sampling.sampler.done, timeout=60000)
        qtbot.wait(300)
        x = w.session.sampling.sampler.numpy()
        assert x.shape == (300, 2) and np.isfinite(x).all()
        comps = w.session.density.components()
        from explorer.core.measures import metrics as M
        big = M.mode_weights(x, comps)[1]
        assert abs(big - 0.8) < 0.12          # 300 particles, 40 steps: a coarse check
        if w.preset.sampler.get("paths"):
            qtbot.waitUntil(lambda: w.particles_view.paths_shown == 200, timeout=10000)
    finally:
        w.close()


def test_likelihood_mode_draws_the_ode_density_beside_the_true_one(qtbot, open_main_window):
    w = _open(open_main_window, "flow_matching", [("training", "steps", 30)])
    try:
        combo = w.views.mode_combo
        item = combo.model().item(combo.findData("likelihood"))
        assert item.isEnabled()
        w.run_bar.step_count.setValue(30)
        w.step_training()
        qtbot.waitUntil(lambda: w.trainer.step_count >= 30 and w.views._last_learned is not None,
                        timeout=60000)
        combo.setCurrentIndex(combo.findData("likelihood"))
        assert w.field_view.mode == "density"
        qtbot.waitUntil(lambda: w.field_view.learned_density_image is not None
                        and "ODE" in w.field_view.density_readout, timeout=60000)
        learned, true = w.field_view.learned_density_image, w.field_view.true_density_image
        assert learned.shape == true.shape == (24, 24)
        assert np.isfinite(learned).all() and learned.max() > 0
        # beside the map: the estimators dialog, Hutchinson against the exact trace
        assert w.views.probes_button.isVisible()
        w.views.probes_button.click()
        dialog = w.probes_dialog
        dialog.probes.setValue(8)
        dialog.points.setValue(64)
        dialog.compute()
        qtbot.waitUntil(lambda: (dialog.metrics is not None and dialog.metrics["nll_samples"] == 64)
                        or "failed" in dialog.status.text(), timeout=60000)
        assert dialog.metrics is not None, dialog.status.text()
        m = dialog.metrics
        vk = m["nll_hutchinson_variance_by_k"]
        assert vk["k"] == [1, 2, 4, 8] and m["nll_hutchinson_probes"] == 8
        predicted_k, observed_k = dialog.view.predicted.xData, dialog.view.observed.xData
        assert list(predicted_k) == [1, 2, 4, 8] and list(observed_k) == [1, 2, 4]   # >= 2 groups
        # each drawn k: the predicted variance halves as k doubles (v / (k n^2 d^2))
        p = np.asarray(vk["predicted"])
        np.testing.assert_allclose(p[1:] / p[:-1], 0.5, rtol=1e-9)
        assert f"{m['nll']:.4f}" in dialog.status.text() and f"± {m['nll_hutchinson_se']:.4f}" in dialog.status.text()
        assert abs(m["nll_hutchinson"] - m["nll"]) <= 3 * m["nll_hutchinson_se"] + 0.01
        # not offered for objectives without an ODE likelihood
        w.on_edit("objective", "kind", "ssm_vr")
        assert not item.isEnabled() and combo.currentData() != "likelihood"
        assert not w.views.probes_button.isVisible()
        dialog.compute()
        assert "needs a score SDE or flow-matching objective" in dialog.status.text()
    finally:
        w.close()
    assert not dialog.busy()


def _fresh(w, objective):
    """The [objective] a file with this density and only `objective` would resolve to."""
    from explorer.core.presets import preset as P
    d = w.preset.to_dict()
    d["objective"] = dict(objective)
    for k in ("kind", "steps", "step_size"):
        d["sampler"].pop(k, None)
    return P.parse(d).objective


def test_switching_objective_gives_the_new_ones_defaults_for_this_density(qtbot, open_main_window):
    # DDPM's beta_max (a discrete beta, 0.02) is not the VP SDE's beta(1) = 20
    w = _open(open_main_window, "ddpm_moons")
    try:
        w.on_edit("objective", "kind", "sde")
        o = w.preset.objective
        assert w.last_error is None and o["kind"] == "sde"
        assert (o["beta_min"], o["beta_max"]) == (0.1, 20.0)
        assert o["sigma_max"] == _fresh(w, {"kind": "sde"})["sigma_max"]    # five box diagonals
        w.on_edit("objective", "kind", "ddpm")                              # and back: no error
        assert w.last_error is None and w.preset.objective["beta_max"] == 0.02
    finally:
        w.close()


def test_ve_sde_to_ncsn_and_back_keeps_what_the_file_set_for_each(qtbot, open_main_window):
    w = _open(open_main_window, "ve_sde")
    try:
        w.on_edit("objective", "kind", "ncsn")
        o = w.preset.objective
        # was an error (beta_max 20 > 0.999: "Nothing was changed"); NCSN's own noise range
        assert w.last_error is None and o["kind"] == "ncsn"
        want = _fresh(w, {"kind": "ncsn"})
        assert (o["sigma_max"], o["sigma_min"]) == (want["sigma_max"], want["sigma_min"])
        assert w.preset.sampler["kind"] == "annealed_langevin"
        w.on_edit("objective", "kind", "sde")      # the file's VE SDE again, sigma 20 -> 0.05
        o = w.preset.objective
        assert (o["sde"], o["sigma_max"], o["sigma_min"]) == ("ve", 20.0, 0.05)
    finally:
        w.close()


def test_values_the_user_set_survive_where_they_mean_the_same(qtbot, open_main_window):
    w = _open(open_main_window, "vp_sde_pc", [("objective", "eps_t", 1e-3), ("objective", "likelihood_samples", 100)])
    try:
        w.on_edit("objective", "kind", "flow_matching")
        o = w.preset.objective
        assert o["likelihood_samples"] == 100       # the same key of both: kept
        w.on_edit("objective", "kind", "ncsn")
        w.on_edit("objective", "levels", 5)
        w.on_edit("objective", "kind", "ncsn_ssm")
        assert w.preset.objective["levels"] == 5    # NCSN-SSM's levels are NCSN's
        w.on_edit("objective", "kind", "sde")
        o = w.preset.objective
        assert w.last_error is None and o["eps_t"] == 1e-3 and o["sde"] == "vp"
        assert o["sigma_max"] == _fresh(w, {"kind": "sde"})["sigma_max"]
    finally:
        w.close()


def _ode_paths_preset(dim):
    from explorer.core.presets import preset as P
    means = {1: [[-2.0], [2.0]], 3: [[-2.0, 0.0, 0.0], [2.0, 1.0, 0.0]]}[dim]
    return P.parse({"density": {"kind": "mixture", "weights": [0.3, 0.7], "means": means,
                                "stds": [0.5, 0.6]},
                    "objective": {"kind": "sde", "sde": "vp"},
                    "sampler": {"kind": "ode", "score": "true", "particles": 300, "steps": 12,
                                "paths": True},
                    "model": {"hidden": [16, 16]}, "training": {"steps": 40, "batch_size": 64},
                    "view": {"grid": 8}})


def test_ode_paths_are_drawn_in_the_3d_view(qtbot):
    from explorer.gui.app import make_app
    from explorer.gui.main_window import MainWindow
    make_app()
    w = MainWindow(_ode_paths_preset(3))
    qtbot.addWidget(w)
    w.show()
    try:
        w.toggle_sampling()
        qtbot.waitUntil(lambda: w.session.sampling.sampler.done, timeout=60000)
        qtbot.waitUntil(lambda: w.views.view3d.paths_shown == 200, timeout=10000)
        # the path ends where the particle is
        paths = w.session.sampling.sampler.paths_so_far()
        x = w.session.sampling.sampler.numpy()
        np.testing.assert_allclose(paths[-1], x[:200], atol=1e-5)
    finally:
        w.close()


def test_exported_particle_frames_carry_and_draw_the_ode_paths(qtbot):
    from explorer.core.scores import TrueScore
    from explorer.export.frames import ParticleScene, particle_snapshots
    from explorer.views.style import SCREEN
    for dim in (2, 3):
        if dim == 2:
            from explorer.core.presets import preset as P
            p = _ode_paths_preset(3).to_dict()
            p["density"] = {"kind": "mixture", "weights": [0.3, 0.7], "means": [[-2.0, 0.0], [2.0, 1.0]],
                            "stds": [0.5, 0.6]}
            preset = P.parse(p)
        else:
            preset = _ode_paths_preset(3)
        density = preset.build_density()
        snaps = list(particle_snapshots(preset, TrueScore(density, preset), "cpu", density, frames=5))
        last = snaps[-1]
        assert last["paths"].shape == (13, 200, dim)          # the start and each of 12 steps
        np.testing.assert_allclose(last["paths"][-1], last["x"][:200], atol=1e-5)
        scene = ParticleScene(preset, density, (640, 360), SCREEN)
        try:
            scene.update(last, 0, 1)
            assert scene.view.paths_shown == 200
        finally:
            scene.close()


def test_1d_shows_the_ode_likelihood_curve_beside_p(qtbot):
    from explorer.core.measures import model_likelihood as ML
    from explorer.gui.app import make_app
    from explorer.gui.main_window import MainWindow
    make_app()
    preset = _ode_paths_preset(1)
    w = MainWindow(preset)
    qtbot.addWidget(w)
    w.show()
    try:
        cv = w.views.curve_view
        assert len(cv.ode_p) == 0                      # nothing learned yet
        w.run_bar.step_count.setValue(40)
        w.step_training()
        qtbot.waitUntil(lambda: w.trainer.step_count >= 40 and len(cv.ode_p) == ML.GRID[1],
                        timeout=60000)
        assert np.isfinite(cv.ode_p).all() and "ODE" in cv.ode_readout
        assert any(s.item is cv.ode_density_item for s, _ in cv.top_legend.items)
        # not an sde objective: the curve and its legend entry go
        w.on_edit("objective", "kind", "ism")
        assert len(cv.ode_p) == 0
        assert not any(s.item is cv.ode_density_item for s, _ in cv.top_legend.items)
    finally:
        w.close()
