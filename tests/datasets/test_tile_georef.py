from __future__ import annotations

import warnings

import numpy as np
import pytest
import rasterio
from rasterio.errors import NotGeoreferencedWarning

from roadseg.data.georef import DERIVED, pam_sidecar_xml, tile_origin, tile_transform
from roadseg.errors import InputError


def test_documented_example_corner():
    t = tile_transform("10378780_15")
    assert (round(t.c, 3), round(t.f, 3)) == (102986.436, 878771.025)
    assert (t.a, t.b, t.d, t.e) == (1.0, 0.0, 0.0, -1.0)


# Upper-left origins that gdalinfo reports for four original GeoTIFFs, as published in a
# third-party unit test (see ../shared/data/massachusetts_roads/SOURCES.md, "Georeferencing").
PUBLISHED_ORIGINS = {
    "10378780_15": (102986.436174005270004, 878771.024778023362160),
    "10828720_15": (107486.436173997819424, 872771.024778019636869),
    "11128870_15": (110486.436174012720585, 887771.024778027087450),
    "17878780_15": (177986.436173997819424, 878771.024778023362160),
}


@pytest.mark.parametrize("tile", sorted(PUBLISHED_ORIGINS))
def test_rule_and_pixel_centres(tile):
    x0, y0 = PUBLISHED_ORIGINS[tile]
    t = tile_transform(tile)
    assert tile_origin(tile) == pytest.approx((x0, y0), abs=1e-6)
    # pixel (row, col) centre through the affine at (col + 0.5, row + 0.5)
    x, y = t @ (10 + 0.5, 20 + 0.5)
    assert (x, y) == pytest.approx((x0 + 10.5, y0 - 20.5), abs=1e-3)
    # adjacent tile names (15 units = 1500 m) give adjacent 1500 px tiles
    e, n = tile[:4], tile[4:8]
    east = tile_transform(f"{int(e) + 15:04d}{n}_15")
    assert east.c - t.c == pytest.approx(1500.0)


@pytest.mark.parametrize("bad", ["10378780", "1037878_15", "10378780_16", "abcd8780_15", ""])
def test_bad_names_are_input_errors(bad):
    with pytest.raises(InputError, match="not a Massachusetts Roads tile name"):
        tile_transform(bad)


def test_off_grid_names_are_refused():
    # one of the two off-grid names in the official list: the rule would put it ~990 km east
    with pytest.raises(InputError, match="outside EPSG:26986"):
        tile_transform("99238660_15")


def test_pam_sidecar_is_read_by_rasterio(tmp_path):
    path = tmp_path / "10378780_15.tif"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", NotGeoreferencedWarning)
        with rasterio.open(
            path, "w", driver="GTiff", width=8, height=8, count=1, dtype="uint8"
        ) as ds:
            ds.write(np.zeros((1, 8, 8), np.uint8))
    (tmp_path / "10378780_15.tif.aux.xml").write_text(pam_sidecar_xml("10378780_15"))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", NotGeoreferencedWarning)
        with rasterio.open(path) as ds:
            assert ds.crs.to_epsg() == 26986
            assert ds.transform.almost_equals(tile_transform("10378780_15"), precision=1e-9)
            assert ds.tags()["georeferencing"] == DERIVED
