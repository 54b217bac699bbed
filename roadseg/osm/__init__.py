"""OSM and label loading: road centrelines from OSM/vector files, highway filters, rasterisation.

* :func:`roadseg.osm.load.load_roads` — LineStrings from .osm.pbf/.osm (pyosmium),
  GeoJSON, GeoPackage, Shapefile, GeoParquet; class filter, reprojection, clipping.
* :mod:`roadseg.osm.highways` — the ``massachusetts`` and ``all`` presets.
* :func:`roadseg.osm.rasterize.rasterize_roads` — lines → mask on a scene grid.
* :class:`roadseg.raster.georef.SceneGrid` — CRS, affine, size, footprint, GSD.

The names below are imported from their modules on first use (:func:`roadseg.lazy_exports`).
"""

from typing import TYPE_CHECKING

from roadseg import lazy_exports

if TYPE_CHECKING:
    from roadseg.osm.highways import MASSACHUSETTS, PRESETS, resolve_highway_filter
    from roadseg.osm.load import RoadLoadConfig, is_osm_file, is_vector_file, load_roads
    from roadseg.osm.rasterize import MASSACHUSETTS_WIDTH_PX, rasterize_roads
    from roadseg.raster.georef import SceneGrid

__all__ = [
    "MASSACHUSETTS",
    "MASSACHUSETTS_WIDTH_PX",
    "PRESETS",
    "RoadLoadConfig",
    "SceneGrid",
    "is_osm_file",
    "is_vector_file",
    "load_roads",
    "rasterize_roads",
    "resolve_highway_filter",
]

__getattr__, __dir__ = lazy_exports(
    __name__,
    {
        "SceneGrid": "rasterize",  # rasterize imports it from roadseg.raster.georef
        "MASSACHUSETTS": "highways",
        "PRESETS": "highways",
        "resolve_highway_filter": "highways",
        "RoadLoadConfig": "load",
        "is_osm_file": "load",
        "is_vector_file": "load",
        "load_roads": "load",
        "MASSACHUSETTS_WIDTH_PX": "rasterize",
        "rasterize_roads": "rasterize",
    },
)
