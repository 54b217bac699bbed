"""Road centrelines from OSM files (.osm.pbf, .osm XML) and vector files.

:func:`load_roads` returns a GeoDataFrame of LineStrings with the columns
``highway`` (the OSM class, or None when the source has no such attribute),
``osm_id`` (way id, or None) and ``geometry``, reprojected to the requested CRS
and optionally clipped to a scene footprint.

OSM files are read with pyosmium: every *way* with a ``highway`` tag that
passes the class filter becomes one LineString through its node locations
(relations are not needed for centrelines). Extracts often cut ways at their
border and leave node references without a location; such a way is split into
its runs of located nodes rather than bridged by a straight chord.
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from shapely.geometry import LineString, MultiLineString
from shapely.geometry.base import BaseGeometry

from roadseg.errors import InputError
from roadseg.osm.highways import resolve_highway_filter
from roadseg.uri import RemotePath, scene_path

if TYPE_CHECKING:  # geopandas (with pandas, pyarrow, pyproj) is imported where it is used
    import geopandas as gpd

log = logging.getLogger(__name__)

OSM_SUFFIXES = (".pbf", ".osm", ".o5m", ".osm.bz2", ".osm.gz", ".osm.pbf")
#: Vector files read by GDAL alone (no roadseg export format has these suffixes).
OTHER_VECTOR_SUFFIXES = (".shp",)


def vector_suffixes() -> tuple[str, ...]:
    """Every vector suffix :func:`load_roads` reads: the export formats' and :data:`OTHER_VECTOR_SUFFIXES`."""
    from roadseg.vector.formats import readable_suffixes

    return tuple(readable_suffixes()) + OTHER_VECTOR_SUFFIXES


def is_osm_file(path: str | Path | RemotePath) -> bool:
    name = scene_path(path).name.lower()
    return any(name.endswith(s) for s in OSM_SUFFIXES)


def is_vector_file(path: str | Path) -> bool:
    name = Path(path).name.lower()
    return any(name.endswith(s) for s in vector_suffixes())


@dataclass
class RoadLoadConfig:
    """How to load road centrelines.

    Attributes:
        highways: a preset (``massachusetts``, ``all``), a comma-separated list or a
            list of classes. None: ``massachusetts`` for OSM files; for vector files
            the filter is applied only if they have a ``highway`` column.
        crs: target CRS (anything pyproj understands); None keeps the source CRS.
        clip: footprint in the target CRS to clip to (e.g. ``SceneGrid.footprint()``).
        layer: layer name for multi-layer vector files (GeoPackage).
        allow_empty: return an empty table instead of raising when no line is
            left (a prediction may legitimately hold no road).
        keep_columns: further attributes of a vector file kept where it has them
            (e.g. a network's ``mean_prob`` and ``width_m``); of an OSM file, its ways'
            ``roadseg:<name>`` tags (roadseg's ``.osm`` output).
        name: how the log names the file (``None``: its path), for a caller that reads a
            staged file which the user will find elsewhere.
    """

    highways: str | Iterable[str] | None = None
    crs: object | None = None
    clip: BaseGeometry | None = None
    layer: str | None = None
    allow_empty: bool = False
    keep_columns: tuple[str, ...] = ()
    name: str | None = None


def _as_lines(geom: BaseGeometry | None) -> list[LineString]:
    if geom is None or geom.is_empty:
        return []
    if isinstance(geom, LineString):
        return [geom] if geom.length > 0 else []
    if isinstance(geom, MultiLineString):
        return [g for g in geom.geoms if g.length > 0]
    if hasattr(geom, "geoms"):
        return [line for g in geom.geoms for line in _as_lines(g)]
    return []


#: A way's nodes: the node id and its (lon, lat), None where the file lacks the location.
WayNodes = list[tuple[int, tuple[float, float] | None]]


