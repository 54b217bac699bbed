"""GeoParquet: edges in ``<out>.parquet``, nodes in ``<out>.nodes.parquet``, native CRS.

The run's provenance is the Parquet key-value metadata ``roadseg`` (a JSON string)
beside GeoParquet's own ``geo`` key.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from roadseg.atomic import atomic_path
from roadseg.vector.formats.common import ExportFormat, provenance_json, sibling
from roadseg.vector.network import RoadNetwork

METADATA_KEY = b"roadseg"


def _write_table(gdf: Any, path: Path, meta: str) -> None:
    import pyarrow.parquet as pq
    from geopandas.io.arrow import _geopandas_to_arrow

    # geopandas' own conversion (it writes the ``geo`` key); to_parquet cannot add a key
    table = _geopandas_to_arrow(gdf, index=False)
    table = table.replace_schema_metadata(
        {**(table.schema.metadata or {}), METADATA_KEY: meta.encode()}
    )
    pq.write_table(table, path)


def write(network: RoadNetwork, path: Path) -> list[Path]:
    meta = provenance_json(network)
    written = []
    for target, gdf in ((path, network.edges), (sibling(path, "nodes"), network.nodes)):
        with atomic_path(target) as tmp:
            _write_table(gdf, tmp, meta)
        written.append(target)
    return written


def read(path: Path, layer: str | None = None) -> Any:
    import geopandas as gpd

    return gpd.read_parquet(path)


def metadata(path: Path) -> dict[str, Any]:
    """The provenance stored in a GeoParquet file written by :func:`write` (``{}``: none)."""
    import pyarrow.parquet as pq

    meta = pq.read_schema(path).metadata or {}
    return json.loads(meta[METADATA_KEY]) if METADATA_KEY in meta else {}


FORMAT = ExportFormat(
    name="parquet",
    suffixes=(".parquet", ".geoparquet"),
    write=write,
    read=read,
    carries_crs=True,
    siblings=("nodes",),
    aliases=("geoparquet",),
    description="GeoParquet, native CRS; nodes in <out>.nodes.parquet; provenance in the "
    "key-value metadata 'roadseg'",
)
