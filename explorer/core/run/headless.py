"""A whole run without a window: train, sample, measure, write the files of docs/design.md §5.

Used by `score-explorer run` and by the tests and benchmarks, so the figures quoted for
headless runs are the figures of this code. Every file is written to a temporary name and
renamed, so an interrupted run leaves complete files or none; files get the permissions
the umask allows, like any other program's.

A run that goes wrong still writes what it has: training that diverges keeps the last
finite weights and the loss so far, and metrics.json says at which step and why
(`diverged`); a sampler whose particles blow up stops there (`sampler_diverged`) and
writes no samples. `RunResult.failure` is then the one-line advice for the user.
"""

from __future__ import annotations

import csv
import hashlib
import json
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np
import torch
from safetensors.torch import save_file

from ..presets import budget
from ..errors import OutputError
from ..files import write_atomic
from ..measures.grid import grid_points
from ..measures.density_grid import FineDensity, fine_density, fine_density_metrics
from ..measures.learned_density import LearnedDensity, learned_log_density
from ..training.model_file import file_metadata, state_of
from ..presets.preset import Preset
from ..samplers import Sampler, build_sampler
from ..scores import level_text
from ..measures.noise_error import NoiseError
from ..measures.sample_quality import sample_metrics
from ..session import Session
from ..training.trainer import Trainer
from ..measures import metrics as M
from ..measures import model_likelihood as ML
from ..training import threads as thread_policy

BAD_RELATIVE_FISHER = 10.0  # a zero score has relative Fisher divergence 1


@dataclass
class RunResult:
    metrics: dict
    samples: np.ndarray
    trainer: Trainer
    sampler: Sampler | None
    fisher_rows: dict[int, float] = field(default_factory=dict)
    interrupted: bool = False
    failure: str | None = None  # what went wrong and what to change (diverged, blew up)
    field: tuple | None = None  # (points, learned, true) on the view grid, for field.npz
    density: LearnedDensity | None = None   # learned vs true density on that grid
    likelihood: tuple | None = None  # (points, log p by the ODE, true log p) on a coarse grid
    fine: FineDensity | None = None  # learned and exact-score densities where the figures are taken


Progress = Callable[[str, int, int], None]  # (phase, done, total)


def train_and_sample(preset: Preset, progress: Progress | None = None,
                     stop: Callable[[], bool] | None = None,
                     threads: int | str | None = "policy") -> RunResult:
    """Train for preset.training.steps, then run the sampler to the end of its schedule.
    `threads`: "policy" sets torch's thread count by core/training/threads.py, a number sets that
    many, None leaves torch's setting as it is."""
    session = Session(preset)
    if threads == "policy":
        thread_policy.apply()
    elif threads is not None:
        torch.set_num_threads(int(threads))
    trained = session.train_here(progress, stop)
    trainer, diverged, interrupted = session.trainer, trained.diverged, trained.interrupted
    fisher_rows = trained.fisher_rows
    true_known = True

    true_score = preset.sampler["score"] == "true"
    sample = not interrupted and (diverged is None or true_score)
    if sample:
        sampler, interrupted = session.sample_here(progress)
    else:   # nothing to sample from: a sampler that has not moved, for the metrics below
        score = trainer.true_score() if true_score else trainer.learned_score()
        sampler = build_sampler(preset, score, trainer.device)
    blowup = sampler.blowup_message()
    # no samples from a model that diverged before sampling, nor particles that blew up
    samples = sampler.numpy() if sample and blowup is None else None

    ev = trainer.evaluate(record=trainer.step_count > 0)
    metrics = metrics_header(trainer, preset, ev, trainer.losses[-1] if trainer.losses else None,
                             true_known)
    metrics["nfe"] = int(getattr(sampler, "nfe", 0))     # score evaluations of the sampler
    if trainer.device_note:
        metrics["device_note"] = trainer.device_note
    fine = fine_density(trainer, preset)     # the figures: on a grid fine enough (density_grid.py)
    metrics.update(model_metrics(trainer, preset, samples, fine))
    failure = None
    if diverged is not None:
        metrics.update(diverged=True, diverged_step=diverged.step, diverged_reason=diverged.reason)
        failure = str(diverged)
    if blowup is not None:
        metrics.update(sampler_diverged=True, sampler_diverged_step=sampler.blown_up_at,
                       sampler_diverged_reason=blowup)
        failure = failure or f"sampling blew up: {blowup}"
    if interrupted:
        metrics["interrupted"] = True
    field_grid = field_arrays(trainer, preset)
    density = learned_log_density(trainer, preset, field=field_grid[1])   # field.npz's, view grid
    likelihood = None
    if ML.available(preset) and not interrupted and diverged is None:
        # the model's likelihood by its ODE; untrained with score = "true": the exact score's,
        # which must give the density's own log p (the check of the whole chain)
        source = trainer.model if trainer.step_count > 0 or not true_score else trainer.density
        metrics.update(ML.nll_metrics(preset, source, trainer.density, trainer.device))
        metrics["nll_of"] = "learned model" if source is trainer.model else "exact score"
        likelihood = ML.likelihood_grid(preset, source, trainer.density)
    return RunResult(metrics, samples, trainer, sampler, fisher_rows, interrupted, failure,
                     field_grid, density, likelihood, fine)


