"""``extract --conflate OSM``: NAME.missing.geojson beside the network, in the same staging."""

from __future__ import annotations

import geopandas as gpd
import pytest
from shapely.geometry import LineString

from roadseg.cli import build_parser, main
from roadseg.pipeline.config import load_extract_config
from roadseg.pipeline.extract import extract_scene
from roadseg.sample.synthetic import brightness_checkpoint, write_road_scene
from roadseg.tools.extract import config_from_args
from tests.pipeline.conftest import FAST, ROADS

CRS = "EPSG:32633"


def _map_line(road: tuple[tuple[int, int], tuple[int, int]]) -> LineString:
    """A (row, col) road of the test scene (2 m pixels, origin 500000, 5000000) in metres."""
    return LineString([(500000 + (c + 0.5) * 2, 5000000 - (r + 0.5) * 2) for r, c in road])


@pytest.fixture(scope="module")
def brightness_model(tmp_path_factory):
    """The pipeline tests' brightness model (probability a known function of brightness)."""
    return brightness_checkpoint(tmp_path_factory.mktemp("models") / "bright.safetensors")


@pytest.fixture
def road_scene(tmp_path):
    return write_road_scene(tmp_path / "scene.tif", ROADS, height=256, width=384)


@pytest.fixture
def osm_half(tmp_path):
    """OSM holding the first and third roads of the scene: the other two are missing."""
    path = tmp_path / "osm.gpkg"
    lines = [_map_line(ROADS[0]), _map_line(ROADS[2])]
    gpd.GeoDataFrame(
        {"osm_id": [1, 3], "highway": ["residential"] * 2}, geometry=lines, crs=CRS
    ).to_file(path)
    return path


def test_extract_writes_the_missing_roads_beside_the_network(
    tmp_path, road_scene, brightness_model, osm_half
):
    out = tmp_path / "roads.gpkg"
    cfg = load_extract_config(
        None, {"predict.weights": str(brightness_model), "output.conflate": str(osm_half), **FAST}
    )
    result = extract_scene(road_scene, out, cfg)
    missing = tmp_path / "roads.missing.geojson"
    assert missing in result.outputs
    got = gpd.read_file(missing).to_crs(CRS)
    absent = gpd.GeoSeries([_map_line(ROADS[1]), _map_line(ROADS[3])], crs=CRS)
    present = gpd.GeoSeries([_map_line(ROADS[0]), _map_line(ROADS[2])], crs=CRS)
    on_absent = got.geometry.intersection(absent.buffer(6).union_all()).length.sum()
    assert got.length.sum() > 300 and on_absent / got.length.sum() > 0.9
    # most of the absent roads away from the OSM ones comes back
    far = absent.difference(present.buffer(10).union_all())
    found = far.intersection(got.buffer(6).union_all()).length.sum()
    assert found / far.length.sum() > 0.8
    assert set(got["source"]) == {"roadseg (bright.safetensors)"}
    assert "conflate" in result.summary.stage_s
    assert not list(tmp_path.glob(".*partial"))


def test_extract_conflate_flag_and_checks_before_work(tmp_path, road_scene, capfd):
    argv = ["extract", str(road_scene), "-o", str(tmp_path / "r.geojson")]
    cfg = config_from_args(build_parser().parse_args([*argv, "--conflate", "osm.pbf"]))
    assert cfg.output.conflate == "osm.pbf"
    assert load_extract_config(None, {"conflate.buffer_m": 4}).conflate.buffer_m == 4
    rc = main([*argv, "--conflate", str(tmp_path / "none.osm.pbf"), "--no-progress"])
    err = capfd.readouterr().err
    assert rc == 2 and "none.osm.pbf: --conflate OSM file not found" in err
    assert not (tmp_path / "r.geojson").exists()
    # the missing roads' file may not overwrite an input
    osm = tmp_path / "r.missing.geojson"
    osm.write_text("{}")
    rc = main([*argv, "--conflate", str(osm), "--no-progress"])
    err = capfd.readouterr().err
    assert rc == 2 and "would overwrite the input --conflate OSM" in err


def test_many_scenes_conflate_the_merged_network_once(tmp_path, monkeypatch, osm_half):
    """The many-scene job conflates its merged network, once, into the same staging."""
    import roadseg.conflate.conflation as conflation
    import roadseg.pipeline.multi as multi
    from roadseg.pipeline.dask_runner import MultiSceneResult, SceneOutcome
    from roadseg.pipeline.summary import RunSummary
    from roadseg.vector.network import RoadNetwork

    lines = [_map_line(r) for r in ROADS]
    edges = gpd.GeoDataFrame(
        {"u": range(4), "v": range(1, 5), "length_m": [x.length for x in lines],
         "mean_prob": [0.9] * 4, "width_m": [6.0] * 4, "bridged": [False] * 4},
        geometry=lines, crs=CRS,
    )  # fmt: skip
    nodes = gpd.GeoDataFrame(
        {"node_id": range(5), "degree": [1] * 5, "border": [False] * 5},
        geometry=gpd.points_from_xy([500000.0] * 5, [5000000.0] * 5), crs=CRS,
    )  # fmt: skip
    merged = RoadNetwork(edges, nodes, edges.crs, 2.0, {"weights": "w.safetensors"})
    outcomes = [
        SceneOutcome(scene=f"s{i}.tif", summary=RunSummary(scene=f"s{i}.tif")) for i in (1, 2)
    ]
    monkeypatch.setattr(multi, "run_scenes", lambda *a, **k: MultiSceneResult(merged, outcomes))
    calls = []
    real = conflation.conflate
    monkeypatch.setattr(conflation, "conflate", lambda *a, **k: calls.append(a[0]) or real(*a, **k))
    cfg = load_extract_config(None, {"output.conflate": str(osm_half), "progress": False})
    out = tmp_path / "roads.geojson"
    _, written = multi.extract_scenes([tmp_path / "s1.tif", tmp_path / "s2.tif"], out, cfg)
    assert calls == [merged]
    assert tmp_path / "roads.missing.geojson" in written
    got = gpd.read_file(tmp_path / "roads.missing.geojson").to_crs(CRS)
    assert set(got["source"]) == {"roadseg (w.safetensors)"}
    assert got.length.sum() > 300


def test_extract_to_osm_writes_the_missing_roads_as_osm(
    tmp_path, road_scene, brightness_model, osm_half
):
    """``-o roads.osm --conflate``: the missing roads in ``roads.missing.osm``, same writer."""
    import xml.etree.ElementTree as ET

    from roadseg.osm.load import load_roads

    out = tmp_path / "roads.osm"
    cfg = load_extract_config(
        None, {"predict.weights": str(brightness_model), "output.conflate": str(osm_half), **FAST}
    )
    result = extract_scene(road_scene, out, cfg)
    missing = tmp_path / "roads.missing.osm"
    assert {out, missing} <= set(result.outputs)
    root = ET.parse(missing).getroot()
    assert root.get("upload") == "never"
    tags = [{t.get("k"): t.get("v") for t in w.iter("tag")} for w in root.iter("way")]
    assert tags and {t["source"] for t in tags} == {"roadseg (bright.safetensors)"}
    assert all(t["highway"] == "road" and "roadseg:confidence" in t for t in tags)
    got = load_roads(missing).to_crs(CRS)
    absent = gpd.GeoSeries([_map_line(ROADS[1]), _map_line(ROADS[3])], crs=CRS)
    on_absent = got.geometry.intersection(absent.buffer(6).union_all()).length.sum()
    assert got.length.sum() > 300 and on_absent / got.length.sum() > 0.9
