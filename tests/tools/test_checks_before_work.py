"""Checks before work (issue 13 item 5, issue 14 item 6): one line, exit 2, nothing left.

Real inputs: the bundled Massachusetts sample (roadseg/sample), a SpaceNet Las
Vegas chip and its labels and an OSM extract of Kouvola (tests/data). Every
refusal must come before inference: the weights given are not even a model, so
a run that got as far as loading them would fail differently.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import numpy as np
import pytest

from roadseg.cli import main
from roadseg.sample.synthetic import write_road_scene

from .conftest import FAST, ROADS

REPO = Path(__file__).resolve().parents[2]
SAMPLE = REPO / "roadseg" / "sample"
VEGAS = REPO / "tests" / "data" / "spacenet"
KOUVOLA = REPO / "tests" / "data" / "osm" / "kouvola_test.osm.pbf"


@pytest.fixture
def no_model(tmp_path) -> Path:
    p = tmp_path / "not_a_model.safetensors"
    p.write_bytes(b"\0" * 64)
    return p


def _refused(argv, folder: Path, capsys, *needles: str) -> str:
    before = sorted(os.listdir(folder))
    rc = main([str(a) for a in argv])
    err = capsys.readouterr().err.strip()
    assert rc == 2, err
    assert len([line for line in err.splitlines() if line.startswith("ERROR")]) == 1, err
    assert "Traceback" not in err
    for n in needles:
        assert n in err, err
    assert sorted(os.listdir(folder)) == before  # nothing created: no cache, no partial output
    return err


def _extract(tmp_path, scene, weights, *extra):
    return ["extract", scene, "-o", tmp_path / "roads.geojson", "--weights", weights, *FAST, *extra]


def test_label_raster_on_another_grid(tmp_path, no_model, capsys):
    argv = _extract(
        tmp_path, VEGAS / "vegas_img0_crop.tif", no_model, "--evaluate", SAMPLE / "labels.tif"
    )
    _refused(argv, tmp_path, capsys, "labels.tif", "not on the scene's grid")


def test_label_raster_on_the_scene_grid_passes_the_check():
    from roadseg.prechecks import check_labels

    check_labels(SAMPLE / "labels.tif", [SAMPLE / "scene.tif"])


def test_vector_labels_elsewhere(tmp_path, no_model, capsys):
    argv = _extract(
        tmp_path, SAMPLE / "scene.tif", no_model, "--evaluate", VEGAS / "AOI_2_Vegas_img0.geojson"
    )
    _refused(argv, tmp_path, capsys, "AOI_2_Vegas_img0.geojson", "no road inside the scene's area")


def test_osm_file_without_road_in_the_scene(tmp_path, no_model, capsys):
    argv = _extract(tmp_path, SAMPLE / "scene.tif", no_model, "--evaluate", KOUVOLA)
    _refused(argv, tmp_path, capsys, "kouvola_test.osm.pbf", "no road inside")


def test_vector_labels_that_overlap_pass_the_check():
    from roadseg.prechecks import check_labels

    check_labels(VEGAS / "AOI_2_Vegas_img0.geojson", [VEGAS / "vegas_img0_crop.tif"])


def test_keep_intermediates_that_cannot_be_created(tmp_path, no_model, capsys):
    blocker = tmp_path / "a_file"
    blocker.write_text("x")
    argv = _extract(
        tmp_path, SAMPLE / "scene.tif", no_model, "--keep-intermediates", blocker / "work"
    )
    _refused(argv, tmp_path, capsys, "--keep-intermediates folder")


def test_summary_json_in_a_missing_folder(tmp_path, no_model, capsys):
    argv = _extract(
        tmp_path, SAMPLE / "scene.tif", no_model, "--summary-json", tmp_path / "no" / "s.json"
    )
    _refused(argv, tmp_path, capsys, "--summary-json")


def test_cache_folder_that_cannot_be_created(tmp_path, no_model, capsys):
    blocker = tmp_path / "a_file"
    blocker.write_text("x")
    argv = _extract(tmp_path, SAMPLE / "scene.tif", no_model, "--cache-dir", blocker / "cache")
    _refused(argv, tmp_path, capsys, "cache folder")


def test_vectorize_refuses_rgb_imagery(tmp_path, capsys):
    argv = ["vectorize", SAMPLE / "scene.tif", "-o", tmp_path / "r.geojson"]
    _refused(argv, tmp_path, capsys, "3 bands", "--band")


def test_vectorize_band_picks_one(tmp_path, probability, capsys):
    # a 2-band raster whose band 2 is the probability raster: --band 2 gives its network
    import rasterio

    with rasterio.open(probability) as src:
        prob, profile = src.read(1), src.profile
    profile.update(count=2)
    two = tmp_path / "two.tif"
    with rasterio.open(two, "w", **profile) as dst:
        dst.write(np.stack([np.zeros_like(prob), prob]))
    assert main(["vectorize", str(two), "--band", "2", "-o", str(tmp_path / "b2.geojson")]) == 0
    assert main(["vectorize", str(probability), "-o", str(tmp_path / "b1.geojson")]) == 0
    capsys.readouterr()
    b2 = json.loads((tmp_path / "b2.geojson").read_text())["features"]
    b1 = json.loads((tmp_path / "b1.geojson").read_text())["features"]
    assert b1 and [f["geometry"] for f in b2] == [f["geometry"] for f in b1]


def test_no_crs_is_refused_without_gsd(tmp_path, model, capsys):
    plain = write_road_scene(tmp_path / "plain.tif", ROADS, 128, 192, crs=None)
    _refused(_extract(tmp_path, plain, model), tmp_path, capsys, "no georeferencing", "--gsd")
    _refused(
        ["predict", plain, "-o", tmp_path / "p.tif", "--weights", model], tmp_path, capsys, "--gsd"
    )


def test_gsd_is_one_scale_for_every_stage(tmp_path, model, capsys):
    """A scene without CRS at --gsd 2 gives the network of the same scene georeferenced at 2 m
    (the model's GSD): same lengths, coordinates = pixel x 2 m; at --gsd 1 inference resamples."""
    geo = write_road_scene(tmp_path / "geo.tif", ROADS, 128, 192, gsd_m=2.0)
    plain = write_road_scene(tmp_path / "plain.tif", ROADS, 128, 192, crs=None)
    assert main([str(a) for a in _extract(tmp_path, geo, model)]) == 0
    geo_fc = json.loads((tmp_path / "roads.geojson").read_text())
    # GeoJSON is lon/lat: the local grid goes to a GeoPackage (issue 18 item 4)
    import geopandas as gpd

    out = tmp_path / "plain.gpkg"
    argv = ["extract", plain, "-o", out, "--weights", model, *FAST, "--gsd", "2"]
    assert main([str(a) for a in argv]) == 0
    assert "local grid of 2 m pixels (x = column x 2 m" in capsys.readouterr().err
    edges = gpd.read_file(out, layer="edges")
    length = float(edges.length_m.sum())
    geo_length = sum(f["properties"]["length_m"] for f in geo_fc["features"])
    assert length == pytest.approx(geo_length, rel=1e-6)
    xy = np.concatenate([np.asarray(g.coords) for g in edges.geometry])
    assert xy[:, 0].max() <= 192 * 2 and xy[:, 0].max() > 192  # metres, not pixels
    # --gsd 1: half the size on the ground; inference resamples to the model's 2 m
    shutil.rmtree(tmp_path / ".roadseg-cache", ignore_errors=True)
    out1 = tmp_path / "plain1.gpkg"
    argv = ["extract", plain, "-o", out1, "--weights", model, *FAST, "--gsd", "1"]
    assert main([str(a) for a in argv]) == 0
    length1 = float(gpd.read_file(out1, layer="edges").length_m.sum())
    assert length1 == pytest.approx(length / 2, rel=0.1)


def test_bad_gsd_values(tmp_path, model, capsys):
    plain = write_road_scene(tmp_path / "plain.tif", ROADS, 128, 192, crs=None)
    for bad in ("0", "-1", "nan"):
        _refused(_extract(tmp_path, plain, model, "--gsd", bad), tmp_path, capsys, "gsd")
