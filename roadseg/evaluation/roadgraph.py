"""Road graphs for the graph metrics, built the way SpaceNet's reference ``apls`` builds them.

A :class:`RoadGraph` is built from LineStrings in a *metric* CRS (metres):

1. every vertex is a node, and lines are joined only where they share a vertex
   (to the millimetre). Lines that cross without a common vertex stay apart, as
   OSM ways on a bridge or in a tunnel do; CosmiQ's ``apls`` (``graphTools``)
   reads GeoJSON the same way, so crossings are *not* noded;
2. chains through degree-2 vertices are merged into one edge (osmnx's
   ``simplify_graph``); a closed ring with no junction or end on it is left
   vertex by vertex, as osmnx leaves it (it has no end point to start from); a loop
   from a node back to itself (a cul-de-sac loop) is dropped, as the reference's removal
   of duplicate edges drops it;
3. connected components of at most 100 nodes whose longest shortest path is
   under ``min_component_m`` (5 m) are dropped (``apls._clean_sub_graphs``).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
from scipy import sparse
from scipy.sparse import csgraph
from shapely.geometry import LineString

_EPS = 1e-6  # metres: positions closer than this to an edge end snap onto the end node
_CLEAN_MAX_NODES = 100  # components larger than this are kept unchecked (as CosmiQ does)


@dataclass
class RoadGraph:
    """An undirected road graph with edge geometries.

    Attributes:
        coords: (N, 2) node coordinates in metres.
        edges: list of ``(u, v, LineString)``; the geometry runs from node u to node v.
    """

    coords: np.ndarray
    edges: list[tuple[int, int, LineString]]

    @property
    def n_nodes(self) -> int:
        return len(self.coords)

    @property
    def total_length(self) -> float:
        return float(sum(g.length for _, _, g in self.edges))

    def degrees(self) -> np.ndarray:
        deg = np.zeros(self.n_nodes, np.int64)
        for u, v, _ in self.edges:
            deg[u] += 1
            deg[v] += 1
        return deg

    def csr(self) -> sparse.csr_matrix:
        """Symmetric adjacency with edge lengths; parallel edges keep the shortest.

        Symmetric already, so Dijkstra runs with ``directed=True`` (no symmetrising copy).
        """
        n = self.n_nodes
        if not self.edges:
            return sparse.csr_matrix((n, n))
        u = np.array([e[0] for e in self.edges], np.int64)
        v = np.array([e[1] for e in self.edges], np.int64)
        w = np.array([max(e[2].length, 1e-9) for e in self.edges])
        keep = u != v  # a self-loop never shortens a path
        u, v, w = u[keep], v[keep], w[keep]
        rows, cols, ws = np.concatenate([u, v]), np.concatenate([v, u]), np.concatenate([w, w])
        order = np.lexsort((ws, cols, rows))
        rows, cols, ws = rows[order], cols[order], ws[order]
        first = np.ones(len(rows), bool)
        first[1:] = (rows[1:] != rows[:-1]) | (cols[1:] != cols[:-1])
        return sparse.csr_matrix((ws[first], (rows[first], cols[first])), shape=(n, n))


def _segments(lines: Iterable[LineString]) -> tuple[np.ndarray, list[tuple[int, int]]]:
    """Vertices → nodes (shared to the mm, numbered in reading order); consecutive pairs."""
    index: dict[tuple[float, float], int] = {}
    coords: list[tuple[float, float]] = []
    segs: list[tuple[int, int]] = []
    for line in lines:
        if line is None or line.is_empty:
            continue
        for part in getattr(line, "geoms", [line]):
            prev = -1
            for c in part.coords:
                key = (round(c[0], 3), round(c[1], 3))
                if key not in index:
                    index[key] = len(coords)
                    coords.append((float(c[0]), float(c[1])))
                node = index[key]
                if prev >= 0 and node != prev:
                    segs.append((prev, node))
                prev = node
    return np.array(coords, float).reshape(-1, 2), segs


def _chains(n: int, segs: list[tuple[int, int]]) -> list[list[int]]:
    """Node sequences of the simplified edges: chains between end points and junctions."""
    inc: list[list[int]] = [[] for _ in range(n)]
    for i, (a, b) in enumerate(segs):
        inc[a].append(i)
        inc[b].append(i)

    def interstitial(node: int) -> bool:
        ends = inc[node]
        if len(ends) != 2:
            return False
        others = {segs[i][0] if segs[i][1] == node else segs[i][1] for i in ends}
        return len(others) == 2 and node not in others

    inner = [interstitial(k) for k in range(n)]
    used = np.zeros(len(segs), bool)
    chains = []
    for start in range(n):
        if inner[start]:
            continue
        for s in inc[start]:
            if used[s]:
                continue
            path, node, seg = [start], start, s
            while True:
                used[seg] = True
                a, b = segs[seg]
                node = b if a == node else a
                path.append(node)
                if not inner[node]:
                    break
                seg = next(i for i in inc[node] if i != seg)
            chains.append(path)
    # closed rings of degree-2 vertices only: no end to start from, kept segment by segment
    chains.extend([list(segs[i]) for i in np.flatnonzero(~used)])
    return chains


def _drop_small_components(graph: RoadGraph, min_length: float) -> RoadGraph:
    """Drop components (≤ 100 nodes) whose longest shortest path is under ``min_length``."""
    if not graph.edges or min_length <= 0:
        return graph
    csr = graph.csr()
    n_comp, label = csgraph.connected_components(csr, directed=False)
    sizes = np.bincount(label, minlength=n_comp)
    bad = np.zeros(n_comp, bool)
    for c in np.flatnonzero(sizes <= _CLEAN_MAX_NODES).tolist():
        nodes = np.flatnonzero(label == c)
        # beyond ``limit`` Dijkstra gives inf: inside one component that is a long path
        d = csgraph.dijkstra(csr, directed=True, indices=nodes, limit=min_length)[:, nodes]
        bad[c] = bool(np.isfinite(d).all() and d.max() < min_length)
    keep_node = ~bad[label]
    if keep_node.all():
        return graph
    new_id = np.cumsum(keep_node) - 1
    edges = [(int(new_id[u]), int(new_id[v]), g) for u, v, g in graph.edges if keep_node[u]]
    return RoadGraph(graph.coords[keep_node], edges)


def build_graph(lines: Iterable[LineString], min_component_m: float = 5.0) -> RoadGraph:
    """Build a :class:`RoadGraph` from lines in metres (steps 1–3 of the module docstring)."""
    coords, segs = _segments(lines)
    if not segs:
        return RoadGraph(np.zeros((0, 2)), [])
    chains = _chains(len(coords), segs)
    # a loop leaving a node and coming back to it is dropped: the reference's
    # duplicate-edge removal deletes both directions of every two-way loop
    edges = [(p[0], p[-1], LineString(coords[p])) for p in chains if p[0] != p[-1]]
    if not edges:
        return RoadGraph(np.zeros((0, 2)), [])
    # vertices merged away by simplification are no nodes any more: renumber the rest
    keep = np.zeros(len(coords), bool)
    keep[[u for u, _, _ in edges] + [v for _, v, _ in edges]] = True
    new_id = np.cumsum(keep) - 1
    graph = RoadGraph(coords[keep], [(int(new_id[u]), int(new_id[v]), g) for u, v, g in edges])
    return _drop_small_components(graph, min_component_m)


def interp(cs: np.ndarray, cum: np.ndarray, t: float) -> np.ndarray:
    """The point at arc length ``t`` along vertices ``cs`` with cumulative lengths ``cum``."""
    k = int(np.clip(np.searchsorted(cum, t, side="right") - 1, 0, len(cum) - 2))
    seg = cum[k + 1] - cum[k]
    f = (t - cum[k]) / seg if seg > 0 else 0.0
    return cs[k] + f * (cs[k + 1] - cs[k])


def _piece(cs: np.ndarray, cum: np.ndarray, t0: float, t1: float) -> LineString:
    """The part of the polyline between arc lengths t0 < t1 (a fast ``substring``)."""
    inner = cs[(cum > t0) & (cum < t1)]
    return LineString(np.vstack([interp(cs, cum, t0), inner, interp(cs, cum, t1)]))


def split_edges(
    graph: RoadGraph, cuts: dict[int, list[float]]
) -> tuple[RoadGraph, dict[tuple[int, float], int]]:
    """Split edges at arc-length positions; return the new graph and {(edge, t): node}.

    A position within 1 µm of an edge end is that end's node (no zero-length edge).
    """
    coords = [tuple(c) for c in graph.coords]
    edges: list[tuple[int, int, LineString]] = []
    where: dict[tuple[int, float], int] = {}
    for i, (u, v, g) in enumerate(graph.edges):
        ts = cuts.get(i)
        if not ts:
            edges.append((u, v, g))
            continue
        cs = np.asarray(g.coords)[:, :2]
        cum = np.concatenate([[0.0], np.cumsum(np.hypot(*np.diff(cs, axis=0).T))])
        length = float(cum[-1])
        inner = sorted({t for t in ts if _EPS < t < length - _EPS})
        for t in ts:
            if t <= _EPS:
                where[(i, t)] = u
            elif t >= length - _EPS:
                where[(i, t)] = v
        prev_t, prev_n = 0.0, u
        for t in inner:
            n = len(coords)
            coords.append(tuple(interp(cs, cum, t)))
            edges.append((prev_n, n, _piece(cs, cum, prev_t, t)))
            where[(i, t)] = n
            prev_t, prev_n = t, n
        edges.append((prev_n, v, _piece(cs, cum, prev_t, length)))
    return RoadGraph(np.array(coords, float).reshape(-1, 2), edges), where
