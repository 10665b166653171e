"""What a comparison runs: the product of the --vary lists times the seeds, each a valid preset.

Overrides are edits of the preset (`preset_edits.with_changes`, the window's and the API's
rule book): defaults that depend on other keys (the sampler for `objective.kind = "ncsn"`,
the sampler's seed from the training seed, sigma_max from the bounds) are derived again for
every variant, and a new density kind starts its table afresh. Every run is validated here,
before anything runs or is written, so a bad value costs nothing.
"""

from __future__ import annotations

import json
import itertools
import re
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..presets import preset as P
from ..errors import SpecError
from ..presets.edits import with_changes
from ..objectives import short_label
from ..presets.toml_depth import MAX_DEPTH, toml_too_deep


MAX_VALUES = 1000   # values of one --vary key


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
    if len(texts) > MAX_VALUES:
        raise SpecError(f"--vary {key}", f"{len(texts):,} values; at most {MAX_VALUES} for one key")
    try:
        values = tuple(toml_value(t, key) for t in texts)
    except SpecError as e:
        raise SpecError(f"--vary {key}", e.message) from None
    return Vary(key, values, tuple(texts))


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
    if toml_too_deep(f"x = {text}", MAX_DEPTH):
        raise SpecError(key or "value", f"arrays or tables nested more than {MAX_DEPTH} deep")
    try:
        value = tomllib.loads(f"x = {text}")["x"]
    except tomllib.TOMLDecodeError:
        return text
    except RecursionError:
        raise SpecError(key or "value", "arrays or tables nested too deeply") from None
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

def seeded(base: P.Preset, changes: dict[str, Any], seed: int) -> dict[str, Any]:
    """`changes` with the seeds moved on by `seed` (the sampler's seed, where its author set
    it; where not, it follows the training seed)."""
    out = dict(changes)
    if not seed:
        return out
    for section in ("training", "sampler"):
        key = f"{section}.seed"
        value = out.get(key, base.training["seed"] if section == "training" else
                        base.sampler["seed"] if key in base.given else None)
        if isinstance(value, int) and not isinstance(value, bool):   # else parse names it
            out[key] = value + seed
    return out


def build(base: P.Preset, overrides: dict[str, Any], seed: int, steps: int | None) -> P.Preset:
    changes = dict(overrides)
    if steps is not None:
        changes["training.steps"] = steps
    return with_changes(base, seeded(base, changes, seed))


def plan(preset_path: Path, varies: list[Vary], seeds: int, steps: int | None) -> list[Run]:
    """Every run of the comparison, validated: a SpecError names the --vary value at fault."""
    base = P.load(preset_path)   # the file itself: errors name the file and key, as `run` does
    if steps is not None:
        try:
            build(base, {}, 0, steps)
        except SpecError as e:
            raise SpecError("--steps", e.message, e.path) from None
    keys = [v.key for v in varies]
    if len(set(keys)) != len(keys):
        dup = next(k for k in keys if keys.count(k) > 1)
        raise SpecError(f"--vary {dup}", "is given twice; list all its values in one --vary")
    for v in varies:   # each value alone first, so that the message names it
        for value, text in zip(v.values, v.texts):
            _checked(preset_path, base, {v.key: value}, 0, steps, f"--vary {v.key}={text}", v.key)
    runs = []
    for variant in variants(varies):
        label = "--vary " + ", ".join(f"{k}={format_value(x)}" for k, x in variant.overrides.items())
        for s in range(seeds):
            p = _checked(preset_path, base, variant.overrides, s, steps,
                         label + (f" with --seeds {seeds}" if s else ""), None)
            runs.append(Run(variant, s, p))
    return runs


def _checked(preset_path, base, overrides, seed, steps, label, own_key) -> P.Preset:
    try:
        return build(base, overrides, seed, steps)
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
    """`base` edited by `overrides` (`preset_edits.with_changes`, as the window edits) with
    the seeds moved on by `seed`, validated like a file."""
    try:
        return with_changes(base, seeded(base, overrides, seed))
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
