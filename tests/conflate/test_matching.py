"""What counts as mapped and what comes back as missing, on lines built for the purpose."""

from __future__ import annotations

import json

import numpy as np
import pytest
from shapely.geometry import Point

from tests.conflate.conftest import X0, Y0, line, read_metric, write_lines, write_osm


@pytest.fixture
def osm(tmp_path):
    # one east-west OSM road, 200 m long
    return write_osm(tmp_path / "osm.gpkg", [line((0, 0), (200, 0))])


def test_a_parallel_road_within_the_buffer_is_mapped(tmp_path, osm, run_cli):
    det = write_lines(tmp_path / "det.gpkg", [line((0, 4), (200, 4))])
    status, out, _ = run_cli("conflate", det, "--osm", osm, "-o", tmp_path / "m.geojson")
    assert status == 0
    assert len(read_metric(tmp_path / "m.geojson")) == 0
    assert "mapped in OSM 0.20 km" in out and "missing from OSM 0.00 km" in out


def test_a_parallel_road_beyond_the_buffer_is_missing(tmp_path, osm, run_cli):
    det = write_lines(tmp_path / "det.gpkg", [line((0, 15), (200, 15))])
    assert run_cli("conflate", det, "--osm", osm, "-o", tmp_path / "m.geojson")[0] == 0
    got = read_metric(tmp_path / "m.geojson")
    assert len(got) == 1 and got.length.sum() == pytest.approx(200, abs=0.5)


def test_a_crossing_road_is_not_mapped_by_the_road_it_crosses(tmp_path, osm, run_cli):
    det = write_lines(tmp_path / "det.gpkg", [line((100, -80), (100, 80))])
    assert run_cli("conflate", det, "--osm", osm, "-o", tmp_path / "m.geojson")[0] == 0
    got = read_metric(tmp_path / "m.geojson")
    assert got.length.sum() == pytest.approx(160, abs=0.5)  # whole, not cut at the crossing


def test_a_partly_mapped_road_gives_only_its_unmapped_part_snapped_on(tmp_path, osm, run_cli):
    # along the OSM road for 150 m (2 m off), then 100 m on past its end
    det = write_lines(tmp_path / "det.gpkg", [line((50, 2), (200, 2), (300, 2))])
    assert run_cli("conflate", det, "--osm", osm, "-o", tmp_path / "m.geojson")[0] == 0
    got = read_metric(tmp_path / "m.geojson")
    assert len(got) == 1
    part = got.geometry.iloc[0]
    # it starts where coverage ends (within the buffer of the OSM end) and that end is snapped
    start = Point(part.coords[0])
    assert start.distance(Point(X0 + 200, Y0)) < 0.01  # GeoJSON keeps 1e-7 degrees
    assert part.length == pytest.approx(100, abs=8)
    assert got["connects"].iloc[0] == 1 and got["nearest_osm_id"].iloc[0] == 101


def test_a_missing_road_ending_near_an_osm_road_ends_on_it(tmp_path, osm, run_cli):
    # a side road stopping 4 m short of the OSM road
    det = write_lines(tmp_path / "det.gpkg", [line((60, 100), (60, 4))])
    assert run_cli("conflate", det, "--osm", osm, "-o", tmp_path / "m.geojson")[0] == 0
    got = read_metric(tmp_path / "m.geojson")
    end = Point(got.geometry.iloc[0].coords[-1])
    assert end.distance(Point(X0 + 60, Y0)) < 0.01  # exactly on it (GeoJSON keeps 1 cm)
    assert got["nearest_osm_m"].iloc[0] == pytest.approx(4.0, abs=0.01)
    assert got["nearest_osm_id"].iloc[0] == 101


def test_short_parts_are_dropped_by_min_length(tmp_path, osm, run_cli):
    det = write_lines(tmp_path / "det.gpkg", [line((60, 40), (60, 25)), line((0, 60), (100, 60))])
    assert run_cli("conflate", det, "--osm", osm, "-o", tmp_path / "a.geojson")[0] == 0
    assert len(read_metric(tmp_path / "a.geojson")) == 2  # 15 m and 100 m
    argv = ("conflate", det, "--osm", osm, "-o", tmp_path / "b.geojson", "--min-length-m", 20)
    assert run_cli(*argv)[0] == 0
    assert read_metric(tmp_path / "b.geojson").length.round().tolist() == [100.0]


