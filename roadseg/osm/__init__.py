"""OSM and label loading: road centrelines from OSM/vector files, highway filters, rasterisation.

* :func:`roadseg.osm.load.load_roads` — LineStrings from .osm.pbf/.osm (pyosmium),
  GeoJSON, GeoPackage, Shapefile, GeoParquet; class filter, reprojection, clipping.
* :mod:`roadseg.osm.highways` — the ``massachusetts`` and ``all`` presets.
* :func:`roadseg.osm.rasterize.rasterize_roads` — lines → mask on a scene grid.
* :class:`roadseg.raster.georef.SceneGrid` — CRS, affine, size, footprint, GSD.
"""

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
