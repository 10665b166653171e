"""Memory limits: what a preset may ask for, and how finely evaluations are chunked.

The schema allows values (a 3-D grid of 512, a network of 16 x 4096 units, a batch of a
million) whose products exhaust any machine. Two rules keep every run near or below
about 1 GB whatever the preset says:

- what cannot be chunked (the training step: the weights, Adam's state and the
  activations kept for the backward pass; the grid written to field.npz) is estimated
  at load time and refused above `MEMORY_LIMIT`, with a message naming the key;
- everything that can be chunked (scores of the particles, of the grid, of the
  evaluation samples) is evaluated `rows_per_chunk` rows at a time, each chunk's
  activations within `CHUNK_BYTES`.

The estimates count float32 tensors of the MLP (see models.py), with a factor per
objective for the tangents or second graphs it keeps; they are meant to be within a
factor of about two of what torch allocates (checked in tests/test_faults_headless.py).
"""

from __future__ import annotations

from ..errors import SpecError

GB = 1 << 30
MEMORY_LIMIT = 1 * GB
CHUNK_BYTES = 128 << 20
MAX_GRID_POINTS = 1 << 20  # 1,048,576 (3-D: 101^3): the learned density's potential solve
# keeps about 700 bytes per grid point; at 128^3 a run peaked at 1.96 GB (issue 28)
FLOAT = 4

# Per hidden unit and row, tensors alive for the backward pass: the linear output, the
# activation and its derivative.
_PER_UNIT = 3
# Tangent or second-order graphs on top of that, per objective (d = dimension).
_OBJECTIVE_FACTOR = {"ism": lambda d: 1 + d, "ssm": lambda d: 2, "ssm_vr": lambda d: 2}


def parameter_count(dim: int, hidden, conditioned: bool, energy: bool) -> int:
    widths = [dim + (1 if conditioned else 0), *hidden, 1 if energy else dim]
    return sum(a * b + b for a, b in zip(widths[:-1], widths[1:]))


def _model_shape(p, conditioned: bool = True):
    """(dim, hidden widths, conditioned, energy). `conditioned`: whether the network takes a
    noise level too (one more input); the caller that knows the objective says, else the
    estimate counts it (an upper bound by one input column)."""
    return (p.dim, [int(h) for h in p.model["hidden"]], conditioned, p.model["kind"] == "energy")


def training_bytes(p, conditioned: bool = True) -> tuple[int, int]:
    """(bytes of weights + gradients + Adam moments + rollback copy, bytes of activations)."""
    dim, hidden, cond, energy = _model_shape(p, conditioned)
    params = parameter_count(dim, hidden, cond, energy) * FLOAT * 5
    o = p.objective
    rows = int(p.training["batch_size"]) * (int(o["projections"]) if o["kind"] in ("ssm", "ssm_vr") else 1)
    factor = _OBJECTIVE_FACTOR.get(o["kind"], lambda d: 1)(dim) * (2 if energy else 1)
    acts = rows * sum(hidden) * _PER_UNIT * factor * FLOAT
    return params, acts


def rows_per_chunk(p) -> int:
    """Rows of points per model evaluation so that one chunk's tensors stay within CHUNK_BYTES.

    An energy model keeps its graph for grad E even when evaluated, so all layers count."""
    dim, hidden, _, energy = _model_shape(p)
    per_row = (sum(hidden) * _PER_UNIT * 2 if energy else max(hidden) * _PER_UNIT) * FLOAT
    return max(64, min(1 << 20, CHUNK_BYTES // max(per_row, 1)))


def _gb(n: int) -> str:
    return f"{n / GB:.3g} GB" if n >= GB / 10 else f"{n / (1 << 20):.3g} MB"


def check_preset(p, conditioned: bool = True) -> None:
    """SpecError naming the key when a preset asks for more memory than MEMORY_LIMIT."""
    g, d = int(p.view["grid"]), p.dim
    if g ** d > MAX_GRID_POINTS:
        most = int(round(MAX_GRID_POINTS ** (1 / d)))
        while most ** d > MAX_GRID_POINTS:
            most -= 1
        raise SpecError("view.grid", f"{g}^{d} = {g ** d:,} grid points; at most "
                                     f"{MAX_GRID_POINTS:,} (view.grid at most {most} in {d}-D)")
    params, acts = training_bytes(p, conditioned)
    hidden = p.model["hidden"]
    shape = (f"[{hidden[0]} x {len(hidden)}]" if len(set(hidden)) == 1 and len(hidden) > 2
             else str(list(hidden)))
    if params > MEMORY_LIMIT:
        raise SpecError("model.hidden", f"{shape} needs about {_gb(params)} for its weights and "
                                        f"optimizer state; at most {_gb(MEMORY_LIMIT)}: use fewer "
                                        f"or narrower layers")
    if int(p.training["steps"]) > 0 and params + acts > MEMORY_LIMIT:
        per = max(acts // max(int(p.training["batch_size"]), 1), 1)
        most = max(1, (MEMORY_LIMIT - params) // per)
        raise SpecError("training.batch_size",
                        f"{p.training['batch_size']:,} samples through model.hidden {shape} keep "
                        f"about {_gb(acts)} of activations for the backward pass; at most "
                        f"{_gb(MEMORY_LIMIT)} in all: use batch_size {most:,} or less, or a "
                        f"smaller network")


# A density made of many terms (mixture components, the centres of a kernel density) costs
# terms x rows to evaluate on `rows` points: the particles, the view's grid, the 10,000
# evaluation samples of the Fisher divergence. Each is chunked (memory), but time is not: a
# 10,000-component mixture on 2,000,000 particles is 2e10 Gaussians per sampler step.
KERNEL_TERMS = 4_000_000_000
EVAL_ROWS = 10_000   # training.EVAL_SAMPLES (not imported: budget stays torch-free)


def density_terms(density) -> int | None:
    centres = getattr(density, "centres", None)
    if centres is not None:
        return int(len(centres))
    comps = density.components() if hasattr(density, "components") else None
    return None if comps is None else int(len(comps[0]))


def check_density_work(p, density) -> None:
    """SpecError naming the key when the density's terms times the rows it is evaluated on
    exceed KERNEL_TERMS (minutes per evaluation, or hours of sampling)."""
    terms = density_terms(density)
    if not terms:
        return
    rows = {"sampler.particles": int(p.sampler["particles"]),
            "view.grid": int(p.view["grid"]) ** p.dim, "": EVAL_ROWS}
    key, n = max(rows.items(), key=lambda kv: kv[1])
    if terms * n <= KERNEL_TERMS:
        return
    points = p.density["kind"] in ("points", "image") or hasattr(density, "centres")
    what = "kernel centres" if points else "components"
    own = "density.path" if p.density["kind"] in ("points", "image") else "density.means"
    on = {"sampler.particles": f"{n:,} particles", "view.grid": f"{n:,} grid points",
          "": f"the {n:,} evaluation samples"}[key]
    if key:
        fix = f"use {key} {_most(key, KERNEL_TERMS // terms, p.dim)} or less, or fewer {what}"
    else:
        fix = f"use at most {KERNEL_TERMS // n:,} {what}"
    raise SpecError(key or own, f"{terms:,} {what} evaluated on {on} is {terms * n:.3g} terms per "
                                f"pass; at most {KERNEL_TERMS:.0e}: {fix}")


def _most(key: str, rows: int, dim: int) -> str:
    if key == "view.grid":
        g = max(2, int(rows ** (1 / dim)))
        while g > 2 and g ** dim > rows:
            g -= 1
        return str(g)
    return f"{max(1, rows):,}"
