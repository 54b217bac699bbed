"""Size guards before any work (issue 22 item 3).

Before: ``predict no_crs.tif --gsd 1e9`` planned a 5·10⁸-fold upsampling and was
killed for memory (``MemoryError`` building the tile list); ``vectorize prob.tif
--gsd 1e-9`` ended in numpy's "array is too big" traceback. Now the plan is
estimated (pixels on the model's grid, tiles, memory) and refused with one line
before anything is allocated or written; the limits live in roadseg.sizeguard and
can be changed through the environment.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

import numpy as np
import pytest
import rasterio

from roadseg.cli import main
from roadseg.sample.synthetic import write_road_scene
from roadseg.sizeguard import SizeLimits, check_predict_plan, estimate_predict

from .conftest import FAST, ROADS


@pytest.fixture
def no_crs(tmp_path) -> Path:
    return write_road_scene(tmp_path / "nocrs.tif", ROADS, height=128, width=192, crs=None)


def _refused(argv, folder: Path, capsys, *needles: str) -> str:
    before = sorted(os.listdir(folder))
    rc = main([str(a) for a in argv])
    err = capsys.readouterr().err
    assert rc == 2, err
    assert "Traceback" not in err and "MemoryError" not in err
    for n in ("the plan is too large", *needles):
        assert n in err, err
    assert sorted(os.listdir(folder)) == before
    return err


def test_a_billion_fold_upsampling_is_refused(tmp_path, no_crs, model, capsys):
    argv = ["predict", no_crs, "-o", tmp_path / "p.tif", "--weights", model, "--gsd", "1e9"]
    _refused([*argv, *FAST], tmp_path, capsys, "pixels on the model's grid", "--gsd")


def test_a_nanometre_vectoriser_gsd_is_refused(tmp_path, no_crs, model, capsys):
    prob = tmp_path / "prob.tif"
    argv = ["predict", no_crs, "-o", prob, "--weights", model, "--gsd", "2", *FAST]
    assert main([str(a) for a in argv]) == 0
    capsys.readouterr()
    argv = ["vectorize", prob, "-o", tmp_path / "r.gpkg", "--gsd", "1e-9"]
    _refused(argv, tmp_path, capsys, "border padding", "is the GSD right")


def test_the_limits_are_configurable(tmp_path, no_crs, model, capsys, monkeypatch):
    monkeypatch.setenv("ROADSEG_MAX_PIXELS", "1000")
    argv = ["predict", no_crs, "-o", tmp_path / "p.tif", "--weights", model, "--gsd", "2"]
    _refused([*argv, *FAST], tmp_path, capsys, "ROADSEG_MAX_PIXELS=1e+03")
    monkeypatch.setenv("ROADSEG_MAX_PIXELS", "lots")
    rc = main([str(a) for a in argv])
    assert rc == 2 and "ROADSEG_MAX_PIXELS='lots': expected a number" in capsys.readouterr().err


def test_a_thin_strip_says_what_it_costs(tmp_path, model, caplog):
    """1 x 2000 px: allowed, and the plan's log line gives tiles and the share of data."""
    path = tmp_path / "strip.tif"
    profile = dict(driver="GTiff", width=2000, height=1, count=3, dtype="uint8")
    with rasterio.open(path, "w", crs="EPSG:32633", **profile,
                       transform=rasterio.transform.from_origin(0, 10, 2, 2)) as ds:  # fmt: skip
        ds.write(np.full((3, 1, 2000), 30, np.uint8))
    with caplog.at_level(logging.INFO, logger="roadseg"):
        rc = main(
            ["predict", str(path), "-o", str(tmp_path / "p.tif"), "--weights", str(model), *FAST]
        )
    assert rc == 0
    assert (
        "plan: 2e+03 pixels on the model's grid, 36 tiles (1 % of their area is data)"
        in caplog.text
    )


def test_estimate_matches_the_tile_grid():
    from roadseg.raster.grid import TileGrid

    for shape in [(1, 1), (1, 100_000), (435, 224), (1000, 3000)]:
        assert estimate_predict(shape, 224, 14, 3, 8).tiles == TileGrid(*shape, 224, 14).n_tiles


def test_memory_limit(tmp_path):
    with pytest.raises(Exception, match="MiB allowed"):
        check_predict_plan("s", (10, 10**7), 224, 14, 3, 8, SizeLimits(max_memory_mb=1000))
