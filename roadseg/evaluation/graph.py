"""Graph metrics of road networks: APLS (SpaceNet) and TOPO (Biagioni & Eriksson 2012).

Both take road centrelines in a *metric* CRS (metres). A :class:`RoadGraph` is
built from any set of LineStrings by noding them (``unary_union``: a node at
every crossing and shared vertex) and merging chains through degree-2 points
(``line_merge``). Noding at every crossing also joins roads that cross on a
bridge; the inputs (OSM, SpaceNet, vectorised predictions) rarely carry levels,
so this is the common convention.

APLS (Van Etten et al. 2018, SpaceNet 3)
----------------------------------------
One direction, from a source graph S to a target graph T:

1. control points of S: its junctions and end points (degree ≠ 2) and points
   injected along every edge at most ``control_spacing_m`` = 50 m apart;
2. each control point is snapped to the nearest point of T within
   ``snap_m`` = 4 m (T's edge is split there); control points with nothing
   within 4 m have no counterpart;
3. for every ordered pair (a, b) of control points joined by a path in S of
   length ``L_S >= min_path_m`` (= 10 m; shorter paths are skipped):
   ``d = min(1, |L_S − L_T| / L_S)`` with ``L_T`` the shortest path between the
   counterparts in T, and ``d = 1`` when a counterpart is missing or T has no
   path between them;
4. ``APLS_{S→T} = 1 − mean(d)``.

``apls_gt_to_prop`` is the direction S = ground truth (it penalises missed
roads and broken connections), ``apls_prop_to_gt`` the reverse (it penalises
spurious roads), and ``apls`` their harmonic mean. Pairs pool both orders
(a, b) and (b, a); the score is the same as over unordered pairs. Pairs in
different components of S are not paths and are skipped, so disconnected
graphs are handled. A direction with no pair is undefined (NaN); the harmonic
mean is then the defined direction if it is 0 (an empty prediction against
a real network scores 0) and NaN when both are undefined.

Bounded time: above ``max_control_points`` (1000) control points, a seeded
random sample of that many is used as sources *and* targets, so a direction
costs at most 1000 Dijkstra runs (scipy's C implementation) on the graph,
whatever its size.

TOPO (Biagioni & Eriksson 2012)
-------------------------------
``n_seeds`` (100) seed locations are drawn (seeded) among points along the
ground truth. From each, the ground-truth subgraph within ``radius_m`` (300 m)
of network distance is covered with *holes* every ``hole_spacing_m`` (5 m)
along its edges; the seed is snapped to the nearest point of the proposal
within ``match_m`` (5 m), and the proposal subgraph within the same network
radius is covered with *marbles* at the same spacing. Holes and marbles are
matched one to one (closest pairs first) when at most ``match_m`` apart. Summed
over seeds: precision = matched / marbles, recall = matched / holes, F1 their
harmonic mean. A seed with no proposal within ``match_m`` contributes its holes
and no marble.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
import shapely
from scipy import sparse
from scipy.sparse import csgraph
from scipy.spatial import cKDTree
from shapely.geometry import LineString

log = logging.getLogger(__name__)

_EPS = 1e-6  # metres: positions closer than this to an edge end snap onto the end node


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


def build_graph(lines: Iterable[LineString]) -> RoadGraph:
    """Node a set of lines (metric CRS) into a :class:`RoadGraph` (see module docstring)."""
    geoms = [g for g in lines if g is not None and not g.is_empty and g.length > 0]
    if not geoms:
        return RoadGraph(np.zeros((0, 2)), [])
    merged = shapely.line_merge(shapely.unary_union(geoms))
    parts = list(getattr(merged, "geoms", [merged]))
    index: dict[tuple[float, float], int] = {}
    coords: list[tuple[float, float]] = []

    def node(xy: tuple[float, float]) -> int:
        key = (round(xy[0], 3), round(xy[1], 3))  # mm: identical vertices after noding
        if key not in index:
            index[key] = len(coords)
            coords.append((float(xy[0]), float(xy[1])))
        return index[key]

    edges = []
    for g in parts:
        if g.is_empty or g.length == 0:
            continue
        cs = g.coords
        edges.append((node(cs[0][:2]), node(cs[-1][:2]), LineString([c[:2] for c in cs])))
    return RoadGraph(np.array(coords, float).reshape(-1, 2), edges)


def _interp(cs: np.ndarray, cum: np.ndarray, t: float) -> np.ndarray:
    """The point at arc length ``t`` along vertices ``cs`` with cumulative lengths ``cum``."""
    k = int(np.clip(np.searchsorted(cum, t, side="right") - 1, 0, len(cum) - 2))
    seg = cum[k + 1] - cum[k]
    f = (t - cum[k]) / seg if seg > 0 else 0.0
    return cs[k] + f * (cs[k + 1] - cs[k])


def _piece(cs: np.ndarray, cum: np.ndarray, t0: float, t1: float) -> LineString:
    """The part of the polyline between arc lengths t0 < t1 (a fast ``substring``)."""
    inner = cs[(cum > t0) & (cum < t1)]
    return LineString(np.vstack([_interp(cs, cum, t0), inner, _interp(cs, cum, t1)]))


def _split_edges(
    graph: RoadGraph, cuts: dict[int, list[float]]
) -> tuple[RoadGraph, dict[tuple[int, float], int]]:
    """Split edges at arc-length positions; return the new graph and {(edge, t): node}."""
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
            coords.append(tuple(_interp(cs, cum, t)))
            edges.append((prev_n, n, _piece(cs, cum, prev_t, t)))
            where[(i, t)] = n
            prev_t, prev_n = t, n
        edges.append((prev_n, v, _piece(cs, cum, prev_t, length)))
    return RoadGraph(np.array(coords, float).reshape(-1, 2), edges), where


def _with_control_points(graph: RoadGraph, spacing: float) -> tuple[RoadGraph, np.ndarray]:
    """Inject points at most ``spacing`` apart; control = degree ≠ 2 nodes + injected."""
    cuts: dict[int, list[float]] = {}
    for i, (_, _, g) in enumerate(graph.edges):
        n = math.ceil(g.length / spacing)
        if n > 1:
            cuts[i] = [g.length * k / n for k in range(1, n)]
    deg = graph.degrees()
    split, where = _split_edges(graph, cuts)
    control = set(np.flatnonzero(deg != 2).tolist()) | set(where.values())
    return split, np.array(sorted(control), np.int64)


def _snap(graph: RoadGraph, points: np.ndarray, max_dist: float) -> tuple[RoadGraph, np.ndarray]:
    """Snap points to the nearest graph point within ``max_dist``; -1 where none."""
    out = np.full(len(points), -1, np.int64)
    if not graph.edges or len(points) == 0:
        return graph, out
    geoms = np.array([g for _, _, g in graph.edges], dtype=object)
    tree = shapely.STRtree(geoms)
    pts = shapely.points(points)
    src_idx, edge_idx = tree.query_nearest(pts, max_distance=max_dist, all_matches=False)
    if len(src_idx) == 0:
        return graph, out
    ts = shapely.line_locate_point(geoms[edge_idx], pts[src_idx])
    cuts: dict[int, list[float]] = {}
    for e, t in zip(edge_idx.tolist(), ts.tolist()):
        cuts.setdefault(e, []).append(t)
    split, where = _split_edges(graph, cuts)
    out[src_idx] = [where[(e, t)] for e, t in zip(edge_idx.tolist(), ts.tolist())]
    return split, out


@dataclass
class APLSConfig:
    """APLS parameters (SpaceNet's defaults)."""

    control_spacing_m: float = 50.0
    snap_m: float = 4.0
    min_path_m: float = 10.0
    max_control_points: int = 1000
    seed: int = 0


def apls_one_way(source: RoadGraph, target: RoadGraph, cfg: APLSConfig | None = None) -> float:
    """APLS from ``source`` to ``target`` (steps 1–4 of the module docstring); NaN if no pair."""
    cfg = cfg or APLSConfig()
    src, control = _with_control_points(source, cfg.control_spacing_m)
    if len(control) > cfg.max_control_points:
        log.info("APLS: %d control points sampled out of %d", cfg.max_control_points, len(control))
        rng = np.random.default_rng(cfg.seed)
        control = np.sort(rng.choice(control, cfg.max_control_points, replace=False))
    if len(control) < 2:
        return math.nan
    d_src = csgraph.dijkstra(src.csr(), directed=True, indices=control)[:, control]
    pair = np.isfinite(d_src) & (d_src >= cfg.min_path_m)
    np.fill_diagonal(pair, False)
    if not pair.any():
        return math.nan
    tgt, cp = _snap(target, src.coords[control], cfg.snap_m)
    d_tgt = np.full_like(d_src, np.inf)
    has = cp >= 0
    if has.any():
        rows = csgraph.dijkstra(tgt.csr(), directed=True, indices=cp[has])
        d_tgt[np.ix_(has, has)] = rows[:, cp[has]]
    with np.errstate(invalid="ignore"):
        diff = np.where(
            np.isfinite(d_tgt),
            np.minimum(1.0, np.abs(d_src - d_tgt) / np.maximum(d_src, 1e-9)),
            1.0,
        )
    return float(1.0 - diff[pair].mean())


def _harmonic(a: float, b: float) -> float:
    vals = [x for x in (a, b) if not math.isnan(x)]
    if not vals:
        return math.nan
    if len(vals) == 1:
        # one direction undefined (an empty graph): only a zero is conclusive
        return 0.0 if vals[0] == 0.0 else math.nan
    if a <= 0 or b <= 0:
        return 0.0
    return 2.0 * a * b / (a + b)


def apls(gt: RoadGraph, prop: RoadGraph, cfg: APLSConfig | None = None) -> dict[str, float]:
    """APLS both ways and their harmonic mean: keys apls, apls_gt_to_prop, apls_prop_to_gt."""
    g2p = apls_one_way(gt, prop, cfg)
    p2g = apls_one_way(prop, gt, cfg)
    if math.isnan(g2p) and gt.edges and not prop.edges:
        g2p = 0.0
    if math.isnan(p2g) and prop.edges and not gt.edges:
        p2g = 0.0
    return {"apls": _harmonic(g2p, p2g), "apls_gt_to_prop": g2p, "apls_prop_to_gt": p2g}


@dataclass
class TOPOConfig:
    """TOPO parameters (see the module docstring)."""

    hole_spacing_m: float = 5.0
    radius_m: float = 300.0
    match_m: float = 5.0
    n_seeds: int = 100
    seed: int = 0


class _Samples:
    """Points every ``spacing`` along each edge, at (k + ½)·L/n so none sits on a node."""

    def __init__(self, graph: RoadGraph, spacing: float):
        self.graph = graph
        edge, ts, xy = [], [], []
        for i, (_, _, g) in enumerate(graph.edges):
            n = max(1, math.ceil(g.length / spacing))
            t = (np.arange(n) + 0.5) * g.length / n
            pts = shapely.get_coordinates(shapely.line_interpolate_point(g, t))
            edge.append(np.full(n, i))
            ts.append(t)
            xy.append(pts)
        self.edge = np.concatenate(edge) if edge else np.zeros(0, np.int64)
        self.t = np.concatenate(ts) if ts else np.zeros(0)
        self.xy = np.concatenate(xy) if xy else np.zeros((0, 2))
        self.u = np.array([e[0] for e in graph.edges], np.int64)
        self.v = np.array([e[1] for e in graph.edges], np.int64)
        self.length = np.array([e[2].length for e in graph.edges])
        self.csr = graph.csr()

    def within(self, edge: int, t: float, radius: float) -> np.ndarray:
        """Indices of the samples within network distance ``radius`` of (edge, t)."""
        u, v, length = self.u[edge], self.v[edge], self.length[edge]
        d = csgraph.dijkstra(self.csr, directed=True, indices=[u, v], limit=radius + length)
        d_node = np.minimum(t + d[0], (length - t) + d[1])
        du = d_node[self.u[self.edge]] + self.t
        dv = d_node[self.v[self.edge]] + (self.length[self.edge] - self.t)
        dist = np.minimum(du, dv)
        same = self.edge == edge
        dist[same] = np.minimum(dist[same], np.abs(self.t[same] - t))
        return np.flatnonzero(dist <= radius)


def _match_count(a: np.ndarray, b: np.ndarray, max_dist: float) -> int:
    """One-to-one matches between point sets within ``max_dist``, closest pairs first."""
    if len(a) == 0 or len(b) == 0:
        return 0
    pairs = cKDTree(a).sparse_distance_matrix(cKDTree(b), max_dist, output_type="ndarray")
    if len(pairs) == 0:
        return 0
    pairs = pairs[np.argsort(pairs["v"], kind="stable")]
    used_a = np.zeros(len(a), bool)
    used_b = np.zeros(len(b), bool)
    n = 0
    for i, j in zip(pairs["i"].tolist(), pairs["j"].tolist()):
        if not used_a[i] and not used_b[j]:
            used_a[i] = used_b[j] = True
            n += 1
    return n


def topo(gt: RoadGraph, prop: RoadGraph, cfg: TOPOConfig | None = None) -> dict[str, float]:
    """TOPO precision, recall and F1 (keys topo_precision, topo_recall, topo_f1)."""
    cfg = cfg or TOPOConfig()
    nan = {"topo_precision": math.nan, "topo_recall": math.nan, "topo_f1": math.nan}
    if not gt.edges:
        return nan
    gs = _Samples(gt, cfg.hole_spacing_m)
    ps = _Samples(prop, cfg.hole_spacing_m) if prop.edges else None
    rng = np.random.default_rng(cfg.seed)
    seeds = rng.choice(len(gs.t), min(cfg.n_seeds, len(gs.t)), replace=False)
    tree = None
    if ps is not None:
        pgeoms = np.array([g for _, _, g in prop.edges], dtype=object)
        tree = shapely.STRtree(pgeoms)
    matched = holes_total = marbles_total = 0
    for s in seeds.tolist():
        holes = gs.xy[gs.within(int(gs.edge[s]), float(gs.t[s]), cfg.radius_m)]
        holes_total += len(holes)
        if tree is None:
            continue
        p = shapely.points(gs.xy[s])
        hit = tree.query_nearest(p, max_distance=cfg.match_m, all_matches=False)
        if len(hit) == 0:
            continue
        assert ps is not None  # the tree exists only when ps does
        e = int(hit[0])
        t = float(shapely.line_locate_point(pgeoms[e], p))
        marbles = ps.xy[ps.within(e, t, cfg.radius_m)]
        marbles_total += len(marbles)
        matched += _match_count(holes, marbles, cfg.match_m)
    precision = matched / marbles_total if marbles_total else math.nan
    recall = matched / holes_total if holes_total else math.nan
    if matched == 0:
        f1 = 0.0 if holes_total else math.nan
    else:
        f1 = 2 * precision * recall / (precision + recall)
    return {"topo_precision": precision, "topo_recall": recall, "topo_f1": f1}


def graph_metrics(
    gt_lines: Iterable[LineString],
    prop_lines: Iterable[LineString],
    apls_cfg: APLSConfig | None = None,
    topo_cfg: TOPOConfig | None = None,
) -> dict[str, float]:
    """APLS (both ways) and TOPO of proposal lines against ground-truth lines, in metres."""
    gt, prop = build_graph(gt_lines), build_graph(prop_lines)
    log.info(
        "graphs: ground truth %d nodes / %d edges, proposal %d nodes / %d edges",
        gt.n_nodes,
        len(gt.edges),
        prop.n_nodes,
        len(prop.edges),
    )
    return {**apls(gt, prop, apls_cfg), **topo(gt, prop, topo_cfg)}
