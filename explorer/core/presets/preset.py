"""The preset: the one state object that describes a session.

The window edits a `Preset`, the core runs one, the command line loads and writes one.
Loading validates every key against the tables below (and the density's own table in
`densities.params`) and builds the density once, so that impossible values (a covariance
that is not positive definite, a missing image) are reported at load time with the file
and key. `to_toml` writes the fully resolved preset: every default filled in, so that
running it again reproduces the run.
"""

from __future__ import annotations

import contextlib
import copy
import tomllib
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import tomli_w

from . import budget
from ..densities import fields_for
from ..errors import PluginFault, SpecError
from ..files import PRESET_LIMIT, read_limited, write_atomic
from ..plugins.blame import describe as describe_plugin
from ..plugins.blame import plugin_of
from .toml_depth import toml_too_deep  # noqa: F401  (was defined here; callers import it)
from .schema import Field, resolve_section, show

MAX_DEPTH = 8  # no key nests tables or arrays deeper than covariances (a list of matrices)

FORMAT = 1
POS = dict(min=0.0, exclusive_min=True)

# The [objective] and [sampler] tables hold `kind` and a few common keys; the other keys are
# declared by the registered objectives and samplers themselves (their `fields`), built-ins
# and plugins alike (core/plugins/registry.py): see section_fields.
FIXED_SECTIONS: dict[str, dict[str, Field]] = {
    "model": {
        "kind": Field("str", "score", choices=("score", "energy")),
        # derived: three layers for noise-conditional objectives (bench/bench_defaults.py,
        # docs/recipe.md), two otherwise
        "hidden": Field("ints", None, min=1, max=4096,
                        help="widths of the hidden layers (derived: [128, 128, 128] for "
                             "noise-conditional objectives, [128, 128] otherwise)"),
        # derived: the recipe's (core/training/recipe.py, docs/recipe.md) for noise-conditional
        # objectives (NCSN, DDPM, the SDEs, flow matching), softplus otherwise
        "activation": Field("str", None, choices=("softplus", "silu", "tanh", "elu"),
                            help="nonlinearity between layers (derived: silu for noise-conditional "
                                 "objectives, softplus otherwise)"),
        "preconditioning": Field("str", None, choices=("none", "edm"),
                                 help="edm: EDM's c_in, c_skip, c_out, c_noise (noise-conditional "
                                      "objectives only; derived: edm for them, none otherwise)"),
        "sigma_data": Field("float", None, **POS, max=1e5,
                            help="data std for edm preconditioning (derived: sqrt(tr Cov / d) "
                                 "of the density)"),
        "noise_embedding": Field("str", "linear", choices=("linear", "fourier"),
                                 help="the noise feature as is, or sin/cos of it at 8 octaves"),
    },
    "objective": {
        "kind": Field("str", "ssm_vr"),
    },
    "training": {
        "steps": Field("int", 5000, min=0, max=10_000_000),
        "batch_size": Field("int", 512, min=1, max=1_000_000),
        "lr": Field("float", None, **POS, max=10.0,
                    help="Adam's learning rate (derived: 3e-3 for noise-conditional objectives, "
                         "1e-3 otherwise)"),
        "seed": Field("int", 0, min=0, max=2**63 - 1),
        "device": Field("str", "auto"),
        "ema": Field("float", None, min=0.0, max=0.99999,
                     help="decay of the weights' moving average that samples, views and the "
                          "saved model use (0: off; derived: 0.999 for noise-conditional "
                          "objectives, 0 otherwise)"),
        "lr_warmup": Field("int", None, min=0, max=10_000_000,
                           help="steps of linear learning-rate warm-up (derived: min(200, steps / 10) "
                                "for noise-conditional objectives, 0 otherwise)"),
        "lr_schedule": Field("str", None, choices=("constant", "cosine"),
                             help="after warm-up: constant, or cosine decay to 0.1 lr at the "
                                  "budget (derived: cosine for noise-conditional objectives)"),
    },
    "sampler": {
        "kind": Field("str", None),
        "score": Field("str", "learned", choices=("learned", "true")),
        "particles": Field("int", 1280, min=1, max=2_000_000),
        "step_size": Field("float", None, **POS),
        "steps": Field("int", None, min=0, max=10_000_000),
        "init": Field("str", "uniform", choices=("uniform", "gaussian")),
        "seed": Field("int", None, min=0, max=2**63 - 1),
    },
    "view": {
        "grid": Field("int", 32, min=2, max=512),
    },
}
SECTION_NAMES = tuple(FIXED_SECTIONS)
KINDED = {"objective": "objective", "sampler": "sampler"}   # section -> registry group


