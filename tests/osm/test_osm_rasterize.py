"""Scene grids and label rasterisation (width in pixels or metres)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import rasterio
from affine import Affine
from rasterio.crs import CRS
from shapely.geometry import LineString

from roadseg.osm import RoadLoadConfig, SceneGrid, load_roads, rasterize_roads
from roadseg.sample import sample_labels_path

DATA = Path(__file__).resolve().parents[1] / "data" / "spacenet"


def _grid(w=40, h=30, res=1.0, crs="EPSG:32633"):
    return SceneGrid(w, h, Affine(res, 0, 500000, 0, -res, 4000000), CRS.from_string(crs))


def test_seven_pixel_wide_line_like_massachusetts():
    g = _grid()
    # along the centres of row 15 (y = top - 15.5), from x = 5.5 to 34.5 px
    line = LineString([(500005.5, 4000000 - 15.5), (500034.5, 4000000 - 15.5)])
    m = rasterize_roads([line], g, width_px=7)
    rows = np.flatnonzero(m.any(axis=1))
    assert rows.tolist() == list(range(12, 19))  # 7 rows: 15 ± 3
    assert m[15, 5:35].all() and m[15].sum() == 30 + 2 * 3  # round caps add 3 px each end
    assert m[:, 20].sum() == 7


def test_width_in_metres_and_thin_lines():
    g = _grid(res=0.5)
    line = LineString([(500002.25, 4000000 - 7.75), (500017.75, 4000000 - 7.75)])
    a = rasterize_roads([line], g, width_m=3.5)
    b = rasterize_roads([line], g, width_px=7)
    np.testing.assert_array_equal(a, b)
    thin = rasterize_roads([line], g, width_px=1)
    assert thin[:, 20].sum() == 1 and thin.sum() == 32  # every pixel the line passes through
    assert not rasterize_roads([], g).any()


def test_gsd_projected_and_geographic():
    assert SceneGrid.from_raster(sample_labels_path()).gsd_m() == pytest.approx(1.0)
    vegas = SceneGrid.from_raster(DATA / "vegas_img0_crop.tif")
    assert vegas.crs.is_geographic
    assert vegas.gsd_m() == pytest.approx(0.27, abs=0.03)  # 2.7e-6° at 36.2° N
    assert SceneGrid(5, 5, Affine.identity()).gsd_m() is None


def test_rasterised_spacenet_labels_lie_on_the_crop():
    grid = SceneGrid.from_raster(DATA / "vegas_img0_crop.tif")
    roads = load_roads(
        DATA / "AOI_2_Vegas_img0.geojson", RoadLoadConfig(crs=grid.crs, clip=grid.footprint())
    )
    m = rasterize_roads(roads, grid, width_m=2.0)
    assert 0.03 < m.mean() < 0.3
    # roads are paved: darker and greyer than the mean of the chip (a sanity check of alignment)
    with rasterio.open(DATA / "vegas_img0_crop.tif") as ds:
        img = ds.read().astype(float)
    sat = img.max(axis=0) - img.min(axis=0)
    assert sat[m].mean() < sat[~m].mean()
