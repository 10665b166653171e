"""`score-explorer tradeoff`: the four files, strict JSON, and one `error:` line (exit 2) for bad input."""

import csv
import json
import subprocess
import sys

import pytest

from small_preset import small_preset


def tradeoff(*args):
    return subprocess.run([sys.executable, "-m", "explorer", "tradeoff", *map(str, args)],
                          capture_output=True, text=True, timeout=300)


@pytest.fixture(scope="module")
def preset(tmp_path_factory):
    path = tmp_path_factory.mktemp("tradeoff") / "small.toml"
    path.write_text(small_preset())
    return path


def _strict(text):
    def no_constant(name):
        raise ValueError(f"{name} is not JSON")
    return json.loads(text, parse_constant=no_constant)


def test_tradeoff_writes_the_files(preset, tmp_path):
    out = tmp_path / "out"
    r = tradeoff(preset, "--sigmas", "0.01:1:3", "--samples", "64", "--train", "3",
                 "--trained-sigmas", "0.1", "--out", out)
    assert r.returncode == 0, r.stderr
    for name in ("tradeoff.csv", "tradeoff.json", "tradeoff.png", "tradeoff.svg"):
        assert (out / name).is_file() and (out / name).stat().st_size > 0, name
    doc = _strict((out / "tradeoff.json").read_text())
    assert doc["sigmas"] == pytest.approx([0.01, 0.1, 1.0])
    assert len(doc["bias_relative"]) == len(doc["loss_variance"]) == len(doc["grad_variance"]) == 3
    assert doc["bias"][0] < doc["bias"][1] < doc["bias"][2]
    assert doc["loss_variance_slope"] == pytest.approx(-4, abs=0.3)
    assert doc["trained"][0]["sigma"] == 0.1 and doc["trained"][0]["steps"] == 3
    rows = list(csv.DictReader((out / "tradeoff.csv").open()))
    assert [float(r["sigma"]) for r in rows] == pytest.approx([0.01, 0.1, 1.0])
    assert rows[1]["trained_relative_fisher"] != "" and rows[0]["trained_relative_fisher"] == ""
    assert (out / "tradeoff.svg").read_text().lstrip().startswith("<?xml")
    assert (out / "tradeoff.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


@pytest.mark.parametrize("args, key", [
    (["--sigmas", "1:0.1:5"], "--sigmas"),
    (["--sigmas", "0.1,-2"], "--sigmas"),
    (["--sigmas", "abc"], "--sigmas"),
    (["--trained-sigmas", "0.1"], "--trained-sigmas"),    # without --train
    (["--train", "-1"], "--train"),
    (["--samples", "3"], "--samples"),
])
def test_tradeoff_rejects_bad_input(preset, tmp_path, capsys, args, key):
    from explorer.cli import main    # in process: the subprocess path is the test above
    out = tmp_path / "out"
    assert main(["tradeoff", str(preset), *args, "--out", str(out)]) == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and key in lines[0], lines
    assert not out.exists()


def test_tradeoff_names_a_missing_preset(tmp_path, capsys):
    from explorer.cli import main
    assert main(["tradeoff", str(tmp_path / "nope.toml"), "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "nope.toml" in err
