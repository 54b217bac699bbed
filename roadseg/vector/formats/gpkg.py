"""GeoPackage: one file with the layers ``edges`` and ``nodes`` in the network's CRS.

The run's provenance is the dataset metadata item ``roadseg`` (a JSON string),
which GDAL stores in the ``gpkg_metadata`` / ``gpkg_metadata_reference`` tables;
each layer carries its column schema as its ``DESCRIPTION``.
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path
from typing import Any

from roadseg.atomic import atomic_path
from roadseg.errors import OutputError
from roadseg.vector.formats.common import EDGE_SCHEMA, NODE_SCHEMA, ExportFormat, provenance_json
from roadseg.vector.network import RoadNetwork


def _describe(schema: dict[str, str], table: Any) -> str:
    return json.dumps({k: v for k, v in schema.items() if k in table.columns})


def write(network: RoadNetwork, path: Path) -> list[Path]:
    import pyogrio
    from pyogrio.errors import DataLayerError, DataSourceError

    with atomic_path(path) as tmp:
        try:
            pyogrio.write_dataframe(
                network.edges,
                tmp,
                layer="edges",
                driver="GPKG",
                dataset_metadata={"roadseg": provenance_json(network)},
                layer_metadata={"DESCRIPTION": _describe(EDGE_SCHEMA, network.edges)},
            )
            pyogrio.write_dataframe(
                network.nodes,
                tmp,
                layer="nodes",
                driver="GPKG",
                append=False,
                layer_metadata={"DESCRIPTION": _describe(NODE_SCHEMA, network.nodes)},
            )
        except (DataLayerError, DataSourceError) as exc:
            # GDAL reports a full disk as a failed SQL statement, not as an OSError
            raise OutputError(f"{path}: could not write the GeoPackage ({exc})") from exc
    return [path]


def read(path: Path, layer: str | None = None) -> Any:
    """The ``edges`` layer of a roadseg GeoPackage, else ``layer`` or the first layer."""
    import geopandas as gpd
    import pyogrio

    if layer is None:
        names = [str(n) for n, _ in pyogrio.list_layers(path)]
        layer = "edges" if "edges" in names and "nodes" in names else None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return gpd.read_file(path, layer=layer) if layer else gpd.read_file(path)


def metadata(path: Path) -> dict[str, Any]:
    """The provenance stored in a GeoPackage written by :func:`write` (``{}``: none)."""
    import pyogrio

    meta = pyogrio.read_info(path, layer="edges").get("dataset_metadata") or {}
    return json.loads(meta["roadseg"]) if "roadseg" in meta else {}


FORMAT = ExportFormat(
    name="gpkg",
    suffixes=(".gpkg",),
    write=write,
    read=read,
    carries_crs=True,
    aliases=("geopackage",),
    description="GeoPackage, layers edges and nodes, native CRS; provenance in gpkg_metadata",
)
