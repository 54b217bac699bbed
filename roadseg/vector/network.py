"""The road network table pair (edges, nodes) and its georeferencing.

Pixel (row, col) → map (x, y) goes through the raster's affine transform at the
pixel centre: ``(x, y) = A · (col + 0.5, row + 0.5)``. Coordinates stay in the
raster's native CRS; :mod:`roadseg.vector.export` reprojects to EPSG:4326 for
GeoJSON.

Edge columns: ``geometry`` (LineString, first point at node ``u``), ``u``, ``v``,
``length_m`` (metres, on the pixel grid scaled by the GSD), ``mean_prob`` (mean
probability of the skeleton pixels along the edge; bridged gaps excluded; NaN if
none; it can lie below the threshold the network was cut at: cleanup fills holes
up to ``max_hole_m2``, making road of pixels below the level, and the centre line of
a wide road runs through such a filled hole, so a short edge there averages below
the level -- an edge the imagery supports only through the hole filling),
``width_m`` (median over the edge of ``2 d - 1`` pixels, ``d`` the Euclidean
distance from the skeleton pixel to the nearest background pixel), ``bridged``;
a many-scene network adds ``scene`` (the scenes the edge came from, ``;``-separated,
see :mod:`roadseg.pipeline.mosaic`).
Node columns: ``geometry`` (Point), ``node_id``, ``degree`` (a self-loop counts 2),
``border`` (touches the raster border).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:  # graphs are passed in, never built here: the formats' help needs no networkx
    import networkx as nx

EDGE_COLUMNS = ["u", "v", "length_m", "mean_prob", "width_m", "bridged"]
NODE_COLUMNS = ["node_id", "degree", "border"]


@dataclass
class RoadNetwork:
    """A road network: ``edges`` and ``nodes`` GeoDataFrames in ``crs`` (None: pixel coordinates)."""

    edges: Any  # geopandas.GeoDataFrame
    nodes: Any  # geopandas.GeoDataFrame
    crs: Any  # pyproj.CRS or None
    gsd: float  # metres per pixel of the source raster
    metadata: dict = field(default_factory=dict)

    @property
    def total_length_m(self) -> float:
        return float(self.edges["length_m"].sum()) if len(self.edges) else 0.0

    def __repr__(self) -> str:
        return (
            f"RoadNetwork({len(self.edges)} edges, {len(self.nodes)} nodes, "
            f"{self.total_length_m:.1f} m, crs={self.crs.to_string() if self.crs else None})"
        )


def pixel_to_map(
    transform: Any, rows: np.ndarray, cols: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Map coordinates of pixel positions through ``transform`` at pixel centres."""
    a, b, c, d, e, f = (
        transform.a,
        transform.b,
        transform.c,
        transform.d,
        transform.e,
        transform.f,
    )
    cc = np.asarray(cols, np.float64) + 0.5
    rr = np.asarray(rows, np.float64) + 0.5
    return a * cc + b * rr + c, d * cc + e * rr + f


def empty_network(crs: Any, gsd: float, metadata: dict | None = None) -> RoadNetwork:
    import geopandas as gpd

    edges = gpd.GeoDataFrame({c: [] for c in EDGE_COLUMNS}, geometry=[], crs=crs)
    edges = edges.astype(
        {
            "u": "int64",
            "v": "int64",
            "length_m": "float64",
            "mean_prob": "float64",
            "width_m": "float64",
            "bridged": "bool",
        }
    )
    nodes = gpd.GeoDataFrame({c: [] for c in NODE_COLUMNS}, geometry=[], crs=crs)
    nodes = nodes.astype({"node_id": "int64", "degree": "int64", "border": "bool"})
    return RoadNetwork(edges, nodes, crs, gsd, dict(metadata or {}))


