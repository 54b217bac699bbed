"""Deliverable 6 of issue 19: roads deleted from real OSM data come back as missing.

The "detected" network is Helsinki's car roads (tests/data/osm/helsinki_car_roads.geojson,
965 ways, 32.7 km); the "OSM" side is the same with a seeded random quarter of the
ways deleted. ``roadseg conflate detected.geojson --osm osm.geojson -o missing.geojson``
runs through the command line in-process, and the deleted roads must come back:
recall >= 0.9 and precision >= 0.9 (:mod:`roadseg.conflate.quality`), also with the
detected network shifted by 2 m and with its vertices jittered by 1 m.
"""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import pytest
import shapely

from roadseg.conflate.quality import deletion_scores

HELSINKI = Path(__file__).resolve().parents[1] / "data" / "osm" / "helsinki_car_roads.geojson"
UTM = "EPSG:32635"


@pytest.fixture(scope="module")
def split(tmp_path_factory):
    """The roads (metric), which ways were deleted, and the OSM side as GeoJSON."""
    roads = gpd.read_file(HELSINKI)
    rng = np.random.default_rng(19)
    deleted = np.zeros(len(roads), bool)
    deleted[rng.choice(len(roads), len(roads) // 4, replace=False)] = True
    folder = tmp_path_factory.mktemp("helsinki")
    osm = folder / "osm.geojson"
    roads[~deleted].to_file(osm, driver="GeoJSON")
    return roads.to_crs(UTM), deleted, osm


def _detected(roads: gpd.GeoDataFrame, how: str, path: Path) -> Path:
    det = roads[["geometry"]].copy()
    if how in ("shifted", "jittered"):
        det["geometry"] = det.geometry.translate(2.0, 0.0)
    if how == "jittered":
        geoms = det.geometry.to_numpy()
        xy = shapely.get_coordinates(geoms)
        xy = xy + np.random.default_rng(7).normal(0.0, 1.0, xy.shape)
        det["geometry"] = shapely.set_coordinates(geoms.copy(), xy)
    det.to_crs("EPSG:4326").to_file(path, driver="GeoJSON")
    return path


@pytest.mark.parametrize("how", ["exact", "shifted", "jittered"])
def test_deleted_roads_come_back(split, how, tmp_path, run_cli):
    roads, deleted, osm = split
    detected = _detected(roads, how, tmp_path / "detected.geojson")
    missing = tmp_path / "missing.geojson"
    status, out, err = run_cli("conflate", detected, "--osm", osm, "-o", missing)
    assert status == 0, err
    returned = gpd.read_file(missing).to_crs(UTM)
    scores = deletion_scores(
        list(returned.geometry), list(roads.geometry[deleted]), list(roads.geometry[~deleted])
    )
    assert scores["deleted_far_m"] > 2000  # the test has something to find
    assert scores["recall"] >= 0.9, scores
    assert scores["precision"] >= 0.9, scores
