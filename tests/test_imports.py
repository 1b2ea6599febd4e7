"""Every module of b12 imports on its own, nothing imports in a circle, and the layers hold.

The import graph is read from the source (ast), not from a running interpreter, so an import made
only inside a function (a lazy one) or only for the type checker is seen as well. The layers are
the README's (Development): domain <- knowledge <- services <- adapters, wired by bootstrap.
"""

from __future__ import annotations

import ast
import pkgutil
import subprocess
import sys
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import pytest

import b12

SRC = Path(b12.__file__).parent
Kind = Literal["top", "lazy", "typing"]

#: Alembic runs env.py inside its own migration context, as `b12 db upgrade` does; outside one it
#: has no configuration to read. It is imported the way Alembic imports it, running no migration.
ALEMBIC_ENV = "b12.adapters.storage.migrations.env"
IMPORT_IN_ALEMBIC = """
import importlib, sys
import sqlalchemy as sa
from alembic.runtime.environment import EnvironmentContext
from alembic.script import ScriptDirectory
from b12.adapters.storage.database import alembic_config
with sa.create_engine("sqlite://").connect() as connection:
    config = alembic_config(connection)
    with EnvironmentContext(config, ScriptDirectory.from_config(config), fn=lambda rev, ctx: []):
        importlib.import_module(sys.argv[1])
"""


@dataclass(frozen=True)
class Edge:
    source: str
    target: str
    kind: Kind  # top: at import time; lazy: inside a function; typing: under TYPE_CHECKING
    line: int


def module_files(root: Path = SRC, package: str = "b12") -> dict[str, Path]:
    """Every module under ``root`` by its dotted name (a package by its own name)."""
    out = {}
    for path in sorted(root.rglob("*.py")):
        parts = path.relative_to(root).with_suffix("").parts
        if parts[-1] == "__init__":
            parts = parts[:-1]
        out[".".join((package, *parts))] = path
    return out


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _is_main_guard(test: ast.expr) -> bool:
    return (
        isinstance(test, ast.Compare)
        and isinstance(test.left, ast.Name)
        and test.left.id == "__name__"
        and any(isinstance(c, ast.Constant) and c.value == "__main__" for c in test.comparators)
    )


def imports_of(name: str, source: str, modules: Iterable[str], package: str = "b12") -> list[Edge]:
    """The package's modules that ``source`` (the text of module ``name``) imports, and how."""
    known = set(modules)
    edges: list[Edge] = []

    def add(target: str, kind: Kind, line: int) -> None:
        edges.append(Edge(name, target, kind, line))

    def visit(node: ast.AST, kind: Kind) -> None:
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] == package:
                    add(alias.name, kind, node.lineno)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:  # relative: resolved against this module's package
                here = name.split(".") if name in _packages(known) else name.split(".")[:-1]
                base = ".".join([*here[: len(here) - node.level + 1], *([base] if base else [])])
            if base.split(".")[0] == package:
                for alias in node.names:
                    sub = f"{base}.{alias.name}"
                    add(sub if sub in known else base, kind, node.lineno)
        if isinstance(node, ast.If) and kind == "top":
            if _is_type_checking(node.test):
                for child in node.body:
                    visit(child, "typing")
                for child in node.orelse:
                    visit(child, "top")
                return
            if _is_main_guard(node.test):  # runs as a script, never when imported
                for child in node.body:
                    visit(child, "lazy")
                for child in node.orelse:
                    visit(child, "top")
                return
        function = isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda)
        inner: Kind = "lazy" if kind == "top" and function else kind
        for part in ast.iter_child_nodes(node):
            visit(part, inner)

    visit(ast.parse(source), "top")
    return edges


def _packages(modules: Iterable[str]) -> set[str]:
    names = set(modules)
    return {m for m in names if any(o.startswith(m + ".") for o in names)}


def import_graph(files: Mapping[str, Path]) -> list[Edge]:
    return [e for name, path in files.items() for e in imports_of(name, path.read_text(), files)]


