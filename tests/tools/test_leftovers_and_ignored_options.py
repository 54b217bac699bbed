"""Leftovers and options that did nothing (issue 22 item 6).

Before: lease files stayed after every scene of a run failed; a cache entry
replaced by a folder stopped the run; ``--gsd`` on a georeferenced scene and
``--label-width-m`` without ``--evaluate`` were silently ignored; an all-nodata
raster exited 0 for uint8 but 2 for other types.
"""

from __future__ import annotations

import logging
import shutil
from pathlib import Path

import numpy as np
import rasterio
from rasterio.transform import from_origin

from roadseg.cli import main
from roadseg.sample.synthetic import write_road_scene

from .conftest import FAST, ROADS


def test_gsd_on_a_georeferenced_scene_warns(tmp_path, scene, model, caplog):
    with caplog.at_level(logging.WARNING, logger="roadseg"):
        rc = main(["predict", str(scene), "-o", str(tmp_path / "p.tif"), "--weights", str(model),
                   "--gsd", "5", *FAST])  # fmt: skip
    assert rc == 0
    assert "has a CRS, which gives its pixel size; --gsd 5 is ignored" in caplog.text


def test_evaluation_options_without_evaluate_warn(tmp_path, scene, model, caplog):
    with caplog.at_level(logging.WARNING, logger="roadseg"):
        rc = main(["extract", str(scene), "-o", str(tmp_path / "r.geojson"), "--weights",
                   str(model), "--label-width-m", "9", "--no-progress", *FAST])  # fmt: skip
    assert rc == 0
    assert "--label-width-m only matter with --evaluate LABELS; ignored" in caplog.text


def test_all_nodata_is_one_rule_for_every_type(tmp_path, model, capsys):
    for dtype in ("uint8", "uint16", "float32"):
        path = tmp_path / f"void_{dtype}.tif"
        profile = dict(driver="GTiff", width=96, height=64, count=3, dtype=dtype, nodata=0)
        with rasterio.open(path, "w", crs="EPSG:32633", transform=from_origin(0, 0, 2, 2),
                           **profile) as ds:  # fmt: skip
            ds.write(np.zeros((3, 64, 96), dtype))
        out = tmp_path / f"r_{dtype}.gpkg"
        rc = main(["extract", str(path), "-o", str(out), "--weights", str(model),
                   "--no-progress", *FAST])  # fmt: skip
        err = capsys.readouterr().err
        assert rc == 0, (dtype, err)
        assert "no roads found" in err


def test_a_cache_entry_replaced_by_a_folder_is_recomputed(tmp_path, scene, model, capsys):
    out = tmp_path / "r.gpkg"
    argv = ["extract", str(scene), "-o", str(out), "--weights", str(model), "--keep-cache",
            "--no-progress", *FAST]  # fmt: skip
    assert main(argv) == 0
    (entry,) = (tmp_path / ".roadseg-cache").glob("*.probability-*.tif")
    entry.unlink()
    entry.mkdir()
    (entry / "x").write_text("in the way")
    assert main(argv) == 0, capsys.readouterr().err
    assert "cache entry is a folder; removing it and recomputing" in capsys.readouterr().err
    assert entry.is_file()


def test_no_lease_left_when_every_scene_fails(tmp_path, model, capsys):
    bad = [tmp_path / "a.tif", tmp_path / "b.tif"]
    for b in bad:
        b.write_text("not a raster")
    good = write_road_scene(tmp_path / "g.tif", ROADS, height=64, width=64)
    shutil.copy(good, tmp_path / "g2.tif")
    cache = tmp_path / "cache"
    argv = ["extract", *map(str, bad), "-o", str(tmp_path / "r.gpkg"), "--weights", str(model),
            "--workers", "1", "--cache-dir", str(cache), "--no-progress", *FAST]  # fmt: skip
    rc = main(argv)
    assert rc == 4, capsys.readouterr().err
    assert not cache.exists() or list(Path(cache).rglob("*")) == []
