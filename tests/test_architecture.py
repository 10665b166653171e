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


def _module_graph() -> dict[str, set[str]]:
    """explorer module -> the explorer modules it imports, at the top or inside functions
    (an import under `if TYPE_CHECKING:` never runs and is left out). `from . import x`
    counts as importing the submodule x where there is one, else the package itself."""
    files = {}
    for f in ROOT.rglob("*.py"):
        parts = list(f.relative_to(ROOT.parent).with_suffix("").parts)
        files[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = f

    def known(name: str) -> str:
        while name and name not in files:
            name = name.rpartition(".")[0]
        return name

    graph = {}
    for mod, f in files.items():
        package = mod.split(".") if f.name == "__init__.py" else mod.split(".")[:-1]
        tree = ast.parse(f.read_text())
        typing_only = {id(n) for node in ast.walk(tree) if isinstance(node, ast.If)
                       and getattr(node.test, "id", getattr(node.test, "attr", "")) == "TYPE_CHECKING"
                       for b in node.body for n in ast.walk(b)}
        out = set()
        for node in ast.walk(tree):
            if id(node) in typing_only:
                continue
            if isinstance(node, ast.ImportFrom):
                base = (".".join(package[: len(package) - node.level + 1] + ([node.module] if node.module else []))
                        if node.level else node.module or "")
                out |= {f"{base}.{a.name}" if f"{base}.{a.name}" in files else base for a in node.names}
            elif isinstance(node, ast.Import):
                out |= {a.name for a in node.names}
        graph[mod] = {known(t) for t in out if t.startswith("explorer")} - {mod, ""}
    return graph


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan)."""
    index, low, stack, on, found, counter = {}, {}, [], set(), [], [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                found.append(sorted(comp))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def test_no_import_cycle_anywhere_in_explorer():
    cycles = _cycles(_module_graph())
    assert not cycles, "import cycles (imports inside functions count):\n" + "\n".join(map(str, cycles))


def test_the_cycle_check_finds_a_cycle_and_reads_function_imports():
    graph = _module_graph()
    assert "explorer.core.plugins.checks" in graph["explorer.core.plugins.registry"], \
        "an import inside a function is an edge"
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
