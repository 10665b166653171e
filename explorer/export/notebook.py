"""A session as a Jupyter notebook that reproduces it through `explorer.api`.

The notebook holds the preset inline as TOML (edit it and run again), trains with a
progress bar, draws the window's pictures with `se.show`, samples, prints the metrics of
`score-explorer run` and saves the run as a folder the window opens. Its markdown cells
come from the preset's description and, for a shipped preset, from the lesson steps that
use it. It is written as nbformat 4 JSON directly (nbformat itself is only needed to run
it, not to write it), through a temporary file: a failed write leaves nothing.

Why every cell goes through the public API: the notebook must keep working when the
window's internals change, and it is what a student reads to learn the API.
"""

from __future__ import annotations

import datetime
import json
import os
import re
import tomllib
from pathlib import Path

from ..core.presets.edits import with_changes
from ..core.errors import SpecError
from ..core.files import write_atomic
from ..core.objectives import short_label
from ..core.presets.preset import Preset
from ..core.run.headless import portable_preset
from ..core.samplers import sampler_label

EVAL_EVERY = 100          # as `score-explorer run`: the Fisher divergence every 100 steps
LESSON_TEXT_MAX = 1200    # characters of a lesson step's text taken into a markdown cell


def check_notebook_path(path, key: str = "--out") -> Path:
    """The destination, or a SpecError on `key` before any work is done: a .ipynb name in a
    folder that exists and takes files."""
    path = Path(path)
    if path.suffix.lower() != ".ipynb":
        raise SpecError(key, f"a notebook file ends in .ipynb, got {str(path)!r}")
    if path.is_dir():
        raise SpecError(key, f"{path} is a folder")
    folder = path.parent if str(path.parent) else Path(".")
    if not folder.is_dir():
        raise SpecError(key, f"cannot write {path}: the folder {folder} does not exist")
    if not os.access(folder, os.W_OK | os.X_OK) or (path.exists() and not os.access(path, os.W_OK)):
        raise SpecError(key, f"cannot write {path}: permission denied")
    return path


def with_steps(preset: Preset, steps: int | None) -> Preset:
    """The preset with training.steps = `steps` (validated as the file's keys are)."""
    if steps is None:
        return preset
    try:
        return with_changes(preset, {"training.steps": int(steps)})
    except SpecError as e:
        raise SpecError("--steps", e.message) if e.key == "training.steps" else e from None


def write_notebook(path, preset: Preset, origin: str = "") -> Path:
    """Write the notebook for `preset` to `path` (.ipynb). Data files the preset names are
    copied beside it (as `run` copies them beside its preset.toml). `origin` says where the
    session came from, for the first cell."""
    path = check_notebook_path(path, "notebook")
    folder = path.parent.resolve()
    portable = portable_preset(preset, folder)
    cells = notebook_cells(portable, origin, run_folder=f"runs/{_slug(path.stem)}")
    text = json.dumps(_notebook(cells), indent=1, ensure_ascii=False) + "\n"
    try:
        write_atomic(path, lambda tmp: tmp.write_text(text, encoding="utf-8"))
    except OSError as e:
        raise SpecError("notebook", f"cannot write {path}: {e.strerror or e}") from None
    return path