def _read_osm(
    path: Path, classes: frozenset[str] | None, bbox4326: Any, keep: tuple[str, ...] = ()
) -> gpd.GeoDataFrame:
    import geopandas as gpd
    import osmium

    rows: list[tuple[str, int, LineString]] = []
    tags: dict[int, dict[str, str]] = {}  # the roadseg:<keep> tags of roadseg's own ways
    # ways through nodes with negative ids (new objects: roadseg's .osm output, a file saved
    # from an editor before upload), whose locations pyosmium's cache does not keep
    pending: list[tuple[str, int, WayNodes]] = []
    fp = (
        osmium.FileProcessor(str(path), osmium.osm.NODE | osmium.osm.WAY)
        .with_locations()
        .with_filter(osmium.filter.EntityFilter(osmium.osm.WAY))
        .with_filter(osmium.filter.KeyFilter("highway"))
    )
    n_ways = n_cut = 0
    try:
        # the EntityFilter passes ways only, the KeyFilter only those with a highway tag
        for way in cast("Iterable[osmium.osm.Way]", fp):
            cls = way.tags.get("highway")
            assert cls is not None
            if classes is not None and cls not in classes:
                continue
            n_ways += 1
            if keep:
                found = {c: way.tags.get(f"roadseg:{c}") for c in keep}
                tags[way.id] = {c: v for c, v in found.items() if v is not None}
            nodes: WayNodes = [
                (n.ref, (n.location.lon, n.location.lat) if n.location.valid() else None)
                for n in way.nodes
            ]
            if any(loc is None and ref < 0 for ref, loc in nodes):
                pending.append((cls, way.id, nodes))
            else:
                n_cut += _add_runs(rows, cls, way.id, [loc for _, loc in nodes], bbox4326)
        if pending:
            located = _negative_nodes(path, {r for _, _, ns in pending for r, _ in ns if r < 0})
            for cls, way_id, nodes in pending:
                locs = [located.get(r) if loc is None else loc for r, loc in nodes]
                n_cut += _add_runs(rows, cls, way_id, locs, bbox4326)
    except RuntimeError as exc:
        raise InputError(f"{path}: cannot read as an OSM file ({exc})") from exc
    if n_cut:
        log.info(
            "%s: %d of %d highway ways lack some node locations (cut by the extract)",
            path,
            n_cut,
            n_ways,
        )
    gdf = gpd.GeoDataFrame(
        {"highway": [r[0] for r in rows], "osm_id": [r[1] for r in rows]},
        geometry=[r[2] for r in rows],
        crs="EPSG:4326",
    )
    return _with_roadseg_tags(gdf, tags, keep)


def _with_roadseg_tags(
    gdf: gpd.GeoDataFrame, tags: dict[int, dict[str, str]], keep: tuple[str, ...]
) -> gpd.GeoDataFrame:
    """``gdf`` with a column per ``keep`` that some way has as a ``roadseg:`` tag (roadseg's
    .osm output: ``mean_prob``, ``width_m``, ...), numbers as floats, None where absent."""

    def value(text: str | None) -> Any:
        try:
            return None if text is None else float(text)
        except ValueError:
            return text

    for c in keep:
        if any(c in t for t in tags.values()):
            gdf[c] = [value(tags.get(i, {}).get(c)) for i in gdf["osm_id"]]
    return gdf


def _negative_nodes(path: Path, ids: set[int]) -> dict[int, tuple[float, float]]:
    """The locations of the nodes ``ids`` (negative) in ``path``: a second pass over its
    nodes, in Python (pyosmium's id filter takes positive ids only)."""
    import osmium

    fp = osmium.FileProcessor(str(path), osmium.osm.NODE)
    return {
        n.id: (n.location.lon, n.location.lat)
        for n in cast("Iterable[osmium.osm.Node]", fp)
        if n.id in ids and n.location.valid()
    }


def _add_runs(
    rows: list[tuple[str, int, LineString]],
    cls: str,
    way_id: int,
    locs: list[tuple[float, float] | None],
    bbox4326: Any,
) -> int:
    """Add the way's runs of located nodes (within ``bbox4326``) to ``rows``; 1 if it was cut."""
    runs: list[list[tuple[float, float]]] = [[]]
    for loc in locs:
        if loc is not None:
            runs[-1].append(loc)
        elif runs[-1]:
            runs.append([])
    for run in runs:
        if len(run) < 2:
            continue
        if bbox4326 is not None:
            xs = [p[0] for p in run]
            ys = [p[1] for p in run]
            if (
                max(xs) < bbox4326[0]
                or min(xs) > bbox4326[2]
                or max(ys) < bbox4326[1]
                or min(ys) > bbox4326[3]
            ):
                continue
        rows.append((cls, way_id, LineString(run)))
    return int(len(runs) > 1 or not runs[0] or len(runs[0]) < len(locs))


def _read_vector(path: Path | RemotePath, layer: str | None) -> gpd.GeoDataFrame:
    """The lines of a vector file, read by its export format's reader (else by GDAL)."""
    import geopandas as gpd

    from roadseg.vector.formats import format_for_path

    # a URL is read by GDAL (through /vsicurl/ and the like); the export formats' own
    # readers take local files
    fmt = format_for_path(path) if isinstance(path, Path) else None
    try:
        if isinstance(path, Path) and fmt is not None and fmt.read is not None:
            gdf = fmt.read(path, layer)
        else:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)
                gdf = gpd.read_file(path, layer=layer) if layer else gpd.read_file(path)
    except InputError:
        raise
    except Exception as exc:  # pyogrio, pyarrow and networkx raise several types
        raise InputError(f"{path}: cannot read as a vector file ({exc})") from exc
    if gdf.crs is None:
        raise InputError(f"{path}: the vector file has no CRS")
    return gdf


