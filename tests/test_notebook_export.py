"""`score-explorer notebook` (export/notebook.py) and `se.show` (export/figures.py)."""

from __future__ import annotations

import re

import numpy as np
import pytest
import tomli_w

import explorer.api as se
from explorer.cli import main
from explorer.views import common as C
from explorer.views import field_view as FV
from explorer.views.style import FISHER, LEARNED, PARTICLES, TRUE


def _small(steps=40, dim=2, **objective) -> str:
    density = {"kind": "mixture", "weights": [0.3, 0.7], "means": [[-2.0, 0.0], [2.0, 1.0]],
               "stds": [0.5, 0.7]}
    if dim == 1:
        density.update(means=[[-2.0], [2.0]])
    if dim == 3:
        density.update(means=[[-2.0, 0.0, 0.0], [2.0, 1.0, 0.0]])
    return tomli_w.dumps({
        "name": "Notebook test", "description": "A small mixture for the notebook tests.",
        "density": density, "model": {"hidden": [24, 24]},
        "objective": objective or {"kind": "ssm_vr"},
        "training": {"steps": steps, "batch_size": 64},
        "sampler": {"particles": 200, "steps": 30},
        "view": {"grid": 10 if dim < 3 else 6},
    })


def _code(nb) -> str:
    return "\n".join("".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "code")


def test_the_judged_command_writes_a_valid_notebook_of_the_preset(tmp_path, capsys):
    nbformat = pytest.importorskip("nbformat")
    out = tmp_path / "demo.ipynb"
    assert main(["notebook", "two_modes_annealed", "--steps", "200", "--out", str(out)]) == 0
    nb = nbformat.read(out, as_version=4)
    nbformat.validate(nb)
    # the preset inline reads back as the shipped one with 200 steps (executed here, not in a kernel)
    literal = re.search(r"PRESET = (r'''.*?''')", _code(nb), re.S).group(1)
    inline = se.loads(eval(literal))
    shipped = se.edit(se.load("two_modes_annealed"), {"training.steps": 200})
    assert inline.to_dict() == shipped.to_dict()
    text = "\n".join("".join(c["source"]) for c in nb.cells if c.cell_type == "markdown")
    assert shipped.description in text
    assert "From the lesson" in text   # two_modes_annealed is a step of a shipped lesson
    for call in ('se.train(preset', 'se.show(run, "loss")', 'se.show(run, "field")',
                 'se.sample(run)', 'se.evaluate(run, particles)', "tqdm"):
        assert call in _code(nb)


