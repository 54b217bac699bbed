"""OSM XML 0.6, for an OSM editor (JOSM): the network with its topology, not for upload.

GeoJSON loses the topology in an editor (each line gets its own nodes, so junctions
are not connected); an ``.osm`` file keeps it:

* one ``<node>`` per network node that an edge ends at, shared by every way that
  meets there, plus one per interior vertex of each edge; one ``<way>`` per edge, its
  ``<nd ref>`` in the geometry's order, from node ``u`` to node ``v`` (a self-loop is a
  closed way, parallel edges are ways with the same two end nodes);
* negative ids (new objects, unique over nodes and ways together), coordinates in
  WGS 84 lon/lat with 7 decimals (a centimetre; OSM stores no more); a network
  without CRS is refused, as for GeoJSON (:func:`~roadseg.vector.formats.common.check_lonlat_crs`);
* way tags: ``highway=road`` (OSM's tag for a road of unknown class), ``source=roadseg``,
  ``fixme=`` (:data:`FIXME`) and the edge columns under ``roadseg:`` (numbers rounded,
  :data:`DECIMALS`; booleans ``yes``/``no``; NaN left out);
* ``upload="never"`` on ``<osm>``: JOSM then refuses to upload the layer. Detected roads
  are an automated import, which goes through OSM's import guidelines and the
  community's review, never straight from a file;
* the run's provenance (:func:`~roadseg.vector.formats.common.provenance`) as JSON in an
  XML comment before ``<osm>`` (``<!--roadseg {...}-->``; OSM XML has no element for it);
  :func:`metadata` reads it back.

The format is write-only here: :func:`roadseg.osm.load.load_roads` reads ``.osm`` files
with pyosmium, as it reads OSM extracts (ways with ``highway=road`` pass its default
class filter). The conflation's missing roads are written by the same writer
(:func:`write_lines`). The file is written line by line into a temporary file renamed
into place (:func:`roadseg.atomic.atomic_path`).
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Iterator, Sequence
from functools import lru_cache
from pathlib import Path
from typing import IO, Any
from xml.sax.saxutils import quoteattr

import numpy as np

from roadseg import __version__
from roadseg.atomic import atomic_path
from roadseg.errors import InputError
from roadseg.vector.formats.common import ExportFormat, check_lonlat_crs, lonlat, provenance
from roadseg.vector.network import RoadNetwork

GENERATOR = f"roadseg {__version__}"
#: The ``fixme`` tag of every way: a mapper must check it before it goes anywhere.
FIXME = "road detected in aerial imagery by roadseg; check position, class and junctions"
#: Columns that are OSM tags as they are (the conflation's ``highway`` and ``source``).
OSM_TAGS = ("highway", "source")
#: Decimals of the ``roadseg:`` number tags (others: :data:`OTHER_DECIMALS`; whole numbers as such).
DECIMALS = {"length_m": 1, "width_m": 1, "nearest_osm_m": 1, "mean_prob": 3, "confidence": 3}
OTHER_DECIMALS = 3
#: OSM's longest tag value (characters); longer ones are cut, ending in ``...``.
MAX_VALUE = 255
#: Coordinates: 7 decimals of a degree (1.1 cm), OSM's own precision.
COORD_DECIMALS = 7
#: The prefix of the comment holding the provenance (JSON follows, then ``-->``).
COMMENT = "<!--roadseg "
_CHUNK = 10_000
#: Tag keys and values repeat (the fixed tags, yes/no, rounded numbers): escaped once each.
_quoted = lru_cache(maxsize=1 << 16)(quoteattr)


def tag_value(column: str, value: Any) -> str | None:
    """The OSM tag value of one cell (None: no tag, for NaN and missing values).

    >>> tag_value("length_m", 12.345), tag_value("mean_prob", 0.5), tag_value("bridged", True)
    ('12.3', '0.5', 'yes')
    >>> tag_value("nearest_osm_id", 4.0e8), tag_value("width_m", float("nan"))
    ('400000000', None)
    >>> len(tag_value("scene", "s.tif;" * 100))
    255
    """
    if value is None:
        return None
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            return None
        if column not in DECIMALS and value.is_integer():
            return str(int(value))
        text = f"{value:.{DECIMALS.get(column, OTHER_DECIMALS)}f}"
        return text.rstrip("0").rstrip(".") if "." in text else text
    text = str(value)
    if len(text) > MAX_VALUE:  # e.g. the scenes of a large many-scene run
        text = text[: MAX_VALUE - 3] + "..."
    return text or None


def way_tags(row: dict[str, Any]) -> dict[str, str]:
    """The tags of one way: ``highway=road``, ``source=roadseg``, ``fixme``, then
    ``roadseg:<column>``; ``row``'s ``highway`` and ``source`` (the conflation's) replace
    the first two.

    >>> way_tags({"length_m": 10.0, "mean_prob": float("nan"), "bridged": False})["roadseg:bridged"]
    'no'
    """
    tags = {"highway": "road", "source": "roadseg", "fixme": FIXME}
    for column, value in row.items():
        text = tag_value(column, value)
        if text is not None:
            tags[column if column in OSM_TAGS else f"roadseg:{column}"] = text
    return tags


def _vertices(geoms: Any) -> tuple[np.ndarray, np.ndarray]:
    """Every vertex of the LineStrings ``geoms`` (n, 2) and each line's start offset (m + 1)."""
    import shapely

    geoms = np.asarray(geoms, dtype=object)
    counts = shapely.get_num_coordinates(geoms)
    offsets = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
    return shapely.get_coordinates(geoms), offsets


