"""The words of the pictures (core/session/captions.py): one copy for the window, the
exported frames and the notebook figures, so a slide says what the class saw."""

import numpy as np
import pytest
import torch

from explorer.core.presets import preset as P
from explorer.core.samplers import build_sampler
from explorer.core.session.captions import (backdrop_name, field_caption, mode_readout,
                                            mode_weights_line, quality_lines, sampler_status)
from small_preset import shipped


def test_quality_readout_says_what_exact_is_and_when_the_cloud_blew_up():
    floor = {"sliced_wasserstein": 0.85, "tv_grid": 0.04}
    under = quality_lines({"sliced_wasserstein": 0.61, "tv_grid": 0.03, "floor": floor})
    assert under == "SW₂ 0.61 · TV 0.03 (at the floor of exact samples: 0.85 · 0.04)"
    above = quality_lines({"sliced_wasserstein": 2.0, "tv_grid": 0.25, "floor": floor})
    assert above == "SW₂ 2 · TV 0.25 (floor of exact samples: 0.85 · 0.04)"
    for bad in (3.9e37, float("nan"), float("inf")):
        text = quality_lines({"sliced_wasserstein": bad, "tv_grid": 1.0, "floor": floor})
        assert "blew up" in text and "e+" not in text


def test_backdrop_is_named_for_the_sliders_noise_level():
    assert backdrop_name(None) == "density p(x)"
    assert backdrop_name(("sigma", 2.5)).startswith("noised density p_σ at σ")
    assert "2.5" in backdrop_name(("sigma", 2.5))
    assert backdrop_name(("step", 10)).startswith("noised density p_t")


def test_an_exported_particle_frame_reads_as_the_windows_status_line():
    """The slide's status names the sampler, its score, the step, the cost in score evaluations
    and t, σ_t on a continuous path, as the window's readout does."""
    from explorer.core.training.trainer import Trainer
    from explorer.export.frames import particle_snapshots
    preset = shipped("vp_sde_pc")
    preset.sampler["particles"] = 64
    preset.sampler["score"] = "true"
    preset.sampler["steps"] = 50
    trainer = Trainer(preset)
    snaps = list(particle_snapshots(preset, trainer.true_score(), "cpu", trainer.density, frames=3))
    last = snaps[-1]
    sampler = build_sampler(preset, trainer.true_score(), "cpu", particles=64)
    while not sampler.done:
        sampler.advance(1)
    assert sampler.nfe > 0
    first_line, second_line = last["status"].split("\n")
    assert first_line.endswith(f"step {sampler.total}/{sampler.total}, {sampler.nfe:,} NFE")
    assert "(true score)" in first_line
    assert second_line == f"t = {sampler.t:.3g}, σ_t = {sampler.sigma:.2g}"
    assert last["status"] == sampler_status(preset.sampler["kind"], sampler.done_steps, sampler.total,
                                            sigma=sampler.sigma, t=sampler.t, nfe=sampler.nfe,
                                            score="true")


def test_field_caption_names_the_level_and_on_a_frame_the_step_and_objective():
    preset = shipped("ncsn_noise_levels")
    density = preset.build_density()
    s_min = preset.objective["sigma_min"]
    assert field_caption(preset, density) == (f"learned at σ_min = {s_min:.3g}; "
                                              f"true score: {density.score_source}")
    assert field_caption(preset, density, ("sigma", 2.5)).startswith("at noise level σ = 2.5 ")
    framed = field_caption(preset, density, step=40, budget=4000)
    assert framed == f"step 40/4000 · NCSN, learned at σ_min = {s_min:.3g}; true score: {density.score_source}"


def test_mode_readout_measures_the_cloud_against_the_mixtures_weights():
    preset = P.default()
    density = preset.build_density()
    x = density.sample(20_000, generator=torch.Generator().manual_seed(0)).float().numpy()
    fractions, weights, labels = mode_readout(x, density)
    comps = density.components()
    assert weights == pytest.approx([float(w) for w in comps[0]])
    assert np.asarray(fractions) == pytest.approx(weights, abs=0.02)
    assert labels == ["(" + ", ".join(f"{v:g}" for v in np.atleast_1d(m)) + ")" for m in comps[1]]
    line = mode_weights_line((fractions, weights, labels))
    assert line.startswith("mode weights ") and f"(true {weights[0]:.2f} / {weights[1]:.2f})" in line
    assert mode_readout(x, shipped("ddpm_moons").build_density()) is None   # not a mixture
