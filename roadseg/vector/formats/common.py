"""What every export format shares: provenance, the column schema, sibling names, JSON values."""

from __future__ import annotations

import json
import math
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from roadseg.errors import InputError

#: ``writer(network, path) -> files written`` (atomic, every file complete or absent).
Writer = Callable[[Any, Path], list[Path]]
#: ``reader(path, layer) -> GeoDataFrame`` of the edges (LineStrings) with the file's CRS.
Reader = Callable[[Path, "str | None"], Any]


@dataclass(frozen=True)
class ExportFormat:
    """One export format (see the module docstring).

    Attributes:
        name: the ``--format`` name.
        suffixes: the file suffixes that mean this format; the first one is written.
        write: the writer.
        read: the reader of the edges (lines), or None when the format is write-only.
        carries_crs: the file states its CRS. False: the format's coordinates are EPSG:4326
            lon/lat by definition (GeoJSON, RFC 7946; OSM XML), so a network without CRS
            is refused (:func:`check_lonlat_crs`).
        siblings: the extra files, ``<stem>.<sibling><suffix>`` (e.g. ``nodes``).
        aliases: other names ``--format`` accepts.
        description: one line for the documentation and ``--help``.
        title: how messages name the format (default: ``name``).
    """

    name: str
    suffixes: tuple[str, ...]
    write: Writer
    read: Reader | None
    carries_crs: bool
    siblings: tuple[str, ...] = ()
    aliases: tuple[str, ...] = ()
    description: str = ""
    title: str = ""

    @property
    def suffix(self) -> str:
        """The suffix of the files this format writes."""
        return self.suffixes[0]

    def files(self, path: Path) -> list[Path]:
        """Every file written for an export to ``path`` (``path`` itself first)."""
        return [path] + [path.with_name(f"{path.stem}.{s}{path.suffix}") for s in self.siblings]


#: The columns of the edge table (``geometry`` aside), what they hold and in which unit.
EDGE_SCHEMA: dict[str, str] = {
    "u": "node_id of the first point's node",
    "v": "node_id of the last point's node",
    "length_m": "length along the line in metres (on the pixel grid, scaled by the GSD)",
    "mean_prob": "mean road probability (0..1) of the skeleton pixels along the edge; "
    "bridged gaps excluded; empty when none",
    "width_m": "median road width in metres along the edge (from the distance transform)",
    "bridged": "true when the edge (or part of it) bridges a gap between road ends",
    "scene": "the scene(s) the edge came from (many-scene runs; absent for one scene)",
}
#: The columns of the node table (``geometry`` aside).
NODE_SCHEMA: dict[str, str] = {
    "node_id": "the node's id (the u/v of its edges)",
    "degree": "number of edge ends at the node (a self-loop counts 2)",
    "border": "true when the node touches the raster border (the road may go on)",
    "scene": "the scene(s) the node came from (many-scene runs; absent for one scene)",
}


def check_lonlat_crs(
    fmt: ExportFormat,
    crs: Any,
    target: str | os.PathLike[str],
    source: str | os.PathLike[str] | None,
) -> None:
    """Refuse data without CRS (``crs`` None) in a lon/lat-only format (``carries_crs`` False):
    every GIS would read a local grid as degrees. ``source`` names the data (the raster).

    Raises:
        InputError: one line naming ``target`` and ``source``.
    """
    if crs is None and not fmt.carries_crs:
        from roadseg.raster.georef import lonlat_without_crs

        raise InputError(lonlat_without_crs(target, source or "the raster", fmt.title or fmt.name))


def lonlat(xy: np.ndarray, crs: Any) -> np.ndarray:
    """Coordinates ``xy`` (n, 2) in ``crs`` as WGS 84 lon/lat (n, 2), ``always_xy``."""
    import pyproj

    if len(xy) == 0:
        return np.zeros((0, 2))
    tr = pyproj.Transformer.from_crs(crs, "EPSG:4326", always_xy=True)
    lon, lat = tr.transform(xy[:, 0], xy[:, 1])
    return np.column_stack([lon, lat])


def sibling(path: Path, what: str) -> Path:
    """``<stem>.<what><suffix>`` beside ``path`` (e.g. ``roads.nodes.parquet``)."""
    return path.with_name(f"{path.stem}.{what}{path.suffix}")


def clean(v: Any) -> Any:
    """A JSON value of a numpy/float cell (NaN and infinities: ``None``)."""
    if isinstance(v, np.integer):
        return int(v)
    if isinstance(v, np.bool_):
        return bool(v)
    if isinstance(v, (float, np.floating)):
        v = float(v)
        return None if not math.isfinite(v) else v
    return v


def provenance(network: Any, coordinates: str | None = None) -> dict[str, Any]:
    """The run's metadata every format carries: the network's metadata (scene, model,
    threshold, options, georeferencing), the coordinates' meaning and the column schema.

    ``coordinates``: what the stored coordinates are (default: the CRS, or ``pixel``).
    """
    if coordinates is None:
        coordinates = network.crs.to_string() if network.crs is not None else "pixel"
    meta = json.loads(json.dumps(network.metadata, default=str))
    meta["coordinates"] = coordinates
    meta["columns"] = {
        "edges": _present(EDGE_SCHEMA, network.edges),
        "nodes": _present(NODE_SCHEMA, network.nodes),
    }
    return meta


def provenance_json(network: Any, coordinates: str | None = None) -> str:
    """:func:`provenance` as one JSON string (for formats holding string metadata)."""
    return json.dumps(provenance(network, coordinates), separators=(",", ":"), allow_nan=False)


def _present(schema: dict[str, str], table: Any) -> dict[str, str]:
    return {k: v for k, v in schema.items() if k in table.columns}
