"""The pixel grid of a scene: :class:`roadseg.raster.georef.SceneGrid` (its home), re-exported."""

from roadseg.raster.georef import SceneGrid

__all__ = ["SceneGrid"]
