"""Where a raster's pixels are on the ground: the pixel grid and the GSD, in one place.

:func:`pixel_size_m` is the one computation of a pixel's size in metres (the
scene reader, the label rasteriser, the vectoriser and the training tiles all
use it); :class:`SceneGrid` is a raster's grid (CRS, affine transform, size).

Pixel (row, col) maps to map coordinates through the affine at the pixel centre,
``(x, y) = transform @ (col + 0.5, row + 0.5)``.

Example:
    >>> from affine import Affine
    >>> from rasterio.crs import CRS
    >>> grid = SceneGrid(100, 50, Affine(2, 0, 500000, 0, -2, 4000000), CRS.from_epsg(32618))
    >>> grid.gsd_m(), grid.shape
    (2.0, (50, 100))
    >>> gsd_m(None, Affine.identity(), 10, 10) is None
    True
"""

from __future__ import annotations

import logging
import math
import os
import warnings
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from affine import Affine
from shapely.geometry import Polygon, box

from roadseg.errors import InputError
from roadseg.raster.io import open_raster
from roadseg.uri import RemotePath, is_remote, open_error
from roadseg.validate import check_number

#: A scene whose GSD is within this fraction of the model's is predicted as it is (5 %:
#: a 1.04 m scene runs on a 1 m model unresampled, a 1.1 m one is resampled; used by
#: :mod:`roadseg.raster.resample`, defined here so that ``PredictConfig`` reads it without torch).
GSD_TOLERANCE = 0.05

if TYPE_CHECKING:
    from rasterio.crs import CRS


def pixel_size_m(crs: Any, transform: Any, width: int, height: int) -> tuple[float, float] | None:
    """``(east, north)`` size of one pixel in metres at the raster centre, ``None`` without CRS.

    A geographic CRS is converted with geodesics on the WGS84 ellipsoid at the
    raster centre; a projected one with its linear unit (e.g. US survey feet).
    """
    if crs is None:
        return None
    dx = math.hypot(transform.a, transform.d)
    dy = math.hypot(transform.b, transform.e)
    if crs.is_geographic:
        from pyproj import Geod

        geod = Geod(ellps="WGS84")
        lon, lat = transform @ (width / 2.0, height / 2.0)
        _, _, gx = geod.inv(lon, lat, lon + dx, lat)
        _, _, gy = geod.inv(lon, lat - dy / 2.0, lon, lat + dy / 2.0)
        return (float(gx), float(gy))
    try:
        unit = float(crs.linear_units_factor[1])
    except Exception:  # noqa: BLE001 - CRS without a usable linear unit
        unit = 1.0
    return (dx * unit, dy * unit)


def gsd_m(crs: Any, transform: Any, width: int, height: int) -> float | None:
    """The ground sampling distance in metres: the geometric mean of :func:`pixel_size_m`."""
    size = pixel_size_m(crs, transform, width, height)
    return None if size is None else math.sqrt(size[0] * size[1])


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
    def from_raster(cls, path: str | os.PathLike[str]) -> SceneGrid:
        """Read the grid of a raster file (GeoTIFF, PNG, ...)."""
        import rasterio
        from rasterio.errors import NotGeoreferencedWarning

        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", NotGeoreferencedWarning)
                with open_raster(path) as ds:
                    return cls(ds.width, ds.height, ds.transform, ds.crs)
        except rasterio.errors.RasterioIOError as exc:
            if is_remote(path):
                raise InputError(open_error(RemotePath(str(path)), exc)) from exc
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
        """Ground sampling distance in metres (:func:`gsd_m`); None when the grid has no CRS."""
        return gsd_m(self.crs, self.transform, self.width, self.height)

    def describe(self) -> dict[str, Any]:
        return {
            "width": self.width,
            "height": self.height,
            "crs": self.crs.to_string() if self.crs is not None else None,
            "transform": list(self.transform)[:6],
            "gsd_m": self.gsd_m(),
        }


#: Two grids are one when their transforms differ by less than this fraction of a pixel.
SAME_GRID_TOLERANCE_PX = 1e-6


