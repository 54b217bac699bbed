"""``roadseg conflate ... -o missing.osm``: the missing roads as OSM XML for an editor."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections import Counter

from roadseg.osm.load import load_roads
from roadseg.vector.formats.osm import FIXME, metadata
from tests.conflate.conftest import line, write_lines, write_osm


def test_missing_roads_as_osm(tmp_path, run_cli):
    osm = write_osm(tmp_path / "osm.gpkg", [line((0, 0), (200, 0))])
    # two missing roads meeting at (100, 60), one joining the OSM road at (150, 0)
    det = write_lines(
        tmp_path / "det.gpkg",
        [line((0, 60), (100, 60)), line((100, 60), (150, 60), (150, 2))],
        mean_prob=[0.8, 0.6],
        width_m=[6.0, 6.0],
    )
    out = tmp_path / "m.osm"
    argv = ("conflate", det, "--osm", osm, "-o", out, "--source", "roadseg test")
    assert run_cli(*argv)[0] == 0
    root = ET.parse(out).getroot()
    assert root.get("upload") == "never" and root.get("version") == "0.6"
    ways = [
        (
            [int(nd.get("ref")) for nd in w.iter("nd")],
            {t.get("k"): t.get("v") for t in w.iter("tag")},
        )
        for w in root.iter("way")
    ]
    assert len(ways) == 2
    ends = Counter(r for refs, _ in ways for r in (refs[0], refs[-1]))
    assert sorted(ends.values()) == [1, 1, 2]  # the two parts share their meeting node
    tags = sorted((t for _, t in ways), key=lambda t: float(t["roadseg:length_m"]))
    assert all(t["highway"] == "road" and t["source"] == "roadseg test" for t in tags)
    assert all(t["fixme"] == FIXME for t in tags)
    assert tags[0]["roadseg:length_m"] == "100" and tags[0]["roadseg:mean_prob"] == "0.8"
    assert tags[0]["roadseg:connects"] == "0" and "roadseg:nearest_osm_id" not in tags[0]
    assert tags[1]["roadseg:connects"] == "1" and tags[1]["roadseg:nearest_osm_id"] == "101"
    assert metadata(out)["source"] == "roadseg test"  # the run's summary
    assert len(load_roads(out)) == 2


def test_unconfirmed_osm_roads_are_not_written_as_new_objects(tmp_path, run_cli):
    from roadseg.sample.synthetic import write_road_scene

    osm = write_osm(tmp_path / "osm.gpkg", [line((0, 0), (200, 0))])
    det = write_lines(tmp_path / "det.gpkg", [line((0, 60), (100, 60))])
    scene = write_road_scene(tmp_path / "s.tif", [], height=32, width=32)
    argv = ("conflate", det, "--osm", osm, "-o", tmp_path / "m.osm", "--scene", scene)
    rc, _, err = run_cli(*argv, "--unconfirmed", tmp_path / "u.osm")
    assert rc == 2 and "u.osm: --unconfirmed holds OSM's own ways" in err
    assert ".geojson or .gpkg" in err and not list(tmp_path.glob("*.osm"))