def cycles(edges: Iterable[Edge]) -> list[list[str]]:
    """The circles among modules at import time (top-level imports), each as a sorted list."""
    graph: dict[str, set[str]] = {}
    for e in edges:
        if e.kind == "top" and e.source != e.target:
            graph.setdefault(e.source, set()).add(e.target)
            graph.setdefault(e.target, set())
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def connect(v: str) -> None:  # Tarjan's strongly connected components
        index[v] = low[v] = len(index)
        stack.append(v)
        for w in sorted(graph[v]):
            if w not in index:
                connect(w)
                low[v] = min(low[v], low[w])
            elif w in stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            connect(v)
    return found


def layer(module: str) -> str:
    """b12.services.labs -> services; b12.adapters.cli.read -> adapters.cli; b12 -> b12."""
    parts = module.split(".")
    if len(parts) == 1:
        return "b12"
    if parts[1] == "adapters" and len(parts) > 2:
        return f"adapters.{parts[2]}"
    return parts[1]


CORE = {"domain", "knowledge", "services", "errors"}
#: What each layer may import besides itself (README, Development). A door (the command line)
#: holds an App from bootstrap and may call the writers of files (calendar, plot); it never
#: touches storage or the clock, which only bootstrap wires to the ports.
MAY_IMPORT: dict[str, set[str]] = {
    "errors": set(),
    "domain": {"errors"},
    "knowledge": {"domain", "errors"},
    "services": {"domain", "knowledge", "errors"},
    "adapters.storage": CORE,
    "adapters.clock": CORE,
    "adapters.calendar": CORE,
    "adapters.plot": CORE,
    # The course summary as a document (HTML, PDF): it draws its charts with adapters.plot.
    "adapters.summary": CORE | {"adapters.plot"},
    # The population audit (Ibis rules, engines, report) is a file writer too: the command line
    # hands it a folder or a URL and the App's knowledge, and it never touches the App's record.
    "adapters.population": CORE,
    "adapters.passwords": CORE,
    # `b12 serve` starts the web door (imported inside the command, never at the CLI's start)
    "adapters.cli": CORE
    | {
        "bootstrap",
        "adapters.calendar",
        "adapters.plot",
        "adapters.population",
        "adapters.summary",
        "adapters.web",
        "adapters.fhir",
    },
    # /fhir/r4 is served by the web door with the FHIR mapping (loaded when the app is made); the
    # CDS Hooks door is mounted on it too
    "adapters.web": CORE
    | {
        "bootstrap",
        "adapters.plot",
        "adapters.calendar",
        "adapters.fhir",
        "adapters.summary",
        "adapters.cds",
    },
    # FHIR R4 resources <-> b12's records and commands; import and export run on an App
    "adapters.fhir": CORE | {"bootstrap"},
    # The CDS Hooks door reads draft orders with the FHIR reader
    "adapters.cds": CORE | {"bootstrap", "adapters.fhir"},
    "bootstrap": CORE | {"adapters.storage", "adapters.clock", "adapters.passwords"},
    "b12": CORE | {"bootstrap"},  # the public API names the App, the use cases and their results
    "__main__": {"adapters.cli"},
    "adapters": set(),
}
#: Imports that break the layers, each with why it stays. The domain's functions take the
#: knowledge's entries (frozen dataclasses) as arguments and name their types for the type
#: checker only; nothing of the knowledge is imported when the domain runs. Declaring the same
#: shapes again as Protocols in the domain would copy ~7 generated classes field by field.
EXCEPTIONS: dict[tuple[str, str], str] = {
    ("b12.domain.intake", "b12.knowledge.entries"): "type names only: RequirementRow",
    ("b12.domain.labs", "b12.knowledge.entries"): "type names only: Analyte, Band, UnitFactor ...",
    ("b12.domain.schedule", "b12.knowledge.entries"): "type names only: Phase, Range",
}

FILES = module_files()
EDGES = import_graph(FILES)


def test_every_module_is_seen_the_way_python_finds_it() -> None:
    found = {m.name for m in pkgutil.walk_packages(b12.__path__, "b12.")} | {"b12"}
    assert found == set(FILES)