def _comment(meta: dict[str, Any]) -> str:
    """``meta`` as JSON in one XML comment: ``--`` (not allowed in a comment) only occurs
    inside JSON strings, where ``-\\u002d`` decodes to the same text."""
    text = json.dumps(meta, separators=(",", ":"), allow_nan=False, default=str)
    return COMMENT + text.replace("--", "-\\u002d") + "-->\n"


def _coord(v: float) -> str:
    return f"{v:.{COORD_DECIMALS}f}"


def _nodes_xml(ids: np.ndarray, lonlat: np.ndarray) -> Iterator[str]:
    for start in range(0, len(ids), _CHUNK):
        part = zip(ids[start : start + _CHUNK].tolist(), lonlat[start : start + _CHUNK].tolist())
        yield "".join(
            f'  <node id="{i}" lat="{_coord(lat)}" lon="{_coord(lon)}"/>\n'
            for i, (lon, lat) in part
        )


def write_osm_xml(
    path: Path,
    ends_lonlat: np.ndarray,
    vertices: np.ndarray,
    offsets: np.ndarray,
    ends: np.ndarray,
    tags: Iterable[dict[str, str]],
    meta: dict[str, Any],
) -> Path:
    """Write ways through shared end nodes as OSM XML 0.6 (atomic; see the module docstring).

    Args:
        path: the ``.osm`` file.
        ends_lonlat: (k, 2) lon/lat of the end nodes (junctions and road ends).
        vertices: (n, 2) lon/lat of every line's vertices, line after line.
        offsets: (m + 1,) where each line starts in ``vertices``.
        ends: (m, 2) the end node (row of ``ends_lonlat``) of each line's first and last
            vertex; the vertices between them become nodes of their own.
        tags: the tags of each way, in line order.
        meta: the provenance, written as JSON in a comment before ``<osm>``.
    """
    ends = np.asarray(ends, dtype=np.int64).reshape(-1, 2)
    used = np.unique(ends)
    # ids: the end nodes (-1 - row), then the interior vertices, then the ways
    interior = np.ones(len(vertices), bool)
    interior[offsets[:-1]] = False
    interior[offsets[1:] - 1] = False
    first_inner = -1 - len(ends_lonlat)
    inner_ids = np.full(len(vertices), 0, np.int64)
    inner_ids[interior] = first_inner - np.arange(int(interior.sum()))
    first_way = first_inner - int(interior.sum())
    points = np.concatenate([ends_lonlat[used], vertices[interior]])
    with atomic_path(path) as tmp, open(tmp, "w", encoding="utf-8") as fh:
        fh.write('<?xml version="1.0" encoding="UTF-8"?>\n')
        fh.write(_comment(meta))
        fh.write(f'<osm version="0.6" generator={quoteattr(GENERATOR)} upload="never">\n')
        if len(points):
            lo, hi = points.min(axis=0), points.max(axis=0)
            fh.write(
                f'  <bounds minlat="{_coord(lo[1])}" minlon="{_coord(lo[0])}" '
                f'maxlat="{_coord(hi[1])}" maxlon="{_coord(hi[0])}"/>\n'
            )
        for chunk in _nodes_xml(-1 - used, ends_lonlat[used]):
            fh.write(chunk)
        for chunk in _nodes_xml(inner_ids[interior], vertices[interior]):
            fh.write(chunk)
        _write_ways(fh, offsets, ends, inner_ids, first_way, tags)
        fh.write("</osm>\n")
    return path


def _write_ways(
    fh: IO[str],
    offsets: np.ndarray,
    ends: np.ndarray,
    inner_ids: np.ndarray,
    first_way: int,
    tags: Iterable[dict[str, str]],
) -> None:
    for k, way_tag in enumerate(tags):
        a, b = int(offsets[k]), int(offsets[k + 1])
        refs = [-1 - int(ends[k, 0]), *inner_ids[a + 1 : b - 1].tolist(), -1 - int(ends[k, 1])]
        lines = [f'  <way id="{first_way - k}">\n']
        lines += [f'    <nd ref="{r}"/>\n' for r in refs]
        lines += [f"    <tag k={_quoted(t)} v={_quoted(v)}/>\n" for t, v in way_tag.items()]
        lines.append("  </way>\n")
        fh.write("".join(lines))


