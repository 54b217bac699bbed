"""Bad input to ``roadseg conflate``: one line naming the file and the problem, exit 2,
nothing written."""

from __future__ import annotations

import json

import pytest

from tests.conflate.conftest import line, write_lines, write_osm


@pytest.fixture
def files(tmp_path):
    det = write_lines(tmp_path / "det.gpkg", [line((0, 60), (100, 60))])
    osm = write_osm(tmp_path / "osm.gpkg", [line((0, 0), (200, 0))])
    return det, osm


def _pixel_network(path):
    fc = {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "properties": {"coordinates": "pixel", "mean_prob": 0.5},
                "geometry": {"type": "LineString", "coordinates": [[0, 0], [10, 10]]},
            }
        ],
    }
    path.write_text(json.dumps(fc))
    return path


def _cases(tmp_path, det, osm):
    out = tmp_path / "m.geojson"
    junk = tmp_path / "junk.geojson"
    junk.write_text("not json at all")
    raster = tmp_path / "not_a_raster.tif"
    raster.write_text("no")
    points = tmp_path / "points.geojson"
    points.write_text(
        json.dumps(
            {
                "type": "FeatureCollection",
                "features": [
                    {
                        "type": "Feature",
                        "properties": {},
                        "geometry": {"type": "Point", "coordinates": [15, 45]},
                    }
                ],
            }
        )
    )
    from roadseg.sample.synthetic import write_road_scene

    no_crs = write_road_scene(tmp_path / "nocrs.tif", [], height=32, width=32, crs=None)
    return {
        "no network": (
            (tmp_path / "nope.gpkg", "--osm", osm, "-o", out),
            "nope.gpkg: NETWORK file not found",
        ),
        "no osm": (
            (det, "--osm", tmp_path / "nope.pbf", "-o", out),
            "nope.pbf: --osm file not found",
        ),
        "bad suffix": ((det, "--osm", osm, "-o", tmp_path / "m.txt"), "m.txt: -o must end in"),
        "overwrite": (
            (det, "--osm", osm, "-o", tmp_path / "det.gpkg"),
            "would overwrite the input NETWORK",
        ),
        "angle": (
            (det, "--osm", osm, "-o", out, "--max-angle", "95"),
            "max_angle_deg: 95.0 is out of range",
        ),
        "confidence": (
            (det, "--osm", osm, "-o", out, "--min-confidence", "2"),
            "min_confidence: 2.0 is out of range",
        ),
        "buffer": (
            (det, "--osm", osm, "-o", out, "--buffer-m", "0"),
            "buffer_m: 0.0 is out of range",
        ),
        "pixel": (
            (_pixel_network(tmp_path / "px.geojson"), "--osm", osm, "-o", out),
            "px.geojson: the network is in pixel coordinates",
        ),
        "junk osm": ((det, "--osm", junk, "-o", out), "junk.geojson: cannot read as a vector file"),
        "junk network": (
            (junk, "--osm", osm, "-o", out),
            "junk.geojson: cannot read as a vector file",
        ),
        "empty highways": (
            (det, "--osm", osm, "-o", out, "--highways", ","),
            "empty highway filter",
        ),
        "no lines": (
            (points, "--osm", osm, "-o", out),
            "points.geojson: no road line in the network",
        ),
        "scene without crs": (
            (det, "--osm", osm, "-o", out, "--scene", no_crs),
            "nocrs.tif: the scene has no CRS",
        ),
        "unconfirmed suffix": (
            (det, "--osm", osm, "-o", out, "--scene", no_crs, "--unconfirmed", tmp_path / "u.csv"),
            "u.csv: --unconfirmed must end in",
        ),
        "bad scene": (
            (det, "--osm", osm, "-o", out, "--scene", raster),
            "not_a_raster.tif: cannot read as a raster",
        ),
    }


CASES = [
    "no network",
    "no osm",
    "bad suffix",
    "overwrite",
    "angle",
    "confidence",
    "buffer",
    "pixel",
    "junk osm",
    "junk network",
    "empty highways",
    "no lines",
    "bad scene",
    "scene without crs",
    "unconfirmed suffix",
]


@pytest.mark.parametrize("case", CASES)
def test_bad_input_is_one_line_and_exit_2(tmp_path, files, run_cli, case):
    det, osm = files
    argv, message = _cases(tmp_path, det, osm)[case]
    status, out, err = run_cli("conflate", *argv)
    errors = [ln for ln in err.splitlines() if ln.startswith("ERROR")]
    assert status == 2, err
    assert len(errors) == 1 and message in errors[0], err
    assert "Traceback" not in err
    assert not (tmp_path / "m.geojson").exists() and out == ""