@pytest.mark.parametrize("module", sorted(FILES))
def test_each_module_imports_alone_in_a_fresh_interpreter(module: str) -> None:
    """Imported first, a module whose imports go round in a circle fails with an ImportError."""
    if module == ALEMBIC_ENV:
        run = [sys.executable, "-c", IMPORT_IN_ALEMBIC, module]
    else:
        run = [sys.executable, "-c", "import importlib, sys; importlib.import_module(sys.argv[1])"]
        run.append(module)
    done = subprocess.run(run, capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    assert done.stdout == ""  # importing runs nothing (b12.__main__ runs only as a script)


def test_nothing_imports_in_a_circle_at_import_time() -> None:
    assert cycles(EDGES) == []


def test_the_layers_hold() -> None:
    broken = [
        f"{e.source}:{e.line} imports {e.target} ({e.kind})"
        for e in EDGES
        if layer(e.target) != layer(e.source)
        and layer(e.target) not in MAY_IMPORT[layer(e.source)]
        and (e.source, e.target) not in EXCEPTIONS
    ]
    assert broken == []


def test_every_layer_is_ruled() -> None:
    assert {layer(m) for m in FILES} == set(MAY_IMPORT)


@pytest.mark.parametrize("pair", sorted(EXCEPTIONS))
def test_each_exception_is_still_needed_and_only_for_the_type_checker(
    pair: tuple[str, str],
) -> None:
    kinds = {e.kind for e in EDGES if (e.source, e.target) == pair}
    assert kinds == {"typing"}


# The reader itself: each kind of import is seen, and a circle is found.

SAMPLE = {
    "pkg": "",
    "pkg.a": (
        "from typing import TYPE_CHECKING\n"
        "import pkg.b\n"
        "from pkg import c\n"
        "if TYPE_CHECKING:\n"
        "    from pkg.d import Thing\n"
        "def f():\n"
        "    from pkg.d import other\n"
        "if __name__ == '__main__':\n"
        "    import pkg.e\n"
    ),
    "pkg.b": "from pkg.c import x\n",
    "pkg.c": "class C:\n    def m(self):\n        import pkg.a\n",
    "pkg.d": "from . import b\nfrom .c import C\n",
    "pkg.e": "",
}


def _sample_edges() -> set[tuple[str, str, str]]:
    return {
        (e.source, e.target, e.kind)
        for name, text in SAMPLE.items()
        for e in imports_of(name, text, SAMPLE, package="pkg")
    }


def test_the_reader_tells_top_level_lazy_and_type_only_imports_apart() -> None:
    assert _sample_edges() == {
        ("pkg.a", "pkg.b", "top"),
        ("pkg.a", "pkg.c", "top"),
        ("pkg.a", "pkg.d", "typing"),
        ("pkg.a", "pkg.d", "lazy"),
        ("pkg.a", "pkg.e", "lazy"),
        ("pkg.b", "pkg.c", "top"),
        ("pkg.c", "pkg.a", "lazy"),
        ("pkg.d", "pkg.b", "top"),
        ("pkg.d", "pkg.c", "top"),
    }


@pytest.mark.parametrize(
    ("extra", "circle"),
    [
        ("import pkg.a\n", ["pkg.a", "pkg.b", "pkg.c"]),  # at import time: a circle
        ("def g():\n    import pkg.a\n", None),  # inside a function: none
        ("from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    import pkg.a\n", None),
    ],
)
def test_a_circle_is_found_only_among_imports_made_at_import_time(
    extra: str, circle: list[str] | None
) -> None:
    sample = {**SAMPLE, "pkg.c": extra}
    edges = [e for n, t in sample.items() for e in imports_of(n, t, sample, package="pkg")]
    assert cycles(edges) == ([circle] if circle else [])


def test_the_real_graph_holds_each_kind_of_import() -> None:
    seen = {(e.source, e.target, e.kind) for e in EDGES}
    assert ("b12.services.planning", "b12.services.plan_json", "top") in seen
    assert ("b12.bootstrap", "b12.adapters.storage.unit_of_work", "lazy") in seen
    assert ("b12.domain.labs", "b12.knowledge.entries", "typing") in seen
