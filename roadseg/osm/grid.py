"""The pixel grid of a scene: CRS, affine transform and size, its footprint and GSD.

Pixel (row, col) maps to map coordinates through the affine at the pixel centre,
``(x, y) = transform @ (col + 0.5, row + 0.5)``.
"""

from __future__ import annotations

import logging
import math
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from affine import Affine
from shapely.geometry import Polygon, box

from roadseg.errors import InputError

if TYPE_CHECKING:
    from rasterio.crs import CRS

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SceneGrid:
    """A raster grid. ``crs`` is a rasterio CRS or None (pixel coordinates only)."""

    width: int
    height: int
    transform: Affine
    crs: CRS | None = None

    @property
    def shape(self) -> tuple[int, int]:
        return (self.height, self.width)

    @property
    def georeferenced(self) -> bool:
        return self.crs is not None

    @classmethod
    def from_raster(cls, path: str | Path) -> SceneGrid:
        """Read the grid of a raster file (GeoTIFF, PNG, ...)."""
        import rasterio
        from rasterio.errors import NotGeoreferencedWarning

        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", NotGeoreferencedWarning)
                with rasterio.open(path) as ds:
                    return cls(ds.width, ds.height, ds.transform, ds.crs)
        except rasterio.errors.RasterioIOError as exc:
            raise InputError(f"{path}: cannot open as a raster ({exc})") from exc

    def footprint(self) -> Polygon:
        """The outline of the grid in its CRS (the pixel edges, not centres)."""
        t = self.transform
        corners = [
            t @ (0, 0),
            t @ (self.width, 0),
            t @ (self.width, self.height),
            t @ (0, self.height),
        ]
        xs, ys = zip(*corners)
        return box(min(xs), min(ys), max(xs), max(ys))

    def gsd_m(self) -> float | None:
        """Ground sampling distance in metres (mean of the x and y pixel sizes).

        For a geographic CRS, the pixel size is converted at the scene centre
        with the WGS84 ellipsoid (geodesic distance across one pixel). None when
        the grid has no CRS.
        """
        if self.crs is None:
            return None
        t = self.transform
        px, py = math.hypot(t.a, t.d), math.hypot(t.b, t.e)
        if self.crs.is_geographic:
            from pyproj import Geod

            geod = Geod(ellps="WGS84")
            cx, cy = t @ (self.width / 2, self.height / 2)
            _, _, dx = geod.inv(cx, cy, cx + px, cy)
            _, _, dy = geod.inv(cx, cy, cx, cy + py)
            return float((abs(dx) + abs(dy)) / 2)
        factor = self.crs.linear_units_factor[1] if self.crs.linear_units_factor else 1.0
        return float((px + py) / 2 * factor)

    def describe(self) -> dict:
        return {
            "width": self.width,
            "height": self.height,
            "crs": self.crs.to_string() if self.crs is not None else None,
            "transform": list(self.transform)[:6],
            "gsd_m": self.gsd_m(),
        }
