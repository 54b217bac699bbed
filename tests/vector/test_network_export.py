"""Export formats (atomic), seam merging and bad input."""

from __future__ import annotations

import json

import geopandas as gpd
import networkx as nx
import numpy as np
import pyogrio
import pytest
from rasterio.transform import from_origin

from roadseg.cli import main as cli_main
from roadseg.errors import InputError
from roadseg.vector import VectorizeConfig, export_network, merge_networks, vectorize_raster
from tests.postprocess.rasters import UTM31_TRANSFORM, massachusetts_crop, write_tif


@pytest.fixture(scope="module")
def network(tmp_path_factory):
    d = tmp_path_factory.mktemp("net")
    return vectorize_raster(write_tif(d / "m.tif", massachusetts_crop()))


def test_all_formats_round_trip(tmp_path, network):
    assert len(network.edges) > 5
    written = export_network(
        network, tmp_path / "roads.gpkg", formats=["geojson", "gpkg", "parquet", "graphml"]
    )
    names = sorted(p.name for p in written)
    assert names == sorted(
        [
            "roads.geojson",
            "roads.nodes.geojson",
            "roads.gpkg",
            "roads.parquet",
            "roads.nodes.parquet",
            "roads.graphml",
        ]
    )
    assert not [p for p in tmp_path.iterdir() if "partial" in p.name]  # atomic: no temporary left
    layers = dict(pyogrio.list_layers(tmp_path / "roads.gpkg"))
    assert layers == {"edges": "LineString", "nodes": "Point"}
    e = gpd.read_file(tmp_path / "roads.gpkg", layer="edges")
    assert e.crs.to_epsg() == 32631 and len(e) == len(network.edges)
    np.testing.assert_allclose(e.length_m, network.edges.length_m)
    pq = gpd.read_parquet(tmp_path / "roads.parquet")
    assert pq.crs.to_epsg() == 32631
    assert pq.geometry.geom_equals_exact(network.edges.geometry, 1e-9).all()
    assert len(gpd.read_parquet(tmp_path / "roads.nodes.parquet")) == len(network.nodes)
    g = nx.read_graphml(tmp_path / "roads.graphml", force_multigraph=True)
    assert g.number_of_edges() == len(network.edges) and g.number_of_nodes() == len(network.nodes)
    fc = json.loads((tmp_path / "roads.geojson").read_text())
    lons = np.concatenate([np.array(f["geometry"]["coordinates"])[:, 0] for f in fc["features"]])
    assert ((lons > 2) & (lons < 4)).all()  # EPSG:4326 lon/lat near the UTM 31N central meridian


def test_every_edge_end_is_a_node_with_matching_degree(network):
    pts = {
        (round(p.x, 6), round(p.y, 6)): i
        for i, p in zip(network.nodes.node_id, network.nodes.geometry)
    }
    deg = np.zeros(len(network.nodes), int)
    for row in network.edges.itertuples():
        c = row.geometry.coords
        assert pts[(round(c[0][0], 6), round(c[0][1], 6))] == row.u
        assert pts[(round(c[-1][0], 6), round(c[-1][1], 6))] == row.v
        deg[row.u] += 1
        deg[row.v] += 1
    np.testing.assert_array_equal(deg, network.nodes.degree.to_numpy())


def test_unknown_extension_and_bad_format(tmp_path, network):
    with pytest.raises(InputError, match="roads.shp"):
        export_network(network, tmp_path / "roads.shp")
    with pytest.raises(InputError, match="kml"):
        export_network(network, tmp_path / "roads.geojson", formats=["kml"])


