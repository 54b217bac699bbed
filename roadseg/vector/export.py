"""Writing a :class:`RoadNetwork`: GeoJSON, GeoPackage, GeoParquet, GraphML (all atomic).

Format by extension:

* ``.geojson`` / ``.json``: RFC 7946 FeatureCollection of the edges in EPSG:4326,
  lon/lat order (pyproj, ``always_xy=True``); nodes go to ``<stem>.nodes.geojson``.
  A network without CRS is written in its own (pixel) coordinates and says so: the
  collection carries ``"roadseg": {"coordinates": "pixel", ...}`` and each feature
  ``"coordinates": "pixel"``. Run metadata goes in the ``roadseg`` foreign member.
* ``.gpkg``: one GeoPackage with layers ``edges`` and ``nodes``, native CRS.
* ``.parquet`` / ``.geoparquet``: GeoParquet, native CRS; edges in the file itself,
  nodes in ``<stem>.nodes.parquet``.
* ``.graphml``: the MultiGraph with node ``x``, ``y``, ``degree``, ``border`` and edge
  attributes plus the geometry as WKT, native CRS in the graph attribute ``crs``.
"""

from __future__ import annotations

import json
import logging
import math
from pathlib import Path
from typing import Any

import numpy as np

from roadseg.atomic import atomic_path
from roadseg.errors import InputError, OutputError
from roadseg.raster.georef import geojson_without_crs
from roadseg.vector.network import RoadNetwork

log = logging.getLogger(__name__)

FORMATS = {
    ".geojson": "geojson",
    ".json": "geojson",
    ".gpkg": "gpkg",
    ".parquet": "parquet",
    ".geoparquet": "parquet",
    ".graphml": "graphml",
}
_SUFFIX = {"geojson": ".geojson", "gpkg": ".gpkg", "parquet": ".parquet", "graphml": ".graphml"}


def export_targets(path: str | Path, formats: list[str] | None = None) -> list[tuple[str, Path]]:
    """``(format, file)`` pairs an export to ``path`` with ``formats`` writes (no I/O).

    Without ``formats`` the format comes from ``path``'s extension; with it (e.g.
    ``["geojson", "gpkg"]``) there is one file per format, named ``path`` with that
    format's extension.

    Raises:
        InputError: an unknown extension or format name.
    """
    path = Path(path)
    if formats is None:
        fmt = FORMATS.get(path.suffix.lower())
        if fmt is None:
            raise InputError(
                f"{path}: unknown output extension {path.suffix!r}; use one of {sorted(FORMATS)}"
            )
        return [(fmt, path)]
    targets = []
    for f in formats:
        f = f.lower().lstrip(".")
        f = "parquet" if f == "geoparquet" else f
        if f not in _SUFFIX:
            raise InputError(f"{path}: unknown output format {f!r}; use one of {sorted(_SUFFIX)}")
        targets.append((f, path.with_suffix(_SUFFIX[f])))
    return targets


def export_paths(path: str | Path, formats: list[str] | None = None) -> list[Path]:
    """Every file :func:`export_network` creates, node siblings included."""
    paths = []
    for fmt, target in export_targets(path, formats):
        paths.append(target)
        if fmt in ("geojson", "parquet"):  # nodes go to a sibling file
            paths.append(_sibling(target, "nodes"))
    return paths


def export_network(
    network: RoadNetwork, path: str | Path, formats: list[str] | None = None
) -> list[Path]:
    """Write ``network`` to ``path``; the format comes from the extension.

    With ``formats`` (e.g. ``["geojson", "gpkg"]``) one file per format is written,
    named ``path`` with that format's extension. Returns the paths written.
    """
    written: list[Path] = []
    for fmt, target in export_targets(path, formats):
        written += {
            "geojson": write_geojson,
            "gpkg": write_gpkg,
            "parquet": write_geoparquet,
            "graphml": write_graphml,
        }[fmt](network, target)
    return written


def _sibling(path: Path, what: str) -> Path:
    return path.with_name(f"{path.stem}.{what}{path.suffix}")


