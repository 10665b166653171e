"""What an entry must offer to be registered: the interface of each group, checked on load.

An entry that fails here is left out with a one-line reason (registry.PluginFailure), so a
plugin with a typo in its class never reaches a preset, a form or a training thread. The
checks are cheap (attributes and types; an objective's loss on a batch of four points), and
the built-ins pass the same ones.
"""

from __future__ import annotations

import inspect

import torch

from ..presets.schema import CONVERTERS, REQUIRED, Field

CONDITIONINGS = (None, "sigma", "time", "sde", "flow")


class InterfaceError(Exception):
    """An entry that loaded but does not have the interface of its group (the registry
    leaves it out with this one-line reason)."""


def _check_fields(name: str, fields) -> None:
    if not isinstance(fields, dict):
        raise InterfaceError(f"`fields` must be a dict of schema Fields, got {type(fields).__name__}")
    for key, f in fields.items():
        if not isinstance(key, str) or not key.isidentifier():
            raise InterfaceError(f"field name {key!r} is not a valid key")
        if not isinstance(f, Field):
            raise InterfaceError(f"field {key!r} is not an explorer.core.presets.schema.Field")
        if f.type not in CONVERTERS:
            raise InterfaceError(f"field {key!r} has unknown type {f.type!r} (known: {', '.join(CONVERTERS)})")
        if f.default is not None and f.default is not REQUIRED:
            try:
                f.convert(key, f.default)
            except Exception as e:  # noqa: BLE001 - its message says which
                raise InterfaceError(f"field {key!r}: its default is not valid: {e}") from None


def _check_named(group: str, name: str, value) -> None:
    declared = getattr(value, "name", None)
    if declared != name:
        raise InterfaceError(f"its `name` is {declared!r} but it is registered as {name!r}; "
                             f"they must be equal (the name is the preset's kind)")


def check_objective(name: str, cls):
    from ..objectives.base import Objective
    if not inspect.isclass(cls):
        raise InterfaceError(f"an objective entry must be a class, got {type(cls).__name__}")
    _check_named("objective", name, cls)
    if not isinstance(getattr(cls, "label", None), str) or not cls.label:
        raise InterfaceError("it needs a `label` (a string: its short name first)")
    if not callable(getattr(cls, "losses", None)):
        raise InterfaceError("it needs a method `losses(model, x)` returning per-sample terms (n,)")
    _check_fields(name, getattr(cls, "fields", {}))
    if getattr(cls, "conditioning", None) not in CONDITIONINGS:
        raise InterfaceError(f"`conditioning` must be one of {CONDITIONINGS}, got {cls.conditioning!r}")
    if not issubclass(cls, Objective):
        # the interface is duck-typed: the base class adds loss(), ism_constant() and defaults
        cls = type(cls.__name__, (cls, Objective), {"__module__": cls.__module__})
    _try_losses(name, cls)
    return cls


def _try_losses(name: str, cls) -> None:
    """Build it with its defaults and compute its losses on four points of a 2-D Gaussian,
    leaving torch's global random state as it was: the registry loads lazily, at a moment
    that differs between the window, a child process and a headless run, and a draw here
    would make their seeded runs differ."""
    with torch.random.fork_rng(devices=[]):
        _losses_of_defaults(cls)


def _losses_of_defaults(cls) -> None:
    from ..models import ScoreModel
    params = {k: f.default for k, f in cls.fields.items()}
    if any(v is None for v in params.values()) or getattr(cls, "needs_true_score", False):
        # defaults derived from the density (NCSN's sigmas) or ESM's density: checked at use
        return
    try:
        objective = cls(**params)
    except Exception as e:  # noqa: BLE001
        raise InterfaceError(f"cannot be built with its default parameters: {type(e).__name__}: {e}") from None
    cond = cls.conditioning
    path = getattr(objective, "path", None)
    model = ScoreModel(2, hidden=(8,), conditioning=cond, timesteps=params.get("timesteps", 1000)
                       if cond == "time" else None,
                       sde=path.config() if cond == "sde" and hasattr(path, "config") else None)
    x = torch.randn(4, 2, generator=torch.Generator().manual_seed(0))
    try:
        out = objective.losses(model, x)
    except Exception as e:  # noqa: BLE001
        raise InterfaceError(f"losses(model, x) raised {type(e).__name__}: {e}") from None
    if not isinstance(out, torch.Tensor) or tuple(out.shape) != (4,):
        shape = tuple(out.shape) if isinstance(out, torch.Tensor) else type(out).__name__
        raise InterfaceError(f"losses(model, x) must return per-sample terms of shape (n,) = (4,), got {shape}")


def check_sampler(name: str, cls):
    from ..samplers.base import Sampler
    from ..samplers.grid import GridSampler
    if not inspect.isclass(cls) or not issubclass(cls, Sampler):
        raise InterfaceError("a sampler entry must be a subclass of explorer.core.samplers.Sampler")
    _check_named("sampler", name, cls)
    if cls.step is Sampler.step:
        raise InterfaceError("it must implement step(x)")
    if issubclass(cls, GridSampler) and (cls.update is GridSampler.update or cls.grid is GridSampler.grid):
        raise InterfaceError("a GridSampler must give its `grid` and implement update(x, i, g, g_next)")
    _check_fields(name, cls.fields)
    need = cls.needs_conditioning
    if not all(c in CONDITIONINGS for c in (need if isinstance(need, tuple) else (need,))):
        raise InterfaceError(f"`needs_conditioning` must be one of {CONDITIONINGS} (or a tuple of them)")
    return cls


def check_density(name: str, kind):
    _check_named("density", name, kind)
    if not callable(getattr(kind, "build", None)):
        raise InterfaceError("a density entry needs build(spec, base_dir) (a Density subclass has it)")
    _check_fields(name, getattr(kind, "fields", None))
    reserved = {"kind", "bounds"} & set(kind.fields)
    if reserved:
        raise InterfaceError(f"`fields` must not declare {', '.join(sorted(reserved))} (every density has them)")
    dim = getattr(kind, "dim", None)
    if dim is not None and dim not in (1, 2, 3):
        raise InterfaceError(f"`dim` must be 1, 2, 3 or None, got {dim!r}")
    return kind


VALIDATORS = {"objective": check_objective, "sampler": check_sampler, "density": check_density}
