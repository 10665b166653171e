"""`score-explorer compare` (issue 11): the product of runs, their folders, the summaries
(checked against the runs' own metrics.json), bad input, workers and Dask giving the same
numbers, Ctrl-C."""

import csv
import json
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
import tomli_w
from PIL import Image

from explorer import cli
from explorer.core.presets import preset as P
from explorer.core.compare import plan as PL

TINY = tomli_w.dumps({
    "name": "tiny",
    "density": {"kind": "mixture", "weights": [0.3, 0.7], "means": [[-2.0, 0.0], [2.0, 1.0]],
                "stds": [0.5, 0.7]},
    "model": {"hidden": [16, 16]},
    "objective": {"kind": "ssm_vr"},
    "training": {"steps": 40, "batch_size": 64, "seed": 5},
    "sampler": {"particles": 60, "steps": 10},
    "view": {"grid": 6},
})
VARY = ["--vary", "objective.kind=ism,ssm_vr", "--vary", "training.lr=0.001,3e-3"]
NAMES = ["objective.kind=ism,training.lr=0.001", "objective.kind=ism,training.lr=0.003",
         "objective.kind=ssm_vr,training.lr=0.001", "objective.kind=ssm_vr,training.lr=0.003"]
RUN_FILES = {"preset.toml", "metrics.json", "loss.csv", "samples.npy", "field.npz",
             "model.safetensors"}
# what the same seeds must reproduce exactly (timings differ from run to run)
DETERMINISTIC = ["objective.kind", "training.lr", "seed", "steps", "final_loss",
                 "fisher_divergence", "relative_fisher_divergence", "mode_weights"]


def compare(*args, timeout=300):
    return subprocess.run([sys.executable, "-m", "explorer", "compare", *map(str, args)],
                          capture_output=True, text=True, timeout=timeout)


@pytest.fixture(scope="module")
def preset_file(tmp_path_factory):
    p = tmp_path_factory.mktemp("preset") / "tiny.toml"
    p.write_text(TINY)
    return p


@pytest.fixture(scope="module")
def local(preset_file, tmp_path_factory):
    out = tmp_path_factory.mktemp("cmp") / "two"
    r = compare(preset_file, *VARY, "--seeds", 2, "--workers", 2, "--out", out)
    assert r.returncode == 0, r.stderr
    return out, r


def read_csv(path):
    return list(csv.DictReader(open(path)))


def test_runs_are_the_product_of_the_varies_and_seeds(local):
    out, _ = local
    assert sorted(p.name for p in (out / "runs").iterdir()) == NAMES
    for name in NAMES:
        assert sorted(p.name for p in (out / "runs" / name).iterdir()) == ["seed-0", "seed-1"]
        for s in (0, 1):
            d = out / "runs" / name / f"seed-{s}"
            assert {p.name for p in d.iterdir()} == RUN_FILES
            kind, lr = (kv.split("=")[1] for kv in name.split(","))
            pre = P.load(d / "preset.toml")
            assert pre.objective["kind"] == kind and pre.training["lr"] == float(lr)
            # seeds 0..K-1 are added to the preset's (5); the sampler's follows training's
            assert pre.training["seed"] == 5 + s and pre.sampler["seed"] == 5 + s
            m = json.loads((d / "metrics.json").read_text())
            assert m["steps"] == 40 and m["threads"] == 1   # one torch thread per worker


def test_seeds_give_different_runs_and_variants_differ(local):
    out, _ = local
    base = out / "runs" / NAMES[0]
    a, b = (json.loads((base / f"seed-{s}" / "metrics.json").read_text()) for s in (0, 1))
    assert a["final_loss"] != b["final_loss"]


def test_summary_csv_has_one_row_per_run_with_its_metrics(local):
    out, _ = local
    rows = read_csv(out / "summary.csv")
    sample = ["mmd", "mmd_floor", "sliced_wasserstein", "sliced_wasserstein_floor",
              "tv_grid", "tv_grid_floor", "kl_grid", "kl_grid_floor"]
    assert list(rows[0].keys()) == ["objective.kind", "training.lr", "seed", "steps",
                                    "train_seconds", "steps_per_second", "final_loss",
                                    "fisher_divergence", "relative_fisher_divergence", "nfe",
                                    *sample, "mode_weights"]
    assert len(rows) == 8
    assert not (out / "quality_vs_nfe.csv").exists(), "drawn only where a sampler key varies"
    for row in rows:
        name = f"objective.kind={row['objective.kind']},training.lr={row['training.lr']}"
        m = json.loads((out / "runs" / name / f"seed-{row['seed']}" / "metrics.json").read_text())
        for key in ("steps", "train_seconds", "steps_per_second", "final_loss",
                    "fisher_divergence", "relative_fisher_divergence", "nfe"):
            assert float(row[key]) == m[key], key
        assert json.loads(row["mode_weights"]) == m["mode_weights"]
        q = m["sample_metrics"]   # the samples against exact ones, and the floor
        for key in ("mmd", "sliced_wasserstein", "tv_grid", "kl_grid"):
            assert float(row[key]) == q[key] and float(row[f"{key}_floor"]) == q["floor"][key]


