"""The preset file contract of docs/design.md §4: accepted keys, defaults, and errors that name the key."""

import subprocess
import sys
import textwrap

import pytest

from explorer.core.presets import preset as P
from explorer.core.errors import SpecError

GOOD = """
format = 1
name = "Two modes"
[density]
kind = "mixture"
weights = [0.2, 0.8]
means = [[-5.0, -5.0], [5.0, 5.0]]
stds = [1.0, 1.0]
bounds = [[-8.0, 8.0], [-8.0, 8.0]]
[objective]
kind = "ssm_vr"
projections = 1
projection = "rademacher"
[training]
steps = 10
"""


def write(tmp_path, text, name="p.toml"):
    f = tmp_path / name
    f.write_text(textwrap.dedent(text))
    return f


def test_design_example_loads_with_every_default_filled(tmp_path):
    p = P.load(write(tmp_path, GOOD))
    assert p.dim == 2
    assert p.model == {"kind": "score", "hidden": [128, 128], "activation": "softplus",
                       # the training recipe's keys (core/training/recipe.py): off for a plain score model
                       "preconditioning": "none", "sigma_data": None, "noise_embedding": "linear"}
    assert (p.training["ema"], p.training["lr_warmup"], p.training["lr_schedule"]) == (0.0, 0, "constant")
    assert p.training["batch_size"] == 512 and p.training["lr"] == 1e-3
    assert p.sampler["kind"] == "langevin" and p.sampler["particles"] == 1280
    assert p.view["grid"] == 32
    # the resolved TOML round-trips to the same preset
    again = P.loads(p.to_toml(), tmp_path)
    assert again.to_dict() == p.to_dict()


def test_bounds_are_derived_when_absent(tmp_path):
    p = P.loads('[density]\nkind = "gaussian"\nmean = [1.0]\nstd = 0.5\n', tmp_path)
    (lo, hi), = p.density["bounds"]
    assert lo < 1 - 1.5 and hi > 1 + 1.5


BAD = [
    ("", "empty"),
    ("[density\nkind=1", "not valid TOML"),
    ('[density]\nkind = "blob"', "density.kind"),
    ('[density]\nkind = "mixture"\ncolour = 1', "density.colour"),
    ('[density]\nkind = "mixture"\nstds = [-1.0, 1.0]', "density.stds[0]"),
    ('[density]\nkind = "mixture"\nweights = [0.0, 1.0]', "density.weights[0]"),
    ('[density]\nkind = "mixture"\nmeans = [[0.0, 0.0], [1.0, 1.0, 1.0]]', "density.means"),
    ('[density]\nkind = "mixture"\nweights=[1.0]\nmeans=[[0.0,0.0]]\n'
     'covariances = [[[1.0, 2.0], [2.0, 1.0]]]', "density.covariances"),
    ('[density]\nkind = "image"\npath = "nowhere.png"', "density.path"),
    ('[sampler]\nparticles = 100000000', "sampler.particles"),
    ('[training]\nlr = "fast"', "training.lr"),
    ('[objective]\nkind = "magic"', "objective.kind"),
    ('[model]\nactivation = "relu6"', "model.activation"),
    ('[training]\ndevice = "tpu"', "training.device"),
    ('[objective]\nkind="ncsn"\nsigma_min = 5.0\nsigma_max = 1.0', "objective.sigma_min"),
    ('format = 7', "format"),
    ('[mystery]\na = 1', "mystery"),
]


@pytest.mark.parametrize("text,key", BAD)
def test_bad_presets_name_the_file_and_key(tmp_path, text, key):
    f = write(tmp_path, text)
    with pytest.raises(SpecError) as e:
        P.load(f)
    msg = str(e.value)
    assert str(f) in msg
    assert key in msg


def test_missing_file_is_a_spec_error(tmp_path):
    with pytest.raises(SpecError, match="no such file"):
        P.load(tmp_path / "absent.toml")


def test_core_imports_no_qt():
    code = ("import sys, explorer.core.run.headless, explorer.core.presets.preset, explorer.core.samplers, explorer.core.plugins.registry, explorer.core.session, "
            "explorer.core.training.trainer, explorer.core.measures.metrics, explorer.core.densities, explorer.cli\n"
            "bad = [m for m in sys.modules if m.startswith(('PySide6', 'PyQt', 'pyqtgraph', 'shiboken'))]\n"
            "assert not bad, bad")
    subprocess.run([sys.executable, "-c", code], check=True)
