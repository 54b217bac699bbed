"""GraphML: the network as a MultiGraph, native CRS.

Nodes carry ``x``, ``y``, ``degree``, ``border``; edges their columns plus the
geometry as WKT. Graph attributes: ``crs`` (WKT, empty for pixel coordinates),
``gsd_m`` and ``roadseg``, the run's provenance as a JSON string.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from roadseg.atomic import atomic_path
from roadseg.vector.formats.common import ExportFormat, provenance_json
from roadseg.vector.network import RoadNetwork


def network_to_graph(network: RoadNetwork) -> Any:
    """The network as a :class:`networkx.MultiGraph` (node x/y, edge attributes, WKT geometry)."""
    import networkx as nx

    g = nx.MultiGraph(
        crs=network.crs.to_wkt() if network.crs is not None else "",
        gsd_m=float(network.gsd),
        roadseg=provenance_json(network),
    )
    scene = "scene" in network.edges.columns
    for row in network.nodes.itertuples(index=False):
        g.add_node(
            int(row.node_id),
            x=float(row.geometry.x),
            y=float(row.geometry.y),
            degree=int(row.degree),
            border=bool(row.border),
        )
    for row in network.edges.itertuples(index=False):
        g.add_edge(
            int(row.u),
            int(row.v),
            length_m=float(row.length_m),
            mean_prob=float(row.mean_prob),
            width_m=float(row.width_m),
            bridged=bool(row.bridged),
            geometry=row.geometry.wkt,
            **({"scene": str(row.scene)} if scene else {}),
        )
    return g


def write(network: RoadNetwork, path: Path) -> list[Path]:
    import networkx as nx

    g = network_to_graph(network)
    with atomic_path(path) as tmp:
        nx.write_graphml(g, tmp)
    return [path]


def read(path: Path, layer: str | None = None) -> Any:
    """The edges of a GraphML network written by :func:`write` (WKT geometry, ``crs``)."""
    import geopandas as gpd
    import networkx as nx
    import shapely

    g = nx.read_graphml(path, force_multigraph=True)
    rows = [d for _, _, d in g.edges(data=True)]
    if any("geometry" not in d for d in rows):
        from roadseg.errors import InputError

        raise InputError(f"{path}: GraphML edges without a 'geometry' (WKT) attribute")
    geoms = [shapely.from_wkt(d["geometry"]) for d in rows]
    table = {k: [d.get(k) for d in rows] for k in ("length_m", "mean_prob", "width_m", "bridged")}
    return gpd.GeoDataFrame(table, geometry=geoms, crs=g.graph.get("crs") or None)


def metadata(path: Path) -> dict[str, Any]:
    """The provenance stored in a GraphML file written by :func:`write` (``{}``: none)."""
    import networkx as nx

    text = nx.read_graphml(path).graph.get("roadseg")
    return json.loads(text) if text else {}


FORMAT = ExportFormat(
    name="graphml",
    suffixes=(".graphml",),
    write=write,
    read=read,
    carries_crs=True,
    description="GraphML MultiGraph, native CRS (graph attribute crs); provenance in the "
    "graph attribute roadseg",
)