def same_grid(a: SceneGrid, b: SceneGrid) -> bool:
    """Whether two rasters' pixels coincide: same size and, when both are georeferenced, same
    CRS and transforms within :data:`SAME_GRID_TOLERANCE_PX` of a pixel. Grids without a CRS
    of the same size count as one (pixel coordinates; the evaluation warns about them).

    >>> g = SceneGrid(4, 3, Affine(0.3, 0, 500000.0, 0, -0.3, 4e6), None)
    >>> same_grid(g, SceneGrid(4, 3, Affine.identity())), same_grid(g, SceneGrid(3, 4, g.transform))
    (True, False)
    >>> from rasterio.crs import CRS
    >>> a = SceneGrid(4, 3, g.transform, CRS.from_epsg(32618))
    >>> shifted = SceneGrid(4, 3, Affine(0.3, 0, 500000.0 + 0.3e-7, 0, -0.3, 4e6), a.crs)
    >>> same_grid(a, shifted), same_grid(a, SceneGrid(4, 3, Affine(0.3, 0, 500000.3, 0, -0.3, 4e6), a.crs))
    (True, False)
    """
    if a.shape != b.shape:
        return False
    if a.crs is None or b.crs is None:
        return True
    pixel = min(abs(a.transform.a), abs(a.transform.e)) or 1.0
    return bool(a.crs == b.crs) and a.transform.almost_equals(
        b.transform, precision=SAME_GRID_TOLERANCE_PX * pixel
    )


def grid_offset(g: SceneGrid, ref: SceneGrid) -> tuple[int, int] | None:
    """``g``'s origin as (row, col) of ``ref``'s grid when ``g`` lies on it, else None.

    On it: the same CRS (or neither has one), the same pixel size and orientation
    (relative 1e-9), and an origin within 1e-6 px of one of ``ref``'s pixel corners.

    >>> ref = SceneGrid(4, 4, Affine(1, 0, 100, 0, -1, 50), None)
    >>> grid_offset(SceneGrid(2, 2, Affine(1, 0, 102, 0, -1, 47), None), ref)
    (3, 2)
    >>> grid_offset(SceneGrid(2, 2, Affine(1, 0, 102.5, 0, -1, 47), None), ref) is None
    True
    """
    if (g.crs is None) != (ref.crs is None) or (g.crs is not None and g.crs != ref.crs):
        return None
    a, r = g.transform, ref.transform
    if not all(
        math.isclose(x, y, rel_tol=1e-9, abs_tol=0.0)
        for x, y in zip((a.a, a.b, a.d, a.e), (r.a, r.b, r.d, r.e))
    ):
        return None
    col, row = ~r @ (a.c, a.f)
    if abs(col - round(col)) > 1e-6 or abs(row - round(row)) > 1e-6:
        return None
    return round(row), round(col)


# ----------------------------------------------------------------------------- rasters without CRS


def has_geotransform(transform: Any) -> bool:
    """Whether a raster carries a geotransform of its own (GDAL reports none as the identity)."""
    return not Affine(*tuple(transform)[:6]).almost_equals(Affine.identity(), 1e-12)


def local_transform(transform: Any, gsd_m: float | None) -> Any:
    """The grid of a raster without CRS: its own geotransform whenever it has one (``gsd_m``
    then only says how many metres a pixel measures), else the local metric grid
    ``x = column * gsd_m, y = row * gsd_m``; the raster's transform when ``gsd_m`` is None.

    >>> local_transform(Affine(2, 0, 100, 0, -2, 50), 2.0) == Affine(2, 0, 100, 0, -2, 50)
    True
    >>> local_transform(Affine.identity(), 0.5) == Affine.scale(0.5, 0.5)
    True
    """
    if gsd_m is None or has_geotransform(transform):
        return transform
    return Affine.scale(gsd_m, gsd_m)