def metric_warnings(metrics: dict) -> list[str]:
    """Figures that say the run, though it finished, learned something useless."""
    out = []
    rel = metrics.get("relative_fisher_divergence")
    if rel is not None and not rel <= BAD_RELATIVE_FISHER:
        out.append(f"relative Fisher divergence {rel:.4g} at the end: the learned score is worse "
                   f"than zero (a zero score has 1); lower training.lr or train longer")
    return out


# --- writing -----------------------------------------------------------------------------

def _atomic(path: Path, write: Callable[[Path], None]) -> None:
    """files.write_atomic, with an OSError as an OutputError naming the file (disk full,
    read-only)."""
    try:
        write_atomic(path, write)
    except OSError as e:
        if isinstance(e, OutputError):
            raise
        raise OutputError(path, e) from None


# safetensors refuses headers over 100 MB; the preset (and its description, which may be a
# long text) is written beside the weights anyway, so the header holds it only when small.
MAX_HEADER_PRESET = 64 * 1024


def write_outputs(result: RunResult, preset: Preset, out: Path) -> None:
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise OutputError(out, e) from None
    written = portable_preset(preset, out)
    text = written.to_toml()
    _atomic(out / "preset.toml", lambda p: p.write_text(text))
    safe = M.json_safe(result.metrics)
    _atomic(out / "metrics.json",
            lambda p: p.write_text(json.dumps(safe, indent=2, allow_nan=False) + "\n"))
    _atomic(out / "loss.csv", lambda p: write_loss_csv(p, result))
    if result.samples is not None:
        _atomic(out / "samples.npy", lambda p: _save_npy(p, result.samples.astype(np.float32)))
    else:  # a samples.npy of an earlier run must not pass for this one's
        try:
            (out / "samples.npy").unlink(missing_ok=True)
        except OSError as e:
            raise OutputError(out / "samples.npy", e) from None
    pts, learned, true = result.field if result.field is not None else field_arrays(result.trainer, preset)
    dens = result.density if result.density is not None else \
        learned_log_density(result.trainer, preset, field=learned)
    true_logp = dens.true_logp if dens.true_logp is not None else np.full(len(pts), np.nan)
    arrays = dict(points=pts, learned=learned, true=true,
                  learned_logp=dens.learned_logp.astype(np.float32), true_logp=true_logp.astype(np.float32))
    if result.likelihood is not None:   # sde, flow_matching: log p by the ODE on a coarse grid
        lp_pts, lp_learned, lp_true = result.likelihood
        arrays.update(ode_points=lp_pts.astype(np.float32), ode_logp=lp_learned.astype(np.float32),
                      ode_true_logp=lp_true.astype(np.float32))
    if result.fine is not None:   # the grid metrics.json's density figures are taken on
        f = result.fine
        arrays.update(density_points=f.points.astype(np.float32),
                      density_learned=f.learned_field.astype(np.float32),
                      density_learned_logp=f.learned.learned_logp.astype(np.float32),
                      density_exact_score_logp=f.exact.learned_logp.astype(np.float32),
                      density_true_logp=(f.learned.true_logp if f.learned.true_logp is not None
                                         else np.full(len(f.points), np.nan)).astype(np.float32))
    _atomic(out / "field.npz", lambda p: _save_npz(p, **arrays))
    if result.metrics.get("nll_hutchinson_variance_by_k"):   # Hutchinson's variance against k
        from ..measures.hutchinson_plot import draw_variance_by_k
        draw_variance_by_k(result.metrics, out / "likelihood_probes.png")   # OutputError if not
    # the sampling model's weights: the moving average with training.ema > 0 (core/training/model_file.py)
    state = state_of(result.trainer)
    meta = {"preset_sha256": hashlib.sha256(text.encode()).hexdigest(), "preset_file": "preset.toml",
            **file_metadata(result.trainer)}
    if len(text) <= MAX_HEADER_PRESET:
        meta["preset"] = text
    _atomic(out / "model.safetensors", lambda p: save_file(state, str(p), metadata=meta))


