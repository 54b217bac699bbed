"""Graph cleaning in metres: spurs, junction clusters, gaps, short components, simplification.

All functions take and return the pixel-space :class:`networkx.MultiGraph` of
:mod:`roadseg.postprocess.graph` and a GSD ``(gsd_row, gsd_col)`` in metres per
pixel; lengths are measured on edge geometries scaled by the GSD.

* :func:`prune_spurs`: remove dead-end edges (one end of degree 1, the other of
  degree ≥ 3) shorter than ``min_spur_m``, except those whose free end touches the
  raster border (a road leaving the image is not a spur); one pass, then the
  degree-2 nodes left behind are dissolved.
* :func:`merge_close_junctions`: contract edges shorter than ``junction_merge_m``
  joining two junctions (a thick crossing thins into two close nodes).
* :func:`bridge_gaps`: join two end points (degree 1) when their distance is at most
  ``bridge_m``, or at most ``collinear_m`` and each end's outward direction is
  within ``angle_deg`` of the line towards the other end; greedily by distance,
  each end point used once.
* :func:`drop_short_components`: remove connected components whose total edge
  length is below ``min_component_m``.
* :func:`simplify_edges`: Douglas–Peucker with tolerance ``simplify_m`` on each
  edge; end points (node positions) never move.
* :func:`dissolve_degree2`: join the two edges at every node of degree 2 (not at
  ring anchors or self-loops), so a road between junctions is one edge.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

import networkx as nx
import numpy as np

Gsd = tuple[float, float]


def edge_length_m(coords: np.ndarray, gsd: Gsd) -> float:
    """Polyline length in metres of pixel-space ``coords`` (rows, cols)."""
    if len(coords) < 2:
        return 0.0
    d = np.diff(coords, axis=0)
    return float(np.hypot(d[:, 0] * gsd[0], d[:, 1] * gsd[1]).sum())


def degree(g: nx.MultiGraph, n: Any) -> int:
    """``g.degree(n)`` (a self-loop counts twice), without networkx's degree view: the
    cleaners ask for degrees tens of thousands of times."""
    nbrs = g._adj[n]
    d = sum(map(len, nbrs.values()))
    return d + len(nbrs[n]) if n in nbrs else d


def cache_lengths(g: nx.MultiGraph, gsd: Gsd) -> None:
    """Measure every edge not measured yet (see :func:`_length`), with one vectorised
    pass over all the segments; each edge's sum is still ``np.sum`` of its own
    contiguous segment lengths, so the values are those of :func:`edge_length_m`."""
    todo = [d for _, _, d in g.edges(data=True) if not _cached(d, gsd)]
    todo = [d for d in todo if len(d["coords"]) >= 2]
    if not todo:
        return
    counts = np.array([len(d["coords"]) for d in todo])
    allc = np.concatenate([d["coords"] for d in todo])
    seg = np.diff(allc, axis=0)
    seg_len = np.hypot(seg[:, 0] * gsd[0], seg[:, 1] * gsd[1])
    ends = np.cumsum(counts) - 1  # edge i owns segments [ends[i-1] + 1, ends[i])
    starts = ends - counts + 1
    for d, a, b in zip(todo, starts.tolist(), ends.tolist()):
        d["_len"] = (d["coords"], gsd, float(seg_len[a:b].sum()))


def _cached(d: dict, gsd: Gsd) -> bool:
    cached = d.get("_len")
    return cached is not None and cached[0] is d["coords"] and cached[1] == gsd


def _length(d: dict, gsd: Gsd) -> float:
    """Length of edge ``d``, cached with the coordinate array it was measured on
    (geometries are always replaced, never changed in place)."""
    c = d["coords"]
    cached = d.get("_len")
    if cached is not None and cached[0] is c and cached[1] == gsd:
        return cached[2]
    v = edge_length_m(c, gsd)
    d["_len"] = (c, gsd, v)
    return v


def _oriented(data: dict, at_end: int) -> dict:
    """Edge arrays oriented so that the edge ends at node ``at_end``."""
    if data["end"] == at_end:
        return data
    return {
        **data,
        "start": data["end"],
        "end": data["start"],
        "coords": data["coords"][::-1],
        "path": data["path"][::-1],
        "prob": data["prob"][::-1],
        "dist": data["dist"][::-1],
    }


def _join(a: dict, b: dict) -> dict:
    """Concatenate ``a`` (ending at node x) and ``b`` (starting at x)."""
    same = len(a["path"]) and len(b["path"]) and np.array_equal(a["path"][-1], b["path"][0])
    k = 1 if same else 0
    return {
        "start": a["start"],
        "end": b["end"],
        "coords": np.concatenate([a["coords"], b["coords"][1:]]),
        "path": np.concatenate([a["path"], b["path"][k:]]),
        "prob": np.concatenate([a["prob"], b["prob"][k:]]),
        "dist": np.concatenate([a["dist"], b["dist"][k:]]),
        "bridged": bool(a.get("bridged")) or bool(b.get("bridged")),
    }


def dissolve_degree2(g: nx.MultiGraph, nodes: Iterable[Any] | None = None) -> nx.MultiGraph:
    """Join the two edges meeting at each degree-2 node (in place; returns ``g``)."""
    todo = list(g.nodes) if nodes is None else [n for n in nodes if n in g]
    for x in todo:
        if x not in g or degree(g, x) != 2 or g.nodes[x].get("ring"):
            continue
        inc = list(g.edges(x, keys=True, data=True))
        if len(inc) != 2 or any(u == v for u, v, _, _ in inc):
            continue
        (_, p, k1, d1), (_, q, k2, d2) = inc
        a = _oriented(d1, x)
        b = _oriented(d2, x)
        b = {
            **b,
            "start": b["end"],
            "end": b["start"],
            "coords": b["coords"][::-1],
            "path": b["path"][::-1],
            "prob": b["prob"][::-1],
            "dist": b["dist"][::-1],
        }  # now b starts at x
        merged = _join(a, b)
        g.remove_edge(x, p, k1)
        g.remove_edge(x, q, k2)
        g.remove_node(x)
        g.add_edge(merged["start"], merged["end"], **merged)
        if merged["start"] == merged["end"]:
            pass  # a closed road through its only remaining node: keep as a self-loop
    return g


def prune_spurs(g: nx.MultiGraph, min_spur_m: float, gsd: Gsd) -> nx.MultiGraph:
    """Remove short dead-end spurs (see module docstring); in place, returns ``g``."""
    if min_spur_m <= 0:
        return g
    remove = []
    for u, v, k, d in g.edges(keys=True, data=True):
        if u == v:
            continue
        du, dv = degree(g, u), degree(g, v)
        if du == 1 and dv >= 3:
            free, hub = u, v
        elif dv == 1 and du >= 3:
            free, hub = v, u
        else:
            continue
        if g.nodes[free]["border"]:
            continue
        if _length(d, gsd) < min_spur_m:
            remove.append((u, v, k, free, hub))
    hubs = set()
    for u, v, k, free, hub in remove:
        if g.has_edge(u, v, k) and degree(g, hub) >= 3:
            g.remove_edge(u, v, k)
            g.remove_node(free)
            hubs.add(hub)
    return dissolve_degree2(g, hubs)


def merge_close_junctions(g: nx.MultiGraph, junction_merge_m: float, gsd: Gsd) -> nx.MultiGraph:
    """Contract short junction–junction edges into one node at their mean position."""
    if junction_merge_m <= 0:
        return g
    cache_lengths(g, gsd)
    touched = set()
    work = _short_junction_edges(g, list(g.nodes), junction_merge_m, gsd)
    while work:
        u, v, k = work.pop()
        if u not in g or v not in g or not g.has_edge(u, v, k):
            continue
        if degree(g, u) < 3 or degree(g, v) < 3:
            continue
        _contract(g, u, v, k)
        touched.add(u)
        work.extend(_short_junction_edges(g, [u], junction_merge_m, gsd))
    return dissolve_degree2(g, touched)


def _short_junction_edges(
    g: nx.MultiGraph, nodes: Iterable[Any], junction_merge_m: float, gsd: Gsd
) -> list[Any]:
    """Edges ``(u, v, key)`` shorter than ``junction_merge_m`` between two junctions."""
    gy, gx = gsd
    out = []
    adj, attrs = g._adj, g._node  # plain dicts: no view object per node
    for u in nodes:
        if u not in adj or degree(g, u) < 3:
            continue
        pu = attrs[u]["pos"]
        for v, k, d in ((v, k, d) for v, kd in adj[u].items() for k, d in kd.items()):
            if u == v or degree(g, v) < 3:
                continue
            pv = attrs[v]["pos"]
            # an edge is never shorter than the straight line between its ends
            if math.hypot((pu[0] - pv[0]) * gy, (pu[1] - pv[1]) * gx) >= junction_merge_m:
                continue
            if _length(d, gsd) < junction_merge_m:
                out.append((u, v, k))
    return out


def _contract(g: nx.MultiGraph, u: Any, v: Any, k: Any) -> None:
    """Remove edge ``(u, v, k)`` and merge ``v`` into ``u`` at their mean position."""
    pu, pv = np.asarray(g.nodes[u]["pos"]), np.asarray(g.nodes[v]["pos"])
    mid = (pu + pv) / 2
    new_pos = (float(mid[0]), float(mid[1]))
    g.remove_edge(u, v, k)
    for _, w, kk, dd in list(g.edges(v, keys=True, data=True)):
        g.remove_edge(v, w, kk)
        dd = dict(dd)
        if dd["start"] == v:
            dd["start"] = u
        if dd["end"] == v:
            dd["end"] = u
        g.add_edge(dd["start"], dd["end"], **dd)
    g.nodes[u]["border"] = g.nodes[u]["border"] or g.nodes[v]["border"]
    g.remove_node(v)
    _move_node(g, u, new_pos)


def _move_node(g: nx.MultiGraph, n: int, pos: tuple[float, float]) -> None:
    g.nodes[n]["pos"] = pos
    for _, _, d in g.edges(n, data=True):
        c = d["coords"].copy()
        if d["start"] == n:
            c[0] = pos
        if d["end"] == n:
            c[-1] = pos
        d["coords"] = c


def _end_direction(g: nx.MultiGraph, n: int, look_px: float) -> np.ndarray | None:
    """Unit outward direction (rows, cols) at end point ``n`` over the last ``look_px``."""
    ((_, _, d),) = g.edges(n, data=True)
    c = _oriented(d, n)["coords"]  # ends at n
    tip = c[-1]
    dist = np.hypot(*(c - tip).T)
    far = np.flatnonzero(dist >= look_px)
    ref = c[far[-1]] if far.size else c[0]
    v = tip - ref
    norm = math.hypot(*v)
    return v / norm if norm > 0 else None


def bridge_gaps(
    g: nx.MultiGraph,
    bridge_m: float,
    collinear_m: float,
    angle_deg: float,
    gsd: Gsd,
    look_m: float = 10.0,
) -> nx.MultiGraph:
    """Join end points across short gaps (see module docstring); in place, returns ``g``."""
    if max(bridge_m, collinear_m) <= 0:
        return g
    ends = [n for n in g.nodes if degree(g, n) == 1]
    if len(ends) < 2:
        return g
    used: set = set()
    for _, a, b in sorted(_gap_candidates(g, ends, bridge_m, collinear_m, angle_deg, gsd, look_m)):
        if a in used or b in used:
            continue
        used.update((a, b))
        _add_bridge(g, a, b)
    return dissolve_degree2(g, used)


def _gap_candidates(
    g: nx.MultiGraph,
    ends: list[Any],
    bridge_m: float,
    collinear_m: float,
    angle_deg: float,
    gsd: Gsd,
    look_m: float,
) -> list[tuple[float, Any, Any]]:
    """``(distance m, a, b)`` for end points closer than ``bridge_m``, or closer than
    ``collinear_m`` and pointing at each other within ``angle_deg``."""
    from scipy.spatial import cKDTree

    gy, gx = gsd
    pos = np.array([g.nodes[n]["pos"] for n in ends], np.float64)
    tree = cKDTree(pos * np.array([gy, gx]))
    pairs = tree.query_pairs(max(bridge_m, collinear_m), output_type="ndarray")
    look_px = look_m / math.sqrt(gy * gx)
    dirs: dict[Any, np.ndarray | None] = {}
    cos_lim = math.cos(math.radians(angle_deg))
    cands = []
    for i, j in pairs.tolist():
        a, b = ends[i], ends[j]
        # the two ends of one short edge are not a gap
        if g.has_edge(a, b):
            continue
        vec = (pos[j] - pos[i]) * np.array([gy, gx])
        dist = float(math.hypot(*vec))
        if dist > bridge_m:
            for n in (a, b):
                if n not in dirs:
                    dirs[n] = _end_direction(g, n, look_px)
            if not _pointing_at_each_other(dirs[a], dirs[b], vec, dist, gsd, cos_lim):
                continue
        cands.append((dist, a, b))
    return cands


def _pointing_at_each_other(
    da: np.ndarray | None,
    db: np.ndarray | None,
    vec: np.ndarray,
    dist: float,
    gsd: Gsd,
    cos_lim: float,
) -> bool:
    """Whether end directions ``da`` (at a) and ``db`` (at b) face the gap ``vec`` = b - a."""
    if da is None or db is None or dist == 0:
        return False
    # compare in metric space
    scale = np.array([gsd[0], gsd[1]])
    ua = da * scale
    ub = db * scale
    ua /= np.linalg.norm(ua)
    ub /= np.linalg.norm(ub)
    u = vec / dist
    return not (float(ua @ u) < cos_lim or float(ub @ -u) < cos_lim)


def _add_bridge(g: nx.MultiGraph, a: Any, b: Any) -> None:
    """A straight ``bridged`` edge from end point ``a`` to end point ``b``."""
    from skimage.draw import line

    pa, pb = np.asarray(g.nodes[a]["pos"]), np.asarray(g.nodes[b]["pos"])
    ra, ca = np.rint(pa).astype(np.int64)
    rb, cb = np.rint(pb).astype(np.int64)
    rr, cc = line(int(ra), int(ca), int(rb), int(cb))
    path = np.stack([rr, cc], axis=1).astype(np.int64)
    coords = np.stack([pa, pb]).astype(np.float64)
    k = len(path)
    g.add_edge(
        a,
        b,
        start=a,
        end=b,
        coords=coords,
        path=path,
        prob=np.full(k, np.nan, np.float32),
        dist=np.full(k, np.nan, np.float32),
        bridged=True,
    )


def drop_short_components(
    g: nx.MultiGraph, min_component_m: float, gsd: Gsd, keep_border: bool = False
) -> nx.MultiGraph:
    """Remove connected components shorter than ``min_component_m`` (in place)."""
    cache_lengths(g, gsd)
    for comp in list(nx.connected_components(g)):
        total = sum(_length(d, gsd) for _, _, d in g.edges(comp, data=True))
        if total >= min_component_m:
            continue
        if keep_border and total > 0 and any(g.nodes[n]["border"] for n in comp):
            continue
        g.remove_nodes_from(comp)
    return g


def simplify_edges(g: nx.MultiGraph, simplify_m: float, gsd: Gsd) -> nx.MultiGraph:
    """Douglas–Peucker on each edge's geometry with tolerance ``simplify_m`` (end points fixed)."""
    if simplify_m <= 0:
        return g
    import shapely

    scale = np.asarray(gsd, np.float64)
    data = [d for _, _, d in g.edges(data=True) if len(d["coords"]) > 2]
    if not data:
        return g
    counts = np.array([len(d["coords"]) for d in data])
    allc = np.concatenate([d["coords"] for d in data])
    last = np.cumsum(counts) - 1
    closed = (allc[last - counts + 1] == allc[last]).all(axis=1).tolist()
    allc *= scale
    lines = shapely.linestrings(allc, indices=np.repeat(np.arange(len(data)), counts))
    simple = shapely.simplify(lines, simplify_m, preserve_topology=False)
    coords, idx = shapely.get_coordinates(simple, return_index=True)
    coords /= scale
    splits = np.flatnonzero(np.diff(idx)) + 1
    parts = np.split(coords, splits)
    present = idx[np.concatenate([[0], splits])] if idx.size else np.zeros(0, np.int64)
    by_edge = dict(zip(present.tolist(), parts))
    for i, d in enumerate(data):
        c = d["coords"]
        s = by_edge.get(i)
        if s is None or len(s) < (4 if closed[i] else 2):
            continue  # a ring collapsed by the tolerance keeps its full geometry
        s = s.copy()
        s[0], s[-1] = c[0], c[-1]  # exact node positions (no rounding from the scaling)
        d["coords"] = s
    return g
