"""Layers that only look down: the import graph of ``roadseg`` has no cycle and follows the stages.

Every ``import``/``from ... import`` of every module counts, including the ones
inside functions (a lazy import is still a dependency). Each subpackage (and
top-level module) has a layer; a module may import its own subpackage and any
lower layer, never a higher one, so no cycle between subpackages is possible.

The layers, lowest first (decided from what each part needs):

0. ``errors`` -- the error model (and ``roadseg/__init__``, which imports nothing);
0.2 ``uri`` -- inputs that are URLs or GDAL virtual paths (named and compared without a request);
0.4 ``hashing`` -- the one SHA-256 of a file's bytes;
0.5 ``atomic``, ``configfile``, ``validate``, ``io_guard``, ``paths`` -- atomic writes, config
    files, one-line number checks, outputs checked against inputs and writability, the
    names of kept intermediates, ``sizeguard`` -- the size limits of a run's plan;
0.6 ``leases`` -- cache entries held by live runs (owner-named, from ``atomic``);
0.7 ``staging`` -- outputs published together (owner-named staging folders from ``atomic``);
1. ``raster`` -- scene I/O, the pixel grid (``SceneGrid``), the GSD, resampling;
2. ``models`` -- networks, the registry, checkpoints;
3. ``inference`` -- probabilities of a scene;
4. ``postprocess`` -- threshold, cleanup, skeleton, graph (pixels);
5. ``vector`` -- georeferenced networks, export, merge;
6. ``osm`` -- road labels from OpenStreetMap and vector files;
7. ``evaluation`` -- metrics and reports;
7.5 ``conflate`` -- a network against OSM: missing and unconfirmed roads (its picture reuses
    the evaluation's drawing);
8. ``data``, ``sample`` -- datasets on disk, the bundled sample;
9. ``training``, ``pipeline`` -- the trainer, the extract job (one scene or many);
9.5 ``prechecks`` -- what can be known about a run's inputs before it starts (labels on
    the scene's grid, the extract run's folders), checked by the commands;
10. ``distributed`` -- a re-export of the many-scene runner (library code never imports it);
11. ``tools`` -- one module per subcommand;
12. ``cli`` -- the entry point, which registers the tools.
"""

from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

import roadseg

PACKAGE = Path(roadseg.__file__).resolve().parent

LAYERS: dict[str, float] = {
    "__init__": 0,
    "errors": 0,
    "uri": 0.2,
    "hashing": 0.4,
    "atomic": 0.5,
    "configfile": 0.5,
    "validate": 0.5,
    "io_guard": 0.5,
    "paths": 0.5,
    "sizeguard": 0.5,
    "leases": 0.6,
    "staging": 0.7,
    "raster": 1,
    "models": 2,
    "inference": 3,
    "postprocess": 4,
    "vector": 5,
    "osm": 6,
    "evaluation": 7,
    "conflate": 7.5,
    "data": 8,
    "sample": 8,
    "training": 9,
    "pipeline": 9,
    "prechecks": 9.5,
    "distributed": 10,
    "tools": 11,
    "cli": 12,
}


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _imports(path: Path) -> set[str]:
    """Absolute names of the roadseg modules ``path`` imports (relative imports resolved)."""
    name = _module_name(path)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(anchor + ([base] if base else []))
            found.add(base)
            found |= {f"{base}.{a.name}" for a in node.names}  # "from roadseg import vector"
    return {n for n in found if n == "roadseg" or n.startswith("roadseg.")}


def _part(module: str) -> str:
    """The subpackage (or top-level module) a module belongs to."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "__init__"


def _modules() -> dict[str, set[str]]:
    known = {_module_name(p) for p in PACKAGE.rglob("*.py")}
    graph: dict[str, set[str]] = {}
    for path in PACKAGE.rglob("*.py"):
        graph[_module_name(path)] = {n for n in _imports(path) if n in known}
    return graph


def test_every_part_of_the_package_has_a_layer():
    parts = {_part(m) for m in _modules()}
    assert parts - set(LAYERS) == set(), "add the new subpackage to LAYERS (and the docstring)"


def test_no_module_imports_a_later_stage():
    wrong = [
        f"{mod} imports {dep}"
        for mod, deps in _modules().items()
        for dep in deps
        if _part(dep) != _part(mod) and LAYERS[_part(dep)] >= LAYERS[_part(mod)]
    ]
    assert wrong == []


def _cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One cycle of ``graph`` as a path of nodes, or None (iterative depth-first search)."""
    state: dict[str, int] = defaultdict(int)  # 0 new, 1 on the stack, 2 done
    for start in sorted(graph):
        if state[start]:
            continue
        stack = [(start, iter(sorted(graph[start])))]
        path = [start]
        state[start] = 1
        while stack:
            node, children = stack[-1]
            child = next(children, None)
            if child is None:
                state[node] = 2
                stack.pop()
                path.pop()
            elif state[child] == 1:
                return path[path.index(child) :] + [child]
            elif state[child] == 0:
                state[child] = 1
                stack.append((child, iter(sorted(graph.get(child, ())))))
                path.append(child)
    return None


def test_no_cycle_between_subpackages():
    graph: dict[str, set[str]] = defaultdict(set)
    for mod, deps in _modules().items():
        graph[_part(mod)] |= {_part(d) for d in deps if _part(d) != _part(mod)}
    assert _cycle(dict(graph)) is None


def test_no_cycle_between_modules():
    """Inside a subpackage too (e.g. models.registry <-> models.widths), package ``__init__``s
    included: an ``__init__`` re-exports its modules, so a module of the package that imports
    the package itself (``from roadseg.training import augment``) closes a cycle; such a
    module imports its sibling by its full name (``import roadseg.training.augment``)."""
    assert _cycle({mod: set(deps) for mod, deps in _modules().items()}) is None


def test_package_inits_are_in_the_graph():
    """The graph the cycle test walks holds the package ``__init__``s and their imports."""
    graph = _modules()
    assert "roadseg.training" in graph and "roadseg.training.trainer" in graph["roadseg.training"]
    assert _is_package("roadseg.training") and not _is_package("roadseg.training.trainer")


def _is_package(module: str) -> bool:
    rel = Path(*module.split(".")[1:]) if "." in module else Path()
    return (PACKAGE / rel / "__init__.py").is_file()


def test_the_cycle_finder_finds_a_cycle():
    assert _cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert _cycle({"a": {"b"}, "b": set()}) is None
