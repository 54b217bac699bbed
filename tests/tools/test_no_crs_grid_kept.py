"""A raster without CRS keeps its own grid (issue 22 item 2, issue 18 item 4).

Before: ``predict no_crs.tif --gsd 2`` wrote the probabilities on
(2, 0, 0, 0, +2, 0): origin dropped, y flipped, no longer overlaying the scene,
and ``extract`` wrote the roads in that flipped frame. Now the raster's own
geotransform is kept whenever it has one; ``--gsd`` only says how many metres a
pixel measures. GeoJSON (lon/lat by definition) is refused for such a network.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import rasterio
from affine import Affine

from roadseg.cli import main
from roadseg.sample.synthetic import write_road_scene

from .conftest import FAST, ROADS

#: a north-up geotransform in some unknown local unit, origin far from (0, 0)
OWN = Affine(2.0, 0.0, 1000.0, 0.0, -2.0, 9000.0)


def _strip_crs(src: Path, dst: Path, transform: Affine = OWN) -> Path:
    with rasterio.open(src) as ds:
        data, profile = ds.read(), ds.profile
    profile.pop("crs", None)
    profile["transform"] = transform
    with rasterio.open(dst, "w", **profile) as out:
        out.write(data)
    return dst


@pytest.fixture
def no_crs(tmp_path) -> Path:
    scene = write_road_scene(tmp_path / "with_crs.tif", ROADS, height=128, width=192)
    return _strip_crs(scene, tmp_path / "no_crs.tif")


@pytest.mark.parametrize("gsd", ["2", "1", "3"])  # scene grid, device resampling, warper
def test_predict_keeps_the_scene_grid(tmp_path, no_crs, model, capsys, gsd):
    out = tmp_path / "prob.tif"
    rc = main(
        ["predict", str(no_crs), "-o", str(out), "--weights", str(model), "--gsd", gsd, *FAST]
    )
    assert rc == 0, capsys.readouterr().err
    with rasterio.open(no_crs) as a, rasterio.open(out) as b:
        assert b.crs is None
        assert b.transform.almost_equals(a.transform, 1e-9), (b.transform, a.transform)
        assert (b.width, b.height) == (a.width, a.height)


def test_extract_roads_lie_on_the_scene(tmp_path, no_crs, model, capsys):
    out = tmp_path / "roads.gpkg"
    argv = ["extract", str(no_crs), "-o", str(out), "--weights", str(model), "--gsd", "2"]
    rc = main([*argv, *FAST, "--no-progress"])
    err = capsys.readouterr().err
    assert rc == 0, err
    import geopandas as gpd

    edges = gpd.read_file(out, layer="edges")
    assert len(edges) > 0
    x0, y0, x1, y1 = edges.total_bounds
    # the scene spans x 1000..1384, y 8744..9000 in its own frame
    assert 1000 <= x0 and x1 <= 1384 and 8744 <= y0 and y1 <= 9000, edges.total_bounds
    assert "note: none" not in err
    assert "The scene has no CRS: coordinates are in the units of its own geotransform" in err


def test_vectorize_keeps_the_probability_grid(tmp_path, no_crs, model, capsys):
    prob = tmp_path / "prob.tif"
    assert (
        main(
            ["predict", str(no_crs), "-o", str(prob), "--weights", str(model), "--gsd", "2", *FAST]
        )
        == 0
    )
    out = tmp_path / "roads.gpkg"
    assert main(["vectorize", str(prob), "-o", str(out), "--gsd", "2"]) == 0, (
        capsys.readouterr().err
    )
    import geopandas as gpd

    edges = gpd.read_file(out, layer="edges")
    x0, y0, x1, y1 = edges.total_bounds
    assert 1000 <= x0 and x1 <= 1384 and 8744 <= y0 and y1 <= 9000
    # lengths in metres from --gsd, coordinates in the raster's units: here both 2 per pixel
    assert np.allclose(edges.length_m, edges.geometry.length, rtol=1e-6)


@pytest.mark.parametrize("command", ["extract", "vectorize"])
def test_geojson_of_a_no_crs_raster_is_refused(tmp_path, no_crs, model, capsys, command):
    """GeoJSON is longitude/latitude (RFC 7946): a local grid would be read as degrees."""
    out = tmp_path / "o" / "roads.geojson"
    out.parent.mkdir()
    if command == "extract":
        argv = ["extract", str(no_crs), "--weights", str(model), *FAST, "--no-progress"]
    else:
        prob = tmp_path / "prob.tif"
        main(
            ["predict", str(no_crs), "-o", str(prob), "--weights", str(model), "--gsd", "2", *FAST]
        )
        capsys.readouterr()
        argv = ["vectorize", str(prob)]
    rc = main([*argv, "-o", str(out), "--gsd", "2"])
    err = capsys.readouterr().err
    assert rc == 2, err
    assert "GeoPackage" in err and "GeoParquet" in err and "Traceback" not in err
    assert f"{out}: GeoJSON coordinates are longitude/latitude" in err  # the name asked for
    assert "plan:" not in err and "vectorised" not in err  # refused before any work
    assert list(out.parent.iterdir()) == []
