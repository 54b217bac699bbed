"""The inputs of a conflation: the detected lines, the OSM roads, the imagery's valid area.

* the **network**: a :class:`~roadseg.vector.network.RoadNetwork` in memory, or any line
  layer :func:`roadseg.osm.load.load_roads` reads (roadseg's own output in any of its
  formats, another tool's lines), with its ``mean_prob`` and ``width_m`` where present;
* the **OSM roads**: ``.osm.pbf``/``.osm`` or a vector file of road lines, through
  :func:`~roadseg.osm.load.load_roads` with a highway preset, only near the network;
* the **valid area** of a scene or probability raster: its pixels with data, as
  polygons (read at a reduced size; a pixel at most ``1/VALID_MAX_SIDE`` of the scene).

Everything is returned in one **local metric CRS**: the UTM zone of the data's
centroid (pyproj), whatever CRSs the inputs are in.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import numpy as np

from roadseg.errors import InputError

log = logging.getLogger(__name__)

#: Network attributes carried onto the missing parts where the network has them.
NETWORK_COLUMNS = ("mean_prob", "width_m")
#: The valid area is traced on the scene read at most this many pixels a side.
VALID_MAX_SIDE = 1024


def local_utm(gdf: Any) -> Any:
    """The UTM CRS (pyproj) of the centroid of ``gdf``'s bounds.

    >>> import geopandas as gpd
    >>> from shapely.geometry import Point
    >>> local_utm(gpd.GeoDataFrame(geometry=[Point(24.94, 60.17)], crs="EPSG:4326")).to_epsg()
    32635
    """
    import pyproj
    from pyproj.aoi import AreaOfInterest
    from pyproj.database import query_utm_crs_info

    bounds = gdf.to_crs("EPSG:4326").total_bounds
    lon, lat = float((bounds[0] + bounds[2]) / 2), float((bounds[1] + bounds[3]) / 2)
    infos = query_utm_crs_info(
        datum_name="WGS 84", area_of_interest=AreaOfInterest(lon, lat, lon, lat)
    )
    if not infos:
        raise InputError(f"no UTM zone for the data's centre ({lon:.5f}, {lat:.5f})")
    return pyproj.CRS.from_authority(infos[0].auth_name, infos[0].code)


def provenance_of(network: Any) -> dict[str, Any]:
    """The run metadata a network carries (its model under ``weights``): a RoadNetwork's own,
    or what roadseg stored in the file (GeoPackage, GeoParquet, FlatGeobuf, GraphML; ``{}``
    for a GeoJSON, whose header would mean reading the whole file, or another tool's file)."""
    import importlib

    if hasattr(network, "metadata"):
        return dict(network.metadata)
    from roadseg.vector.formats import format_for_path

    fmt = format_for_path(network)
    if fmt is None:
        return {}
    read = getattr(importlib.import_module(f"roadseg.vector.formats.{fmt.name}"), "metadata", None)
    try:
        return dict(read(Path(network))) if read is not None else {}
    except Exception:  # the provenance only names the model in the source tag
        return {}


def read_network(network: Any, what: str = "network") -> Any:
    """The detected lines as a GeoDataFrame with ``mean_prob``/``width_m`` where present.

    ``network``: a :class:`~roadseg.vector.network.RoadNetwork`, or a path to a line layer.
    """
    from roadseg.osm.load import RoadLoadConfig, load_roads, roads_from_frame

    if hasattr(network, "edges") and hasattr(network, "crs"):  # a RoadNetwork (not imported: lean)
        if network.crs is None:
            raise InputError(
                f"{what}: the network is in pixel coordinates (no CRS); OSM cannot be matched to it"
            )
        edges = network.edges.set_crs(network.crs, allow_override=True)
        cfg = RoadLoadConfig(highways="all", allow_empty=True, keep_columns=NETWORK_COLUMNS)
        return roads_from_frame(edges, cfg, what).drop(columns=["highway", "osm_id"])
    path = Path(network)
    if not path.exists():
        raise InputError(f"{path}: file not found")
    gdf = load_roads(
        path,
        RoadLoadConfig(
            highways="all", allow_empty=True, keep_columns=(*NETWORK_COLUMNS, "coordinates")
        ),
    )
    if "coordinates" in gdf.columns and (gdf["coordinates"] == "pixel").any():
        raise InputError(
            f"{path}: the network is in pixel coordinates (no CRS); OSM cannot be matched to it"
        )
    return gdf.drop(columns=[c for c in ("highway", "osm_id", "coordinates") if c in gdf.columns])


def read_osm(path: str | Path, highways: str | None, crs: Any, area: Any) -> Any:
    """OSM road lines (``highway``, ``osm_id``) in ``crs``, clipped to ``area`` (metric)."""
    from roadseg.osm.load import RoadLoadConfig, load_roads

    try:
        return load_roads(
            path, RoadLoadConfig(highways=highways, crs=crs, clip=area, allow_empty=True)
        )
    except ValueError as exc:  # an empty highway list
        if isinstance(exc, InputError):
            raise
        raise InputError(f"{path}: {exc}") from exc


def valid_area(scene: str | Path, crs: Any) -> Any:
    """The polygons (shapely, in ``crs``) where the raster ``scene`` has data.

    The dataset mask (nodata value, alpha or mask band; all pixels where none is
    declared) is read at most ``VALID_MAX_SIDE`` pixels a side and traced.
    """
    import geopandas as gpd
    import rasterio
    import shapely
    from rasterio.enums import Resampling
    from rasterio.features import shapes

    from roadseg.raster.io import open_raster

    path = Path(scene)
    if not path.exists():
        raise InputError(f"{path}: file not found")
    try:
        with open_raster(path) as ds:
            if ds.crs is None:
                raise InputError(f"{path}: the scene has no CRS; its valid area cannot be placed")
            f = max(1, int(np.ceil(max(ds.height, ds.width) / VALID_MAX_SIDE)))
            h, w = int(np.ceil(ds.height / f)), int(np.ceil(ds.width / f))
            mask = ds.dataset_mask(out_shape=(h, w), resampling=Resampling.nearest)
            transform = ds.transform @ ds.transform.scale(ds.width / w, ds.height / h)
            src_crs = ds.crs
    except rasterio.errors.RasterioIOError as exc:
        raise InputError(f"{path}: cannot read as a raster ({exc})") from exc
    polys = [
        shapely.geometry.shape(g) for g, v in shapes(mask, mask=mask > 0, transform=transform) if v
    ]
    if not polys:
        raise InputError(f"{path}: the scene has no valid pixels")
    area = gpd.GeoSeries([shapely.union_all(polys)], crs=src_crs).to_crs(crs).iloc[0]
    return shapely.make_valid(area)
