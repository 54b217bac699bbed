"""``--scene`` / ``--unconfirmed``: OSM roads in the imagery's valid area that nothing detected
supports; ``--quicklook``: the picture in three colours."""

from __future__ import annotations

import json

import numpy as np
import pytest
from matplotlib.image import imread

from roadseg.conflate.quicklook import MAPPED_COLOUR, MISSING_COLOUR, UNCONFIRMED_COLOUR
from roadseg.sample.synthetic import write_road_scene
from tests.conflate.conftest import X0, Y0, line, read_metric, write_lines, write_osm


@pytest.fixture
def case(tmp_path):
    """A 200 m x 200 m scene at 1 m whose east half (x > 50 m) has no imagery."""
    nodata = np.zeros((200, 200), bool)
    nodata[:, 100:] = True
    scene = write_road_scene(
        tmp_path / "scene.tif",
        [],
        height=200,
        width=200,
        gsd_m=1.0,
        origin=(X0 - 50, Y0 + 150),
        nodata=0,
        nodata_mask=nodata,
    )
    osm = write_osm(
        tmp_path / "osm.gpkg",
        [
            line((-40, 0), (40, 0)),  # 101: detected
            line((-40, 60), (40, 60)),  # 102: not detected, in the imagery
            line((100, 100), (140, 100)),  # 103: not detected, where there is no imagery
            line((0, -30), (120, -30)),  # 104: not detected, half in the imagery
        ],
    )
    det = write_lines(tmp_path / "det.gpkg", [line((-40, 2), (40, 2)), line((-45, 120), (45, 120))])
    return scene, osm, det


def test_unconfirmed_osm_roads_inside_the_valid_area(tmp_path, case, run_cli):
    scene, osm, det = case
    argv = (
        "conflate",
        det,
        "--osm",
        osm,
        "-o",
        tmp_path / "m.geojson",
        "--scene",
        scene,
        "--unconfirmed",
        tmp_path / "u.geojson",
    )
    status, out, _ = run_cli(*argv)
    assert status == 0
    got = read_metric(tmp_path / "u.geojson").sort_values("osm_id")
    assert got["osm_id"].tolist() == [102, 104]
    assert got["length_m"].tolist() == pytest.approx([80, 50], abs=2)
    assert got["highway"].tolist() == ["residential"] * 2
    assert "OSM roads in the imagery that nothing detected supports: 0.13 km" in out
    missing = read_metric(tmp_path / "m.geojson")
    assert missing.length.round().tolist() == [90.0]  # the detected road OSM lacks


def test_unconfirmed_needs_a_scene(tmp_path, case, run_cli):
    _, osm, det = case
    status, _, err = run_cli(
        "conflate",
        det,
        "--osm",
        osm,
        "-o",
        tmp_path / "m.geojson",
        "--unconfirmed",
        tmp_path / "u.geojson",
    )
    assert status == 2 and "--unconfirmed needs --scene" in err
    assert not (tmp_path / "m.geojson").exists()


def _has(rgb: np.ndarray, colour: tuple[int, int, int]) -> bool:
    return bool(np.all(np.abs(rgb.astype(int) - colour) <= 2, axis=-1).any())


def test_quicklook_over_the_scene_in_three_colours(tmp_path, case, run_cli):
    scene, osm, det = case
    argv = (
        "conflate",
        det,
        "--osm",
        osm,
        "-o",
        tmp_path / "m.geojson",
        "--scene",
        scene,
        "--unconfirmed",
        tmp_path / "u.geojson",
        "--quicklook",
        tmp_path / "q.png",
    )
    assert run_cli(*argv)[0] == 0
    rgb = (imread(tmp_path / "q.png")[..., :3] * 255).round().astype(np.uint8)
    assert _has(rgb, MISSING_COLOUR) and _has(rgb, MAPPED_COLOUR) and _has(rgb, UNCONFIRMED_COLOUR)


def test_quicklook_without_a_scene(tmp_path, case, run_cli):
    _, osm, det = case
    argv = (
        "conflate",
        det,
        "--osm",
        osm,
        "-o",
        tmp_path / "m.geojson",
        "--quicklook",
        tmp_path / "q.png",
    )
    assert run_cli(*argv)[0] == 0
    rgb = (imread(tmp_path / "q.png")[..., :3] * 255).round().astype(np.uint8)
    assert _has(rgb, MISSING_COLOUR) and _has(rgb, MAPPED_COLOUR)
    assert not _has(rgb, UNCONFIRMED_COLOUR)


def test_graphml_network(tmp_path, run_cli):
    """roadseg's GraphML output is a network conflate reads (with its mean_prob and model)."""
    import geopandas as gpd

    from roadseg.vector.formats.graphml import write as write_graphml
    from roadseg.vector.network import RoadNetwork

    edges = gpd.GeoDataFrame(
        {
            "u": [0],
            "v": [1],
            "length_m": [100.0],
            "mean_prob": [0.7],
            "width_m": [5.0],
            "bridged": [False],
        },
        geometry=[line((0, 60), (100, 60))],
        crs="EPSG:32633",
    )
    nodes = gpd.GeoDataFrame(
        {"node_id": [0, 1], "degree": [1, 1], "border": [False, False]},
        geometry=gpd.points_from_xy([X0, X0 + 100], [Y0 + 60, Y0 + 60]),
        crs="EPSG:32633",
    )
    net = tmp_path / "net.graphml"
    write_graphml(RoadNetwork(edges, nodes, edges.crs, 1.0, {"weights": "m.safetensors"}), net)
    osm = write_osm(tmp_path / "osm.gpkg", [line((0, 0), (200, 0))])
    assert run_cli("conflate", net, "--osm", osm, "-o", tmp_path / "m.geojson")[0] == 0
    props = json.loads((tmp_path / "m.geojson").read_text())["features"][0]["properties"]
    assert props["mean_prob"] == 0.7 and props["length_m"] == pytest.approx(100, abs=0.1)
    assert props["source"] == "roadseg (m.safetensors)"  # the model the file records