def _clean(v: Any) -> Any:
    if isinstance(v, (np.integer,)):
        return int(v)
    if isinstance(v, (np.bool_,)):
        return bool(v)
    if isinstance(v, (float, np.floating)):
        v = float(v)
        return None if not math.isfinite(v) else v
    return v


def _json_meta(meta: dict) -> dict:
    return json.loads(json.dumps(meta, default=str))


def _to_wgs84(gdf: Any) -> Any:
    """Geometries of ``gdf`` as lon/lat (always_xy) or unchanged if it has no CRS."""
    if gdf.crs is None or len(gdf) == 0:
        return gdf.geometry.values
    import pyproj
    import shapely

    tr = pyproj.Transformer.from_crs(gdf.crs, "EPSG:4326", always_xy=True)
    geoms = np.asarray(gdf.geometry.values, dtype=object)
    coords = shapely.get_coordinates(geoms)
    lon, lat = tr.transform(coords[:, 0], coords[:, 1])
    return shapely.set_coordinates(
        shapely.from_wkb(shapely.to_wkb(geoms)), np.stack([lon, lat], axis=1)
    )


def _features(gdf: Any, columns: list[str], pixel: bool) -> list[dict]:
    import shapely

    geoms = _to_wgs84(gdf)
    feats = []
    records = gdf[columns].to_dict("records") if len(gdf) else []
    for geom, props in zip(geoms, records):
        p = {k: _clean(v) for k, v in props.items()}
        if pixel:
            p["coordinates"] = "pixel"
        feats.append(
            {"type": "Feature", "geometry": json.loads(shapely.to_geojson(geom)), "properties": p}
        )
    return feats


def write_geojson(network: RoadNetwork, path: Path) -> list[Path]:
    from roadseg.vector.network import EDGE_COLUMNS, NODE_COLUMNS

    pixel = network.crs is None
    if pixel:  # lon/lat by definition: a local grid would be read as degrees (issue 18.4)
        raise InputError(geojson_without_crs(path, network.metadata.get("source", "the raster")))
    meta = _json_meta(
        {**network.metadata, "coordinates": "pixel" if pixel else "EPSG:4326 lon/lat"}
    )
    written = []
    for target, gdf, cols in (
        (path, network.edges, EDGE_COLUMNS),
        (_sibling(path, "nodes"), network.nodes, NODE_COLUMNS),
    ):
        fc = {"type": "FeatureCollection", "roadseg": meta, "features": _features(gdf, cols, pixel)}
        with atomic_path(target) as tmp:
            with open(tmp, "w", encoding="utf-8") as fh:
                json.dump(fc, fh, allow_nan=False, separators=(",", ":"))
        written.append(target)
    return written


def write_gpkg(network: RoadNetwork, path: Path) -> list[Path]:
    import pyogrio
    from pyogrio.errors import DataLayerError, DataSourceError

    with atomic_path(path) as tmp:
        try:
            pyogrio.write_dataframe(network.edges, tmp, layer="edges", driver="GPKG")
            pyogrio.write_dataframe(network.nodes, tmp, layer="nodes", driver="GPKG", append=False)
        except (DataLayerError, DataSourceError) as exc:
            # GDAL reports a full disk as a failed SQL statement, not as an OSError
            raise OutputError(f"{path}: could not write the GeoPackage ({exc})") from exc
    return [path]


def write_geoparquet(network: RoadNetwork, path: Path) -> list[Path]:
    written = []
    for target, gdf in ((path, network.edges), (_sibling(path, "nodes"), network.nodes)):
        with atomic_path(target) as tmp:
            gdf.to_parquet(tmp, index=False)
        written.append(target)
    return written


def network_to_graph(network: RoadNetwork) -> Any:
    """The network as a :class:`networkx.MultiGraph` (node x/y, edge attributes, WKT geometry)."""
    import networkx as nx

    g = nx.MultiGraph(
        crs=network.crs.to_wkt() if network.crs is not None else "", gsd_m=float(network.gsd)
    )
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
        )
    return g


def write_graphml(network: RoadNetwork, path: Path) -> list[Path]:
    import networkx as nx

    g = network_to_graph(network)
    with atomic_path(path) as tmp:
        nx.write_graphml(g, tmp)
    return [path]
