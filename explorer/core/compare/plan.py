"""What a comparison runs: the product of the --vary lists times the seeds, each a valid preset.

Overrides are applied to the preset *as written* (the TOML table read from the file), not to
its resolved form, and the result goes through `preset.parse` like any file: defaults that
depend on other keys (the sampler for `objective.kind = "ncsn"`, the sampler's seed from the
training seed, sigma_max from the bounds) are derived again for every variant. Every run is
validated here, before anything runs or is written, so a bad value costs nothing.
"""

from __future__ import annotations

import copy
import json
import itertools
import re
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .. import preset as P
from ..errors import SpecError
from ..objectives import short_label


@dataclass(frozen=True)
class Vary:
    key: str                 # dotted preset key, e.g. "objective.sigma"
    values: tuple            # parsed TOML values
    texts: tuple[str, ...]   # as typed, for messages


@dataclass(frozen=True)
class Variant:
    overrides: dict[str, Any]   # key -> value, in --vary order
    name: str                   # readable and safe as a folder name


@dataclass(frozen=True)
class Run:
    variant: Variant
    seed: int                   # offset 0..K-1 added to the preset's seeds
    preset: P.Preset            # validated, every default resolved

    @property
    def folder(self) -> Path:
        return Path("runs") / self.variant.name / f"seed-{self.seed}"


# --- parsing --vary ------------------------------------------------------------------------

def parse_vary(spec: str) -> Vary:
    """`KEY=V1,V2,...`; each value is a TOML value (`0.1`, `[64, 64]`, `"esm"`), and a word
    that is not one (`esm`) is taken as a string, so that `objective.kind=esm,ism` works; for
    a key that takes a string, a word that TOML reads otherwise is the string too
    (`sampler.score=true,learned`: "true" is the exact score, not a boolean)."""
    key, eq, rest = spec.partition("=")
    key = key.strip()
    if not eq or not key:
        raise SpecError("--vary", f"expected KEY=V1,V2,... got {spec!r}")
    if not all(re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", part) for part in key.split(".")):
        raise SpecError(f"--vary {key}", "expected a dotted preset key such as objective.sigma")
    texts = [t.strip() for t in split_values(rest)]
    if not texts or any(t == "" for t in texts):
        raise SpecError(f"--vary {key}", f"expected a comma-separated list of values, got {rest!r}")
    return Vary(key, tuple(toml_value(t, key) for t in texts), tuple(texts))


def split_values(text: str) -> list[str]:
    """Split at the commas that are not inside brackets, braces or quotes."""
    out, depth, quote, start = [], 0, None, 0
    for i, ch in enumerate(text):
        if quote:
            if ch == quote:
                quote = None
        elif ch in "\"'":
            quote = ch
        elif ch in "[{":
            depth += 1
        elif ch in "]}":
            depth -= 1
        elif ch == "," and depth == 0:
            out.append(text[start:i])
            start = i + 1
    out.append(text[start:])
    return out


def toml_value(text: str, key: str | None = None) -> Any:
    try:
        value = tomllib.loads(f"x = {text}")["x"]
    except tomllib.TOMLDecodeError:
        return text
    if not isinstance(value, str) and _takes_string(key):
        return text      # `true`, `1e-3` typed for a string key: the word as typed
    return value


def _takes_string(key: str | None) -> bool:
    """Whether a dotted key of [model], [objective], [training], [sampler] or [view] is a
    string key (sampler.score, sampler.kind, objective.sde, ...), by any registered kind."""
    if not key or key.count(".") != 1:
        return False
    section, name = key.split(".")
    if section not in P.SECTION_NAMES:
        return False
    f = P.section_fields(section).get(name)
    return f is not None and f.type == "str"


def format_value(value: Any, inner: bool = False) -> str:
    """A value as inline TOML (`0.1`, `[64, 64]`; a string unquoted at the top level, `esm`):
    for table cells, folder names and messages."""
    if isinstance(value, str):
        return json.dumps(value) if inner else value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return repr(value)   # 0.1, 1e-05, inf, nan: all TOML
    if isinstance(value, list):
        return "[" + ", ".join(format_value(v, True) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k} = {format_value(v, True)}" for k, v in value.items()) + "}"
    return str(value)


# --- variants and their folders ------------------------------------------------------------

def folder_name(overrides: dict[str, Any]) -> str:
    """`objective.kind=esm,objective.sigma=0.1`; lists as `64x64`; anything else odd as `-`."""
    if not overrides:
        return "preset"
    parts = []
    for key, value in overrides.items():
        text = "x".join(map(format_value, value)) if isinstance(value, list) else format_value(value)
        parts.append(f"{key}={re.sub(r'[^A-Za-z0-9._+-]', '-', text)}")
    return ",".join(parts)[:200]


def variants(varies: list[Vary]) -> list[Variant]:
    keys = [v.key for v in varies]
    out, seen = [], {}
    for combo in itertools.product(*(v.values for v in varies)):
        overrides = dict(zip(keys, combo))
        name = folder_name(overrides)
        seen[name] = seen.get(name, 0) + 1
        if seen[name] > 1:   # two values that read alike once made safe
            name = f"{name}#{seen[name]}"
        out.append(Variant(overrides, name))
    return out


# --- the runs, validated -------------------------------------------------------------------

def set_dotted(table: dict, key: str, value: Any) -> None:
    *parents, last = key.split(".")
    for part in parents:
        table = table.setdefault(part, {})
        if not isinstance(table, dict):
            raise SpecError(key, f"{part} is not a table")
    table[last] = value