# ---------------------------------------------------------------- the cells
def notebook_cells(preset: Preset, origin: str, run_folder: str) -> list[tuple[str, str]]:
    """[(cell type, source)]: the notebook, top to bottom."""
    steps = int(preset.training["steps"])
    obj, samp = short_label(preset.objective["kind"]), sampler_label(preset.sampler["kind"])
    learned = preset.sampler["score"] == "learned"
    head = [f"# {preset.name}", ""]
    if preset.description.strip():
        head += [preset.description.strip(), ""]
    head += [f"Exported from score-explorer{' (' + origin + ')' if origin else ''} on "
             f"{datetime.date.today().isoformat()}. Every cell uses `explorer.api`, the code "
             f"behind the window and `score-explorer run`; run the cells top to bottom (a plain "
             f"Python 3 kernel with score-explorer installed). Edit the preset below and run "
             f"again to try a variant."]
    cells = [("markdown", "\n".join(head))]
    for title, text in lesson_texts(preset):
        cells.append(("markdown", f"**From the lesson: {title}**\n\n{text}"))
    cells.append(("code", "\n".join([
        "%matplotlib inline",
        "import math",
        "import warnings",
        "",
        "import explorer.api as se",
        "from explorer.core.training import threads",
        "",
        "with warnings.catch_warnings():",
        "    warnings.simplefilter(\"ignore\")   # without ipywidgets the bar is plain text",
        "    from tqdm.auto import tqdm",
        "",
        "_ = threads.apply()   # torch's thread count as `score-explorer run` sets it",
    ])))
    cells.append(("markdown", "## The preset\n\nThe whole session as a preset file (every "
                  "default filled in): the density, the model, the objective, training, the "
                  "sampler. Data files it names are beside this notebook."))
    cells.append(("code", "\n".join([
        f"PRESET = {_toml_literal(preset.to_toml())}",
        "preset = se.loads(PRESET, base_dir=\".\")",
        "print(preset.name, \"-\", preset.density[\"kind\"], \"in\", preset.dim, \"dimension(s);\",",
        "      preset.objective[\"kind\"], \"objective,\", preset.training[\"steps\"], \"steps\")",
    ])))
    train_md = (f"## Training\n\n{obj} for {steps:,} steps (batch {preset.training['batch_size']}, "
                f"learning rate {preset.training['lr']:g}, seed {preset.training['seed']}). The "
                f"Fisher divergence F = ½ E|sθ(x) − ∇log p(x)|² to the true score is measured "
                f"every {EVAL_EVERY} steps on 10,000 samples of p, as in the window.")
    if not learned:
        train_md += ("\n\nThe sampler uses the exact score (`sampler.score = \"true\"`), so the "
                     "particles below do not depend on the training.")
    cells.append(("markdown", train_md))
    cells.append(("code", "\n".join([
        "steps = int(preset.training[\"steps\"])",
        "bar = tqdm(total=steps, desc=\"train\", unit=\"step\")",
        "",
        "def progress(step, loss):",
        "    bar.update(step - bar.n)",
        "    bar.set_postfix(loss=f\"{loss:.4g}\")",
        "",
        f"run = se.train(preset, every={EVAL_EVERY}, callback=progress)",
        "bar.close()",
        "if len(run.fisher):",
        "    step, F, rel = run.fisher[-1]",
        "    print(f\"step {int(step)}: Fisher divergence {F:.4g}, relative {rel:.4g}\")",
    ])))
    cells.append(("code", "se.show(run, \"loss\")"))
    cells.append(("markdown", "## The learned score\n\nThe learned score sθ(x) (orange) beside "
                  "the true score ∇log p(x) (blue) over the density, on the preset's view grid."))
    cells.append(("code", "se.show(run, \"field\")"))
    cells.append(("markdown", f"## Sampling\n\n{samp[0].upper() + samp[1:]} with the "
                  f"{'learned' if learned else 'exact'} score: "
                  f"{preset.sampler['particles']:,} particles to the end of its schedule."))
    cells.append(("code", "particles = se.sample(run)\nse.show(run, \"particles\")"))
    cells.append(("markdown", "## Metrics\n\nThe figures of `score-explorer run`'s metrics.json "
                  "for this model and these particles."))
    cells.append(("code", "\n".join([
        "metrics = se.evaluate(run, particles)",
        "print(f\"Fisher divergence F = {metrics['fisher_divergence']:.6g}\")",
        "print(f\"relative Fisher divergence = {metrics['relative_fisher_divergence']:.6g}\")",
        "if \"mode_weights\" in metrics:",
        "    print(\"mode weights\", [round(w, 3) for w in metrics[\"mode_weights\"]],",
        "          \"true\", [round(w, 3) for w in metrics[\"true_weights\"]])",
        "quality = metrics.get(\"sample_metrics\")",
        "if quality:",
        "    print(\"sliced W2 to exact samples {:.3g} (exact samples' own {:.3g})\".format(",
        "        quality[\"sliced_wasserstein\"], quality[\"floor\"][\"sliced_wasserstein\"]))",
    ])))
    if preset.dim in (1, 2):
        cells.append(("markdown", "The learned density pθ (from the learned score's potential, "
                      "or exp(−E) for an energy model) beside the true one."))
        cells.append(("code", "se.show(run, \"density\")"))
    cells.append(("markdown", f"## Keep the run\n\nThe folder `score-explorer run` writes: "
                  f"`score-explorer {run_folder}` opens it in the window, trained, and "
                  f"`se.open_run(\"{run_folder}\")` reads it back here."))
    cells.append(("code", f"written = se.save_run(run, \"{run_folder}\")\n"
                          f"print(\"wrote {run_folder}: relative Fisher divergence\", "
                          f"written[\"relative_fisher_divergence\"])"))
    return cells


def lesson_texts(preset: Preset) -> list[tuple[str, str]]:
    """(lesson and step title, text) of the shipped lessons' steps that open this preset
    (a shipped one, by file name); at most two, each cut to LESSON_TEXT_MAX characters."""
    from ..core.lessons.catalog import shipped_lessons
    from ..core.presets.shipped import presets_folder
    source = Path(preset.source) if preset.source else None
    if source is None or source.resolve().parent != presets_folder().resolve():
        return []
    name, out = source.stem, []
    for path in shipped_lessons():
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except (OSError, tomllib.TOMLDecodeError):
            continue
        for step in data.get("step", []):
            if isinstance(step, dict) and step.get("preset") == name and step.get("text"):
                text = str(step["text"]).strip()
                if len(text) > LESSON_TEXT_MAX:
                    text = text[:LESSON_TEXT_MAX].rsplit(" ", 1)[0] + " …"
                out.append((f"{data.get('title', path.stem)} — {step.get('title', '')}", text))
                break
        if len(out) == 2:
            break
    return out


def _toml_literal(text: str) -> str:
    """The TOML as a Python literal: a raw triple-quoted string where that is exact (it reads
    as the file does), repr otherwise."""
    if "'''" not in text and not text.endswith("\\"):
        return "r'''\n" + text + "'''"
    return repr(text)


def _slug(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", name).strip("._") or "run"


def _notebook(cells: list[tuple[str, str]]) -> dict:
    out = []
    for i, (kind, source) in enumerate(cells):
        cell = {"cell_type": kind, "id": f"cell-{i}", "metadata": {},
                "source": source.splitlines(keepends=True)}
        if kind == "code":
            cell.update(execution_count=None, outputs=[])
        out.append(cell)
    return {"cells": out, "nbformat": 4, "nbformat_minor": 5,
            "metadata": {"kernelspec": {"display_name": "Python 3", "language": "python",
                                        "name": "python3"},
                         "language_info": {"name": "python"}}}
