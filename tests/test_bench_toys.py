"""bench/bench_toys.py's page: cells, ratios over floors, mean ± sd over seeds, --fix runs."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

BENCH = Path(__file__).resolve().parents[1] / "bench" / "bench_toys.py"


def _module():
    spec = importlib.util.spec_from_file_location("bench_toys", BENCH)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def _write(root: Path, seed: int, density: str, objective: str, metrics: dict) -> None:
    d = root / f"seed-{seed}" / "runs" / f"density.kind={density},objective.kind={objective}" / "seed-0"
    d.mkdir(parents=True)
    (d / "metrics.json").write_text(json.dumps(metrics))


def _m(rel, sw, tv, sps, nll=None, nll_true=None, hut=None, se=None):
    return {"sampler": "pc", "relative_fisher_divergence": rel, "steps_per_second": sps, "nll": nll, "nll_true": nll_true,
            "nll_hutchinson": hut, "nll_hutchinson_se": se,
            "sample_metrics": {"sliced_wasserstein": sw, "tv_grid": tv,
                               "floor": {"sliced_wasserstein": 0.1, "tv_grid": 0.05}}}


def test_page_from_runs(tmp_path):
    b = _module()
    _write(tmp_path, 0, "rings", "sde", _m(0.5, 0.2, 0.10, 30.0, nll=1.3, nll_true=1.0, hut=1.32, se=0.01))
    _write(tmp_path, 1, "rings", "sde", _m(0.7, 0.4, 0.20, 50.0, nll=1.5, nll_true=1.0, hut=1.49, se=0.01))
    _write(tmp_path, 0, "rings", "ncsn", {"relative_fisher_divergence": 0.9, "steps_per_second": 10.0})
    _write(tmp_path / "fix-step", 0, "rings", "ncsn", _m(0.3, 0.3, 0.15, 20.0))
    (tmp_path / "fix-step" / "bench_meta.json").write_text(json.dumps({"sets": ["sampler.step_size=0.005"]}))
    doc = tmp_path / "page.md"
    b.write_report(tmp_path, doc)
    text = doc.read_text()
    # sde: relative Fisher 0.6 ± 0.141, SW2/floor (2, 4) -> 3.00 ± 1.41, TV/floor (2, 4) -> 3.00 ± 1.41,
    # NLL gap (0.3, 0.5) -> 0.400 ± 0.141, Hutchinson z (2, -1) -> 0.50 ± 2.12, steps/s 40 ± 14
    assert "| sde (vp) · pc | 0.600 ± 0.141 | 3.00 ± 1.41 | 3.00 ± 1.41 | 0.400 ± 0.141 | 0.50 ± 2.12 | 40 ± 14 | 2 |" in text
    # the --fix run replaced the diverged NCSN cell and says with what
    assert "| ncsn · pc * | 0.300 | 3.00 | 3.00 | - | - | 20 | 1 |" in text
    assert "sampler.step_size=0.005" in text and "## rings" in text and "Published figures" in text