def graph_to_network(
    g: nx.MultiGraph,
    transform: Any,
    crs: Any,
    gsd_rc: tuple[float, float],
    metadata: dict | None = None,
) -> RoadNetwork:
    """Georeference a pixel-space graph (see :mod:`roadseg.postprocess.graph`)."""
    import geopandas as gpd

    gsd = math.sqrt(gsd_rc[0] * gsd_rc[1])
    if g.number_of_nodes() == 0:
        return empty_network(crs, gsd, metadata)
    ids = {n: i for i, n in enumerate(sorted(g.nodes))}
    nodes = _node_frame(g, ids, transform, crs)
    data = [d for _, _, d in g.edges(data=True)]
    m = len(data)
    lengths: np.ndarray = np.zeros(m)
    probs = np.full(m, math.nan)
    widths = np.full(m, math.nan)
    geoms: Any = []
    if m:
        lengths, geoms = _edge_lines(data, transform, gsd_rc)
        probs = _mean_probabilities(data)
        widths = _median_widths(data, gsd)
    edges = gpd.GeoDataFrame(
        {
            "u": np.array([ids[d["start"]] for d in data], np.int64),
            "v": np.array([ids[d["end"]] for d in data], np.int64),
            "length_m": np.asarray(lengths, np.float64),
            "mean_prob": np.asarray(probs, np.float64),
            "width_m": np.asarray(widths, np.float64),
            "bridged": np.array([bool(d.get("bridged", False)) for d in data], bool),
        },
        geometry=geoms,
        crs=crs,
    )
    return RoadNetwork(edges, nodes, crs, gsd, dict(metadata or {}))


def _node_frame(g: nx.MultiGraph, ids: dict[Any, int], transform: Any, crs: Any) -> Any:
    """The nodes as points at their map positions, with ``degree`` and ``border``."""
    import geopandas as gpd
    import shapely

    n = len(ids)
    pos = np.empty((n, 2), np.float64)
    border = np.zeros(n, bool)
    degree = np.zeros(n, np.int64)
    degrees = dict(g.degree())  # one pass (a multigraph's degree view sums edge keys per call)
    for node, i in ids.items():
        pos[i] = g.nodes[node]["pos"]
        border[i] = g.nodes[node]["border"]
        degree[i] = degrees[node]
    x, y = pixel_to_map(transform, pos[:, 0], pos[:, 1])
    return gpd.GeoDataFrame(
        {"node_id": np.arange(n, dtype=np.int64), "degree": degree, "border": border},
        geometry=shapely.points(x, y),
        crs=crs,
    )


def _edge_lines(
    data: list[dict], transform: Any, gsd_rc: tuple[float, float]
) -> tuple[np.ndarray, Any]:
    """Lengths in metres and map-coordinate line strings of the edges, vectorised."""
    import shapely

    m = len(data)
    counts = np.array([len(d["coords"]) for d in data])
    allc = np.concatenate([d["coords"] for d in data])
    eid = np.repeat(np.arange(m), counts)
    seg = np.diff(allc, axis=0)
    seg_len = np.hypot(seg[:, 0] * gsd_rc[0], seg[:, 1] * gsd_rc[1])
    same = eid[1:] == eid[:-1]  # segments inside one edge
    lengths = np.bincount(eid[1:][same], weights=seg_len[same], minlength=m)
    ex, ey = pixel_to_map(transform, allc[:, 0], allc[:, 1])
    return lengths, shapely.linestrings(np.stack([ex, ey], axis=1), indices=eid)


def _mean_probabilities(data: list[dict]) -> np.ndarray:
    """Mean probability over each edge's pixels (bridged gaps are NaN and skipped)."""
    m = len(data)
    pid = np.repeat(np.arange(m), np.array([len(d["prob"]) for d in data]))
    p = np.concatenate([d["prob"] for d in data]).astype(np.float64)
    ok = np.isfinite(p)
    n_ok = np.bincount(pid[ok], minlength=m)
    s_ok = np.bincount(pid[ok], weights=p[ok], minlength=m)
    return np.where(n_ok > 0, s_ok / np.maximum(n_ok, 1), math.nan)


def _median_widths(data: list[dict], gsd: float) -> np.ndarray:
    """Road width per edge: the median of ``2 d - 1`` over its pixels (d: distance to
    background), in metres; one lexsort, then the middle element(s)."""
    m = len(data)
    pid = np.repeat(np.arange(m), np.array([len(d["prob"]) for d in data]))
    dist = np.concatenate([d["dist"] for d in data]).astype(np.float64)
    ok = np.isfinite(dist)
    did, dv = pid[ok], 2.0 * dist[ok] - 1.0
    order = np.lexsort((dv, did))
    did, dv = did[order], dv[order]
    cnt = np.bincount(did, minlength=m)
    first = np.concatenate([[0], np.cumsum(cnt)[:-1]])
    has = cnt > 0
    lo = first + (cnt - 1) // 2
    hi = first + cnt // 2
    widths = np.full(m, math.nan)
    widths[has] = (dv[lo[has]] + dv[hi[has]]) / 2.0 * gsd
    return widths
