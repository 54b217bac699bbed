"""GeoJSON (RFC 7946): edges in ``<out>.geojson``, nodes in ``<out>.nodes.geojson``.

Coordinates are EPSG:4326 lon/lat (pyproj, ``always_xy=True``): GeoJSON has no
other CRS, so the format carries none. A network without CRS is refused (every GIS
would read its local grid as degrees; issue 18 item 4): GeoPackage and GeoParquet
can hold it. The run's provenance is the ``roadseg`` foreign member of each
collection.
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path
from typing import Any

import numpy as np

from roadseg.atomic import atomic_path
from roadseg.vector.formats.common import (
    ExportFormat,
    check_lonlat_crs,
    clean,
    lonlat,
    provenance,
    sibling,
)
from roadseg.vector.network import EDGE_COLUMNS, NODE_COLUMNS, RoadNetwork


def to_wgs84(gdf: Any) -> Any:
    """Geometries of ``gdf`` as lon/lat (always_xy) or unchanged if it has no CRS."""
    if gdf.crs is None or len(gdf) == 0:
        return gdf.geometry.values
    import shapely

    geoms = np.asarray(gdf.geometry.values, dtype=object)
    coords = lonlat(shapely.get_coordinates(geoms), gdf.crs)
    return shapely.set_coordinates(shapely.from_wkb(shapely.to_wkb(geoms)), coords)


def _features(gdf: Any, columns: list[str]) -> list[dict]:
    import shapely

    geoms = to_wgs84(gdf)
    feats = []
    records = gdf[columns].to_dict("records") if len(gdf) else []
    for geom, props in zip(geoms, records):
        p = {k: clean(v) for k, v in props.items()}
        feats.append(
            {"type": "Feature", "geometry": json.loads(shapely.to_geojson(geom)), "properties": p}
        )
    return feats


def _columns(base: list[str], gdf: Any) -> list[str]:
    """The table's columns in the written order (``scene`` after the fixed ones, when present)."""
    return base + [c for c in ("scene",) if c in gdf.columns and c not in base]


def write(network: RoadNetwork, path: Path) -> list[Path]:
    check_lonlat_crs(FORMAT, network.crs, path, network.metadata.get("source"))
    meta = provenance(network, "EPSG:4326 lon/lat")
    written = []
    for target, gdf, cols in (
        (path, network.edges, EDGE_COLUMNS),
        (sibling(path, "nodes"), network.nodes, NODE_COLUMNS),
    ):
        feats = _features(gdf, _columns(cols, gdf))
        fc = {"type": "FeatureCollection", "roadseg": meta, "features": feats}
        with atomic_path(target) as tmp:
            with open(tmp, "w", encoding="utf-8") as fh:
                json.dump(fc, fh, allow_nan=False, separators=(",", ":"))
        written.append(target)
    return written


def read(path: Path, layer: str | None = None) -> Any:
    """The edges; a file without CRS is EPSG:4326 lon/lat, as RFC 7946 defines GeoJSON."""
    import geopandas as gpd

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        gdf = gpd.read_file(path)
    return gdf if gdf.crs is not None else gdf.set_crs("EPSG:4326")


FORMAT = ExportFormat(
    name="geojson",
    suffixes=(".geojson", ".json"),
    write=write,
    read=read,
    carries_crs=False,
    siblings=("nodes",),
    description="RFC 7946 GeoJSON in EPSG:4326 lon/lat; nodes in <out>.nodes.geojson",
    title="GeoJSON",
)