def _empty(crs: Any) -> gpd.GeoDataFrame:
    import geopandas as gpd

    return gpd.GeoDataFrame({"highway": [], "osm_id": []}, geometry=[], crs=crs)


def load_roads(path: str | Path | RemotePath, config: RoadLoadConfig | None = None) -> gpd.GeoDataFrame:
    """Load road centrelines as LineStrings (see the module docstring).

    Raises:
        InputError: unreadable file, no line geometry, a class filter on a file
            without ``highway`` attribute, or (with ``clip``) no road inside the
            footprint.
    """
    import geopandas as gpd

    cfg = config or RoadLoadConfig()
    path = scene_path(path)  # a URL stays a URL: vector files are read through GDAL too
    if not path.exists():
        raise InputError(f"{path}: file not found")
    if is_osm_file(path):
        if isinstance(path, RemotePath):
            raise InputError(f"{path}: OSM extracts are read from local files; download it first")
        bbox4326 = None
        if cfg.clip is not None and cfg.crs is not None:
            bbox4326 = gpd.GeoSeries([cfg.clip], crs=cfg.crs).to_crs("EPSG:4326").total_bounds
        classes = resolve_highway_filter("massachusetts" if cfg.highways is None else cfg.highways)
        roads = _read_osm(path, classes, bbox4326, cfg.keep_columns)
        return _prepared(roads, cfg, cfg.name or str(path))
    return roads_from_frame(_read_vector(path, cfg.layer), cfg, cfg.name or str(path))


def roads_from_frame(
    gdf: gpd.GeoDataFrame, config: RoadLoadConfig | None = None, name: str = "roads"
) -> gpd.GeoDataFrame:
    """Road lines from a table already in memory (e.g. a network's edges), as
    :func:`load_roads` makes them from a vector file: class filter, LineStrings only,
    reprojected and clipped. ``name`` names the table in messages.

    Raises:
        InputError: as :func:`load_roads`.
    """
    cfg = config or RoadLoadConfig()
    name = cfg.name or name
    if gdf.crs is None:
        raise InputError(f"{name}: the roads have no CRS")
    if "highway" in gdf.columns:
        classes = resolve_highway_filter("massachusetts" if cfg.highways is None else cfg.highways)
        if classes is not None:
            gdf = gdf[gdf["highway"].isin(classes)]
    else:
        if cfg.highways is not None and resolve_highway_filter(cfg.highways) is not None:
            raise InputError(
                f"{name}: a highway filter was asked for but the file has no 'highway' "
                "attribute; use --highways all"
            )
        gdf = gdf.assign(highway=None)
    if "osm_id" not in gdf.columns:
        gdf = gdf.assign(osm_id=gdf["id"] if "id" in gdf.columns else None)
    kept = [c for c in cfg.keep_columns if c in gdf.columns and c not in ("highway", "osm_id")]
    return _prepared(gdf[["highway", "osm_id", *kept, "geometry"]], cfg, name)


def _prepared(gdf: gpd.GeoDataFrame, cfg: RoadLoadConfig, name: str) -> gpd.GeoDataFrame:
    """LineStrings only, in the target CRS, clipped to the footprint."""
    import geopandas as gpd

    src_crs = gdf.crs
    gdf = gdf.explode(index_parts=False, ignore_index=True)
    gdf = gdf[gdf.geometry.notna() & gdf.geom_type.isin(["LineString"])]
    if gdf.empty:
        if cfg.allow_empty:
            return _empty(cfg.crs or src_crs)
        raise InputError(f"{name}: no road line geometry found (after the highway filter)")
    if cfg.crs is not None:
        gdf = gdf.to_crs(cfg.crs)
    if cfg.clip is not None:
        bounds = gdf.total_bounds
        clipped = gdf.geometry.intersection(cfg.clip)
        keep = [(i, line) for i, g in zip(gdf.index, clipped) for line in _as_lines(g)]
        if not keep:
            if cfg.allow_empty:
                return _empty(gdf.crs)
            raise InputError(
                f"{name}: no road overlaps the scene footprint (roads span "
                f"{tuple(round(float(b), 6) for b in bounds)}, scene "
                f"{tuple(round(float(b), 6) for b in cfg.clip.bounds)} in {cfg.crs or src_crs})"
            )
        idx = [i for i, _ in keep]
        gdf = gpd.GeoDataFrame(
            gdf.loc[idx, [c for c in gdf.columns if c != "geometry"]].reset_index(drop=True),
            geometry=[g for _, g in keep],
            crs=gdf.crs,
        )
    log.info("%s: %d road lines (%s)", name, len(gdf), gdf.crs.to_string() if gdf.crs else None)
    return gdf.reset_index(drop=True)