def test_the_notebook_runs_top_to_bottom_on_a_plain_kernel(tmp_path):
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    pytest.importorskip("ipykernel")
    (tmp_path / "p.toml").write_text(_small(steps=40))
    out = tmp_path / "small.ipynb"
    assert main(["notebook", str(tmp_path / "p.toml"), "--out", str(out)]) == 0
    nb = nbformat.read(out, as_version=4)
    nbclient.NotebookClient(nb, timeout=300, kernel_name="python3",
                            resources={"metadata": {"path": str(tmp_path)}}).execute()
    outputs = [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", [])]
    assert not [o for o in outputs if o.get("output_type") == "error"]
    pictures = [o for o in outputs if "image/png" in o.get("data", {})]
    assert len(pictures) >= 4                       # loss, field, particles, density
    printed = "".join(o.get("text", "") for o in outputs if o.get("output_type") == "stream")
    rel = float(re.search(r"relative Fisher divergence = ([0-9.e+-]+)", printed).group(1))
    # the folder the notebook saved opens in the API with the figure it printed
    run = se.open_run(tmp_path / "runs" / "small")
    assert run.trainer.step_count == 40
    assert se.evaluate(run)["relative_fisher_divergence"] == pytest.approx(rel, rel=1e-5)


@pytest.mark.parametrize("args, key", [
    (["--out", "{tmp}/nowhere/x.ipynb"], "--out"),
    (["--out", "{tmp}/x.txt"], "--out"),
    (["--out", "{tmp}/file/x.ipynb"], "--out"),
    (["--out", "{tmp}/x.ipynb", "--steps", "-1"], "--steps"),
    (["--out", "{tmp}/x.ipynb", "--steps", "many"], "--steps"),
])
def test_a_path_or_value_that_cannot_work_is_one_error_line(tmp_path, capsys, args, key):
    (tmp_path / "file").write_text("a file, not a folder")
    args = [a.format(tmp=tmp_path) for a in args]
    assert main(["notebook", "mixture_score", *args]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error:") and key in err[0]
    assert not list(tmp_path.glob("*.ipynb")) and not list(tmp_path.glob("**/*.ipynb"))


def test_a_bad_preset_for_the_notebook_names_the_file(tmp_path, capsys):
    bad = tmp_path / "bad.toml"
    bad.write_text(_small().replace('kind = "ssm_vr"', 'kind = "nonsense"'))
    assert main(["notebook", str(bad), "--out", str(tmp_path / "x.ipynb")]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error:") and "bad.toml" in err and "objective.kind" in err
    assert not (tmp_path / "x.ipynb").exists()


# ------------------------------------------------------------------ se.show
@pytest.fixture(scope="module")
def small_run():
    run = se.train(se.loads(_small(steps=30)), every=10)
    se.sample(run)
    return run


def _rgb(c):
    return tuple(round(v / 255, 3) for v in c)


def test_show_field_draws_the_learned_and_true_scores_in_the_window_colours(small_run):
    from matplotlib.figure import Figure
    fig = se.show(small_run, "field")
    assert isinstance(fig, Figure)
    learned_ax, true_ax = fig.axes[:2]
    assert learned_ax.get_title() == FV.LEARNED_TITLE and true_ax.get_title() == FV.TRUE_TITLE
    assert learned_ax.get_xlabel() == C.X1 and learned_ax.get_ylabel() == C.X2
    pts, learned, true = se.field(small_run)
    for ax, field, colour in ((learned_ax, learned, LEARNED), (true_ax, true, TRUE)):
        q = ax.collections[-1]
        assert tuple(round(v, 3) for v in q.get_facecolor()[0][:3]) == _rgb(colour)
        # every arrow points along the field at its tail (independent of the length rule)
        tails = q.get_offsets()
        u = np.c_[q.U, q.V]
        for tail, arrow in zip(tails[:20], u[:20]):
            i = np.argmin(np.linalg.norm(pts - tail, axis=1))
            assert np.allclose(tail, pts[i], atol=1e-5)
            want = field[i] / np.linalg.norm(field[i])
            assert np.allclose(arrow / np.linalg.norm(arrow), want, atol=1e-4)
    labels = [t.get_text() for t in fig.legends[0].get_texts()]
    assert labels == [C.DENSITY_NAME, C.LEARNED_NAME, C.TRUE_NAME]


def test_show_particles_loss_and_density(small_run):
    fig = se.show(small_run, "particles")
    ax = fig.axes[0]
    dots = ax.collections[-1]
    assert np.allclose(dots.get_offsets(), small_run.particles, atol=1e-6)
    assert tuple(round(v, 3) for v in dots.get_facecolor()[0][:3]) == _rgb(PARTICLES)
    assert "mode weights" in ax.get_title() and "Langevin" in ax.get_title()

    fig = se.show(small_run, "loss")
    ax, right = fig.axes[:2]
    steps, loss = small_run.loss_curve()
    assert np.array_equal(ax.lines[0].get_ydata(), loss)
    assert ax.get_yscale() == "linear"               # SSM-VR's loss goes negative
    assert right.get_yscale() == "log"
    assert tuple(round(v, 3) for v in right.lines[-1].get_color()[:3]) == _rgb(FISHER)
    assert np.array_equal(right.lines[-1].get_xdata(), small_run.fisher[:, 0])

    fig = se.show(small_run, "density")
    assert [a.get_title() for a in fig.axes[:2]] == [FV.DENSITY_LEARNED_TITLE, FV.DENSITY_TRUE_TITLE]
    with pytest.raises(se.SpecError) as info:
        se.show(small_run, "nonsense")
    assert info.value.key == "what"


def test_show_takes_positive_losses_on_a_log_axis_and_draws_1d_and_3d(tmp_path):
    run = se.train(se.loads(_small(steps=20, kind="dsm", sigma=0.3)), every=10)
    assert se.show(run, "loss").axes[0].get_yscale() == "log"
    one = se.train(se.loads(_small(steps=10, dim=1)), every=10)
    for what in ("field", "particles", "density", "loss"):
        assert se.show(one, what).axes
    three = se.train(se.loads(_small(steps=10, dim=3)), every=10)
    assert "slice" in se.show(three, "field").axes[0].get_title()
    assert se.show(three, "particles").axes
    with pytest.raises(se.SpecError):
        se.show(three, "density")
    fig = se.show(run, "field")
    fig.savefig(tmp_path / "f.png")
    assert (tmp_path / "f.png").stat().st_size > 10_000
