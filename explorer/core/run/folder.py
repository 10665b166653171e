"""A run's folder (docs/design.md §5) read back into a trained Trainer, and written from one.

`score-explorer run` writes a folder; the window's File > Save session as and the API's
`save_run` write the same layout from a model trained elsewhere; `open_folder` reads any
of them back: the preset, the weights, the loss and Fisher history and the final
particles. Reading is strict about what would make the run another run (weights that do
not fit the preset's network, particles of another dimension) and names the file at
fault in a SpecError; it never unpickles (safetensors, `np.load(allow_pickle=False)`).

Why the reopened run evaluates to the numbers of its metrics.json: the evaluation
samples of the Fisher divergence are drawn from the preset's seed (Trainer.eval_samples),
the weights are stored exactly (float32 in, float32 out), so the same preset and the same
weights give the same figure.
"""

from __future__ import annotations

import csv
import json
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from ..presets import preset as P
from ..errors import OutputError, SpecError
from ..files import PRESET_LIMIT, read_limited, write_atomic
from ..measures.learned_density import learned_log_density
from ..presets.preset import Preset
from .headless import RunResult, field_arrays, metrics_header, model_metrics, write_outputs
from ..training.trainer import Trainer

REQUIRED = ("preset.toml", "model.safetensors")
LOSS_CSV_LIMIT = 2 * 1024 ** 3   # ten million steps are ~400 MB of text


@dataclass
class OpenedRun:
    folder: Path
    preset: Preset
    trainer: Trainer          # weights loaded; step_count, fisher and train_seconds restored
    loss_steps: np.ndarray    # the steps of loss.csv's rows (every step, or the window's bins)
    loss_values: np.ndarray
    samples: np.ndarray | None    # samples.npy, (n, d) float32, or None where there is none
    metrics: dict | None          # metrics.json as written, or None


def is_run_folder(path) -> bool:
    p = Path(path)
    return p.is_dir() and all((p / name).is_file() for name in REQUIRED)


def open_folder(folder, device: str | torch.device | None = None) -> OpenedRun:
    """The run in `folder`, trained as it was saved. SpecError (naming the file) where the
    folder is not a run or its files do not fit together."""
    folder = Path(folder)
    if not folder.is_dir():
        raise SpecError("", "not a folder (a run folder holds preset.toml, model.safetensors, "
                            "loss.csv, samples.npy)", str(folder))
    missing = [name for name in REQUIRED if not (folder / name).is_file()]
    if missing:
        raise SpecError("", f"not a run folder: no {' or '.join(missing)} (written by "
                            f"`score-explorer run` or the window's File > Save session as)",
                        str(folder))
    path = folder / "preset.toml"
    preset = P.load_bytes(read_limited(str(path), "", PRESET_LIMIT), path)
    density = preset.build_density()
    trainer = Trainer(preset, density, device=torch.device(device) if device else None)
    load_weights_file(folder / "model.safetensors", trainer.model, preset)
    metrics = _read_metrics(folder / "metrics.json")
    steps, losses, fisher = read_loss_csv(folder / "loss.csv")
    trainer.losses = []   # the history is loss_steps, loss_values; training goes on from here
    written = metrics.get("steps") if metrics else None
    trainer.step_count = max(int(steps[-1]) if len(steps) else 0,
                             written if isinstance(written, int) else 0)
    if metrics and isinstance(metrics.get("train_seconds"), (int, float)):
        trainer.train_seconds = float(metrics["train_seconds"])
    trainer.fisher = _fisher_rows(trainer, fisher)
    samples = _read_samples(folder / "samples.npy", preset.dim)
    return OpenedRun(folder, preset, trainer, steps, losses, samples, metrics)


def load_weights_file(path: Path, model: torch.nn.Module, preset: Preset) -> None:
    """The weights of `path` into `model`, after checking every tensor's name and shape
    against the network the preset builds."""
    from safetensors import SafetensorError
    from safetensors.torch import load_file
    try:
        state = load_file(str(path), device="cpu")
    except (SafetensorError, OSError, ValueError) as e:
        raise SpecError("", f"cannot read the weights: {' '.join(str(e).splitlines())}",
                        str(path)) from None
    want = model.state_dict()
    net = f"[model] kind = {preset.model.get('kind')!r}, hidden = {preset.model.get('hidden')}"
    for name in sorted(set(want) | set(state)):
        if name not in state:
            raise SpecError("", f"the weights do not match the preset's network ({net}): "
                                f"no tensor {name!r}", str(path))
        if name not in want:
            raise SpecError("", f"the weights do not match the preset's network ({net}): "
                                f"tensor {name!r} is not in it", str(path))
        if tuple(state[name].shape) != tuple(want[name].shape):
            raise SpecError("", f"the weights do not match the preset's network ({net}): "
                                f"{name} is {tuple(state[name].shape)}, the network's is "
                                f"{tuple(want[name].shape)}", str(path))
        if not torch.isfinite(state[name]).all():
            raise SpecError("", f"tensor {name} holds NaN or infinite values", str(path))
    model.load_state_dict({k: v.to(want[k].dtype) for k, v in state.items()})