def test_summary_json_mean_and_sd_match_the_runs(local):
    out, _ = local
    summary = json.loads((out / "summary.json").read_text())
    assert [v["overrides"] for v in summary["variants"]] == [
        {"objective.kind": k, "training.lr": lr} for k in ("ism", "ssm_vr") for lr in (0.001, 0.003)]
    for v in summary["variants"]:
        name = ",".join(f"{k}={x}" for k, x in v["overrides"].items())
        ms = [json.loads((out / "runs" / name / f"seed-{s}" / "metrics.json").read_text())
              for s in (0, 1)]
        assert v["runs"] == 2
        for key in ("steps", "train_seconds", "steps_per_second", "final_loss",
                    "fisher_divergence", "relative_fisher_divergence", "mode_weights"):
            x = np.array([m[key] for m in ms], dtype=float)
            np.testing.assert_allclose(v["mean"][key], x.mean(axis=0), rtol=1e-12, err_msg=key)
            np.testing.assert_allclose(v["sd"][key], x.std(axis=0, ddof=1), rtol=1e-9,
                                       atol=1e-15, err_msg=key)


def test_figure_and_table(local):
    out, r = local
    png = out / "compare.png"
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 1000
    with Image.open(png) as im:
        im.verify()
    svg = (out / "compare.svg").read_text()
    assert svg.lstrip().startswith("<?xml") and "</svg>" in svg
    for name in NAMES:   # one table row and one legend entry per variant
        assert name in r.stdout
        assert name in svg
    assert not list(out.rglob(".*.part"))


def test_workers_one_and_two_give_the_same_numbers(local, preset_file, tmp_path):
    out, _ = local
    r = compare(preset_file, *VARY, "--seeds", 2, "--workers", 1, "--out", tmp_path / "one")
    assert r.returncode == 0, r.stderr
    pick = lambda path: [[row[k] for k in DETERMINISTIC] for row in read_csv(path)]
    assert pick(tmp_path / "one" / "summary.csv") == pick(out / "summary.csv")
    name = NAMES[2]
    a = np.load(out / "runs" / name / "seed-1" / "samples.npy")
    b = np.load(tmp_path / "one" / "runs" / name / "seed-1" / "samples.npy")
    assert np.array_equal(a, b)


@pytest.mark.slow
def test_dask_cluster_gives_the_same_numbers(local, preset_file, tmp_path):
    distributed = pytest.importorskip("distributed")
    out, _ = local
    saved = dict(os.environ)   # LocalCluster sets OMP_NUM_THREADS=1 & co in this process's
    try:                       # environment: later tests get theirs back
        with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                      dashboard_address=None) as cluster:
            r = compare(preset_file, *VARY, "--seeds", 2, "--out", tmp_path / "dask",
                        "--scheduler", cluster.scheduler_address)
    finally:
        os.environ.clear()
        os.environ.update(saved)
    assert r.returncode == 0, r.stderr
    assert "2 Dask workers" in r.stderr
    pick = lambda path: [[row[k] for k in DETERMINISTIC] for row in read_csv(path)]
    assert pick(tmp_path / "dask" / "summary.csv") == pick(out / "summary.csv")
    for name in NAMES:
        for s in (0, 1):
            assert {p.name for p in (tmp_path / "dask" / "runs" / name / f"seed-{s}").iterdir()} == RUN_FILES


@pytest.mark.parametrize("vary, names", [
    ("objective.sigmaa=1,2", "--vary objective.sigmaa=1: unknown key"),
    ("objective.sigma=0.1,-1", "--vary objective.sigma=-1: must be greater than 0"),
    ("objective.kind=esm,magic", "--vary objective.kind=magic: unknown objective kind 'magic' (known: esm"),
    ("model.hidden=[8],[0]", "--vary model.hidden=[0]: model.hidden[0]: must be at least 1"),
    ("density.kind=mixture,nope", "--vary density.kind=nope: unknown density kind"),
    ("objective", "--vary: expected KEY=V1,V2,..."),
])
def test_invalid_key_or_value_is_one_error_line_and_writes_nothing(preset_file, tmp_path, capsys,
                                                                  vary, names):
    # in process (cli.main, as the shell calls it): the subprocess path is test_ctrl_c_... below
    out = tmp_path / "out"
    assert cli.main(["compare", str(preset_file), "--vary", vary, "--out", str(out)]) == 2
    err = capsys.readouterr().err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and names in lines[0], err
    assert "Traceback" not in err and not out.exists()


