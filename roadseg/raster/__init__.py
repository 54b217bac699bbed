"""Raster I/O: open and validate scenes, resample to the model's GSD, tile grids, windowed writes."""

from roadseg.raster.georef import SceneGrid, gsd_m, pixel_size_m
from roadseg.raster.grid import TileGrid, TileWindow, crop_to, pad_to_tile, tile_starts
from roadseg.raster.quantise import quantise
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
    "open_scene",
    "pad_to_tile",
    "pixel_size_m",
    "quantise",
    "tile_starts",
    "warp_back",
    "warped_view",
]
