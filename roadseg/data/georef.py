"""Georeferencing of Massachusetts Roads tiles derived from their names.

The original ``sat/*.tiff`` files are *reported* (by two unrelated public
projects; not verified here, no original could be read) to be GeoTIFFs in
EPSG:26986 (NAD83 / Massachusetts Mainland) at exactly 1 m/px, north-up. The
upper-left corners reported for four tiles all fit one rule of the tile name
``EEEENNNN_15``::

    x0 = EEEE * 100 - 713.563826        (metres, easting of the upper-left corner)
    y0 = NNNN * 100 + 771.024778        (metres, northing of the upper-left corner)
    transform = Affine(1, 0, x0, 0, -1, y0)

so pixel (row, col) has its centre at ``(x0 + col + 0.5, y0 - row - 0.5)``.
PNG copies in circulation and the label ``.tif`` files carry no
georeferencing at all; attaching it from the name is an explicit option
(``georeference=True`` / ``--georeference``) and is always recorded as
``georeferencing=derived-from-tile-name`` so nobody mistakes it for georeferencing
read from the file.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from roadseg.errors import InputError

if TYPE_CHECKING:  # rasterio/affine are imported lazily: the CLI's --help must stay fast
    from affine import Affine

#: CRS of the original tiles (NAD83 / Massachusetts Mainland, metres).
MASSACHUSETTS_EPSG = 26986
#: Offsets of the rule, in metres.
EASTING_OFFSET_M = -713.563826
NORTHING_OFFSET_M = 771.024778
#: Grid step of the tile names, in metres per name unit.
NAME_UNIT_M = 100.0
#: Pixel size of the tiles, in metres.
PIXEL_M = 1.0
#: Tag value written wherever georeferencing came from the tile name.
DERIVED = "derived-from-tile-name"
RULE_TEXT = (
    "EPSG:26986, 1 m pixels, north-up, upper-left corner = "
    "(EEEE*100 - 713.563826, NNNN*100 + 771.024778) for tile EEEENNNN_15 "
    "(reported rule, not verified against an original GeoTIFF)"
)
# Projected bounds of EPSG:26986's area of use (pyproj, rounded outwards to 1 km):
# a name whose corner falls outside is not on the grid the rule describes.
_AREA_OF_USE_M = (32_000.0, 800_000.0, 338_000.0, 962_000.0)
_NAME = re.compile(r"^(\d{4})(\d{4})_15$")


def parse_tile_name(tile: str) -> tuple[int, int]:
    """Split ``EEEENNNN_15`` into ``(EEEE, NNNN)``; :class:`InputError` otherwise."""
    m = _NAME.match(tile)
    if not m:
        raise InputError(f"{tile}: not a Massachusetts Roads tile name (expected 8 digits + '_15')")
    return int(m.group(1)), int(m.group(2))


def tile_origin(tile: str) -> tuple[float, float]:
    """Upper-left corner ``(x, y)`` in EPSG:26986 metres of a tile, by the reported rule.

    Example:
        >>> x, y = tile_origin("10378780_15")
        >>> round(x, 3), round(y, 3)
        (102986.436, 878771.025)
    """
    e, n = parse_tile_name(tile)
    return e * NAME_UNIT_M + EASTING_OFFSET_M, n * NAME_UNIT_M + NORTHING_OFFSET_M


def tile_transform(tile: str) -> Affine:
    """Affine transform (EPSG:26986, 1 m, north-up) of a tile, derived from its name.

    Tile ``EEEENNNN_15`` has its upper-left corner at
    ``(EEEE*100 - 713.563826, NNNN*100 + 771.024778)``; this is a reported rule
    (fits four gdalinfo origins), not something read from the file.

    Example: 10378780_15 -> upper-left (102986.436, 878771.025).

        >>> t = tile_transform("10378780_15")
        >>> round(t.c, 3), round(t.f, 3), t.a, t.e
        (102986.436, 878771.025, 1.0, -1.0)

    Raises:
        InputError: the name is not ``EEEENNNN_15``, or its corner lies outside
            EPSG:26986's area of use (e.g. ``99238660_15``, one of two
            off-grid names in the official list), where the rule cannot hold.
    """
    from affine import Affine

    x0, y0 = tile_origin(tile)
    xmin, ymin, xmax, ymax = _AREA_OF_USE_M
    if not (xmin <= x0 <= xmax and ymin <= y0 <= ymax):
        raise InputError(
            f"{tile}: derived corner ({x0:.1f}, {y0:.1f}) is outside EPSG:26986's area of use; "
            "this tile name is off the grid, its georeferencing cannot be derived"
        )
    return Affine(PIXEL_M, 0.0, x0, 0.0, -PIXEL_M, y0)


def pam_xml(crs_wkt: str, transform: Affine, metadata: dict[str, str]) -> str:
    """GDAL PAM (``<file>.aux.xml``) text giving a raster a CRS, a geotransform and metadata.

    GDAL and rasterio read CRS and geotransform from this side-car when the
    file itself has none; the file's bytes stay untouched.
    """
    from xml.sax.saxutils import escape, quoteattr

    gt = ", ".join(repr(float(v)) for v in transform.to_gdal())  # repr: exact round trip
    items = "".join(f"    <MDI key={quoteattr(k)}>{escape(v)}</MDI>\n" for k, v in metadata.items())
    return (
        "<PAMDataset>\n"
        f"  <SRS>{escape(crs_wkt)}</SRS>\n"
        f"  <GeoTransform>{gt}</GeoTransform>\n"
        f"  <Metadata>\n{items}  </Metadata>\n"
        "</PAMDataset>\n"
    )


def pam_sidecar_xml(tile: str) -> str:
    """PAM side-car text attaching the georeferencing derived from ``tile``'s name.

    Used for downloaded files, which must stay byte-identical (their sha256 is
    checked); the metadata item ``georeferencing=derived-from-tile-name`` says
    where it came from.
    """
    from rasterio.crs import CRS

    wkt = CRS.from_epsg(MASSACHUSETTS_EPSG).to_wkt()
    return pam_xml(
        wkt, tile_transform(tile), {"georeferencing": DERIVED, "georeferencing_rule": RULE_TEXT}
    )
