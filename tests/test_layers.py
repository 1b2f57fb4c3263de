"""Layers import only the layers below them (docs/architecture.md); no import cycle exists."""

import ast
from pathlib import Path

import tether

PACKAGE = Path(tether.__file__).parent

# Lowest first. A module may import from its own layer or any layer listed before it.
LAYERS = [
    "tether.lazy",
    "tether.errors",
    "tether.gcpause",
    "tether.config",
    "tether.store",
    "tether.objects",
    "tether.workspace",
    "tether.data",
    "tether.tracking",
    "tether.pipelines",
    "tether.models",
    "tether.serving",
    "tether.monitoring",
    "tether.automation",
    "tether.server",
    "tether.client",
    "tether.demo",
    "tether.cli",
]


def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _layer(module: str) -> int | None:
    for i, prefix in enumerate(LAYERS):
        if module == prefix or module.startswith(prefix + "."):
            return i
    return None


def _imports(tree: ast.AST, module: str, top_level_only: bool) -> set[str]:
    """The tether modules (or package attributes) ``module`` imports, at module level or in
    any function. ``from P import m`` of a submodule names ``P.m`` and ``P`` both."""
    found: set[str] = set()
    nodes = tree.body if top_level_only and isinstance(tree, ast.Module) else ast.walk(tree)
    for node in nodes:
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = module.rsplit(".", node.level)[0]
                found.add(f"{base}.{node.module}" if node.module else base)
            elif node.module:
                found.add(node.module)
                found.update(f"{node.module}.{a.name}" for a in node.names)
    return {name for name in found if name.split(".")[0] == "tether"}


def _runtime_imports(tree: ast.AST, module: str, modules: set[str]) -> set[str]:
    """The tether modules that running ``module`` imports: at module level and inside
    functions, but not under ``if TYPE_CHECKING:`` (annotations only). ``from P import m``
    of a submodule ``m`` is an edge to ``P.m`` alone: that ``P`` is imported first is true of
    every submodule import and makes no cycle of its own."""
    found: set[str] = set()

    def visit(node: ast.AST) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.If) and ast.unparse(child.test) == "TYPE_CHECKING":
                for other in child.orelse:
                    visit_one(other)
            else:
                visit_one(child)

    def visit_one(node: ast.AST) -> None:
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = module.rsplit(".", node.level)[0] if node.level else ""
            package = ".".join(p for p in (base, node.module or "") if p)
            for a in node.names:
                sub = f"{package}.{a.name}"
                found.add(sub if sub in modules else package)
        visit(node)

    visit(tree)
    return {name for name in found if name in modules and name != module}


def _sources() -> dict[str, ast.AST]:
    return {_module_name(p): ast.parse(p.read_text(), str(p)) for p in PACKAGE.rglob("*.py")}


def test_every_module_belongs_to_a_layer() -> None:
    orphans = [
        m for m in _sources() if m != "tether" and m != "tether.__main__" and _layer(m) is None
    ]
    assert not orphans, f"modules outside any layer (add them to LAYERS and the docs): {orphans}"


def test_layers_import_only_downward() -> None:
    violations = []
    for module, tree in _sources().items():
        own = _layer(module)
        if own is None:
            continue
        for name in _imports(tree, module, top_level_only=False):
            target = _layer(name)
            if target is not None and target > own:
                violations.append(f"{module} imports {name}")
    assert not violations, "upward imports:\n" + "\n".join(sorted(violations))


def test_no_import_cycles() -> None:
    """No cycle among the imports a module runs, whether at module level or inside a function
    (a function-level import only postpones a cycle, it does not remove it)."""
    sources = _sources()
    graph = {m: _runtime_imports(t, m, set(sources)) for m, t in sources.items()}
    state: dict[str, int] = {}

    def visit(node: str, path: list[str]) -> None:
        state[node] = 1
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                raise AssertionError("import cycle: " + " -> ".join([*path, node, nxt]))
            if nxt not in state:
                visit(nxt, [*path, node])
        state[node] = 2

    for module in sorted(graph):
        if module not in state:
            visit(module, [])


def test_the_cycle_check_sees_imports_inside_functions() -> None:
    code = (
        "from __future__ import annotations\nfrom typing import TYPE_CHECKING\n"
        "if TYPE_CHECKING:\n    from tether.c import C\n"
        "def f():\n    from tether.b import g\n    from tether import d\n"
    )
    modules = {"tether.a", "tether.b", "tether.c", "tether.d"}
    assert _runtime_imports(ast.parse(code), "tether.a", modules) == {"tether.b", "tether.d"}
