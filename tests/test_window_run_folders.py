"""The window and run folders: `score-explorer DIR` opens a run trained, Save session as
writes what `run` writes, Export as notebook; bad folders and paths leave the window as it was."""

from __future__ import annotations

import json

import numpy as np
import pytest

pytest.importorskip("pytestqt")

import explorer.api as se  # noqa: E402
from explorer.cli import main  # noqa: E402
from small_preset import small_preset  # noqa: E402


@pytest.fixture(scope="module")
def run_folder(tmp_path_factory):
    root = tmp_path_factory.mktemp("wruns")
    (root / "p.toml").write_text(small_preset("Folder in the window", steps=120, particles=250,
                                              sampler_steps=30, grid=10))
    assert main(["run", str(root / "p.toml"), "--out", str(root / "out")]) == 0
    return root / "out"


@pytest.fixture
def opened(open_main_window, run_folder):
    return open_main_window(run_folder)   # what `score-explorer DIR` does once the folder checks out


def test_a_run_folder_opens_trained_with_its_curves_and_particles(opened, run_folder, qtbot):
    w = opened
    written = json.loads((run_folder / "metrics.json").read_text())
    samples = np.load(run_folder / "samples.npy")
    assert w.windowTitle() == "Score Explorer — Folder in the window"
    assert w.trainer.step_count == 120 and w.last_error is None
    assert w.trainer.fisher[-1][2] == pytest.approx(written["relative_fisher_divergence"], abs=1e-6)
    qtbot.waitUntil(lambda: w.particles_view.n_particles == len(samples), timeout=15000)
    qtbot.waitUntil(lambda: len(w.loss_view.data["loss"][0]) == 120, timeout=15000)
    assert len(w.loss_view.data["fisher"][0]) >= 2
    assert w.run_bar.progress.value() == 120
    # ready to go on: a larger budget, Play trains on from step 120
    w.on_edit("training", "steps", 160)
    w.play()
    assert w.session.playing
    qtbot.waitUntil(lambda: w.trainer.step_count >= 160 and not w.session.training.playing,
                    timeout=60000)
    qtbot.waitUntil(lambda: len(w.loss_view.data["loss"][0]) == 160, timeout=15000)


def test_save_session_reopens_in_the_api_with_its_numbers(opened, tmp_path, qtbot):
    w = opened
    qtbot.waitUntil(lambda: w.particles_view.n_particles > 0, timeout=15000)
    out = tmp_path / "saved"
    assert w.save_session(out)
    written = json.loads((out / "metrics.json").read_text())
    for name in ("preset.toml", "metrics.json", "loss.csv", "samples.npy", "field.npz",
                 "model.safetensors"):
        assert (out / name).is_file(), name
    run = se.open_run(out)
    m = se.evaluate(run, run.particles)
    assert m["relative_fisher_divergence"] == pytest.approx(written["relative_fisher_divergence"], abs=1e-6)
    assert m["mode_weights"] == pytest.approx(written["mode_weights"], abs=1e-6)
    assert run.trainer.step_count == written["steps"] == 120
    assert len(run.loss_curve()[0]) == 120


def test_export_as_notebook_trains_the_steps_trained_so_far(opened, tmp_path):
    nbformat = pytest.importorskip("nbformat")
    path = tmp_path / "session.ipynb"
    assert opened.export_notebook(str(path))
    nb = nbformat.read(path, as_version=4)
    nbformat.validate(nb)
    code = "\n".join(c.source for c in nb.cells if c.cell_type == "code")
    assert "steps = 120" in code and "se.train(preset" in code
    file_menu = opened.menuBar().actions()[0].menu()
    texts = [a.text() for a in file_menu.actions()]
    for a in (opened.act_open_run, opened.act_save_session, opened.act_notebook):
        assert a.text() in texts


def test_bad_folders_and_paths_keep_the_window_as_it_was(opened, tmp_path, qtbot):
    w = opened
    before = (w.preset.name, w.trainer.step_count)
    assert not w.open_run(tmp_path)                     # an empty folder
    assert "not a run folder" in w.last_error
    assert (w.preset.name, w.trainer.step_count) == before
    (tmp_path / "file").write_text("x")
    assert not w.save_session(tmp_path / "file")       # a file where the folder should be
    assert "Could not save" in w.last_error
    assert not w.export_notebook(str(tmp_path / "missing" / "n.ipynb"))
    assert "Could not export" in w.last_error
    assert (w.preset.name, w.trainer.step_count) == before
    assert not list(tmp_path.glob("**/*.ipynb"))