def test_attributes_and_tags_of_a_missing_road(tmp_path, osm, run_cli):
    det = write_lines(
        tmp_path / "det.gpkg",
        [line((0, 60), (100, 60)), line((0, 90), (30, 90))],
        mean_prob=[0.8, 0.6],
        width_m=[6.0, 6.0],
    )
    argv = ("conflate", det, "--osm", osm, "-o", tmp_path / "m.geojson", "--source", "roadseg test")
    assert run_cli(*argv)[0] == 0
    fc = json.loads((tmp_path / "m.geojson").read_text())
    props = sorted((f["properties"] for f in fc["features"]), key=lambda p: -p["length_m"])
    assert props[0]["length_m"] == pytest.approx(100, abs=0.1)
    assert props[0]["mean_prob"] == 0.8 and props[0]["width_m"] == 6.0
    assert props[0]["confidence"] == pytest.approx(0.8)  # longer than confidence_length_m
    assert props[1]["confidence"] == pytest.approx(0.6 * 30 / 50, abs=1e-3)
    assert props[0]["highway"] == "road" and props[0]["source"] == "roadseg test"
    assert props[0]["nearest_osm_id"] is None and props[0]["connects"] == 0
    # the summary travels with the file, and the buffer came from the network's widths
    assert (
        fc["roadseg"]["buffer_m"] == 6.0 and "median width 6.00 m" in fc["roadseg"]["buffer_from"]
    )
    lon, lat = fc["features"][0]["geometry"]["coordinates"][0]
    assert 14 < lon < 16 and 45 < lat < 46  # RFC 7946 lon/lat


def test_min_confidence_gates_the_output(tmp_path, osm, run_cli):
    det = write_lines(
        tmp_path / "det.gpkg",
        [line((0, 60), (100, 60)), line((0, 90), (100, 90))],
        mean_prob=[0.9, 0.4],
    )
    argv = ("conflate", det, "--osm", osm, "-o", tmp_path / "m.geojson", "--min-confidence", 0.5)
    status, out, _ = run_cli(*argv)
    assert status == 0
    got = read_metric(tmp_path / "m.geojson")
    assert got["mean_prob"].tolist() == [0.9]
    assert "missing from OSM 0.10 km in 1 parts" in out


@pytest.mark.parametrize(
    ("flag", "value", "mapped"),
    [
        ("--buffer-m", 3, False),
        ("--buffer-m", 9, True),
        ("--registration-m", 0.5, False),
        ("--road-width-m", 14, True),
    ],
)
def test_buffer_options(tmp_path, osm, run_cli, flag, value, mapped):
    # 5 m beside the OSM road: inside the default 6.5 m buffer, outside 3 m or 3.5 + 0.5 m
    det = write_lines(tmp_path / "det.gpkg", [line((0, 5), (200, 5))])
    if flag == "--buffer-m" and value == 9:
        det = write_lines(tmp_path / "det.gpkg", [line((0, 8), (200, 8))])
    argv = ("conflate", det, "--osm", osm, "-o", tmp_path / "m.geojson", flag, value)
    assert run_cli(*argv)[0] == 0
    assert (len(read_metric(tmp_path / "m.geojson")) == 0) == mapped


def test_max_angle(tmp_path, osm, run_cli):
    # a road at 20 degrees to the OSM road, within the buffer for ~35 m around the crossing
    d = 100 * np.tan(np.radians(20))
    det = write_lines(tmp_path / "det.gpkg", [line((0, -d), (200, d))])
    for angle, cut in ((30, True), (10, False)):
        out = tmp_path / f"m{angle}.geojson"
        argv = ("conflate", det, "--osm", osm, "-o", out, "--max-angle", angle, "--min-length-m", 0)
        assert run_cli(*argv)[0] == 0
        total = read_metric(out).length.sum()
        assert (total < 200 / np.cos(np.radians(20)) - 20) == cut


def test_highways_filter_chooses_the_osm_roads(tmp_path, run_cli):
    osm = write_osm(tmp_path / "osm.gpkg", [line((0, 0), (200, 0))], highway="footway")
    det = write_lines(tmp_path / "det.gpkg", [line((0, 2), (200, 2))])
    assert run_cli("conflate", det, "--osm", osm, "-o", tmp_path / "a.geojson")[0] == 0
    assert len(read_metric(tmp_path / "a.geojson")) == 1  # a footway is not a car road
    argv = ("conflate", det, "--osm", osm, "-o", tmp_path / "b.geojson", "--highways", "all")
    assert run_cli(*argv)[0] == 0
    assert len(read_metric(tmp_path / "b.geojson")) == 0