def _end_rows(
    network: RoadNetwork, path: Path, vertices: np.ndarray, offsets: np.ndarray
) -> np.ndarray:
    """(m, 2) the node-table rows of each edge's ``u`` and ``v``, checked against the
    geometry's first and last point.

    Raises:
        InputError: an edge whose end is not at its node, or whose node is not in the table.
    """
    ids = network.nodes["node_id"].to_numpy(np.int64)
    uv = network.edges[["u", "v"]].to_numpy(np.int64).reshape(-1, 2)
    if len(uv) == 0:
        return uv
    order = np.argsort(ids, kind="stable")
    rows = order[np.minimum(np.searchsorted(ids, uv, sorter=order), max(len(ids) - 1, 0))]
    node_xy = np.column_stack([network.nodes.geometry.x, network.nodes.geometry.y])
    at = np.stack([vertices[offsets[:-1]], vertices[offsets[1:] - 1]], axis=1)
    good = np.zeros(uv.shape, bool)
    if len(ids):
        good = (ids[rows] == uv) & np.isclose(at, node_xy[rows], rtol=1e-9, atol=1e-9).all(axis=2)
    bad = np.flatnonzero(~good.all(axis=1))
    if len(bad):
        k = int(bad[0])
        raise InputError(
            f"{path}: edge {k} (u={uv[k, 0]}, v={uv[k, 1]}) does not run from node u to node v "
            "of the node table (an end elsewhere, or a node missing); the network is inconsistent"
        )
    return rows


def _edge_rows(network: RoadNetwork) -> Iterator[dict[str, Any]]:
    edges = network.edges
    columns = [c for c in ("length_m", "mean_prob", "width_m", "bridged", "scene") if c in edges]
    for row in edges[columns].itertuples(index=False, name=None):
        yield dict(zip(columns, row))


def write(network: RoadNetwork, path: Path) -> list[Path]:
    check_lonlat_crs(FORMAT, network.crs, path, network.metadata.get("source"))
    xy, offsets = _vertices(network.edges.geometry.values)
    rows = _end_rows(network, path, xy, offsets)
    node_xy = np.column_stack([network.nodes.geometry.x, network.nodes.geometry.y])
    tags = (way_tags(r) for r in _edge_rows(network))
    meta = provenance(network, "EPSG:4326 lon/lat")
    write_osm_xml(
        path, lonlat(node_xy, network.crs), lonlat(xy, network.crs), offsets, rows, tags, meta
    )
    return [path]


def write_lines(gdf: Any, path: Path, meta: dict[str, Any]) -> Path:
    """Write road lines (a GeoDataFrame of LineStrings with a CRS) as OSM XML: one way per
    line, tagged by :func:`way_tags` from its columns; line ends at the same point (to
    7 decimals) share one node, so lines that meet stay joined in the editor."""
    if len(gdf):
        gdf = gdf.explode(index_parts=False, ignore_index=True)
        gdf = gdf[gdf.geometry.notna() & ~gdf.geometry.is_empty]
    xy, offsets = _vertices(gdf.geometry.values)
    vertices = lonlat(xy, gdf.crs) if len(gdf) else np.zeros((0, 2))
    at = np.stack([vertices[offsets[:-1]], vertices[offsets[1:] - 1]], axis=1).reshape(-1, 2)
    ends_lonlat, ends = np.unique(np.round(at, COORD_DECIMALS), axis=0, return_inverse=True)
    columns = [c for c in gdf.columns if c != "geometry"]
    records: Sequence[dict[str, Any]] = gdf[columns].to_dict("records") if len(gdf) else []
    tags = (way_tags(r) for r in records)
    return write_osm_xml(path, ends_lonlat, vertices, offsets, ends.reshape(-1, 2), tags, meta)


def metadata(path: Path) -> dict[str, Any]:
    """The provenance in an ``.osm`` file written by :func:`write` (``{}``: none)."""
    with open(path, encoding="utf-8") as fh:
        for line in fh:
            if line.startswith(COMMENT):
                return dict(json.loads(line.strip()[len(COMMENT) : -len("-->")]))
            if line.lstrip().startswith("<osm"):
                break
    return {}


FORMAT = ExportFormat(
    name="osm",
    suffixes=(".osm",),
    write=write,
    read=None,  # roadseg.osm.load reads .osm files with pyosmium (OSM_SUFFIXES)
    carries_crs=False,
    description="OSM XML 0.6 for JOSM (shared junction nodes, WGS 84, negative ids, "
    'upload="never"); provenance in a comment; read back as OSM',
    title="OSM XML",
)
