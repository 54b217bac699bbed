"""Raster I/O: open and validate scenes, resample to the model's GSD, tile grids, windowed writes.

The names below are imported from their modules on first use (:func:`roadseg.lazy_exports`).
"""

from typing import TYPE_CHECKING

from roadseg import lazy_exports

# imported now: the function has the name of its module, which importing the module
# would otherwise bind on the package in its place (numpy only, so cheap)
from roadseg.raster.quantise import quantise

if TYPE_CHECKING:
    from roadseg.raster.georef import SceneGrid, gsd_m, pixel_size_m
    from roadseg.raster.grid import TileGrid, TileWindow, crop_to, pad_to_tile, tile_starts
    from roadseg.raster.io import open_raster
    from roadseg.raster.resample import needs_resampling, warp_back, warped_view
    from roadseg.raster.scene import BandScaling, RasterView, Scene, open_scene
    from roadseg.raster.write import StripWriter

__all__ = [
    "BandScaling",
    "RasterView",
    "Scene",
    "SceneGrid",
    "StripWriter",
    "TileGrid",
    "TileWindow",
    "crop_to",
    "gsd_m",
    "needs_resampling",
    "open_raster",
    "open_scene",
    "pad_to_tile",
    "pixel_size_m",
    "quantise",
    "tile_starts",
    "warp_back",
    "warped_view",
]

__getattr__, __dir__ = lazy_exports(
    __name__,
    {
        "SceneGrid": "georef",
        "gsd_m": "georef",
        "pixel_size_m": "georef",
        "TileGrid": "grid",
        "TileWindow": "grid",
        "crop_to": "grid",
        "pad_to_tile": "grid",
        "tile_starts": "grid",
        "open_raster": "io",
        "needs_resampling": "resample",
        "warp_back": "resample",
        "warped_view": "resample",
        "BandScaling": "scene",
        "RasterView": "scene",
        "Scene": "scene",
        "open_scene": "scene",
        "StripWriter": "write",
    },
)
