"""Which files are rasters, by name: the one list of raster suffixes and its named subsets.

Every stage that tells a raster from a vector file or picks rasters out of a folder asks
here, so that a format added to :data:`RASTER_SUFFIXES` is known everywhere.

>>> is_raster_file("scene.TIF"), is_raster_file("roads.geojson"), is_raster_file("mosaic.vrt")
(True, False, True)
"""

from __future__ import annotations

import os

#: Files read as rasters (through GDAL), lower case with the dot.
RASTER_SUFFIXES: tuple[str, ...] = (".tif", ".tiff", ".vrt", ".jp2", ".img", ".png", ".jpg", ".jpeg")
#: Of those, the georeferenced scene formats a folder of scenes is searched for (``extract
#: DIR/``): plain pictures (PNG, JPEG: quicklooks, overlays) are left out of a folder scan.
SCENE_SUFFIXES: tuple[str, ...] = tuple(s for s in RASTER_SUFFIXES if s not in (".png", ".jpg", ".jpeg"))
#: Of those, the image and label files of a training dataset (single files, no mosaics).
TILE_SUFFIXES: tuple[str, ...] = (".tif", ".tiff", ".png", ".jpg", ".jpeg")


def is_raster_file(path: str | os.PathLike[str]) -> bool:
    """Whether ``path`` names a raster (by its suffix)."""
    return os.path.splitext(os.fspath(path))[1].lower() in RASTER_SUFFIXES
