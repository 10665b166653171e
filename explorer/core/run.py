"""A whole run without a window: train, sample, measure, write the files of DESIGN section 5.

Used by `score-explorer run` and by the tests and benchmarks, so the figures quoted for
headless runs are the figures of this code. Every file is written to a temporary name and
renamed, so an interrupted run leaves complete files or none.
"""

from __future__ import annotations

import csv
import io
import json
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np
import torch
from safetensors.torch import save_file

from .grid import grid_points
from .preset import Preset
from .sampling import Sampler
from .scores import level_text
from .training import Trainer
from . import metrics as M
from . import threads as thread_policy

EVAL_EVERY = 100


@dataclass
class RunResult:
    metrics: dict
    samples: np.ndarray
    trainer: Trainer
    sampler: Sampler | None
    fisher_rows: dict[int, float] = field(default_factory=dict)
    interrupted: bool = False


Progress = Callable[[str, int, int], None]  # (phase, done, total)


def train_and_sample(preset: Preset, progress: Progress | None = None,
                     stop: Callable[[], bool] | None = None,
                     threads: int | str | None = "policy") -> RunResult:
    """Train for preset.training.steps, then run the sampler to the end of its schedule.
    `threads`: "policy" sets torch's thread count by core/threads.py, a number sets that
    many, None leaves torch's setting as it is."""
    progress = progress or (lambda *a: None)
    trainer = Trainer(preset)
    if threads == "policy":
        thread_policy.apply()
    elif threads is not None:
        torch.set_num_threads(int(threads))
    steps = trainer.budget
    fisher_rows: dict[int, float] = {}
    true_known = True
    interrupted = False
    try:
        while trainer.step_count < steps:
            if stop and stop():
                interrupted = True
                break
            chunk = min(EVAL_EVERY - trainer.step_count % EVAL_EVERY, steps - trainer.step_count)
            trainer.step(chunk)
            ev = trainer.evaluate()
            fisher_rows[trainer.step_count] = ev["fisher_divergence"]
            progress("train", trainer.step_count, steps)
    except KeyboardInterrupt:
        interrupted = True

    score = trainer.true_score() if preset.sampler["score"] == "true" else trainer.learned_score()
    sampler = Sampler(preset, score, trainer.device)
    try:
        while not sampler.done and not interrupted:
            sampler.advance(max(1, sampler.total // 100))
            progress("sample", sampler.done_steps, sampler.total)
    except KeyboardInterrupt:
        interrupted = True
    samples = sampler.numpy()

    ev = trainer.evaluate(record=trainer.step_count > 0)
    metrics = {
        "steps": trainer.step_count,
        "train_seconds": round(trainer.train_seconds, 4),
        "steps_per_second": (round(trainer.step_count / trainer.train_seconds, 2)
                             if trainer.train_seconds > 0 else None),
        "final_loss": trainer.losses[-1] if trainer.losses else None,
        "fisher_divergence": ev["fisher_divergence"] if true_known else None,
        "relative_fisher_divergence": ev["relative_fisher_divergence"] if true_known else None,
        "fisher_measured_on": level_text(preset, trainer.fisher_level),
        "device": str(trainer.device),
        "threads": torch.get_num_threads(),
        "objective": preset.objective["kind"],
        "sampler": preset.sampler["kind"],
        "sampler_score": preset.sampler["score"],
        "true_score": trainer.density.score_source,
    }
    if trainer.device_note:
        metrics["device_note"] = trainer.device_note
    comps = trainer.density.components()
    if comps is not None:
        metrics["mode_weights"] = [round(w, 6) for w in M.mode_weights(samples, comps)]
        metrics["true_weights"] = [round(float(w), 6) for w in comps[0]]
    if interrupted:
        metrics["interrupted"] = True
    return RunResult(metrics, samples, trainer, sampler, fisher_rows, interrupted)


# --- writing -----------------------------------------------------------------------------

def _atomic(path: Path, write: Callable[[Path], None]) -> None:
    tmp = path.with_name(f".{path.name}.part")
    try:
        write(tmp)
        tmp.replace(path)
    finally:
        tmp.unlink(missing_ok=True)


def write_outputs(result: RunResult, preset: Preset, out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    written = portable_preset(preset, out)
    _atomic(out / "preset.toml", lambda p: p.write_text(written.to_toml()))
    _atomic(out / "metrics.json", lambda p: p.write_text(json.dumps(result.metrics, indent=2) + "\n"))
    _atomic(out / "loss.csv", lambda p: p.write_text(loss_csv(result)))
    _atomic(out / "samples.npy", lambda p: _save_npy(p, result.samples.astype(np.float32)))
    pts, learned, true = field_arrays(result.trainer, preset)
    _atomic(out / "field.npz", lambda p: _save_npz(p, points=pts, learned=learned, true=true))
    state = {k: v.detach().cpu().contiguous() for k, v in result.trainer.model.state_dict().items()}
    meta = {"preset": written.to_toml()}
    _atomic(out / "model.safetensors", lambda p: save_file(state, str(p), metadata=meta))


def _save_npy(path: Path, arr: np.ndarray) -> None:
    with open(path, "wb") as f:
        np.save(f, arr)


def _save_npz(path: Path, **arrays) -> None:
    with open(path, "wb") as f:
        np.savez(f, **arrays)


def loss_csv(result: RunResult) -> str:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["step", "loss", "fisher"])
    for i, loss in enumerate(result.trainer.losses, start=1):
        f = result.fisher_rows.get(i)
        w.writerow([i, repr(float(loss)), "" if f is None else repr(float(f))])
    return buf.getvalue()


def field_arrays(trainer: Trainer, preset: Preset) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    pts = grid_points(preset.density["bounds"], int(preset.view["grid"]))
    x = torch.from_numpy(pts).to(trainer.device)
    learned = torch.cat([trainer.learned_score().field(b) for b in torch.split(x, 8192)])
    true = torch.cat([trainer.true_score().field(b) for b in torch.split(x, 8192)])
    return pts, learned.cpu().numpy().astype(np.float32), true.cpu().numpy().astype(np.float32)


def portable_preset(preset: Preset, out: Path) -> Preset:
    """The preset as written beside the results: data files copied next to it, paths relative."""
    p = preset.copy()
    if "path" in p.density:
        src = (preset.base_dir / p.density["path"]).resolve()
        dst = out / src.name
        if src != dst.resolve():
            shutil.copyfile(src, dst)
        p.density["path"] = src.name
        p.base_dir = out
    return p

