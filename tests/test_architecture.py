"""Architecture: the import graph of cpts_geo, read from the source with ``ast``.

Every import counts, including those inside functions (a function-level import is still a
dependency; it only hides a cycle from the interpreter). Imports under ``if TYPE_CHECKING:`` are
excepted (they never run). Dynamic imports (``importlib.import_module``) are not seen.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = "cpts_geo"
ROOT = Path(__file__).resolve().parent.parent / PACKAGE

#: allowed dependency order, lowest first: a module may import modules of its own layer or of a
#: lower one, never of a higher one. Entries name a module or a package (covering its modules).
LAYERS: tuple[tuple[str, ...], ...] = (
    ("cpts_geo._version", "cpts_geo._checks", "cpts_geo.errors", "cpts_geo.fr", "cpts_geo.reference", "cpts_geo.crs",
     "cpts_geo.codes", "cpts_geo.names", "cpts_geo.postcodes", "cpts_geo.rules", "cpts_geo.io"),
    ("cpts_geo.members",),
    ("cpts_geo.units", "cpts_geo.incidence", "cpts_geo.perimeters", "cpts_geo.topology"),
    ("cpts_geo.coverage", "cpts_geo.shares", "cpts_geo.rates"),
    ("cpts_geo.indicators",),
    ("cpts_geo.classification",),
    ("cpts_geo.summary", "cpts_geo.compare", "cpts_geo.export", "cpts_geo.validation", "cpts_geo.maps"),
    ("cpts_geo.cli", "cpts_geo.app"),
)


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def _modules() -> dict[str, Path]:
    return {_module_name(p): p for p in sorted(ROOT.rglob("*.py"))}


MODULES = _modules()


def _is_package(name: str) -> bool:
    return MODULES.get(name, Path()).name == "__init__.py"


def _type_checking_nodes(tree: ast.AST) -> set[int]:
    """ids of the import nodes under ``if TYPE_CHECKING:`` (or ``typing.TYPE_CHECKING``)."""
    skip: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If):
            t = node.test
            name = t.id if isinstance(t, ast.Name) else t.attr if isinstance(t, ast.Attribute) else None
            if name == "TYPE_CHECKING":
                for sub in node.body:
                    skip.update(id(n) for n in ast.walk(sub))
    return skip


def _resolve(importer: str, node: ast.Import | ast.ImportFrom) -> list[str]:
    """cpts_geo modules named by one import statement (the package root as ``cpts_geo``)."""
    out: list[str] = []
    if isinstance(node, ast.Import):
        for alias in node.names:
            if alias.name == PACKAGE or alias.name.startswith(PACKAGE + "."):
                name = alias.name
                while name not in MODULES and "." in name:
                    name = name.rsplit(".", 1)[0]
                out.append(name)
        return out
    if node.level:
        base = importer if _is_package(importer) else importer.rsplit(".", 1)[0]
        for _ in range(node.level - 1):
            base = base.rsplit(".", 1)[0]
        mod = f"{base}.{node.module}" if node.module else base
    else:
        mod = node.module or ""
    if mod != PACKAGE and not mod.startswith(PACKAGE + "."):
        return out
    for alias in node.names:
        sub = f"{mod}.{alias.name}"
        out.append(sub if sub in MODULES else mod)
    return out


def import_graph() -> dict[str, set[str]]:
    """module → cpts_geo modules it imports (anywhere in its body, TYPE_CHECKING excepted)."""
    graph: dict[str, set[str]] = {}
    for name, path in MODULES.items():
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        skip = _type_checking_nodes(tree)
        deps: set[str] = set()
        for node in ast.walk(tree):
            if isinstance(node, (ast.Import, ast.ImportFrom)) and id(node) not in skip:
                deps.update(_resolve(name, node))
        deps.discard(name)
        graph[name] = deps
    return graph


GRAPH = import_graph()


def _layer(module: str) -> int | None:
    for rank, entries in enumerate(LAYERS):
        if any(module == e or module.startswith(e + ".") for e in entries):
            return rank
    return None


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    out: list[list[str]] = []
    counter = [0]

    def visit(v: str) -> None:
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in graph.get(v, ()):
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
                out.append(sorted(comp))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return out


def test_the_parser_sees_function_level_and_relative_imports():
    """The graph builder itself: a function-level import and a relative one are edges, a
    TYPE_CHECKING one is not, ``from cpts_geo import x`` names the root unless x is a module."""
    src = ast.parse(
        "from typing import TYPE_CHECKING\n"
        "if TYPE_CHECKING:\n    from cpts_geo.coverage import Diagnosis\n"
        "def f():\n    from cpts_geo.members import read_members\n    from . import checks\n"
        "from cpts_geo import reference, diagnose\nimport cpts_geo.crs as c\n")
    skip = _type_checking_nodes(src)
    found = set()
    for node in ast.walk(src):
        if isinstance(node, (ast.Import, ast.ImportFrom)) and id(node) not in skip:
            found.update(_resolve("cpts_geo.validation.report", node))
    assert found == {"cpts_geo.members", "cpts_geo.validation.checks", "cpts_geo.reference",
                     "cpts_geo", "cpts_geo.crs"}
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_no_import_cycle_between_modules():
    assert _cycles(GRAPH) == []


def test_no_submodule_imports_the_package_root():
    offenders = sorted(m for m, deps in GRAPH.items() if m != PACKAGE and PACKAGE in deps)
    assert offenders == [], f"import from cpts_geo.<module>, not from the package root: {offenders}"


def test_every_module_has_a_layer():
    missing = sorted(m for m in MODULES if m != PACKAGE and _layer(m) is None)
    assert missing == [], f"place these modules in LAYERS of tests/test_architecture.py: {missing}"


@pytest.mark.parametrize("module", sorted(m for m in MODULES if m != PACKAGE))
def test_imports_point_down_the_data_flow(module):
    rank = _layer(module)
    if rank is None:
        pytest.skip("module without a layer (see test_every_module_has_a_layer)")
    upward = sorted(d for d in GRAPH[module] if d != PACKAGE and (_layer(d) or 0) > rank)
    assert upward == [], f"{module} (layer {rank}) imports a higher layer: " + ", ".join(
        f"{d} (layer {_layer(d)})" for d in upward)


def test_reference_layer_is_free_of_geometry_stages():
    """The rules are read by every stage: they must not depend on any of them."""
    assert {d for d in GRAPH["cpts_geo.rules"] if _layer(d) != 0} == set()


def test_version_is_written_only_in_pyproject():
    import re
    import tomllib

    import cpts_geo

    project = tomllib.loads((ROOT.parent / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    assert cpts_geo.__version__ == project["version"]
    literal = re.compile(r"__version__\s*(:\s*str\s*)?=\s*['\"]")
    assert [m for m, p in MODULES.items() if literal.search(p.read_text(encoding="utf-8"))] == []
