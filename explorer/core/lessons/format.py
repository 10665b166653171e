"""A lesson file: a title and ordered steps, each a preset (or edits of the one before) and
what to do with it. Read and checked here, all of it, before anything plays.

A lesson is data, never code, typed by a lecturer in a text editor, so every key is checked
for its type and meaning, and every step's preset is built and validated exactly as a
preset file is: a mistake in step 7 is reported when the lesson opens, as one `SpecError`
naming the lesson file and the key (`step[7].overrides.objective.sigma`), not when the
lecturer reaches step 7 in front of the room. Steps are numbered from 1, as they are shown.

    lesson = load("langevin.toml")          # SpecError naming the file and key
    lesson.steps[0].preset                  # a resolved Preset, every default filled in
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..presets import preset as P
from ..compare.plan import parse_overrides, variant_preset
from ..presets.edits import with_changes
from ..errors import SpecError
from ..files import PRESET_LIMIT, read_limited
from ..objectives import conditioning
from ..samplers import sampler_class
from ..noise.schedules import ncsn_sigmas
from ..presets.schema import Field, show
from ..session.effects import Effect, edit_effect
from ..presets.shipped import resolve as resolve_preset_name
from ..presets.toml_depth import loads as toml_loads

LESSON_DEPTH = 12   # a step's inline preset overrides nest a covariance (depth 3) in tables

FORMAT = 1
MAX_STEPS = 200        # steps in one lesson: a lecture, not a data file
MAX_VARIANTS = 8       # compare variants one step may add (each trains its own network)
VIEWS = ("all", "field", "particles", "loss")
ARROWS = {"own": "per_panel", "shared": "shared", "direction": "direction"}   # -> the window's
COMPARE = ("side", "overlay", "error", "density")

TOP_KEYS = {"format", "title", "description", "step"}
STEP_FIELDS: dict[str, Field] = {
    "title": Field("str", ""),
    "text": Field("str", ""),
    "preset": Field("str", None),
    "train": Field("int", None, min=1, max=10_000_000),
    "until_fisher": Field("float", None, min=0.0, exclusive_min=True, max=1e3),
    "sigma": Field("float", None, min=0.0, exclusive_min=True),
    "t": Field("int", None, min=0),
    "view": Field("str", None, choices=VIEWS),
    "arrows": Field("str", None, choices=tuple(ARROWS)),
    "compare": Field("str", None, choices=COMPARE),
    "variant_seeds": Field("int", 1, min=1, max=8),
    "tradeoff": Field("bool", False),
}
STEP_KEYS = set(STEP_FIELDS) | {"overrides", "sample", "variants"}


@dataclass
class Step:
    """One step, resolved: its preset and the actions to run on entering it."""

    number: int                         # 1-based, as shown ("step 3 of 9")
    title: str
    text: str
    preset: P.Preset                    # fully resolved
    new_preset: bool                    # named a preset (True) or only edited the last one
    overrides: dict[str, Any]           # dotted key -> value, as this step wrote them
    fresh_weights: bool                 # entering it from the step before restarts training
    train: int | None = None            # steps to train (more, when the weights are kept)
    until_fisher: float | None = None   # ... or stop once the relative Fisher divergence is this
    sample: int | bool | None = None    # True: the sampler's whole schedule; N: until step N
    level: tuple[str, float] | None = None   # ("sigma", s) or ("step", t) for the views
    view: str | None = None
    arrows: str | None = None           # the window's arrow mode (per_panel, shared, direction)
    compare: str | None = None
    variants: list[dict[str, Any]] = field(default_factory=list)
    variant_texts: list[str] = field(default_factory=list)
    variant_seeds: int = 1
    tradeoff: bool = False              # show DSM's sigma trade-off plot (bias and variance)

    @property
    def heading(self) -> str:
        return self.title or self.preset.name


@dataclass
class Lesson:
    title: str
    description: str
    steps: list[Step]
    source: str | None = None

    @property
    def name(self) -> str:
        return Path(self.source).stem if self.source else self.title

    def training_before(self, index: int) -> int:
        """Steps the weights have had on entering step `index` (0-based) when played from the
        start: the `train` of the steps since the last one that gave fresh weights. The
        window trains what is missing when a step is reached by Back or a jump."""
        total = 0
        for step in reversed(self.steps[:index + 1]):
            if step is not self.steps[index] and not step.variants:
                total += step.train or 0
            if step.fresh_weights:
                break
        return total


def load(path) -> Lesson:
    """Read and check a lesson file: SpecError naming the file and the key."""
    path = Path(path)
    data = read_limited(path, "", PRESET_LIMIT)
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        raise SpecError("", f"not UTF-8 text (byte {e.start} cannot be decoded)", str(path)) from None
    return loads(text, path.resolve().parent, str(path))


def loads(text: str, base_dir: Path | str = ".", source: str | None = None) -> Lesson:
    data = toml_loads(text, source, limit=LESSON_DEPTH)
    try:
        lesson = parse(data, Path(base_dir))
    except SpecError as e:
        raise SpecError(e.key, e.message, source) from None
    lesson.source = source
    return lesson


def parse(data: dict, base_dir: Path) -> Lesson:
    unknown = sorted(set(data) - TOP_KEYS)
    if unknown:
        raise SpecError(unknown[0], f"unknown key (known: {', '.join(sorted(TOP_KEYS))})")
    fmt = data.get("format", FORMAT)
    if isinstance(fmt, bool) or fmt != FORMAT:
        raise SpecError("format", f"unsupported lesson format {show(fmt)} (this program reads {FORMAT})")
    title = Field("str", None).convert("title", data.get("title"))
    if not title.strip():
        raise SpecError("title", "is empty")
    description = Field("str", "").convert("description", data.get("description", ""))
    raw_steps = data.get("step")
    if not isinstance(raw_steps, list) or not raw_steps or not all(isinstance(s, dict) for s in raw_steps):
        raise SpecError("step", "expected at least one [[step]] table")
    if len(raw_steps) > MAX_STEPS:
        raise SpecError("step", f"at most {MAX_STEPS} steps, got {len(raw_steps)}")
    steps: list[Step] = []
    trained = 0   # steps the current weights have had, to catch sampling an untrained network
    for number, raw in enumerate(raw_steps, start=1):
        step = _step(number, raw, steps[-1] if steps else None, base_dir)
        trained = 0 if step.fresh_weights else trained
        own_training = step.train if not step.variants else None   # with variants: theirs
        if step.sample is not None and step.preset.sampler["score"] == "learned" and \
                trained == 0 and not own_training:
            raise SpecError(f"step[{number}].sample", "samples the learned score of a network that "
                            "no step has trained: add train = N, or set sampler.score = \"true\"")
        trained += own_training or 0
        steps.append(step)
    return Lesson(title, description, steps)


def _step(number: int, raw: dict, before: Step | None, base_dir: Path) -> Step:
    at = f"step[{number}]"
    unknown = sorted(set(raw) - STEP_KEYS)
    if unknown:
        raise SpecError(f"{at}.{unknown[0]}", f"unknown key (known: {', '.join(sorted(STEP_KEYS))})")
    v = {k: f.convert(f"{at}.{k}", raw[k]) if k in raw else f.default for k, f in STEP_FIELDS.items()}
    overrides = _overrides(at, raw.get("overrides", {}))
    if v["preset"] is None and before is None:
        raise SpecError(f"{at}.preset", "the first step must name a preset (a shipped name or a file)")
    if v["preset"] is not None:
        base = _load_preset(f"{at}.preset", v["preset"], base_dir)
    else:
        base = before.preset
    preset = _with_overrides(at, base, overrides) if overrides else base
    new = v["preset"] is not None
    fresh = new or before is None or _restarts_training(before.preset, preset)
    step = Step(number, v["title"], v["text"], preset, new, overrides, fresh,
                train=v["train"], until_fisher=v["until_fisher"], view=v["view"],
                arrows=ARROWS.get(v["arrows"]) if v["arrows"] else None, compare=v["compare"],
                variant_seeds=v["variant_seeds"], tradeoff=v["tradeoff"])
    if step.until_fisher is not None and step.train is None:
        raise SpecError(f"{at}.until_fisher", "needs train = N, the most steps to train")
    step.sample = _sample(at, raw.get("sample"), preset)
    step.level = _level(at, v["sigma"], v["t"], preset)
    if step.arrows or step.compare:
        key = f"{at}.{'arrows' if step.arrows else 'compare'}"
        if preset.dim == 1:
            raise SpecError(key, "1-D views draw curves: no arrows or comparison modes")
    _variants(at, raw.get("variants"), step)
    return step


def _overrides(at: str, table) -> dict[str, Any]:
    """`overrides` as dotted key -> value: `{ "objective.sigma" = 0.5 }` and
    `[step.overrides] objective.sigma = 0.5` (nested tables) mean the same."""
    if not isinstance(table, dict):
        raise SpecError(f"{at}.overrides", f"expected a table of dotted preset keys, got {show(table)}")
    out: dict[str, Any] = {}

    def walk(prefix: str, t: dict) -> None:
        for k, value in t.items():
            key = f"{prefix}.{k}" if prefix else str(k)
            if isinstance(value, dict):
                walk(key, value)
            else:
                out[key] = value

    walk("", table)
    for key in out:
        if key.split(".")[0] not in P.TOP_LEVEL - {"format"} or \
                (key.count(".") == 0 and key not in ("name", "description")):
            raise SpecError(f"{at}.overrides.{key}", "expected a dotted preset key such as "
                            "objective.sigma (or name, description)")
    return out


def _load_preset(key: str, name: str, base_dir: Path) -> P.Preset:
    """A shipped preset by name, or a file (relative to the lesson's folder)."""
    target = resolve_preset_name(name)
    path = Path(target)
    if target == name and not path.is_absolute():
        path = base_dir / path
    if not path.is_file():
        raise SpecError(key, f"no shipped preset or preset file {name!r}")
    try:
        return P.load(path)
    except SpecError as e:
        raise SpecError(key, f"{name}: {e}") from None


def _with_overrides(at: str, base: P.Preset, overrides: dict[str, Any]) -> P.Preset:
    """`base` edited by `overrides` as the window edits it (`preset_edits.with_changes`),
    the error named at the lesson's key."""
    try:
        return with_changes(base, overrides)
    except SpecError as e:
        if e.key in overrides:
            raise SpecError(f"{at}.overrides.{e.key}", e.message) from None
        raise SpecError(f"{at}.overrides", f"{e.key}: {e.message}" if e.key else e.message) from None


def _restarts_training(old: P.Preset, new: P.Preset) -> bool:
    """Would the window's Session.edit give fresh weights for this change?"""
    return edit_effect(old, new) in (Effect.DIMENSION, Effect.DENSITY, Effect.TRAINING)


def _sample(at: str, value, preset: P.Preset) -> int | bool | None:
    if value is None or value is False:
        return None
    if value is True:
        return True
    n = Field("int", None, min=1).convert(f"{at}.sample", value)
    total = sampler_class(preset.sampler["kind"]).total_steps(preset)
    if n > total:
        raise SpecError(f"{at}.sample", f"the sampler's schedule has {total} steps; got {n}")
    return n


def _level(at: str, sigma, t, preset: P.Preset) -> tuple[str, float] | None:
    """The noise level the views show: NCSN's level nearest `sigma`, DDPM's step `t`."""
    cond = conditioning(preset)
    if sigma is not None and t is not None:
        raise SpecError(f"{at}.t", "give sigma or t, not both")
    if sigma is not None:
        if cond != "sigma":
            raise SpecError(f"{at}.sigma", "the preset's model has no noise levels sigma "
                            "(objective.kind ncsn or ncsn_ssm has)")
        o = preset.objective
        levels = ncsn_sigmas(o["sigma_max"], o["sigma_min"], o["levels"]).tolist()
        import math
        return ("sigma", min(levels, key=lambda s: abs(math.log(s / sigma))))
    if t is not None:
        if cond != "time":
            raise SpecError(f"{at}.t", "the preset's model has no time steps t (objective.kind "
                            "ddpm has)")
        last = int(preset.objective["timesteps"]) - 1
        if t > last:
            raise SpecError(f"{at}.t", f"must be at most {last} (timesteps - 1), got {t}")
        return ("step", t)
    return None


def _variants(at: str, value, step: Step) -> None:
    if value is None:
        return
    if not isinstance(value, list) or not value:
        raise SpecError(f"{at}.variants", "expected a list of overrides such as "
                        "[\"objective.kind=ism\", \"objective.kind=dsm, objective.sigma=0.1\"]")
    if len(value) > MAX_VARIANTS:
        raise SpecError(f"{at}.variants", f"at most {MAX_VARIANTS} variants, got {len(value)}")
    if len(value) * step.variant_seeds > 16:
        raise SpecError(f"{at}.variant_seeds", "at most 16 runs side by side (variants x seeds)")
    for i, text in enumerate(value, start=1):
        key = f"{at}.variants[{i}]"
        if not isinstance(text, str):
            raise SpecError(key, f"expected a string such as \"objective.kind=ism\", got {show(text)}")
        try:
            overrides = parse_overrides(text)
            variant_preset(step.preset, overrides)
        except SpecError as e:
            raise SpecError(key, f"{e.key}: {e.message}" if e.key else e.message) from None
        step.variants.append(overrides)
        step.variant_texts.append(text)
