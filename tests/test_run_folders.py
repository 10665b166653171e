"""Run folders read back (se.open_run, core/run/folder.py) and written from a model trained
elsewhere (se.save_run, the window's Save session as): the same files as `score-explorer run`."""

from __future__ import annotations

import csv
import json
import shutil

import numpy as np
import pytest
import tomli_w
import torch
from safetensors.torch import load_file, save_file

import explorer.api as se
from explorer.cli import main
from explorer.core.run.folder import open_folder, read_loss_csv, save_folder


def _preset(objective: dict, steps: int = 60) -> str:
    return tomli_w.dumps({
        "name": "folder test",
        "density": {"kind": "mixture", "weights": [0.3, 0.7], "means": [[-2.0, 0.0], [2.0, 1.0]],
                    "stds": [0.5, 0.7]},
        "model": {"hidden": [24, 24]},
        "objective": objective,
        "training": {"steps": steps, "batch_size": 64},
        "sampler": {"particles": 200, "steps": 30},
        "view": {"grid": 10},
    })


@pytest.fixture(scope="module")
def run_folder(tmp_path_factory):
    root = tmp_path_factory.mktemp("runs")
    f = root / "p.toml"
    f.write_text(_preset({"kind": "ssm_vr"}, steps=130))
    assert main(["run", str(f), "--out", str(root / "out")]) == 0
    return root / "out"


def test_open_run_evaluates_to_the_metrics_json_of_run(run_folder):
    written = json.loads((run_folder / "metrics.json").read_text())
    run = se.open_run(run_folder)
    m = se.evaluate(run, run.particles)
    assert m["relative_fisher_divergence"] == pytest.approx(written["relative_fisher_divergence"], abs=1e-6)
    assert m["fisher_divergence"] == pytest.approx(written["fisher_divergence"], abs=1e-6)
    assert m["mode_weights"] == pytest.approx(written["mode_weights"], abs=1e-6)
    assert m["curl_fraction"] == pytest.approx(written["curl_fraction"], abs=1e-6)
    # the history is loss.csv's, read independently here
    rows = list(csv.DictReader(open(run_folder / "loss.csv")))
    steps, losses = run.loss_curve()
    assert steps.tolist() == [int(r["step"]) for r in rows]
    assert np.array_equal(losses, [float(r["loss"]) for r in rows])
    fisher = [(int(r["step"]), float(r["fisher"])) for r in rows if r["fisher"]]
    assert [(int(s), f) for s, f, _ in run.fisher] == fisher
    # relative F of the last row: the figure metrics.json holds for that step
    assert run.fisher[-1, 2] == pytest.approx(written["relative_fisher_divergence"], abs=1e-6)
    assert np.array_equal(run.particles, np.load(run_folder / "samples.npy"))
    assert run.trainer.step_count == written["steps"] == 130
    # training goes on from the saved weights: the history continues at step 131
    se.train(run, steps=20, every=10)
    steps, losses = run.loss_curve()
    assert steps[-21:].tolist() == list(range(130, 151)) and len(losses) == 150
    assert run.fisher[-1, 0] == 150


def test_open_run_of_a_noise_conditional_model_gives_its_fisher_at_its_level(tmp_path):
    f = tmp_path / "ncsn.toml"
    f.write_text(_preset({"kind": "ncsn", "sigma_max": 3.0, "sigma_min": 0.3, "levels": 4}, steps=40))
    assert main(["run", str(f), "--out", str(tmp_path / "out")]) == 0
    written = json.loads((tmp_path / "out" / "metrics.json").read_text())
    m = se.evaluate(se.open_run(tmp_path / "out"))
    assert m["relative_fisher_divergence"] == pytest.approx(written["relative_fisher_divergence"], abs=1e-6)
    assert np.allclose(m["fisher_by_noise"], written["fisher_by_noise"], rtol=0, atol=1e-6)


def test_save_run_writes_what_run_writes_and_reads_back(run_folder, tmp_path):
    run = se.open_run(run_folder)
    out = tmp_path / "again"
    metrics = se.save_run(run, out)
    names = {p.name for p in run_folder.iterdir()}
    assert names <= {p.name for p in out.iterdir()}
    assert metrics["relative_fisher_divergence"] == pytest.approx(
        json.loads((run_folder / "metrics.json").read_text())["relative_fisher_divergence"], abs=1e-6)
    assert (out / "loss.csv").read_text() == (run_folder / "loss.csv").read_text()
    a, b = load_file(str(run_folder / "model.safetensors")), load_file(str(out / "model.safetensors"))
    assert all(torch.equal(a[k], b[k]) for k in a)
    back = se.open_run(out)
    assert se.evaluate(back)["relative_fisher_divergence"] == pytest.approx(metrics["relative_fisher_divergence"], abs=1e-6)