def test_merge_joins_a_road_across_a_block_seam(tmp_path):
    m = np.zeros((60, 300), bool)
    m[27:34, 20:280] = True
    t = UTM31_TRANSFORM
    left = write_tif(tmp_path / "l.tif", m[:, :150], transform=t)
    right = write_tif(
        tmp_path / "r.tif", m[:, 150:], transform=from_origin(t.c + 150, t.f, 1.0, 1.0)
    )
    cfg = VectorizeConfig(keep_border_components=True)
    a, b = vectorize_raster(left, cfg), vectorize_raster(right, cfg)
    assert len(a.edges) == len(b.edges) == 1
    merged = merge_networks([a, b], seam_m=3.0)
    assert len(merged.edges) == 1 and len(merged.nodes) == 2
    assert sorted(merged.nodes.degree) == [1, 1]
    whole = vectorize_raster(write_tif(tmp_path / "w.tif", m))
    assert merged.edges.length_m.iloc[0] == pytest.approx(whole.edges.length_m.iloc[0], abs=0.5)
    assert merged.edges.length_m.iloc[0] == pytest.approx(
        merged.edges.geometry.iloc[0].length, abs=1e-6
    )
    # a seam narrower than the gap between the two end points joins nothing end to end ...
    apart = merge_networks([a, b], seam_m=0.5, join_m=0.0)
    assert len(apart.edges) == 2
    # ... but the end-to-edge rule joins the two border ends (a bridged gap)
    joined = merge_networks([a, b], seam_m=0.5)
    assert len(joined.edges) == 1 and bool(joined.edges.bridged.iloc[0])


def test_merge_refuses_pixel_with_georeferenced_and_empty(tmp_path, network):
    from rasterio.transform import Affine

    m = np.zeros((40, 100), bool)
    m[18:23, :] = True
    pixel = vectorize_raster(
        write_tif(tmp_path / "p.tif", m, crs=None, transform=Affine.identity())
    )
    with pytest.raises(InputError, match="CRS"):
        merge_networks([network, pixel])
    with pytest.raises(InputError):
        merge_networks([])


def test_empty_mask_gives_valid_empty_feature_collection(tmp_path):
    path = write_tif(tmp_path / "empty.tif", np.zeros((50, 50), np.uint8))
    net = vectorize_raster(path)
    assert len(net.edges) == 0 and len(net.nodes) == 0
    assert cli_main(["vectorize", str(path), "-o", str(tmp_path / "e.geojson")]) == 0
    fc = json.loads((tmp_path / "e.geojson").read_text())
    assert fc["type"] == "FeatureCollection" and fc["features"] == []
    export_network(net, tmp_path / "e.gpkg")
    assert len(gpd.read_file(tmp_path / "e.gpkg", layer="edges")) == 0


def test_non_raster_input_is_a_clear_error(tmp_path):
    bad = tmp_path / "notes.tif"
    bad.write_text("this is not a raster")
    with pytest.raises(InputError, match=r"notes\.tif: not a readable raster"):
        vectorize_raster(bad)
    with pytest.raises(InputError, match="no such file"):
        vectorize_raster(tmp_path / "missing.tif")
    assert cli_main(["vectorize", str(bad), "-o", str(tmp_path / "x.geojson")]) == 2
    assert not (tmp_path / "x.geojson").exists()


def test_cli_options_reach_the_config(tmp_path):
    m = np.zeros((80, 200), bool)
    m[37:42, 20:90] = True
    m[37:42, 100:180] = True
    path = write_tif(tmp_path / "gap.tif", m)
    out = tmp_path / "r.geojson"
    assert (
        cli_main(
            ["vectorize", str(path), "-o", str(out), "--bridge-m", "0", "--bridge-collinear-m", "0"]
        )
        == 0
    )
    assert len(json.loads(out.read_text())["features"]) == 2
    assert (
        cli_main(["vectorize", str(path), "-o", str(out), "--threshold", "hysteresis:0.3,0.6"]) == 0
    )
    fc = json.loads(out.read_text())
    assert len(fc["features"]) == 1 and fc["roadseg"]["config"]["threshold"] == "hysteresis:0.3,0.6"


def test_merge_of_two_halves_of_a_real_mask_equals_the_whole(tmp_path):
    m = massachusetts_crop()
    t = UTM31_TRANSFORM
    cfg = VectorizeConfig(keep_border_components=True)
    whole = vectorize_raster(write_tif(tmp_path / "w.tif", m), cfg)
    left = vectorize_raster(write_tif(tmp_path / "a.tif", m[:, :200]), cfg)
    right = vectorize_raster(
        write_tif(tmp_path / "b.tif", m[:, 200:], transform=from_origin(t.c + 200, t.f, 1.0, 1.0)),
        cfg,
    )
    merged = merge_networks([left, right], seam_m=3.0)
    assert len(left.edges) + len(right.edges) > len(merged.edges) == len(whole.edges)
    assert sorted(merged.nodes.degree) == sorted(whole.nodes.degree)
    assert merged.total_length_m == pytest.approx(whole.total_length_m, rel=0.005)
