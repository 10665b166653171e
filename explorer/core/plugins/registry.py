"""One registry of objectives, densities and samplers, for the built-ins and for plugins.

Everything is found through Python entry points (`importlib.metadata`), in the groups

    score_explorer.objectives     an Objective class         (explorer/core/objectives/)
    score_explorer.densities      a density kind             (explorer/core/densities/kinds.py)
    score_explorer.samplers       a Sampler class            (explorer/core/samplers/)

This package declares its own in pyproject.toml under the same groups a plugin uses, so
there is one path and the built-ins prove it works (docs/plugins.md describes the
interfaces). A plugin that fails to import, or whose entry does not implement the
interface, is left out and recorded as a `PluginFailure`: its group, name, distribution and
a one-line reason, with the traceback appended to a log file the message names. Nothing
else is affected: the window shows the failures in its banner, the CLI as `error:` lines.

Entries load on first use, not at import (a plugin imports this package's base classes).
`reload()` forgets what was loaded, for a plugin installed while the program runs (tests).
"""

from __future__ import annotations

import datetime
import importlib
import importlib.metadata as metadata
import os
import threading
import traceback
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

GROUPS = {
    "objective": "score_explorer.objectives",
    "density": "score_explorer.densities",
    "sampler": "score_explorer.samplers",
}
OWN_DISTRIBUTION = "score-explorer"


@dataclass(frozen=True)
class Entry:
    group: str              # "objective", "density" or "sampler"
    name: str               # the preset's kind
    value: Any              # the class (objectives, samplers) or kind object (densities)
    distribution: str       # the package that declared it
    builtin: bool


@dataclass(frozen=True)
class PluginFailure:
    group: str
    name: str
    distribution: str
    reason: str
    log: Path

    def message(self) -> str:
        return (f"plugin {self.group} {self.name!r} from {self.distribution} was not loaded: "
                f"{self.reason} (traceback in {self.log})")


def log_path() -> Path:
    """Where plugin tracebacks go: $SCORE_EXPLORER_LOG_DIR, else ~/.cache/score-explorer."""
    base = os.environ.get("SCORE_EXPLORER_LOG_DIR")
    root = Path(base) if base else Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") \
        / "score-explorer"
    return root / "plugins.log"


def _write_log(text: str) -> Path:
    path = log_path()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("a", encoding="utf-8") as f:
            f.write(f"--- {datetime.datetime.now().isoformat(timespec='seconds')}\n{text}\n")
    except OSError:
        pass  # a read-only home: the message still names the plugin and the reason
    return path


class Registry:
    def __init__(self, validators: dict[str, Callable[[str, Any], Any]] | None = None):
        # group -> check(name, value) returning the value to register (plugin_checks.py)
        self._validators = validators or {}
        self._entries: dict[str, dict[str, Entry]] | None = None
        self._failures: list[PluginFailure] = []
        self._lock = threading.RLock()

    def reload(self) -> None:
        with self._lock:
            self._entries = None
            self._failures = []
            importlib.invalidate_caches()  # metadata of a distribution installed since

    def _load(self) -> dict[str, dict[str, Entry]]:
        with self._lock:
            if self._entries is not None:
                return self._entries
            entries: dict[str, dict[str, Entry]] = {g: {} for g in GROUPS}
            failures: list[PluginFailure] = []
            self._entries, self._failures = entries, failures  # a validator may look up others
            if not self._validators:
                from .checks import VALIDATORS
                self._validators = dict(VALIDATORS)
            from .checks import InterfaceError
            for group, ep_group in GROUPS.items():
                # own entries first: a plugin cannot shadow a built-in name
                eps = sorted(metadata.entry_points(group=ep_group),
                             key=lambda e: (_dist_name(e) != OWN_DISTRIBUTION, e.name))
                for ep in eps:
                    dist = _dist_name(ep)
                    builtin = dist == OWN_DISTRIBUTION
                    if ep.name in entries[group]:
                        if entries[group][ep.name].distribution != dist:
                            failures.append(self._fail(group, ep.name, dist,
                                                       f"the name is taken by {entries[group][ep.name].distribution}",
                                                       ""))
                        continue
                    try:
                        value = ep.load()
                        check = self._validators.get(group)
                        if check is not None:
                            value = check(ep.name, value)
                    except InterfaceError as e:
                        failures.append(self._fail(group, ep.name, dist, str(e), traceback.format_exc()))
                        continue
                    except BaseException as e:  # noqa: BLE001 - a plugin may raise anything on import
                        if isinstance(e, (KeyboardInterrupt, SystemExit)) and builtin:
                            raise
                        failures.append(self._fail(group, ep.name, dist,
                                                   f"{type(e).__name__}: {e}", traceback.format_exc()))
                        continue
                    entries[group][ep.name] = Entry(group, ep.name, value, dist, builtin)
                # the built-ins in course order (their `order`), then plugins by name
                ordered = sorted(entries[group].values(),
                                 key=lambda e: (not e.builtin, getattr(e.value, "order", 100), e.name))
                entries[group] = {e.name: e for e in ordered}
            self._entries = entries
            return entries

    @staticmethod
    def _fail(group, name, dist, reason, tb) -> PluginFailure:
        path = _write_log(f"{group} {name!r} from {dist}: {reason}\n{tb}") if tb else log_path()
        return PluginFailure(group, name, dist, reason.splitlines()[0] if reason else "failed", path)

    def entries(self, group: str) -> dict[str, Entry]:
        return self._load()[group]

    def get(self, group: str, name: str) -> Entry | None:
        return self._load()[group].get(name)

    def failures(self) -> list[PluginFailure]:
        self._load()
        return list(self._failures)

    def failure_for(self, group: str, name: str) -> PluginFailure | None:
        return next((f for f in self.failures() if f.group == group and f.name == name), None)


def _dist_name(ep) -> str:
    dist = getattr(ep, "dist", None)
    return dist.metadata["Name"] if dist is not None and dist.metadata["Name"] else "an unknown package"


REGISTRY = Registry()


def objectives() -> dict[str, Any]:
    """name -> Objective class: the built-ins in course order, then plugins by name."""
    return {n: e.value for n, e in REGISTRY.entries("objective").items()}


def samplers() -> dict[str, Any]:
    return {n: e.value for n, e in REGISTRY.entries("sampler").items()}


def densities() -> dict[str, Any]:
    return {n: e.value for n, e in REGISTRY.entries("density").items()}


def failures() -> list[PluginFailure]:
    return REGISTRY.failures()


def unknown_kind_message(group: str, kind: Any, known) -> str:
    """Why `kind` is not available: a plugin that failed to load says so, else the known names."""
    from ..presets.schema import show
    failure = REGISTRY.failure_for(group, kind) if isinstance(kind, str) else None
    if failure is not None:
        return failure.message()
    return f"unknown {group} kind {show(kind)} (known: {', '.join(known)})"


def reload() -> None:
    REGISTRY.reload()