def test_a_binned_history_and_its_fisher_rows_survive_the_round_trip(run_folder, tmp_path):
    opened = open_folder(run_folder)
    steps = np.array([2, 4, 6, 130])           # a window's bins: the last step of each
    values = np.array([0.5, 0.25, 0.125, -1.0])
    opened.trainer.fisher = [(0, 9.0, 0.9), (5, 2.0, 0.2), *opened.trainer.fisher]
    save_folder(tmp_path / "b", opened.trainer, opened.preset, steps, values, None)
    s, v, f = read_loss_csv(tmp_path / "b" / "loss.csv")
    assert s.tolist() == [2, 4, 6, 130] and v.tolist() == values.tolist()
    assert f[5] == 2.0 and 0 not in f         # step 0 is not a row of `run`'s loss.csv
    assert not (tmp_path / "b" / "samples.npy").exists()


def _copy(run_folder, tmp_path):
    bad = tmp_path / "bad"
    shutil.copytree(run_folder, bad)
    return bad


@pytest.mark.parametrize("damage, where", [
    ("no_model", "not a run folder"),
    ("other_network", "model.safetensors"),
    ("missing_tensor", "model.safetensors"),
    ("garbage_weights", "model.safetensors"),
    ("bad_loss", "loss.csv"),
    ("bad_samples", "samples.npy"),
    ("bad_preset", "preset.toml"),
])
def test_a_folder_that_is_not_a_run_is_one_error_naming_the_file(run_folder, tmp_path, capsys,
                                                                  damage, where):
    bad = _copy(run_folder, tmp_path)
    if damage == "no_model":
        (bad / "model.safetensors").unlink()
    elif damage == "other_network":
        text = (bad / "preset.toml").read_text().replace("hidden = [\n    24,\n    24,\n]", "hidden = [\n    16,\n]")
        assert text != (bad / "preset.toml").read_text()
        (bad / "preset.toml").write_text(text)
    elif damage == "missing_tensor":
        state = load_file(str(bad / "model.safetensors"))
        state.pop(sorted(state)[0])
        save_file(state, str(bad / "model.safetensors"))
    elif damage == "garbage_weights":
        (bad / "model.safetensors").write_bytes(b"not a safetensors file at all")
    elif damage == "bad_loss":
        (bad / "loss.csv").write_text("step,loss,fisher\n1,0.5,\n1,0.4,\n")
    elif damage == "bad_samples":
        np.save(bad / "samples.npy", np.zeros((5, 3), dtype=np.float32))
    elif damage == "bad_preset":
        (bad / "preset.toml").write_text((bad / "preset.toml").read_text() + "\nbogus = 1\n")
    with pytest.raises(se.SpecError) as info:
        se.open_run(bad)
    assert where in str(info.value)
    capsys.readouterr()
    assert main([str(bad)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error:") and where in err[0]
    assert "Traceback" not in err[0]


def test_a_plain_folder_is_not_a_run(tmp_path, capsys):
    with pytest.raises(se.SpecError, match="not a run folder"):
        se.open_run(tmp_path)
    with pytest.raises(se.SpecError, match="not a folder"):
        se.open_run(tmp_path / "nowhere")
    assert main([str(tmp_path)]) == 2
    assert capsys.readouterr().err.startswith("error:")


@pytest.mark.parametrize("shipped", ["ddpm_moons", "energy_vs_score", "flow_matching"])
def test_every_family_reopens_to_its_figure(shipped, tmp_path):
    """DDPM (Fisher at a step t), an energy model (s = -grad E), a continuous path."""
    out = tmp_path / shipped
    assert main(["run", shipped, "--steps", "5", "--particles", "20", "--out", str(out)]) in (0, 3)
    written = json.loads((out / "metrics.json").read_text())
    m = se.evaluate(se.open_run(out))
    assert m["relative_fisher_divergence"] == pytest.approx(written["relative_fisher_divergence"], abs=1e-6)
