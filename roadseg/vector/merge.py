"""Merging road networks across seams: for networks already vectorised apart.

Many scenes no longer need it: the many-scene runner vectorises the mosaic of
their probability rasters (:mod:`roadseg.pipeline.mosaic`), which sees every road
whole and once. This heuristic stays for networks that only exist as vectors
(e.g. produced by separate runs); it cannot remove the duplicates of scenes that
overlap by more than the seam.

Two rules, so that scenes tiling a region merge into the region's network:

1. end to end: end points (degree-1 nodes) of *different* networks that lie within
   ``seam_m`` metres of each other are snapped together: each connected cluster of
   such close end points (single linkage) becomes one node at the cluster centroid,
   the edges are re-attached to it;
2. end to edge: an end point still free that touches its raster's border (the road
   was cut there, so it goes on in the neighbouring scene) is joined to the nearest
   point *on an edge* of another network within ``join_m`` metres (default 25 m),
   closest pairs first. That edge is split there, which makes the degree-3 node of a
   T-junction near the seam (the scene that holds the junction has pruned the stub
   between it and the border as a spur, up to ``min_spur_m`` + half a road width
   long, so the other scene's end stops short of the main road), or, when the
   nearest point is an end of that edge, the two are joined end to end. The gap is
   bridged by a straight segment (``bridged`` = true).

Nodes left with degree 2 are then dissolved, so a road crossing a seam comes out as
one polyline. Joined edges get the summed length and length-weighted mean
probability and width.

Networks are brought to the first network's CRS (networks without CRS can only be
merged with each other). Overlapping duplicate roads (scenes that overlap by more
than the seam) are not deduplicated.
"""

from __future__ import annotations

import math
from typing import Any

import networkx as nx
import numpy as np

from roadseg.errors import InputError
from roadseg.vector.network import RoadNetwork, empty_network


def _metres_per_unit(crs: Any, y_mid: float) -> float:
    if crs is None:
        return 1.0
    if crs.is_geographic:
        return 6371008.8 * math.pi / 180.0 * max(math.cos(math.radians(y_mid)), 1e-6)
    try:
        return float(crs.axis_info[0].unit_conversion_factor)
    except (IndexError, AttributeError):
        return 1.0


#: End-to-edge join distance (metres) of rule 2 (see the module docstring).
JOIN_M = 25.0


def merge_networks(
    networks: list[RoadNetwork], seam_m: float = 3.0, join_m: float = JOIN_M
) -> RoadNetwork:
    """Merge ``networks`` into one: end points within ``seam_m`` metres across networks are
    snapped together, border end points within ``join_m`` of another network join its edges."""
    import shapely

    networks = list(networks)
    if not networks:
        raise InputError("merge_networks: no networks given")
    crs = next((n.crs for n in networks if n.crs is not None), None)
    if crs is not None and any(n.crs is None for n in networks):
        raise InputError(
            "merge_networks: cannot merge networks without a CRS with georeferenced ones"
        )
    gsd = min(n.gsd for n in networks)
    meta = {
        "merged_from": [n.metadata.get("source") for n in networks],
        "seam_m": seam_m,
        "join_m": join_m,
    }

    g = nx.MultiGraph()
    for i, net in enumerate(networks):
        edges, nodes = net.edges, net.nodes
        if crs is not None and net.crs is not None and not net.crs.equals(crs):
            edges, nodes = edges.to_crs(crs), nodes.to_crs(crs)
        for row in nodes.itertuples(index=False):
            g.add_node(
                (i, int(row.node_id)),
                pos=(row.geometry.x, row.geometry.y),
                net=i,
                border=bool(row.border),
            )
        for row in edges.itertuples(index=False):
            g.add_edge(
                (i, int(row.u)),
                (i, int(row.v)),
                start=(i, int(row.u)),
                end=(i, int(row.v)),
                coords=shapely.get_coordinates(row.geometry),
                length_m=float(row.length_m),
                mean_prob=float(row.mean_prob),
                width_m=float(row.width_m),
                bridged=bool(row.bridged),
                nets=frozenset([i]),
            )
    if g.number_of_nodes() == 0:
        return empty_network(crs, gsd, meta)

    y_mid = float(np.median([p[1] for _, p in g.nodes(data="pos")]))
    unit = _metres_per_unit(crs, y_mid)
    _join_ends(g, seam_m, unit)
    if join_m > 0:
        _dissolve(g, _join_ends_to_edges(g, join_m / unit, unit, len(networks)))
    return _to_network(g, crs, gsd, meta)


