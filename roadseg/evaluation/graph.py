"""Graph metrics of road networks: APLS (SpaceNet) and TOPO (Biagioni & Eriksson 2012).

Both take road centrelines in a *metric* CRS (metres), turned into a
:class:`~roadseg.evaluation.roadgraph.RoadGraph` by
:func:`~roadseg.evaluation.roadgraph.build_graph` (lines joined where they share a vertex,
as SpaceNet's reference implementation reads them). APLS lives in
:mod:`roadseg.evaluation.apls` and is re-exported here.

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
from scipy.sparse import csgraph
from scipy.spatial import cKDTree
from shapely.geometry import LineString

from roadseg.evaluation.apls import APLSConfig, apls, apls_one_way
from roadseg.evaluation.roadgraph import RoadGraph, build_graph

__all__ = [
    "APLSConfig",
    "RoadGraph",
    "TOPOConfig",
    "apls",
    "apls_one_way",
    "build_graph",
    "graph_metrics",
    "topo",
]

log = logging.getLogger(__name__)


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
