"""FlatGeobuf: edges in ``<out>.fgb``, nodes in ``<out>.nodes.fgb``, native CRS.

One layer per file (the format holds one). The run's provenance is the layer
metadata item ``roadseg`` (a JSON string, in the FlatGeobuf header's metadata);
the header's title and description name the table and its columns.
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path
from typing import Any

from roadseg.atomic import atomic_path
from roadseg.errors import OutputError
from roadseg.vector.formats.common import (
    EDGE_SCHEMA,
    NODE_SCHEMA,
    ExportFormat,
    provenance_json,
    sibling,
)
from roadseg.vector.network import RoadNetwork


def write(network: RoadNetwork, path: Path) -> list[Path]:
    import pyogrio
    from pyogrio.errors import DataLayerError, DataSourceError

    meta = provenance_json(network)
    written = []
    for target, gdf, name, schema in (
        (path, network.edges, "edges", EDGE_SCHEMA),
        (sibling(path, "nodes"), network.nodes, "nodes", NODE_SCHEMA),
    ):
        columns = {k: v for k, v in schema.items() if k in gdf.columns}
        with atomic_path(target) as tmp:
            try:
                pyogrio.write_dataframe(
                    gdf,
                    tmp,
                    layer=name,
                    driver="FlatGeobuf",
                    layer_metadata={"roadseg": meta},
                    layer_options={
                        "TITLE": f"road network {name}",
                        "DESCRIPTION": json.dumps(columns),
                    },
                )
            except (DataLayerError, DataSourceError) as exc:
                raise OutputError(f"{target}: could not write the FlatGeobuf file ({exc})") from exc
        written.append(target)
    return written


def read(path: Path, layer: str | None = None) -> Any:
    import geopandas as gpd

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return gpd.read_file(path)


def metadata(path: Path) -> dict[str, Any]:
    """The provenance stored in a FlatGeobuf file written by :func:`write` (``{}``: none)."""
    import pyogrio

    meta = pyogrio.read_info(path).get("layer_metadata") or {}
    return json.loads(meta["roadseg"]) if "roadseg" in meta else {}


FORMAT = ExportFormat(
    name="fgb",
    suffixes=(".fgb",),
    write=write,
    read=read,
    carries_crs=True,
    siblings=("nodes",),
    aliases=("flatgeobuf",),
    description="FlatGeobuf, native CRS; nodes in <out>.nodes.fgb; provenance in the header "
    "metadata 'roadseg'",
)