def _registered(section: str) -> dict:
    from ..plugins.registry import objectives, samplers
    return objectives() if section == "objective" else samplers()


def section_fields(section: str, kind: str | None = None) -> dict[str, Field]:
    """Every key a section accepts. For [objective] and [sampler]: the common keys, the keys
    every registered objective (sampler) declares (the first declaration of a shared name:
    the built-ins come first), and `kind`'s own declarations over those."""
    fields = dict(FIXED_SECTIONS[section])
    if section not in KINDED:
        return fields
    registered = _registered(section)
    for cls in registered.values():
        for key, f in cls.fields.items():
            fields.setdefault(key, f)
    if kind in registered:
        fields.update(registered[kind].fields)
    fields["kind"] = replace(fields["kind"], choices=tuple(registered))
    return fields


def saved_keys(section: str, kind: str) -> set[str]:
    """The keys `to_toml` writes for a section: the common ones, the built-ins' (samplers read
    the noise ladder from [objective] whatever the objective) and `kind`'s own; another
    plugin's keys are left out, so that a saved preset loads where that plugin is missing."""
    if section not in KINDED:
        return set(FIXED_SECTIONS[section])
    from ..plugins.registry import REGISTRY
    keys = set(FIXED_SECTIONS[section])
    for entry in REGISTRY.entries(KINDED[section]).values():
        if entry.builtin or entry.name == kind:
            keys |= set(entry.value.fields)
    return keys


TOP_LEVEL = {"format", "name", "description", "density", *SECTION_NAMES}


@dataclass
class Preset:
    """A resolved preset. Section dicts hold every key; `base_dir` resolves relative paths."""

    name: str = "Untitled"
    description: str = ""
    density: dict[str, Any] = field(default_factory=dict)
    model: dict[str, Any] = field(default_factory=dict)
    objective: dict[str, Any] = field(default_factory=dict)
    training: dict[str, Any] = field(default_factory=dict)
    sampler: dict[str, Any] = field(default_factory=dict)
    view: dict[str, Any] = field(default_factory=dict)
    base_dir: Path = field(default_factory=Path.cwd)
    source: str | None = None  # file it came from, for messages
    # "section.key" for every key the table parsed had (what its author set, not derived)
    given: frozenset = field(default_factory=frozenset, compare=False, repr=False)

    @property
    def dim(self) -> int:
        return len(self.density["bounds"])

    def copy(self) -> "Preset":
        return copy.deepcopy(self)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"format": FORMAT, "name": self.name, "description": self.description}
        out["density"] = {k: v for k, v in self.density.items() if v is not None}
        for sec in SECTION_NAMES:
            table = getattr(self, sec)
            keep = saved_keys(sec, table.get("kind"))
            out[sec] = {k: v for k, v in table.items() if v is not None and k in keep}
        return out

    def to_toml(self) -> str:
        return tomli_w.dumps(self.to_dict())

    def save(self, path) -> None:
        """Written atomically, never through a planted link (files.write_atomic)."""
        text = self.to_toml()
        write_atomic(Path(path), lambda p: p.write_text(text, encoding="utf-8"))

    def build_density(self):
        from ..densities import build_density
        return build_density(self.density, self.base_dir)


