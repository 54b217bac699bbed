"""Reading a remote raster does not change how local rasters open later in the same process:
GDAL's "no side-car probing" setting is scoped to the remote open, so a local raster
georeferenced by a world file keeps its georeferencing (a many-scene run can mix both)."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import rasterio
from rasterio.transform import from_origin

from roadseg.raster.io import open_raster
from roadseg.raster.scene import open_scene
from roadseg.uri import REMOTE_OPEN_OPTIONS
from tests.raster.range_server import RangeServer


def _world_file_raster(path: Path) -> None:
    """A GeoTIFF without a geotransform of its own, georeferenced by a ``.tfw`` beside it."""
    with rasterio.open(path, "w", driver="GTiff", width=8, height=8, count=3, dtype="uint8") as ds:
        ds.write(np.full((3, 8, 8), 100, np.uint8))
    path.with_suffix(".tfw").write_text("2.0\n0.0\n0.0\n-2.0\n500001.0\n4999999.0\n")


def _remote_raster(folder: Path) -> Path:
    path = folder / "remote.tif"
    with rasterio.open(
        path, "w", driver="GTiff", width=16, height=16, count=3, dtype="uint8",
        crs="EPSG:32633", transform=from_origin(500000, 5000000, 2, 2),
    ) as ds:
        ds.write(np.full((3, 16, 16), 50, np.uint8))
    return path


def test_a_remote_open_leaves_local_side_cars_readable(tmp_path: Path, monkeypatch) -> None:
    for key in REMOTE_OPEN_OPTIONS:
        monkeypatch.delenv(key, raising=False)
    local = tmp_path / "local" / "scene.tif"
    local.parent.mkdir()
    _world_file_raster(local)
    www = tmp_path / "www"
    www.mkdir()
    _remote_raster(www)
    expected = from_origin(500000, 5000000, 2, 2)
    with RangeServer(www) as server:
        with open_raster(server.url("remote.tif")) as ds:
            assert ds.count == 3
        scene = open_scene(server.url("remote.tif"))
        scene.close()
    assert not any(key in os.environ for key in REMOTE_OPEN_OPTIONS)
    with open_raster(local) as ds:  # the world file is still found
        assert ds.transform.almost_equals(expected)
