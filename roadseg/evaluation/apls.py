"""APLS (Van Etten et al. 2018, SpaceNet 3) with the conventions of CosmiQ's reference ``apls``.

Graphs come from :func:`roadseg.evaluation.roadgraph.build_graph` (metric CRS, lines joined
only at shared vertices, short components dropped). One direction, from a source graph S
to a target graph T:

1. control points of S: all its nodes (junctions, ends) and points injected along every
   edge of length L: none when L < 0.75 · 50 m, one at L/2 when L ≤ 50 m, otherwise
   ``ceil(L / 50) − 1`` points evenly spaced (``apls.create_graph_midpoints``);
2. each control point is snapped to the nearest point of T within ``snap_m`` = 4 m (T's
   edge is split there). Control points are inserted one after the other, and when several
   land on the same point of T the last one takes it (the reference renames the node) and
   the earlier ones have no counterpart; so have those with nothing within 4 m;
3. for every ordered pair (a, b) of control points joined by a path in S:
   ``d = min(1, |L_S − L_T| / L_S)`` with ``L_T`` the shortest path between the
   counterparts in T, and ``d = 1`` when a counterpart is missing or T has no path.
   Pairs with ``L_S < min_path_m`` are skipped, except from a control point without a
   counterpart, whose pairs all count (``apls.path_sim_metric``). The reference's
   command-line default ``min_path_length`` = 0.001 m is the default here;
4. ``APLS_{S→T} = 1 − mean(d)``.

``apls_gt_to_prop`` is the direction S = ground truth (it penalises missed roads and broken
connections), ``apls_prop_to_gt`` the reverse (spurious roads), and ``apls`` their harmonic
mean, 0 when either is 0. Pairs in different components of S are no paths and are skipped.
Differences from the reference, on purpose: a direction with no pair is undefined (NaN, the
reference says 0), and nothing against nothing is NaN; above ``max_control_points`` (1000)
a seeded sample of the control points (midpoints included) is used, where the reference
switches, above 500 ground-truth nodes, to an unseeded sample of 1000 nodes without
midpoints. On the seven SpaceNet-vs-OSM Las Vegas chips of ``tests/data/spacenet`` every
chip agrees with the reference to within 0.01 (tests/evaluation/test_apls_reference.py).
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass

import numpy as np
import shapely
from scipy.sparse import csgraph

from roadseg.evaluation.roadgraph import RoadGraph, split_edges

log = logging.getLogger(__name__)


@dataclass
class APLSConfig:
    """APLS parameters (the reference implementation's defaults)."""

    control_spacing_m: float = 50.0
    snap_m: float = 4.0
    min_path_m: float = 0.001
    max_control_points: int = 1000
    seed: int = 0


def _midpoint_cuts(length: float, spacing: float) -> list[float]:
    """Arc lengths of the control points injected along an edge (step 1)."""
    if length < 0.75 * spacing:
        return []
    if length <= spacing:
        return [0.5 * length]
    n = math.ceil(length / spacing)
    return [length * k / n for k in range(1, n)]


def with_control_points(graph: RoadGraph, spacing: float) -> tuple[RoadGraph, np.ndarray]:
    """Inject midpoints; return the split graph and its control points in insertion order."""
    cuts = {
        i: ts
        for i, (_, _, g) in enumerate(graph.edges)
        if (ts := _midpoint_cuts(g.length, spacing))
    }
    split, where = split_edges(graph, cuts)
    injected = [where[(i, t)] for i in sorted(cuts) for t in cuts[i]]
    order = list(range(graph.n_nodes)) + [n for n in injected if n >= graph.n_nodes]
    return split, np.array(list(dict.fromkeys(order)), np.int64)


def snap(graph: RoadGraph, points: np.ndarray, max_dist: float) -> tuple[RoadGraph, np.ndarray]:
    """Snap points, in order, to the nearest graph point within ``max_dist``; -1 where none.

    A point of the graph taken by several points goes to the last of them (step 2).
    """
    out = np.full(len(points), -1, np.int64)
    if not graph.edges or len(points) == 0:
        return graph, out
    geoms = np.array([g for _, _, g in graph.edges], dtype=object)
    pts = shapely.points(points)
    src_idx, edge_idx = shapely.STRtree(geoms).query_nearest(
        pts, max_distance=max_dist, all_matches=False
    )
    if len(src_idx) == 0:
        return graph, out
    ts = shapely.line_locate_point(geoms[edge_idx], pts[src_idx])
    cuts: dict[int, list[float]] = {}
    for e, t in zip(edge_idx.tolist(), ts.tolist()):
        cuts.setdefault(e, []).append(t)
    split, where = split_edges(graph, cuts)
    taken: dict[int, int] = {}
    for s, e, t in sorted(zip(src_idx.tolist(), edge_idx.tolist(), ts.tolist())):
        taken[where[(e, t)]] = s  # later points overwrite earlier ones
    for node, s in taken.items():
        out[s] = node
    return split, out


def apls_one_way(source: RoadGraph, target: RoadGraph, cfg: APLSConfig | None = None) -> float:
    """APLS from ``source`` to ``target`` (steps 1–4 of the module docstring); NaN if no pair."""
    cfg = cfg or APLSConfig()
    src, control = with_control_points(source, cfg.control_spacing_m)
    if len(control) > cfg.max_control_points:
        log.info("APLS: %d control points sampled out of %d", cfg.max_control_points, len(control))
        rng = np.random.default_rng(cfg.seed)
        control = control[np.sort(rng.choice(len(control), cfg.max_control_points, replace=False))]
    if len(control) < 2:
        return math.nan
    d_src = csgraph.dijkstra(src.csr(), directed=True, indices=control)[:, control]
    tgt, cp = snap(target, src.coords[control], cfg.snap_m)
    has = cp >= 0
    pair = np.isfinite(d_src) & ((d_src >= cfg.min_path_m) | ~has[:, None])
    np.fill_diagonal(pair, False)
    if not pair.any():
        return math.nan
    d_tgt = np.full_like(d_src, np.inf)
    if has.any():
        rows = csgraph.dijkstra(tgt.csr(), directed=True, indices=cp[has])
        d_tgt[np.ix_(has, has)] = rows[:, cp[has]]
    with np.errstate(invalid="ignore", divide="ignore"):
        diff = np.where(
            np.isfinite(d_tgt) & (d_src > 0),
            np.minimum(1.0, np.abs(d_src - d_tgt) / d_src),
            np.where(np.isfinite(d_tgt), 0.0, 1.0),
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
