"""Opening scenes: band selection, masks, GSD, the value scaling rule, and clear errors."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pytest
import rasterio
from affine import Affine
from rasterio.windows import Window

from roadseg.errors import InputError
from roadseg.raster.scene import open_scene, pixel_size_m
from tests.raster.rasters import random_rgb, utm_transform, write_raster

SPACENET_CROP = Path(__file__).resolve().parents[1] / "data" / "spacenet" / "vegas_img0_crop.tif"


def test_rgb_utm_scene(tmp_path):
    p = write_raster(tmp_path / "s.tif", random_rgb(40, 50), transform=utm_transform(0.5))
    with open_scene(p) as s:
        assert (s.count, s.height, s.width, s.bands) == (3, 40, 50, (1, 2, 3))
        assert s.gsd_m == pytest.approx(0.5) and not s.masked
        img, valid = s.view().read(Window(0, 0, 50, 40))
        assert img.dtype == np.uint8 and valid is None


def test_band_selection_reorders(tmp_path):
    data = random_rgb(8, 9)
    p = write_raster(tmp_path / "s.tif", data)
    with open_scene(p, bands="3,1") as s:
        img, _ = s.view().read_rows(0, 8)
    np.testing.assert_array_equal(img, data[[2, 0]])


def test_alpha_band_becomes_the_mask(tmp_path):
    data = np.concatenate([random_rgb(16, 16), np.full((1, 16, 16), 255, np.uint8)])
    data[3, :4] = 0  # transparent top rows
    p = write_raster(tmp_path / "rgba.tif", data, alpha=True)
    with open_scene(p) as s:
        assert s.bands == (1, 2, 3) and s.masked
        img, valid = s.view().read_rows(0, 16)
    assert valid is not None and not valid[:4].any() and valid[4:].all()
    assert (img[:, :4] == 0).all()


def test_nodata_value_mask(tmp_path):
    data = random_rgb(10, 10) | 1
    data[:, 5:, :] = 0
    p = write_raster(tmp_path / "nd.tif", data, nodata=0)
    with open_scene(p) as s:
        _, valid = s.view().read_rows(0, 10)
    assert valid[:5].all() and not valid[5:].any()


def test_uint16_percentile_stretch(tmp_path):
    # 11-bit imagery: the 2-98 % percentiles go to 0 and 255 for every band
    rng = np.random.default_rng(0)
    data = rng.integers(100, 2048, (3, 64, 64)).astype(np.uint16)
    p = write_raster(tmp_path / "u16.tif", data)
    with open_scene(p) as s:
        assert s.scaling.kind == "stretch"
        img, _ = s.view().read_rows(0, 64)
    assert img.dtype == np.float32 and img.min() == 0 and img.max() == 255
    for b in range(3):
        lo, hi = np.percentile(data[b], [2, 98])
        expected = np.clip((data[b].astype(np.float32) - lo) * 255 / (hi - lo), 0, 255)
        np.testing.assert_allclose(img[b], expected, atol=1e-3)


def test_float_unit_range_is_scaled_and_nan_is_nodata(tmp_path):
    data = np.random.default_rng(0).random((3, 12, 12)).astype(np.float32)
    data[:, 0, 0] = np.nan
    p = write_raster(tmp_path / "f.tif", data)
    with open_scene(p) as s:
        assert s.scaling.kind == "unit" and s.masked
        img, valid = s.view().read_rows(0, 12)
    assert not valid[0, 0] and valid.sum() == 143
    np.testing.assert_allclose(img[:, valid], data[:, valid] * 255, rtol=1e-6)
    assert np.isfinite(img).all()


@pytest.mark.filterwarnings("ignore::rasterio.errors.NotGeoreferencedWarning")
def test_no_crs_warns_and_has_no_gsd(tmp_path, caplog):
    p = write_raster(
        tmp_path / "plain.tif", random_rgb(8, 8), crs=None, transform=Affine.identity()
    )
    with caplog.at_level(logging.WARNING), open_scene(p) as s:
        assert s.crs is None and s.gsd_m is None
    assert "no CRS" in caplog.text


def test_geographic_gsd_in_metres_at_the_centre():
    # the real SpaceNet crop: EPSG:4326, 2.7e-6 degree pixels at 36.24 N
    with open_scene(SPACENET_CROP) as s:
        gx, gy = s.gsd_xy_m
    assert gx == pytest.approx(0.2427, abs=2e-3)  # 2.7e-6 deg * 111.3 km * cos(36.24)
    assert gy == pytest.approx(0.2997, abs=2e-3)


def test_pixel_size_projected_units():
    assert pixel_size_m(rasterio.crs.CRS.from_epsg(2249), Affine(2, 0, 0, 0, -2, 0), 1, 1)[0] == (
        pytest.approx(2 * 0.3048006, rel=1e-5)
    )  # Massachusetts State Plane, US survey feet


def test_errors_name_the_file(tmp_path):
    text = tmp_path / "notes.tif"
    text.write_text("this is not a raster")
    with pytest.raises(InputError, match=r"notes\.tif: not a raster"):
        open_scene(text)
    with pytest.raises(InputError, match="file not found"):
        open_scene(tmp_path / "missing.tif")
    p = write_raster(tmp_path / "s.tif", random_rgb(8, 8))
    with pytest.raises(InputError, match=r"band\(s\) \[5\] do not exist"):
        open_scene(p, bands=[1, 2, 5])
    with pytest.raises(InputError, match="1-based band numbers"):
        open_scene(p, bands="red,green")
    five = write_raster(tmp_path / "five.tif", np.zeros((5, 8, 8), np.uint8))
    with pytest.raises(InputError, match="at most 4"):
        open_scene(five)


def test_zero_band_raster(tmp_path):
    # a netCDF file with two variables opens in GDAL as a dataset with 0 bands
    from scipy.io import netcdf_file

    path = tmp_path / "two.nc"
    f = netcdf_file(path, "w")
    f.createDimension("y", 8)
    f.createDimension("x", 8)
    for name in ("a", "b"):
        f.createVariable(name, "f4", ("y", "x"))[:] = np.zeros((8, 8))
    f.close()
    # (a GDAL build without the netCDF driver reports "not a raster" instead)
    with pytest.raises(InputError, match=r"two\.nc: (raster has no bands|not a raster)"):
        open_scene(path)
