"""The house's rooms keep their rules: read from the source (no module is imported), so that a
forbidden import fails here whether or not any test happens to run the code that makes it.

- `pipeline/rules/` is the pure core: nothing it imports, directly or through any module of
  ours, may reach the database, the store, the mail edges or the network.
- `pipeline/` never imports `mailer/` (the mail edges sit outside the domain and are handed in);
  `jobs/` and `web/` (the entry points) hold no query: they import neither SQLAlchemy nor the
  models;
  `parsers/` (untrusted input) imports only itself and the rules; `config/` nothing of ours.
- No two modules of ours import each other, however long the way round (imports made inside a
  function, or only for type checking, do not count: they run after both are loaded).
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from functools import cache
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
OURS = ("config", "pipeline", "parsers", "mailer", "jobs", "web")
# What reaches a database, the store, the mail edges or the network.
NOT_PURE = (
    "sqlalchemy",
    "alembic",
    "psycopg",
    "pipeline.store",
    "mailer",
    "jobs",
    "web",
    "socket",
    "ssl",
    "smtplib",
    "imaplib",
    "imapclient",
    "http",
    "urllib",
    "email_validator.deliverability",
)
pytestmark = pytest.mark.unit


def _path(module: str) -> Path | None:
    base = ROOT.joinpath(*module.split("."))
    for path in (base.with_suffix(".py"), base / "__init__.py"):
        if path.is_file():
            return path
    return None


def _modules(package: str) -> list[str]:
    folder = ROOT.joinpath(*package.split("."))
    return sorted(
        ".".join(path.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__")
        for path in folder.rglob("*.py")
    )


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _statements(node: ast.AST, *, top_only: bool) -> Iterator[ast.Import | ast.ImportFrom]:
    """The import statements that can run: all of them, or (`top_only`) those run when the
    module is loaded, not those inside functions. Never those for type checking only."""
    for child in ast.iter_child_nodes(node):
        if isinstance(child, ast.Import | ast.ImportFrom):
            yield child
        elif isinstance(child, ast.If) and _is_type_checking(child):
            yield from _statements(
                ast.Module(body=child.orelse, type_ignores=[]), top_only=top_only
            )
        elif top_only and isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda):
            continue
        else:
            yield from _statements(child, top_only=top_only)


@cache
def imports(module: str, *, top_only: bool = False) -> frozenset[str]:
    """What a module of ours imports, by full name (`from a import b` gives `a.b` when b is
    a module, else `a`)."""
    path = _path(module)
    if path is None:
        return frozenset()
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in _statements(tree, top_only=top_only):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
            continue
        base = node.module or ""
        if node.level:  # relative: from the module's own package
            package = (
                module.split(".")[: -node.level]
                if path.name != "__init__.py"
                else (module.split(".")[: len(module.split(".")) - node.level + 1])
            )
            base = ".".join([*package, *([base] if base else [])])
        for alias in node.names:
            full = f"{base}.{alias.name}"
            names.add(full if _path(full) else base)
    return frozenset(names)


def _ours(name: str) -> bool:
    return name.split(".")[0] in OURS


def _reaches(name: str, prefixes: tuple[str, ...]) -> bool:
    return any(name == p or name.startswith(p + ".") for p in prefixes)


def _forbidden_ways(start: str, prefixes: tuple[str, ...]) -> list[str]:
    """Each way from `start`, through modules of ours, to a module under `prefixes`."""
    found: list[str] = []
    seen = {start}
    todo: list[tuple[str, tuple[str, ...]]] = [(start, (start,))]
    while todo:
        module, way = todo.pop()
        for name in sorted(imports(module)):
            if _reaches(name, prefixes):
                found.append(" -> ".join([*way, name]))
            elif _ours(name) and name not in seen:
                seen.add(name)
                todo.append((name, (*way, name)))
    return found


@pytest.mark.parametrize("module", _modules("pipeline.rules"))
def test_the_pure_core_reaches_no_database_mail_or_network(module: str) -> None:
    assert _forbidden_ways(module, NOT_PURE) == []


def test_the_walk_finds_a_forbidden_import_when_there_is_one() -> None:
    """The check itself can fail: the outbox (which writes rows) reaches the store."""
    assert any(
        w.endswith("pipeline.store.models") for w in _forbidden_ways("pipeline.outbox", NOT_PURE)
    )


@pytest.mark.parametrize(
    ("package", "may_not_reach"),
    [
        ("pipeline", ("mailer", "jobs", "web")),
        ("jobs", ("sqlalchemy", "pipeline.store.models")),  # entry points: no query of their own
        ("web", ("sqlalchemy", "pipeline.store.models", "mailer", "jobs")),  # the same
        ("parsers", ("pipeline.store", "pipeline.services", "mailer", "jobs", "web")),
        ("mailer", ("jobs", "web")),
        ("config", ("pipeline", "parsers", "mailer", "jobs", "web")),
    ],
)
def test_imports_run_down_the_layers_only(package: str, may_not_reach: tuple[str, ...]) -> None:
    wrong = [
        f"{module} imports {name}"
        for module in _modules(package)
        for name in imports(module)
        if _reaches(name, may_not_reach)
    ]
    assert wrong == []


def test_no_two_modules_import_each_other() -> None:
    graph = {
        module: {n for n in imports(module, top_only=True) if _ours(n) and _path(n)}
        for package in OURS
        for module in _modules(package)
    }
    cycles = [" -> ".join(c) for c in _cycles(graph)]
    assert cycles == []


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected groups of more than one module (Tarjan's algorithm)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    groups: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(graph.get(node, ())):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            group = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                group.append(member)
                if member == node:
                    break
            if len(group) > 1:
                groups.append(sorted(group))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return groups


def test_unit_tests_cannot_reach_outside() -> None:
    """The unit tier's guard: a network connection, a database, a program or Tesseract fails
    the test."""
    import socket
    import sqlite3
    import subprocess

    from PIL import Image

    from parsers.tesseract import read_tsv
    from tests.conftest import OutsideCalled

    with pytest.raises(OutsideCalled):
        socket.create_connection(("127.0.0.1", 9), timeout=1)
    with pytest.raises(OutsideCalled):
        sqlite3.connect(":memory:")
    with pytest.raises(OutsideCalled):
        subprocess.run(["true"], check=False)
    with pytest.raises(OutsideCalled):
        read_tsv(Image.new("L", (50, 50), 255), "eng", None, 5)
