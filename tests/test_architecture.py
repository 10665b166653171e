"""The folders are the architecture: each layer imports only the layers below it.

    core    densities, objectives, models, training, sampling, metrics, presets, sessions
    views   one Qt widget per kind of picture, fed plain arrays          (-> core)
    export  offline rendering and encoding of the same views             (-> core, views)
    gui     the window, its panels and dialogs                           (-> core, views, export)
    cli     the command line                                             (-> anything)
"""

from __future__ import annotations

import ast
import collections
from pathlib import Path

import explorer

ROOT = Path(explorer.__file__).parent
ALLOWED = {
    "core": set(),
    "views": {"core"},
    "export": {"core", "views"},
    "gui": {"core", "views", "export"},
}


def _layer(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else ""


def _imports() -> dict[str, set[tuple[str, str]]]:
    """Layer -> {(importing file, imported explorer module)} over every module."""
    found = collections.defaultdict(set)
    for f in ROOT.rglob("*.py"):
        rel = f.relative_to(ROOT.parent).with_suffix("")
        here = list(rel.parts)
        package = here if f.name == "__init__.py" else here[:-1]
        if f.name == "__init__.py":
            package = here[:-1]
        for node in ast.walk(ast.parse(f.read_text())):
            if isinstance(node, ast.ImportFrom):
                if node.level:
                    base = package[: len(package) - (node.level - 1)]
                    target = ".".join(base + ([node.module] if node.module else []))
                else:
                    target = node.module or ""
                names = [target] if node.module or not node.level else \
                    [f"{target}.{a.name}" for a in node.names]
            elif isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            else:
                continue
            for name in names:
                if name.startswith("explorer."):
                    found[_layer(".".join(here))].add((str(rel), name))
    return found


def test_each_layer_imports_only_the_layers_below_it():
    bad = []
    for layer, imports in _imports().items():
        if layer not in ALLOWED:
            continue
        for source, target in imports:
            other = _layer(target)
            if other != layer and other not in ALLOWED[layer]:
                bad.append(f"{source} imports {target}")
    assert not bad, "\n".join(sorted(bad))


def test_the_check_sees_imports_of_every_layer():
    imports = _imports()
    assert {("explorer/gui/app", "explorer.views.application")} <= imports["gui"]
    assert any(t.startswith("explorer.views") for _, t in imports["export"])