def local_grid_note(gsd_m: float | None, transform: Any = None) -> str:
    """The ``georeferencing`` note of a network made from a raster without CRS: a sentence
    that says what the coordinates are (``transform``: the raster's own, when it has one).

    >>> local_grid_note(2.0)
    'The scene has no CRS: coordinates are on a local grid of 2 m pixels (x = column x 2 m, y = row x 2 m from the top-left corner, y downwards); they are not longitude/latitude.'
    """
    if transform is not None and has_geotransform(transform):
        size = f"; a pixel measures {gsd_m:g} m" if gsd_m is not None else ""
        return (
            "The scene has no CRS: coordinates are in the units of its own geotransform "
            f"(origin {transform.c:g}, {transform.f:g}{size}); they are not longitude/latitude."
        )
    if gsd_m is None:
        return (
            "The scene has no CRS: coordinates are pixel (column, row) positions; "
            "they are not longitude/latitude."
        )
    return (
        f"The scene has no CRS: coordinates are on a local grid of {gsd_m:g} m pixels "
        f"(x = column x {gsd_m:g} m, y = row x {gsd_m:g} m from the top-left corner, "
        "y downwards); they are not longitude/latitude."
    )


def lonlat_without_crs(
    target: str | os.PathLike[str], source: str | os.PathLike[str], fmt: str
) -> str:
    """Why a network without CRS cannot be written in ``fmt``, a format whose coordinates are
    longitude/latitude by definition (GeoJSON, OSM XML): one line, naming both files.

    >>> lonlat_without_crs("roads.osm", "plain.tif", "OSM XML")[:72]
    'roads.osm: OSM XML coordinates are longitude/latitude, but plain.tif has'
    """
    return (
        f"{target}: {fmt} coordinates are longitude/latitude, but {source} has no "
        "CRS, so every GIS would read its local grid as degrees; write a GeoPackage (.gpkg) or "
        "GeoParquet (.parquet), which can hold a local grid, or give the raster a CRS first "
        "(gdal_edit.py -a_srs EPSG:...)"
    )


def check_gsd_value(gsd_m: float | None, what: str = "--gsd") -> None:
    """Refuse a GSD that is not a positive finite number of metres."""
    check_number(what, gsd_m, minimum=0.0, inclusive=False, optional=True)


@dataclass(frozen=True)
class RasterHeader:
    """What a raster's header says, read in one open: its CRS (``None`` without one,
    ``"unreadable"`` when the file cannot be opened: left to the stage) and its tags."""

    crs: Any | None
    tags: dict[str, str] = field(default_factory=dict)


def raster_header(path: str | os.PathLike[str]) -> RasterHeader:
    """The header of ``path`` (see :class:`RasterHeader`)."""
    from rasterio.errors import NotGeoreferencedWarning, RasterioIOError

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", NotGeoreferencedWarning)
            with open_raster(path) as ds:
                return RasterHeader(ds.crs if ds.crs else None, dict(ds.tags()))
    except (RasterioIOError, OSError):
        return RasterHeader("unreadable")


def warn_gsd_ignored(path: str | os.PathLike[str], gsd_m: float | None) -> None:
    """Say so when ``--gsd`` is given for a raster that has a CRS (the CRS decides)."""
    if gsd_m is None:
        return  # nothing to ignore (and no need to open the raster)
    crs = raster_crs(path)
    if crs is None or crs == "unreadable":
        return
    logging.getLogger(__name__).warning(
        "%s: has a CRS, which gives its pixel size; --gsd %g is ignored "
        "(it is for rasters without georeferencing)",
        path,
        gsd_m,
    )


def raster_crs(path: str | os.PathLike[str]) -> Any | None:
    """The CRS of a raster (``None`` without one); unreadable files are left to the stage."""
    return raster_header(path).crs


def check_georeferenced(
    path: str | os.PathLike[str], gsd_m: float | None, header: RasterHeader | None = None
) -> None:
    """Refuse a raster without CRS unless ``gsd_m`` says how large its pixels are.

    ``header``: the raster's header when the caller has read it already.
    """
    check_gsd_value(gsd_m)
    if gsd_m is not None:
        return
    crs = header.crs if header is not None else raster_crs(path)
    if crs is None:
        raise InputError(
            f"{path}: the raster has no georeferencing (no CRS); give its pixel size with "
            "--gsd METRES to measure it on a local grid"
        )
