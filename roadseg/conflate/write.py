"""Writing conflation results: GeoJSON (RFC 7946, EPSG:4326) or OSM XML that an OSM editor
opens, or GeoPackage.

All are written atomically (a temporary file renamed into place). A GeoJSON file
carries the run's summary in a top-level ``roadseg`` member, as roadseg's networks do;
an ``.osm`` file (:func:`roadseg.vector.formats.osm.write_lines`, the network's writer:
missing parts that meet share a node, ``upload="never"``) in its provenance comment.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np

from roadseg.atomic import atomic_path
from roadseg.errors import InputError, OutputError

#: Output suffixes and the writer each one selects.
SUFFIXES = {".geojson": "geojson", ".json": "geojson", ".gpkg": "gpkg", ".osm": "osm"}
#: Suffixes that write every line as a new road (not for ``--unconfirmed``: OSM's own ways).
NEW_ROADS_SUFFIXES = (".osm",)


def missing_path(out: str | Path) -> Path:
    """Where ``extract --conflate`` writes the missing roads: ``<out stem>.missing.geojson``,
    or ``<out stem>.missing.osm`` beside an ``.osm`` network.

    >>> missing_path("run/roads.gpkg").as_posix(), missing_path("run/roads.osm").name
    ('run/roads.missing.geojson', 'roads.missing.osm')
    """
    out = Path(out)
    suffix = ".osm" if out.suffix.lower() == ".osm" else ".geojson"
    return out.with_name(f"{out.stem}.missing{suffix}")


def empty_lines() -> Any:
    """An empty table of missing roads (EPSG:4326)."""
    import geopandas as gpd

    return gpd.GeoDataFrame(geometry=[], crs="EPSG:4326")


def check_output_suffix(path: str | Path, what: str = "-o", new_roads: bool = True) -> None:
    """Refuse an output whose suffix no writer handles (one line); ``new_roads`` False (the
    unconfirmed OSM roads): refuse ``.osm`` too, which would hold OSM's own ways as new ones."""
    suffix = Path(path).suffix.lower()
    if suffix not in SUFFIXES:
        raise InputError(
            f"{path}: {what} must end in {', '.join(sorted(SUFFIXES))} "
            "(an OSM editor opens .osm and GeoJSON)"
        )
    if not new_roads and suffix in NEW_ROADS_SUFFIXES:
        raise InputError(
            f"{path}: {what} holds OSM's own ways, which an {suffix} file would make new "
            "objects (duplicates in an editor); write .geojson or .gpkg"
        )


def _plain(v: Any) -> Any:
    """A JSON value: numpy scalars as Python ones, NaN and None as null."""
    if isinstance(v, np.generic):
        v = v.item()
    if isinstance(v, float) and not math.isfinite(v):
        return None
    return v


def _geojson(gdf: Any, path: Path, meta: dict[str, Any]) -> None:
    import shapely

    wgs = gdf.to_crs("EPSG:4326") if len(gdf) else gdf
    cols = [c for c in gdf.columns if c != "geometry"]
    records = wgs[cols].to_dict("records") if len(wgs) else []
    # 1e-7 degrees is a centimetre: the reprojection's float noise is not kept
    geoms = (
        shapely.to_geojson(shapely.transform(wgs.geometry.to_numpy(), lambda c: np.round(c, 7)))
        if len(wgs)
        else []
    )
    features = [
        {
            "type": "Feature",
            "geometry": json.loads(g),
            "properties": {k: _plain(v) for k, v in r.items()},
        }
        for g, r in zip(geoms, records)
    ]
    fc = {"type": "FeatureCollection", "roadseg": meta, "features": features}
    with atomic_path(path) as tmp:
        with open(tmp, "w", encoding="utf-8") as fh:
            json.dump(fc, fh, allow_nan=False, separators=(",", ":"), default=str)


def _gpkg(gdf: Any, path: Path, layer: str) -> None:
    import pyogrio
    from pyogrio.errors import DataLayerError, DataSourceError

    out = gdf.copy()
    for c in out.columns:
        if c != "geometry" and out[c].dtype == object:
            out[c] = out[c].map(lambda v: None if v is None else str(v))
    with atomic_path(path) as tmp:
        try:
            pyogrio.write_dataframe(out, tmp, layer=layer, driver="GPKG")
        except (DataLayerError, DataSourceError) as exc:
            raise OutputError(f"{path}: could not write the GeoPackage ({exc})") from exc


def write_lines(gdf: Any, path: str | Path, meta: dict[str, Any], layer: str = "missing") -> Path:
    """Write a result table to ``path`` (GeoJSON or OSM XML in EPSG:4326, or a GeoPackage in
    ``gdf``'s CRS)."""
    path = Path(path)
    check_output_suffix(path)
    kind = SUFFIXES[path.suffix.lower()]
    if kind == "gpkg":
        _gpkg(gdf, path, layer)
    elif kind == "osm":
        from roadseg.vector.formats.osm import write_lines as write_osm

        write_osm(gdf, path, json.loads(json.dumps(meta, default=str)))
    else:
        _geojson(gdf, path, json.loads(json.dumps(meta, default=str)))
    return path