def parse(data: dict[str, Any], base_dir: Path | str = ".", source: str | None = None) -> Preset:
    """Validate a preset table (as read from TOML) and return it resolved.

    Whatever the table holds, the only exception is a SpecError naming a key: numpy's
    floating-point warnings are raised as errors (so they never print before the message),
    and any other exception a corner of the numeric code raises is reported on the key
    being checked when it happened.
    """
    try:
        _check_depth(data)
        with np.errstate(over="raise", invalid="raise", divide="raise", under="ignore"):
            return _parse(data, Path(base_dir), source)
    except SpecError as e:
        raise e.with_path(source) if source and not e.path else e


@contextlib.contextmanager
def _on_key(key: str):
    """Report an unforeseen exception as a SpecError on `key` (the part being checked)."""
    try:
        yield
    except (SpecError, PluginFault):
        raise
    except MemoryError:
        raise SpecError(key, "needs more memory than there is") from None
    except ArithmeticError as e:  # FloatingPointError (numpy), OverflowError, ZeroDivisionError
        raise SpecError(key, f"the values overflow or are not numbers in a computation ({e})") from None
    except (ValueError, TypeError, IndexError, KeyError, RecursionError, AttributeError,
            np.linalg.LinAlgError, RuntimeError) as e:
        entry = plugin_of(e)
        if entry is not None:   # not the values: a plugin's code raised
            raise PluginFault(f"{describe_plugin(entry)} failed: {type(e).__name__}: {e}") from None
        raise SpecError(key, f"cannot use these values: {type(e).__name__}: {e}") from None


def _check_depth(data) -> None:
    """Reject tables or arrays nested deeper than any key needs, before anything recurses."""
    stack = [("", data, 0)]
    while stack:
        key, v, depth = stack.pop()
        if depth > MAX_DEPTH:
            raise SpecError(key.split("[")[0] or "preset",
                            f"tables or arrays nested more than {MAX_DEPTH} deep")
        if isinstance(v, dict):
            stack.extend((f"{key}.{k}" if key else str(k), x, depth + 1) for k, x in v.items())
        elif isinstance(v, (list, tuple)):
            stack.extend((f"{key}[{i}]", x, depth + 1) for i, x in enumerate(v))


def _parse(data, base_dir: Path, source) -> Preset:
    if not isinstance(data, dict):
        raise SpecError("", "a preset must be a TOML table")
    unknown = sorted(map(str, set(data) - TOP_LEVEL))
    if unknown:
        raise SpecError(unknown[0], f"unknown key (known: {', '.join(sorted(TOP_LEVEL))})")
    fmt = data.get("format", FORMAT)
    if isinstance(fmt, bool) or fmt != FORMAT:
        raise SpecError("format", f"unsupported preset format {show(fmt)} (this program reads {FORMAT})")
    name = data.get("name", "Untitled")
    desc = data.get("description", "")
    if not isinstance(name, str):
        raise SpecError("name", f"expected a string, got {show(name)}")
    if not isinstance(desc, str):
        raise SpecError("description", f"expected a string, got {show(desc)}")

    dens_in = data.get("density", {"kind": "mixture"})
    if not isinstance(dens_in, dict):
        raise SpecError("density", "expected a table [density]")
    kind = dens_in.get("kind", "mixture")
    fields = fields_for(kind)   # SpecError on density.kind for a kind nobody registered
    with _on_key("density"):
        density = resolve_section("density", {**dens_in, "kind": kind}, fields)
    sections = {}
    for name_ in SECTION_NAMES:
        with _on_key(name_):
            sections[name_] = resolve_section(name_, data.get(name_),
                                              section_fields(name_, _kind_in(name_, data.get(name_))))
    given = frozenset(f"{sec}.{k}" for sec in ("density", *SECTION_NAMES)
                      if isinstance(data.get(sec), dict) for k in data[sec])
    preset = Preset(name=name, description=desc, density=density, base_dir=base_dir, source=source,
                    given=given, **sections)
    # Build the density once: checks shapes, positive-definiteness, files; fills bounds.
    with _on_key("density"):
        dens = preset.build_density()
        preset.density["bounds"] = [[float(lo), float(hi)] for lo, hi in dens.bounds]
    with _on_key("objective"):
        _derive(preset, dens)
    _check_consistency(preset)
    budget.check_density_work(preset, dens)
    if _builtin_sampler(preset.sampler["kind"]):
        from .step_rules import check as check_step
        with _on_key("sampler.step_size"):
            check_step(preset, dens)   # a step certain to diverge, refused before any training
    return preset


