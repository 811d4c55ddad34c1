"""The folder tree is the pipeline, and dependencies run one way down it.

errors/limits/fileio -> ops -> lang (front end) -> graph -> weights -> backend, export -> api
-> preprocessing -> cli. Every ``import`` of every module (lazy ones inside functions included)
must point at the same layer or a lower one, and modules must not import each other in a cycle.
"""

from __future__ import annotations

import ast
from pathlib import Path

from tests.support.paths import PACKAGE

LAYERS = [
    {"errors", "limits", "fileio", "progress"},
    {"ops"},
    {"lang"},
    {"graph"},
    {"weights"},
    {"backend", "export"},
    {"api", "hub"},  # hub: keras-hub interop on top of the API
    {"preprocessing"},
    {"cli", "__main__"},
]
# the package facade re-exports the API lazily (PEP 562), from above every layer
OUTSIDE = {"__init__"}


def _part(module: str) -> str:
    return module.split(".")[1] if module.count(".") else "__init__"


def _rank(module: str) -> int:
    part = _part(module)
    return next(k for k, layer in enumerate(LAYERS) if part in layer)


def _modules() -> dict[str, Path]:
    out = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        rel = path.relative_to(PACKAGE.parent).with_suffix("")
        parts = list(rel.parts)
        if parts[-1] == "__init__" and len(parts) > 1:
            parts = parts[:-1]
        out[".".join(parts)] = path
    return out


def _imports(path: Path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("archspec"):
            found.add(node.module)
            found.update(f"{node.module}.{a.name}" for a in node.names)
        elif isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name.startswith("archspec"))
    return found


def _graph() -> dict[str, set[str]]:
    modules = _modules()
    return {name: {m for m in _imports(path) if m in modules and m != name} for name, path in modules.items()}


def test_every_module_is_in_a_layer() -> None:
    for name in _modules():
        if _part(name) not in OUTSIDE:
            _rank(name)  # StopIteration names a module no layer owns


def test_imports_only_point_down() -> None:
    upward = [f"{name} imports {dep}" for name, deps in _graph().items() if _part(name) not in OUTSIDE
              for dep in deps if _part(dep) not in OUTSIDE and _rank(dep) > _rank(name)]
    assert not upward, "\n".join(upward)


def test_no_import_cycles() -> None:
    graph = _graph()
    state: dict[str, int] = {}
    cycles = []

    def visit(node: str, stack: list[str]) -> None:
        state[node] = 1
        for dep in sorted(graph[node]):
            if state.get(dep) == 1:
                cycles.append(" -> ".join(stack[stack.index(dep):] + [dep]))
            elif dep not in state:
                visit(dep, stack + [dep])
        state[node] = 2

    for node in sorted(graph):
        if node not in state:
            visit(node, [node])
    assert not cycles, "\n".join(cycles)


def test_the_checker_catches_an_upward_import(tmp_path: Path) -> None:
    """The scanner sees lazy imports inside functions (the kind that slips in)."""
    path = tmp_path / "m.py"
    path.write_text("def f():\n    from archspec.api import build\n", encoding="utf-8")
    assert "archspec.api" in _imports(path)
    assert _rank("archspec.api") > _rank("archspec.lang.checks")


def _api_names(path: Path) -> set[str]:
    """The names a module imports from ``archspec.api``."""
    return {a.name for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
            if isinstance(node, ast.ImportFrom) and node.module == "archspec.api" for a in node.names}


def test_the_cli_uses_only_the_public_api() -> None:
    """docs/architecture.md: the CLI takes from ``archspec.api`` only ``__all__``, and ``api.py`` imports no name
    that neither it nor ``__all__`` uses (no re-export for the CLI alone)."""
    import archspec.api

    public = set(archspec.api.__all__)
    assert all(hasattr(archspec.api, name) for name in public)
    outside = [f"{path.name}: {name}" for path in sorted((PACKAGE / "cli").glob("*.py"))
               for name in sorted(_api_names(path) - public)]
    assert not outside, outside
    tree = ast.parse((PACKAGE / "api.py").read_text(encoding="utf-8"))
    imported = {a.asname or a.name for node in tree.body if isinstance(node, ast.ImportFrom) for a in node.names}
    used = {node.id for node in ast.walk(tree) if isinstance(node, ast.Name)} | {
        node.value for node in ast.walk(tree) if isinstance(node, ast.Constant) and isinstance(node.value, str)}
    assert not imported - used - {"annotations"}, sorted(imported - used)
