"""Which plugin an exception came from, so that a fault during work names it.

A plugin is checked when it loads (plugin_checks.py), but it can still raise, or return
nonsense, later: during training, in `sample()`, in a sampler's step. The traceback tells
where: the innermost frame that runs in a module of a registered plugin entry is the
plugin at fault, and the message names it with its distribution and entry-point group.
"""

from __future__ import annotations

from .registry import GROUPS, REGISTRY, Entry


def _modules() -> dict[str, Entry]:
    out = {}
    for group in GROUPS:
        try:
            entries = REGISTRY.entries(group).values()
        except Exception:  # noqa: BLE001 - naming the plugin is a courtesy; never a new fault
            return out
        for e in entries:
            if e.builtin:
                continue
            module = getattr(e.value, "__module__", None) or type(e.value).__module__
            if module:
                out[module] = e
    return out


def plugin_of(exc: BaseException) -> Entry | None:
    """The plugin entry whose code raised `exc` (or an exception it was raised from), or None."""
    modules = _modules()
    if not modules:
        return None
    seen, found = set(), None
    e = exc
    while e is not None and id(e) not in seen:
        seen.add(id(e))
        tb = e.__traceback__
        while tb is not None:
            name = tb.tb_frame.f_globals.get("__name__", "")
            for module, entry in modules.items():
                if name == module or name.startswith(module + "."):
                    found = entry     # the innermost wins: keep walking
            tb = tb.tb_next
        if found is not None:
            return found
        e = e.__cause__ or e.__context__
    return None


def describe(entry: Entry) -> str:
    return (f"plugin {entry.group} {entry.name!r} from {entry.distribution} "
            f"(entry point {GROUPS[entry.group]})")