def _builtin_sampler(kind: str) -> bool:
    """The built-in Langevin samplers, whose step the derivation and the bound are about (a
    plugin registered under the same name would be another sampler)."""
    from ..plugins.registry import REGISTRY
    entry = REGISTRY.entries("sampler").get(kind)
    return entry is not None and entry.builtin and kind in ("langevin", "annealed_langevin")


def _kind_in(section: str, table) -> str | None:
    """The kind a [objective] or [sampler] table names, checked against the registry (a
    plugin that failed to load is named in the message); None for other sections or if absent."""
    if section not in KINDED or not isinstance(table, dict) or "kind" not in table:
        return None
    kind, registered = table["kind"], _registered(section)
    if not isinstance(kind, str) or kind not in registered:
        from ..plugins.registry import unknown_kind_message
        raise SpecError(f"{section}.kind", unknown_kind_message(KINDED[section], kind, registered))
    return kind


def _derive(p: Preset, dens) -> None:
    """Fill the defaults that depend on the density or on other keys."""
    b = p.density["bounds"]
    half_diag = 0.5 * sum((hi - lo) ** 2 for lo, hi in b) ** 0.5
    o = p.objective
    big, small = _registered("objective")[o["kind"]].noise_range(float(half_diag))
    if o["sigma_max"] is None:
        o["sigma_max"] = _round(big, 4)
    if o["sigma_min"] is None:
        o["sigma_min"] = _round(small(o["sigma_max"]), 6)
    s = p.sampler
    if s["kind"] is None:
        s["kind"] = _registered("objective")[o["kind"]].default_sampler
    sampler = _registered("sampler").get(s["kind"])
    if sampler is None:
        raise SpecError("sampler.kind", f"the objective's default sampler {s['kind']!r} is not "
                                        f"installed; name one in sampler.kind")
    for key, f in sampler.fields.items():   # a sampler kind given by default: its own defaults
        if s.get(key) is None:
            s[key] = f.default
    if s["steps"] is None:
        s["steps"] = int(sampler.default_steps(p))
    if s["step_size"] is None:   # from the ladder or the density's scale (core/presets/step_rules.py)
        from .step_rules import default_step_size
        derived = default_step_size(p, dens) if _builtin_sampler(s["kind"]) else None
        s["step_size"] = float(sampler.default_step_size if derived is None else derived)
    if s["seed"] is None:
        s["seed"] = p.training["seed"]
    from ..training.recipe import derived_recipe
    noisy = _registered("objective")[o["kind"]].conditioning is not None
    for section, key, value in derived_recipe(noisy, p.training["steps"]):
        table = getattr(p, section)
        if table[key] is None:
            table[key] = list(value) if isinstance(value, list) else value
    m = p.model
    if m["sigma_data"] is None and m["preconditioning"] == "edm":
        from ..training.recipe import estimate_sigma_data
        m["sigma_data"] = estimate_sigma_data(dens)


def _round(x: float, digits: int) -> float:
    """x to `digits` decimals, or to 4 significant digits where that would give 0 (a density
    a millionth wide still gets positive noise levels)."""
    r = round(x, digits)
    return r if r != 0 or x == 0 else float(f"{x:.4g}")


