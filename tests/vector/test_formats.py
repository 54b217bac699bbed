"""The export-format registry: every format carries the provenance, reads back, and
``--format`` adds to ``-o``'s format (#18.1, #18.8, #20.4)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from roadseg.cli import main as cli_main
from roadseg.errors import InputError
from roadseg.osm.load import RoadLoadConfig, is_osm_file, is_vector_file, load_roads
from roadseg.vector import vectorize_raster
from roadseg.vector.export import export_network, export_paths
from roadseg.vector.formats import format_named, format_names, formats
from roadseg.vector.formats.common import EDGE_SCHEMA
from tests.postprocess.rasters import massachusetts_crop, write_tif


@pytest.fixture(scope="module")
def network(tmp_path_factory):
    d = tmp_path_factory.mktemp("net")
    net = vectorize_raster(write_tif(d / "m.tif", massachusetts_crop()))
    net.metadata["source"] = "m.tif"
    return net


def _provenance(fmt_name: str, path):
    """The provenance a file of ``fmt_name`` carries, read with that format's own tools."""
    if fmt_name == "geojson":
        return json.loads(path.read_text())["roadseg"]
    module = __import__(f"roadseg.vector.formats.{fmt_name}", fromlist=["metadata"])
    return module.metadata(path)


@pytest.mark.parametrize("name", format_names())
def test_each_format_carries_provenance_and_schema_and_reads_back(tmp_path, network, name):
    fmt = format_named(name)
    out = tmp_path / f"roads{fmt.suffix}"
    written = export_network(network, out)
    assert written == fmt.files(out) == export_paths(out)
    assert all(p.exists() for p in written)
    meta = _provenance(name, out)
    assert meta["source"] == "m.tif"
    assert meta["config"] == json.loads(json.dumps(network.metadata["config"], default=str))
    assert set(meta["columns"]["edges"]) == {
        "u",
        "v",
        "length_m",
        "mean_prob",
        "width_m",
        "bridged",
    }
    assert meta["columns"]["edges"]["length_m"] == EDGE_SCHEMA["length_m"]
    assert set(meta["columns"]["nodes"]) == {"node_id", "degree", "border"}
    # read back as road lines, in the network's CRS (OSM XML: by load_roads' OSM reader,
    # coordinates to 7 decimals of a degree)
    assert is_vector_file(out) if fmt.read is not None else is_osm_file(out)
    lines = load_roads(out, RoadLoadConfig(highways="all", crs=network.crs))
    assert len(lines) == len(network.edges)
    np.testing.assert_allclose(
        sorted(lines.geometry.length),
        sorted(network.edges.geometry.length),
        rtol=1e-6,
        atol=0.05 if name == "osm" else 0,
    )


def test_format_names_are_the_cli_choices(capsys):
    with pytest.raises(SystemExit):
        cli_main(["extract", "--help"])
    text = capsys.readouterr().out
    for name in format_names():
        assert name in text
    assert {"geojson", "gpkg", "parquet", "graphml", "fgb"} <= set(format_names())
    assert all(f.suffix.startswith(".") and f.write for f in formats())


def test_format_adds_to_the_output_suffix(tmp_path, network):
    written = export_network(network, tmp_path / "ex.parquet", ["graphml"])
    assert sorted(p.name for p in written) == ["ex.graphml", "ex.nodes.parquet", "ex.parquet"]
    # naming -o's own format again writes it once
    again = export_network(network, tmp_path / "ex.gpkg", ["gpkg", "geoparquet"])
    assert sorted(p.name for p in again) == ["ex.gpkg", "ex.nodes.parquet", "ex.parquet"]
    # without a suffix, the formats alone
    bare = export_paths(tmp_path / "ex", ["fgb"])
    assert [p.name for p in bare] == ["ex.fgb", "ex.nodes.fgb"]
    with pytest.raises(InputError, match="kml"):
        export_paths(tmp_path / "ex.gpkg", ["kml"])
    with pytest.raises(InputError, match=r"ex\.shp.*unknown output extension"):
        export_paths(tmp_path / "ex.shp", ["gpkg"])


def test_vectorize_cli_format_adds(tmp_path):
    path = write_tif(tmp_path / "m.tif", massachusetts_crop())
    out = tmp_path / "ex.parquet"
    assert cli_main(["vectorize", str(path), "-o", str(out), "--format", "graphml"]) == 0
    assert sorted(p.name for p in tmp_path.glob("ex.*")) == [
        "ex.graphml",
        "ex.nodes.parquet",
        "ex.parquet",
    ]


def test_empty_network_in_every_format(tmp_path):
    net = vectorize_raster(write_tif(tmp_path / "e.tif", np.zeros((40, 40), np.uint8)))
    for name in format_names():
        out = tmp_path / f"e{format_named(name).suffix}"
        export_network(net, out)
        lines = load_roads(out, RoadLoadConfig(highways="all", allow_empty=True))
        assert len(lines) == 0
