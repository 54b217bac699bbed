"""Rasterise road centrelines onto a scene grid with a width in pixels or metres.

Lines are moved into pixel space through the inverse affine (so a geographic
CRS with square pixels in degrees is handled like any other), buffered by half
the width with round caps, and burned where the *pixel centre* lies inside the
buffer. A 7 px width therefore marks the pixels whose centre is within 3.5 px of
the line: 7 px across a straight road, as in the Massachusetts Roads labels.
A width of at most 1 px draws the line itself (every pixel it passes through).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import cast

import numpy as np
from shapely import affinity
from shapely.geometry.base import BaseGeometry

from roadseg.raster.georef import SceneGrid

#: The Massachusetts Roads label width (Mnih 2013): centrelines drawn 7 px wide.
MASSACHUSETTS_WIDTH_PX = 7.0


def width_in_pixels(grid: SceneGrid, width_px: float | None, width_m: float | None) -> float:
    """Resolve a label width given in pixels or in metres (exactly one of the two)."""
    if (width_px is None) == (width_m is None):
        raise ValueError("give exactly one of width_px and width_m")
    if width_px is not None:
        return float(width_px)
    gsd = grid.gsd_m()
    if gsd is None:
        raise ValueError("a width in metres needs a georeferenced grid")
    assert width_m is not None  # exactly one of the two is set, and width_px is None
    return float(width_m) / gsd


def rasterize_roads(
    lines: list[BaseGeometry] | object,
    grid: SceneGrid,
    width_px: float | None = MASSACHUSETTS_WIDTH_PX,
    width_m: float | None = None,
) -> np.ndarray:
    """Burn lines (in the grid's CRS) into a bool H×W mask, ``width`` wide.

    ``lines`` may be a GeoSeries/GeoDataFrame or a list of geometries.
    """
    from rasterio import features

    geoms = list(cast("Iterable[BaseGeometry]", getattr(lines, "geometry", lines)))
    if width_m is not None:
        width_px = None
    w = width_in_pixels(grid, width_px, width_m)
    inv = ~grid.transform
    matrix = [inv.a, inv.b, inv.d, inv.e, inv.xoff, inv.yoff]
    shapes = []
    for g in geoms:
        if g is None or g.is_empty:
            continue
        gp = affinity.affine_transform(g, matrix)
        shapes.append(gp if w <= 1.0 else gp.buffer(w / 2.0, quad_segs=8))
    if not shapes:
        return np.zeros(grid.shape, bool)
    out = features.rasterize(
        ((s, 1) for s in shapes),
        out_shape=grid.shape,
        fill=0,
        dtype="uint8",
        all_touched=w <= 1.0,
    )
    return out.astype(bool)