def _check_consistency(p: Preset) -> None:
    o, s = p.objective, p.sampler
    if o["sigma_min"] >= o["sigma_max"] and o["levels"] > 1:
        raise SpecError("objective.sigma_min", f"must be below sigma_max ({o['sigma_max']:g})")
    if o["beta_min"] > o["beta_max"]:
        raise SpecError("objective.beta_min", f"must not exceed beta_max ({o['beta_max']:g})")
    objective, sampler = _registered("objective")[o["kind"]], _registered("sampler")[s["kind"]]
    need = sampler.needs_conditioning
    need = (need,) if isinstance(need, str) else need
    if need is not None and objective.conditioning not in need and (
            s["score"] == "learned" or getattr(sampler, "needs_path", False)):
        fit = [f'"{n}"' for n, c in _registered("objective").items() if c.conditioning in need]
        why = ("its time grid is the objective's SDE or flow path, even on the exact score"
               if getattr(sampler, "needs_path", False) else "")
        raise SpecError("sampler.kind", f"the {s['kind']} sampler needs objective.kind = "
                        f"{' or '.join(fit) or 'a ' + need[0] + '-conditioned objective'}"
                        + (f": {why}" if why else " (or sampler.score = \"true\")"))
    if hasattr(sampler, "check"):     # a plugin's sampler need not derive from Sampler
        sampler.check(p)
    if s["score"] == "learned":
        if objective.samplers is not None and s["kind"] not in objective.samplers:
            label = objective.label.split()[0] if objective.label else o["kind"]
            raise SpecError("sampler.kind", f"a {label} model is sampled with sampler.kind = "
                            + " or ".join(f'"{k}"' for k in objective.samplers))
    dev = p.training["device"]
    if not (dev in ("auto", "cpu", "cuda", "mps") or (dev.startswith("cuda:") and dev[5:].isdigit())):
        raise SpecError("training.device", f"must be auto, cpu, cuda, cuda:N or mps; got {dev!r}")
    if p.model["hidden"] == [] or len(p.model["hidden"]) > 16:
        raise SpecError("model.hidden", "needs 1 to 16 layer widths")
    budget.check_preset(p, conditioned=objective.conditioning is not None)


def loads(text: str, base_dir: Path | str = ".", source: str | None = None) -> Preset:
    text = text.removeprefix("\ufeff")  # a byte-order mark some editors put first
    deep = toml_too_deep(text, MAX_DEPTH)
    if deep:
        raise SpecError(deep, f"arrays or tables nested more than {MAX_DEPTH} deep", source)
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        raise SpecError("", f"not valid TOML: {e}", source) from None
    except RecursionError:  # nesting the scan above did not see
        raise SpecError("", "arrays or tables nested too deeply", source) from None
    if not data:
        raise SpecError("", "the preset is empty (expected at least a [density] table)", source)
    return parse(data, base_dir, source)


def load(path) -> Preset:
    """Load a preset file: a regular file of at most 1 MB, UTF-8 (a byte-order mark is fine)."""
    path = Path(path)
    return load_bytes(read_limited(path, "", PRESET_LIMIT), path)


def load_bytes(data: bytes, path) -> Preset:
    """A preset from the bytes of its file (read with files.read_limited)."""
    path = Path(path)
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        raise SpecError("", f"not UTF-8 text (byte {e.start} cannot be decoded)", str(path)) from None
    return loads(text, path.resolve().parent, str(path))


def default() -> Preset:
    """The preset the window opens with: the lesson of docs/design.md §3."""
    from importlib import resources
    ref = resources.files("explorer") / "presets" / "two_modes_annealed.toml"
    if ref.is_file():
        return load(Path(str(ref)))
    return parse({"name": "Two modes, unequal weights", "density": {"kind": "mixture"}})
