"""Error per noise level (issue 12): the relative Fisher divergence at each NCSN sigma or DDPM
step, against closed forms, in metrics.json and in the window."""

from __future__ import annotations

import json

import pytest
import torch

from explorer.core.presets import preset as P
from explorer.core.measures.noise_error import DDPM_STEPS_SHOWN, NoiseError, noise_levels
from explorer.core.training.trainer import Trainer
from small_preset import small_preset


def _preset(kind: str, **objective) -> P.Preset:
    p = P.loads(small_preset(steps=40, particles=200, sampler_steps=20))
    d = p.to_dict()
    d["objective"] = {"kind": kind, **objective}
    for k in ("kind", "steps", "step_size"):
        d["sampler"].pop(k, None)
    return P.parse(d)


@pytest.mark.parametrize("kind", ["ncsn", "ddpm"])
def test_a_zero_score_is_wrong_by_exactly_one_at_every_level(kind):
    """relative F = F / (1/2 E|grad log p_level|^2) is 1 for s = 0, whatever the level."""
    preset = _preset(kind)
    t = Trainer(preset)
    with torch.no_grad():
        for q in t.model.parameters():
            q.zero_()
    rows = NoiseError(preset, t.density, samples=300).measure(t.model)
    assert len(rows) == len(noise_levels(preset)) > 1
    for level, f, rel in rows:
        assert rel == pytest.approx(1.0, rel=1e-9) and f > 0


def test_the_ladders_run_from_most_noise_to_least():
    ncsn = noise_levels(_preset("ncsn", sigma_max=5.0, sigma_min=0.1, levels=6))
    geometric = [5.0 * (0.1 / 5.0) ** (i / 5) for i in range(6)]   # sigma_max (min/max)^(i/(L-1))
    assert [s for _, s in ncsn] == pytest.approx(geometric, rel=1e-6)
    ddpm = noise_levels(_preset("ddpm"))
    steps = [t for _, t in ddpm]
    assert steps[0] == 999 and steps[-1] == 0 and steps == sorted(steps, reverse=True)
    assert len(steps) <= DDPM_STEPS_SHOWN


def test_a_noise_conditional_run_writes_fisher_by_noise(tmp_path):
    from explorer.core.run.headless import train_and_sample, write_outputs
    preset = _preset("ncsn")
    result = train_and_sample(preset)
    write_outputs(result, preset, tmp_path)
    rows = json.loads((tmp_path / "metrics.json").read_text())["fisher_by_noise"]
    assert [r[0] for r in rows] == pytest.approx([s for _, s in noise_levels(preset)])
    assert all(r[1] >= 0 and r[2] >= 0 for r in rows)
    plain = train_and_sample(_preset("ssm_vr"))
    assert "fisher_by_noise" not in plain.metrics