def _join_ends(g: nx.MultiGraph, seam_m: float, unit: float) -> None:
    """Rule 1: snap end points of different networks within ``seam_m`` together."""
    from scipy.spatial import cKDTree

    ends = [n for n in g.nodes if g.degree(n) == 1]
    if len(ends) >= 2 and seam_m > 0:
        pos = np.array([g.nodes[n]["pos"] for n in ends])
        pairs = cKDTree(pos).query_pairs(seam_m / unit, output_type="ndarray")
        pairs = [(a, b) for a, b in pairs.tolist() if ends[a][0] != ends[b][0]]
        uf = nx.utils.UnionFind()
        for a, b in pairs:
            uf.union(a, b)
        touched = []
        for group in uf.to_sets():
            group = sorted(group)
            if len(group) < 2:
                continue
            keep = ends[group[0]]
            centre = tuple(pos[group].mean(axis=0))
            for j in group[1:]:
                other = ends[j]
                for _, w, k, d in list(g.edges(other, keys=True, data=True)):
                    g.remove_edge(other, w, k)
                    d = dict(d)
                    d["start"] = keep if d["start"] == other else d["start"]
                    d["end"] = keep if d["end"] == other else d["end"]
                    g.add_edge(d["start"], d["end"], **d)
                g.nodes[keep]["border"] = g.nodes[keep]["border"] or g.nodes[other]["border"]
                g.remove_node(other)
            g.nodes[keep]["pos"] = centre
            for _, _, d in g.edges(keep, data=True):
                c = d["coords"].copy()
                if d["start"] == keep:
                    c[0] = centre
                if d["end"] == keep:
                    c[-1] = centre
                # the end moved by up to the seam: keep length_m in step with the geometry
                d["length_m"] += (_planar_length(c) - _planar_length(d["coords"])) * unit
                d["coords"] = c
            touched.append(keep)
        _dissolve(g, touched)


def _to_network(g: nx.MultiGraph, crs: Any, gsd: float, meta: dict) -> RoadNetwork:
    import geopandas as gpd
    import shapely

    ids = {n: i for i, n in enumerate(sorted(g.nodes))}
    node_rows = sorted(ids.items(), key=lambda t: t[1])
    nodes = gpd.GeoDataFrame(
        {
            "node_id": np.arange(len(ids), dtype=np.int64),
            "degree": np.array([g.degree(n) for n, _ in node_rows], np.int64),
            "border": np.array([g.nodes[n]["border"] for n, _ in node_rows], bool),
        },
        geometry=shapely.points(np.array([g.nodes[n]["pos"] for n, _ in node_rows]).reshape(-1, 2)),
        crs=crs,
    )
    data = [d for _, _, d in g.edges(data=True)]
    edges = gpd.GeoDataFrame(
        {
            "u": np.array([ids[d["start"]] for d in data], np.int64),
            "v": np.array([ids[d["end"]] for d in data], np.int64),
            "length_m": np.array([d["length_m"] for d in data], np.float64),
            "mean_prob": np.array([d["mean_prob"] for d in data], np.float64),
            "width_m": np.array([d["width_m"] for d in data], np.float64),
            "bridged": np.array([d["bridged"] for d in data], bool),
        },
        geometry=[shapely.linestrings(d["coords"]) for d in data],
        crs=crs,
    )
    return RoadNetwork(edges, nodes, crs, gsd, meta)


def _nearest_other_edge(
    g: nx.MultiGraph, end: Any, candidates: set[int], where: dict, max_dist: float
) -> Any:
    """The nearest point, within ``max_dist`` (CRS units), of a candidate edge of another
    network than ``end``'s: ``(distance, (u, v, key), arc position)`` or None."""
    import shapely

    p = shapely.Point(*g.nodes[end]["pos"])
    own = g.nodes[end]["net"]
    best = None
    for eid in sorted(candidates):
        if eid not in where:
            continue  # split since
        u, v, k = where[eid]
        d = g.edges[u, v, k]
        if end in (u, v) or not d["nets"] - {own}:
            continue
        line = shapely.linestrings(d["coords"][:, :2])
        dist = float(shapely.distance(line, p))
        if dist <= max_dist and (best is None or dist < best[0]):
            best = (dist, (u, v, k), float(shapely.line_locate_point(line, p)))
    return best


