"""OSM XML for an editor (roadseg/vector/formats/osm.py): shared junction nodes, WGS 84,
negative ids, upload="never", tags, provenance, read back by load_roads."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from collections import Counter

import geopandas as gpd
import numpy as np
import pyproj
import pytest
from rasterio.transform import Affine
from shapely.geometry import LineString, Point

from roadseg.cli import main as cli_main
from roadseg.errors import InputError
from roadseg.osm.load import RoadLoadConfig, is_osm_file, is_vector_file, load_roads
from roadseg.sample import sample_labels_path
from roadseg.vector.export import export_network
from roadseg.vector.formats import format_for_path, format_names, osm, readable_suffixes
from roadseg.vector.network import RoadNetwork
from tests.postprocess.rasters import UTM31, massachusetts_crop, write_tif

X0, Y0 = 448_000.0, 5_411_000.0
#: node_id -> (x, y) offsets in metres: a T junction at 10, a self-loop at 12,
#: two parallel edges between 11 and 13
NODES = {10: (0, 0), 11: (-100, 0), 12: (100, 0), 13: (0, -100)}
EDGES = [  # u, v, interior vertices
    (11, 10, [(-50, 1)]),
    (10, 12, []),
    (13, 10, [(0, -50), (1, -20)]),
    (12, 12, [(150, 0), (150, 50), (100, 50)]),
    (11, 13, [(-90, -90)]),
    (11, 13, [(-40, -40)]),
]


def _xy(p: tuple[float, float]) -> tuple[float, float]:
    return X0 + p[0], Y0 + p[1]


def small_network(crs: str | None = UTM31, **metadata) -> RoadNetwork:
    lines = [LineString([_xy(NODES[u]), *map(_xy, mid), _xy(NODES[v])]) for u, v, mid in EDGES]
    n = len(EDGES)
    edges = gpd.GeoDataFrame(
        {
            "u": [e[0] for e in EDGES],
            "v": [e[1] for e in EDGES],
            "length_m": [g.length for g in lines],
            "mean_prob": [0.91234, np.nan, 0.5, 0.75, 0.6, 0.61],
            "width_m": [5.26] * n,
            "bridged": [False, True, False, False, False, False],
            "scene": ["a.tif;b.tif"] + ["a.tif"] * (n - 1),
        },
        geometry=lines,
        crs=crs,
    )
    degree = Counter(u for u, _, _ in EDGES) + Counter(v for _, v, _ in EDGES)
    nodes = gpd.GeoDataFrame(
        {"node_id": list(NODES), "degree": [degree[i] for i in NODES], "border": False},
        geometry=[Point(_xy(p)) for p in NODES.values()],
        crs=crs,
    )
    meta = {"source": "scene.tif", "threshold": 0.5, **metadata}
    return RoadNetwork(edges, nodes, pyproj.CRS(crs) if crs else None, 1.0, meta)


def parse(path):
    root = ET.parse(path).getroot()
    nodes = {
        int(n.get("id")): (float(n.get("lon")), float(n.get("lat"))) for n in root.iter("node")
    }
    ways = [
        (
            int(w.get("id")),
            [int(nd.get("ref")) for nd in w.iter("nd")],
            {t.get("k"): t.get("v") for t in w.iter("tag")},
        )
        for w in root.iter("way")
    ]
    return root, nodes, ways


def end_uses(ways) -> Counter:
    """How many way ends lie at each node id (a closed way's node twice)."""
    return Counter(r for _, refs, _ in ways for r in (refs[0], refs[-1]))


@pytest.fixture
def written(tmp_path):
    net = small_network(note="run with --gsd 2 --- and -->")
    out = tmp_path / "roads.osm"
    assert export_network(net, out) == [out]
    return net, out


def test_registry_writes_osm_and_load_roads_reads_it():
    assert "osm" in format_names()
    assert format_for_path("roads.osm") is osm.FORMAT and osm.FORMAT.read is None
    assert format_for_path("region.osm.pbf") is None
    assert ".osm" not in readable_suffixes()  # read as OSM (pyosmium), not as a vector file
    assert is_osm_file("roads.osm") and not is_vector_file("roads.osm")


def test_osm_xml_header_ids_and_topology(written):
    net, out = written
    root, nodes, ways = parse(out)
    assert root.tag == "osm" and root.get("version") == "0.6"
    assert root.get("upload") == "never" and root.get("generator").startswith("roadseg ")
    interior = sum(len(mid) for _, _, mid in EDGES)
    assert len(nodes) == len(NODES) + interior and len(ways) == len(EDGES)
    ids = list(nodes) + [w for w, _, _ in ways]
    assert all(i < 0 for i in ids) and len(set(ids)) == len(ids)
    assert all(r in nodes for _, refs, _ in ways for r in refs)
    # each way runs from its u node to its v node through its own interior vertices
    tr = pyproj.Transformer.from_crs(UTM31, "EPSG:4326", always_xy=True)
    at = {nid: np.round(tr.transform(*_xy(p)), 7) for nid, p in NODES.items()}
    xml_of = {
        nid: next(i for i, ll in nodes.items() if np.allclose(ll, at[nid], atol=0)) for nid in at
    }
    for (u, v, mid), (_, refs, _) in zip(EDGES, ways):
        assert refs[0] == xml_of[u] and refs[-1] == xml_of[v] and len(refs) == len(mid) + 2
    # junctions are shared: the T junction holds 3 way ends, the self-loop's node 3
    uses = end_uses(ways)
    assert {nid: uses[xml_of[nid]] for nid in NODES} == {10: 3, 11: 3, 12: 3, 13: 3}
    loop = ways[3][1]
    assert loop[0] == loop[-1] == xml_of[12]  # a closed way
    assert {(r[0], r[-1]) for r in (ways[4][1], ways[5][1])} == {
        (xml_of[11], xml_of[13])
    }  # parallel
    inner = [r for _, refs, _ in ways for r in refs[1:-1]]
    assert len(set(inner)) == len(inner) == interior  # no interior vertex is shared


def test_tags(written):
    net, out = written
    _, _, ways = parse(out)
    tags = ways[0][2]
    assert tags["highway"] == "road" and tags["source"] == "roadseg"
    assert tags["fixme"] == osm.FIXME and "imagery" in tags["fixme"]
    assert float(tags["roadseg:length_m"]) == round(net.edges.length_m[0], 1)
    assert tags["roadseg:mean_prob"] == "0.912" and tags["roadseg:width_m"] == "5.3"
    assert tags["roadseg:bridged"] == "no" and tags["roadseg:scene"] == "a.tif;b.tif"
    assert "roadseg:mean_prob" not in ways[1][2]  # NaN: no tag
    assert ways[1][2]["roadseg:bridged"] == "yes"
    assert not any(k.startswith("roadseg:u") or k == "roadseg:v" for k in tags)


def test_provenance_comment(written):
    net, out = written
    meta = osm.metadata(out)
    assert meta["source"] == "scene.tif" and meta["note"] == "run with --gsd 2 --- and -->"
    assert meta["coordinates"] == "EPSG:4326 lon/lat"
    assert set(meta["columns"]["edges"]) >= {"length_m", "mean_prob", "scene"}
    head = out.read_text().splitlines()
    assert head[1].startswith("<!--roadseg {") and head[2].startswith("<osm ")
    assert "--" not in head[1][len("<!--") : -len("-->")]  # XML comments may not hold "--"


def test_round_trip_through_load_roads(written):
    net, out = written
    lines = load_roads(out)  # the default class filter keeps highway=road
    assert len(lines) == len(EDGES) and set(lines.highway) == {"road"}
    lines = lines.sort_values("osm_id", ascending=False)  # the ways' ids: -k-1-... in edge order
    want = net.edges.to_crs("EPSG:4326").geometry
    for got, exp in zip(lines.geometry, want):
        np.testing.assert_allclose(
            np.asarray(got.coords), np.asarray(exp.coords), atol=1e-7, rtol=0
        )
    # the roadseg: tags asked for come back as columns (conflate reads mean_prob and width_m)
    cfg = RoadLoadConfig(keep_columns=("mean_prob", "width_m", "coordinates"))
    kept = load_roads(out, cfg).sort_values("osm_id", ascending=False)
    np.testing.assert_allclose(kept.mean_prob, net.edges.mean_prob.round(3))  # NaN: no tag
    assert list(kept.width_m) == [5.3] * len(EDGES) and "coordinates" not in kept


def test_network_without_crs_is_refused_in_one_line(tmp_path):
    out = tmp_path / "roads.osm"
    with pytest.raises(InputError) as err:
        export_network(small_network(crs=None), out)
    msg = str(err.value)
    assert "\n" not in msg and msg.startswith(f"{out}: OSM XML coordinates are longitude/latitude")
    assert "scene.tif has no CRS" in msg and "GeoPackage (.gpkg)" in msg
    assert not out.exists()


def test_edge_not_at_its_nodes_is_refused(tmp_path):
    net = small_network()
    net.edges.loc[1, "v"] = 13  # the geometry ends at node 12
    with pytest.raises(InputError, match=r"edge 1 \(u=10, v=13\) does not run from node u"):
        export_network(net, tmp_path / "roads.osm")
    assert not (tmp_path / "roads.osm").exists()


def test_vectorize_sample_to_osm(tmp_path):
    """End to end on the bundled sample's road mask (a probability raster of 0 and 1)."""
    out = tmp_path / "roads.osm"
    argv = ["vectorize", str(sample_labels_path()), "-o", str(out), "--format", "gpkg"]
    assert cli_main(argv) == 0
    edges = gpd.read_file(tmp_path / "roads.gpkg", layer="edges")
    net_nodes = gpd.read_file(tmp_path / "roads.gpkg", layer="nodes")
    _, nodes, ways = parse(out)
    interior = sum(len(g.coords) - 2 for g in edges.geometry)
    assert len(ways) == len(edges) > 20 and len(nodes) == len(net_nodes) + interior
    # every network node is one OSM node holding as many way ends as its degree
    uses = sorted(n for n in end_uses(ways).values())
    assert uses == sorted(net_nodes.degree) and max(uses) >= 3
    assert len(load_roads(out)) == len(edges)
    assert osm.metadata(out)["source"] == str(sample_labels_path())
    # roadseg evaluate reads the .osm network (the labels it was made of: a close match)
    report = tmp_path / "ev.json"
    argv = [
        "evaluate",
        "--pred",
        str(out),
        "--labels",
        str(sample_labels_path()),
        "-o",
        str(report),
    ]
    assert cli_main(argv) == 0
    assert json.loads(report.read_text())["pixel"]["relaxed_precision"] > 0.95


@pytest.mark.filterwarnings("ignore::rasterio.errors.NotGeoreferencedWarning")
def test_vectorize_of_a_raster_without_crs_refuses_osm_before_work(tmp_path, capsys):
    tif = write_tif(tmp_path / "p.tif", massachusetts_crop(), crs=None, transform=Affine.identity())
    out = tmp_path / "roads.osm"
    assert cli_main(["vectorize", str(tif), "-o", str(out), "--gsd", "1"]) == 2
    err = capsys.readouterr().err
    assert f"{out}: OSM XML coordinates are longitude/latitude" in err and "Traceback" not in err
    assert "vectorised" not in err and not out.exists()
