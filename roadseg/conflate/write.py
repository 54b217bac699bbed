"""Writing conflation results: GeoJSON (RFC 7946, EPSG:4326) that an OSM editor opens, or GeoPackage.

Both are written atomically (a temporary file renamed into place). A GeoJSON file
carries the run's summary in a top-level ``roadseg`` member, as roadseg's networks do.
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
SUFFIXES = {".geojson": "geojson", ".json": "geojson", ".gpkg": "gpkg"}


def missing_path(out: str | Path) -> Path:
    """Where ``extract --conflate`` writes the missing roads: ``<out stem>.missing.geojson``.

    >>> missing_path("run/roads.gpkg").as_posix()
    'run/roads.missing.geojson'
    """
    out = Path(out)
    return out.with_name(f"{out.stem}.missing.geojson")


def empty_lines() -> Any:
    """An empty table of missing roads (EPSG:4326)."""
    import geopandas as gpd

    return gpd.GeoDataFrame(geometry=[], crs="EPSG:4326")


def check_output_suffix(path: str | Path, what: str = "-o") -> None:
    """Refuse an output whose suffix no writer handles (one line)."""
    if Path(path).suffix.lower() not in SUFFIXES:
        raise InputError(
            f"{path}: {what} must end in {', '.join(sorted(SUFFIXES))} (an OSM editor opens GeoJSON)"
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
    """Write a result table to ``path`` (GeoJSON in EPSG:4326, or a GeoPackage in ``gdf``'s CRS)."""
    path = Path(path)
    check_output_suffix(path)
    if SUFFIXES[path.suffix.lower()] == "gpkg":
        _gpkg(gdf, path, layer)
    else:
        _geojson(gdf, path, json.loads(json.dumps(meta, default=str)))
    return path