def _split_at(g: nx.MultiGraph, edge: Any, t: float, new_id: Any, next_eid: int) -> tuple:
    """The node at arc position ``t`` of ``edge`` (an end of it, or a new node splitting it)
    and the ids of the two pieces (empty when not split)."""
    import shapely

    u, v, k = edge
    d = g.edges[u, v, k]
    c = d["coords"]
    line = shapely.linestrings(c[:, :2])
    total = float(line.length)
    eps = 1e-9 * max(total, 1.0)
    if t <= eps:
        return d["start"], ()
    if t >= total - eps:
        return d["end"], ()
    cum = np.concatenate([[0.0], np.cumsum(np.hypot(*np.diff(c[:, :2], axis=0).T))])
    at = shapely.get_coordinates(shapely.line_interpolate_point(line, t))[0]
    first = np.vstack([c[cum < t], at])
    second = np.vstack([at, c[cum > t]])
    g.remove_edge(u, v, k)
    g.add_node(new_id, pos=(float(at[0]), float(at[1])), net=-1, border=False)
    pieces = ((d["start"], new_id, first), (new_id, d["end"], second))
    for j, (a, b, cs) in enumerate(pieces):
        part = dict(d, start=a, end=b, coords=cs, eid=next_eid + j)
        part["length_m"] = d["length_m"] * _planar_length(cs) / total
        g.add_edge(a, b, **part)
    return new_id, (d["eid"], next_eid, next_eid + 1)


def _join_ends_to_edges(g: nx.MultiGraph, max_dist: float, unit: float, n_nets: int) -> list:
    """Rule 2: join free border end points to the nearest edge of another network."""
    import shapely

    free = sorted(n for n in g.nodes if g.degree(n) == 1 and g.nodes[n]["border"])
    if not free:
        return []
    data = list(g.edges(keys=True, data=True))
    for eid, (_, _, _, d) in enumerate(data):
        d["eid"] = eid
    tree = shapely.STRtree([shapely.linestrings(d["coords"][:, :2]) for _, _, _, d in data])
    pts = shapely.points([g.nodes[n]["pos"] for n in free])
    near: dict = {n: set() for n in free}
    for i, e in zip(*tree.query(pts, predicate="dwithin", distance=max_dist).tolist()):
        near[free[i]].add(e)
    next_eid = len(data)
    touched: list = []
    while near:
        where = {d["eid"]: (u, v, k) for u, v, k, d in g.edges(keys=True, data=True) if "eid" in d}
        found = [
            (b, n)
            for n, cand in near.items()
            if (b := _nearest_other_edge(g, n, cand, where, max_dist))
        ]
        if not found:
            break
        (dist, edge, t), end = min(found, key=lambda f: (f[0][0], f[1]))
        del near[end]
        target, split = _split_at(g, edge, t, (n_nets, len(touched)), next_eid)
        if split:  # the pieces replace the split edge among every end's candidates
            next_eid += 2
            for cand in near.values():
                if split[0] in cand:
                    cand.update(split[1:])
        near.pop(target, None)
        ((_, _, d),) = g.edges(end, data=True)
        g.add_edge(
            end,
            target,
            start=end,
            end=target,
            coords=np.array([g.nodes[end]["pos"], g.nodes[target]["pos"]], float),
            length_m=dist * unit,
            mean_prob=math.nan,
            width_m=d["width_m"],
            bridged=True,
            nets=d["nets"],
        )
        touched += [end, target]
    return touched


def _planar_length(c: np.ndarray) -> float:
    d = np.diff(c[:, :2], axis=0)
    return float(np.hypot(d[:, 0], d[:, 1]).sum())


def _wmean(a: float, wa: float, b: float, wb: float) -> float:
    vals = [(v, w) for v, w in ((a, wa), (b, wb)) if math.isfinite(v)]
    if not vals:
        return math.nan
    tw = sum(w for _, w in vals)
    return sum(v * w for v, w in vals) / tw if tw > 0 else float(np.mean([v for v, _ in vals]))


def _dissolve(g: nx.MultiGraph, nodes: list) -> None:
    for x in nodes:
        if x not in g or g.degree(x) != 2:
            continue
        inc = list(g.edges(x, keys=True, data=True))
        if len(inc) != 2 or any(u == v for u, v, _, _ in inc):
            continue
        (_, p, k1, d1), (_, q, k2, d2) = inc
        c1 = d1["coords"] if d1["end"] == x else d1["coords"][::-1]
        s1 = d1["start"] if d1["end"] == x else d1["end"]
        c2 = d2["coords"] if d2["start"] == x else d2["coords"][::-1]
        e2 = d2["end"] if d2["start"] == x else d2["start"]
        merged = {
            "start": s1,
            "end": e2,
            "coords": np.concatenate([c1, c2[1:]]),
            "length_m": d1["length_m"] + d2["length_m"],
            "mean_prob": _wmean(d1["mean_prob"], d1["length_m"], d2["mean_prob"], d2["length_m"]),
            "width_m": _wmean(d1["width_m"], d1["length_m"], d2["width_m"], d2["length_m"]),
            "bridged": d1["bridged"] or d2["bridged"],
            "nets": d1["nets"] | d2["nets"],
        }
        g.remove_edge(x, p, k1)
        g.remove_edge(x, q, k2)
        g.remove_node(x)
        g.add_edge(s1, e2, **merged)
