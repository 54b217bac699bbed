"""Pixel-centre georeferencing, CRS handling and lon/lat GeoJSON."""

from __future__ import annotations

import json
import logging

import numpy as np
import pyproj
import pytest
from rasterio.transform import Affine, from_origin

from roadseg.errors import InputError
from roadseg.vector import VectorizeConfig, export_network, pixel_to_map, vectorize_raster
from tests.postprocess.rasters import paris_grid, write_tif


def test_pixel_to_map_uses_pixel_centres():
    t = Affine(0.5, 0.0, 1000.0, 0.0, -0.25, 2000.0)
    x, y = pixel_to_map(t, np.array([0, 3]), np.array([0, 7]))
    np.testing.assert_allclose(x, [1000.25, 1000 + 7.5 * 0.5])
    np.testing.assert_allclose(y, [2000 - 0.125, 2000 - 3.5 * 0.25])


def test_utm31_geojson_lon_lat_match_hand_computed_pixel_centres(tmp_path):
    # column 100's centre sits on UTM 31N's central meridian (x = 500000 m -> lon = 3° exactly)
    x0, y0 = 500_000.0 - 100.5, 5_420_000.0
    m = np.zeros((150, 201), bool)
    m[:, 97:104] = True  # a 7 m road along column 100, crossing the raster top to bottom
    path = write_tif(
        tmp_path / "m.tif", m, crs="EPSG:32631", transform=from_origin(x0, y0, 1.0, 1.0)
    )
    net = vectorize_raster(path)
    export_network(net, tmp_path / "roads.geojson")
    fc = json.loads((tmp_path / "roads.geojson").read_text())
    nodes = json.loads((tmp_path / "roads.nodes.geojson").read_text())
    assert fc["type"] == "FeatureCollection" and len(fc["features"]) == 1
    line = np.array(fc["features"][0]["geometry"]["coordinates"])
    np.testing.assert_allclose(line[:, 0], 3.0, atol=1e-7)  # on the central meridian
    tr = pyproj.Transformer.from_crs("EPSG:32631", "EPSG:4326", always_xy=True)
    # end nodes: the pixel centres of (row 0, col 100) and (row 149, col 100)
    expect = sorted(tr.transform(x0 + 100.5, y0 - (r + 0.5)) for r in (0, 149))
    got = sorted(tuple(f["geometry"]["coordinates"]) for f in nodes["features"])
    np.testing.assert_allclose(np.array(got), np.array(expect), atol=1e-7)
    assert 48.9 < got[0][1] < 49.0  # lat, i.e. lon/lat order
    assert fc["features"][0]["properties"]["length_m"] == pytest.approx(149.0, abs=1e-6)


def test_spacenet_chip_geotransform_epsg4326(tmp_path):
    grid = paris_grid()  # real SpaceNet chip grid: EPSG:4326, 2.7e-6° pixels
    t = Affine(*grid["transform"])
    m = np.zeros((grid["height"], grid["width"]), bool)
    m[296:305, :] = True  # a road across the chip along row 300
    path = write_tif(tmp_path / "chip.tif", m, crs=grid["crs"], transform=t)
    net = vectorize_raster(path)
    assert net.crs.to_epsg() == 4326
    assert len(net.edges) == 1
    xs = sorted(p.x for p in net.nodes.geometry)
    ys = [p.y for p in net.nodes.geometry]
    np.testing.assert_allclose(xs, [t.c + 0.5 * t.a, t.c + (grid["width"] - 0.5) * t.a], atol=1e-12)
    np.testing.assert_allclose(ys, t.f + 300.5 * t.e, atol=1e-12)
    # metres: geodesic length of the edge vs length_m (non-square ground pixels: ~0.2 m x 0.3 m)
    geod = pyproj.Geod(ellps="WGS84")
    g = net.edges.geometry.iloc[0]
    true_len = geod.geometry_length(g)
    assert net.edges.length_m.iloc[0] == pytest.approx(true_len, rel=0.01)
    assert net.gsd == pytest.approx(np.sqrt(0.30 * 0.197), rel=0.02)


def test_defaults_scale_with_gsd(tmp_path):
    # the same 8 m dash: dropped (< 30 m) at 1 m/px as 8 px, and at 0.3 m/px as 27 px
    for gsd in (1.0, 0.3):
        n = int(round(8 / gsd))
        m = np.zeros((60, n + 40), bool)
        m[28:32, 20 : 20 + n] = True
        net = vectorize_raster(
            write_tif(tmp_path / f"d{gsd}.tif", m, transform=from_origin(0, 100, gsd, gsd))
        )
        assert len(net.edges) == 0
        m[28:32, :] = True  # across the raster: kept
        net = vectorize_raster(
            write_tif(tmp_path / f"e{gsd}.tif", m, transform=from_origin(0, 100, gsd, gsd)),
            VectorizeConfig(min_component_m=(n + 39) * gsd - 1),
        )
        assert len(net.edges) == 1


def test_raster_without_crs_is_in_pixel_coordinates_and_says_so(tmp_path, caplog):
    m = np.zeros((40, 100), bool)
    m[18:23, :] = True
    path = write_tif(tmp_path / "nocrs.tif", m, crs=None, transform=Affine.identity())
    with caplog.at_level(logging.WARNING):
        net = vectorize_raster(path)
    assert "no CRS" in caplog.text
    assert net.crs is None and net.metadata["coordinates"] == "pixel"
    # GeoJSON is lon/lat by definition: pixel coordinates there would be read as degrees
    with pytest.raises(InputError, match="GeoPackage"):
        export_network(net, tmp_path / "o.geojson")
    assert not (tmp_path / "o.geojson").exists()
    export_network(net, tmp_path / "o.gpkg")
    import geopandas as gpd

    xs = [c[0] for c in gpd.read_file(tmp_path / "o.gpkg", layer="edges").geometry[0].coords]
    assert min(xs) == 0.5 and max(xs) == 99.5