def test_lengths_are_metres_whatever_the_input_crs(tmp_path, osm, run_cli):
    # the network in Web Mercator (scale 1.41 at 45 N): lengths still in metres
    det = write_lines(tmp_path / "det.gpkg", [line((0, 60), (100, 60))])
    merc = tmp_path / "merc.gpkg"
    read_metric(det).to_crs("EPSG:3857").to_file(merc)
    assert run_cli("conflate", merc, "--osm", osm, "-o", tmp_path / "m.geojson")[0] == 0
    fc = json.loads((tmp_path / "m.geojson").read_text())
    assert fc["features"][0]["properties"]["length_m"] == pytest.approx(100, abs=0.2)
    assert fc["roadseg"]["metric_crs"] == "EPSG:32633"


def test_geopackage_output_and_summary_json(tmp_path, osm, run_cli):
    det = write_lines(tmp_path / "det.gpkg", [line((0, 60), (100, 60))])
    argv = (
        "conflate",
        det,
        "--osm",
        osm,
        "-o",
        tmp_path / "m.gpkg",
        "--summary-json",
        tmp_path / "s.json",
    )
    assert run_cli(*argv)[0] == 0
    got = read_metric(tmp_path / "m.gpkg")
    assert got["length_m"].tolist() == [100.0] and got["highway"].tolist() == ["road"]
    s = json.loads((tmp_path / "s.json").read_text())
    assert s["missing_km"] == 0.1 and s["detected_km"] == 0.1 and s["mapped_km"] == 0.0


def test_cli_defaults_are_the_config_dataclass():
    from roadseg.cli import build_parser
    from roadseg.conflate.config import ConflateConfig
    from roadseg.tools.conflate import config_from_args

    args = build_parser().parse_args(["conflate", "n.geojson", "--osm", "o.pbf", "-o", "m.geojson"])
    assert config_from_args(args) == ConflateConfig()
    args = build_parser().parse_args(
        ["conflate", "n.geojson", "--osm", "o.pbf", "-o", "m.geojson", "--max-angle", "20",
         "--min-length-m", "5", "--registration-m", "2", "--highways", "all"]
    )  # fmt: skip
    want = ConflateConfig(max_angle_deg=20, min_length_m=5, registration_m=2, highways="all")
    assert config_from_args(args) == want


def test_an_osm_pbf_against_its_own_roads_has_nothing_missing(tmp_path, run_cli):
    """The .osm.pbf path: Kouvola's car roads, shifted 2 m, are all mapped by the extract."""
    from pathlib import Path

    from roadseg.osm.load import RoadLoadConfig, load_roads

    pbf = Path(__file__).resolve().parents[1] / "data" / "osm" / "kouvola_test.osm.pbf"
    roads = load_roads(pbf, RoadLoadConfig(highways="massachusetts"))
    utm = roads.estimate_utm_crs()
    det = roads.to_crs(utm).translate(2.0, 0.0).to_crs("EPSG:4326")
    det.to_frame("geometry").to_file(tmp_path / "det.geojson", driver="GeoJSON")
    argv = ("conflate", tmp_path / "det.geojson", "--osm", pbf, "-o", tmp_path / "m.geojson")
    status, out, _ = run_cli(*argv, "--summary-json", tmp_path / "s.json")
    assert status == 0
    s = json.loads((tmp_path / "s.json").read_text())
    assert s["detected_km"] > 5 and s["missing_km"] < 0.01 * s["detected_km"]
    assert s["mapped_km"] > 0.97 * s["detected_km"]


def test_geoparquet_network(tmp_path, osm, run_cli):
    """roadseg's GeoParquet output is read through pyarrow (GDAL often lacks the driver)."""
    import geopandas as gpd

    gpd.GeoDataFrame(
        {"mean_prob": [0.5]}, geometry=[line((0, 60), (100, 60))], crs="EPSG:32633"
    ).to_parquet(tmp_path / "net.parquet")
    argv = ("conflate", tmp_path / "net.parquet", "--osm", osm, "-o", tmp_path / "m.geojson")
    assert run_cli(*argv)[0] == 0
    assert read_metric(tmp_path / "m.geojson")["mean_prob"].tolist() == [0.5]