def read_loss_csv(path: Path) -> tuple[np.ndarray, np.ndarray, dict[int, float]]:
    """(steps, losses, {step: F}) of loss.csv; empty where the file is absent."""
    if not path.is_file():
        return np.zeros(0, dtype=np.int64), np.zeros(0), {}
    if path.stat().st_size > LOSS_CSV_LIMIT:
        raise SpecError("", "larger than 2 GB: not a loss history", str(path))
    steps, losses, fisher, last = [], [], {}, 0
    try:
        with open(path, newline="", encoding="utf-8") as f:
            rows = csv.reader(f)
            header = next(rows, None)
            if header is None or header[:2] != ["step", "loss"]:
                raise SpecError("", "the first line must be step,loss[,fisher]", str(path))
            for line, row in enumerate(rows, start=2):
                if not row:
                    continue
                try:
                    step = int(row[0])
                    loss = float(row[1]) if row[1] != "" else math.nan
                    fi = float(row[2]) if len(row) > 2 and row[2] != "" else None
                except (ValueError, IndexError):
                    raise SpecError("", f"line {line}: expected step,loss[,fisher] numbers, "
                                        f"got {','.join(row)[:80]!r}", str(path)) from None
                if step <= last:
                    raise SpecError("", f"line {line}: step {step} does not come after "
                                        f"step {last}", str(path))
                last = step
                if not math.isnan(loss):
                    steps.append(step)
                    losses.append(loss)
                if fi is not None:
                    fisher[step] = fi
    except UnicodeDecodeError:
        raise SpecError("", "not UTF-8 text", str(path)) from None
    return np.asarray(steps, dtype=np.int64), np.asarray(losses, dtype=np.float64), fisher


def _fisher_rows(trainer: Trainer, fisher: dict[int, float]) -> list[tuple[int, float, float]]:
    """(step, F, relative F) rows from loss.csv's F column: relative F = F / (1/2 E|grad log
    p|^2) on the run's evaluation samples, the denominator taken from one evaluation now."""
    if not fisher:
        return []
    ev = trainer.evaluate(record=False)
    f, rel = ev["fisher_divergence"], ev["relative_fisher_divergence"]
    scale = rel / f if f > 0 and math.isfinite(rel) else math.nan
    return [(s, float(v), float(v * scale)) for s, v in sorted(fisher.items())]


def _read_metrics(path: Path) -> dict | None:
    if not path.is_file():
        return None
    try:
        data = json.loads(read_limited(str(path), "", PRESET_LIMIT).decode("utf-8"))
    except (ValueError, UnicodeDecodeError) as e:
        raise SpecError("", f"not valid JSON: {e}", str(path)) from None
    if not isinstance(data, dict):
        raise SpecError("", "not a JSON object", str(path))
    return data


def _read_samples(path: Path, dim: int) -> np.ndarray | None:
    if not path.is_file():
        return None
    try:
        x = np.load(path, allow_pickle=False)
    except (ValueError, OSError, EOFError) as e:
        raise SpecError("", f"cannot read the particles: {e}", str(path)) from None
    if x.ndim != 2 or x.shape[1] != dim or not np.issubdtype(x.dtype, np.number):
        raise SpecError("", f"particles must be an (n, {dim}) array of numbers for this "
                            f"{dim}-D preset, got shape {x.shape}", str(path))
    return x.astype(np.float32)


# --- writing a run folder from a model trained elsewhere (the window, the API) -------------

def snapshot_metrics(trainer: Trainer, preset: Preset, samples: np.ndarray | None,
                     final_loss: float | None) -> tuple[dict, tuple, object]:
    """metrics.json of `score-explorer run` for a model as it is now: (metrics, the field
    grid, the learned density). The final evaluation is recorded in trainer.fisher (as
    `run` records it) unless one at this step is there already."""
    record = trainer.step_count > 0 and not (trainer.fisher and trainer.fisher[-1][0] == trainer.step_count)
    ev = trainer.evaluate(record=record)
    m = metrics_header(trainer, preset, ev, final_loss)
    m.update(model_metrics(trainer, preset, samples))   # the figures, as `run` takes them
    grid = field_arrays(trainer, preset)
    density = learned_log_density(trainer, preset, field=grid[1])   # field.npz's, view grid
    return m, grid, density


def save_folder(out, trainer: Trainer, preset: Preset, loss_steps=None, loss_values=None,
                samples: np.ndarray | None = None, saved_from: str = "window") -> dict:
    """Write the files of `score-explorer run` for `trainer` into `out`; the metrics. The
    loss history may be binned (the window keeps means of bins on long runs: each row's
    step is the last of its bin)."""
    out = Path(out)
    if loss_steps is None:
        loss_values = np.asarray(trainer.losses, dtype=np.float64)
        loss_steps = np.arange(1, len(loss_values) + 1)
    loss_steps = np.asarray(loss_steps, dtype=np.int64)
    loss_values = np.asarray(loss_values, dtype=np.float64)
    if samples is not None:
        samples = np.asarray(samples, dtype=np.float32).reshape(-1, preset.dim)
        samples = samples if np.isfinite(samples).all() and len(samples) else None
    final = float(loss_values[-1]) if len(loss_values) else None
    metrics, grid, density = snapshot_metrics(trainer, preset, samples, final)
    metrics["saved_from"] = saved_from
    result = RunResult(metrics, samples, trainer, None, field=grid, density=density)
    write_outputs(result, preset, out)
    rows = {int(s): float(f) for s, f, _ in trainer.fisher if s >= 1}   # `run` starts at step 1
    try:
        write_atomic(out / "loss.csv", lambda p: _write_rows(p, loss_steps, loss_values, rows))
    except OSError as e:
        raise OutputError(out / "loss.csv", e) from None
    return metrics


def _write_rows(path: Path, steps: np.ndarray, values: np.ndarray, fisher: dict[int, float]) -> None:
    """step,loss,fisher as `run` writes it; a Fisher evaluation at a step with no loss row
    of its own (a binned history) gets a row with the loss empty."""
    losses = dict(zip(steps.tolist(), values.tolist()))
    with open(path, "w", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(["step", "loss", "fisher"])
        for s in sorted(set(losses) | set(fisher)):
            loss = losses.get(s)
            fi = fisher.get(s)
            w.writerow([s, "" if loss is None else repr(loss), "" if fi is None else repr(fi)])
