"""Merging road networks across block or scene seams.

End points (degree-1 nodes) of *different* networks that lie within ``seam_m``
metres of each other are snapped together: each connected cluster of such close
end points (single linkage) becomes one node at the cluster centroid, the edges
are re-attached to it, and nodes left with degree 2 are dissolved, so a road
crossing a seam comes out as one polyline. Joined edges get the summed length and
length-weighted mean probability and width.

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


def merge_networks(networks: list[RoadNetwork], seam_m: float = 3.0) -> RoadNetwork:
    """Merge ``networks`` into one, snapping end points within ``seam_m`` metres across networks."""
    import geopandas as gpd
    import shapely
    from scipy.spatial import cKDTree

    networks = list(networks)
    if not networks:
        raise InputError("merge_networks: no networks given")
    crs = next((n.crs for n in networks if n.crs is not None), None)
    if crs is not None and any(n.crs is None for n in networks):
        raise InputError(
            "merge_networks: cannot merge networks without a CRS with georeferenced ones"
        )
    gsd = min(n.gsd for n in networks)
    meta = {"merged_from": [n.metadata.get("source") for n in networks], "seam_m": seam_m}

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
            )
    if g.number_of_nodes() == 0:
        return empty_network(crs, gsd, meta)

    ends = [n for n in g.nodes if g.degree(n) == 1]
    if len(ends) >= 2 and seam_m > 0:
        pos = np.array([g.nodes[n]["pos"] for n in ends])
        unit = _metres_per_unit(crs, float(np.median(pos[:, 1])))
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
        }
        g.remove_edge(x, p, k1)
        g.remove_edge(x, q, k2)
        g.remove_node(x)
        g.add_edge(s1, e2, **merged)