def test_a_combination_that_is_invalid_together_is_caught_before_running(preset_file, tmp_path, capsys):
    # each value is valid alone; the ddpm objective with a Langevin sampler is not
    out = tmp_path / "out"
    rc = cli.main(["compare", str(preset_file), "--vary", "objective.kind=ssm_vr,ddpm",
                   "--vary", 'sampler.kind="langevin"', "--out", str(out)])
    err = capsys.readouterr().err
    assert rc == 2 and not out.exists()
    assert err.startswith("error: ") and "objective.kind=ddpm, sampler.kind=langevin" in err


def test_missing_dask_is_a_clear_error(preset_file, tmp_path, monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "distributed", None)   # import fails as if not installed
    out = tmp_path / "out"
    rc = cli.main(["compare", str(preset_file), "--vary", "training.lr=0.001",
                   "--scheduler", "tcp://127.0.0.1:8786", "--out", str(out)])
    assert rc == 2 and not out.exists()
    assert capsys.readouterr().err.strip() == (
        'error: --scheduler needs dask.distributed: pip install "score-explorer[cluster]"')


def test_vary_values_are_toml_with_bare_words_as_strings():
    v = PL.parse_vary("model.hidden=[64, 64],[128,128] , [32]")
    assert v.key == "model.hidden" and v.values == ([64, 64], [128, 128], [32])
    assert PL.parse_vary('sampler.kind="langevin",\'a,b\'').values == ("langevin", "a,b")
    assert PL.parse_vary("objective.kind=esm,ism").values == ("esm", "ism")
    assert PL.parse_vary("training.lr=1e-3,0.01").values == (0.001, 0.01)
    assert PL.folder_name({"model.hidden": [64, 64], "objective.kind": "esm"}) == \
        "model.hidden=64x64,objective.kind=esm"


def test_variants_derive_their_defaults_again(preset_file):
    # ncsn brings its own sampler (annealed Langevin), as it would in a file
    runs = PL.plan(preset_file, [PL.parse_vary("objective.kind=ssm_vr,ncsn")], seeds=2, steps=7)
    assert [(r.variant.name, r.seed) for r in runs] == [
        ("objective.kind=ssm_vr", 0), ("objective.kind=ssm_vr", 1),
        ("objective.kind=ncsn", 0), ("objective.kind=ncsn", 1)]
    assert [r.preset.sampler["kind"] for r in runs] == ["langevin"] * 2 + ["annealed_langevin"] * 2
    assert all(r.preset.training["steps"] == 7 for r in runs)


def test_ctrl_c_keeps_the_finished_runs_and_their_summary(preset_file, tmp_path):
    out = tmp_path / "out"
    proc = subprocess.Popen(
        [sys.executable, "-m", "explorer", "compare", str(preset_file), "--vary",
         "training.lr=0.001,0.002,0.003,0.004,0.005,0.006", "--steps", "400", "--workers", "1",
         "--out", str(out)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 120
    while not list((out / "runs").glob("*/seed-0")) and time.monotonic() < deadline:
        if proc.poll() is not None:
            break
        time.sleep(0.05)
    proc.send_signal(signal.SIGINT)
    stdout, stderr = proc.communicate(timeout=120)
    assert proc.returncode == 130, stderr
    assert "Traceback" not in stderr
    kept = sorted(p.parent.name for p in out.glob("runs/*/seed-0"))
    assert 1 <= len(kept) < 6, stderr
    rows = read_csv(out / "summary.csv")
    assert sorted(f"training.lr={r['training.lr']}" for r in rows) == kept
    assert all({p.name for p in (out / "runs" / k / "seed-0").iterdir()} == RUN_FILES for k in kept)
    assert json.loads((out / "summary.json").read_text())["variants"][0]["runs"] == 1
    assert (out / "compare.png").is_file() and not list(out.rglob(".*.part"))


def test_the_band_is_the_mean_and_sample_sd_over_seeds():
    from explorer.core.compare import summary as S
    from explorer.core.compare.execute import Finished
    v = PL.Variant({"a": 1}, "a=1")
    curves = [[(100, 2.0), (200, 1.0)], [(100, 4.0), (200, 0.5), (300, 0.1)], [(100, 3.0), (200, 1.5)]]
    fs = [Finished(PL.Run(v, s, None), {}, c) for s, c in enumerate(curves)]
    steps, mean, sd = S.fisher_band(fs)
    assert list(steps) == [100, 200]   # the steps every seed reached
    np.testing.assert_allclose(mean, [3.0, 1.0])
    np.testing.assert_allclose(sd, [1.0, 0.5])
    assert S.mean_sd([1.0, None, 3.0]) == (2.0, 2 ** 0.5)
    assert S.mean_sd([[0.2, 0.8]]) == ([0.2, 0.8], None)


def test_compare_imports_no_qt():
    code = ("import sys, explorer.core.compare, explorer.core.training.threads\n"
            "bad = [m for m in sys.modules if m.startswith(('PySide6', 'PyQt', 'pyqtgraph', 'shiboken'))]\n"
            "assert not bad, bad")
    subprocess.run([sys.executable, "-c", code], check=True, timeout=120)
