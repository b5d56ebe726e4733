"""The layers of docs/architecture.md, read from the code with `ast`: what each module imports (at module
level and inside functions), which layer it is in, and whether the table allows it.

`python -m tests.test_architecture` prints the services dependency graph.
"""

from __future__ import annotations

import ast
import sys
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

import pytest

PORTAL = Path(__file__).resolve().parent.parent / "portal"

# --- reading the code -------------------------------------------------------------------------------------


@dataclass
class Import:
    module: str  # the module imported, resolved ("portal.services.refunds", "flask")
    names: tuple[str, ...]  # the names taken from it (from X import a, b); () for `import X`
    line: int
    local: bool  # inside a function


@dataclass
class Module:
    name: str
    path: Path
    tree: ast.Module
    imports: list[Import] = field(default_factory=list)

    @property
    def relpath(self) -> str:
        return str(self.path.relative_to(PORTAL.parent))


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(PORTAL.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _is_portal_module(name: str) -> bool:
    path = PORTAL.parent.joinpath(*name.split("."))
    return path.with_suffix(".py").exists() or (path / "__init__.py").exists()


class _ImportCollector(ast.NodeVisitor):
    def __init__(self, module: Module):
        self.module = module
        self.depth = 0

    def _function(self, node):
        self.depth += 1
        self.generic_visit(node)
        self.depth -= 1

    visit_FunctionDef = visit_AsyncFunctionDef = visit_Lambda = _function

    def visit_Import(self, node: ast.Import):
        for alias in node.names:
            self.module.imports.append(Import(alias.name, (), node.lineno, self.depth > 0))

    def visit_ImportFrom(self, node: ast.ImportFrom):
        base = node.module or ""
        if node.level:
            package = self.module.name.split(".")
            if self.module.path.name != "__init__.py":
                package = package[:-1]
            package = package[: len(package) - (node.level - 1)]
            base = ".".join(package + ([node.module] if node.module else []))
        names = tuple(alias.name for alias in node.names)
        submodules = [
            f"{base}.{n}" for n in names if base.startswith("portal") and _is_portal_module(f"{base}.{n}")
        ]
        for target in submodules:
            self.module.imports.append(Import(target, (), node.lineno, self.depth > 0))
        if len(submodules) < len(names):
            self.module.imports.append(Import(base, names, node.lineno, self.depth > 0))


@cache
def modules() -> dict[str, Module]:
    """Every module under portal/ except the migrations, by dotted name."""
    found = {}
    for path in sorted(PORTAL.rglob("*.py")):
        if "migrations" in path.relative_to(PORTAL).parts:
            continue
        module = Module(_module_name(path), path, ast.parse(path.read_text(), filename=str(path)))
        _ImportCollector(module).visit(module.tree)
        found[module.name] = module
    return found


# --- the layers ---------------------------------------------------------------------------------------------

WEB_MODULES = {
    "portal.htmx",
    "portal.security",
    "portal.uow",
    "portal.inputs",
    "portal.forms",
    "portal.filters",
    "portal.links",
}


def layer_of(name: str) -> str | None:
    """The layer of a portal module per docs/architecture.md (None: not in the table)."""
    if name == "portal":
        return "app"
    if name.startswith("portal.domain"):
        return "domain"
    if name == "portal.clock":
        return "clock"
    if name == "portal.extensions" or name.startswith("portal.models"):
        return "models"
    if name == "portal.services.history":
        return "read models"
    if name.startswith("portal.services"):
        return "services"
    if name in WEB_MODULES or name == "portal.errors":
        return "web"
    if name.startswith("portal.blueprints"):
        return "blueprints"
    if name == "portal.jobs":
        return "jobs"
    # demo.py holds the data `flask demo-data` loads: part of the command line. config.py is read by
    # create_app only and imports nothing of the portal.
    if name in ("portal.cli", "portal.demo"):
        return "cli"
    if name == "portal.config":
        return "app"
    return None


# layer -> the layers of portal modules it may import. The table's "may import" column; the clock, the
# lowest layer, is allowed above the domain wherever "now" is needed (its docstring: models, services,
# jobs and views).
MAY_IMPORT = {
    "domain": {"domain"},
    "clock": set(),
    "models": {"domain", "clock", "models"},
    "services": {"domain", "clock", "models", "services", "links"},
    "read models": {"domain", "clock", "models", "services"},
    "web": {"domain", "clock", "models", "services", "web"},
    "blueprints": {"domain", "clock", "models", "services", "read models", "web", "blueprints"},
    "jobs": {"domain", "clock", "models", "services"},
    "cli": {"domain", "clock", "models", "services", "jobs", "cli"},
    "app": {
        "domain",
        "clock",
        "models",
        "services",
        "read models",
        "web",
        "blueprints",
        "jobs",
        "cli",
        "app",
    },
}

STDLIB = frozenset(sys.stdlib_module_names) | {"__future__"}
# Pure libraries for the file formats the domain reads and writes (XLSX templates and statements): no
# I/O framework, no database, no web; the domain stays testable without either.
FILE_FORMATS = frozenset({"openpyxl", "defusedxml"})


def _top(name: str) -> str:
    return name.split(".")[0]


def violations(module: Module, rule: str | None = None) -> list[str]:
    """What `module` imports that its layer may not, one line each; `rule` keeps one kind only:
    layers (portal modules), stdlib (domain, clock), request state (services), queries (blueprints)."""
    return [message for kind, message in _violations(module) if rule in (None, kind)]


def _violations(module: Module) -> list[tuple[str, str]]:
    layer = layer_of(module.name)
    out = []
    for imp in module.imports:
        where = f"{module.relpath}:{imp.line} imports {imp.module}" + (
            f" ({', '.join(imp.names)})" if imp.names else ""
        )
        if imp.module == "portal" or imp.module.startswith("portal."):
            target = layer_of(imp.module)
            allowed = MAY_IMPORT[layer]
            if target == "web" and imp.module == "portal.links" and "links" in allowed:
                continue
            if target not in allowed:
                out.append(("layers", f"{where}: {layer} may not import {target}"))
            elif (
                layer == "blueprints"
                and target == "blueprints"
                and not _same_blueprint(module.name, imp.module)
            ):
                out.append(("layers", f"{where}: a blueprint may not import another blueprint"))
            elif layer == "blueprints" and imp.module == "portal.extensions":
                out.append(
                    ("layers", f"{where}: blueprints may not reach the session (the unit of work commits)")
                )
            continue
        top = _top(imp.module)
        if layer in ("domain", "clock") and top not in STDLIB | (
            FILE_FORMATS if layer == "domain" else set()
        ):
            out.append(("stdlib", f"{where}: {layer} imports the standard library only"))
        elif layer == "services":
            if top == "flask_login":
                out.append(
                    (
                        "request state",
                        f"{where}: services take the actor as an argument, not from flask_login",
                    )
                )
            elif imp.module.startswith("flask.") or (
                imp.module == "flask" and (not imp.names or set(imp.names) - {"current_app"})
            ):
                out.append(("request state", f"{where}: services use flask.current_app (configuration) only"))
        elif layer == "blueprints" and top == "sqlalchemy":
            out.append(("queries", f"{where}: no query in a view"))
    return out


def _same_blueprint(a: str, b: str) -> bool:
    return a.split(".")[:3] == b.split(".")[:3]


def local_portal_imports(module: Module) -> list[str]:
    return [
        f"{module.relpath}:{imp.line} imports {imp.module} inside a function"
        for imp in module.imports
        if imp.local and (imp.module == "portal" or imp.module.startswith("portal."))
    ]


def commits_and_rollbacks(module: Module) -> list[str]:
    return [
        f"{module.relpath}:{node.lineno} calls .{node.func.attr}()"
        for node in ast.walk(module.tree)
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr in ("commit", "rollback")
    ]


def services_graph() -> dict[str, set[str]]:
    """service module -> the service modules it imports (module level or inside functions)."""
    services = {name: m for name, m in modules().items() if name.startswith("portal.services.")}
    return {
        name: {imp.module for imp in m.imports if imp.module in services and imp.module != name}
        for name, m in services.items()
    }


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One cycle of the graph as a path (first node repeated at the end), or None."""
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node):
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return stack[stack.index(nxt) :] + [nxt]
            if nxt not in state and (cycle := visit(nxt)):
                return cycle
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state and (cycle := visit(node)):
            return cycle
    return None


def _per_module(rule: str, names):
    return [pytest.param(name, id=name) for name in names]


ALL = sorted(modules())
BLUEPRINTS = [name for name in ALL if layer_of(name) == "blueprints"]

# --- the tests ---------------------------------------------------------------------------------------------


def test_every_module_has_a_layer():
    unplaced = [name for name in ALL if layer_of(name) is None]
    assert not unplaced, f"modules in no layer of docs/architecture.md: {unplaced}"


def test_the_reader_sees_imports_at_every_level():
    """A guard on the guard: the reader finds module-level, function-local and relative imports."""
    refunds = modules()["portal.services.refunds"]
    assert any(i.module == "portal.domain.refunds" and not i.local for i in refunds.imports)
    app = modules()["portal"]
    assert any(i.module == "portal.blueprints.admin.views" and i.local for i in app.imports)
    tree = ast.parse("from .views import bp\nfrom ..auth import forms\n")
    fake = Module("portal.blueprints.requests.admin", PORTAL / "blueprints/requests/admin.py", tree)
    _ImportCollector(fake).visit(tree)
    assert [i.module for i in fake.imports] == [
        "portal.blueprints.requests.views",
        "portal.blueprints.auth.forms",
    ]


@pytest.mark.parametrize("name", _per_module("layers", ALL))
def test_module_imports_only_the_layers_it_may(name):
    """The "may import / never" table for portal modules; no blueprint imports another or the session."""
    wrong = violations(modules()[name], "layers")
    assert not wrong, "\n".join(wrong)


@pytest.mark.parametrize(
    "name", _per_module("stdlib", [n for n in ALL if layer_of(n) in ("domain", "clock")])
)
def test_domain_and_clock_use_the_standard_library_only(name):
    wrong = violations(modules()[name], "stdlib")
    assert not wrong, "\n".join(wrong)


@pytest.mark.parametrize("name", _per_module("request state", [n for n in ALL if layer_of(n) == "services"]))
def test_services_take_no_request_state(name):
    """Services get the actor and scope as arguments: no flask_login, no request, g or session."""
    wrong = violations(modules()[name], "request state")
    assert not wrong, "\n".join(wrong)


@pytest.mark.parametrize("name", _per_module("queries", BLUEPRINTS))
def test_no_query_in_a_view(name):
    wrong = violations(modules()[name], "queries")
    assert not wrong, "\n".join(wrong)


def test_read_models_are_imported_by_blueprints_only():
    importers = [
        f"{m.relpath} imports portal.services.history"
        for m in modules().values()
        if any(i.module == "portal.services.history" for i in m.imports)
        and layer_of(m.name) not in ("blueprints", "app")
    ]
    assert not importers, "\n".join(importers)


@pytest.mark.parametrize(
    "name", _per_module("local imports", [n for n in ALL if n not in ("portal", "portal.cli")])
)
def test_no_function_local_import_of_the_portal(name):
    """A function-local import that dodges a cycle is a cycle; only create_app and the CLI wire lazily."""
    wrong = local_portal_imports(modules()[name])
    assert not wrong, "\n".join(wrong)


@pytest.mark.parametrize("name", _per_module("commits", BLUEPRINTS))
def test_blueprints_neither_commit_nor_roll_back(name):
    wrong = commits_and_rollbacks(modules()[name])
    assert not wrong, "the unit of work commits, not the view:\n" + "\n".join(wrong)


def test_services_import_graph_has_no_cycle():
    cycle = find_cycle(services_graph())
    assert cycle is None, "services import cycle: " + " -> ".join(cycle or [])


def test_the_cycle_finder_finds_cycles():
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b", "c"}, "b": {"c"}, "c": set()}) is None


def main() -> None:
    graph = services_graph()
    short = {name: name.removeprefix("portal.services.") for name in graph}
    print("services dependency graph (module -> the services it imports):")
    for name in sorted(graph):
        print(f"  {short[name]:<18} -> {', '.join(sorted(short[d] for d in graph[name])) or '(none)'}")
    cycle = find_cycle(graph)
    print("cycle: " + (" -> ".join(short[n] for n in cycle) if cycle else "none"))


if __name__ == "__main__":
    main()