def _save_npy(path: Path, arr: np.ndarray) -> None:
    with open(path, "wb") as f:
        np.save(f, arr)


def _save_npz(path: Path, **arrays) -> None:
    with open(path, "wb") as f:
        np.savez(f, **arrays)


def write_loss_csv(path: Path, result: RunResult) -> None:
    """step,loss,fisher, streamed: ten million steps are never one string in memory."""
    with open(path, "w", newline="") as f:
        _loss_rows(f, result)


def loss_csv(result: RunResult) -> str:
    import io
    buf = io.StringIO()
    _loss_rows(buf, result)
    return buf.getvalue()


def _loss_rows(f, result: RunResult) -> None:
    w = csv.writer(f, lineterminator="\n")
    w.writerow(["step", "loss", "fisher"])
    for i, loss in enumerate(result.trainer.losses, start=1):
        fi = result.fisher_rows.get(i)
        w.writerow([i, repr(float(loss)), "" if fi is None else repr(float(fi))])


def metrics_header(trainer: Trainer, preset: Preset, ev: dict, final_loss: float | None,
                   true_known: bool = True) -> dict:
    """The first keys of metrics.json (docs/design.md §5): how long and how fast the model
    trained, its Fisher divergence and where it was measured, and what ran. Shared by `run`
    and a run folder written from the window or the API (run/folder.py)."""
    secs = trainer.train_seconds
    return {
        "steps": trainer.step_count,
        "train_seconds": round(secs, 4),
        "steps_per_second": round(trainer.step_count / secs, 2) if secs > 0 else None,
        "final_loss": final_loss,
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


def model_metrics(trainer: Trainer, preset: Preset, samples: np.ndarray | None,
                  fine: FineDensity | None = None) -> dict:
    """The figures of metrics.json after its header, for the model as it is now and its
    particles (None: none to measure): mode weights, Fisher divergence along the noise, the
    sample-quality figures beside their noise floors, the learned density's figures. One
    block for `run`, a run folder written from the window (run/folder.py) and `se.evaluate`."""
    m = {}
    comps = trainer.density.components()
    if comps is not None and samples is not None and len(samples):
        m["mode_weights"] = [round(w, 6) for w in M.mode_weights(samples, comps)]
        m["true_weights"] = [round(float(w), 6) for w in comps[0]]
    levels = NoiseError(preset, trainer.density, device=trainer.device)
    if levels.levels and trainer.step_count > 0:   # NCSN, DDPM: where along the noise it is wrong
        m["fisher_by_noise"] = levels.measure(trainer.model)
    if samples is not None and len(samples) >= 2:
        # against exact samples, beside the same figures for exact samples (the noise floor)
        m["sample_metrics"] = sample_metrics(samples, trainer.density, preset.density["bounds"],
                                             preset.sampler["seed"])
    m.update(fine_density_metrics(trainer, preset, fine))
    return m


def field_arrays(trainer: Trainer, preset: Preset) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    pts = grid_points(preset.density["bounds"], int(preset.view["grid"]))
    x = torch.from_numpy(pts).to(trainer.device)
    rows = budget.rows_per_chunk(preset)
    learned = torch.cat([trainer.learned_score().field(b).cpu() for b in torch.split(x, rows)])
    true = torch.cat([trainer.true_score().field(b).cpu() for b in torch.split(x, rows)])
    return pts, learned.numpy().astype(np.float32), true.numpy().astype(np.float32)


def portable_preset(preset: Preset, out: Path) -> Preset:
    """The preset as written beside the results: data files copied next to it (through a
    temporary name, so a killed run never leaves half a copy), paths relative."""
    p = preset.copy()
    if "path" in p.density:
        src = (preset.base_dir / p.density["path"]).resolve()
        dst = out / src.name
        if src != dst.resolve():
            _atomic(dst, lambda tmp: shutil.copyfile(src, tmp))
        p.density["path"] = src.name
        p.base_dir = out
    return p