def raw_table(preset_path: Path) -> dict:
    """The preset file as written. `preset.load` has read and checked it already."""
    return tomllib.loads(preset_path.read_text(encoding="utf-8"))


def build(preset_path: Path, raw: dict, overrides: dict[str, Any], seed: int,
          steps: int | None) -> P.Preset:
    data = copy.deepcopy(raw)
    if steps is not None:
        set_dotted(data, "training.steps", steps)
    for key, value in overrides.items():
        set_dotted(data, key, value)
    if seed:   # parse rejects a seed that is not an integer; leave that to it
        for section in ("training", "sampler"):   # sampler.seed, if absent, follows training's
            table = data.get(section)
            if section == "training" and table is None:
                table = data["training"] = {}
            if isinstance(table, dict) and (section == "training" or "seed" in table):
                if isinstance(table.get("seed", 0), int):
                    table["seed"] = table.get("seed", 0) + seed
    return P.parse(data, preset_path.resolve().parent, str(preset_path))


def plan(preset_path: Path, varies: list[Vary], seeds: int, steps: int | None) -> list[Run]:
    """Every run of the comparison, validated: a SpecError names the --vary value at fault."""
    P.load(preset_path)   # the file itself: errors name the file and key, as `run` does
    raw = raw_table(preset_path)
    if steps is not None:
        try:
            build(preset_path, raw, {}, 0, steps)
        except SpecError as e:
            raise SpecError("--steps", e.message, e.path) from None
    keys = [v.key for v in varies]
    if len(set(keys)) != len(keys):
        dup = next(k for k in keys if keys.count(k) > 1)
        raise SpecError(f"--vary {dup}", "is given twice; list all its values in one --vary")
    for v in varies:   # each value alone first, so that the message names it
        for value, text in zip(v.values, v.texts):
            _checked(preset_path, raw, {v.key: value}, 0, steps, f"--vary {v.key}={text}", v.key)
    runs = []
    for variant in variants(varies):
        label = "--vary " + ", ".join(f"{k}={format_value(x)}" for k, x in variant.overrides.items())
        for s in range(seeds):
            p = _checked(preset_path, raw, variant.overrides, s, steps,
                         label + (f" with --seeds {seeds}" if s else ""), None)
            runs.append(Run(variant, s, p))
    return runs


def _checked(preset_path, raw, overrides, seed, steps, label, own_key) -> P.Preset:
    try:
        return build(preset_path, raw, overrides, seed, steps)
    except SpecError as e:
        # the key itself when it is the one at fault, else the key that the value broke
        detail = e.message if e.key in (own_key, "") else f"{e.key}: {e.message}"
        raise SpecError(label, detail, e.path or str(preset_path)) from None


# --- variants of a preset in memory (the window's compare lab) -----------------------------

LAB_SECTIONS = ("model", "objective", "training", "sampler")   # what a lab variant may change


def parse_overrides(text: str) -> dict[str, Any]:
    """`objective.kind=ism, training.lr=0.003`: one value per key, TOML values as in --vary
    (a bare word is a string). An empty text is the preset itself."""
    out: dict[str, Any] = {}
    for part in (p.strip() for p in split_values(text)):
        if not part:
            continue
        key, eq, value = part.partition("=")
        key, value = key.strip(), value.strip()
        if not eq or not value:
            raise SpecError(key or part, f"expected KEY=VALUE, got {part!r}")
        if not all(re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", k) for k in key.split(".")) \
                or "." not in key:
            raise SpecError(key, "expected a dotted preset key such as objective.kind")
        if key.split(".")[0] not in LAB_SECTIONS:
            raise SpecError(key, "variants share the density and the view; a variant may change "
                                 + ", ".join(f"{s}.*" for s in LAB_SECTIONS))
        if key in out:
            raise SpecError(key, "is given twice")
        out[key] = toml_value(value, key)
    return out


def variant_preset(base: P.Preset, overrides: dict[str, Any], seed: int = 0) -> P.Preset:
    """`base` with `overrides` and the seeds moved on by `seed`, validated like a file.

    The base is a resolved preset (every key present), so the keys that follow the objective
    when not given (the sampler's kind, steps and step size) are dropped when the objective
    changes, as the window does when its objective is edited."""
    from ..derived_keys import drop_derived
    # what the base's author did not set is derived again for the variant (a new sigma_min
    # gets its own annealed step, not the base's)
    data = drop_derived(base.to_dict(), set(base.given) | set(overrides))
    if "objective.kind" in overrides:
        for key in ("kind", "steps", "step_size"):
            if f"sampler.{key}" not in overrides:
                data["sampler"].pop(key, None)
    for key, value in overrides.items():
        set_dotted(data, key, value)
    for section in ("training", "sampler"):
        if isinstance(data[section].get("seed"), int):
            data[section]["seed"] += seed
    try:
        return P.parse(data, base.base_dir, base.source)
    except SpecError as e:
        label = ", ".join(f"{k}={format_value(v)}" for k, v in overrides.items()) or "the preset"
        raise SpecError(e.key, e.message + f" (in the variant {label})", e.path) from None


def short_name(overrides: dict[str, Any]) -> str:
    """A variant's name for a table or a legend: `ISM`, `DSM, sigma=0.5`, `lr=0.003`
    (a kind by its value alone, other keys by their last part)."""
    if not overrides:
        return "preset"
    parts = []
    for key, value in overrides.items():
        last = key.rsplit(".", 1)[-1]
        if key == "objective.kind":
            parts.append(short_label(value))
        else:
            parts.append(format_value(value) if last == "kind" else f"{last}={format_value(value)}")
    return ", ".join(parts)
