"""FlatGeobuf, the format added as one module (roadseg/vector/formats/fgb.py)."""

from __future__ import annotations

import geopandas as gpd
import pyogrio

from roadseg.vector import vectorize_raster
from roadseg.vector.export import export_network
from roadseg.vector.formats import fgb, format_for_path
from tests.postprocess.rasters import massachusetts_crop, write_tif


def test_flatgeobuf_edges_and_nodes_in_native_crs(tmp_path):
    net = vectorize_raster(write_tif(tmp_path / "m.tif", massachusetts_crop()))
    out = tmp_path / "roads.fgb"
    assert format_for_path(out) is fgb.FORMAT
    assert export_network(net, out) == [out, tmp_path / "roads.nodes.fgb"]
    edges = gpd.read_file(out)
    nodes = gpd.read_file(tmp_path / "roads.nodes.fgb")
    assert edges.crs == net.crs and len(edges) == len(net.edges) and len(nodes) == len(net.nodes)
    assert list(edges.columns[:6]) == ["u", "v", "length_m", "mean_prob", "width_m", "bridged"]
    info = pyogrio.read_info(out)
    assert info["layer_metadata"]["TITLE"] == "road network edges"
    assert "length_m" in info["layer_metadata"]["DESCRIPTION"]
    assert fgb.metadata(out)["threshold_level"] == net.metadata["threshold_level"]
