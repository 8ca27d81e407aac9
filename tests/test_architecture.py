"""The layering rules of docs/architecture.md, checked on the source (imports only).

Each rule here is one sentence of that page; a failure names the file and the import.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "transitopt"

#: the layers, lowest first; a module may import only from its own layer or a lower one
LAYERS: dict[str, int] = {
    "kernels": 0,
    "_errors": 1,
    "_io": 1,
    "_progress": 1,
    "_digest": 1,
    "_ahead": 1,
    "_ahead_lists": 1,
    "settings": 1,
    "defaults": 1,
    "geo": 1,
    "network": 2,
    "paths": 3,
    "skims": 4,
    "zones": 4,
    "demand": 4,
    "transit": 4,
    "accessibility": 5,
    "city_access": 5,
    "assignment": 5,
    "metrics": 5,
    "scenario": 6,
    "report": 7,
    "optimise": 7,
    "batch": 8,
    "cli": 9,
    "__init__": 9,
    "__main__": 9,
}

#: single modules placed in a lower layer than their package: the OD matrix container is
#: plain data that network readers (TNTP trips) return
MODULE_LAYERS: dict[str, int] = {"demand.od": 2}

#: scipy.sparse.csgraph searches that production code leaves to the routing door
CSGRAPH_SEARCHES = ("dijkstra", "shortest_path", "bellman_ford", "johnson", "floyd_warshall")

#: kernel modules that only the routing door (transitopt/paths.py) may import
ROUTING_KERNELS = {"shortest_paths", "compression", "contraction", "heap"}


def _modules() -> list[Path]:
    return sorted(p for p in PACKAGE.rglob("*.py") if "__pycache__" not in p.parts)


def _top(path: Path) -> str:
    """The first-level name under transitopt/ of a file (package or module)."""
    rel = path.relative_to(PACKAGE)
    return rel.parts[0].removesuffix(".py")


def _imports(path: Path) -> list[tuple[int, str]]:
    """``(line, dotted name under transitopt)`` of every transitopt import in a file."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    rel = path.relative_to(PACKAGE).with_suffix("")
    here = ["transitopt", *rel.parts]
    if path.name == "__init__.py":
        here = here[:-1] + ["__init__"]
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = here[: len(here) - node.level]
                name = ".".join(base + ([node.module] if node.module else []))
            else:
                name = node.module or ""
            names = [name] if node.module else [f"{name}.{a.name}" for a in node.names]
            found += [(node.lineno, n) for n in names if n.startswith("transitopt")]
        elif isinstance(node, ast.Import):
            found += [(node.lineno, a.name) for a in node.names if a.name.startswith("transitopt")]
    return found


def _third_party(path: Path) -> list[tuple[int, str]]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and not node.level and node.module:
            out.append((node.lineno, node.module))
        elif isinstance(node, ast.Import):
            out += [(node.lineno, a.name) for a in node.names]
    return out


@pytest.mark.parametrize("path", _modules(), ids=lambda p: str(p.relative_to(PACKAGE)))
def test_layers(path):
    """A module imports only from its own layer or lower ones."""
    top = _top(path)
    assert top in LAYERS, f"{path}: {top!r} has no layer in docs/architecture.md"
    mine = LAYERS[top]
    for line, name in _imports(path):
        parts = name.split(".")
        if len(parts) < 2:
            continue
        other = parts[1]
        if other not in LAYERS or other == top:
            continue
        theirs = MODULE_LAYERS.get(".".join(parts[1:3]), LAYERS[other])
        assert theirs <= mine, (
            f"{path.relative_to(PACKAGE)}:{line} imports {name} (layer {other!r} is above {top!r})"
        )


@pytest.mark.parametrize(
    "path",
    [p for p in _modules() if _top(p) == "kernels"],
    ids=lambda p: str(p.relative_to(PACKAGE)),
)
def test_kernels_import_only_numpy_numba(path):
    """Kernels are arrays in, arrays out: numpy, numba, math and each other only."""
    allowed = {"numpy", "numba", "math", "os", "__future__", "typing"}
    for line, name in _third_party(path):
        root = name.split(".")[0]
        if root == "transitopt":
            assert name.startswith("transitopt.kernels"), f"{path}:{line} imports {name}"
        else:
            assert root in allowed, f"{path.relative_to(PACKAGE)}:{line} imports {name}"


def test_one_routing_door():
    """Outside kernels/, only paths.py calls the shortest-path kernels; no scipy graph search
    (connected components are fine)."""
    offenders = []
    for path in _modules():
        rel = path.relative_to(PACKAGE)
        if _top(path) in ("kernels", "paths"):
            continue
        for line, name in _imports(path):
            parts = name.split(".")
            if len(parts) >= 3 and parts[1] == "kernels" and parts[2] in ROUTING_KERNELS:
                offenders.append(f"{rel}:{line} imports {name}")
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and (node.module or "").endswith("csgraph"):
                used = [a.name for a in node.names if a.name in CSGRAPH_SEARCHES]
                offenders += [f"{rel}:{node.lineno} imports csgraph.{u}" for u in used]
            elif isinstance(node, ast.Attribute) and node.attr in CSGRAPH_SEARCHES:
                if "csgraph" in ast.unparse(node.value):
                    offenders.append(f"{rel}:{node.lineno} calls csgraph.{node.attr}")
    assert not offenders, "\n".join(offenders)
